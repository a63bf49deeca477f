// Sync sessions between real archives, messages handed from one Session to the other in
// memory (no sockets: the transport has its own tests). Checks convergence, the cost of an
// equal sync, a cut session, and that every kind of hostile input ends the session with
// nothing stored.
#include "node/session.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <map>
#include <set>

#include "protocol/sync.h"
#include "store/provenance.h"
#include "store/store_fixture.h"
#include "store/sync_index.h"
#include "support/endless_round.h"

namespace fieldsync::node {
namespace {

using store::testing::clipping;
using store::testing::keyNumber;
using store::testing::signBody;
using store::testing::TempArchive;
namespace sync = protocol::sync;

std::vector<protocol::VerifiedObject> clippings(std::uint8_t signer, int from, int to,
                                                std::int64_t signedAt = 1'700'000'000) {
  const auto key = keyNumber(signer);
  std::vector<protocol::VerifiedObject> out;
  for (int i = from; i < to; ++i) {
    out.push_back(signBody(
        key, clipping("Clipping " + std::to_string(i), "Body of clipping " + std::to_string(i)),
        signedAt + i));
  }
  return out;
}

std::set<protocol::ObjectId> idsOf(const store::Archive& archive) {
  std::set<protocol::ObjectId> ids;
  archive.beginRead().forEach([&](const protocol::ObjectId& id, auto) {
    ids.insert(id);
    return true;
  });
  return ids;
}

std::set<protocol::ObjectId> unionOf(const store::Archive& a, const store::Archive& b) {
  std::set<protocol::ObjectId> ids = idsOf(a);
  ids.merge(idsOf(b));
  return ids;
}

sync::ArchiveState stateOf(const store::Archive& archive) {
  const auto txn = archive.beginRead();
  const store::ArchiveRangeIndex index(txn);
  return sync::archiveState(index.sum(0, index.size()));
}

struct Outcome {
  bool initiatorFinished = false;
  bool responderFinished = false;
  std::size_t messages = 0;
};

/// Runs a session: every message of one side goes to the other, in order, until both are
/// over or `cutAfter` messages have been delivered (a link that drops).
Outcome run(Session& initiator, Session& responder, std::size_t cutAfter = SIZE_MAX) {
  std::deque<Bytes> toResponder, toInitiator;
  for (auto& m : initiator.start()) toResponder.push_back(std::move(m));
  Outcome outcome;
  while ((!toResponder.empty() || !toInitiator.empty()) && outcome.messages < cutAfter) {
    if (!toResponder.empty()) {
      auto replies = responder.receive(toResponder.front());
      toResponder.pop_front();
      for (auto& m : replies) toInitiator.push_back(std::move(m));
    } else {
      auto replies = initiator.receive(toInitiator.front());
      toInitiator.pop_front();
      for (auto& m : replies) toResponder.push_back(std::move(m));
    }
    ++outcome.messages;
  }
  outcome.initiatorFinished = initiator.finished();
  outcome.responderFinished = responder.finished();
  return outcome;
}

void syncBoth(store::Archive& a, store::Archive& b, SessionOptions options = {}) {
  Session initiator(a, Session::Role::Initiator, options);
  Session responder(b, Session::Role::Responder, options);
  const auto outcome = run(initiator, responder);
  ASSERT_TRUE(outcome.initiatorFinished) << initiator.failure();
  ASSERT_TRUE(outcome.responderFinished) << responder.failure();
  EXPECT_TRUE(initiator.inStep());
  EXPECT_TRUE(responder.inStep());
}

TEST(Session, TwoArchivesWithObjectsTheOtherLacksEndWithTheUnion) {
  TempArchive a, b;
  a.putAll(clippings(1, 0, 300));
  b.putAll(clippings(2, 0, 200));
  const auto shared = clippings(3, 0, 50);
  a.putAll(shared);
  b.putAll(shared);
  const std::set<protocol::ObjectId> all = unionOf(*a.archive, *b.archive);

  syncBoth(*a.archive, *b.archive);
  EXPECT_EQ(idsOf(*a.archive), all);
  EXPECT_EQ(idsOf(*b.archive), all);
  EXPECT_EQ(stateOf(*a.archive), stateOf(*b.archive));
}

TEST(Session, RoundsCutIntoManySmallFramesConverge) {
  TempArchive a, b;
  a.putAll(clippings(1, 0, 150));
  b.putAll(clippings(2, 0, 120));
  const std::set<protocol::ObjectId> all = unionOf(*a.archive, *b.archive);
  SessionOptions options;
  options.tuning.maxFrameBytes = 64;  // every round of several frames, in order
  Session initiator(*a.archive, Session::Role::Initiator, options);
  Session responder(*b.archive, Session::Role::Responder, options);
  run(initiator, responder);
  ASSERT_TRUE(initiator.finished()) << initiator.failure();
  ASSERT_TRUE(responder.finished()) << responder.failure();
  EXPECT_GT(initiator.stats().reconcileBytesOut, 64u * 4);
  EXPECT_EQ(idsOf(*a.archive), all);
  EXPECT_EQ(idsOf(*b.archive), all);
}

TEST(Session, AChainOfThreeNodesConvergesThroughTheMiddleOne) {
  TempArchive a, b, c;
  a.putAll(clippings(1, 0, 40));
  b.putAll(clippings(2, 0, 40));
  c.putAll(clippings(3, 0, 40));
  syncBoth(*a.archive, *b.archive);  // A and B never meet C directly
  syncBoth(*b.archive, *c.archive);
  syncBoth(*a.archive, *b.archive);
  EXPECT_EQ(a.count(), 120u);
  EXPECT_EQ(idsOf(*a.archive), idsOf(*c.archive));
  EXPECT_EQ(idsOf(*b.archive), idsOf(*c.archive));
}

TEST(Session, EqualArchivesMoveNoObjectsAndTakeOneRoundTrip) {
  TempArchive a, b;
  const auto objects = clippings(1, 0, 500);
  a.putAll(objects);
  b.putAll(objects);
  Session initiator(*a.archive, Session::Role::Initiator);
  Session responder(*b.archive, Session::Role::Responder);
  run(initiator, responder);
  ASSERT_TRUE(initiator.finished()) << initiator.failure();
  ASSERT_TRUE(responder.finished()) << responder.failure();
  EXPECT_EQ(initiator.stats().roundTrips(), 1u);
  EXPECT_EQ(initiator.stats().objectsOut + initiator.stats().objectsIn, 0u);
  EXPECT_EQ(responder.stats().objectsOut + responder.stats().objectsIn, 0u);
  EXPECT_TRUE(initiator.inStep());
  EXPECT_LT(initiator.stats().bytesOut + initiator.stats().bytesIn, 1024u);
}

TEST(Session, AFreshNodeReceivesEverythingInBoundedBatches) {
  TempArchive a, b;
  b.putAll(clippings(1, 0, 2000));
  SessionOptions options;
  options.batchObjects = 100;
  Session initiator(*a.archive, Session::Role::Initiator, options);
  Session responder(*b.archive, Session::Role::Responder, options);
  run(initiator, responder);
  ASSERT_TRUE(initiator.finished()) << initiator.failure();
  EXPECT_EQ(a.count(), 2000u);
  EXPECT_EQ(initiator.stats().batchesIn, 20u);
  EXPECT_EQ(initiator.stats().duplicatesIn, 0u);
  EXPECT_EQ(responder.stats().objectsOut, 2000u);
}

TEST(Session, CommittingInTheBackgroundAcknowledgesEachBatchOnlyOnceItIsStored) {
  TempArchive a, b;
  a.putAll(clippings(1, 0, 700));
  b.putAll(clippings(2, 0, 900));
  const std::set<protocol::ObjectId> all = unionOf(*a.archive, *b.archive);
  SessionOptions options;
  options.batchObjects = 50;
  options.commitInBackground = true;
  Session initiator(*a.archive, Session::Role::Initiator, options);
  Session responder(*b.archive, Session::Role::Responder, options);

  struct Side {
    Session& session;
    store::Archive& archive;
    std::deque<Bytes> inbox;
    std::map<std::uint32_t, std::vector<protocol::ObjectId>> received;  // batch -> its ids
    std::uint32_t acksChecked = 0;
    sync::BatchUnpacker unpacker{};  // the test's own reading of the peer's batch stream
  };
  Side sides[] = {{initiator, *a.archive, {}, {}, 0}, {responder, *b.archive, {}, {}, 0}};
  // What a side sends goes to the other; each Ack is checked against the sender's archive at
  // the moment it leaves.
  auto post = [&](int from, std::vector<Bytes> messages) {
    for (auto& message : messages) {
      const auto decoded = sync::decode(message);
      ASSERT_TRUE(decoded.ok());
      if (const auto* ack = std::get_if<sync::Ack>(&*decoded)) {
        const auto txn = sides[from].archive.beginRead();
        for (const auto& id : sides[from].received.at(ack->batch)) ASSERT_TRUE(txn.get(id));
        ++sides[from].acksChecked;
      }
      sides[1 - from].inbox.push_back(std::move(message));
    }
  };
  post(0, initiator.start());
  while (!(initiator.over() && responder.over())) {
    bool moved = false;
    for (int i = 0; i < 2; ++i) {
      Side& side = sides[i];
      if (side.inbox.empty()) continue;
      const auto decoded = sync::decode(side.inbox.front());
      ASSERT_TRUE(decoded.ok());
      if (const auto* batch = std::get_if<sync::Batch>(&*decoded)) {
        std::vector<std::uint8_t> storage;
        auto objects = side.unpacker.unpack(*batch, {}, storage);
        ASSERT_TRUE(objects.ok()) << objects.error().detail;
        for (const auto& bytes : *objects)
          side.received[batch->number].push_back(protocol::verify(bytes).value().id());
      }
      post(i, side.session.receive(side.inbox.front()));
      side.inbox.pop_front();
      post(i, side.session.settle(false));
      moved = true;
    }
    if (moved) continue;
    // Nothing in flight: whoever commits is waited for.
    ASSERT_TRUE(initiator.committing() || responder.committing()) << "the session stalled";
    for (int i = 0; i < 2; ++i) post(i, sides[i].session.settle(true));
  }
  ASSERT_TRUE(initiator.finished()) << initiator.failure();
  ASSERT_TRUE(responder.finished()) << responder.failure();
  EXPECT_TRUE(initiator.inStep());
  EXPECT_TRUE(responder.inStep());
  EXPECT_EQ(idsOf(*a.archive), all);
  EXPECT_EQ(idsOf(*b.archive), all);
  // Every batch acknowledged, and each ack checked: 900 and 700 objects in batches of 50.
  EXPECT_EQ(sides[0].acksChecked, initiator.stats().batchesIn);
  EXPECT_EQ(sides[1].acksChecked, responder.stats().batchesIn);
  EXPECT_GE(initiator.stats().batchesIn, 18u);
  EXPECT_GE(responder.stats().batchesIn, 14u);
  EXPECT_EQ(initiator.stats().objectsIn, 900u);
  EXPECT_EQ(responder.stats().objectsIn, 700u);
}

TEST(Session, SmallBatchesTravelAsOneStreamAndANodeThatOffersNoneStillGetsThemWhole) {
  TempArchive source;
  source.putAll(clippings(1, 0, 60));
  // Sizes of what a fresh node receives in batches of one object (a slow link's batches):
  // both offering the stream, and the receiver offering none (as a node before it).
  auto received = [&](bool receiverStreams) {
    TempArchive fresh;
    SessionOptions sender, receiver;
    sender.batchObjects = receiver.batchObjects = 1;
    receiver.streamBatches = receiverStreams;
    Session initiator(*fresh.archive, Session::Role::Initiator, receiver);
    Session responder(*source.archive, Session::Role::Responder, sender);
    run(initiator, responder);
    EXPECT_TRUE(initiator.finished()) << initiator.failure();
    EXPECT_TRUE(responder.finished()) << responder.failure();
    EXPECT_EQ(fresh.count(), 60u);
    return initiator.stats().bytesIn;
  };
  const std::uint64_t streamed = received(true);
  const std::uint64_t framed = received(false);
  EXPECT_LT(streamed, framed * 9 / 10) << streamed << " vs " << framed;
}

TEST(Session, TheCountToReceiveIsKnownOnceReconciliationIsOver) {
  TempArchive a, b;
  a.putAll(clippings(1, 0, 300));
  b.putAll(clippings(2, 0, 200));
  const auto shared = clippings(3, 0, 50);
  a.putAll(shared);
  b.putAll(shared);
  Session initiator(*a.archive, Session::Role::Initiator);
  Session responder(*b.archive, Session::Role::Responder);
  EXPECT_FALSE(initiator.expectedIn());
  run(initiator, responder);
  ASSERT_TRUE(initiator.finished()) << initiator.failure();
  EXPECT_EQ(initiator.expectedIn(), std::optional<std::uint64_t>(200));
  EXPECT_EQ(responder.expectedIn(), std::optional<std::uint64_t>(300));
}

TEST(Session, AFreshNodeKnowsHowManyObjectsAreComingBeforeTheyAllArrive) {
  TempArchive a, b;
  b.putAll(clippings(1, 0, 1000));
  SessionOptions options;
  options.batchObjects = 100;
  Session initiator(*a.archive, Session::Role::Initiator, options);
  Session responder(*b.archive, Session::Role::Responder, options);
  std::deque<Bytes> toResponder, toInitiator;
  for (auto& m : initiator.start()) toResponder.push_back(std::move(m));
  std::optional<std::uint64_t> firstKnownAt;  // objects received when the count was known
  while (!toResponder.empty() || !toInitiator.empty()) {
    auto& queue = toResponder.empty() ? toInitiator : toResponder;
    Session& to = toResponder.empty() ? initiator : responder;
    auto replies = to.receive(queue.front());
    queue.pop_front();
    for (auto& m : replies) (&to == &initiator ? toResponder : toInitiator).push_back(m);
    if (!firstKnownAt && initiator.expectedIn()) {
      EXPECT_EQ(*initiator.expectedIn(), 1000u);
      firstKnownAt = initiator.stats().objectsIn;
    }
  }
  ASSERT_TRUE(initiator.finished()) << initiator.failure();
  ASSERT_TRUE(firstKnownAt);
  EXPECT_LT(*firstKnownAt, 1000u);
}

TEST(Session, ACutSessionLosesNothingAndTheNextOneCompletes) {
  TempArchive a, b;
  a.putAll(clippings(1, 0, 700));
  b.putAll(clippings(2, 0, 900));
  SessionOptions options;
  options.batchObjects = 50;
  for (std::size_t cut : {1u, 3u, 6u, 11u, 17u}) {
    Session initiator(*a.archive, Session::Role::Initiator, options);
    Session responder(*b.archive, Session::Role::Responder, options);
    run(initiator, responder, cut);
    EXPECT_FALSE(initiator.finished() && responder.finished()) << "cut " << cut;
  }
  syncBoth(*a.archive, *b.archive, options);
  EXPECT_EQ(a.count(), 1600u);
  EXPECT_EQ(b.count(), 1600u);
  for (auto* archive : {a.archive.get(), b.archive.get()}) {
    const auto txn = archive->beginRead();
    std::uint64_t bad = 0;
    txn.forEach([&](const protocol::ObjectId& id, std::span<const std::uint8_t> bytes) {
      const auto verified = protocol::verify(bytes);
      if (!verified || verified->id() != id) ++bad;
      return true;
    });
    EXPECT_EQ(bad, 0u);
  }
}

// --- Future-dated objects (docs/decisions/0005-future-dated-objects.md) --------------------

std::int64_t systemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::int64_t YEAR = 365 * 24 * 3600;

std::uint64_t invalidObjects(const store::Archive& archive) {
  std::uint64_t bad = 0;
  archive.beginRead().forEach([&](const protocol::ObjectId& id, std::span<const std::uint8_t> b) {
    const auto verified = protocol::verify(b);
    if (!verified || verified->id() != id) ++bad;
    return true;
  });
  return bad;
}

TEST(Session, FutureDatedAndAncientObjectsAreStoredSyncedAndVerifiedLikeAnyOther) {
  const std::int64_t now = systemNow();
  TempArchive a, b;
  a.putAll(clippings(1, 0, 300));
  a.putAll(clippings(3, 0, 20, now + 5 * YEAR));  // a signer whose clock is five years fast
  a.putAll(clippings(5, 0, 2, -1));               // and one whose clock says 1969
  b.putAll(clippings(2, 0, 200));
  b.putAll(clippings(4, 0, 10, now + 2 * 24 * 3600));  // two days ahead: future-dated
  b.putAll(clippings(6, 0, 2, 0));
  const std::set<protocol::ObjectId> all = unionOf(*a.archive, *b.archive);

  syncBoth(*a.archive, *b.archive);
  EXPECT_EQ(idsOf(*a.archive), all);
  EXPECT_EQ(idsOf(*b.archive), all);
  EXPECT_EQ(all.size(), 534u);
  EXPECT_EQ(invalidObjects(*a.archive), 0u);
  EXPECT_EQ(invalidObjects(*b.archive), 0u);

  // In step, with 30 future-dated objects on both sides: the next in-step session opens with a
  // few dozen bytes and finds the peer's new object in one round trip.
  b.putAll(clippings(2, 200, 201, now - 3600));
  SessionOptions options;
  options.opening = protocol::Reconciler::Opening::InStep;
  Session initiator(*a.archive, Session::Role::Initiator, options);
  Session responder(*b.archive, Session::Role::Responder);
  const auto outcome = run(initiator, responder);
  ASSERT_TRUE(outcome.initiatorFinished) << initiator.failure();
  EXPECT_TRUE(initiator.inStep());
  EXPECT_EQ(initiator.stats().objectsIn, 1u);
  EXPECT_EQ(initiator.stats().roundTrips(), 1u);
  EXPECT_LT(initiator.stats().reconcileBytesOut, 100u);
}

TEST(Session, NodesWhoseClocksDisagreeStillEndWithTheUnion) {
  const std::int64_t now = systemNow();
  for (const std::int64_t skew : {-2 * YEAR, std::int64_t{-3600}, 10 * YEAR}) {
    SCOPED_TRACE("initiator's clock off by " + std::to_string(skew) + " s");
    TempArchive a, b;
    a.putAll(clippings(1, 0, 150));
    a.putAll(clippings(3, 0, 15, now + YEAR));
    b.putAll(clippings(2, 0, 120));
    b.putAll(clippings(4, 0, 5, now + 3 * 24 * 3600));
    const std::set<protocol::ObjectId> all = unionOf(*a.archive, *b.archive);
    SessionOptions skewed;
    skewed.tuning.horizon = protocol::horizonFor(now + skew);
    Session initiator(*a.archive, Session::Role::Initiator, skewed);
    Session responder(*b.archive, Session::Role::Responder);
    const auto outcome = run(initiator, responder);
    ASSERT_TRUE(outcome.initiatorFinished) << initiator.failure();
    ASSERT_TRUE(outcome.responderFinished) << responder.failure();
    EXPECT_TRUE(initiator.inStep());
    EXPECT_EQ(idsOf(*a.archive), all);
    EXPECT_EQ(idsOf(*b.archive), all);
  }
}

// --- Hostile input --------------------------------------------------------------------------

/// A responder fed `messages` after a proper Hello; returns it for inspection.
struct HostileCase {
  TempArchive archive;
  Session responder;
  std::vector<Bytes> replies;

