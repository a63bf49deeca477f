#include "store/verify.h"

#include <gtest/gtest.h>
#include <lmdb.h>

#include <map>

#include "store/ingest.h"
#include "store_fixture.h"

namespace fieldsync::store {
namespace {
using testing::TempDir;

/// An archive of n clippings signed by one key; returns their ids.
std::vector<ObjectId> fill(Archive& archive, std::size_t n) {
  std::vector<protocol::Clipping> clippings;
  for (std::size_t i = 0; i < n; ++i)
    clippings.push_back(testing::clipping("Clipping " + std::to_string(i), "Body text " + std::to_string(i)));
  return ingestClippings(archive, testing::keyNumber(1), clippings, 1700000000).stored;
}

/// Overwrites the stored bytes of id with bytes, through LMDB itself, the archive closed.
void overwrite(const std::filesystem::path& dir, const ObjectId& id,
               std::vector<std::uint8_t> bytes) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 32), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi = 0;
  ASSERT_EQ(mdb_dbi_open(txn, "objects", 0, &dbi), 0);
  MDB_val key{id.bytes.size(), const_cast<std::uint8_t*>(id.bytes.data())};
  MDB_val data{bytes.size(), bytes.data()};
  ASSERT_EQ(mdb_put(txn, dbi, &key, &data, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

TEST(Verify, IntactArchivePassesOnAnyNumberOfThreads) {
  TempDir dir;
  auto archive = Archive::open({.dir = dir.path(), .create = true});
  fill(*archive, 300);
  for (unsigned threads : {1u, 2u, 3u, 0u}) {
    auto summary = verifyAll(*archive, threads);
    EXPECT_TRUE(summary.ok()) << threads;
    EXPECT_EQ(summary.checked, 300u) << threads;
  }
}

TEST(Verify, DamagedAndSwappedObjectsAreEachReported) {
  TempDir dir;
  std::vector<ObjectId> ids;
  std::vector<std::uint8_t> damaged, other;
  {
    auto archive = Archive::open({.dir = dir.path(), .create = true});
    ids = fill(*archive, 50);
    auto txn = archive->beginRead();
    auto a = *txn.get(ids[10]);
    damaged.assign(a.begin(), a.end());
    auto b = *txn.get(ids[20]);
    other.assign(b.begin(), b.end());
  }
  damaged[damaged.size() - 20] ^= 0x20;  // a letter of the body
  overwrite(dir.path(), ids[10], damaged);
  overwrite(dir.path(), ids[30], other);  // valid bytes under the wrong id

  auto archive = Archive::open({.dir = dir.path()});
  for (unsigned threads : {1u, 2u}) {
    auto summary = verifyAll(*archive, threads);
    EXPECT_EQ(summary.checked, 50u);
    ASSERT_EQ(summary.failures.size(), 2u);
    std::map<ObjectId, std::string> problems;
    for (const auto& f : summary.failures) problems[f.id] = f.problem;
    EXPECT_NE(problems[ids[10]].find("bad signature"), std::string::npos) << problems[ids[10]];
    EXPECT_NE(problems[ids[30]].find("id mismatch"), std::string::npos) << problems[ids[30]];
  }
  auto some = verifyIds(*archive, {ids[10], ids[11]});
  EXPECT_EQ(some.checked, 2u);
  ASSERT_EQ(some.failures.size(), 1u);
  EXPECT_EQ(some.failures[0].id, ids[10]);
}

TEST(Verify, UnknownIdIsAFailure) {
  TempDir dir;
  auto archive = Archive::open({.dir = dir.path(), .create = true});
  fill(*archive, 3);
  auto summary = verifyIds(*archive, {ObjectId{}});
  ASSERT_EQ(summary.failures.size(), 1u);
  EXPECT_EQ(summary.failures[0].problem, "not in the archive");
}

}  // namespace
}  // namespace fieldsync::store
