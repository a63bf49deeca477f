#pragma once
// The LAN beacon datagram: "I am KEY, and my `serve` listens on TCP PORT", signed by KEY, so
// peers on the same LAN learn where a listed peer is (node/beacon.h sends and hears them).
// Pure: bytes in, bytes out; no sockets, no clock (the caller gives the time).
//
// What a beacon proves: that KEY signed these fields within BEACON_MAX_SKEW_SECONDS of the
// receiver's clock. It does not prove where it came from: the sender's IP address is not in
// it (the receiver takes it from the datagram), so anyone on the LAN can re-send a fresh
// beacon from another address. That is acceptable because an address only says where to dial:
// the CurveZMQ link still proves the key, and a wrong address costs a failed connection.
//
// Threads: all functions are safe to call from any thread.
// Errors: refused datagrams are Expected<..., BeaconProblem>; encoding a port of 0 is a bug.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/error.h"
#include "protocol/keys.h"

namespace fieldsync::protocol {

/// The first 16 bytes of every beacon.
inline constexpr std::string_view BEACON_MAGIC = "fieldsync-beacon";
inline constexpr std::uint8_t BEACON_VERSION = 1;
/// Signed in front of the fields, so a beacon signature is never valid as anything else.
inline constexpr std::string_view BEACON_DOMAIN = "fieldsync/beacon/v1";
/// magic (16) || version (1) || key (32) || port (2, BE) || sentAt (8, BE) || signature (64).
inline constexpr std::size_t BEACON_SIGNED_BYTES = 16 + 1 + PUBLIC_KEY_BYTES + 2 + 8;
inline constexpr std::size_t BEACON_BYTES = BEACON_SIGNED_BYTES + SIGNATURE_BYTES;  // 123
/// A beacon whose sentAt is further than this from the receiver's clock is refused, so a
/// recorded beacon cannot be replayed later (and clocks must agree within 5 minutes).
inline constexpr std::int64_t BEACON_MAX_SKEW_SECONDS = 300;

using BeaconBytes = std::array<std::uint8_t, BEACON_BYTES>;

/// A checked beacon: key signed that its `serve` listens on TCP port (1-65535) at sentAt.
struct Beacon {
  PublicKey key;
  std::uint16_t port = 0;
  std::int64_t sentAt = 0;  // unix seconds, the sender's clock
  bool operator==(const Beacon&) const = default;
};

/// The beacon of key's public key announcing port (1-65535; 0 is a bug) at sentAt.
BeaconBytes encodeBeacon(const SecretKey& key, std::uint16_t port, std::int64_t sentAt);

/// Why a datagram is not a beacon to act on. Checked in this order, the cheap checks first, so
/// a flood of junk costs no signature checks.
enum class BeaconProblem {
  WrongSize,     // not BEACON_BYTES long
  WrongMagic,    // not a fieldsync beacon
  WrongVersion,  // a beacon of another version
  ZeroPort,      // announces TCP port 0
  Stale,         // sentAt more than BEACON_MAX_SKEW_SECONDS from now: a replay, or a bad clock
  BadSignature,  // not signed by the key it names (or that key is not a usable point)
};
std::string_view describe(BeaconProblem problem);

/// The beacon in bytes, received at now (unix seconds, the receiver's clock).
Expected<Beacon, BeaconProblem> decodeBeacon(std::span<const std::uint8_t> bytes, std::int64_t now);

}  // namespace fieldsync::protocol