  explicit HostileCase(SessionOptions options = {})
      : responder(*archive.archive, Session::Role::Responder, std::move(options)) {
    archive.putAll(clippings(1, 0, 10));
  }
  void hello() {
    sync::Hello hello;
    hello.salt.fill(3);
    replies = responder.receive(sync::encode(hello));
  }
  void feed(const Bytes& message) {
    auto out = responder.receive(message);
    replies.insert(replies.end(), out.begin(), out.end());
  }
  /// The session ended with a Failure message to the peer naming `reason`, nothing stored.
  void expectRefused(const std::string& reason) {
    EXPECT_TRUE(responder.failed());
    EXPECT_NE(responder.failure().find(reason), std::string::npos) << responder.failure();
    ASSERT_FALSE(replies.empty());
    const auto last = sync::decode(replies.back());
    ASSERT_TRUE(last.ok());
    ASSERT_TRUE(std::holds_alternative<sync::Failure>(*last));
    EXPECT_EQ(archive.count(), 10u);
  }
};

Bytes batchOf(const std::vector<Bytes>& objects, std::uint32_t number = 1) {
  std::vector<std::span<const std::uint8_t>> spans(objects.begin(), objects.end());
  return sync::encode(sync::packBatch(number, spans));
}

Bytes validObject(int i) {
  const auto object = clippings(9, i, i + 1)[0];
  return {object.bytes().begin(), object.bytes().end()};
}

/// A hostile peer has to reach the point where batches are accepted: after round 1.
void openToBatches(HostileCase& c) {
  c.hello();
  c.feed(sync::encode(sync::Reconcile{1, true, {}}));  // a round with no ranges: nothing to ask
  ASSERT_FALSE(c.responder.failed()) << c.responder.failure();
}

TEST(SessionHostile, GarbageIsRefused) {
  HostileCase c;
  c.feed(Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  c.expectRefused("undecodable message");
}

TEST(SessionHostile, AnythingBeforeHelloIsRefused) {
  HostileCase c;
  c.feed(batchOf({validObject(1)}));
  c.expectRefused("expected hello");
}

TEST(SessionHostile, AnotherProtocolVersionIsRefused) {
  HostileCase c;
  sync::Hello hello;
  hello.version = 99;
  c.feed(sync::encode(hello));
  c.expectRefused("protocol version 99");
}

TEST(SessionHostile, ARoundOutOfTurnIsRefused) {
  HostileCase c;
  c.hello();
  c.feed(sync::encode(sync::Reconcile{5, true, {}}));
  c.expectRefused("out of turn");
}

TEST(SessionHostile, AMalformedFrameIsRefused) {
  HostileCase c;
  c.hello();
  c.feed(sync::encode(sync::Reconcile{1, true, {0xff, 0xff, 0xff}}));
  c.expectRefused("bad reconciliation frame");
}

TEST(SessionHostile, AFrameGoingBackOverItsRoundIsRefused) {
  // Each frame alone asks for everything ("I have nothing here"); sent again and again in one
  // open round, it would grow the reply with every message instead of with the archive.
  HostileCase c;
  c.hello();
  protocol::Frame all{protocol::Bound::lowest(), {}};
  protocol::RangeEntry nothing;
  nothing.upper = protocol::Bound::end();
  nothing.mode = protocol::RangeMode::IdList;
  all.ranges.push_back(nothing);
  c.feed(sync::encode(sync::Reconcile{1, false, protocol::encodeFrame(all)}));
  ASSERT_FALSE(c.responder.failed()) << c.responder.failure();
  c.feed(sync::encode(sync::Reconcile{1, false, protocol::encodeFrame(all)}));
  c.expectRefused("goes back over an earlier frame");
}

// A peer that ends its sessions before its round reaches the bound, again and again, would
// never be refused and would keep the server decoding frames: the server hands what a session's
// open round held (unfinishedRound) to the peer's next session, where it counts towards the
// first round's bound. A round that ends carries nothing.
TEST(SessionHostile, ARoundLeftUnfinishedByReconnectingCountsTowardsTheNextOnesBound) {
  SessionOptions options;
  options.roundRanges = 100;
  HostileCase first(options);
  first.hello();
  first.feed(fieldsync::testing::endlessRoundFrame(0, 60));
  ASSERT_FALSE(first.responder.failed()) << first.responder.failure();
  EXPECT_EQ(first.responder.unfinishedRound().first, 60u);

  options.carriedRoundRanges = first.responder.unfinishedRound().first;
  options.carriedRoundIds = first.responder.unfinishedRound().second;
  HostileCase second(options);
  second.hello();
  second.feed(fieldsync::testing::endlessRoundFrame(1, 60));
  second.expectRefused("counting the round the peer left unfinished in its previous session");
  // A session that ends before the peer begins a round passes what it was given on.
  HostileCase idle(options);
  idle.hello();
  EXPECT_EQ(idle.responder.unfinishedRound().first, 60u);

  // The same frame without the carry is within the bound; once its round ends, nothing is open.
  options.carriedRoundRanges = options.carriedRoundIds = 0;
  HostileCase fresh(options);
  fresh.hello();
  fresh.feed(fieldsync::testing::endlessRoundFrame(1, 60));
  ASSERT_FALSE(fresh.responder.failed()) << fresh.responder.failure();
  fresh.feed(sync::encode(sync::Reconcile{1, true, {}}));
  EXPECT_EQ(fresh.responder.unfinishedRound(), (std::pair<std::size_t, std::size_t>{}));
}

TEST(SessionHostile, ABatchWithABadSignatureStoresNothingOfIt) {
  HostileCase c;
  openToBatches(c);
  Bytes forged = validObject(2);
  forged[forged.size() - 9] ^= 0x01;  // inside the signature, the last field
  c.feed(batchOf({validObject(1), forged}));
  c.expectRefused("object 2");
}

TEST(SessionHostile, ABatchWithAWrongOrNonCanonicalObjectStoresNothingOfIt) {
  HostileCase c;
  openToBatches(c);
  Bytes padded = validObject(2);
  padded.insert(padded.end(), 8, 0);  // a valid message with trailing words: not canonical
  c.feed(batchOf({validObject(1), padded}));
  c.expectRefused("object 2");
}

TEST(SessionHostile, ATruncatedObjectIsRefused) {
  HostileCase c;
  openToBatches(c);
  Bytes cut = validObject(1);
  cut.resize(cut.size() - 16);
  c.feed(batchOf({cut}));
  c.expectRefused("object 1");
}

TEST(SessionHostile, AnOversizedBatchIsRefused) {
  HostileCase c;
  openToBatches(c);
  sync::Batch batch;
  batch.number = 1;
  batch.objects = 1;
  batch.rawBytes = 64u << 20;
  batch.compression = sync::Compression::Zstd;
  batch.content = {1, 2, 3};
  c.feed(sync::encode(batch));
  c.expectRefused("over the limit");
}

TEST(SessionHostile, ABatchThatLiesAboutItsCountIsRefused) {
  HostileCase c;
  openToBatches(c);
  auto batch = std::get<sync::Batch>(*sync::decode(batchOf({validObject(1), validObject(2)})));
  batch.objects = 1;
  c.feed(sync::encode(batch));
  c.expectRefused("more objects than it says");
}

TEST(SessionHostile, BatchesOutOfOrderAndUnknownAcksAreRefused) {
  {
    HostileCase c;
    openToBatches(c);
    c.feed(batchOf({validObject(1)}, 2));
    c.expectRefused("out of order");
  }
  {
    HostileCase c;
    openToBatches(c);
    c.feed(sync::encode(sync::Ack{7, {}}));
    c.expectRefused("ack for batch 7");
  }
}

TEST(SessionHostile, ValidObjectsFromAnUntrustedSignerAreStored) {
  HostileCase c;
  openToBatches(c);
  c.feed(batchOf({validObject(1), validObject(2)}));
  EXPECT_FALSE(c.responder.failed()) << c.responder.failure();
  EXPECT_EQ(c.archive.count(), 12u);
}

}  // namespace
}  // namespace fieldsync::node

namespace fieldsync::node {
namespace {

TEST(SessionLimits, ACapOnOneSideHoldsForBothAndSizesTheBatches) {
  TempArchive a, b;
  a.putAll(clippings(1, 0, 300));
  b.putAll(clippings(2, 0, 300));
  SessionOptions capped;
  capped.rate = 1'000;  // only the responder has a cap for this link (small batches)
  Session initiator(*a.archive, Session::Role::Initiator);
  Session responder(*b.archive, Session::Role::Responder, capped);
  EXPECT_EQ(initiator.linkRate(), 0u);  // before the peer's Hello: its own (none)

  std::deque<Bytes> toResponder, toInitiator;
  for (auto& m : initiator.start()) toResponder.push_back(std::move(m));
  std::size_t largest = 0;
  auto note = [&](const Bytes& m) {
    const auto message = sync::decode(m);
    if (message && std::holds_alternative<sync::Batch>(*message))
      largest = std::max(largest, m.size());
  };
  while (!toResponder.empty() || !toInitiator.empty()) {
    auto& queue = !toResponder.empty() ? toResponder : toInitiator;
    Session& to = !toResponder.empty() ? responder : initiator;
    auto& back = !toResponder.empty() ? toInitiator : toResponder;
    const Bytes message = std::move(queue.front());
    queue.pop_front();
    for (auto& reply : to.receive(message)) {
      note(reply);
      back.push_back(std::move(reply));
    }
  }
  ASSERT_TRUE(initiator.finished()) << initiator.failure();
  ASSERT_TRUE(responder.finished()) << responder.failure();
  EXPECT_EQ(initiator.linkRate(), 1'000u);  // told in the responder's Hello
  EXPECT_EQ(responder.linkRate(), 1'000u);
  // A quarter of a second of the link per batch (one object more at most), both ways.
  EXPECT_LE(largest, batchBytesFor(1'000, SessionOptions{}.batchBytes) + 1'024);
  EXPECT_GT(initiator.stats().batchesOut, 10u);
  EXPECT_GT(responder.stats().batchesOut, 10u);
  EXPECT_EQ(idsOf(*a.archive), idsOf(*b.archive));
}

TEST(SessionLimits, ABudgetStopsBatchesBeforeTheyWouldOverrunIt) {
  TempArchive a, b;
  a.putAll(clippings(1, 0, 400));
  SessionOptions budgeted;
  budgeted.budget = 20'000;  // the initiator's side allows 20 kB this session
  budgeted.rate = 8'000;     // small batches, as a budgeted link would have
  Session initiator(*a.archive, Session::Role::Initiator, budgeted);
  Session responder(*b.archive, Session::Role::Responder);
  const Outcome outcome = run(initiator, responder);
  ASSERT_TRUE(outcome.initiatorFinished) << initiator.failure();
  ASSERT_TRUE(outcome.responderFinished) << responder.failure();
  EXPECT_TRUE(initiator.stats().budgetSpent);
  EXPECT_FALSE(initiator.inStep());
  const auto moved = initiator.stats().bytesIn + initiator.stats().bytesOut;
  EXPECT_LE(moved, 20'000u);          // no batch was sent that would take it past the budget
  EXPECT_GT(moved, 20'000u - 2'048);  // the last batch held what still fitted
  EXPECT_GT(b.count(), 0u);
  EXPECT_LT(b.count(), 400u);

  // The next session (tomorrow's budget) carries on where this one stopped.
  Session again(*a.archive, Session::Role::Initiator);
  Session answer(*b.archive, Session::Role::Responder);
  run(again, answer);
  EXPECT_EQ(idsOf(*a.archive), idsOf(*b.archive));
}

}  // namespace
}  // namespace fieldsync::node
