#include "store/peers.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "store/pause.h"

#include "store/store_fixture.h"

namespace fieldsync::store {
namespace {

using testing::keyNumber;
using testing::TempDir;

PeerRecord peer(std::string name, std::uint8_t keyNumberOf, std::string address = "") {
  PeerRecord record;
  record.name = std::move(name);
  record.address = address.empty() ? "tcp://192.0.2.7:7200" : std::move(address);
  record.key = keyNumber(keyNumberOf).publicKey();
  return record;
}

class Peers : public ::testing::Test {
 protected:
  Expected<PeerPut, PeerProblem> put(const PeerRecord& record,
                                     IfNameListed ifListed = IfNameListed::Refuse) {
    std::optional<Expected<PeerPut, PeerProblem>> outcome;
    m_archive->write([&](WriteTxn& txn) { outcome.emplace(putPeer(txn, record, ifListed)); });
    return std::move(*outcome);
  }
  std::vector<PeerRecord> list() { return listPeers(m_archive->beginRead()); }

  TempDir m_dir;
  std::unique_ptr<Archive> m_archive = Archive::open({.dir = m_dir.path(), .create = true});
};

TEST(PeerName, LettersDigitsDotsDashesAndUnderscoresUpTo64) {
  EXPECT_FALSE(checkPeerName("goma"));
  EXPECT_FALSE(checkPeerName("Goma-office_2.hub"));
  EXPECT_FALSE(checkPeerName(std::string(64, 'a')));
  for (std::string bad : {std::string(), std::string(65, 'a'), std::string("goma office"),
                          std::string("goma/office"), std::string("gôma"), std::string("a\nb")}) {
    auto problem = checkPeerName(bad);
    ASSERT_TRUE(problem) << bad;
    EXPECT_EQ(problem->kind, PeerProblem::BadName);
    EXPECT_NE(problem->message.find("1 to 64"), std::string::npos);
  }
}

TEST(PeerAddress, TcpHostAndPortOnly) {
  for (std::string good : {"tcp://192.0.2.7:7200", "tcp://goma.example.org:1",
                           "tcp://localhost:65535", "tcp://[2001:db8::7]:7200", "tcp://[::1]:7200"})
    EXPECT_FALSE(checkPeerAddress(good)) << good;
  for (std::string bad :
       {"", "192.0.2.7:7200", "udp://192.0.2.7:7200", "tcp://192.0.2.7",
        "tcp://192.0.2.7:", "tcp://192.0.2.7:0", "tcp://192.0.2.7:65536", "tcp://192.0.2.7:07200",
        "tcp://192.0.2.7:72a0", "tcp://:7200", "tcp://*:7200", "tcp://goma..org:7200",
        "tcp://eth0;192.0.2.7:7200", "tcp://[2001:db8::7:7200", "tcp://[]:7200",
        "tcp://2001:db8::7:7200", "ipc:///tmp/sock", "tcp://192.0.2.7:7200/x"}) {
    auto problem = checkPeerAddress(bad);
    ASSERT_TRUE(problem) << bad;
    EXPECT_EQ(problem->kind, PeerProblem::BadAddress);
  }
}

TEST(PeerRecordForm, RoundTripsEveryField) {
  PeerRecord record = peer("goma", 1, "tcp://[2001:db8::7]:7200");
  record.state = {.lastSuccess = 1700000000,
                  .lastAttempt = 1700000100,
                  .lastError = "zmq_poll: no answer within 30 s",
                  .lastErrorAt = 1700000101,
                  .nextAttempt = 1700000700,
                  .inStepAt = 1699999000,
                  .inStepSeq = 4242,
                  .objectsIn = 1,
                  .objectsOut = 2,
                  .bytesIn = 3ull << 40,
                  .bytesOut = 4,
                  .roundTrips = 7,
                  .failures = 3,
                  .budgetDay = 19675,
                  .budgetUsed = 5ull << 33,
                  .refusedUntil = 1700003000,
                  .refusedReason = "object 3: bad signature",
                  .refusals = 2,
                  .stickAt = 1699990000};
  record.settings = {.interval = 600, .maxBackoff = 86400, .rate = 8000, .dailyBudget = 5'000'000};
  const auto bytes = encodePeer(record);
  EXPECT_EQ(bytes[0], PEER_RECORD_VERSION);
  EXPECT_EQ(decodePeer("goma", bytes), record);
  // Negative times survive too (two's complement).
  record.state.budgetDay = -1;
  EXPECT_EQ(decodePeer("goma", encodePeer(record)), record);
}

/// The version 3 form: no stick (stickAt).
std::vector<std::uint8_t> encodeVersion3(const PeerRecord& record) {
  auto bytes = encodePeer(record);
  bytes[0] = 3;
  bytes.resize(bytes.size() - 8);
  return bytes;
}

/// The version 2 form: no penalty (refusedUntil, refusals, refusedReason).
std::vector<std::uint8_t> encodeVersion2(const PeerRecord& record) {
  auto bytes = encodeVersion3(record);
  bytes[0] = 2;
  bytes.resize(bytes.size() - 2 * 8 - 2 - record.state.refusedReason.size());
  return bytes;
}

/// The version 1 form, as the first releases wrote it: no settings, failures or budget.
std::vector<std::uint8_t> encodeVersion1(const PeerRecord& record) {
  auto bytes = encodeVersion2(record);
  bytes[0] = 1;
  bytes.resize(bytes.size() - 7 * 8);
  return bytes;
}

TEST(PeerRecordForm, Version3DecodesWithNoStick) {
  PeerRecord record = peer("goma", 1);
  record.state = {.lastSuccess = 1700000000, .refusedReason = "x", .refusals = 1};
  const auto old = encodeVersion3(record);
  // Pinned: 1 + 32 + 2 + address + 2 + 0 + 20 * 8 + 2 + 1 bytes, as version 3 stored it.
  ASSERT_EQ(old.size(), 1 + 32 + 2 + record.address.size() + 2 + 20 * 8 + 2 + 1);
  auto decoded = decodePeer("goma", old);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, record);
  EXPECT_EQ(decoded->state.stickAt, 0);
  // Version 3 bytes with version 4's stickAt, or version 4 without it, are damaged.
  auto v3Longer = encodePeer(record);
  v3Longer[0] = 3;
  EXPECT_FALSE(decodePeer("goma", v3Longer));
  auto v4Shorter = old;
  v4Shorter[0] = 4;
  EXPECT_FALSE(decodePeer("goma", v4Shorter));
}

TEST(PeerRecordForm, AStickOnlyPeerHasNoAddressAndRoundTrips) {
  PeerRecord record = peer("bunia", 1);
  record.address.clear();
  record.state.stickAt = 1700000000;
  EXPECT_TRUE(record.stickOnly());
  EXPECT_EQ(decodePeer("bunia", encodePeer(record)), record);
  // An empty address is no address for a connection, though a record may have none.
  EXPECT_TRUE(checkPeerAddress(""));
}

TEST(PeerRecordForm, Version2DecodesAsNeverRefused) {
  PeerRecord record = peer("goma", 1);
  record.state = {.lastSuccess = 1700000000, .failures = 2, .budgetUsed = 7};
  record.settings.rate = 8000;
  const auto old = encodeVersion2(record);
  // Pinned: 1 + 32 + 2 + address + 2 + 0 + 18 * 8 bytes, as version 2 stored it.
  ASSERT_EQ(old.size(), 1 + 32 + 2 + record.address.size() + 2 + 18 * 8);
  auto decoded = decodePeer("goma", old);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, record);
  EXPECT_EQ(decoded->state.refusedUntil, 0);
  EXPECT_EQ(decoded->state.refusals, 0u);
  EXPECT_TRUE(decoded->state.refusedReason.empty());
  // Version 2 bytes with version 3's tail, or version 3 without it, are damaged.
  auto v2Longer = encodePeer(record);
  v2Longer[0] = 2;
  EXPECT_FALSE(decodePeer("goma", v2Longer));
  auto v3Shorter = old;
  v3Shorter[0] = 3;
  EXPECT_FALSE(decodePeer("goma", v3Shorter));
}

