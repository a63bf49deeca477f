// protocol::decodeBeacon on arbitrary datagrams, as anyone on the LAN may send them to the
// beacon port, heard by the fixed key (fuzz_check.h) listing two peers: P (seed 7s) and Q
// (seed 8s). Input: 8 bytes of the receiver's clock (`now`, big-endian signed), then the
// datagram. Checks, besides the absence of crashes, leaks and undefined behaviour:
//  - the checks come in their documented order: a datagram that is not BEACON_BYTES long is
//    WrongSize, then the magic, the version, port 0 and the window are judged, by
//    checkBeaconHeader alike, before any tag (so a flood of junk costs no hashing); a datagram
//    that passes them is NotForUs to a node that lists nobody;
//  - the window is judged without overflow for any two int64 values: accepted exactly when
//    some instant within BEACON_MAX_SKEW_SECONDS of now lies in it (computed here in 128 bits);
//  - an accepted beacon is what the datagram says: the port and window and nonce at their
//    offsets, and the peer one of the two listed, whose own tag for the fixed key (computed from
//    its side of the pair) is in one of the slots; the fixed key's own tag for that peer is not
//    what made it heard (keys are directional: a node never hears its own beacon as a peer's);
//  - with one byte changed (chosen by the input), a beacon is heard exactly when the tag a
//    listed peer makes for the changed nonce, window and port (computed from the peer's side
//    of the pair) is in a slot, as the first such peer: a change to what the tags cover is
//    refused, and a change to a slot other than the heard tag's keeps it heard.

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "protocol/beacon.h"

using namespace fieldsync::protocol;

namespace {

std::int64_t readTime(const std::uint8_t* at) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = value << 8 | at[i];
  return static_cast<std::int64_t>(value);
}

SecretKey keyOf(std::uint8_t fill) {
  std::array<std::uint8_t, SEED_BYTES> seed{};
  seed.fill(fill);
  return SecretKey::fromSeed(seed);
}

/// The two listed peers, and each side's pair keys; made once (an X25519 each).
struct Pairs {
  std::vector<BeaconPairKey> listed;     // the fixed key's view of P and Q
  std::vector<BeaconPairKey> peersView;  // P's and Q's view of the fixed key
};

const Pairs& pairs() {
  static const Pairs made = [] {
    Pairs p;
    for (std::uint8_t fill : {std::uint8_t{7}, std::uint8_t{8}}) {
      const SecretKey peer = keyOf(fill);
      p.listed.push_back(*BeaconPairKey::derive(fuzz::fixedKey(), peer.publicKey()));
      p.peersView.push_back(*BeaconPairKey::derive(peer, fuzz::fixedKey().publicKey()));
    }
    return p;
  }();
  return made;
}

bool windowAccepted(std::int64_t window, std::int64_t now) {
  const __int128 start = static_cast<__int128>(window) * BEACON_WINDOW_SECONDS;
  const __int128 end = start + BEACON_WINDOW_SECONDS;  // exclusive
  return start <= static_cast<__int128>(now) + BEACON_MAX_SKEW_SECONDS &&
         end > static_cast<__int128>(now) - BEACON_MAX_SKEW_SECONDS;
}

