// The private beacon datagram: its layout pinned by a test vector, who can read it (the peers
// it names, and nobody else: not strangers, not the sender itself), what it does not carry
// (a key, or anything two beacons of one node share), and every refusal in its order.
#include "protocol/beacon.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace fieldsync::protocol {
namespace {

constexpr std::int64_t NOW = 1'700'000'000;  // in window 472222 (2023-11-14 22:00 to 23:00 UTC)

SecretKey keyNumber(std::uint8_t n) {
  std::array<std::uint8_t, SEED_BYTES> seed{};
  seed.fill(n);
  return SecretKey::fromSeed(seed);
}

BeaconPairKey pair(const SecretKey& own, const SecretKey& peer) {
  auto key = BeaconPairKey::derive(own, peer.publicKey());
  EXPECT_TRUE(key);
  return *key;
}

/// Nonce 00 01 .. 0f; filler slot i: 16 bytes of 0x80 + i.
BeaconRandom fixedRandom() {
  BeaconRandom random;
  for (std::size_t i = 0; i < random.nonce.size(); ++i)
    random.nonce[i] = static_cast<std::uint8_t>(i);
  for (std::size_t i = 0; i < random.filler.size(); ++i)
    random.filler[i].fill(static_cast<std::uint8_t>(0x80 + i));
  return random;
}

std::optional<BeaconProblem> problemOf(std::span<const std::uint8_t> bytes,
                                       std::span<const BeaconPairKey> listed,
                                       std::int64_t now = NOW) {
  auto decoded = decodeBeacon(bytes, listed, now);
  if (decoded) return std::nullopt;
  return decoded.error();
}

/// Whether any run of 8 bytes of needle occurs in haystack.
bool sharesEightBytes(std::span<const std::uint8_t> haystack,
                      std::span<const std::uint8_t> needle) {
  for (std::size_t at = 0; at + 8 <= needle.size(); ++at) {
    const auto run = needle.subspan(at, 8);
    if (std::search(haystack.begin(), haystack.end(), run.begin(), run.end()) != haystack.end())
      return true;
  }
  return false;
}

// The pair key and tag checked against an independent implementation (Python: hashlib's
// BLAKE2b, the cryptography package's X25519, the Ed25519-to-Curve25519 maps written out).
TEST(BeaconDatagram, EncodesAsTheTestVectorInProtocolMd) {
  const auto north = keyNumber(1), south = keyNumber(2);
  const BeaconPairKey northSouth = pair(north, south);
  const auto bytes = encodeBeacon(std::span(&northSouth, 1), 7420, NOW, fixedRandom());
  const std::span<const std::uint8_t> all(bytes);
  EXPECT_EQ(toHex(all.first(BEACON_HEADER_BYTES)),
            "6669656c6473796e632d626561636f6e"  // "fieldsync-beacon"
            "02"                                // version
            "000102030405060708090a0b0c0d0e0f"  // nonce
            "000000000007349e"                  // window 472222
            "1cfc");                            // port 7420
  const BeaconTag tag = northSouth.tagToPeer(all.subspan(17, 26));
  EXPECT_EQ(toHex(tag), "0a2d4d7527adf99371264edad465221a");
  // The slots: the 31 filler slots not used and the tag, sorted (the tag's first byte, 0x0a,
  // puts it first: every filler byte is 0x80 or more).
  EXPECT_EQ(toHex(all.subspan(BEACON_HEADER_BYTES, BEACON_TAG_BYTES)), toHex(tag));
  for (std::size_t slot = 1; slot < BEACON_TAG_SLOTS; ++slot) {
    BeaconTag filler;
    filler.fill(static_cast<std::uint8_t>(0x80 + slot));
    EXPECT_EQ(toHex(all.subspan(BEACON_HEADER_BYTES + slot * BEACON_TAG_BYTES, BEACON_TAG_BYTES)),
              toHex(filler))
        << "slot " << slot;
  }
}

TEST(BeaconPairKey, BothEndsDeriveTheSameKeysSwapped) {
  const auto north = keyNumber(1), south = keyNumber(2);
  const auto northSouth = pair(north, south), southNorth = pair(south, north);
  const std::vector<std::uint8_t> message(26, 7);
  EXPECT_EQ(northSouth.peer(), south.publicKey());
  EXPECT_EQ(northSouth.tagToPeer(message), southNorth.tagFromPeer(message));
  EXPECT_EQ(northSouth.tagFromPeer(message), southNorth.tagToPeer(message));
  // Directional: a node's tag for its peer is not the one it expects from that peer.
  EXPECT_NE(northSouth.tagToPeer(message), northSouth.tagFromPeer(message));
  // Another pair, other keys.
  EXPECT_NE(pair(north, keyNumber(3)).tagToPeer(message), northSouth.tagToPeer(message));
}

TEST(BeaconPairKey, KeyThatIsNotAUsablePointHasNone) {
  PublicKey identity;  // the neutral point: of small order, any X25519 with it is zero
  identity.bytes[0] = 1;
  EXPECT_FALSE(BeaconPairKey::derive(keyNumber(1), identity));
  PublicKey offCurve;
  offCurve.bytes.fill(0xff);
  EXPECT_FALSE(BeaconPairKey::derive(keyNumber(1), offCurve));
}

TEST(BeaconDatagram, EveryNamedPeerHearsItAndSaysWhoSentIt) {
  const auto north = keyNumber(1);
  std::vector<SecretKey> peers;
  std::vector<BeaconPairKey> named;
  for (std::uint8_t n = 10; n < 10 + BEACON_TAG_SLOTS; ++n) {
    peers.push_back(keyNumber(n));
    named.push_back(pair(north, peers.back()));
  }
  const auto random = BeaconRandom::draw();
  const auto bytes = encodeBeacon(named, 65535, NOW, random);
  for (const auto& peer : peers) {
    // Each peer lists north among others (listed first or last makes no difference).
    const std::vector<BeaconPairKey> listed{pair(peer, keyNumber(99)), pair(peer, north)};
    const auto heard = decodeBeacon(bytes, listed, NOW);
    ASSERT_TRUE(heard) << describe(heard.error());
    EXPECT_EQ(*heard, (HeardBeacon{.peer = north.publicKey(),
                                   .port = 65535,
                                   .window = beaconWindow(NOW),
                                   .nonce = random.nonce}));
  }
}

TEST(BeaconDatagram, StrangersAndPeersItDoesNotNameCannotReadIt) {
  const auto north = keyNumber(1), south = keyNumber(2), east = keyNumber(3);
  const BeaconPairKey northSouth = pair(north, south);
  const auto bytes = encodeBeacon(std::span(&northSouth, 1), 7420, NOW);
  // east lists north, but north's beacon names only south.
  const std::vector<BeaconPairKey> eastListed{pair(east, north), pair(east, south)};
  EXPECT_EQ(problemOf(bytes, eastListed), BeaconProblem::NotForUs);
  // A node that lists nobody hears nobody.
  EXPECT_EQ(problemOf(bytes, {}), BeaconProblem::NotForUs);
}

TEST(BeaconDatagram, ANodeDoesNotTakeItsOwnBeaconForItsPeers) {
  // Broadcasts come back to the sender: its tag for south is not the one it expects from south.
  const auto north = keyNumber(1), south = keyNumber(2);
  const BeaconPairKey northSouth = pair(north, south);
  const auto bytes = encodeBeacon(std::span(&northSouth, 1), 7420, NOW);
  EXPECT_EQ(problemOf(bytes, std::span(&northSouth, 1)), BeaconProblem::NotForUs);
}

TEST(BeaconDatagram, APeerCannotPassForAnotherPeer) {
  // east, listed by south, makes a beacon with every tag it can make: south hears east.
  const auto south = keyNumber(2), north = keyNumber(1), east = keyNumber(3);
  const BeaconPairKey eastSouth = pair(east, south);
  const auto bytes = encodeBeacon(std::span(&eastSouth, 1), 7420, NOW);
  const std::vector<BeaconPairKey> southListed{pair(south, north), pair(south, east)};
  const auto heard = decodeBeacon(bytes, southListed, NOW);
  ASSERT_TRUE(heard);
  EXPECT_EQ(heard->peer, east.publicKey());
}

TEST(BeaconDatagram, CarriesNoKeyAndNothingTwoBeaconsOfANodeShare) {
  const auto north = keyNumber(1);
  std::vector<BeaconPairKey> named;
  std::vector<PublicKey> keys{north.publicKey()};
  for (std::uint8_t n = 10; n < 15; ++n) {
    named.push_back(pair(north, keyNumber(n)));
    keys.push_back(keyNumber(n).publicKey());
  }
  const auto first = encodeBeacon(named, 7420, NOW);
  const auto second = encodeBeacon(named, 7420, NOW);
  const auto noPeers = encodeBeacon({}, 7420, NOW);
  for (const auto* bytes : {&first, &second, &noPeers}) {
    for (const auto& key : keys) {
      EXPECT_FALSE(sharesEightBytes(*bytes, key.bytes));
      EXPECT_FALSE(sharesEightBytes(*bytes, toCurve(key)->bytes));
    }
  }
  // Only magic, version, window and port repeat: the nonce and every slot are new.
  const std::span<const std::uint8_t> a(first), b(second);
  EXPECT_TRUE(std::ranges::equal(a.first(17), b.first(17)));
  EXPECT_TRUE(std::ranges::equal(a.subspan(33, 10), b.subspan(33, 10)));
  EXPECT_FALSE(sharesEightBytes(a.subspan(17, 16), b.subspan(17, 16)));
  EXPECT_FALSE(sharesEightBytes(a.subspan(BEACON_HEADER_BYTES), b.subspan(BEACON_HEADER_BYTES)));
}

TEST(BeaconDatagram, WindowIsTheHourRoundedDown) {
  EXPECT_EQ(beaconWindow(0), 0);
  EXPECT_EQ(beaconWindow(3599), 0);
  EXPECT_EQ(beaconWindow(3600), 1);
  EXPECT_EQ(beaconWindow(-1), -1);
  EXPECT_EQ(beaconWindow(-3600), -1);
  EXPECT_EQ(beaconWindow(-3601), -2);
  EXPECT_EQ(beaconWindow(NOW), 472222);
  constexpr auto MIN = std::numeric_limits<std::int64_t>::min();
  constexpr auto MAX = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(beaconWindow(MAX), MAX / 3600);
  EXPECT_EQ(beaconWindow(MIN), MIN / 3600 - 1);
}

TEST(BeaconDatagram, HeardFromFiveMinutesBeforeItsHourToFiveMinutesAfter) {
  const auto north = keyNumber(1), south = keyNumber(2);
  const BeaconPairKey northSouth = pair(north, south);
  const BeaconPairKey southNorth = pair(south, north);
  const std::span<const BeaconPairKey> listed(&southNorth, 1);
  const std::int64_t start = beaconWindow(NOW) * 3600;
  const auto bytes = encodeBeacon(std::span(&northSouth, 1), 7420, NOW);
  EXPECT_TRUE(decodeBeacon(bytes, listed, start - 300));
  EXPECT_TRUE(decodeBeacon(bytes, listed, start + 3599 + 300));
  EXPECT_EQ(problemOf(bytes, listed, start - 301), BeaconProblem::Stale);
  EXPECT_EQ(problemOf(bytes, listed, start + 3600 + 300), BeaconProblem::Stale);
  // The far ends of the clock, without overflow (UBSan watches).
  constexpr auto MIN = std::numeric_limits<std::int64_t>::min();
  constexpr auto MAX = std::numeric_limits<std::int64_t>::max();
  const auto atMin = encodeBeacon(std::span(&northSouth, 1), 7420, MIN);
  const auto atMax = encodeBeacon(std::span(&northSouth, 1), 7420, MAX);
  EXPECT_TRUE(decodeBeacon(atMin, listed, MIN));
  EXPECT_TRUE(decodeBeacon(atMax, listed, MAX));
  EXPECT_EQ(problemOf(atMin, listed, MAX), BeaconProblem::Stale);
  EXPECT_EQ(problemOf(atMax, listed, MIN), BeaconProblem::Stale);
}

TEST(BeaconDatagram, RefusalsComeInTheirOrder) {
  const auto north = keyNumber(1), south = keyNumber(2);
  const BeaconPairKey northSouth = pair(north, south);
  const BeaconPairKey southNorth = pair(south, north);
  const std::span<const BeaconPairKey> listed(&southNorth, 1);
  const auto bytes = encodeBeacon(std::span(&northSouth, 1), 7420, NOW);
  ASSERT_EQ(problemOf(bytes, listed), std::nullopt);

  const std::vector<std::uint8_t> valid(bytes.begin(), bytes.end());
  EXPECT_EQ(problemOf(std::span(valid).first(0), listed), BeaconProblem::WrongSize);
  EXPECT_EQ(problemOf(std::span(valid).first(BEACON_BYTES - 1), listed), BeaconProblem::WrongSize);
  auto longer = valid;
  longer.push_back(0);
  EXPECT_EQ(problemOf(longer, listed), BeaconProblem::WrongSize);
  auto magic = valid;
  magic[15] = 'N';
  EXPECT_EQ(problemOf(magic, listed), BeaconProblem::WrongMagic);
  for (int version : {0, 1, 3, 255}) {
    auto other = valid;
    other[16] = static_cast<std::uint8_t>(version);
    EXPECT_EQ(problemOf(other, listed), BeaconProblem::WrongVersion);
  }
  auto portZero = valid;
  portZero[41] = portZero[42] = 0;
  EXPECT_EQ(problemOf(portZero, listed), BeaconProblem::ZeroPort);
  auto lastHour = valid;
  lastHour[42 - 2] = 0x9d;  // window 472221 (0x07349d)
  EXPECT_EQ(problemOf(lastHour, listed), BeaconProblem::Stale);
  // The version before this one: 123 bytes, so refused by its size first.
  EXPECT_EQ(problemOf(std::span(valid).first(123), listed), BeaconProblem::WrongSize);
}

TEST(BeaconDatagram, AnyChangeToTheTaggedPartOrTheTagIsRefusedAndTheFillerIsIgnored) {
  const auto north = keyNumber(1), south = keyNumber(2);
  const BeaconPairKey northSouth = pair(north, south);
  const BeaconPairKey southNorth = pair(south, north);
  const std::span<const BeaconPairKey> listed(&southNorth, 1);
  const auto bytes = encodeBeacon(std::span(&northSouth, 1), 7420, NOW);
  const BeaconTag tag = northSouth.tagToPeer(std::span<const std::uint8_t>(bytes).subspan(17, 26));
  std::size_t tagSlot = BEACON_TAG_SLOTS;
  for (std::size_t slot = 0; slot < BEACON_TAG_SLOTS; ++slot) {
    if (std::memcmp(bytes.data() + BEACON_HEADER_BYTES + slot * BEACON_TAG_BYTES, tag.data(),
                    tag.size()) == 0)
      tagSlot = slot;
  }
  ASSERT_LT(tagSlot, BEACON_TAG_SLOTS);
  for (std::size_t i = 0; i < BEACON_BYTES; ++i) {
    const bool inFiller =
        i >= BEACON_HEADER_BYTES && (i - BEACON_HEADER_BYTES) / BEACON_TAG_BYTES != tagSlot;
    for (int bit = 0; bit < 8; ++bit) {
      auto changed = bytes;
      changed[i] ^= static_cast<std::uint8_t>(1 << bit);
      EXPECT_EQ(decodeBeacon(changed, listed, NOW).ok(), inFiller)
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST(BeaconDatagram, EveryProblemIsDescribed) {
  for (auto problem :
       {BeaconProblem::WrongSize, BeaconProblem::WrongMagic, BeaconProblem::WrongVersion,
        BeaconProblem::ZeroPort, BeaconProblem::Stale, BeaconProblem::NotForUs})
    EXPECT_FALSE(describe(problem).empty());
}

}  // namespace
}  // namespace fieldsync::protocol
