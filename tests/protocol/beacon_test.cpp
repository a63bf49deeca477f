// The beacon datagram: its layout pinned by a test vector, a round trip, and every refusal.
// Datagrams that are wrong but validly signed are built here by hand from the documented
// layout, so each check is seen to refuse on its own, not because the signature broke.
#include "protocol/beacon.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <limits>
#include <string>

namespace fieldsync::protocol {
namespace {

constexpr std::int64_t NOW = 1'700'000'000;

SecretKey keyNumber(std::uint8_t n) {
  std::array<std::uint8_t, SEED_BYTES> seed{};
  seed.fill(n);
  return SecretKey::fromSeed(seed);
}

/// The fields of a datagram, any of them wrong, signed by signer as the layout says.
struct Fields {
  std::string magic{BEACON_MAGIC};
  std::uint8_t version = BEACON_VERSION;
  std::optional<PublicKey> key;  // default: the signer's
  std::uint16_t port = 7420;
  std::int64_t sentAt = NOW;
};

/// The datagram of fields (as Fields{} has them, then changed by change), signed by signer.
std::vector<std::uint8_t> signedDatagram(const SecretKey& signer,
                                         const std::function<void(Fields&)>& change = {}) {
  Fields fields;
  if (change) change(fields);
  std::vector<std::uint8_t> bytes(fields.magic.begin(), fields.magic.end());
  bytes.push_back(fields.version);
  const PublicKey key = fields.key.value_or(signer.publicKey());
  bytes.insert(bytes.end(), key.bytes.begin(), key.bytes.end());
  bytes.push_back(static_cast<std::uint8_t>(fields.port >> 8));
  bytes.push_back(static_cast<std::uint8_t>(fields.port));
  for (int shift = 56; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(fields.sentAt) >> shift));
  std::vector<std::uint8_t> message(BEACON_DOMAIN.begin(), BEACON_DOMAIN.end());
  message.insert(message.end(), bytes.begin(), bytes.end());
  const Signature signature = signer.sign(message);
  bytes.insert(bytes.end(), signature.bytes.begin(), signature.bytes.end());
  return bytes;
}

std::optional<BeaconProblem> problemOf(std::span<const std::uint8_t> bytes,
                                       std::int64_t now = NOW) {
  auto decoded = decodeBeacon(bytes, now);
  if (decoded) return std::nullopt;
  return decoded.error();
}

// Checked against another Ed25519 implementation (Python's cryptography package).
TEST(BeaconDatagram, EncodesAsTheTestVectorInProtocolMd) {
  const auto bytes = encodeBeacon(keyNumber(1), 7420, NOW);
  EXPECT_EQ(toHex(bytes),
            "6669656c6473796e632d626561636f6e"  // "fieldsync-beacon"
            "01"                                // version
            "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"  // key
            "1cfc"                                                              // port 7420
            "000000006553f100"                                                  // sentAt 1700000000
            "e10301b85c5b6aacd7aa109edcf6d3dcd724ec32659cd6f8a8de61427f29eff9"  // signature
            "5f159e0653830053b9ba77ff53b6edfa841c3b18241ed64850b555507eb7c70d");
}

TEST(BeaconDatagram, RoundTrips) {
  const auto key = keyNumber(2);
  const auto bytes = encodeBeacon(key, 65535, NOW);
  ASSERT_EQ(bytes.size(), BEACON_BYTES);
  const auto beacon = decodeBeacon(bytes, NOW);
  ASSERT_TRUE(beacon) << describe(beacon.error());
  EXPECT_EQ(beacon->key, key.publicKey());
  EXPECT_EQ(beacon->port, 65535);
  EXPECT_EQ(beacon->sentAt, NOW);
  // The layout written by hand is the one encoded.
  const auto byHand = signedDatagram(key, [](Fields& f) { f.port = 65535; });
  EXPECT_EQ(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), byHand);
}

