#pragma once
// The LAN beacon: listed peers on the same LAN learn each other's address without anyone typing
// it, and nobody else learns who is there. A Beacon broadcasts, every interval over UDP, a
// private beacon (protocol/beacon.h) that names this node's listed peers without naming any key
// and says on which TCP port its `serve` listens; it hears the others' on the same UDP port.
// For every beacon a listed peer made for this node, it tells onPeerSeen the peer's key and
// the address it came from, "tcp://<sender IPv4>:<announced port>". It admits nobody and
// changes no peer record: what to do with an address is the caller's choice (LearnedAddresses:
// a second address to dial, never a replacement of the listed one).
//
// The listed peers come from listedPeers, called on the Beacon's thread when it starts and
// before every send; their pair keys are derived once per key (an X25519 each). A beacon names
// at most protocol::BEACON_TAG_SLOTS peers; a node that lists more names them in turn, the
// next BEACON_TAG_SLOTS in each beacon, so each is named at least once every
// ceil(peers / BEACON_TAG_SLOTS) intervals. A node that lists nobody sends nothing. With
// options.announce false (a `serve` that listens on loopback only: announcesOnLan) it sends
// nothing and still hears.
//
// IPv4 only (broadcast). The socket is bound with SO_REUSEADDR and SO_REUSEPORT, so several
// nodes on one machine share the port: every one of them gets each broadcast (Linux delivers a
// broadcast to every socket bound to the port, a unicast datagram to only one of them). Tests
// use the loopback broadcast address 127.255.255.255 for that reason, not 127.0.0.1, or a LAN
// inside a network namespace of their own.
// 255.255.255.255 leaves by one interface (the default route's); a machine on several LANs
// reaches each with its subnet's broadcast address (192.168.1.255), one Beacon per address.
//
// Bounds: a datagram larger than MAX_BEACON_DATAGRAM is dropped unread, and anything but a
// beacon of a listed peer is dropped without a log line (other software may use the port).
// A datagram costs one keyed BLAKE2b per listed peer once its cheap checks pass, and at most
// BeaconOptions::maxCheckedPerSecond datagrams a second get that far (the rest of a flood is
// dropped). A beacon whose nonce was accepted before is dropped (a copy re-sent from another
// address cannot follow the original), and onPeerSeen is called at most once per
// BeaconOptions::minCallbackInterval per peer. At most maxTrackedNonces nonces are remembered.
//
// Threads: the constructor starts one thread, which sends, receives and calls listedPeers,
// onPeerSeen and log; the destructor stops it (within a few milliseconds, once a callback in
// progress has returned) and joins it. No global state.
// Lifetime: whatever listedPeers, onPeerSeen and log refer to (an Archive, a LearnedAddresses)
// outlives the Beacon. The identity is copied (its Curve25519 secret): the caller's key need
// not outlive the Beacon.
// Errors: the constructor throws fieldsync::Error when it cannot open or bind the socket; on
// its thread, a failed send or a callback that throws is logged and the beacon goes on (with
// the peers it had when listedPeers throws).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/log.h"
#include "protocol/keys.h"
#include "store/archive.h"

