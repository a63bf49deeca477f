// The token bucket against a fake clock: no test sleeps.
#include "node/rate_limiter.h"

#include <gtest/gtest.h>

namespace fieldsync::node {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

/// A clock that moves only when the test says so.
struct FakeClock {
  Clock::time_point now = Clock::time_point{} + 1000h;
  RateLimiter::Now function() {
    return [this] { return now; };
  }
};

class Limiter : public ::testing::Test {
 protected:
  RateLimiter make(std::uint64_t rate, std::uint64_t burst = 0) {
    return RateLimiter(rate, burst, m_clock.function());
  }
  FakeClock m_clock;
};

TEST_F(Limiter, RateZeroIsUnlimited) {
  auto limiter = make(0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.delayFor(1u << 30), Clock::duration::zero());
}

TEST_F(Limiter, AFullBucketLetsOneSecondsWorthGoAtOnce) {
  auto limiter = make(8000);
  EXPECT_EQ(limiter.burst(), 8000u);
  EXPECT_EQ(limiter.delayFor(5000), 0ns);
  EXPECT_EQ(limiter.delayFor(3000), 0ns);
  // The bucket is empty: the next 4000 bytes wait half a second.
  EXPECT_EQ(limiter.delayFor(4000), 500ms);
}

TEST_F(Limiter, ReservationsQueueBehindEachOther) {
  auto limiter = make(1000, 1000);
  EXPECT_EQ(limiter.delayFor(1000), 0ns);
  EXPECT_EQ(limiter.delayFor(500), 500ms);
  EXPECT_EQ(limiter.delayFor(500), 1s);
  EXPECT_EQ(limiter.delayFor(1000), 2s);
  // Time passing pays the debt off.
  m_clock.now += 1500ms;
  EXPECT_EQ(limiter.delayFor(0), 500ms);
  m_clock.now += 500ms;
  EXPECT_EQ(limiter.delayFor(0), 0ns);
}

TEST_F(Limiter, AMessageLargerThanTheBurstWaitsForItsExcess) {
  auto limiter = make(1000, 100);
  EXPECT_EQ(limiter.delayFor(2100), 2s);
}

TEST_F(Limiter, AQuietSpellRefillsOnlyUpToTheBurst) {
  auto limiter = make(1000, 2000);
  EXPECT_EQ(limiter.delayFor(2000), 0ns);
  m_clock.now += 1h;
  EXPECT_EQ(limiter.delayFor(2000), 0ns);
  EXPECT_EQ(limiter.delayFor(1), 1ms);
}

TEST_F(Limiter, SendingAtTheDelaysKeepsToTheRateExactly) {
  // 3 bytes a second: a third of a second per byte, which no number of nanoseconds is.
  auto limiter = make(3, 1);
  Clock::duration total{};
  for (int i = 0; i < 3000; ++i) {
    auto delay = limiter.delayFor(1);
    m_clock.now += delay;
    total += delay;
  }
  // The first byte goes at once; 2999 more take 999.67 s, never less, at most 1 ns more each.
  const auto exact = std::chrono::nanoseconds(2999LL * 1'000'000'000 / 3);
  EXPECT_GE(total, exact);
  EXPECT_LE(total, exact + 3000ns);
}

TEST_F(Limiter, SmallClockStepsAddUp) {
  auto limiter = make(1'000'000, 1);
  EXPECT_EQ(limiter.delayFor(1), 0ns);
  EXPECT_EQ(limiter.delayFor(1000), 1ms);
  for (int i = 0; i < 1000; ++i) {
    m_clock.now += 1us;  // 1 byte each
    EXPECT_EQ(limiter.delayFor(0), std::chrono::microseconds(999 - i)) << i;
  }
  m_clock.now += 5us;  // the bucket holds one byte, not five
  EXPECT_EQ(limiter.delayFor(1), 0ns);
  EXPECT_EQ(limiter.delayFor(1), 1us);
}

TEST_F(Limiter, ChangingTheRateKeepsTheDebt) {
  auto limiter = make(1000);
  EXPECT_EQ(limiter.delayFor(3000), 2s);
  limiter.setRate(2000);
  EXPECT_EQ(limiter.rate(), 2000u);
  EXPECT_EQ(limiter.burst(), 2000u);
  EXPECT_EQ(limiter.delayFor(0), 1s);  // 2000 bytes of debt at the new rate
  limiter.setRate(0);
  EXPECT_EQ(limiter.delayFor(1u << 20), 0ns);
  limiter.setRate(1000);  // from unlimited: a full bucket
  EXPECT_EQ(limiter.delayFor(1000), 0ns);
  EXPECT_EQ(limiter.delayFor(1000), 1s);
}

TEST_F(Limiter, HugeValuesNeitherOverflowNorWaitForever) {
  auto fast = make(RateLimiter::MAX_RATE * 10);
  EXPECT_EQ(fast.rate(), RateLimiter::MAX_RATE);
  EXPECT_EQ(fast.delayFor(RateLimiter::MAX_RATE), 0ns);
  EXPECT_EQ(fast.delayFor(RateLimiter::MAX_RATE / 2), 500ms);
  m_clock.now += 24h * 365 * 100;
  EXPECT_EQ(fast.delayFor(0), 0ns);

  auto slow = make(1);
  EXPECT_EQ(slow.delayFor(SIZE_MAX), RateLimiter::MAX_DELAY);
  EXPECT_EQ(slow.delayFor(SIZE_MAX), RateLimiter::MAX_DELAY);
}

TEST_F(Limiter, AClockThatStandsStillOrStepsBackGivesNoTokens) {
  auto limiter = make(1000, 1000);
  EXPECT_EQ(limiter.delayFor(1000), 0ns);
  m_clock.now -= 1s;
  EXPECT_EQ(limiter.delayFor(100), 100ms);
  m_clock.now += 1s;  // back where it was: still nothing earned
  EXPECT_EQ(limiter.delayFor(0), 100ms);
}

}  // namespace
}  // namespace fieldsync::node
