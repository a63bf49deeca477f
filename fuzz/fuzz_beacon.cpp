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
//  - an accepted beacon is refused once any single byte of its nonce, window, port or heard tag
//    changes, and still heard with a byte of another slot changed (one byte chosen by the
//    input).

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

/// The slot of bytes that holds tag, if any.
std::optional<std::size_t> slotOf(std::span<const std::uint8_t> bytes, const BeaconTag& tag) {
  for (std::size_t slot = 0; slot < BEACON_TAG_SLOTS; ++slot) {
    if (std::memcmp(bytes.data() + BEACON_HEADER_BYTES + slot * BEACON_TAG_BYTES, tag.data(),
                    tag.size()) == 0)
      return slot;
  }
  return std::nullopt;
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
      FUZZ_CHECK(!slotOf(datagram, peer.tagToPeer(datagram.subspan(17, 26))));
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
  const auto slot = slotOf(datagram, keys.peersView[index].tagToPeer(tagged));
  FUZZ_CHECK(slot.has_value());
  // The fixed key's own tag for that peer is a different one.
  FUZZ_CHECK(keys.listed[index].tagToPeer(tagged) != keys.peersView[index].tagToPeer(tagged));

  // One byte changed, chosen by the datagram's last byte: refused when it is in the tagged part
  // or the heard tag (unless the other peer's tag is there too), heard still elsewhere.
  std::vector<std::uint8_t> changed(datagram.begin(), datagram.end());
  const std::size_t at = 17 + datagram[BEACON_BYTES - 1] % (BEACON_BYTES - 17);
  changed[at] ^= 0x01;
  const auto again = decodeBeacon(changed, keys.listed, now);
  const bool inTagged = at < BEACON_HEADER_BYTES;
  const bool inHeardTag = !inTagged && (at - BEACON_HEADER_BYTES) / BEACON_TAG_BYTES == *slot;
  const bool otherTagToo =
      slotOf(datagram, keys.peersView[1 - index].tagToPeer(tagged)).has_value();
  if (inTagged) {
    FUZZ_CHECK(!again);
  } else if (inHeardTag && !otherTagToo) {
    FUZZ_CHECK(!again);
  } else if (!inHeardTag) {
    FUZZ_CHECK(again && again->peer == heard.peer);
  }
  return 0;
}
