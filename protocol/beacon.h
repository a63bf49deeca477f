#pragma once
// The LAN beacon datagram, private: "a fieldsync node that lists you listens on TCP PORT", in a
// form only the nodes it lists can read. node/beacon.h sends and hears them.
// Pure: bytes in, bytes out; no sockets, no clock (the caller gives the time), and randomness
// only where a function says it draws it.
//
// A beacon names no key and carries nothing stable: a random nonce, the TCP port, the hour
// (a coarse time window) and BEACON_TAG_SLOTS tags. For each peer it names, one tag is keyed
// BLAKE2b of nonce || window || port under the pair's beacon key (BeaconPairKey: X25519 of the
// two nodes' Curve25519 keys, hashed with a domain tag and both keys in the order sender,
// receiver); the other slots are random bytes, and the slots are sorted, so a stranger sees
// 512 random-looking bytes of the same length whatever the number of peers. A receiver
// computes, for each of its listed peers, the tag that peer would have made for it, and looks
// for it among the slots. Design and reasons: docs/protocol.md ("LAN beacon") and
// docs/decisions/0007-private-beacon.md.
//
// What a beacon proves to a receiver that finds peer P's tag: that someone holding the pair
// key of P and the receiver (P, or the receiver itself; keys are directional, so a node never
// takes its own beacon for P's) made it for this nonce, window and port. Not where it came
// from: the sender's IP address is not in it (the receiver takes it from the datagram), so a
// recorded beacon can be re-sent from another address while its window lasts. That is
// acceptable: an address learned from a beacon is only a second place to dial, the CurveZMQ
// link still proves the key, and a wrong address costs a failed connection.
//
// Threads: all functions are safe to call from any thread; a BeaconPairKey is a value.
// Errors: refused datagrams are Expected<..., BeaconProblem>; encoding a port of 0 or more
// than BEACON_TAG_SLOTS peers is a bug (assert); a peer key that is not a usable point is an
// empty optional from BeaconPairKey::derive.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/error.h"
#include "protocol/keys.h"

namespace fieldsync::protocol {

/// The first 16 bytes of every beacon (it says that a fieldsync node is there, nothing more).
inline constexpr std::string_view BEACON_MAGIC = "fieldsync-beacon";
inline constexpr std::uint8_t BEACON_VERSION = 2;
/// Hashed in front of the X25519 result and the two Curve25519 keys to make a pair key.
inline constexpr std::string_view BEACON_PAIR_DOMAIN = "fieldsync/beacon-pair/v2";
inline constexpr std::size_t BEACON_NONCE_BYTES = 16;
inline constexpr std::size_t BEACON_TAG_BYTES = 16;
inline constexpr std::size_t BEACON_KEY_BYTES = 32;
/// Tags in every beacon, used or not: a node names at most this many peers per beacon (a node
/// that lists more names them in turn, BEACON_TAG_SLOTS per beacon: node/beacon.h).
inline constexpr std::size_t BEACON_TAG_SLOTS = 32;
/// magic (16) || version (1) || nonce (16) || window (8, BE) || port (2, BE) || tags (32 x 16).
inline constexpr std::size_t BEACON_HEADER_BYTES = 16 + 1 + BEACON_NONCE_BYTES + 8 + 2;  // 43
inline constexpr std::size_t BEACON_BYTES =
    BEACON_HEADER_BYTES + BEACON_TAG_SLOTS * BEACON_TAG_BYTES;  // 555
/// The time window: unix seconds divided by this, rounded down (the hour).
inline constexpr std::int64_t BEACON_WINDOW_SECONDS = 3600;
/// A beacon is heard while the receiver's clock is in its window or within this of it, so
/// clocks must agree within 5 minutes, and a recorded beacon can be replayed for at most
/// BEACON_WINDOW_SECONDS + 2 * BEACON_MAX_SKEW_SECONDS (70 minutes).
inline constexpr std::int64_t BEACON_MAX_SKEW_SECONDS = 300;

using BeaconBytes = std::array<std::uint8_t, BEACON_BYTES>;
using BeaconNonce = std::array<std::uint8_t, BEACON_NONCE_BYTES>;
using BeaconTag = std::array<std::uint8_t, BEACON_TAG_BYTES>;

/// The window of unix time now: floor(now / BEACON_WINDOW_SECONDS), for any int64 value.
[[nodiscard]] std::int64_t beaconWindow(std::int64_t now);

/// The beacon keys of this node and one peer: toPeer keys the tags this node makes for peer,
/// fromPeer the tags peer makes for this node. Both sides derive the same two keys, swapped:
///   shared   = X25519(own Curve25519 secret, peer's Curve25519 key)
///   toPeer   = BLAKE2b-256(BEACON_PAIR_DOMAIN || shared || curve(own) || curve(peer))
///   fromPeer = BLAKE2b-256(BEACON_PAIR_DOMAIN || shared || curve(peer) || curve(own))
/// Secret: never printed; wiped on destruction (copies too).
class BeaconPairKey {
 public:
  /// Empty when peer is not a usable Ed25519 point (toCurve refuses it), or is of an order
  /// that makes the X25519 result zero.
  [[nodiscard]] static std::optional<BeaconPairKey> derive(const CurveSecretKey& own,
                                                           const PublicKey& peer);
  [[nodiscard]] static std::optional<BeaconPairKey> derive(const SecretKey& own,
                                                           const PublicKey& peer);
  BeaconPairKey(const BeaconPairKey&) = default;
  BeaconPairKey& operator=(const BeaconPairKey&) = default;
  ~BeaconPairKey();

