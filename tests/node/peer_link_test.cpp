// What a session with a listed peer means (node/peer_link.h), tested without sockets and with
// the clock in the test's hands: the plan (pause, refusal, budget, cap, opening), the
// settlement (state, refusal, a budget spent said once) and one session per pair.
#include "node/peer_link.h"

#include <gtest/gtest.h>

#include "store/pause.h"
#include "store/store_fixture.h"

namespace fieldsync::node {
namespace {

using store::testing::clipping;
using store::testing::keyNumber;
using store::testing::signBody;
using store::testing::TempArchive;

constexpr std::int64_t NOON = 1'700'000'000 - 1'700'000'000 % 86'400 + 43'200;  // a UTC noon

struct PeerLinkTest : ::testing::Test {
  PeerLinkTest() {
    store::PeerRecord record;
    record.name = "hub";
    record.address = "tcp://192.0.2.7:7420";
    record.key = keyNumber(7).publicKey();
    node.archive->write([&](store::WriteTxn& txn) {
      ASSERT_TRUE(store::putPeer(txn, record, store::IfNameListed::Refuse).ok());
    });
  }
  store::PeerRecord hub() const { return *store::findPeer(node.archive->beginRead(), "hub"); }
  void set(const std::function<void(store::PeerSettings&)>& change) {
    node.archive->write([&](store::WriteTxn& txn) {
      ASSERT_TRUE(store::updatePeerSettings(txn, "hub", change).ok());
    });
  }
  void state(const std::function<void(store::PeerState&)>& change) {
    node.archive->write(
        [&](store::WriteTxn& txn) { ASSERT_TRUE(store::updatePeerState(txn, hub().key, change)); });
  }
  SessionPlan plan(Session::Role role = Session::Role::Initiator, std::int64_t now = NOON) {
    return planSession(node.archive->beginRead(), hub(), role, SessionOptions{}, now);
  }
  SessionReport report(std::uint64_t bytes, bool ok = true) const {
    SessionReport r;
    r.peer = "hub";
    r.key = hub().key;
    r.ok = ok;
    r.failure = ok ? "" : "batch 1, object 3: bad signature";
    r.stats.bytesIn = bytes;
    return r;
  }

