// Provenance at the library level, with objects signed by several keys in one archive: the
// cases that need objects from more than one node (certified offices, revocations, forks,
// gaps, missing clippings) before sync exists to carry them.
#include "store/provenance.h"

#include <gtest/gtest.h>

#include "store/home.h"
#include "store/ingest.h"

#include <atomic>
#include <map>
#include <thread>
#include "store_fixture.h"

namespace fieldsync::store {
namespace {
using protocol::Role;
using testing::TempDir;
using Verdict = ObjectReport::Verdict;

ReleaseSelection withTags(std::vector<std::string> tags) {
  ReleaseSelection s;
  s.tags = std::move(tags);
  return s;
}
ReleaseSelection sinceRelease(std::string name) {
  ReleaseSelection s;
  s.sinceRelease = std::move(name);
  return s;
}

class Provenance : public ::testing::Test {
 protected:
  void SetUp() override { m_archive = Archive::open({.dir = m_dir.path(), .create = true}); }

  protocol::VerifiedObject put(const protocol::SecretKey& key, protocol::Body body,
                               std::int64_t at) {
    auto object = protocol::sign({key.publicKey(), at, std::move(body)}, key);
    EXPECT_TRUE(object.ok()) << object.error().message();
    m_archive->write([&](WriteTxn& txn) { (void)txn.put(object.value()); });
    return std::move(object).value();
  }
  ObjectId clip(const protocol::SecretKey& key, const std::string& title, std::int64_t at) {
    return put(key, testing::clipping(title), at).id();
  }
  void anchor(const protocol::SecretKey& key, Role role, const std::string& name) {
    m_archive->write([&](WriteTxn& txn) { txn.setAnchor({key.publicKey(), role, name}); });
  }
  ObjectReport report(const ObjectId& id) {
    auto txn = m_archive->beginRead();
    return verifyObject(txn, loadTrust(txn), id);
  }