/// The slots of bytes that hold tag (a datagram may hold one tag twice).
std::vector<std::size_t> slotsOf(std::span<const std::uint8_t> bytes, const BeaconTag& tag) {
  std::vector<std::size_t> slots;
  for (std::size_t slot = 0; slot < BEACON_TAG_SLOTS; ++slot) {
    if (std::memcmp(bytes.data() + BEACON_HEADER_BYTES + slot * BEACON_TAG_BYTES, tag.data(),
                    tag.size()) == 0)
      slots.push_back(slot);
  }
  return slots;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  const std::int64_t now = readTime(data);
  const std::span<const std::uint8_t> datagram(data + 8, size - 8);
  const Pairs& keys = pairs();
  const auto decoded = decodeBeacon(datagram, keys.listed, now);
  const auto header = checkBeaconHeader(datagram, now);

  if (!decoded) {
    const BeaconProblem problem = decoded.error();
    FUZZ_CHECK(!describe(problem).empty());
    FUZZ_CHECK(header ? *header == problem : problem == BeaconProblem::NotForUs);
    FUZZ_CHECK((problem == BeaconProblem::WrongSize) == (datagram.size() != BEACON_BYTES));
    if (problem == BeaconProblem::WrongSize) return 0;
    const bool magic = std::memcmp(datagram.data(), BEACON_MAGIC.data(), BEACON_MAGIC.size()) == 0;
    FUZZ_CHECK((problem == BeaconProblem::WrongMagic) == !magic);
    if (!magic) return 0;
    FUZZ_CHECK((problem == BeaconProblem::WrongVersion) == (datagram[16] != BEACON_VERSION));
    if (problem == BeaconProblem::WrongVersion) return 0;
    FUZZ_CHECK((problem == BeaconProblem::ZeroPort) == (datagram[41] == 0 && datagram[42] == 0));
    if (problem == BeaconProblem::ZeroPort) return 0;
    FUZZ_CHECK((problem == BeaconProblem::Stale) ==
               !windowAccepted(readTime(datagram.data() + 33), now));
    if (problem == BeaconProblem::Stale) return 0;
    // NotForUs: neither peer's tag for the fixed key is in it.
    for (const auto& peer : keys.peersView)
      FUZZ_CHECK(slotsOf(datagram, peer.tagToPeer(datagram.subspan(17, 26))).empty());
    return 0;
  }

  FUZZ_CHECK(!header);
  FUZZ_CHECK(!decodeBeacon(datagram, {}, now) &&
             decodeBeacon(datagram, {}, now).error() == BeaconProblem::NotForUs);
  const HeardBeacon& heard = *decoded;
  FUZZ_CHECK(datagram.size() == BEACON_BYTES);
  FUZZ_CHECK(heard.port != 0);
  FUZZ_CHECK(heard.port == (datagram[41] << 8 | datagram[42]));
  FUZZ_CHECK(heard.window == readTime(datagram.data() + 33));
  FUZZ_CHECK(windowAccepted(heard.window, now));
  FUZZ_CHECK(std::memcmp(heard.nonce.data(), datagram.data() + 17, BEACON_NONCE_BYTES) == 0);
  const std::size_t index = heard.peer == keys.listed[0].peer() ? 0 : 1;
  FUZZ_CHECK(heard.peer == keys.listed[index].peer());
  const auto tagged = datagram.subspan(17, 26);
  const auto slots = slotsOf(datagram, keys.peersView[index].tagToPeer(tagged));
  FUZZ_CHECK(!slots.empty());
  // The fixed key's own tag for that peer is a different one.
  FUZZ_CHECK(keys.listed[index].tagToPeer(tagged) != keys.peersView[index].tagToPeer(tagged));

  // One byte changed, chosen by the datagram's last byte: heard exactly when a tag the peers
  // make (computed from their side) for the changed nonce, window and port is in a slot, and
  // as the first such listed peer. So a change to the tagged part, or to the only copy of the
  // heard tag, is refused unless it makes a valid tag (the fuzzer can copy a tag from a seed
  // with the same nonce, window and port and change a bit of it), and a change elsewhere keeps
  // the beacon heard.
  std::vector<std::uint8_t> changed(datagram.begin(), datagram.end());
  const std::size_t at = 17 + datagram[BEACON_BYTES - 1] % (BEACON_BYTES - 17);
  changed[at] ^= 0x01;
  const auto again = decodeBeacon(changed, keys.listed, now);
  std::optional<std::size_t> expected;
  if (!checkBeaconHeader(changed, now)) {
    for (std::size_t i = 0; i < keys.peersView.size() && !expected; ++i) {
      const auto changedTagged = std::span<const std::uint8_t>(changed).subspan(17, 26);
      if (!slotsOf(changed, keys.peersView[i].tagToPeer(changedTagged)).empty()) expected = i;
    }
  }
  FUZZ_CHECK(again.ok() == expected.has_value());
  if (again) FUZZ_CHECK(again->peer == keys.listed[*expected].peer());
  const bool elsewhere =
      at >= BEACON_HEADER_BYTES &&
      std::ranges::find(slots, (at - BEACON_HEADER_BYTES) / BEACON_TAG_BYTES) == slots.end();
  if (elsewhere) FUZZ_CHECK(again);
  return 0;
}
