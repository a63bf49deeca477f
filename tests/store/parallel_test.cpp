#include "store/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace fieldsync::store {
namespace {

TEST(OnEveryCore, RunsEveryIndexOnceAndGivesResultsInOrder) {
  for (std::size_t count : {0u, 1u, 15u, 16u, 17u, 1000u}) {
    std::vector<std::atomic<int>> runs(count);
    const std::vector<std::size_t> squares = mapOnEveryCore(
        count,
        [&](std::size_t i) {
          ++runs[i];
          return i * i;
        },
        4, 16);
    ASSERT_EQ(squares.size(), count);
    for (std::size_t i = 0; i < count; ++i) {
      EXPECT_EQ(squares[i], i * i);
      EXPECT_EQ(runs[i], 1) << i << " of " << count;
    }
  }
}

// after() runs on the caller's thread only, with counts that never go back or pass the count.
TEST(OnEveryCore, TellsProgressOnTheCallersThreadOnly) {
  const auto caller = std::this_thread::get_id();
  std::size_t last = 0;
  bool onOtherThread = false;
  std::atomic<std::size_t> ran{0};
  onEveryCore(
      1000, [&](std::size_t) { ++ran; },
      [&](std::size_t done) {
        onOtherThread = onOtherThread || std::this_thread::get_id() != caller;
        EXPECT_GE(done, last);
        EXPECT_LE(done, 1000u);
        last = done;
      },
      3, 10);
  EXPECT_FALSE(onOtherThread);
  EXPECT_EQ(ran, 1000u);
}

TEST(OnEveryCore, OneChunkOrOneThreadRunsOnTheCallersThreadAlone) {
  const auto caller = std::this_thread::get_id();
  auto threadsUsed = [&](std::size_t count, std::size_t threads) {
    std::mutex mutex;
    std::set<std::thread::id> used;
    onEveryCore(
        count,
        [&](std::size_t) {
          std::lock_guard lock(mutex);
          used.insert(std::this_thread::get_id());
        },
        [](std::size_t) {}, threads, 16);
    return used;
  };
  EXPECT_EQ(threadsUsed(16, 8), std::set{caller});
  EXPECT_EQ(threadsUsed(10000, 1), std::set{caller});
  EXPECT_LE(threadsUsed(10000, 3).size(), 3u);
}

// A failure on any thread stops the rest at their next chunk and reaches the caller, rather
// than ending the process (an exception leaving a std::thread calls std::terminate).
TEST(OnEveryCore, WhatAnyThreadThrowsReachesTheCaller) {
  std::atomic<std::size_t> ran{0};
  EXPECT_THROW(onEveryCore(
                   100000,
                   [&](std::size_t i) {
                     ++ran;
                     if (i == 5000) throw std::runtime_error("bad item");
                   },
                   [](std::size_t) {}, 4, 16),
               std::runtime_error);
  EXPECT_LT(ran, 100000u);
}

}  // namespace
}  // namespace fieldsync::store
