// Range-based reconciliation as pure code: the frame format, and two in-memory sets that
// must find exactly their differences (tests/support/reconcile_driver.h runs the rounds).
#include "protocol/reconcile.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <set>

#include "support/reconcile_driver.h"

namespace fieldsync::protocol {
namespace {

using testing::reconcile;

std::uint64_t seedFromEnv() {
  const char* text = std::getenv("FIELDSYNC_SEED");
  const std::uint64_t seed = text ? std::strtoull(text, nullptr, 10) : std::random_device{}();
  std::printf("reconcile_test seed: %llu (set FIELDSYNC_SEED to repeat)\n",
              static_cast<unsigned long long>(seed));
  return seed;
}

SyncKey randomKey(std::mt19937_64& rng, std::int64_t signedAt) {
  SyncKey key{signedAt, {}};
  for (auto& byte : key.id.bytes) byte = static_cast<std::uint8_t>(rng());
  return key;
}

/// n keys in batches that share a signedAt, as imports sign them.
std::vector<SyncKey> archiveKeys(std::mt19937_64& rng, std::size_t n,
                                 std::int64_t start = 1'700'000'000) {
  std::vector<SyncKey> keys;
  std::int64_t at = start;
  while (keys.size() < n) {
    const std::size_t batch = 1 + rng() % 40;
    for (std::size_t i = 0; i < batch && keys.size() < n; ++i) keys.push_back(randomKey(rng, at));
    at += 1 + static_cast<std::int64_t>(rng() % 5000);
  }
  return keys;
}

Salt testSalt(std::uint8_t fill = 7) {
  Salt salt{};
  salt.fill(fill);
  return salt;
}

std::vector<SyncKey> sorted(std::vector<SyncKey> keys) {
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST(ReconcileFrame, EncodeThenDecodeGivesTheSameFrame) {
  std::mt19937_64 rng(1);
  Frame frame{Bound{SyncKey{-5, {}}, false}, {}};
  std::int64_t at = -5;
  for (int i = 0; i < 200; ++i) {
    at += static_cast<std::int64_t>(rng() % 3);
    RangeEntry entry;
    entry.upper = Bound{randomKey(rng, at), false};
    // Bounds carry an id prefix: clear a random tail, as separators do.
    std::fill(entry.upper.key.id.bytes.begin() + static_cast<long>(rng() % 33),
              entry.upper.key.id.bytes.end(), 0);
    if (!(frame.ranges.empty() ? frame.lower < entry.upper
                               : frame.ranges.back().upper < entry.upper)) {
      continue;
    }
    entry.mode = static_cast<RangeMode>(rng() % 5);
    if (entry.mode == RangeMode::Sketch) {
      entry.count = rng() % 300;
      entry.sketch[1] = 3;
    }
    if (entry.mode == RangeMode::Fingerprint) entry.fingerprint[2] = 9;
    if (entry.mode == RangeMode::IdList || entry.mode == RangeMode::Need) {
      entry.ids.resize(rng() % 4);
      for (auto& id : entry.ids) id[0] = static_cast<std::uint8_t>(rng());
    }
    frame.ranges.push_back(entry);
  }
  frame.ranges.push_back(RangeEntry{Bound::end(), RangeMode::Fingerprint, {1, 2, 3, 4, 5, 6}, {}});
  const auto bytes = encodeFrame(frame);
  const auto decoded = decodeFrame(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().detail;
  EXPECT_EQ(*decoded, frame);
}

TEST(ReconcileFrame, ExtremeTimesRoundTrip) {
  for (std::int64_t first : {INT64_MIN, std::int64_t{-1}, std::int64_t{0}, INT64_MAX - 1}) {
    Frame frame{Bound{SyncKey{first, {}}, false},
                {RangeEntry{Bound{SyncKey{INT64_MAX, {}}, false}, RangeMode::Skip, {}, {}},
                 RangeEntry{Bound::end(), RangeMode::IdList, {}, {}}}};
    const auto decoded = decodeFrame(encodeFrame(frame));
    ASSERT_TRUE(decoded.ok()) << decoded.error().detail;
    EXPECT_EQ(*decoded, frame);
  }
}

TEST(ReconcileFrame, LargeRoundsAreCutIntoFramesUnderTheBound) {
  std::mt19937_64 rng(2);
  const VectorRangeIndex index(archiveKeys(rng, 100'000));
  Tuning tuning;
  tuning.leafItems = 4;
  tuning.plannedRounds = 1;  // one round of 25,000 ranges
  tuning.maxFanout = 1u << 20;
  const auto frames = Reconciler(testSalt(), tuning).initiate(index);
  const auto encoded = encodeFrames(frames, 4096);
  EXPECT_GT(encoded.size(), 10u);
  std::size_t ranges = 0;
  for (const auto& bytes : encoded) {
    EXPECT_LE(bytes.size(), 4096u);
    auto frame = decodeFrame(bytes);
    ASSERT_TRUE(frame.ok());
    ranges += frame->ranges.size();
  }
  EXPECT_EQ(ranges, frames[0].ranges.size());
}

TEST(ReconcileFrame, TruncatedFrameIsRefusedOrAPrefixOfTheRanges) {
  std::mt19937_64 rng(3);
  const VectorRangeIndex index(archiveKeys(rng, 5000));
  const auto frames = Reconciler(testSalt()).initiate(index);
  const auto bytes = encodeFrame(frames[0]);
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    const auto decoded = decodeFrame(std::span(bytes.data(), length));
    if (!decoded) continue;
    ASSERT_LE(decoded->ranges.size(), frames[0].ranges.size());
    for (std::size_t i = 0; i < decoded->ranges.size(); ++i) {
      // The last decoded range may have lost ids it never had room for; none may be invented.
      if (i + 1 < decoded->ranges.size()) {
        EXPECT_EQ(decoded->ranges[i], frames[0].ranges[i]);
      }
    }
  }
  EXPECT_FALSE(decodeFrame(std::span(bytes.data(), std::size_t{0})).ok());
}

TEST(ReconcileFrame, MalformedFramesAreRefusedWithAReason) {
  const Frame good{Bound::lowest(), {RangeEntry{Bound::end(), RangeMode::Skip, {}, {}}}};
  auto bytes = encodeFrame(good);
  ASSERT_TRUE(decodeFrame(bytes).ok());

  auto unknownMode = bytes;
  unknownMode.back() = static_cast<std::uint8_t>(5 * 34);
  EXPECT_EQ(decodeFrame(unknownMode).error().detail, "unknown range mode");

  auto afterEnd = bytes;
  afterEnd.push_back(33);  // another range after the infinite bound
  EXPECT_EQ(decodeFrame(afterEnd).error().detail, "a range after the end of the key space");

  const Frame backwards{Bound{SyncKey{10, {}}, false},
                        {RangeEntry{Bound{SyncKey{10, {}}, false}, RangeMode::Skip, {}, {}}}};
  EXPECT_EQ(decodeFrame(encodeFrame(backwards)).error().detail, "range bounds not increasing");

  Frame manyIds{Bound::lowest(), {RangeEntry{Bound::end(), RangeMode::IdList, {}, {}}}};
  manyIds.ranges[0].ids.resize(100);
  FrameLimits limits;
  limits.maxIds = 99;
  EXPECT_FALSE(decodeFrame(encodeFrame(manyIds), limits).ok());
  limits.maxFrameBytes = 10;
  EXPECT_FALSE(decodeFrame(encodeFrame(manyIds), limits).ok());

  // A count of ids that the bytes cannot hold.
  std::vector<std::uint8_t> lying = encodeFrame(Frame{Bound::lowest(), {}});
  lying.push_back(static_cast<std::uint8_t>(2 * 34 + 33));
  lying.push_back(0x7f);
  EXPECT_FALSE(decodeFrame(lying).ok());
}

TEST(Reconcile, EqualSetsTakeOneRoundTripUnderOneKibibyte) {
  std::mt19937_64 rng(4);
  const VectorRangeIndex a(archiveKeys(rng, 100'000));
  const VectorRangeIndex b = a;
  const auto stats = reconcile(a, b, testSalt());
  EXPECT_EQ(stats.roundTrips(), 1u);
  EXPECT_LT(stats.bytes, 1024u);
  EXPECT_TRUE(stats.toInitiator.empty());
  EXPECT_TRUE(stats.toResponder.empty());
}

TEST(Reconcile, AnInStepOpeningCostsAFewDozenBytesAndStillFindsEveryDifference) {
  std::mt19937_64 rng(seedFromEnv());
  auto keys = archiveKeys(rng, 100'200);
  std::sort(keys.begin(), keys.end());
  const std::vector<SyncKey> shared(keys.begin(), keys.end() - 200);
  const VectorRangeIndex a(shared);
  const auto inStep = Reconciler::Opening::InStep;
  const auto equal = reconcile(a, a, testSalt(), {}, 64, inStep);
  EXPECT_EQ(equal.roundTrips(), 1u);
  EXPECT_LT(equal.bytes, 100u);

  // The peer's newer objects are found at once; scattered ones with more round trips.
  VectorRangeIndex newer(shared);
  for (auto it = keys.end() - 200; it != keys.end(); ++it) newer.insert(*it);
  const auto ahead = reconcile(a, newer, testSalt(), {}, 64, inStep);
  EXPECT_EQ(ahead.roundTrips(), 1u);
  EXPECT_EQ(ahead.toInitiator, std::vector<SyncKey>(keys.end() - 200, keys.end()));

  auto shuffled = shared;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  VectorRangeIndex fewer;
  for (std::size_t i = 50; i < shuffled.size(); ++i) fewer.insert(shuffled[i]);
  const auto scattered = reconcile(fewer, a, testSalt(), {}, 64, inStep);
  EXPECT_EQ(scattered.toInitiator, sorted({shuffled.begin(), shuffled.begin() + 50}));
  EXPECT_LE(scattered.roundTrips(), 4u);
}

TEST(Reconcile, EmptyInitiatorReceivesEverythingInOneRoundTrip) {
  std::mt19937_64 rng(5);
  const auto keys = archiveKeys(rng, 3000);
  const auto stats = reconcile(VectorRangeIndex{}, VectorRangeIndex(keys), testSalt());
  EXPECT_EQ(stats.roundTrips(), 1u);
  EXPECT_EQ(stats.toInitiator, sorted(keys));
  EXPECT_TRUE(stats.toResponder.empty());
}

TEST(Reconcile, EmptyResponderReceivesEverything) {
  std::mt19937_64 rng(6);
  const auto keys = archiveKeys(rng, 3000);
  const auto stats = reconcile(VectorRangeIndex(keys), VectorRangeIndex{}, testSalt());
  EXPECT_LE(stats.roundTrips(), 2u);
  EXPECT_EQ(stats.toResponder, sorted(keys));
  EXPECT_TRUE(stats.toInitiator.empty());
}

/// Shared keys plus keys only one side holds; checks each side is sent exactly what it lacks.
void expectExactDifference(const std::vector<SyncKey>& shared, const std::vector<SyncKey>& onlyA,
                           const std::vector<SyncKey>& onlyB, std::size_t maxRoundTrips,
                           const Salt& salt = testSalt()) {
  VectorRangeIndex a(shared), b(shared);
  for (const auto& key : onlyA) a.insert(key);
  for (const auto& key : onlyB) b.insert(key);
  const auto stats = reconcile(a, b, salt);
  EXPECT_EQ(stats.toResponder, sorted(onlyA));
  EXPECT_EQ(stats.toInitiator, sorted(onlyB));
  EXPECT_LE(stats.roundTrips(), maxRoundTrips);
}

TEST(Reconcile, NewestObjectsOnEitherSideAreFoundInTwoRoundTrips) {
  std::mt19937_64 rng(7);
  auto keys = archiveKeys(rng, 100'100);
  std::sort(keys.begin(), keys.end());
  const std::vector<SyncKey> shared(keys.begin(), keys.end() - 100);
  const std::vector<SyncKey> newest(keys.end() - 100, keys.end());
  expectExactDifference(shared, newest, {}, 2);
  expectExactDifference(shared, {}, newest, 2);
}

TEST(Reconcile, ScatteredDifferencesOnOneSideAreFoundInThreeRoundTrips) {
  std::mt19937_64 rng(seedFromEnv());
  auto keys = archiveKeys(rng, 101'000);
  std::shuffle(keys.begin(), keys.end(), rng);
  for (std::size_t d : {1u, 10u, 100u, 1000u}) {
    const std::vector<SyncKey> onlyB(keys.begin(), keys.begin() + static_cast<long>(d));
    const std::vector<SyncKey> shared(keys.begin() + static_cast<long>(d), keys.end());
    SCOPED_TRACE("d = " + std::to_string(d));
    expectExactDifference(shared, {}, onlyB, 3);
    expectExactDifference(shared, onlyB, {}, 3);
  }
}

// Objects missing on both sides: a sketch answered in the last round can point at no object
// (a Need the peer cannot serve); where that is likely, the parts are listed instead, so the
// difference is still found in three round trips.
TEST(Reconcile, ScatteredDifferencesOnBothSidesAreFoundInThreeRoundTrips) {
  std::mt19937_64 rng(seedFromEnv());
  auto keys = archiveKeys(rng, 100'000);
  std::shuffle(keys.begin(), keys.end(), rng);
  for (std::size_t d : {1u, 10u, 100u, 1000u}) {
    const std::vector<SyncKey> onlyA(keys.begin(), keys.begin() + static_cast<long>(d / 2));
    const std::vector<SyncKey> onlyB(keys.begin() + static_cast<long>(d / 2),
                                     keys.begin() + static_cast<long>(d));
    const std::vector<SyncKey> shared(keys.begin() + static_cast<long>(d), keys.end());
    SCOPED_TRACE("d = " + std::to_string(d));
    expectExactDifference(shared, onlyA, onlyB, 3);
  }
}

// The minimum is the differing ids, 32 bytes each. A differing range is answered with
// sketches of parts expected to hold about one difference each, so scattered differences
// cost a few times the minimum (docs/benchmarks.md: about 2.4x one way, 6.5x both ways,
// at 100,000 objects; both ways costs more because late parts are listed, for 3 trips).
TEST(Reconcile, ScatteredDifferencesCostAFewTimesTheMinimum) {
  std::mt19937_64 rng(11);  // fixed: a rare shape can cost more (the lists, above)
  auto keys = archiveKeys(rng, 100'000);
  const VectorRangeIndex all(keys);
  std::shuffle(keys.begin(), keys.end(), rng);
  for (const std::size_t d : {1u, 100u}) {
    SCOPED_TRACE("d = " + std::to_string(d));
    const std::vector<SyncKey> rest(keys.begin() + static_cast<long>(d), keys.end());
    const VectorRangeIndex lacking(rest);
    auto with = [&](std::size_t first, std::size_t last) {
      std::vector<SyncKey> held = rest;
      held.insert(held.end(), keys.begin() + static_cast<long>(first),
                  keys.begin() + static_cast<long>(last));
      return VectorRangeIndex(std::move(held));
    };
    const VectorRangeIndex lackingBoth = with(d / 2, d), lackingOther = with(0, d / 2);
    const double minimum = 32.0 * static_cast<double>(std::max<std::size_t>(d, 10));
    const auto oneSide = reconcile(lacking, all, testSalt());
    EXPECT_EQ(oneSide.toInitiator.size(), d);
    EXPECT_LT(static_cast<double>(oneSide.bytes), 4 * minimum + 600);  // 600: round 1
    const auto bothSides = reconcile(lackingBoth, lackingOther, testSalt());
    EXPECT_EQ(bothSides.toInitiator.size() + bothSides.toResponder.size(), d);
    EXPECT_LT(static_cast<double>(bothSides.bytes), 10 * minimum + 600);
  }
}

TEST(Reconcile, RandomSetsConvergeWhateverTheirShape) {
  std::mt19937_64 rng(seedFromEnv());
  for (int trial = 0; trial < 30; ++trial) {
    const auto keys = archiveKeys(rng, 1 + rng() % 20'000);
    std::vector<SyncKey> shared, onlyA, onlyB;
    const unsigned pa = static_cast<unsigned>(rng() % 100), pb = static_cast<unsigned>(rng() % 100);
    for (const auto& key : keys) {
      const unsigned roll = static_cast<unsigned>(rng() % 100);
      (roll < pa / 4 ? onlyA : roll < (pa + pb) / 4 ? onlyB : shared).push_back(key);
    }
    Salt salt{};
    for (auto& byte : salt) byte = static_cast<std::uint8_t>(rng());
    SCOPED_TRACE("trial " + std::to_string(trial));
    expectExactDifference(shared, onlyA, onlyB, 16, salt);
  }
}

// Future-dated objects (docs/decisions/0005-future-dated-objects.md): keys beyond a side's
// horizon are a tail of their own. Whatever the clocks say, the exact difference is found.

constexpr std::int64_t YEAR = 365 * 24 * 3600;

/// Reconciles shared + onlyA (initiator) with shared + onlyB (responder), each side with its
/// own tuning; expects each side to be sent exactly what it lacks.
testing::ReconcileStats expectExactDifferenceWith(const std::vector<SyncKey>& shared,
                                                  const std::vector<SyncKey>& onlyA,
                                                  const std::vector<SyncKey>& onlyB,
                                                  const Tuning& a, const Tuning& b,
                                                  Reconciler::Opening opening,
                                                  const Salt& salt = testSalt()) {
  VectorRangeIndex initiator(shared), responder(shared);
  for (const auto& key : onlyA) initiator.insert(key);
  for (const auto& key : onlyB) responder.insert(key);
  const auto stats = reconcile(initiator, responder, salt, a, 64, opening, &b);
  EXPECT_EQ(stats.toResponder, sorted(onlyA));
  EXPECT_EQ(stats.toInitiator, sorted(onlyB));
  return stats;
}

Tuning withClock(std::optional<std::int64_t> now) {
  Tuning tuning;
  if (now) tuning.horizon = horizonFor(*now);
  return tuning;
}

// How a side splits is its own choice (docs/protocol.md): sides that split differently, as
// a node of an older release does, still find exactly the difference.
TEST(Reconcile, SidesThatSplitDifferentlyFindTheExactDifference) {
  std::mt19937_64 rng(seedFromEnv());
  const auto keys = archiveKeys(rng, 20'000);
  std::vector<SyncKey> shared, onlyA, onlyB;
  for (const auto& key : keys) {
    const auto roll = rng() % 100;
    (roll == 0 ? onlyA : roll == 1 ? onlyB : shared).push_back(key);
  }
  Tuning coarse;
  coarse.sketchDifferences = 8;
  coarse.fingerprintDifferences = 8;
  coarse.maxFanout = 4;
  coarse.plannedRounds = 2;
  Tuning fine;
  fine.sketchDifferences = 0.1;
  fine.leafItems = 4;
  for (const auto& [a, b] : {std::pair{coarse, fine}, std::pair{fine, coarse}}) {
    const auto stats =
        expectExactDifferenceWith(shared, onlyA, onlyB, a, b, Reconciler::Opening::Full);
    EXPECT_LE(stats.roundTrips(), 16u);
  }
}

TEST(FutureDated, TheHorizonIsTheClockPlusADayAndSaturates) {
  EXPECT_EQ(horizonFor(1'700'000'000), 1'700'000'000 + FUTURE_TOLERANCE_SECONDS);
  EXPECT_EQ(FUTURE_TOLERANCE_SECONDS, 86'400);
  EXPECT_FALSE(futureDated(horizonFor(0), horizonFor(0)));
  EXPECT_TRUE(futureDated(horizonFor(0) + 1, horizonFor(0)));
  EXPECT_EQ(horizonFor(INT64_MAX - 10), INT64_MAX);
  EXPECT_FALSE(tailStart(INT64_MAX).has_value());
  EXPECT_EQ(tailStart(INT64_MIN), (SyncKey{INT64_MIN + 1, {}}));

  const VectorRangeIndex index({SyncKey{5, {}}, SyncKey{10, {}}, SyncKey{11, {}}});
  EXPECT_EQ(tailRank(index, 10), 2u);  // signedAt 10 is at the horizon, not beyond it
  EXPECT_EQ(tailRank(index, 4), 0u);
  EXPECT_EQ(tailRank(index, INT64_MAX), 3u);
}

// Every placement of K future-dated objects (on one side, the other, split, on both), with
// every difference of present objects, both openings, and clocks that agree, run slow, run
// fast, or belong to a peer without a horizon (before 0005).
TEST(FutureDated, TheExactDifferenceIsFoundInEveryShapeWhateverTheClocks) {
  std::mt19937_64 rng(seedFromEnv());
  auto present = archiveKeys(rng, 20'000);
  std::sort(present.begin(), present.end());
  const std::int64_t now = present.back().signedAt + 3600;
  const std::int64_t horizon = horizonFor(now);
  constexpr std::size_t K = 60;
  std::vector<SyncKey> future;
  for (std::size_t i = 0; i < K; ++i) {
    future.push_back(randomKey(rng, now + 5 * YEAR + static_cast<std::int64_t>(rng() % 100'000)));
  }
  // Right at the edges: at the horizon (present), one second beyond it, and the last second.
  future.push_back(randomKey(rng, horizon + 1));
  future.push_back(randomKey(rng, horizon + 1));
  future.push_back(randomKey(rng, INT64_MAX));
  present.push_back(randomKey(rng, horizon));
  std::shuffle(future.begin(), future.end(), rng);

  struct Clocks {
    const char* name;
    std::optional<std::int64_t> initiator, responder;
  };
  const Clocks clocks[] = {{"agree", now, now},
                           {"initiator two years slow", now - 2 * YEAR, now},
                           {"initiator ten years fast", now + 10 * YEAR, now},
                           {"responder a year slow", now, now - YEAR},
                           {"initiator without a horizon", std::nullopt, now},
                           {"responder without a horizon", now, std::nullopt}};
  std::size_t mostTrips = 0;
  for (const Clocks& clock : clocks) {
    for (const char* placement : {"initiator", "responder", "split", "both"}) {
      for (const char* difference : {"none", "newest", "scattered"}) {
        for (const auto opening : {Reconciler::Opening::Full, Reconciler::Opening::InStep}) {
          std::vector<SyncKey> shared, onlyA, onlyB;
          const std::string where = placement;
          for (std::size_t i = 0; i < future.size(); ++i) {
            auto& into = where == "initiator"   ? onlyA
                         : where == "responder" ? onlyB
                         : where == "split"     ? (i % 2 ? onlyA : onlyB)
                                                : shared;
            into.push_back(future[i]);
          }
          const std::string what = difference;
          for (std::size_t i = 0; i < present.size(); ++i) {
            const bool newest = what == "newest" && i + 50 >= present.size();
            const bool scattered = what == "scattered" && rng() % 500 == 0;
            if (newest) {
              onlyB.push_back(present[i]);
            } else if (scattered) {
              (rng() % 2 ? onlyA : onlyB).push_back(present[i]);
            } else {
              shared.push_back(present[i]);
            }
          }
          SCOPED_TRACE(std::string("clocks ") + clock.name + ", future-dated on " + placement +
                       ", present difference " + difference +
                       (opening == Reconciler::Opening::Full ? ", full" : ", in-step"));
          const auto stats =
              expectExactDifferenceWith(shared, onlyA, onlyB, withClock(clock.initiator),
                                        withClock(clock.responder), opening);
          mostTrips = std::max(mostTrips, stats.roundTrips());
        }
      }
    }
  }
  std::printf("most round trips: %zu\n", mostTrips);
  // 3 or 4 in 30 seeds tried (scattered differences on both sides cost 4 without future-dated
  // objects too: Reconcile.ScatteredDifferencesOnBothSidesAreFoundInFourRoundTrips).
  EXPECT_LE(mostTrips, 5u);
}

TEST(FutureDated, AnInStepOpeningStaysSmallWithFutureDatedObjectsPresent) {
  std::mt19937_64 rng(seedFromEnv());
  auto keys = archiveKeys(rng, 100'100);
  std::sort(keys.begin(), keys.end());
  const std::int64_t now = keys.back().signedAt + 60;
  std::vector<SyncKey> shared(keys.begin(), keys.end() - 100);
  for (int i = 0; i < 100; ++i) shared.push_back(randomKey(rng, now + 5 * YEAR + i * 3600));
  const std::vector<SyncKey> newer(keys.end() - 100, keys.end());
  const auto inStep = Reconciler::Opening::InStep;
  const Tuning tuning = withClock(now);

  // Equal archives holding 100 objects signed five years ahead: one round trip; the opening
  // is one fingerprint, the ids of the 8 newest present objects and one fingerprint of the
  // tail (about 80 B; about 70 B without the tail).
  const auto equal = expectExactDifferenceWith(shared, {}, {}, tuning, tuning, inStep);
  std::printf("in-step opening with 100 future-dated objects: %zu bytes\n", equal.openingBytes);
  EXPECT_EQ(equal.roundTrips(), 1u);
  EXPECT_LE(equal.openingBytes, 90u);
  EXPECT_EQ(equal.bytes, equal.openingBytes);  // the answer: one round with no frame

  // The peer's 100 newer objects still arrive with the first answer.
  const auto ahead = expectExactDifferenceWith(shared, {}, newer, tuning, tuning, inStep);
  EXPECT_EQ(ahead.roundTrips(), 1u);
  EXPECT_LE(ahead.bytes, 90u);

  // Without a horizon (a peer before 0005) the future-dated objects are "the newest": the
  // peer's newer objects fall under the fingerprint and cost a split of the whole archive.
  const auto before = expectExactDifferenceWith(shared, {}, newer, Tuning{}, Tuning{}, inStep);
  EXPECT_GT(before.roundTrips(), 1u);
  EXPECT_GT(before.bytes, 10 * ahead.bytes);
}

TEST(FutureDated, TheFullOpeningEndsWithTheTailAndKeepsTheNewestSlotsForPresentObjects) {
  std::mt19937_64 rng(11);
  auto keys = archiveKeys(rng, 10'000);
  std::sort(keys.begin(), keys.end());
  const std::int64_t now = keys.back().signedAt;
  const Tuning tuning = withClock(now);
  const Bound tailBound{*tailStart(*tuning.horizon), false};
  const Reconciler reconciler(testSalt(), tuning);

  VectorRangeIndex index(keys);
  for (int i = 0; i < 30; ++i) index.insert(randomKey(rng, now + YEAR + i));
  const auto frames = reconciler.initiate(index);
  ASSERT_EQ(frames.size(), 1u);
  const auto& ranges = frames[0].ranges;
  ASSERT_GE(ranges.size(), 2u);
  // The tail: one Fingerprint from the horizon to the end, of the 30 future-dated objects.
  EXPECT_EQ(ranges.back().upper, Bound::end());
  EXPECT_EQ(ranges.back().mode, RangeMode::Fingerprint);
  EXPECT_EQ(ranges.back().fingerprint, fingerprint(testSalt(), index.sum(10'000, 10'030)));
  // Before it, the newest present objects, listed, up to the horizon.
  const RangeEntry& newest = ranges[ranges.size() - 2];
  EXPECT_EQ(newest.upper, tailBound);
  ASSERT_EQ(newest.mode, RangeMode::IdList);
  ASSERT_FALSE(newest.ids.empty());
  EXPECT_EQ(newest.ids.back(), shortId(testSalt(), keys.back().id));

  // No future-dated object here: the tail is an empty IdList, "send me yours".
  const auto plain = reconciler.initiate(VectorRangeIndex(keys));
  EXPECT_EQ(plain[0].ranges.back(), (RangeEntry{Bound::end(), RangeMode::IdList, {}, {}}));
  EXPECT_EQ(plain[0].ranges[plain[0].ranges.size() - 2].upper, tailBound);
  // Nothing but future-dated objects (a clock far behind): nothing present, all in the tail.
  const auto behind = Reconciler(testSalt(), withClock(keys.front().signedAt - YEAR))
                          .initiate(VectorRangeIndex(keys));
  ASSERT_EQ(behind[0].ranges.size(), 2u);
  EXPECT_EQ(behind[0].ranges[0].mode, RangeMode::IdList);
  EXPECT_TRUE(behind[0].ranges[0].ids.empty());
  EXPECT_EQ(behind[0].ranges[1].mode, RangeMode::Fingerprint);
}

TEST(FutureDated, ASideThatSplitsARangeSplitsItAtItsOwnHorizon) {
  std::mt19937_64 rng(12);
  auto keys = archiveKeys(rng, 5'000);
  std::sort(keys.begin(), keys.end());
  const std::int64_t now = keys.back().signedAt;
  VectorRangeIndex mine(keys);
  for (int i = 0; i < 10; ++i) mine.insert(randomKey(rng, now + YEAR + i));
  // A peer without a horizon (or with a clock far behind) sends one fingerprint of all it has.
  const Frame whole{Bound::lowest(),
                    {RangeEntry{Bound::end(), RangeMode::Fingerprint, {1, 2, 3, 4, 5, 6}, {}}}};
  const Reconciler reconciler(testSalt(), withClock(now));
  Reply reply;
  reconciler.process(whole, 1, mine, reply);
  ASSERT_EQ(reply.frames.size(), 1u);
  const Bound tailBound{*tailStart(horizonFor(now)), false};
  const auto& ranges = reply.frames[0].ranges;
  const auto at = std::find_if(ranges.begin(), ranges.end(),
                               [&](const RangeEntry& range) { return range.upper == tailBound; });
  ASSERT_NE(at, ranges.end()) << "no range ends at the horizon";
  // The ten future-dated objects after it, alone: listed.
  ASSERT_EQ(ranges.end() - at, 2);
  EXPECT_EQ(ranges.back().mode, RangeMode::IdList);
  EXPECT_EQ(ranges.back().ids.size(), 10u);
}

// Objects signed before any plausible time (0, negative, the least Int64) or at the last
// second are ordered like any other and reconciled exactly, whatever the horizon.
TEST(FutureDated, ExtremeTimesAreReconciledLikeAnyOther) {
  std::mt19937_64 rng(13);
  std::vector<SyncKey> odd;
  for (std::int64_t at : {INT64_MIN, INT64_MIN + 1, std::int64_t{-86400}, std::int64_t{-1},
                          std::int64_t{0}, std::int64_t{1}, INT64_MAX - 1, INT64_MAX}) {
    for (int i = 0; i < 3; ++i) odd.push_back(randomKey(rng, at));
  }
  const auto present = archiveKeys(rng, 3'000);
  for (std::optional<std::int64_t> clock :
       {std::optional<std::int64_t>{}, std::optional<std::int64_t>{1'700'000'000},
        std::optional<std::int64_t>{INT64_MIN}, std::optional<std::int64_t>{0},
        std::optional<std::int64_t>{INT64_MAX}}) {
    for (const auto opening : {Reconciler::Opening::Full, Reconciler::Opening::InStep}) {
      SCOPED_TRACE(clock ? "clock " + std::to_string(*clock) : std::string("no horizon"));
      std::vector<SyncKey> onlyA, onlyB;
      for (std::size_t i = 0; i < odd.size(); ++i) (i % 2 ? onlyA : onlyB).push_back(odd[i]);
      expectExactDifferenceWith(present, onlyA, onlyB, withClock(clock), withClock(clock), opening);
      expectExactDifferenceWith(present, odd, {}, withClock(clock), withClock(1'700'000'000),
                                opening);
    }
  }
}

}  // namespace
}  // namespace fieldsync::protocol

namespace fieldsync::protocol {
namespace {

// The vectors printed in docs/protocol.md ("Sync", "Test vectors").
TEST(ReconcileVectors, MatchDocsProtocol) {
  Salt salt{};
  for (std::size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<std::uint8_t>(i);
  ObjectId a, b;
  for (std::size_t i = 0; i < ID_BYTES; ++i) {
    a.bytes[i] = static_cast<std::uint8_t>(i + 1);
    b.bytes[i] = static_cast<std::uint8_t>(0xff - i);
  }
  RangeSum sum;
  sum.add(a);
  sum.add(b);
  EXPECT_EQ(toHex(sum.sum), "0001010101010101010101010101010101010101010101010101010101010101");
  EXPECT_EQ(toHex(fingerprint(salt, sum)), "f2875299805b");
  EXPECT_EQ(toHex(shortId(salt, a)), "b9f05371f5");

  Frame frame{Bound{SyncKey{1700000000, {}}, false}, {}};
  RangeEntry first;
  first.upper = Bound{SyncKey{1700000100, {}}, false};
  first.mode = RangeMode::Fingerprint;
  first.fingerprint = fingerprint(salt, sum);
  RangeEntry second;
  second.upper = separator(SyncKey{1700000100, a}, SyncKey{1700000100, b});
  second.mode = RangeMode::Sketch;
  second.count = 2;
  second.sketch = shortId(salt, a);
  RangeEntry third;
  third.upper = Bound::end();
  third.mode = RangeMode::IdList;
  third.ids = {shortId(salt, a)};
  frame.ranges = {first, second, third};
  EXPECT_EQ(toHex(encodeFrame(frame)),
            "0080c49fd50c2264f2875299805b8900ff02b9f05371f56501b9f05371f5");
}

}  // namespace
}  // namespace fieldsync::protocol
