#include "protocol/beacon.h"

#include <sodium.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>

namespace fieldsync::protocol {
namespace {

constexpr std::size_t VERSION_AT = BEACON_MAGIC.size();
constexpr std::size_t NONCE_AT = VERSION_AT + 1;
constexpr std::size_t WINDOW_AT = NONCE_AT + BEACON_NONCE_BYTES;
constexpr std::size_t PORT_AT = WINDOW_AT + 8;
constexpr std::size_t TAGS_AT = PORT_AT + 2;
static_assert(TAGS_AT == BEACON_HEADER_BYTES);
static_assert(BEACON_MAGIC.size() == 16);
static_assert(BEACON_KEY_BYTES == crypto_generichash_KEYBYTES);
static_assert(BEACON_TAG_BYTES >= crypto_generichash_BYTES_MIN);
static_assert(CURVE_KEY_BYTES == crypto_scalarmult_BYTES);
static_assert(BEACON_TAG_BYTES == crypto_verify_16_BYTES);

/// What a tag covers: nonce || window || port, one run of the datagram.
std::span<const std::uint8_t> tagged(std::span<const std::uint8_t> bytes) {
  return bytes.subspan(NONCE_AT, TAGS_AT - NONCE_AT);
}

BeaconTag tagUnder(const std::array<std::uint8_t, BEACON_KEY_BYTES>& key,
                   std::span<const std::uint8_t> message) {
  BeaconTag tag;
  crypto_generichash(tag.data(), tag.size(), message.data(), message.size(), key.data(),
                     key.size());
  return tag;
}

std::array<std::uint8_t, BEACON_KEY_BYTES> pairKey(
    std::span<const std::uint8_t, CURVE_KEY_BYTES> shared, const CurvePublicKey& sender,
    const CurvePublicKey& receiver) {
  std::array<std::uint8_t, BEACON_KEY_BYTES> key;
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, key.size());
  crypto_generichash_update(&state,
                            reinterpret_cast<const unsigned char*>(BEACON_PAIR_DOMAIN.data()),
                            BEACON_PAIR_DOMAIN.size());
  crypto_generichash_update(&state, shared.data(), shared.size());
  crypto_generichash_update(&state, sender.bytes.data(), sender.bytes.size());
  crypto_generichash_update(&state, receiver.bytes.data(), receiver.bytes.size());
  crypto_generichash_final(&state, key.data(), key.size());
  sodium_memzero(&state, sizeof state);
  return key;
}

/// Where the datagram is at least BEACON_HEADER_BYTES long.
std::uint16_t portOf(std::span<const std::uint8_t> bytes) {
  return static_cast<std::uint16_t>(bytes[PORT_AT] << 8 | bytes[PORT_AT + 1]);
}

std::int64_t windowOf(std::span<const std::uint8_t> bytes) {
  std::uint64_t window = 0;
  for (std::size_t i = 0; i < 8; ++i) window = window << 8 | bytes[WINDOW_AT + i];
  return static_cast<std::int64_t>(window);
}

/// now + delta, held within the int64 range.
std::int64_t saturatingAdd(std::int64_t now, std::int64_t delta) {
  if (delta > 0 && now > std::numeric_limits<std::int64_t>::max() - delta)
    return std::numeric_limits<std::int64_t>::max();
  if (delta < 0 && now < std::numeric_limits<std::int64_t>::min() - delta)
    return std::numeric_limits<std::int64_t>::min();
  return now + delta;
}

}  // namespace

std::int64_t beaconWindow(std::int64_t now) {
  // Rounded toward minus infinity, so the hour before 1970 is -1, not 0.
  const std::int64_t quotient = now / BEACON_WINDOW_SECONDS;
  return now % BEACON_WINDOW_SECONDS < 0 ? quotient - 1 : quotient;
}

std::optional<BeaconPairKey> BeaconPairKey::derive(const CurveSecretKey& own,
                                                   const PublicKey& peer) {
  const auto peerCurve = toCurve(peer);
  if (!peerCurve) return std::nullopt;
  std::array<std::uint8_t, CURVE_KEY_BYTES> shared;
  // Refuses (-1) a result of all zeros: a peer key of small order, which any key would share.
  if (crypto_scalarmult(shared.data(), own.bytes().data(), peerCurve->bytes.data()) != 0)
    return std::nullopt;
  const CurvePublicKey ownCurve = own.publicKey();
  BeaconPairKey key;
  key.m_peer = peer;
  key.m_toPeer = pairKey(shared, ownCurve, *peerCurve);
  key.m_fromPeer = pairKey(shared, *peerCurve, ownCurve);
  sodium_memzero(shared.data(), shared.size());
  return key;
}

std::optional<BeaconPairKey> BeaconPairKey::derive(const SecretKey& own, const PublicKey& peer) {
  return derive(own.curveSecretKey(), peer);
}

