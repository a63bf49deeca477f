#include "protocol/beacon.h"

#include <cassert>
#include <cstring>
#include <string>

namespace fieldsync::protocol {
namespace {

constexpr std::size_t VERSION_AT = BEACON_MAGIC.size();
constexpr std::size_t KEY_AT = VERSION_AT + 1;
constexpr std::size_t PORT_AT = KEY_AT + PUBLIC_KEY_BYTES;
constexpr std::size_t SENT_AT = PORT_AT + 2;
constexpr std::size_t SIGNATURE_AT = SENT_AT + 8;
static_assert(SIGNATURE_AT == BEACON_SIGNED_BYTES);
static_assert(BEACON_MAGIC.size() == 16);

/// What the signature covers: the domain tag, then the datagram up to the signature.
std::string signedMessage(std::span<const std::uint8_t> bytes) {
  std::string message(BEACON_DOMAIN);
  message.append(reinterpret_cast<const char*>(bytes.data()), BEACON_SIGNED_BYTES);
  return message;
}

std::span<const std::uint8_t> asBytes(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

/// True when sentAt is within BEACON_MAX_SKEW_SECONDS of now, for any two int64 values.
bool fresh(std::int64_t sentAt, std::int64_t now) {
  // The unsigned difference of the larger and the smaller is exact (it fits in 64 bits).
  const auto distance = sentAt > now
                            ? static_cast<std::uint64_t>(sentAt) - static_cast<std::uint64_t>(now)
                            : static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(sentAt);
  return distance <= static_cast<std::uint64_t>(BEACON_MAX_SKEW_SECONDS);
}

}  // namespace

BeaconBytes encodeBeacon(const SecretKey& key, std::uint16_t port, std::int64_t sentAt) {
  assert(port != 0);
  BeaconBytes bytes{};
  std::memcpy(bytes.data(), BEACON_MAGIC.data(), BEACON_MAGIC.size());
  bytes[VERSION_AT] = BEACON_VERSION;
  const PublicKey publicKey = key.publicKey();
  std::memcpy(bytes.data() + KEY_AT, publicKey.bytes.data(), PUBLIC_KEY_BYTES);
  bytes[PORT_AT] = static_cast<std::uint8_t>(port >> 8);
  bytes[PORT_AT + 1] = static_cast<std::uint8_t>(port);
  const auto time = static_cast<std::uint64_t>(sentAt);
  for (std::size_t i = 0; i < 8; ++i)
    bytes[SENT_AT + i] = static_cast<std::uint8_t>(time >> (56 - 8 * i));
  const Signature signature = key.sign(asBytes(signedMessage(bytes)));
  std::memcpy(bytes.data() + SIGNATURE_AT, signature.bytes.data(), SIGNATURE_BYTES);
  return bytes;
}

std::string_view describe(BeaconProblem problem) {
  switch (problem) {
    case BeaconProblem::WrongSize:
      return "not a beacon: wrong size";
    case BeaconProblem::WrongMagic:
      return "not a fieldsync beacon";
    case BeaconProblem::WrongVersion:
      return "a beacon of another version";
    case BeaconProblem::ZeroPort:
      return "a beacon announcing port 0";
    case BeaconProblem::Stale:
      return "a beacon sent more than 5 minutes from now: a replay, or a clock that is wrong";
    case BeaconProblem::BadSignature:
      return "a beacon not signed by the key it names";
  }
  return "unknown beacon problem";
}

Expected<Beacon, BeaconProblem> decodeBeacon(std::span<const std::uint8_t> bytes,
                                             std::int64_t now) {
  if (bytes.size() != BEACON_BYTES) return BeaconProblem::WrongSize;
  if (std::memcmp(bytes.data(), BEACON_MAGIC.data(), BEACON_MAGIC.size()) != 0)
    return BeaconProblem::WrongMagic;
  if (bytes[VERSION_AT] != BEACON_VERSION) return BeaconProblem::WrongVersion;
  Beacon beacon;
  std::memcpy(beacon.key.bytes.data(), bytes.data() + KEY_AT, PUBLIC_KEY_BYTES);
  beacon.port = static_cast<std::uint16_t>(bytes[PORT_AT] << 8 | bytes[PORT_AT + 1]);
  if (beacon.port == 0) return BeaconProblem::ZeroPort;
  std::uint64_t time = 0;
  for (std::size_t i = 0; i < 8; ++i) time = time << 8 | bytes[SENT_AT + i];
  beacon.sentAt = static_cast<std::int64_t>(time);
  if (!fresh(beacon.sentAt, now)) return BeaconProblem::Stale;
  Signature signature;
  std::memcpy(signature.bytes.data(), bytes.data() + SIGNATURE_AT, SIGNATURE_BYTES);
  if (!verifySignature(beacon.key, asBytes(signedMessage(bytes)), signature))
    return BeaconProblem::BadSignature;
  return beacon;
}

}  // namespace fieldsync::protocol
