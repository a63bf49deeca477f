// The LAN beacon on real UDP sockets over loopback, and the helper that turns what it hears
// into peer addresses. Beacons share one port, as nodes on one machine would, and are sent to
// the loopback broadcast address 127.255.255.255: Linux gives a broadcast to every socket on
// the port (a unicast datagram to 127.0.0.1 would reach only one of them).
//
// Every wait is bounded. A test that expects nothing from a key sends, after it, something that
// must arrive (a valid beacon of a marker key) and checks once that has come: loopback keeps
// the order of datagrams, so no test sleeps and hopes.
#include "node/beacon.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

#include "protocol/beacon.h"
#include "store/peers.h"
#include "store/store_fixture.h"

namespace fieldsync::node {
namespace {

using namespace std::chrono_literals;
using protocol::PublicKey;
using store::testing::keyNumber;
using store::testing::TempArchive;

constexpr auto WAIT = 3000ms;  // what is expected on loopback normally takes milliseconds
constexpr const char* LOOPBACK_BROADCAST = "127.255.255.255";

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// What a Beacon's onPeerSeen got, for the test thread to wait on.
class Sightings {
 public:
  PeerSeen callback() {
    return [this](const PublicKey& key, const std::string& address) {
      std::lock_guard lock(m_mutex);
      m_seen[key].push_back(address);
      m_changed.notify_all();
    };
  }
  /// The first address key was seen at, waiting up to WAIT.
  std::optional<std::string> waitFor(const PublicKey& key) {
    std::unique_lock lock(m_mutex);
    if (!m_changed.wait_for(lock, WAIT, [&] { return m_seen.contains(key); })) return std::nullopt;
    return m_seen[key].front();
  }
  /// Waits up to WAIT for key to have been seen n times.
  bool waitForCount(const PublicKey& key, std::size_t n) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, WAIT, [&] { return m_seen[key].size() >= n; });
  }
  std::size_t count(const PublicKey& key) {
    std::lock_guard lock(m_mutex);
    auto found = m_seen.find(key);
    return found == m_seen.end() ? 0 : found->second.size();
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::map<PublicKey, std::vector<std::string>> m_seen;
};

BeaconOptions fastOptions(std::uint16_t udpPort, std::uint16_t announcePort) {
  BeaconOptions options;
  options.udpPort = udpPort;
  options.broadcastAddress = LOOPBACK_BROADCAST;
  options.announcePort = announcePort;
  options.interval = 50ms;
  return options;
}

/// A plain UDP socket, as someone else on the LAN would have.
class Sender {
 public:
  Sender() : m_fd(::socket(AF_INET, SOCK_DGRAM, 0)) {
    if (m_fd < 0) throw std::runtime_error("socket failed");
  }
  ~Sender() { ::close(m_fd); }
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;
  void send(std::span<const std::uint8_t> bytes, std::uint16_t port) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(
        ::sendto(m_fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
        static_cast<ssize_t>(bytes.size()));
  }

