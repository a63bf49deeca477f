#include "store/peers.h"

#include <gtest/gtest.h>

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
                  .roundTrips = 7};
  EXPECT_EQ(decodePeer("goma", encodePeer(record)), record);
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
  newer[0] = 2;
  EXPECT_FALSE(decodePeer("goma", newer));
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

TEST_F(Peers, PeersSurviveReopeningTheArchive) {
  ASSERT_TRUE(put(peer("goma", 1)).ok());
  m_archive.reset();
  m_archive = Archive::open({.dir = m_dir.path()});
  EXPECT_EQ(list(), std::vector{peer("goma", 1)});
}

}  // namespace
}  // namespace fieldsync::store