TEST(PeerPenalty, EachRefusalSinceTheLastForgivingLastsFourTimesAsLongUpToAWeek) {
  EXPECT_EQ(refusalPeriod(1), 600);
  EXPECT_EQ(refusalPeriod(2), 2400);
  EXPECT_EQ(refusalPeriod(3), 9600);
  EXPECT_EQ(refusalPeriod(5), 600 * 256);    // 42 h 40 min
  EXPECT_EQ(refusalPeriod(6), MAX_REFUSAL);  // 600 * 1024 would pass a week
  EXPECT_EQ(refusalPeriod(UINT32_MAX), MAX_REFUSAL);

  PeerState state;
  EXPECT_FALSE(state.refusedAt(1000));
  EXPECT_TRUE(refuse(state, "garbage", 1000));
  EXPECT_EQ(state.refusedUntil, 1600);
  EXPECT_EQ(state.refusals, 1u);
  EXPECT_TRUE(state.refusedAt(1599));
  EXPECT_FALSE(state.refusedAt(1600));
  // While refused, a second offence (another session open at the time) changes nothing.
  EXPECT_FALSE(refuse(state, "bad signature", 1200));
  EXPECT_EQ(state.refusedUntil, 1600);
  EXPECT_EQ(state.refusedReason, "garbage");
  // After it ends, the next one is four times as long.
  EXPECT_TRUE(refuse(state, "bad signature", 2000));
  EXPECT_EQ(state.refusedUntil, 2000 + 2400);
  EXPECT_EQ(state.refusals, 2u);
  EXPECT_EQ(state.refusedReason, "bad signature");
}

