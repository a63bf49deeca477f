// The committer: batches of verified objects written on a thread of its own, in order, and
// reported only once durable.
#include "store/committer.h"

#include <gtest/gtest.h>

#include "store/store_fixture.h"

namespace fieldsync::store {
namespace {

using testing::clipping;
using testing::keyNumber;
using testing::signBody;
using testing::TempArchive;

std::vector<protocol::VerifiedObject> clippings(int from, int to) {
  std::vector<protocol::VerifiedObject> out;
  for (int i = from; i < to; ++i) {
    out.push_back(signBody(keyNumber(1), clipping("Clipping " + std::to_string(i), "Body"),
                           1'700'000'000 + i));
  }
  return out;
}

/// Submits objects prepared as the session and bundle import prepare them.
void submit(Committer& committer, std::uint32_t batch,
            std::vector<protocol::VerifiedObject> objects) {
  std::vector<PreparedObject> prepared = prepareAll(objects);
  committer.submit(batch, std::move(objects), std::move(prepared));
}

TEST(Committer, BatchesAreReportedInOrderOnlyOnceTheArchiveHoldsThem) {
  TempArchive home;
  Committer committer(*home.archive);
  std::vector<std::uint32_t> reported;
  for (std::uint32_t batch = 1; batch <= 20; ++batch) {
    const int first = static_cast<int>(batch - 1) * 10;
    submit(committer, batch, clippings(first, first + 10));
    for (const auto& done : committer.collect(false)) {
      reported.push_back(done.batch);
      // Reported: readable by a transaction begun now, 10 objects a batch.
      EXPECT_GE(home.count(), 10u * done.batch);
      EXPECT_EQ(done.stored, 10u);
    }
  }
  for (const auto& done : committer.collect(true)) reported.push_back(done.batch);
  EXPECT_TRUE(committer.idle());
  ASSERT_EQ(reported.size(), 20u);
  for (std::uint32_t i = 0; i < 20; ++i) EXPECT_EQ(reported[i], i + 1);
  EXPECT_EQ(home.count(), 200u);
}

TEST(Committer, ObjectsAlreadyHeldAreCountedApart) {
  TempArchive home;
  home.putAll(clippings(0, 5));
  Committer committer(*home.archive);
  submit(committer, 1, clippings(0, 8));
  const auto done = committer.collect(true);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].stored, 3u);
  EXPECT_EQ(done[0].alreadyPresent, 5u);
  EXPECT_EQ(done[0].retracted, 0u);
}

TEST(Committer, AFailedCommitIsThrownToTheOwnerAndNothingAfterItIsWritten) {
  TempArchive home;
  home.putAll(clippings(0, 1));
  auto options = home.options;
  options.readOnly = true;
  home.reopen(options);  // every write now fails
  Committer committer(*home.archive);
  submit(committer, 1, clippings(1, 3));
  submit(committer, 2, clippings(3, 5));
  EXPECT_THROW((void)committer.collect(true), Error);
  EXPECT_TRUE(committer.collect(true).empty());
  EXPECT_EQ(home.count(), 1u);
}

TEST(Committer, WhatItStoresIsIndexedForSearch) {
  TempArchive home;
  Committer committer(*home.archive);
  for (std::uint32_t batch = 1; batch <= 4; ++batch) {
    const int first = static_cast<int>(batch - 1) * 10;
    submit(committer, batch, clippings(first, first + 10));
  }
  EXPECT_EQ(committer.collect(true).size(), 4u);
  const ReadTxn txn = home.archive->beginRead();
  EXPECT_EQ(txn.search("clipping").size(), 40u);
  for (int i = 0; i < 40; ++i) {
    const auto found = txn.search(std::to_string(i));
    ASSERT_EQ(found.size(), 1u) << i;
    EXPECT_EQ(found[0], clippings(i, i + 1)[0].id());
  }
}

TEST(Committer, WhatWasSubmittedIsStoredWhenTheCommitterGoes) {
  TempArchive home;
  {
    Committer committer(*home.archive);
    submit(committer, 1, clippings(0, 50));
  }
  EXPECT_EQ(home.count(), 50u);
}

}  // namespace
}  // namespace fieldsync::store