  const PublicKey& peer() const { return m_peer; }
  /// The tag this node puts in a beacon for peer, over the beacon's nonce, window and port.
  BeaconTag tagToPeer(std::span<const std::uint8_t> tagged) const;
  /// The tag peer puts in a beacon for this node.
  BeaconTag tagFromPeer(std::span<const std::uint8_t> tagged) const;

 private:
  BeaconPairKey() = default;
  PublicKey m_peer;
  std::array<std::uint8_t, BEACON_KEY_BYTES> m_toPeer{};
  std::array<std::uint8_t, BEACON_KEY_BYTES> m_fromPeer{};
};

/// The random bytes of one beacon: its nonce and the filler of the slots no peer uses.
struct BeaconRandom {
  BeaconNonce nonce{};
  std::array<BeaconTag, BEACON_TAG_SLOTS> filler{};
  /// Fresh from libsodium's randombytes.
  static BeaconRandom draw();
};

/// The beacon naming peers (at most BEACON_TAG_SLOTS; more is a bug) announcing port (1-65535;
/// 0 is a bug) at now (unix seconds, the sender's clock), with random's nonce and filler.
/// The same inputs give the same bytes (test vectors); senders use the overload that draws.
BeaconBytes encodeBeacon(std::span<const BeaconPairKey> peers, std::uint16_t port, std::int64_t now,
                         const BeaconRandom& random);
BeaconBytes encodeBeacon(std::span<const BeaconPairKey> peers, std::uint16_t port,
                         std::int64_t now);

/// A beacon a listed peer made for this node.
struct HeardBeacon {
  PublicKey peer;  // the listed peer whose tag it carries
  std::uint16_t port = 0;
  std::int64_t window = 0;
  BeaconNonce nonce{};
  bool operator==(const HeardBeacon&) const = default;
};

/// Why a datagram is not a beacon to act on. Checked in this order, the cheap checks first, so
/// a flood of junk costs no hashing; only a datagram that passes the first five costs one keyed
/// BLAKE2b per listed peer.
enum class BeaconProblem {
  WrongSize,     // not BEACON_BYTES long
  WrongMagic,    // not a fieldsync beacon
  WrongVersion,  // a beacon of another version
  ZeroPort,      // announces TCP port 0
  Stale,         // its window is not the receiver's (give or take BEACON_MAX_SKEW_SECONDS)
  NotForUs,      // no listed peer's tag: a stranger's, one for other nodes, or a forgery
};
std::string_view describe(BeaconProblem problem);

/// The checks of decodeBeacon that cost no hashing (all but NotForUs), for a caller that
/// budgets the rest; empty when bytes pass them.
[[nodiscard]] std::optional<BeaconProblem> checkBeaconHeader(std::span<const std::uint8_t> bytes,
                                                             std::int64_t now);

/// The beacon in bytes, received at now (unix seconds, the receiver's clock), as the peers in
/// listed (this node's pair keys) would have made it. The first of them whose tag it carries
/// is the one heard (two peers' tags in one beacon cannot happen but by a forger who holds
/// both pair keys). Work: one keyed BLAKE2b per listed peer, once the cheap checks pass.
Expected<HeardBeacon, BeaconProblem> decodeBeacon(std::span<const std::uint8_t> bytes,
                                                  std::span<const BeaconPairKey> listed,
                                                  std::int64_t now);

}  // namespace fieldsync::protocol