namespace fieldsync::node {

inline constexpr std::uint16_t DEFAULT_BEACON_PORT = 7421;
/// A received datagram longer than this is dropped unread (a beacon is 555 bytes).
inline constexpr std::size_t MAX_BEACON_DATAGRAM = 1024;

struct BeaconOptions {
  /// false: no socket and no thread; the Beacon sends nothing and hears nothing.
  bool enabled = true;
  /// false: beacons are heard, none is sent (a `serve` nobody on the LAN can reach).
  bool announce = true;
  /// The UDP port beacons are sent to and heard on. 0: a free port, which udpPort() tells,
  /// and beacons are sent to it (tests).
  std::uint16_t udpPort = DEFAULT_BEACON_PORT;
  /// Where beacons are sent: an IPv4 address in dotted form, normally a broadcast address.
  std::string broadcastAddress = "255.255.255.255";
  /// The TCP port this node's `serve` listens on, as announced; 1-65535 when enabled and
  /// announcing.
  std::uint16_t announcePort = 0;
  /// A beacon is sent at once, then every interval; listedPeers is read again before each.
  std::chrono::milliseconds interval{10'000};
  /// onPeerSeen is called at most once per this per peer.
  std::chrono::milliseconds minCallbackInterval{1'000};
  /// Datagrams a second that pass the cheap checks and get their tags checked (one keyed
  /// BLAKE2b per listed peer each); the rest are dropped. A LAN has a beacon per node per
  /// interval.
  std::size_t maxCheckedPerSecond = 200;
  /// Nonces of accepted beacons remembered, against replays; beyond it the oldest is forgotten
  /// first. A nonce is forgotten anyway once its beacon is stale everywhere (70 minutes).
  std::size_t maxTrackedNonces = 4096;
};

/// This node's listed peers, whose beacons it hears and whom its beacons name. Called on the
/// Beacon's thread; may read the archive (listedPeerKeys); what it throws is logged, and the
/// peers it returned last are kept.
using ListedPeers = std::function<std::vector<protocol::PublicKey>()>;
/// A beacon listed peer key made for this node arrived from address ("tcp://192.0.2.7:7420").
/// Called on the Beacon's thread; should be quick (beacons wait meanwhile) and should not
/// throw (what it throws is logged and dropped). Empty: beacons are sent, not heard.
using PeerSeen = std::function<void(const protocol::PublicKey& key, const std::string& address)>;
/// A line for the node's log: a failed send (once until the failure changes), a callback that
/// threw. Called on the Beacon's thread.
using BeaconLog = LogSink;  // failed sends: warn; a callback that threw: error

class Beacon {
 public:
  /// Starts beaconing as identity, when options.enabled. Error when the socket cannot be
  /// opened or bound, options.broadcastAddress is not an IPv4 address, announcePort is 0 while
  /// announcing, or interval is not positive.
  Beacon(const protocol::SecretKey& identity, BeaconOptions options, ListedPeers listedPeers,
         PeerSeen onPeerSeen, BeaconLog log = {});
  /// Stops the thread and joins it.
  ~Beacon();
  Beacon(const Beacon&) = delete;
  Beacon& operator=(const Beacon&) = delete;

  bool enabled() const { return m_impl != nullptr; }
  /// The UDP port bound (the one picked when options.udpPort was 0); 0 when disabled.
  std::uint16_t udpPort() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// Whether a `serve` listening on endpoint ("tcp://HOST:PORT", as Server::endpoint() says it)
/// can be reached from the LAN, and so whether its beacon should be sent: false for a loopback
/// host (127.0.0.0/8, ::1, ::ffff:127.x.x.x, localhost), true for any other (a wildcard,
/// a LAN address, a name) and for text that is not an endpoint.
[[nodiscard]] bool announcesOnLan(std::string_view endpoint);

/// The keys of the archive's listed peers, in the peer list's order: a ListedPeers for `serve`.
/// Reads in a transaction of its own. Throws what Archive::beginRead throws.
[[nodiscard]] std::vector<protocol::PublicKey> listedPeerKeys(const store::Archive& archive);

/// Addresses learned from beacons, for the dialer to try as a second candidate
/// (DaemonOptions::learnedAddress); never written to the peer list, so a wrong or stale one
/// costs a failed dial and nothing else. An entry expires maxAge after it was last learned
/// (a few beacon intervals: a peer that left the LAN is forgotten); at most maxEntries are
/// kept, and beyond that the one learned longest ago is dropped first.
/// Threads: every member may be called from any thread (one mutex inside).
class LearnedAddresses {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LearnedAddresses(std::chrono::milliseconds maxAge = std::chrono::seconds(30),
                            std::size_t maxEntries = 1024);
  /// key was heard at address at now. Returns whether that is news (no live entry for key, or
  /// one with another address), for the log.
  bool learn(const protocol::PublicKey& key, const std::string& address, Clock::time_point now);
  /// The address learned for key, unless it expired by now.
  [[nodiscard]] std::optional<std::string> find(const protocol::PublicKey& key,
                                                Clock::time_point now) const;
  /// Entries kept, expired ones included until learn() prunes them.
  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    std::string address;
    Clock::time_point learnedAt;
  };
  const std::chrono::milliseconds m_maxAge;
  const std::size_t m_maxEntries;
  mutable std::mutex m_mutex;
  std::map<protocol::PublicKey, Entry> m_entries;
};

}  // namespace fieldsync::node
