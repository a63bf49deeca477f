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

// With objects missing on both sides in one small range, a sketch can point at no object;
// the range is then listed, which costs one more round trip there.
TEST(Reconcile, ScatteredDifferencesOnBothSidesAreFoundInFourRoundTrips) {
  std::mt19937_64 rng(seedFromEnv());
  auto keys = archiveKeys(rng, 100'000);
  std::shuffle(keys.begin(), keys.end(), rng);
  for (std::size_t d : {1u, 10u, 100u, 1000u}) {
    const std::vector<SyncKey> onlyA(keys.begin(), keys.begin() + static_cast<long>(d / 2));
    const std::vector<SyncKey> onlyB(keys.begin() + static_cast<long>(d / 2),
                                     keys.begin() + static_cast<long>(d));
    const std::vector<SyncKey> shared(keys.begin() + static_cast<long>(d), keys.end());
    SCOPED_TRACE("d = " + std::to_string(d));
    expectExactDifference(shared, onlyA, onlyB, 4);
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