TEST(BeaconDatagram, EveryFlippedBitIsRefused) {
  const auto bytes = encodeBeacon(keyNumber(3), 7420, NOW);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto damaged = bytes;
      damaged[i] ^= static_cast<std::uint8_t>(1u << bit);
      EXPECT_FALSE(decodeBeacon(damaged, NOW)) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(BeaconDatagram, WrongSizeIsRefused) {
  const auto bytes = encodeBeacon(keyNumber(4), 7420, NOW);
  const std::span<const std::uint8_t> all(bytes);
  EXPECT_EQ(problemOf(all.first(0)), BeaconProblem::WrongSize);
  EXPECT_EQ(problemOf(all.first(BEACON_BYTES - 1)), BeaconProblem::WrongSize);
  std::vector<std::uint8_t> longer(bytes.begin(), bytes.end());
  longer.push_back(0);
  EXPECT_EQ(problemOf(longer), BeaconProblem::WrongSize);
}

TEST(BeaconDatagram, WrongMagicOrVersionIsRefusedEvenWhenSigned) {
  const auto key = keyNumber(5);
  EXPECT_EQ(problemOf(signedDatagram(key, [&](Fields& f) { f.magic = "fieldsync-beacoN"; })),
            BeaconProblem::WrongMagic);
  EXPECT_EQ(problemOf(signedDatagram(key, [&](Fields& f) { f.version = 0; })),
            BeaconProblem::WrongVersion);
  EXPECT_EQ(problemOf(signedDatagram(key, [&](Fields& f) { f.version = 2; })),
            BeaconProblem::WrongVersion);
}

TEST(BeaconDatagram, PortZeroIsRefusedEvenWhenSigned) {
  EXPECT_EQ(problemOf(signedDatagram(keyNumber(6), [&](Fields& f) { f.port = 0; })),
            BeaconProblem::ZeroPort);
}

TEST(BeaconDatagram, TimestampMoreThanFiveMinutesFromNowIsRefused) {
  const auto key = keyNumber(7);
  const auto bytes = encodeBeacon(key, 7420, NOW);
  EXPECT_TRUE(decodeBeacon(bytes, NOW + BEACON_MAX_SKEW_SECONDS));
  EXPECT_TRUE(decodeBeacon(bytes, NOW - BEACON_MAX_SKEW_SECONDS));
  EXPECT_EQ(problemOf(bytes, NOW + BEACON_MAX_SKEW_SECONDS + 1), BeaconProblem::Stale);
  EXPECT_EQ(problemOf(bytes, NOW - BEACON_MAX_SKEW_SECONDS - 1), BeaconProblem::Stale);
  // The far ends of the clock, without overflow (UBSan watches).
  constexpr auto MIN = std::numeric_limits<std::int64_t>::min();
  constexpr auto MAX = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(problemOf(signedDatagram(key, [&](Fields& f) { f.sentAt = MIN; }), MAX),
            BeaconProblem::Stale);
  EXPECT_EQ(problemOf(signedDatagram(key, [&](Fields& f) { f.sentAt = MAX; }), MIN),
            BeaconProblem::Stale);
  EXPECT_TRUE(decodeBeacon(signedDatagram(key, [&](Fields& f) { f.sentAt = MIN; }), MIN));
}

TEST(BeaconDatagram, SignatureOfAnotherKeyIsRefused) {
  // Signed by key 8, naming key 9: a forgery of 9's beacon.
  EXPECT_EQ(
      problemOf(signedDatagram(keyNumber(8), [&](Fields& f) { f.key = keyNumber(9).publicKey(); })),
      BeaconProblem::BadSignature);
}

TEST(BeaconDatagram, SignatureWithoutTheDomainTagIsRefused) {
  // The same fields signed without "fieldsync/beacon/v1" in front: not a beacon signature.
  const auto key = keyNumber(10);
  auto bytes = encodeBeacon(key, 7420, NOW);
  const Signature bare = key.sign(std::span<const std::uint8_t>(bytes).first(BEACON_SIGNED_BYTES));
  std::memcpy(bytes.data() + BEACON_SIGNED_BYTES, bare.bytes.data(), SIGNATURE_BYTES);
  EXPECT_EQ(problemOf(bytes), BeaconProblem::BadSignature);
}

TEST(BeaconDatagram, EveryProblemIsDescribed) {
  for (auto problem :
       {BeaconProblem::WrongSize, BeaconProblem::WrongMagic, BeaconProblem::WrongVersion,
        BeaconProblem::ZeroPort, BeaconProblem::Stale, BeaconProblem::BadSignature})
    EXPECT_FALSE(describe(problem).empty());
}

}  // namespace
}  // namespace fieldsync::protocol