  TempArchive node;
};

TEST_F(PeerLinkTest, APlanCarriesThePeersCapAndWhatIsLeftOfTodaysBudget) {
  set([](store::PeerSettings& s) {
    s.rate = 16'000;
    s.dailyBudget = 1'000'000;
  });
  state([](store::PeerState& s) { store::countTraffic(s, 400'000, NOON - 3600); });
  const SessionPlan planned = plan();
  ASSERT_FALSE(planned.refusal);
  EXPECT_EQ(planned.session.rate, 16'000u);
  EXPECT_EQ(planned.session.budget, 600'000u);
  // Yesterday's traffic counts for nothing today.
  EXPECT_EQ(plan(Session::Role::Initiator, NOON + 86'400).session.budget, 1'000'000u);
}

TEST_F(PeerLinkTest, APeerWithNoCapOrBudgetRunsUnlimited) {
  const SessionPlan planned = plan(Session::Role::Responder);
  ASSERT_FALSE(planned.refusal);
  EXPECT_EQ(planned.session.rate, 0u);
  EXPECT_EQ(planned.session.budget, 0u);
}

TEST_F(PeerLinkTest, NoSessionRunsWhilePausedRefusedOrOutOfBudget) {
  node.archive->write([&](store::WriteTxn& txn) { store::pauseTraffic(txn, NOON + 60); });
  ASSERT_TRUE(plan().refusal);
  EXPECT_EQ(plan().refusal->kind, SessionRefusal::Kind::Paused);
  EXPECT_EQ(plan(Session::Role::Responder).refusal->message, "traffic is paused on this node");
  EXPECT_FALSE(plan(Session::Role::Initiator, NOON + 61).refusal);  // a timed pause ends

  state([](store::PeerState& s) { (void)store::refuse(s, "bad signature", NOON); });
  const auto refused = plan(Session::Role::Initiator, NOON + 61).refusal;
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->kind, SessionRefusal::Kind::Refused);
  EXPECT_EQ(refused->until, NOON + store::FIRST_REFUSAL);

  set([](store::PeerSettings& s) { s.dailyBudget = 1000; });
  state([](store::PeerState& s) { store::countTraffic(s, 1000, NOON); });
  const auto spent = plan(Session::Role::Responder, NOON + store::FIRST_REFUSAL + 1).refusal;
  ASSERT_TRUE(spent);
  EXPECT_EQ(spent->kind, SessionRefusal::Kind::BudgetSpent);
  EXPECT_EQ(spent->until, store::nextUtcDayStart(NOON));
}

TEST_F(PeerLinkTest, TheDialerOpensSmallOnlyWhenNothingArrivedSinceTheLastSessionInStep) {
  node.putAll({signBody(keyNumber(1), clipping("One"), 1'700'000'000)});
  EXPECT_EQ(plan().session.opening, protocol::Reconciler::Opening::Full);  // never in step
  const auto seq = node.archive->beginRead().lastSeq();
  state([&](store::PeerState& s) {
    s.inStepAt = NOON - 60;
    s.inStepSeq = seq;
  });
  EXPECT_EQ(plan().session.opening, protocol::Reconciler::Opening::InStep);
  EXPECT_EQ(plan(Session::Role::Responder).session.opening,
            protocol::Reconciler::Opening::Full);  // the responder does not open
  node.putAll({signBody(keyNumber(1), clipping("Two"), 1'700'000'001)});
  EXPECT_EQ(plan().session.opening, protocol::Reconciler::Opening::Full);
}

TEST_F(PeerLinkTest, AnAddressNotListedRunsWithTheOptionsGiven) {
  SessionOptions base;
  base.rate = 5'000;
  const auto planned =
      planSession(node.archive->beginRead(), std::nullopt, Session::Role::Initiator, base, NOON);
  ASSERT_FALSE(planned.refusal);
  EXPECT_EQ(planned.session.rate, 5'000u);
}

TEST_F(PeerLinkTest, SettlingRecordsTheSessionAndRefusesAPeerThatBrokeTheRules) {
  Settlement settled = settleSession(*node.archive, report(5'000), false, true, NOON);
  EXPECT_FALSE(settled.refusal);
  EXPECT_EQ(hub().state.lastSuccess, NOON);
  EXPECT_EQ(hub().state.bytesIn, 5'000u);

  // Without penalties (tests, a node that chooses so) a bad session is only recorded.
  settled = settleSession(*node.archive, report(10, false), true, false, NOON + 1);
  EXPECT_FALSE(settled.refusal);
  EXPECT_FALSE(hub().state.refusedAt(NOON + 1));

  settled = settleSession(*node.archive, report(10, false), true, true, NOON + 2);
  ASSERT_TRUE(settled.refusal);
  EXPECT_NE(settled.refusal->find("bad signature"), std::string::npos) << *settled.refusal;
  EXPECT_EQ(settled.refusedUntil, NOON + 2 + store::FIRST_REFUSAL);
  EXPECT_TRUE(hub().state.refusedAt(NOON + 3));
  // A second bad session while the refusal runs is the same offence.
  settled = settleSession(*node.archive, report(10, false), true, true, NOON + 3);
  EXPECT_FALSE(settled.refusal);
  EXPECT_EQ(hub().state.refusals, 1u);
}

TEST_F(PeerLinkTest, ASpentBudgetIsSaidOnceAndWaitsForTheNextUtcDay) {
  set([](store::PeerSettings& s) { s.dailyBudget = 10'000; });
  EXPECT_FALSE(settleSession(*node.archive, report(6'000), false, true, NOON).budgetSpent);
  EXPECT_FALSE(describeSpentBudget(node.archive->beginRead(), hub(), NOON));
  EXPECT_TRUE(settleSession(*node.archive, report(4'500), false, true, NOON + 1).budgetSpent);
  // Already spent: the next session (a peer that dialed anyway) says nothing more.
  EXPECT_FALSE(settleSession(*node.archive, report(100), false, true, NOON + 2).budgetSpent);

  node.putAll({signBody(keyNumber(1), clipping("One"), 1'700'000'000),
               signBody(keyNumber(1), clipping("Two"), 1'700'000'001)});
  EXPECT_EQ(describeSpentBudget(node.archive->beginRead(), hub(), NOON + 3),
            "budget spent; resumes 00:00 UTC; 2 objects waiting");
  EXPECT_FALSE(describeSpentBudget(node.archive->beginRead(), hub(), NOON + 86'400));
}

TEST_F(PeerLinkTest, ASessionStoppedShortOfItsBudgetSpendsTheRestOfTheDay) {
  set([](store::PeerSettings& s) { s.dailyBudget = 10'000; });
  SessionReport stopped = report(7'000);
  stopped.stats.budgetSpent = true;  // the next batch would not have fitted
  EXPECT_TRUE(settleSession(*node.archive, stopped, false, true, NOON).budgetSpent);
  ASSERT_TRUE(plan(Session::Role::Initiator, NOON + 1).refusal);
  EXPECT_EQ(plan(Session::Role::Initiator, NOON + 1).refusal->kind,
            SessionRefusal::Kind::BudgetSpent);
  EXPECT_EQ(hub().state.bytesIn, 7'000u);  // the totals count only what moved
}

TEST(PairSessions, WhenBothDialAtOnceTheSessionOfTheSmallerKeyGoesOn) {
  const auto small = keyNumber(1).publicKey(), large = keyNumber(2).publicKey();
  const auto& [low, high] = small < large ? std::pair{small, large} : std::pair{large, small};
  PairSessions atLow, atHigh;  // each node's own
  ASSERT_TRUE(atLow.beginDial(high));
  ASSERT_TRUE(atHigh.beginDial(low));
  EXPECT_FALSE(atLow.mayAnswer(low, high));  // low's own session goes on: high's yields
  EXPECT_TRUE(atHigh.mayAnswer(high, low));  // high answers low's session
  atLow.endDial(high);
  EXPECT_TRUE(atLow.mayAnswer(low, high));
}

TEST(PairSessions, APeerInASessionThisNodeAnsweredIsNotDialed) {
  const auto key = keyNumber(3).publicKey();
  PairSessions pairs;
  pairs.beginAnswer(key);
  EXPECT_TRUE(pairs.busy(key));
  EXPECT_FALSE(pairs.beginDial(key));
  pairs.endAnswer(key);
  EXPECT_FALSE(pairs.busy(key));
  EXPECT_TRUE(pairs.beginDial(key));
  EXPECT_FALSE(pairs.beginDial(key));  // one dial at a time too
}

}  // namespace
}  // namespace fieldsync::node