TEST_F(Peers, RefusePeerAndForgivePeerChangeThePenaltyOnly) {
  const PeerRecord goma = peer("goma", 1);
  ASSERT_TRUE(put(goma).ok());
  std::optional<bool> began;
  m_archive->write(
      [&](WriteTxn& txn) { began = refusePeer(txn, goma.key, std::string(5000, 'x'), 1000); });
  ASSERT_TRUE(began);
  EXPECT_TRUE(*began);
  auto stored = findPeer(m_archive->beginRead(), "goma");
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->state.refusedAt(1001));
  EXPECT_EQ(stored->state.refusedReason.size(), MAX_PEER_ERROR);
  EXPECT_EQ(stored->settings, goma.settings);
  m_archive->write(
      [&](WriteTxn& txn) { EXPECT_FALSE(refusePeer(txn, peer("other", 2).key, "garbage", 1000)); });

  std::optional<Expected<PeerRecord, PeerProblem>> forgiven;
  m_archive->write([&](WriteTxn& txn) { forgiven.emplace(forgivePeer(txn, "goma")); });
  ASSERT_TRUE(forgiven->ok());
  stored = findPeer(m_archive->beginRead(), "goma");
  EXPECT_FALSE(stored->state.refusedAt(1001));
  EXPECT_EQ(stored->state.refusals, 0u);
  EXPECT_TRUE(stored->state.refusedReason.empty());
  m_archive->write([&](WriteTxn& txn) { forgiven.emplace(forgivePeer(txn, "nobody")); });
  ASSERT_FALSE(forgiven->ok());
  EXPECT_EQ(forgiven->error().kind, PeerProblem::NotListed);
}

TEST(PeerRecordForm, Version1DecodesWithDefaultSettings) {
  PeerRecord record = peer("goma", 1);
  record.state = {
      .lastSuccess = 1700000000, .lastError = "timeout", .bytesIn = 42, .roundTrips = 3};
  const auto old = encodeVersion1(record);
  // Pinned: 1 + 32 + 2 + 20 + 2 + 7 + 11 * 8 bytes, as version 1 stored it.
  ASSERT_EQ(old.size(), 1 + 32 + 2 + record.address.size() + 2 + 7 + 11 * 8);
  auto decoded = decodePeer("goma", old);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, record);
  EXPECT_EQ(decoded->settings, PeerSettings{});
  EXPECT_EQ(decoded->settings.interval, 300);
  EXPECT_EQ(decoded->settings.maxBackoff, 3600);
  EXPECT_EQ(decoded->settings.rate, 0u);
  EXPECT_EQ(decoded->settings.dailyBudget, 0u);
  EXPECT_EQ(decoded->state.failures, 0u);
  EXPECT_EQ(decoded->state.budgetUsed, 0u);
  // Version 1 bytes with version 2's extra numbers, or version 2 without them, are damaged.
  auto v1Longer = encodeVersion2(record);
  v1Longer[0] = 1;
  EXPECT_FALSE(decodePeer("goma", v1Longer));
  auto v2Shorter = old;
  v2Shorter[0] = 2;
  EXPECT_FALSE(decodePeer("goma", v2Shorter));
}

TEST(PeerRecordForm, SettingsOutOfRangeDecodeToNothing) {
  for (auto change : std::vector<std::function<void(PeerSettings&)>>{
           [](PeerSettings& s) { s.interval = 0; }, [](PeerSettings& s) { s.interval = -5; },
           [](PeerSettings& s) { s.maxBackoff = MAX_PEER_PERIOD + 1; },
           [](PeerSettings& s) { s.rate = MAX_PEER_RATE + 1; },
           [](PeerSettings& s) { s.dailyBudget = MAX_PEER_DAILY_BUDGET + 1; }}) {
    PeerRecord record = peer("goma", 1);
    change(record.settings);
    EXPECT_FALSE(decodePeer("goma", encodePeer(record)));
  }
}

TEST(PeerSettingsCheck, RangesAreOneSecondToThirtyDaysAndCappedSizes) {
  EXPECT_FALSE(checkPeerSettings({}));
  EXPECT_FALSE(checkPeerSettings({.interval = 1,
                                  .maxBackoff = MAX_PEER_PERIOD,
                                  .rate = MAX_PEER_RATE,
                                  .dailyBudget = MAX_PEER_DAILY_BUDGET}));
  auto bad = checkPeerSettings({.interval = 0});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->kind, PeerProblem::BadSetting);
  EXPECT_NE(bad->message.find("interval"), std::string::npos) << bad->message;
  bad = checkPeerSettings({.maxBackoff = 31 * 86400});
  ASSERT_TRUE(bad);
  EXPECT_NE(bad->message.find("back-off"), std::string::npos) << bad->message;
  EXPECT_TRUE(checkPeerSettings({.rate = MAX_PEER_RATE + 1}));
  EXPECT_TRUE(checkPeerSettings({.dailyBudget = MAX_PEER_DAILY_BUDGET + 1}));
}

// --- The daily budget ---

constexpr std::int64_t DAY_19675 = 19675 * SECONDS_PER_DAY;  // 2023-11-14T00:00:00Z

