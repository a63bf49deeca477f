#include "store/verify.h"

#include <gtest/gtest.h>

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
    clippings.push_back(
        testing::clipping("Clipping " + std::to_string(i), "Body text " + std::to_string(i)));
  return ingestClippings(archive, testing::keyNumber(1), clippings, 1700000000).stored;
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
  testing::overwriteStoredBytes(dir.path(), ids[10], damaged);
  testing::overwriteStoredBytes(dir.path(), ids[30], other);  // valid bytes under the wrong id

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
