#pragma once
// The LAN beacon: peers on the same LAN learn each other's address without anyone typing it.
// A Beacon broadcasts this node's signed beacon (protocol/beacon.h: its key and the TCP port
// its `serve` listens on) every interval over UDP, and hears the others' on the same UDP port.
// For every valid beacon of another key it tells onPeerSeen the key and the address it came
// from, "tcp://<sender IPv4>:<announced port>". It admits nobody: what to do with a key is the
// caller's choice (updateListedPeerAddress: listed peers only, never a stranger).
//
// IPv4 only (broadcast). The socket is bound with SO_REUSEADDR and SO_REUSEPORT, so several
// nodes on one machine share the port: every one of them gets each broadcast (Linux delivers a
// broadcast to every socket bound to the port, a unicast datagram to only one of them). Tests
// use the loopback broadcast address 127.255.255.255 for that reason, not 127.0.0.1.
// 255.255.255.255 leaves by one interface (the default route's); a machine on several LANs
// reaches each with its subnet's broadcast address (192.168.1.255), one Beacon per address.
//
// Bounds: a datagram larger than MAX_BEACON_DATAGRAM is dropped unread, and anything but a
// valid beacon is dropped without a log line (other software may use the port). Per key,
// beacons not newer than the last one accepted are dropped (a beacon re-sent from another
// address cannot follow the original), and onPeerSeen is called at most once per
// BeaconOptions::minCallbackInterval. At most maxTrackedKeys keys are remembered.
//
// Threads: the constructor starts one thread, which sends, receives and calls onPeerSeen and
// log; the destructor stops it (within a few milliseconds, once an onPeerSeen call in progress
// has returned) and joins it. No global state.
// Lifetime: whatever onPeerSeen and log refer to (an Archive, say) outlives the Beacon. The
// identity is copied: the caller's key need not outlive the Beacon.
// Errors: the constructor throws fieldsync::Error when it cannot open or bind the socket; on
// its thread, a failed send or a callback that throws is logged and the beacon goes on.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "node/log.h"
#include "protocol/keys.h"
#include "store/archive.h"

namespace fieldsync::node {

inline constexpr std::uint16_t DEFAULT_BEACON_PORT = 7421;
/// A received datagram longer than this is dropped unread (a beacon is 123 bytes).
inline constexpr std::size_t MAX_BEACON_DATAGRAM = 512;

struct BeaconOptions {
  /// false: no socket and no thread; the Beacon sends nothing and hears nothing.
  bool enabled = true;
  /// The UDP port beacons are sent to and heard on. 0: a free port, which udpPort() tells,
  /// and beacons are sent to it (tests).
  std::uint16_t udpPort = DEFAULT_BEACON_PORT;
  /// Where beacons are sent: an IPv4 address in dotted form, normally a broadcast address.
  std::string broadcastAddress = "255.255.255.255";
  /// The TCP port this node's `serve` listens on, as announced; 1-65535 when enabled.
  std::uint16_t announcePort = 0;
  /// A beacon is sent at once, then every interval.
  std::chrono::milliseconds interval{10'000};
  /// onPeerSeen is called at most once per this per key.
  std::chrono::milliseconds minCallbackInterval{1'000};
  /// Keys remembered (for the rate limit and replays); beyond it the longest unheard is
  /// forgotten first.
  std::size_t maxTrackedKeys = 1024;
};

/// A valid beacon of key arrived from address ("tcp://192.0.2.7:7420"). Called on the Beacon's
/// thread; may block for a short while (a write to the archive: beacons wait meanwhile), and
/// should not throw (what it throws is logged and dropped). Empty: beacons are sent, not heard.
using PeerSeen = std::function<void(const protocol::PublicKey& key, const std::string& address)>;
/// A line for the node's log: a failed send (once until the failure changes), a callback that
/// threw. Called on the Beacon's thread.
using BeaconLog = LogSink;  // failed sends: warn; a callback that threw: error

class Beacon {
 public:
  /// Starts beaconing as identity, when options.enabled. Error when the socket cannot be
  /// opened or bound, options.broadcastAddress is not an IPv4 address, announcePort is 0 or
  /// interval is not positive.
  Beacon(const protocol::SecretKey& identity, BeaconOptions options, PeerSeen onPeerSeen,
         BeaconLog log = {});
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

/// Sets the address of the listed peer whose key is key to address, keeping its name and state;
/// the onPeerSeen a daemon wants. Returns whether the stored address changed: false for a key
/// that no peer has (nothing is added), for the address it already has, and for an address
/// store::putPeer refuses. Writes only when the address changes. Call it on a thread that
/// holds no ReadTxn (Archive::write's rule). Throws what Archive::write throws.
[[nodiscard]] bool updateListedPeerAddress(store::Archive& archive, const protocol::PublicKey& key,
                                           const std::string& address);

}  // namespace fieldsync::node