TEST(DailyBudget, DaysAreUtcDaysCountedFromTheEpoch) {
  EXPECT_EQ(utcDay(0), 0);
  EXPECT_EQ(utcDay(SECONDS_PER_DAY - 1), 0);
  EXPECT_EQ(utcDay(SECONDS_PER_DAY), 1);
  EXPECT_EQ(utcDay(-1), -1);
  EXPECT_EQ(utcDay(-SECONDS_PER_DAY), -1);
  EXPECT_EQ(utcDay(-SECONDS_PER_DAY - 1), -2);
  EXPECT_EQ(utcDay(DAY_19675 + 12 * 3600), 19675);
  EXPECT_EQ(nextUtcDayStart(DAY_19675), DAY_19675 + SECONDS_PER_DAY);
  EXPECT_EQ(nextUtcDayStart(DAY_19675 - 1), DAY_19675);
}

TEST(DailyBudget, TrafficAddsUpWithinADayAndStartsAfreshTheNext) {
  PeerState state;
  countTraffic(state, 1000, DAY_19675 + 10);
  countTraffic(state, 500, DAY_19675 + SECONDS_PER_DAY - 1);
  EXPECT_EQ(state.budgetDay, 19675);
  EXPECT_EQ(state.budgetUsed, 1500u);
  EXPECT_EQ(budgetUsedToday(state, DAY_19675 + 5), 1500u);
  // Midnight UTC: yesterday's count no longer counts, before or after new traffic.
  EXPECT_EQ(budgetUsedToday(state, DAY_19675 + SECONDS_PER_DAY), 0u);
  countTraffic(state, 70, DAY_19675 + SECONDS_PER_DAY);
  EXPECT_EQ(state.budgetDay, 19676);
  EXPECT_EQ(state.budgetUsed, 70u);
  // Days later, with nothing counted since.
  EXPECT_EQ(budgetUsedToday(state, DAY_19675 + 9 * SECONDS_PER_DAY), 0u);
  // The count saturates rather than wraps.
  countTraffic(state, UINT64_MAX - 10, DAY_19675 + SECONDS_PER_DAY);
  countTraffic(state, 100, DAY_19675 + SECONDS_PER_DAY);
  EXPECT_EQ(state.budgetUsed, UINT64_MAX);
}

TEST(DailyBudget, BudgetLeftIsUnlimitedWithoutABudgetAndNeverBelowZero) {
  PeerRecord record = peer("goma", 1);
  countTraffic(record.state, 4000, DAY_19675);
  EXPECT_EQ(budgetLeftToday(record, DAY_19675), std::nullopt);  // no budget: unlimited

  record.settings.dailyBudget = 10'000;
  EXPECT_EQ(budgetLeftToday(record, DAY_19675), 6000u);
  countTraffic(record.state, 6000, DAY_19675 + 60);
  EXPECT_EQ(budgetLeftToday(record, DAY_19675 + 60), 0u);
  countTraffic(record.state, 2500, DAY_19675 + 120);  // a session that ran over
  EXPECT_EQ(budgetLeftToday(record, DAY_19675 + 120), 0u);
  // The next day the whole budget is back.
  EXPECT_EQ(budgetLeftToday(record, nextUtcDayStart(DAY_19675)), 10'000u);
}

TEST(PeerRecordForm, DamagedBytesDecodeToNothing) {
  const auto bytes = encodePeer(peer("goma", 1));
  EXPECT_TRUE(decodePeer("goma", bytes));
  // Every truncation, a trailing byte, another version.
  for (std::size_t size = 0; size < bytes.size(); ++size)
    EXPECT_FALSE(decodePeer("goma", std::span(bytes.data(), size))) << size;
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(decodePeer("goma", longer));
  auto newer = bytes;
  newer[0] = PEER_RECORD_VERSION + 1;
  EXPECT_FALSE(decodePeer("goma", newer));
  auto zero = bytes;
  zero[0] = 0;
  EXPECT_FALSE(decodePeer("goma", zero));
  // A length that runs past the end, a stored address or name that is not one.
  auto overlong = bytes;
  overlong[1 + 32] = 0xff;
  EXPECT_FALSE(decodePeer("goma", overlong));
  EXPECT_FALSE(decodePeer("goma", encodePeer(peer("goma", 1, "tcp://x:0"))));
  EXPECT_FALSE(decodePeer("go ma", bytes));
  auto zeroKey = peer("goma", 1);
  zeroKey.key = {};
  EXPECT_FALSE(decodePeer("goma", encodePeer(zeroKey)));
}

TEST_F(Peers, AddedPeersAreListedByNameAndFoundByNameAndKey) {
  ASSERT_TRUE(put(peer("nairobi", 2)).ok());
  auto added = put(peer("goma", 1));
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(*added, PeerPut::Added);

  auto peers = list();
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[0].name, "goma");
  EXPECT_EQ(peers[1].name, "nairobi");
  EXPECT_TRUE(peers[0].state.neverSynced());

  auto txn = m_archive->beginRead();
  EXPECT_EQ(findPeer(txn, "goma"), peer("goma", 1));
  EXPECT_EQ(findPeerByKey(txn, keyNumber(2).publicKey())->name, "nairobi");
  EXPECT_FALSE(findPeer(txn, "bukavu"));
  EXPECT_FALSE(findPeer(txn, ""));
  EXPECT_FALSE(findPeerByKey(txn, keyNumber(3).publicKey()));
}