BeaconPairKey::~BeaconPairKey() {
  sodium_memzero(m_toPeer.data(), m_toPeer.size());
  sodium_memzero(m_fromPeer.data(), m_fromPeer.size());
}

BeaconTag BeaconPairKey::tagToPeer(std::span<const std::uint8_t> message) const {
  return tagUnder(m_toPeer, message);
}

BeaconTag BeaconPairKey::tagFromPeer(std::span<const std::uint8_t> message) const {
  return tagUnder(m_fromPeer, message);
}

BeaconRandom BeaconRandom::draw() {
  BeaconRandom random;
  randombytes_buf(random.nonce.data(), random.nonce.size());
  for (auto& slot : random.filler) randombytes_buf(slot.data(), slot.size());
  return random;
}

BeaconBytes encodeBeacon(std::span<const BeaconPairKey> peers, std::uint16_t port, std::int64_t now,
                         const BeaconRandom& random) {
  assert(port != 0);
  assert(peers.size() <= BEACON_TAG_SLOTS);
  BeaconBytes bytes{};
  std::memcpy(bytes.data(), BEACON_MAGIC.data(), BEACON_MAGIC.size());
  bytes[VERSION_AT] = BEACON_VERSION;
  std::memcpy(bytes.data() + NONCE_AT, random.nonce.data(), BEACON_NONCE_BYTES);
  const auto window = static_cast<std::uint64_t>(beaconWindow(now));
  for (std::size_t i = 0; i < 8; ++i)
    bytes[WINDOW_AT + i] = static_cast<std::uint8_t>(window >> (56 - 8 * i));
  bytes[PORT_AT] = static_cast<std::uint8_t>(port >> 8);
  bytes[PORT_AT + 1] = static_cast<std::uint8_t>(port);

  std::array<BeaconTag, BEACON_TAG_SLOTS> slots = random.filler;
  for (std::size_t i = 0; i < peers.size(); ++i) slots[i] = peers[i].tagToPeer(tagged(bytes));
  // Sorted, so where a tag sits says nothing about which peer (or how many) it names.
  std::sort(slots.begin(), slots.end());
  for (std::size_t i = 0; i < BEACON_TAG_SLOTS; ++i)
    std::memcpy(bytes.data() + TAGS_AT + i * BEACON_TAG_BYTES, slots[i].data(), BEACON_TAG_BYTES);
  return bytes;
}

BeaconBytes encodeBeacon(std::span<const BeaconPairKey> peers, std::uint16_t port,
                         std::int64_t now) {
  return encodeBeacon(peers, port, now, BeaconRandom::draw());
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
      return "a beacon of another hour: a replay, or a clock more than 5 minutes wrong";
    case BeaconProblem::NotForUs:
      return "a beacon of no listed peer (a stranger's, one for other nodes, or a forgery)";
  }
  return "unknown beacon problem";
}

std::optional<BeaconProblem> checkBeaconHeader(std::span<const std::uint8_t> bytes,
                                               std::int64_t now) {
  if (bytes.size() != BEACON_BYTES) return BeaconProblem::WrongSize;
  if (std::memcmp(bytes.data(), BEACON_MAGIC.data(), BEACON_MAGIC.size()) != 0)
    return BeaconProblem::WrongMagic;
  if (bytes[VERSION_AT] != BEACON_VERSION) return BeaconProblem::WrongVersion;
  if (portOf(bytes) == 0) return BeaconProblem::ZeroPort;
  const std::int64_t window = windowOf(bytes);
  if (window < beaconWindow(saturatingAdd(now, -BEACON_MAX_SKEW_SECONDS)) ||
      window > beaconWindow(saturatingAdd(now, BEACON_MAX_SKEW_SECONDS)))
    return BeaconProblem::Stale;
  return std::nullopt;
}

Expected<HeardBeacon, BeaconProblem> decodeBeacon(std::span<const std::uint8_t> bytes,
                                                  std::span<const BeaconPairKey> listed,
                                                  std::int64_t now) {
  if (const auto problem = checkBeaconHeader(bytes, now)) return *problem;
  HeardBeacon heard;
  heard.port = portOf(bytes);
  heard.window = windowOf(bytes);
  std::memcpy(heard.nonce.data(), bytes.data() + NONCE_AT, BEACON_NONCE_BYTES);
  for (const BeaconPairKey& peer : listed) {
    const BeaconTag expected = peer.tagFromPeer(tagged(bytes));
    for (std::size_t i = 0; i < BEACON_TAG_SLOTS; ++i) {
      if (crypto_verify_16(bytes.data() + TAGS_AT + i * BEACON_TAG_BYTES, expected.data()) == 0) {
        heard.peer = peer.peer();
        return heard;
      }
    }
  }
  return BeaconProblem::NotForUs;
}

}  // namespace fieldsync::protocol
