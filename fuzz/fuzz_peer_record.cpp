// store::decodePeer on arbitrary bytes, as a damaged or hand-edited archive would hold them in
// its `peers` database (name -> record). Input: byte 0 = n, then n bytes of the name (the LMDB
// key), then the record (the value). The decoder is pure; the LMDB around it is not fuzzed.
// Checks, besides the absence of crashes, leaks and undefined behaviour:
//  - a decoded record satisfies what every stored record promises: a valid name (the key it
//    was stored under), a tcp:// address fieldsync connects to, a key with a CurveZMQ form,
//    settings within their ranges;
//  - it round-trips: encodePeer of the decoded record (always the current version, whichever
//    version was read) decodes to the same record, and encoding that gives the same bytes;
//  - a record is refused once cut short, or with a byte appended.

#include <span>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "store/peers.h"

using namespace fieldsync;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t nameBytes = std::min<std::size_t>(data[0], size - 1);
  const std::string_view name(reinterpret_cast<const char*>(data + 1), nameBytes);
  const std::span<const std::uint8_t> value(data + 1 + nameBytes, size - 1 - nameBytes);
  const auto record = store::decodePeer(name, value);
  if (!record) return 0;

  FUZZ_CHECK(record->name == name);
  FUZZ_CHECK(!store::checkPeerName(record->name));
  FUZZ_CHECK(record->stickOnly() || !store::checkPeerAddress(record->address));
  FUZZ_CHECK(!store::checkPeerSettings(record->settings));
  FUZZ_CHECK(protocol::toCurve(record->key).has_value());

  const auto encoded = store::encodePeer(*record);
  const auto again = store::decodePeer(name, encoded);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *record);
  FUZZ_CHECK(store::encodePeer(*again) == encoded);

  FUZZ_CHECK(!store::decodePeer(name, value.first(value.size() - 1)));
  std::vector<std::uint8_t> longer(value.begin(), value.end());
  longer.push_back(0);
  FUZZ_CHECK(!store::decodePeer(name, longer));
  return 0;
}