 private:
  int m_fd;
};

TEST(Beacon, TwoNodesOnOnePortLearnEachOthersAddress) {
  const auto north = keyNumber(1);
  const auto south = keyNumber(2);
  Sightings heardByNorth, heardBySouth;
  Beacon northBeacon(north, fastOptions(0, 7001), heardByNorth.callback());
  ASSERT_NE(northBeacon.udpPort(), 0);
  Beacon southBeacon(south, fastOptions(northBeacon.udpPort(), 7002), heardBySouth.callback());
  EXPECT_EQ(heardByNorth.waitFor(south.publicKey()), "tcp://127.0.0.1:7002");
  EXPECT_EQ(heardBySouth.waitFor(north.publicKey()), "tcp://127.0.0.1:7001");
  // Each hears its own broadcasts too, and does not report itself.
  EXPECT_EQ(heardByNorth.count(north.publicKey()), 0u);
  EXPECT_EQ(heardBySouth.count(south.publicKey()), 0u);
}

TEST(Beacon, DisabledBeaconSendsNothing) {
  Sightings heard;
  auto every = fastOptions(0, 7001);
  every.minCallbackInterval = 0ms;  // every newer beacon: one a second (sentAt is in seconds)
  Beacon listener(keyNumber(1), every, heard.callback());
  auto off = fastOptions(listener.udpPort(), 7002);
  off.enabled = false;
  Beacon disabled(keyNumber(2), off, heard.callback());
  EXPECT_FALSE(disabled.enabled());
  EXPECT_EQ(disabled.udpPort(), 0);
  // Another beacon is heard twice, a second apart: the disabled one, were it sending every
  // 50 ms, would have been heard by then.
  Beacon marker(keyNumber(3), fastOptions(listener.udpPort(), 7003), {});
  ASSERT_TRUE(heard.waitForCount(keyNumber(3).publicKey(), 2));
  EXPECT_EQ(heard.count(keyNumber(2).publicKey()), 0u);
}

TEST(Beacon, ForgedOversizedAndMalformedDatagramsAreIgnored) {
  Sightings heard;
  Beacon listener(keyNumber(1), fastOptions(0, 7001), heard.callback());
  const auto victim = keyNumber(2).publicKey();
  Sender lan;
  // Key 2's beacon, forged: signed by key 9.
  auto forged = protocol::encodeBeacon(keyNumber(9), 7666, unixNow());
  std::copy(victim.bytes.begin(), victim.bytes.end(), forged.begin() + 17);
  lan.send(forged, listener.udpPort());
  // Key 2's own beacon with a byte of its signature changed.
  auto damaged = protocol::encodeBeacon(keyNumber(2), 7666, unixNow());
  damaged.back() ^= 1;
  lan.send(damaged, listener.udpPort());
  // A valid beacon with junk after it: too long, and past MAX_BEACON_DATAGRAM.
  const auto valid = protocol::encodeBeacon(keyNumber(2), 7666, unixNow());
  std::vector<std::uint8_t> oversized(valid.begin(), valid.end());
  oversized.resize(MAX_BEACON_DATAGRAM + 100);
  lan.send(oversized, listener.udpPort());
  lan.send(std::span(valid).first(100), listener.udpPort());
  // A stale one (a replay of last hour's).
  lan.send(protocol::encodeBeacon(keyNumber(2), 7666, unixNow() - 3600), listener.udpPort());

  const auto marker = keyNumber(3);
  lan.send(protocol::encodeBeacon(marker, 7003, unixNow()), listener.udpPort());
  ASSERT_EQ(heard.waitFor(marker.publicKey()), "tcp://127.0.0.1:7003");
  EXPECT_EQ(heard.count(victim), 0u);
}

TEST(Beacon, RepeatsAndReplaysOfAKeyAreReportedOncePerInterval) {
  Sightings heard;
  Beacon listener(keyNumber(1), fastOptions(0, 7001), heard.callback());
  Sender lan;
  const auto peer = keyNumber(2);
  const auto now = unixNow();
  const auto beacon = protocol::encodeBeacon(peer, 7002, now);
  lan.send(beacon, listener.udpPort());
  ASSERT_TRUE(heard.waitFor(peer.publicKey()));
  lan.send(beacon, listener.udpPort());                                       // the same again
  lan.send(protocol::encodeBeacon(peer, 7002, now - 1), listener.udpPort());  // older
  lan.send(protocol::encodeBeacon(peer, 7002, now + 1), listener.udpPort());  // within 1 s
  const auto marker = keyNumber(3);
  lan.send(protocol::encodeBeacon(marker, 7003, now), listener.udpPort());
  ASSERT_TRUE(heard.waitFor(marker.publicKey()));
  EXPECT_EQ(heard.count(peer.publicKey()), 1u);
}

TEST(Beacon, StopsPromptlyInTheMiddleOfALongInterval) {
  auto slow = fastOptions(0, 7001);
  slow.interval = 60s;
  auto beacon = std::make_unique<Beacon>(keyNumber(1), slow, PeerSeen{});
  const auto start = std::chrono::steady_clock::now();
  beacon.reset();
  // Promised: about 100 ms; measured: well under 1 ms. The bound leaves room for a loaded machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
}

TEST(Beacon, RefusesOptionsItCannotUse) {
  auto noPort = fastOptions(0, 0);
  EXPECT_THROW(Beacon(keyNumber(1), noPort, {}), Error);
  auto badAddress = fastOptions(0, 7001);
  badAddress.broadcastAddress = "broadcast";
  EXPECT_THROW(Beacon(keyNumber(1), badAddress, {}), Error);
  // Disabled, nothing is checked: nothing is used.
  noPort.enabled = false;
  EXPECT_NO_THROW(Beacon(keyNumber(1), noPort, {}));
}

// --- updateListedPeerAddress ----------------------------------------------------------------

store::PeerRecord listPeer(store::Archive& archive, std::string name, PublicKey key,
                           std::string address) {
  store::PeerRecord record{std::move(name), std::move(address), key, {}, {}};
  record.state.lastSuccess = 1'700'000'000;
  record.state.objectsIn = 42;
  archive.write([&](store::WriteTxn& txn) {
    ASSERT_TRUE(store::putPeer(txn, record, store::IfNameListed::Refuse).ok());
  });
  return record;
}

std::vector<store::PeerRecord> peersOf(const store::Archive& archive) {
  return store::listPeers(archive.beginRead());
}

TEST(UpdateListedPeerAddress, UnlistedKeyChangesNothing) {
  TempArchive archive;
  listPeer(*archive.archive, "north", keyNumber(1).publicKey(), "tcp://north.example:7420");
  const auto before = peersOf(*archive.archive);
  EXPECT_FALSE(
      updateListedPeerAddress(*archive.archive, keyNumber(2).publicKey(), "tcp://10.0.0.2:7420"));
  EXPECT_EQ(peersOf(*archive.archive), before);
}

TEST(UpdateListedPeerAddress, ListedPeerGetsTheNewAddressAndKeepsTheRest) {
  TempArchive archive;
  auto north =
      listPeer(*archive.archive, "north", keyNumber(1).publicKey(), "tcp://north.example:7420");
  const auto south =
      listPeer(*archive.archive, "south", keyNumber(2).publicKey(), "tcp://south.example:7420");
  EXPECT_TRUE(updateListedPeerAddress(*archive.archive, north.key, "tcp://10.0.0.1:7500"));
  north.address = "tcp://10.0.0.1:7500";
  EXPECT_EQ(peersOf(*archive.archive), (std::vector{north, south}));
  // The same address again is no change.
  EXPECT_FALSE(updateListedPeerAddress(*archive.archive, north.key, "tcp://10.0.0.1:7500"));
}

TEST(UpdateListedPeerAddress, AddressThePeerListRefusesChangesNothing) {
  TempArchive archive;
  const auto north =
      listPeer(*archive.archive, "north", keyNumber(1).publicKey(), "tcp://north.example:7420");
  EXPECT_FALSE(updateListedPeerAddress(*archive.archive, north.key, "tcp://10.0.0.1:0"));
  EXPECT_EQ(peersOf(*archive.archive), std::vector{north});
}

TEST(UpdateListedPeerAddress, BeaconOfAListedPeerUpdatesItsAddress) {
  TempArchive archive;
  const auto listed = keyNumber(2);
  const auto stranger = keyNumber(3);
  listPeer(*archive.archive, "south", listed.publicKey(), "tcp://south.example:7420");
  std::mutex mutex;
  std::condition_variable changed;
  std::map<PublicKey, bool> outcomes;  // key -> whether its beacon changed the peer list
  Beacon node(keyNumber(1), fastOptions(0, 7001),
              [&](const PublicKey& key, const std::string& address) {
                const bool updated = updateListedPeerAddress(*archive.archive, key, address);
                std::lock_guard lock(mutex);
                outcomes[key] = updated;
                changed.notify_all();
              });
  Beacon strangerBeacon(stranger, fastOptions(node.udpPort(), 7003), {});
  Beacon peerBeacon(listed, fastOptions(node.udpPort(), 7002), {});
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, WAIT, [&] {
      return outcomes.contains(listed.publicKey()) && outcomes.contains(stranger.publicKey());
    }));
    EXPECT_TRUE(outcomes[listed.publicKey()]);
    EXPECT_FALSE(outcomes[stranger.publicKey()]);
  }
  const auto peers = peersOf(*archive.archive);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].name, "south");
  EXPECT_EQ(peers[0].address, "tcp://127.0.0.1:7002");
}

}  // namespace
}  // namespace fieldsync::node