TEST_F(Peers, ASecondPeerWithATakenNameOrKeyIsRefused) {
  ASSERT_TRUE(put(peer("goma", 1)).ok());

  auto sameName = put(peer("goma", 2));
  ASSERT_FALSE(sameName.ok());
  EXPECT_EQ(sameName.error().kind, PeerProblem::NameTaken);

  auto sameKey = put(peer("goma-2", 1));
  ASSERT_FALSE(sameKey.ok());
  EXPECT_EQ(sameKey.error().kind, PeerProblem::KeyTaken);
  EXPECT_NE(sameKey.error().message.find("\"goma\""), std::string::npos) << sameKey.error().message;

  // Replacing by name does not open a way round the key rule either.
  ASSERT_TRUE(put(peer("nairobi", 2)).ok());
  auto replaceWithTakenKey = put(peer("nairobi", 1), IfNameListed::Replace);
  ASSERT_FALSE(replaceWithTakenKey.ok());
  EXPECT_EQ(replaceWithTakenKey.error().kind, PeerProblem::KeyTaken);

  EXPECT_EQ(list(), (std::vector{peer("goma", 1), peer("nairobi", 2)}));
}

TEST_F(Peers, ReplacingAPeerKeepsItsNameAndTakesTheNewRecord) {
  ASSERT_TRUE(put(peer("goma", 1)).ok());
  auto moved = peer("goma", 3, "tcp://goma.example.org:7300");
  auto replaced = put(moved, IfNameListed::Replace);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(*replaced, PeerPut::Replaced);
  EXPECT_EQ(list(), std::vector{moved});
}

TEST_F(Peers, BadRecordsAreRefusedAndNothingIsStored) {
  auto badName = peer("goma office", 1);
  EXPECT_EQ(put(badName).error().kind, PeerProblem::BadName);
  auto badAddress = peer("goma", 1, "tcp://192.0.2.7:99999");
  EXPECT_EQ(put(badAddress).error().kind, PeerProblem::BadAddress);
  auto badKey = peer("goma", 1);
  badKey.key.bytes.fill(0xff);
  EXPECT_EQ(put(badKey).error().kind, PeerProblem::BadKey);
  EXPECT_TRUE(list().empty());
}

TEST_F(Peers, RemovedPeersAreGoneAndRemovingAnUnknownNameSaysSo) {
  ASSERT_TRUE(put(peer("goma", 1)).ok());
  bool removed = false;
  m_archive->write([&](WriteTxn& txn) { removed = removePeer(txn, "goma"); });
  EXPECT_TRUE(removed);
  m_archive->write([&](WriteTxn& txn) { removed = removePeer(txn, "goma"); });
  EXPECT_FALSE(removed);
  EXPECT_TRUE(list().empty());
  // Its key is free again.
  EXPECT_TRUE(put(peer("goma-again", 1)).ok());
}

TEST_F(Peers, StateUpdatesChangeOnlyThatPeersState) {
  ASSERT_TRUE(put(peer("goma", 1)).ok());
  ASSERT_TRUE(put(peer("nairobi", 2)).ok());
  bool found = false;
  auto session = [](PeerState& s) {
    s.lastAttempt = s.lastSuccess = s.inStepAt = 1700000000;
    s.inStepSeq = 12;
    s.objectsIn += 3;
    s.bytesIn += 4096;
    s.roundTrips = 2;
  };
  m_archive->write(
      [&](WriteTxn& txn) { found = updatePeerState(txn, keyNumber(1).publicKey(), session); });
  EXPECT_TRUE(found);
  m_archive->write(
      [&](WriteTxn& txn) { found = updatePeerState(txn, keyNumber(1).publicKey(), session); });

  auto peers = list();
  EXPECT_EQ(peers[0].address, "tcp://192.0.2.7:7200");
  EXPECT_EQ(peers[0].state.objectsIn, 6u);  // totals add up
  EXPECT_EQ(peers[0].state.bytesIn, 8192u);
  EXPECT_EQ(peers[0].state.roundTrips, 2u);
  EXPECT_FALSE(peers[0].state.neverSynced());
  EXPECT_EQ(peers[1], peer("nairobi", 2));

  m_archive->write([&](WriteTxn& txn) {
    found = updatePeerState(txn, keyNumber(9).publicKey(), [](PeerState&) {});
  });
  EXPECT_FALSE(found);
}

TEST_F(Peers, ALongErrorIsCutAtACharacterBoundary) {
  ASSERT_TRUE(put(peer("goma", 1)).ok());
  std::string error = "x";
  while (error.size() < 2 * MAX_PEER_ERROR) error += "é";  // two bytes each, from an odd offset
  m_archive->write([&](WriteTxn& txn) {
    (void)updatePeerState(txn, keyNumber(1).publicKey(),
                          [&](PeerState& s) { s.lastError = error; });
  });
  const auto stored = list()[0].state.lastError;
  EXPECT_LE(stored.size(), MAX_PEER_ERROR);
  EXPECT_GE(stored.size(), MAX_PEER_ERROR - 1);
  EXPECT_EQ(stored, error.substr(0, stored.size()));
  EXPECT_EQ(stored.size() % 2, 1u);  // "x" and whole "é"s
}

