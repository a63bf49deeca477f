// The LAN beacon on real UDP sockets over loopback, the registry of the addresses it learns,
// and the helpers serve uses with it. Beacons share one port, as nodes on one machine would,
// and are sent to the loopback broadcast address 127.255.255.255: Linux gives a broadcast to
// every socket on the port (a unicast datagram to 127.0.0.1 would reach only one of them).
//
// Every wait is bounded. A test that expects nothing from a key sends, after it, something that
// must arrive (a beacon of a marker peer) and checks once that has come: loopback keeps the
// order of datagrams, so no test sleeps and hopes.
#include "node/beacon.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "protocol/beacon.h"
#include "store/peers.h"
#include "store/store_fixture.h"

namespace fieldsync::node {
namespace {

using namespace std::chrono_literals;
using protocol::PublicKey;
using protocol::SecretKey;
using store::testing::keyNumber;
using store::testing::TempArchive;

constexpr auto WAIT = 3000ms;  // what is expected on loopback normally takes milliseconds
constexpr const char* LOOPBACK_BROADCAST = "127.255.255.255";

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A ListedPeers that lists the public keys of the given key numbers.
ListedPeers listing(std::vector<std::uint8_t> numbers) {
  std::vector<PublicKey> keys;
  for (auto n : numbers) keys.push_back(keyNumber(n).publicKey());
  return [keys] { return keys; };
}

/// The beacon sender makes for receiver alone, announcing port.
protocol::BeaconBytes beaconFor(const SecretKey& sender, const SecretKey& receiver,
                                std::uint16_t port, std::int64_t now = unixNow()) {
  const auto pair = protocol::BeaconPairKey::derive(sender, receiver.publicKey());
  return protocol::encodeBeacon(std::span(&*pair, 1), port, now);
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

/// A plain UDP socket, as someone else on the LAN would have, sending from a loopback address
/// of its own choice.
class Sender {
 public:
  explicit Sender(const char* from = "127.0.0.1") : m_fd(::socket(AF_INET, SOCK_DGRAM, 0)) {
    if (m_fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &local.sin_addr);
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
      throw std::runtime_error("bind failed");
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

/// A plain UDP socket on the beacons' port that keeps every datagram, as a stranger on the LAN
/// would (SO_REUSEPORT: it shares the port with the beacons).
class Capture {
 public:
  explicit Capture(std::uint16_t port) : m_fd(::socket(AF_INET, SOCK_DGRAM, 0)) {
    const int on = 1;
    ::setsockopt(m_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    ::setsockopt(m_fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    timeval timeout{0, 100'000};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(port);
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0)
      throw std::runtime_error("bind failed");
  }
  ~Capture() { ::close(m_fd); }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  /// The next datagram, waiting up to 100 ms; empty when none came.
  std::optional<std::vector<std::uint8_t>> next() {
    std::vector<std::uint8_t> buffer(2048);
    const auto n = ::recv(m_fd, buffer.data(), buffer.size(), 0);
    if (n < 0) return std::nullopt;
    buffer.resize(static_cast<std::size_t>(n));
    return buffer;
  }

 private:
  int m_fd;
};

TEST(Beacon, TwoPeersOnOnePortLearnEachOthersAddress) {
  const auto north = keyNumber(1);
  const auto south = keyNumber(2);
  Sightings heardByNorth, heardBySouth;
  Beacon northBeacon(north, fastOptions(0, 7001), listing({2}), heardByNorth.callback());
  ASSERT_NE(northBeacon.udpPort(), 0);
  Beacon southBeacon(south, fastOptions(northBeacon.udpPort(), 7002), listing({1}),
                     heardBySouth.callback());
  EXPECT_EQ(heardByNorth.waitFor(south.publicKey()), "tcp://127.0.0.1:7002");
  EXPECT_EQ(heardBySouth.waitFor(north.publicKey()), "tcp://127.0.0.1:7001");
  // Each hears its own broadcasts too, and takes them for nobody's.
  EXPECT_EQ(heardByNorth.count(north.publicKey()), 0u);
  EXPECT_EQ(heardBySouth.count(south.publicKey()), 0u);
}

TEST(Beacon, OnlyPeersOnBothListsHearEachOther) {
  Sightings heard;
  Beacon listener(keyNumber(1), fastOptions(0, 7001), listing({2}), heard.callback());
  Sender lan;
  // Key 3 lists the listener, but the listener does not list 3: not heard.
  lan.send(beaconFor(keyNumber(3), keyNumber(1), 7003), listener.udpPort());
  // Key 2, listed by the listener, names someone else: not heard either.
  lan.send(beaconFor(keyNumber(2), keyNumber(4), 7002), listener.udpPort());
  // Then 2's beacon for the listener.
  lan.send(beaconFor(keyNumber(2), keyNumber(1), 7002), listener.udpPort());
  EXPECT_EQ(heard.waitFor(keyNumber(2).publicKey()), "tcp://127.0.0.1:7002");
  EXPECT_EQ(heard.count(keyNumber(3).publicKey()), 0u);
  EXPECT_EQ(heard.count(keyNumber(2).publicKey()), 1u);
}

TEST(Beacon, DisabledBeaconSendsNothing) {
  Sightings heard;
  auto every = fastOptions(0, 7001);
  every.minCallbackInterval = 0ms;  // every new beacon
  Beacon listener(keyNumber(1), every, listing({2, 3}), heard.callback());
  auto off = fastOptions(listener.udpPort(), 7002);
  off.enabled = false;
  Beacon disabled(keyNumber(2), off, listing({1}), heard.callback());
  EXPECT_FALSE(disabled.enabled());
  EXPECT_EQ(disabled.udpPort(), 0);
  // Another peer's beacon is heard three times: the disabled one, were it sending every 50 ms,
  // would have been heard by then.
  Beacon marker(keyNumber(3), fastOptions(listener.udpPort(), 7003), listing({1}), {});
  ASSERT_TRUE(heard.waitForCount(keyNumber(3).publicKey(), 3));
  EXPECT_EQ(heard.count(keyNumber(2).publicKey()), 0u);
}

TEST(Beacon, BeaconThatDoesNotAnnounceHearsAndSendsNothing) {
  Sightings heardByListener, heardByQuiet;
  auto every = fastOptions(0, 7001);
  every.minCallbackInterval = 0ms;
  Beacon listener(keyNumber(1), every, listing({2, 3}), heardByListener.callback());
  auto quietOptions = fastOptions(listener.udpPort(), 0);  // no port needed: none is announced
  quietOptions.announce = false;
  Beacon quiet(keyNumber(2), quietOptions, listing({1}), heardByQuiet.callback());
  EXPECT_EQ(heardByQuiet.waitFor(keyNumber(1).publicKey()), "tcp://127.0.0.1:7001");
  Beacon marker(keyNumber(3), fastOptions(listener.udpPort(), 7003), listing({1}), {});
  ASSERT_TRUE(heardByListener.waitForCount(keyNumber(3).publicKey(), 3));
  EXPECT_EQ(heardByListener.count(keyNumber(2).publicKey()), 0u);
}

TEST(Beacon, ForgedOversizedAndMalformedDatagramsAreIgnored) {
  Sightings heard;
  Beacon listener(keyNumber(1), fastOptions(0, 7001), listing({2, 3}), heard.callback());
  const auto victim = keyNumber(2);
  Sender lan;
  // 2's beacon, forged by 9, who cannot make 2's tag and uses its own.
  lan.send(beaconFor(keyNumber(9), keyNumber(1), 7666), listener.udpPort());
  // 2's own beacon with every tag slot's first byte changed.
  auto damaged = beaconFor(victim, keyNumber(1), 7666);
  for (std::size_t slot = 0; slot < protocol::BEACON_TAG_SLOTS; ++slot)
    damaged[protocol::BEACON_HEADER_BYTES + slot * protocol::BEACON_TAG_BYTES] ^= 1;
  lan.send(damaged, listener.udpPort());
  // A valid beacon with junk after it: too long, and past MAX_BEACON_DATAGRAM.
  const auto valid = beaconFor(victim, keyNumber(1), 7666);
  std::vector<std::uint8_t> oversized(valid.begin(), valid.end());
  oversized.resize(MAX_BEACON_DATAGRAM + 100);
  lan.send(oversized, listener.udpPort());
  lan.send(std::span(valid).first(100), listener.udpPort());
  // A stale one (last hour's, and the hour before).
  lan.send(beaconFor(victim, keyNumber(1), 7666, unixNow() - 3600 - 301), listener.udpPort());
  lan.send(beaconFor(victim, keyNumber(1), 7666, unixNow() - 7200), listener.udpPort());

  const auto marker = keyNumber(3);
  lan.send(beaconFor(marker, keyNumber(1), 7003), listener.udpPort());
  ASSERT_EQ(heard.waitFor(marker.publicKey()), "tcp://127.0.0.1:7003");
  EXPECT_EQ(heard.count(victim.publicKey()), 0u);
}

TEST(Beacon, ReplayedBeaconIsDroppedEvenFromAnotherAddress) {
  Sightings heard;
  auto every = fastOptions(0, 7001);
  every.minCallbackInterval = 0ms;
  Beacon listener(keyNumber(1), every, listing({2, 3}), heard.callback());
  Sender lan, elsewhere("127.0.0.2");
  const auto beacon = beaconFor(keyNumber(2), keyNumber(1), 7002);
  lan.send(beacon, listener.udpPort());
  ASSERT_EQ(heard.waitFor(keyNumber(2).publicKey()), "tcp://127.0.0.1:7002");
  elsewhere.send(beacon, listener.udpPort());
  lan.send(beacon, listener.udpPort());
  // A new beacon of 2 is heard (minCallbackInterval 0 here), from where it came.
  elsewhere.send(beaconFor(keyNumber(2), keyNumber(1), 7002), listener.udpPort());
  ASSERT_TRUE(heard.waitForCount(keyNumber(2).publicKey(), 2));
  const auto marker = keyNumber(3);
  lan.send(beaconFor(marker, keyNumber(1), 7003), listener.udpPort());
  ASSERT_TRUE(heard.waitFor(marker.publicKey()));
  EXPECT_EQ(heard.count(keyNumber(2).publicKey()), 2u);
}

TEST(Beacon, NewBeaconsOfAPeerAreReportedOncePerInterval) {
  Sightings heard;
  auto slow = fastOptions(0, 7001);
  slow.minCallbackInterval = 60s;
  Beacon listener(keyNumber(1), slow, listing({2, 3}), heard.callback());
  Sender lan;
  for (int i = 0; i < 5; ++i)
    lan.send(beaconFor(keyNumber(2), keyNumber(1), 7002), listener.udpPort());
  const auto marker = keyNumber(3);
  lan.send(beaconFor(marker, keyNumber(1), 7003), listener.udpPort());
  ASSERT_TRUE(heard.waitFor(marker.publicKey()));
  EXPECT_EQ(heard.count(keyNumber(2).publicKey()), 1u);
}

TEST(Beacon, PeersBeyondTheSlotsAreNamedInTurn) {
  // 40 listed peers: 32 in one beacon, the other 8 (and 24 again) in the next.
  const auto sender = keyNumber(1);
  std::vector<std::uint8_t> numbers;
  for (std::uint8_t n = 10; n < 50; ++n) numbers.push_back(n);
  Beacon beacon(sender, fastOptions(0, 7001), listing(numbers), {});
  Capture lan(beacon.udpPort());
  // Each peer's view: its pair key with the sender.
  std::vector<protocol::BeaconPairKey> views;
  for (auto n : numbers)
    views.push_back(*protocol::BeaconPairKey::derive(keyNumber(n), sender.publicKey()));
  std::set<std::uint8_t> named;
  const auto deadline = std::chrono::steady_clock::now() + WAIT;
  while (named.size() < numbers.size() && std::chrono::steady_clock::now() < deadline) {
    const auto datagram = lan.next();
    if (!datagram) continue;
    std::size_t inThisOne = 0;
    for (std::size_t i = 0; i < views.size(); ++i) {
      if (protocol::decodeBeacon(*datagram, std::span(&views[i], 1), unixNow())) {
        named.insert(numbers[i]);
        ++inThisOne;
      }
    }
    EXPECT_EQ(inThisOne, protocol::BEACON_TAG_SLOTS);
  }
  EXPECT_EQ(named.size(), numbers.size());
}

TEST(Beacon, ReadsTheListAgainBeforeEachBeaconAndKeepsTheLastWhenReadingFails) {
  Sightings heard;
  std::mutex mutex;
  std::vector<PublicKey> listed;
  bool fail = false;
  std::atomic<int> errors = 0;
  auto peers = [&] {
    std::lock_guard lock(mutex);
    if (fail) throw Error("mdb_txn_begin: test failure");
    return listed;
  };
  auto every = fastOptions(0, 7001);
  every.minCallbackInterval = 0ms;
  Beacon listener(keyNumber(1), every, peers, heard.callback(),
                  [&](LogLevel level, const std::string&) {
                    if (level == LogLevel::Error) ++errors;
                  });
  Beacon peer(keyNumber(2), fastOptions(listener.udpPort(), 7002), listing({1}), {});
  {
    std::lock_guard lock(mutex);
    listed = {keyNumber(2).publicKey()};
  }
  ASSERT_EQ(heard.waitFor(keyNumber(2).publicKey()), "tcp://127.0.0.1:7002");
  {
    std::lock_guard lock(mutex);
    fail = true;
  }
  const auto before = heard.count(keyNumber(2).publicKey());
  ASSERT_TRUE(heard.waitForCount(keyNumber(2).publicKey(), before + 3));
  EXPECT_GT(errors.load(), 0);
}

TEST(Beacon, StopsPromptlyInTheMiddleOfALongInterval) {
  auto slow = fastOptions(0, 7001);
  slow.interval = 60s;
  auto beacon = std::make_unique<Beacon>(keyNumber(1), slow, listing({2}), PeerSeen{});
  const auto start = std::chrono::steady_clock::now();
  beacon.reset();
  // Promised: about 100 ms; measured: well under 1 ms. The bound leaves room for a loaded machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
}

TEST(Beacon, RefusesOptionsItCannotUse) {
  auto noPort = fastOptions(0, 0);
  EXPECT_THROW(Beacon(keyNumber(1), noPort, {}, {}), Error);
  auto badAddress = fastOptions(0, 7001);
  badAddress.broadcastAddress = "broadcast";
  EXPECT_THROW(Beacon(keyNumber(1), badAddress, {}, {}), Error);
  // Not announcing, no port is needed.
  auto quiet = noPort;
  quiet.announce = false;
  EXPECT_NO_THROW(Beacon(keyNumber(1), quiet, {}, {}));
  // Disabled, nothing is checked: nothing is used.
  noPort.enabled = false;
  EXPECT_NO_THROW(Beacon(keyNumber(1), noPort, {}, {}));
}

// --- announcesOnLan, listedPeerKeys -------------------------------------------------------

TEST(AnnouncesOnLan, LoopbackListenersDoNotAndOthersDo) {
  for (const char* loopback :
       {"tcp://127.0.0.1:7420", "tcp://127.1.2.3:1", "tcp://[::1]:7420",
        "tcp://[::ffff:127.0.0.1]:7420", "tcp://localhost:7420", "tcp://LocalHost:7420"})
    EXPECT_FALSE(announcesOnLan(loopback)) << loopback;
  for (const char* lan : {"tcp://0.0.0.0:7420", "tcp://[::]:7420", "tcp://*:7420",
                          "tcp://192.168.1.7:7420", "tcp://10.77.0.1:7420", "tcp://[fe80::1]:7420",
                          "tcp://north.example:7420", "tcp://128.0.0.1:7420"})
    EXPECT_TRUE(announcesOnLan(lan)) << lan;
}

TEST(ListedPeerKeys, AreThePeerListsKeys) {
  TempArchive archive;
  EXPECT_TRUE(listedPeerKeys(*archive.archive).empty());
  archive.archive->write([&](store::WriteTxn& txn) {
    for (std::uint8_t n : {std::uint8_t{2}, std::uint8_t{3}}) {
      store::PeerRecord record{
          "peer" + std::to_string(n), "tcp://192.0.2.1:7420", keyNumber(n).publicKey(), {}, {}};
      ASSERT_TRUE(store::putPeer(txn, record, store::IfNameListed::Refuse).ok());
    }
  });
  EXPECT_EQ(listedPeerKeys(*archive.archive),
            (std::vector{keyNumber(2).publicKey(), keyNumber(3).publicKey()}));
}

// --- LearnedAddresses -----------------------------------------------------------------------

TEST(LearnedAddresses, FindsWhatWasLearnedUntilItExpires) {
  LearnedAddresses learned(30s);
  const auto t0 = LearnedAddresses::Clock::now();
  const auto north = keyNumber(1).publicKey();
  EXPECT_EQ(learned.find(north, t0), std::nullopt);
  EXPECT_TRUE(learned.learn(north, "tcp://10.0.0.1:7420", t0));
  EXPECT_EQ(learned.find(north, t0 + 30s), "tcp://10.0.0.1:7420");
  EXPECT_EQ(learned.find(north, t0 + 31s), std::nullopt);
  EXPECT_EQ(learned.find(keyNumber(2).publicKey(), t0), std::nullopt);
  // The same address again is no news and keeps it alive; another address is news.
  EXPECT_FALSE(learned.learn(north, "tcp://10.0.0.1:7420", t0 + 20s));
  EXPECT_EQ(learned.find(north, t0 + 50s), "tcp://10.0.0.1:7420");
  EXPECT_TRUE(learned.learn(north, "tcp://10.0.0.9:7420", t0 + 21s));
  EXPECT_EQ(learned.find(north, t0 + 21s), "tcp://10.0.0.9:7420");
  // Heard again after it expired: news again.
  EXPECT_TRUE(learned.learn(north, "tcp://10.0.0.9:7420", t0 + 90s));
}

TEST(LearnedAddresses, KeepsAtMostItsBoundDroppingTheOldestFirst) {
  LearnedAddresses learned(60s, 2);
  const auto t0 = LearnedAddresses::Clock::now();
  learned.learn(keyNumber(1).publicKey(), "tcp://10.0.0.1:7420", t0);
  learned.learn(keyNumber(2).publicKey(), "tcp://10.0.0.2:7420", t0 + 1s);
  learned.learn(keyNumber(3).publicKey(), "tcp://10.0.0.3:7420", t0 + 2s);
  EXPECT_EQ(learned.size(), 2u);
  EXPECT_EQ(learned.find(keyNumber(1).publicKey(), t0 + 2s), std::nullopt);
  EXPECT_EQ(learned.find(keyNumber(2).publicKey(), t0 + 2s), "tcp://10.0.0.2:7420");
  EXPECT_EQ(learned.find(keyNumber(3).publicKey(), t0 + 2s), "tcp://10.0.0.3:7420");
  // Expired entries go before live ones.
  learned.learn(keyNumber(4).publicKey(), "tcp://10.0.0.4:7420", t0 + 62s);
  EXPECT_EQ(learned.find(keyNumber(3).publicKey(), t0 + 62s), "tcp://10.0.0.3:7420");
}

TEST(LearnedAddresses, IsSafeToUseFromSeveralThreads) {
  LearnedAddresses learned(60s, 16);
  std::vector<PublicKey> keys;
  for (std::uint8_t n = 1; n <= 32; ++n) keys.push_back(keyNumber(n).publicKey());
  std::vector<std::thread> threads;
  for (std::uint8_t t = 0; t < 4; ++t) {
    threads.emplace_back([&learned, &keys, t] {
      for (std::size_t i = 0; i < 2000; ++i) {
        const auto& key = keys[(i + t) % keys.size()];
        const auto now = LearnedAddresses::Clock::now();
        learned.learn(key, "tcp://10.0.0." + std::to_string(t) + ":7420", now);
        (void)learned.find(key, now);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_LE(learned.size(), 16u);
}

TEST(LearnedAddresses, BeaconFillsItAndThePeerListIsLeftAlone) {
  // What serve wires up: a listed peer's beacon gives a second address; its listed one stays.
  TempArchive archive;
  store::PeerRecord south{"south", "tcp://127.0.0.1:7420", keyNumber(2).publicKey(), {}, {}};
  archive.archive->write([&](store::WriteTxn& txn) {
    ASSERT_TRUE(store::putPeer(txn, south, store::IfNameListed::Refuse).ok());
  });
  LearnedAddresses learned;
  std::mutex mutex;
  std::condition_variable changed;
  Beacon node(
      keyNumber(1), fastOptions(0, 7001), [&] { return listedPeerKeys(*archive.archive); },
      [&](const PublicKey& key, const std::string& address) {
        learned.learn(key, address, LearnedAddresses::Clock::now());
        std::lock_guard lock(mutex);
        changed.notify_all();
      });
  Beacon southBeacon(keyNumber(2), fastOptions(node.udpPort(), 7002), listing({1}), {});
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, WAIT, [&] {
      return learned.find(south.key, LearnedAddresses::Clock::now()).has_value();
    }));
  }
  EXPECT_EQ(learned.find(south.key, LearnedAddresses::Clock::now()), "tcp://127.0.0.1:7002");
  const auto peers = store::listPeers(archive.archive->beginRead());
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].address, "tcp://127.0.0.1:7420");
}

}  // namespace
}  // namespace fieldsync::node
