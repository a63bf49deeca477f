// When the daemon dials (node/dial_scheduler.h), on a clock the test moves by hand: first dials,
// intervals, back-off, pushes of new objects, deferrals, and peers that come and go.
#include "node/dial_scheduler.h"

#include <gtest/gtest.h>

#include <set>

#include "store/store_fixture.h"

namespace fieldsync::node {
namespace {

using namespace std::chrono_literals;
using Clock = DialScheduler::Clock;
using store::testing::keyNumber;

store::PeerRecord peer(const std::string& name, std::uint8_t number) {
  store::PeerRecord record;
  record.name = name;
  record.address = "tcp://192.0.2." + std::to_string(number) + ":7420";
  record.key = keyNumber(number).publicKey();
  record.settings.interval = 300;
  record.settings.maxBackoff = 3600;
  return record;
}

DialScheduler::Options noJitter() {
  DialScheduler::Options options;
  options.jitter = 0;
  return options;
}

TEST(DialScheduler, ANewPeerIsDueAtOnceThenAfterItsInterval) {
  const Clock::time_point t0{};
  DialScheduler scheduler(noJitter(), 0);
  scheduler.update({peer("hub", 1)}, 0, t0);
  ASSERT_TRUE(scheduler.due(t0));
  EXPECT_EQ(scheduler.due(t0)->name, "hub");
  EXPECT_EQ(scheduler.settled(keyNumber(1).publicKey(), true, false, t0 + 1s), t0 + 301s);
  EXPECT_FALSE(scheduler.due(t0 + 300s));
  EXPECT_TRUE(scheduler.due(t0 + 301s));
  EXPECT_EQ(scheduler.nextDue(), t0 + 301s);
}

TEST(DialScheduler, FailuresBackOffDoublingUpToTheCapAndProgressRetriesAtOnce) {
  const Clock::time_point t0{};
  DialScheduler scheduler(noJitter(), 0);
  scheduler.update({peer("hub", 1)}, 0, t0);
  const auto key = keyNumber(1).publicKey();
  EXPECT_EQ(scheduler.settled(key, false, false, t0), t0 + 10s);
  EXPECT_EQ(scheduler.settled(key, false, false, t0), t0 + 20s);
  EXPECT_EQ(scheduler.settled(key, false, false, t0), t0 + 40s);
  for (int i = 0; i < 20; ++i) (void)scheduler.settled(key, false, false, t0);
  EXPECT_EQ(scheduler.settled(key, false, false, t0), t0 + 3600s);  // the peer's max back-off
  // A session cut after it moved objects: the link works between cuts; try again at once,
  // and back off from the first step if that try moves nothing.
  EXPECT_EQ(scheduler.settled(key, false, true, t0), t0 + 1s);
  EXPECT_EQ(scheduler.settled(key, false, false, t0), t0 + 10s);
  EXPECT_EQ(scheduler.settled(key, true, true, t0), t0 + 300s);
}

TEST(DialScheduler, NewObjectsAreDueAtOnceForPeersThatMayLackThem) {
  const Clock::time_point t0{};
  DialScheduler scheduler(noJitter(), 5);
  auto hub = peer("hub", 1), office = peer("office", 2), down = peer("down", 3);
  hub.state.inStepSeq = 5;
  office.state.inStepSeq = 9;  // holds what arrived already (it brought it)
  scheduler.update({hub, office, down}, 5, t0);
  for (const auto* p : {&hub, &office}) (void)scheduler.settled(p->key, true, false, t0);
  (void)scheduler.settled(down.key, false, false, t0);
  EXPECT_FALSE(scheduler.due(t0 + 1s));

  scheduler.update({hub, office, down}, 9, t0 + 1s);  // four objects arrived
  const auto due = scheduler.due(t0 + 1s);
  ASSERT_TRUE(due);
  EXPECT_EQ(due->name, "hub");
  (void)scheduler.settled(hub.key, true, false, t0 + 1s);
  EXPECT_FALSE(scheduler.due(t0 + 1s));  // not office (in step), not down (backing off)
}

TEST(DialScheduler, PushesOfNewObjectsAreSpreadOverThePushSpread) {
  const Clock::time_point t0{};
  DialScheduler::Options options = noJitter();
  options.pushSpread = 1000ms;
  DialScheduler scheduler(options, 0);
  std::vector<store::PeerRecord> peers;
  for (std::uint8_t n = 1; n <= 8; ++n) peers.push_back(peer("p" + std::to_string(n), n));
  scheduler.update(peers, 0, t0);
  for (const auto& p : peers) (void)scheduler.settled(p.key, true, false, t0);
  scheduler.update(peers, 1, t0);
  std::set<Clock::time_point> times;
  for (auto at = t0; at <= t0 + 1000ms; at += 1ms) {
    while (const auto due = scheduler.due(at)) {
      times.insert(at);
      (void)scheduler.settled(due->key, true, false, at);
    }
  }
  EXPECT_GT(times.size(), 4u);  // not all at one instant
  EXPECT_LE(*times.rbegin(), t0 + 1000ms);
}

TEST(DialScheduler, ADeferralPostponesButNeverBringsADialForward) {
  const Clock::time_point t0{};
  DialScheduler scheduler(noJitter(), 0);
  scheduler.update({peer("hub", 1)}, 0, t0);
  const auto key = keyNumber(1).publicKey();
  scheduler.defer(key, t0 + 60s);
  EXPECT_FALSE(scheduler.due(t0 + 59s));
  EXPECT_TRUE(scheduler.due(t0 + 60s));
  (void)scheduler.settled(key, true, false, t0 + 60s);
  scheduler.defer(key, t0 + 61s);
  EXPECT_EQ(scheduler.nextDue(), t0 + 360s);
}

TEST(DialScheduler, PeersRemovedAreForgottenAndJitterSpreadsIntervals) {
  const Clock::time_point t0{};
  DialScheduler::Options options;
  options.jitter = 0.2;
  options.seed = 42;
  DialScheduler scheduler(options, 0);
  scheduler.update({peer("hub", 1), peer("office", 2)}, 0, t0);
  const auto a = scheduler.settled(keyNumber(1).publicKey(), true, false, t0);
  const auto b = scheduler.settled(keyNumber(2).publicKey(), true, false, t0);
  EXPECT_NE(a, b);
  for (const auto at : {a, b}) {
    EXPECT_GE(at, t0 + 240s);
    EXPECT_LE(at, t0 + 360s);
  }
  scheduler.update({peer("office", 2)}, 0, t0);
  EXPECT_EQ(scheduler.nextDue(), b);
  scheduler.update({}, 0, t0);
  EXPECT_FALSE(scheduler.due(t0 + 10'000s));
  EXPECT_EQ(scheduler.nextDue(), Clock::time_point::max());
}

}  // namespace
}  // namespace fieldsync::node