TEST_F(Peers, SettingsChangeInPlaceAndKeepTheState) {
  auto goma = peer("goma", 1);
  goma.settings.rate = 8000;
  ASSERT_TRUE(put(goma).ok());
  m_archive->write([&](WriteTxn& txn) {
    ASSERT_TRUE(updatePeerState(txn, goma.key, [](PeerState& s) { s.lastSuccess = 1700000000; }));
  });

  std::optional<Expected<PeerRecord, PeerProblem>> changed;
  m_archive->write([&](WriteTxn& txn) {
    changed.emplace(updatePeerSettings(txn, "goma", [](PeerSettings& s) {
      s.interval = 60;
      s.dailyBudget = 1'000'000;
    }));
  });
  ASSERT_TRUE(changed->ok());
  EXPECT_EQ(
      (**changed).settings,
      (PeerSettings{.interval = 60, .maxBackoff = 3600, .rate = 8000, .dailyBudget = 1'000'000}));
  EXPECT_EQ(list(), std::vector{**changed});
  EXPECT_EQ(list()[0].state.lastSuccess, 1700000000);

  // Out of range: refused, nothing written. Unknown name: NotListed.
  m_archive->write([&](WriteTxn& txn) {
    changed.emplace(updatePeerSettings(txn, "goma", [](PeerSettings& s) { s.interval = 0; }));
  });
  ASSERT_FALSE(changed->ok());
  EXPECT_EQ(changed->error().kind, PeerProblem::BadSetting);
  EXPECT_EQ(list()[0].settings.interval, 60);
  m_archive->write([&](WriteTxn& txn) {
    changed.emplace(updatePeerSettings(txn, "bukavu", [](PeerSettings&) {}));
  });
  ASSERT_FALSE(changed->ok());
  EXPECT_EQ(changed->error().kind, PeerProblem::NotListed);

  auto badSettings = peer("nairobi", 2);
  badSettings.settings.maxBackoff = 0;
  EXPECT_EQ(put(badSettings).error().kind, PeerProblem::BadSetting);
}

TEST_F(Peers, TrafficIsCountedInTheStoredRecord) {
  auto goma = peer("goma", 1);
  goma.settings.dailyBudget = 5000;
  ASSERT_TRUE(put(goma).ok());
  bool found = false;
  m_archive->write([&](WriteTxn& txn) {
    found = addPeerTraffic(txn, goma.key, 1200, DAY_19675 + 1);
    ASSERT_TRUE(addPeerTraffic(txn, goma.key, 300, DAY_19675 + 2));  // same batch, sees the first
  });
  EXPECT_TRUE(found);
  auto stored = *findPeer(m_archive->beginRead(), "goma");
  EXPECT_EQ(budgetUsedToday(stored.state, DAY_19675 + 3), 1500u);
  EXPECT_EQ(budgetLeftToday(stored, DAY_19675 + 3), 3500u);
  m_archive->write(
      [&](WriteTxn& txn) { found = addPeerTraffic(txn, keyNumber(9).publicKey(), 1, DAY_19675); });
  EXPECT_FALSE(found);
}

/// Stores bytes as the record of name in dir's archive (closed), through LMDB itself, as an
/// older fieldsync would have.
void putRawPeer(const std::filesystem::path& dir, std::string name,
                std::vector<std::uint8_t> bytes) {
  testing::RawArchive raw(dir);
  raw.put("peers", name, bytes);
  raw.commit();
}

TEST_F(Peers, AVersion1RecordOnDiskIsReadWithDefaultsAndUpdated) {
  auto goma = peer("goma", 1);
  goma.state.bytesOut = 99;
  m_archive.reset();
  putRawPeer(m_dir.path(), "goma", encodeVersion1(goma));
  m_archive = Archive::open({.dir = m_dir.path()});
  EXPECT_EQ(list(), std::vector{goma});
  m_archive->write([&](WriteTxn& txn) {
    ASSERT_TRUE(updatePeerState(txn, goma.key, [](PeerState& s) { s.failures = 2; }));
  });
  auto stored = *findPeer(m_archive->beginRead(), "goma");
  EXPECT_EQ(stored.state.bytesOut, 99u);
  EXPECT_EQ(stored.state.failures, 2u);
  EXPECT_EQ(stored.settings, PeerSettings{});
}

TEST_F(Peers, PeersSurviveReopeningTheArchive) {
  ASSERT_TRUE(put(peer("goma", 1)).ok());
  m_archive.reset();
  m_archive = Archive::open({.dir = m_dir.path()});
  EXPECT_EQ(list(), std::vector{peer("goma", 1)});
}

TEST_F(Peers, AVersion3RecordOnDiskIsReadWithNoStickAndUpdated) {
  auto goma = peer("goma", 1);
  goma.state.refusals = 1;
  m_archive.reset();
  putRawPeer(m_dir.path(), "goma", encodeVersion3(goma));
  m_archive = Archive::open({.dir = m_dir.path()});
  EXPECT_EQ(list(), std::vector{goma});
  m_archive->write([&](WriteTxn& txn) {
    ASSERT_TRUE(updatePeerState(txn, goma.key, [](PeerState& s) { s.stickAt = 5; }));
  });
  auto stored = *findPeer(m_archive->beginRead(), "goma");
  EXPECT_EQ(stored.state.refusals, 1u);
  EXPECT_EQ(stored.state.stickAt, 5);
}

