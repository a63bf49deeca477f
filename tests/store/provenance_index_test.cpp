// The indexes that provenance checks read: kinds, release chains, release members, anchors.
#include <gtest/gtest.h>

#include "store/archive.h"
#include "store/ingest.h"
#include "store_fixture.h"

namespace fieldsync::store {
namespace {
using testing::TempDir;

protocol::VerifiedObject signBody(const protocol::SecretKey& key, protocol::Body body,
                                  std::int64_t at = 1700000000) {
  auto object = protocol::sign({key.publicKey(), at, std::move(body)}, key);
  EXPECT_TRUE(object.ok()) << object.error().message();
  return std::move(object).value();
}

void putAll(Archive& archive, const std::vector<protocol::VerifiedObject>& objects) {
  archive.write([&](WriteTxn& txn) {
    for (const auto& o : objects) (void)txn.put(o);
  });
}

TEST(ProvenanceIndex, ReleasesAreFoundByNameSequenceAndMember) {
  TempDir dir;
  auto archive = Archive::open({.dir = dir.path(), .create = true});
  auto key = testing::keyNumber(7);
  auto ids = ingestClippings(*archive, key, {testing::clipping("One"), testing::clipping("Two")},
                             1700000000)
                 .stored;
  std::sort(ids.begin(), ids.end());
  auto first = signBody(key, protocol::Release{"weekly", 1, std::nullopt, ids, ""});
  auto second = signBody(key, protocol::Release{"weekly", 2, first.id(), {ids[0]}, ""});
  auto fork = signBody(key, protocol::Release{"weekly", 2, first.id(), {ids[1]}, "other"});
  auto monthly = signBody(key, protocol::Release{"monthly", 1, std::nullopt, {ids[1]}, ""});
  putAll(*archive, {first, second, fork, monthly});

  auto txn = archive->beginRead();
  EXPECT_EQ(txn.releaseNames(), (std::vector<std::string>{"monthly", "weekly"}));
  auto weekly = txn.releases("weekly");
  ASSERT_EQ(weekly.size(), 3u);
  EXPECT_EQ(weekly[0].sequence, 1u);
  EXPECT_EQ(weekly[0].id, first.id());
  EXPECT_EQ(txn.releases("weekly", 2).size(), 2u) << "two releases at one sequence: a fork";
  EXPECT_TRUE(txn.releases("week").empty()) << "a prefix of a name is not the name";
  EXPECT_TRUE(txn.releases("weekly", 3).empty());

  auto containing = txn.releasesContaining(ids[1]);
  ASSERT_EQ(containing.size(), 3u);
  EXPECT_EQ(containing[0].name, "monthly");
  EXPECT_EQ(containing[0].id, monthly.id());
  EXPECT_EQ(containing[1].name, "weekly");
  EXPECT_EQ(containing[1].sequence, 1u);
  EXPECT_EQ(containing[1].id, first.id());
  EXPECT_EQ(containing[2].sequence, 2u);
  EXPECT_EQ(containing[2].id, fork.id());
}

TEST(ProvenanceIndex, ObjectsAreListedByKindNewestFirst) {
  TempDir dir;
  auto archive = Archive::open({.dir = dir.path(), .create = true});
  auto coordinator = testing::keyNumber(1);
  auto office = testing::keyNumber(2).publicKey();
  auto cert =
      signBody(coordinator, protocol::KeyCert{office, protocol::Role::Field, "Goma", 0}, 100);
  auto revocation = signBody(coordinator, protocol::Revocation{office, 150, "lost laptop"}, 200);
  auto cert2 =
      signBody(coordinator, protocol::KeyCert{office, protocol::Role::Field, "Goma 2", 0}, 300);
  putAll(*archive, {cert, revocation, cert2});
  (void)ingestClippings(*archive, coordinator, {testing::clipping("A clipping")}, 50);

  auto txn = archive->beginRead();
  EXPECT_EQ(txn.ofKind(protocol::Kind::KeyCert), (std::vector<ObjectId>{cert2.id(), cert.id()}));
  EXPECT_EQ(txn.ofKind(protocol::Kind::Revocation), (std::vector<ObjectId>{revocation.id()}));
  EXPECT_TRUE(txn.ofKind(protocol::Kind::Release).empty());
  ListQuery query;
  query.kind = protocol::Kind::KeyCert;
  query.limit = 1;
  EXPECT_EQ(txn.list(query), (std::vector<ObjectId>{cert2.id()}));
}

TEST(ProvenanceIndex, AnchorsAreSetReplacedAndRemoved) {
  TempDir dir;
  auto archive = Archive::open({.dir = dir.path(), .create = true});
  auto a = testing::keyNumber(1).publicKey();
  auto b = testing::keyNumber(2).publicKey();
  archive->write([&](WriteTxn& txn) {
    txn.setAnchor({a, protocol::Role::Coordinator, "Nairobi hub"});
    txn.setAnchor({b, protocol::Role::Field, "Goma"});
    txn.setAnchor({b, protocol::Role::Field, "Goma office"});
  });
  {
    auto anchors = archive->beginRead().anchors();
    ASSERT_EQ(anchors.size(), 2u);
    auto byKey = [&](const PublicKey& k) {
      return *std::find_if(anchors.begin(), anchors.end(), [&](auto& x) { return x.key == k; });
    };
    EXPECT_EQ(byKey(a).role, protocol::Role::Coordinator);
    EXPECT_EQ(byKey(a).name, "Nairobi hub");
    EXPECT_EQ(byKey(b).name, "Goma office");
  }
  bool removed = false, again = true;
  archive->write([&](WriteTxn& txn) {
    removed = txn.removeAnchor(b);
    again = txn.removeAnchor(b);
  });
  EXPECT_TRUE(removed);
  EXPECT_FALSE(again);
  EXPECT_EQ(archive->beginRead().anchors().size(), 1u);
}

}  // namespace
}  // namespace fieldsync::store