  TempDir m_dir;
  std::unique_ptr<Archive> m_archive;
  protocol::SecretKey m_coordinator = testing::keyNumber(1);
  protocol::SecretKey m_office = testing::keyNumber(2);
};

TEST_F(Provenance, ClippingOfAnUnknownKeyIsValidButUntrusted) {
  auto id = clip(m_office, "Report", 100);
  auto r = report(id);
  EXPECT_FALSE(r.invalid);
  EXPECT_EQ(r.trust.status, protocol::TrustStatus::Unknown);
  EXPECT_EQ(r.verdict(), Verdict::Untrusted);
}

TEST_F(Provenance, CertifiedOfficeIsTrustedThroughItsCoordinator) {
  anchor(m_coordinator, Role::Coordinator, "Nairobi hub");
  auto cert = put(m_coordinator,
                  protocol::KeyCert{m_office.publicKey(), Role::Field, "Goma office", 0}, 50);
  auto r = report(clip(m_office, "Report", 100));
  EXPECT_EQ(r.verdict(), Verdict::Valid);
  EXPECT_EQ(r.signerName, "Goma office");
  ASSERT_EQ(r.trust.path.size(), 2u);
  EXPECT_EQ(r.trust.path[0].key, m_coordinator.publicKey());
  EXPECT_EQ(r.trust.path[1].key, m_office.publicKey());
  EXPECT_EQ(r.trust.path[1].certificate, cert.id());
  EXPECT_EQ(report(cert.id()).verdict(), Verdict::Valid) << "the certificate itself is trusted";
}

TEST_F(Provenance, RevocationUntrustsOnlyWhatWasSignedFromItsSince) {
  anchor(m_coordinator, Role::Coordinator, "Nairobi hub");
  put(m_coordinator, protocol::KeyCert{m_office.publicKey(), Role::Field, "Goma office", 0}, 50);
  auto before = clip(m_office, "Before the loss", 100);
  auto after = clip(m_office, "After the loss", 300);
  put(m_coordinator, protocol::Revocation{m_office.publicKey(), 200, "laptop stolen"}, 400);
  EXPECT_EQ(report(before).verdict(), Verdict::Valid);
  auto r = report(after);
  EXPECT_EQ(r.verdict(), Verdict::Untrusted);
  EXPECT_EQ(r.trust.status, protocol::TrustStatus::Revoked);
  ASSERT_TRUE(r.trust.revocation);
  EXPECT_EQ(r.trust.revocation->revocation.reason, "laptop stolen");
}

TEST_F(Provenance, ReleaseSignedByAFieldKeyIsNotTrusted) {
  anchor(m_office, Role::Field, "Goma office");
  auto id = clip(m_office, "Report", 100);
  auto release = put(m_office, protocol::Release{"weekly", 1, std::nullopt, {id}, ""}, 200);
  auto r = report(release.id());
  EXPECT_EQ(r.trust.status, protocol::TrustStatus::WrongRole);
  EXPECT_EQ(r.verdict(), Verdict::Untrusted);
  EXPECT_EQ(report(id).verdict(), Verdict::Valid) << "a field key may sign clippings";
}

TEST_F(Provenance, ClippingNamesTheReleasesThatListIt) {
  anchor(m_coordinator, Role::Coordinator, "Nairobi hub");
  auto id = clip(m_coordinator, "Report", 100);
  auto first = put(m_coordinator, protocol::Release{"weekly", 1, std::nullopt, {id}, ""}, 200);
  put(m_coordinator, protocol::Release{"weekly", 2, first.id(), {id}, ""}, 300);
  auto r = report(id);
  ASSERT_EQ(r.releases.size(), 2u);
  EXPECT_EQ(r.releases[0].name, "weekly");
  EXPECT_EQ(r.releases[0].sequence, 1u);
  EXPECT_EQ(r.releases[1].sequence, 2u);
}

TEST_F(Provenance, ForkedChainIsInvalid) {
  anchor(m_coordinator, Role::Coordinator, "Nairobi hub");
  auto id = clip(m_coordinator, "Report", 100);
  auto first = put(m_coordinator, protocol::Release{"weekly", 1, std::nullopt, {id}, ""}, 200);
  auto a = put(m_coordinator, protocol::Release{"weekly", 2, first.id(), {id}, "a"}, 300);
  auto b = put(m_coordinator, protocol::Release{"weekly", 2, first.id(), {id}, "b"}, 301);
  auto third = put(m_coordinator, protocol::Release{"weekly", 3, a.id(), {id}, ""}, 400);
  for (const auto& release : {a.id(), b.id(), third.id()}) {
    auto r = report(release);
    EXPECT_EQ(r.verdict(), Verdict::Invalid);
    ASSERT_EQ(r.chainProblems.size(), 1u);
    EXPECT_NE(r.chainProblems[0].find("fork at weekly@2"), std::string::npos) << r.chainProblems[0];
  }
  EXPECT_EQ(report(first.id()).verdict(), Verdict::Valid) << "its history has no fork";
  auto txn = m_archive->beginRead();
  EXPECT_FALSE(resolveRelease(txn, "weekly@2").ok());
  EXPECT_EQ(resolveRelease(txn, "weekly").value(), third.id());
  auto next = makeRelease(txn, m_coordinator, "weekly", {}, "", 500);
  EXPECT_TRUE(next.ok()) << "the latest sequence (3) is not forked";
}

TEST_F(Provenance, GapInTheChainIsInvalid) {
  anchor(m_coordinator, Role::Coordinator, "Nairobi hub");
  auto id = clip(m_coordinator, "Report", 100);
  auto absent = protocol::sign(
      {m_coordinator.publicKey(), 200, protocol::Release{"weekly", 1, std::nullopt, {id}, ""}},
      m_coordinator);  // signed, never stored
  auto second = put(m_coordinator, protocol::Release{"weekly", 2, absent->id(), {id}, ""}, 300);
  auto r = report(second.id());
  EXPECT_EQ(r.verdict(), Verdict::Invalid);
  ASSERT_EQ(r.chainProblems.size(), 1u);
  EXPECT_NE(r.chainProblems[0].find("gap: weekly@1"), std::string::npos) << r.chainProblems[0];
}

TEST_F(Provenance, MissingClippingIsReportedWithoutInvalidatingTheRelease) {
  anchor(m_coordinator, Role::Coordinator, "Nairobi hub");
  auto held = clip(m_coordinator, "Held", 100);
  auto elsewhere =
      protocol::sign({m_office.publicKey(), 100, testing::clipping("Elsewhere")}, m_office);
  std::vector<ObjectId> ids{held, elsewhere->id()};
  std::sort(ids.begin(), ids.end());
  auto release = put(m_coordinator, protocol::Release{"weekly", 1, std::nullopt, ids, ""}, 200);
  auto r = report(release.id());
  EXPECT_EQ(r.verdict(), Verdict::Valid);
  EXPECT_EQ(r.missing, std::vector<ObjectId>{elsewhere->id()});
  auto txn = m_archive->beginRead();
  EXPECT_NE(releaseManifest(txn, release.id()).find(elsewhere->id().hex() + " - (missing)"),
            std::string::npos);
}

TEST_F(Provenance, MakeReleaseChainsSelectsAndRefusesNonCoordinators) {
  auto first = ingestClippings(*m_archive, m_coordinator,
                               {testing::clipping("Mali one", "", "2013-01", {"region:mali"}),
                                testing::clipping("Kenya one", "", "2013-01", {"region:kenya"})},
                               100)
                   .stored;
  {
    auto txn = m_archive->beginRead();
    auto refused = makeRelease(txn, m_coordinator, "weekly", {}, "", 200);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().find("not a coordinator"), std::string::npos) << refused.error();
  }
  anchor(m_coordinator, Role::Coordinator, "Nairobi hub");
  auto made = [&] {
    auto txn = m_archive->beginRead();
    return makeRelease(txn, m_coordinator, "weekly", withTags({"region:mali"}), "first", 200);
  }();
  ASSERT_TRUE(made.ok()) << made.error();
  const auto& firstRelease = std::get<protocol::Release>(made->release.payload().body);
  EXPECT_EQ(firstRelease.sequence, 1u);
  EXPECT_EQ(firstRelease.clippings, std::vector<ObjectId>{first[0]});
  const ObjectId one = made->release.id();
  m_archive->write([&](WriteTxn& w) { (void)w.put(made->release); });
  (void)ingestClippings(*m_archive, m_coordinator,
                        {testing::clipping("Mali two", "", "", {"region:mali"})}, 300);
  auto txn = m_archive->beginRead();
  auto next = makeRelease(txn, m_coordinator, "weekly", sinceRelease("weekly"), "", 400);
  ASSERT_TRUE(next.ok()) << next.error();
  const auto& r = std::get<protocol::Release>(next->release.payload().body);
  EXPECT_EQ(r.sequence, 2u);
  EXPECT_EQ(r.previous, one);
  EXPECT_EQ(r.clippings.size(), 2u) << "Kenya one and Mali two: everything not in weekly yet";
  EXPECT_FALSE(makeRelease(txn, m_coordinator, "bad@name", {}, "", 400).ok());
  EXPECT_FALSE(
      makeRelease(txn, m_coordinator, "weekly", withTags({"region:nowhere"}), "", 400).ok());
  EXPECT_FALSE(makeRelease(txn, m_coordinator, "weekly", sinceRelease("monthly"), "", 400).ok());
}

TEST_F(Provenance, ReleasingFromTwoThreadsAtOnceNeverForksTheChain) {
  anchor(m_coordinator, Role::Coordinator, "Nairobi hub");
  (void)ingestClippings(*m_archive, m_coordinator, {testing::clipping("Report")}, 100);
  constexpr int PER_THREAD = 10;
  std::atomic<std::size_t> released{0};
  auto releaseMany = [&] {
    for (int i = 0; i < PER_THREAD; ++i) {
      auto made =
          publishRelease(*m_archive, m_coordinator, "daily", {}, std::to_string(i), 200 + i);
      // Under this much contention a release may give up and ask to be retried; it must
      // never fork the chain.
      if (made.ok()) {
        ++released;
      } else {
        EXPECT_NE(made.error().find("try again"), std::string::npos) << made.error();
      }
    }
  };
  std::thread other(releaseMany);
  releaseMany();
  other.join();
  auto txn = m_archive->beginRead();
  auto chain = txn.releases("daily");
  EXPECT_EQ(chain.size(), released.load());
  EXPECT_GE(chain.size(), static_cast<std::size_t>(PER_THREAD));
  for (std::size_t i = 0; i < chain.size(); ++i) EXPECT_EQ(chain[i].sequence, i + 1);
  EXPECT_EQ(verifyObject(txn, loadTrust(txn), chain.back().id).verdict(), Verdict::Valid);
}

TEST_F(Provenance, InvalidObjectStillSaysWhatItWas) {
  auto id = clip(m_office, "Report", 100);
  auto other = protocol::sign({m_office.publicKey(), 200, testing::clipping("Another")}, m_office);
  m_archive.reset();
  // Valid bytes of another object under this id: they decode, but the id does not hold.
  testing::overwriteStoredBytes(m_dir.path(), id, {other->bytes().begin(), other->bytes().end()});
  m_archive = Archive::open({.dir = m_dir.path()});
  auto r = report(id);
  EXPECT_EQ(r.verdict(), Verdict::Invalid);
  ASSERT_TRUE(r.object);
  EXPECT_EQ(r.object->payload.clipping()->title, "Another");
  EXPECT_EQ(report(ObjectId{}).invalid, "not in the archive");
}

TEST_F(Provenance, OwnUnanchoredKeyIsNamedAsThisNode) {
  m_archive->write([&](WriteTxn& txn) {
    txn.setMeta(META_NODE_KEY, m_office.publicKey().hex());
    txn.setMeta(META_NODE_NAME, "Goma office");
  });
  auto r = report(clip(m_office, "Report", 100));
  EXPECT_EQ(r.verdict(), Verdict::Untrusted);
  EXPECT_EQ(r.signerName, "Goma office (this node)");
}

TEST_F(Provenance, EveryObjectOnManyThreadsMatchesOneByOne) {
  anchor(m_coordinator, Role::Coordinator, "Nairobi hub");
  std::vector<protocol::Clipping> clippings;
  for (int i = 0; i < 300; ++i)
    clippings.push_back(testing::clipping("Clipping " + std::to_string(i)));
  (void)ingestClippings(*m_archive, m_coordinator, clippings, 100);
  (void)ingestClippings(*m_archive, m_office, {testing::clipping("Unknown office")}, 100);
  std::vector<ObjectId> expected;
  {
    auto txn = m_archive->beginRead();
    txn.forEach([&](const ObjectId& id, std::span<const std::uint8_t>) {
      expected.push_back(id);
      return true;
    });
  }
  for (unsigned threads : {1u, 3u}) {
    auto txn = m_archive->beginRead();
    const auto trust = loadTrust(txn);
    std::vector<ObjectId> seen;
    std::size_t untrusted = 0;
    verifyEveryObject(
        *m_archive, trust,
        [&](ObjectReport&& r) {
          EXPECT_EQ(r.verdict(), verifyObject(txn, trust, r.id).verdict());
          untrusted += r.verdict() == Verdict::Untrusted;
          seen.push_back(r.id);
        },
        threads);
    EXPECT_EQ(seen, expected) << "every object once, in id order";
    EXPECT_EQ(untrusted, 1u);
  }
}

TEST_F(Provenance, DamagedAndSwappedObjectsAreEachReportedOnAnyNumberOfThreads) {
  anchor(m_coordinator, Role::Coordinator, "Nairobi hub");
  std::vector<protocol::Clipping> clippings;
  for (int i = 0; i < 50; ++i)
    clippings.push_back(
        testing::clipping("Clipping " + std::to_string(i), "Body text " + std::to_string(i)));
  auto ids = ingestClippings(*m_archive, m_coordinator, clippings, 100).stored;
  std::vector<std::uint8_t> damaged, other;
  {
    auto txn = m_archive->beginRead();
    auto a = *txn.get(ids[10]);
    damaged.assign(a.begin(), a.end());
    auto b = *txn.get(ids[20]);
    other.assign(b.begin(), b.end());
  }
  m_archive.reset();
  damaged[damaged.size() - 20] ^= 0x20;  // a letter of the body, as a failing disk would
  testing::overwriteStoredBytes(m_dir.path(), ids[10], damaged);
  testing::overwriteStoredBytes(m_dir.path(), ids[30], other);  // valid bytes, wrong id
  m_archive = Archive::open({.dir = m_dir.path()});

  const auto trust = [&] {
    auto txn = m_archive->beginRead();
    return loadTrust(txn);
  }();
  for (unsigned threads : {1u, 2u}) {
    std::map<ObjectId, std::string> problems;
    std::size_t checked = 0;
    verifyEveryObject(
        *m_archive, trust,
        [&](ObjectReport&& r) {
          ++checked;
          if (r.invalid) problems[r.id] = *r.invalid;
        },
        threads);
    EXPECT_EQ(checked, 50u);
    ASSERT_EQ(problems.size(), 2u);
    EXPECT_NE(problems[ids[10]].find("bad signature"), std::string::npos) << problems[ids[10]];
    EXPECT_NE(problems[ids[30]].find("id mismatch"), std::string::npos) << problems[ids[30]];
  }
}

TEST_F(Provenance, OnlyCoordinatorsCertifyButAnyKeyMayRevokeItself) {
  auto txn = m_archive->beginRead();
  EXPECT_FALSE(
      makeKeyCert(txn, m_office, {m_coordinator.publicKey(), Role::Field, "x", 0}, 100).ok());
  EXPECT_FALSE(makeRevocation(txn, m_office, {m_coordinator.publicKey(), 0, ""}, 100).ok());
  EXPECT_TRUE(makeRevocation(txn, m_office, {m_office.publicKey(), 0, "lost"}, 100).ok());
}

}  // namespace
}  // namespace fieldsync::store