// --- Stick-only peers and sticks ---

protocol::Holdings holdings(std::uint8_t writerKey, std::int64_t at,
                            std::vector<protocol::HeldId> ids) {
  std::sort(ids.begin(), ids.end());
  return {keyNumber(writerKey).publicKey(), at, std::move(ids)};
}

protocol::HeldId held(std::uint8_t first) {
  protocol::HeldId id{};
  id[0] = first;
  return id;
}

ObjectId objectWithPrefix(std::uint8_t first) {
  ObjectId id{};
  id.bytes[0] = first;
  id.bytes[31] = 0x5a;
  return id;
}

TEST_F(Peers, AStickOnlyPeerIsListedWithoutAnAddressAndMayGetOneLater) {
  auto bunia = peer("bunia", 1);
  bunia.address.clear();
  ASSERT_TRUE(put(bunia).ok());
  EXPECT_EQ(list(), std::vector{bunia});

  auto set = [&](std::string_view name, std::string_view address) {
    std::optional<Expected<PeerRecord, PeerProblem>> outcome;
    m_archive->write([&](WriteTxn& txn) { outcome.emplace(setPeerAddress(txn, name, address)); });
    return std::move(*outcome);
  };
  auto given = set("bunia", "tcp://192.0.2.9:7420");
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->address, "tcp://192.0.2.9:7420");
  EXPECT_EQ(findPeer(m_archive->beginRead(), "bunia")->address, "tcp://192.0.2.9:7420");
  // A bad address is refused (nothing written); an empty one makes it stick-only again.
  EXPECT_EQ(set("bunia", "tcp://192.0.2.9").error().kind, PeerProblem::BadAddress);
  EXPECT_EQ(findPeer(m_archive->beginRead(), "bunia")->address, "tcp://192.0.2.9:7420");
  ASSERT_TRUE(set("bunia", "").ok());
  EXPECT_TRUE(findPeer(m_archive->beginRead(), "bunia")->stickOnly());
  EXPECT_EQ(set("nobody", "").error().kind, PeerProblem::NotListed);
}

TEST_F(Peers, AStickFromAListedPeerIsRecordedAndANewerOneReplacesIt) {
  ASSERT_TRUE(put(peer("hub", 1)).ok());
  auto record = [&](const protocol::Holdings& h) {
    std::optional<StickOutcome> outcome;
    m_archive->write([&](WriteTxn& txn) { outcome = recordStick(txn, h); });
    return *outcome;
  };
  EXPECT_FALSE(peerHoldings(m_archive->beginRead(), keyNumber(1).publicKey()));

  auto first = record(holdings(1, 1000, {held(1), held(2)}));
  EXPECT_EQ(first.kind, StickOutcome::Recorded);
  EXPECT_EQ(first.peer, "hub");
  EXPECT_EQ(findPeer(m_archive->beginRead(), "hub")->state.stickAt, 1000);
  auto stored = peerHoldings(m_archive->beginRead(), keyNumber(1).publicKey());
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored, holdings(1, 1000, {held(1), held(2)}));
  EXPECT_TRUE(stored->holds(objectWithPrefix(2)));
  EXPECT_FALSE(stored->holds(objectWithPrefix(3)));

  // An older stick changes nothing.
  auto older = record(holdings(1, 999, {held(7)}));
  EXPECT_EQ(older.kind, StickOutcome::Older);
  EXPECT_EQ(older.recordedAt, 1000);
  EXPECT_EQ(*peerHoldings(m_archive->beginRead(), keyNumber(1).publicKey()),
            holdings(1, 1000, {held(1), held(2)}));
  // One written in the same second is taken: the peer may have written two sticks in a second.
  EXPECT_EQ(record(holdings(1, 1000, {held(1), held(2), held(4)})).kind, StickOutcome::Recorded);
  EXPECT_EQ(*peerHoldings(m_archive->beginRead(), keyNumber(1).publicKey()),
            holdings(1, 1000, {held(1), held(2), held(4)}));

  // A newer one replaces the holdings whole.
  EXPECT_EQ(record(holdings(1, 2000, {held(3)})).kind, StickOutcome::Recorded);
  EXPECT_EQ(*peerHoldings(m_archive->beginRead(), keyNumber(1).publicKey()),
            holdings(1, 2000, {held(3)}));
  EXPECT_EQ(findPeer(m_archive->beginRead(), "hub")->state.stickAt, 2000);
}

TEST_F(Peers, AStrangersStickIsNotRecorded) {
  ASSERT_TRUE(put(peer("hub", 1)).ok());
  std::optional<StickOutcome> outcome;
  m_archive->write(
      [&](WriteTxn& txn) { outcome = recordStick(txn, holdings(2, 1000, {held(1)})); });
  EXPECT_EQ(outcome->kind, StickOutcome::NotListed);
  EXPECT_FALSE(peerHoldings(m_archive->beginRead(), keyNumber(2).publicKey()));
  EXPECT_EQ(findPeer(m_archive->beginRead(), "hub")->state.stickAt, 0);
}

