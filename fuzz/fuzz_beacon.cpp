// protocol::decodeBeacon on arbitrary datagrams, as anyone on the LAN may send them to the
// beacon port. Input: 8 bytes of the receiver's clock (`now`, big-endian signed), then the
// datagram. Checks, besides the absence of crashes, leaks and undefined behaviour:
//  - the checks come in their documented order: a datagram that is not BEACON_BYTES long is
//    WrongSize, then the magic, the version, port 0 and the clock are judged before any
//    signature (so a flood of junk costs no signature checks);
//  - an accepted beacon is what the datagram says: 123 bytes, a port of 1-65535, sentAt within
//    BEACON_MAX_SKEW_SECONDS of now (for any two int64 values: no overflow), the key and port
//    and time at their offsets; the same datagram read at a clock just outside the skew is
//    Stale;
//  - a signature cannot be re-shaped: when the key is the fixed key the seeds sign with, an
//    accepted datagram is byte for byte what encodeBeacon writes for its fields (Ed25519 is
//    deterministic, and libsodium refuses non-canonical signatures);
//  - an accepted beacon is refused once any single byte of its signed part or signature
//    changes (one byte chosen by the input).

#include <algorithm>
#include <array>
#include <cstring>
#include <span>

#include "fuzz/fuzz_check.h"
#include "protocol/beacon.h"

using namespace fieldsync::protocol;

namespace {

std::int64_t readTime(const std::uint8_t* at) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = value << 8 | at[i];
  return static_cast<std::int64_t>(value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  const std::int64_t now = readTime(data);
  const std::span<const std::uint8_t> datagram(data + 8, size - 8);
  const auto decoded = decodeBeacon(datagram, now);

  if (!decoded) {
    const BeaconProblem problem = decoded.error();
    FUZZ_CHECK(!describe(problem).empty());
    FUZZ_CHECK((problem == BeaconProblem::WrongSize) == (datagram.size() != BEACON_BYTES));
    if (problem == BeaconProblem::WrongSize) return 0;
    const bool magic = std::memcmp(datagram.data(), BEACON_MAGIC.data(), BEACON_MAGIC.size()) == 0;
    FUZZ_CHECK((problem == BeaconProblem::WrongMagic) == !magic);
    if (!magic) return 0;
    FUZZ_CHECK((problem == BeaconProblem::WrongVersion) == (datagram[16] != BEACON_VERSION));
    return 0;
  }

  const Beacon& beacon = *decoded;
  FUZZ_CHECK(datagram.size() == BEACON_BYTES);
  FUZZ_CHECK(beacon.port != 0);
  FUZZ_CHECK(std::memcmp(beacon.key.bytes.data(), datagram.data() + 17, PUBLIC_KEY_BYTES) == 0);
  FUZZ_CHECK(beacon.port == (datagram[49] << 8 | datagram[50]));
  FUZZ_CHECK(beacon.sentAt == readTime(datagram.data() + 51));
  // Within the skew, computed without overflow in 128 bits.
  const __int128 distance = static_cast<__int128>(beacon.sentAt) - now;
  FUZZ_CHECK(distance <= BEACON_MAX_SKEW_SECONDS && -distance <= BEACON_MAX_SKEW_SECONDS);
  // Just outside the skew, on either side (when the clock can be there).
  if (beacon.sentAt <= INT64_MAX - BEACON_MAX_SKEW_SECONDS - 1) {
    const auto late = decodeBeacon(datagram, beacon.sentAt + BEACON_MAX_SKEW_SECONDS + 1);
    FUZZ_CHECK(!late && late.error() == BeaconProblem::Stale);
  }
  if (beacon.sentAt >= INT64_MIN + BEACON_MAX_SKEW_SECONDS + 1) {
    const auto early = decodeBeacon(datagram, beacon.sentAt - BEACON_MAX_SKEW_SECONDS - 1);
    FUZZ_CHECK(!early && early.error() == BeaconProblem::Stale);
  }

  if (beacon.key == fuzz::fixedKey().publicKey()) {
    const BeaconBytes canonical = encodeBeacon(fuzz::fixedKey(), beacon.port, beacon.sentAt);
    FUZZ_CHECK(std::ranges::equal(canonical, datagram));
  }

  // One byte changed: refused. The byte is chosen by the datagram's last byte, to stay cheap.
  BeaconBytes changed{};
  std::memcpy(changed.data(), datagram.data(), BEACON_BYTES);
  const std::size_t at = datagram[BEACON_BYTES - 1] % BEACON_BYTES;
  changed[at] ^= 0x01;
  FUZZ_CHECK(!decodeBeacon(changed, now));
  return 0;
}
