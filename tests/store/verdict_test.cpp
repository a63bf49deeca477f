// store::Judge: the verdict list, search, show and status print. Its cache must never change a
// verdict, so it is checked against TrustGraph::evaluate() itself (the plain reference) at
// every moment where a key's standing changes and around it; and it must evaluate the graph
// once per signer and interval, not once per object.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "store/provenance.h"
#include "store/verdict.h"
#include "tests/store/store_fixture.h"

namespace fieldsync::store {
namespace {

using protocol::CertRecord;
using protocol::KeyCert;
using protocol::Revocation;
using protocol::RevocationRecord;
using protocol::Role;
using protocol::TrustStatus;
using testing::keyNumber;
using testing::signBody;

CertRecord certify(const protocol::SecretKey& by, const PublicKey& subject, Role role,
                   std::int64_t at, std::int64_t until) {
  auto object = signBody(by, KeyCert{subject, role, "office", until}, at);
  return {object.id(), object.payload().signer, at, std::get<KeyCert>(object.payload().body)};
}

RevocationRecord revoke(const protocol::SecretKey& by, const PublicKey& subject, std::int64_t since,
                        std::int64_t at) {
  auto object = signBody(by, Revocation{subject, since, "lost"}, at);
  return {object.id(), object.payload().signer, at, std::get<Revocation>(object.payload().body)};
}

TEST(Judge, CachedVerdictsAreTheGraphsAtEveryMomentAroundEachChange) {
  const auto hq = keyNumber(1), goma = keyNumber(2), bunia = keyNumber(3), coord = keyNumber(4),
             stranger = keyNumber(5), tana = keyNumber(6);
  // goma: certified until 2000, then again from a coordinator certified by HQ until 3000,
  // revoked since 2500. bunia: certified by coord, which HQ revokes since 1500. tana:
  // certified until 2000 only.
  const protocol::TrustGraph graph(
      {{hq.publicKey(), Role::Coordinator, "HQ"}},
      {certify(hq, goma.publicKey(), Role::Field, 100, 2000),
       certify(hq, coord.publicKey(), Role::Coordinator, 100, 0),
       certify(coord, goma.publicKey(), Role::Field, 1200, 3000),
       certify(coord, bunia.publicKey(), Role::Field, 1000, 0),
       certify(hq, tana.publicKey(), Role::Field, 100, 2000)},
      {revoke(hq, goma.publicKey(), 2500, 2600), revoke(hq, coord.publicKey(), 1500, 1600)});

  EXPECT_EQ(graph.changesFor(goma.publicKey()), (std::vector<std::int64_t>{2000, 2500, 3000}));
  EXPECT_TRUE(graph.changesFor(stranger.publicKey()).empty());

  Judge judge(graph);
  std::vector<std::int64_t> moments{0,    1,    99,   100,  1000, 1199,     1200,
                                    1499, 1500, 1501, 1999, 2000, 2001,     2499,
                                    2500, 2501, 2999, 3000, 3001, 1'000'000};
  std::mt19937_64 random(14);
  for (int i = 0; i < 200; ++i) moments.push_back(static_cast<std::int64_t>(random() % 4000));
  std::set<TrustStatus> seen;
  for (const auto& key : {hq.publicKey(), goma.publicKey(), bunia.publicKey(), coord.publicKey(),
                          stranger.publicKey(), tana.publicKey()})
    for (Role role : {Role::Field, Role::Coordinator})
      for (std::int64_t at : moments) {
        const auto expected = graph.evaluate(key, role, at);
        const auto& got = judge.verdict(key, role, at);
        ASSERT_EQ(got.status, expected.status) << key.hex() << " at " << at;
        ASSERT_EQ(got.path.size(), expected.path.size()) << key.hex() << " at " << at;
        ASSERT_EQ(got.name, expected.name);
        seen.insert(got.status);
      }
  // Every status was met, so the comparison covered each kind of change.
  EXPECT_EQ(seen.size(), 5u);
  // At most one evaluation per key, role and interval: goma has 4 intervals, coord and tana
  // 2, the others 1.
  EXPECT_LE(judge.evaluations(), 2u * (4 + 1 + 1 + 2 + 1 + 2));
}

TEST(Judge, AStoredClippingIsJudgedForTheFieldRoleAtItsSigningTime) {
  testing::TempDir dir;
  Options options;
  options.dir = dir.path();
  options.create = true;
  auto archive = Archive::open(options);
  const auto hq = keyNumber(1), goma = keyNumber(2), stranger = keyNumber(5);
  const auto trusted = signBody(hq, testing::clipping("From HQ"), 1000);
  const auto early = signBody(goma, testing::clipping("Before the theft"), 1000);
  const auto late = signBody(goma, testing::clipping("After the theft"), 3000);
  const auto unknown = signBody(stranger, testing::clipping("From nobody"), 1000);
  const auto cert = signBody(hq, KeyCert{goma.publicKey(), Role::Field, "Goma", 0}, 500);
  const auto revocation = signBody(hq, Revocation{goma.publicKey(), 2000, "stolen"}, 2100);
  protocol::Release weekly;
  weekly.name = "weekly";
  weekly.sequence = 1;
  weekly.clippings = {early.id()};
  const auto release = signBody(goma, weekly, 1100);
  archive->write([&](WriteTxn& txn) {
    txn.setAnchor({hq.publicKey(), Role::Coordinator, "HQ"});
    for (const auto* o : {&trusted, &early, &late, &unknown, &cert, &revocation, &release})
      (void)txn.put(*o);
  });
  auto txn = archive->beginRead();
  const auto graph = loadTrust(txn);
  Judge judge(graph);
  EXPECT_EQ(judge.judge(txn, trusted.id()), ClippingTrust::Trusted);
  EXPECT_EQ(judge.judge(txn, early.id()), ClippingTrust::Trusted);
  EXPECT_EQ(judge.judge(txn, late.id()), ClippingTrust::Revoked);
  EXPECT_EQ(judge.judge(txn, unknown.id()), ClippingTrust::Unknown);
  EXPECT_EQ(judge.judge(txn, release.id()), ClippingTrust::WrongRole);
  EXPECT_EQ(judge.judge(txn, protocol::ObjectId{}), ClippingTrust::Invalid);
  // The same verdict with the signature checked again, and from the one-object function; and
  // the same status `verify` reports.
  for (const auto* o : {&trusted, &early, &late, &unknown, &release}) {
    const auto cheap = judge.judge(txn, o->id());
    EXPECT_EQ(store::judge(txn, graph, o->id(), Check::Signature), cheap);
    EXPECT_EQ(fromTrustStatus(verifyObject(txn, graph, o->id()).trust.status), cheap);
  }
  EXPECT_EQ(trustName(ClippingTrust::WrongRole), "wrong-role");
  EXPECT_EQ(trustName(ClippingTrust::Unknown), "unknown");
}

}  // namespace
}  // namespace fieldsync::store