TEST_F(Peers, AStickGoesWithItsPeerWhenItIsRemovedOrItsKeyReplaced) {
  ASSERT_TRUE(put(peer("hub", 1)).ok());
  m_archive->write([&](WriteTxn& txn) { (void)recordStick(txn, holdings(1, 1000, {held(1)})); });
  ASSERT_TRUE(peerHoldings(m_archive->beginRead(), keyNumber(1).publicKey()));
  // Another node under the same name: the old key's holdings go.
  ASSERT_TRUE(put(peer("hub", 2), IfNameListed::Replace).ok());
  EXPECT_FALSE(peerHoldings(m_archive->beginRead(), keyNumber(1).publicKey()));

  m_archive->write([&](WriteTxn& txn) { (void)recordStick(txn, holdings(2, 1000, {held(1)})); });
  ASSERT_TRUE(peerHoldings(m_archive->beginRead(), keyNumber(2).publicKey()));
  m_archive->write([&](WriteTxn& txn) { ASSERT_TRUE(removePeer(txn, "hub")); });
  EXPECT_FALSE(peerHoldings(m_archive->beginRead(), keyNumber(2).publicKey()));
  // Listed again, it starts with no stick.
  ASSERT_TRUE(put(peer("hub", 2)).ok());
  EXPECT_FALSE(peerHoldings(m_archive->beginRead(), keyNumber(2).publicKey()));
}

TEST_F(Peers, DamagedStoredHoldingsAreReportedNotGuessed) {
  m_archive->write([&](WriteTxn& txn) {
    txn.setMeta(stickHoldingsKey(keyNumber(1).publicKey()), std::string("\x01short", 6));
  });
  EXPECT_THROW((void)peerHoldings(m_archive->beginRead(), keyNumber(1).publicKey()), Error);
}

// --- Pause (store/pause.h) ---

TEST_F(Peers, ATimedPauseEndsByItselfAtItsTime) {
  const std::int64_t now = 1'700'000'000;
  EXPECT_FALSE(pausedUntil(m_archive->beginRead(), now));
  m_archive->write([&](WriteTxn& txn) { pauseTraffic(txn, now + 3600); });
  auto txn = m_archive->beginRead();
  EXPECT_EQ(pausedUntil(txn, now), now + 3600);
  EXPECT_EQ(pausedUntil(txn, now + 3599), now + 3600);
  EXPECT_FALSE(pausedUntil(txn, now + 3600));  // ended: nobody had to clear it
  EXPECT_FALSE(pausedUntil(txn, now + 86400));
}

TEST_F(Peers, AnIndefinitePauseLastsUntilResumedAndTheLatestPauseWins) {
  const std::int64_t now = 1'700'000'000;
  m_archive->write([&](WriteTxn& txn) { pauseTraffic(txn, now + 60); });
  m_archive->write([&](WriteTxn& txn) { pauseTraffic(txn, PAUSED_INDEFINITELY); });
  EXPECT_EQ(pausedUntil(m_archive->beginRead(), now + 100 * 86400), PAUSED_INDEFINITELY);

  std::optional<std::int64_t> was;
  m_archive->write([&](WriteTxn& txn) {
    was = resumeTraffic(txn, now);
    EXPECT_FALSE(pausedUntil(txn, now));  // the batch sees its own resume
  });
  EXPECT_EQ(was, PAUSED_INDEFINITELY);
  EXPECT_FALSE(pausedUntil(m_archive->beginRead(), now));
  m_archive->write([&](WriteTxn& txn) { was = resumeTraffic(txn, now); });
  EXPECT_FALSE(was);

  // A resume after a timed pause ended says it was not paused.
  m_archive->write([&](WriteTxn& txn) { pauseTraffic(txn, now + 60); });
  m_archive->write([&](WriteTxn& txn) { was = resumeTraffic(txn, now + 60); });
  EXPECT_FALSE(was);
}

TEST_F(Peers, ADamagedPauseIsReportedAndResumeClearsIt) {
  m_archive->write([](WriteTxn& txn) { txn.setMeta(META_PAUSED_UNTIL, "tomorrow"); });
  EXPECT_THROW((void)pausedUntil(m_archive->beginRead(), 0), Error);
  std::optional<std::int64_t> was;
  m_archive->write([&](WriteTxn& txn) { was = resumeTraffic(txn, 0); });
  EXPECT_EQ(was, PAUSED_INDEFINITELY);
  EXPECT_FALSE(pausedUntil(m_archive->beginRead(), 0));
}

TEST_F(Peers, APauseSurvivesReopeningTheArchive) {
  m_archive->write([](WriteTxn& txn) { pauseTraffic(txn, PAUSED_INDEFINITELY); });
  m_archive.reset();
  m_archive = Archive::open({.dir = m_dir.path()});
  EXPECT_EQ(pausedUntil(m_archive->beginRead(), 0), PAUSED_INDEFINITELY);
}

}  // namespace
}  // namespace fieldsync::store
