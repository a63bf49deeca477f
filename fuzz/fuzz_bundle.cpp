// protocol::BundleReader on arbitrary bytes, as a USB stick or a mail gateway would hand
// them over. Checks, besides the absence of crashes, leaks and undefined behaviour:
//  - every object handed out is within the limits: whole 8-byte words, at most
//    Limits::maxObjectBytes, and no more objects than BundleLimits::maxObjects;
//  - reading does not depend on how the source delivers the bytes: a source that gives one
//    to seven bytes at a time yields exactly the same objects and problems, in order;
//  - an intact bundle's objects, written again with its creation time, read back the same;
//  - a holdings block is handed out only when it checked: at most BundleLimits::maxHeldIds
//    ids, strictly ascending, and the same however the source delivers the bytes.

#include <algorithm>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "protocol/bundle.h"

using namespace fieldsync::protocol;

namespace {

struct Items {
  bool refused = false;
  std::vector<std::string> trace;  // objects as their bytes, problems as their message
  std::vector<std::vector<std::uint8_t>> objects;
  BundleHeader header;
  bool intact = false;
  std::optional<Holdings> holdings;
};

Items readAll(fieldsync::Expected<BundleReader, BundleRejection> opened,
              const BundleLimits& limits) {
  Items out;
  if (!opened) {
    out.refused = true;
    out.trace.push_back(opened.error().message());
    return out;
  }
  out.header = opened->header();
  while (auto item = opened->next()) {
    if (!item->ok()) {
      out.trace.push_back(item->error().message());
      continue;
    }
    const auto& bytes = item->value().bytes;
    FUZZ_CHECK(bytes.size() % 8 == 0);
    FUZZ_CHECK(bytes.size() <= limits.object.maxObjectBytes);
    out.trace.emplace_back(bytes.begin(), bytes.end());
    out.objects.push_back(bytes);
  }
  FUZZ_CHECK(out.objects.size() <= limits.maxObjects);
  out.intact = opened->intact();
  out.holdings = opened->holdings();
  if (out.holdings) {
    FUZZ_CHECK(out.holdings->ids.size() <= limits.maxHeldIds);
    FUZZ_CHECK(std::adjacent_find(out.holdings->ids.begin(), out.holdings->ids.end(),
                                  [](const HeldId& a, const HeldId& b) { return a >= b; }) ==
               out.holdings->ids.end());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  BundleLimits limits;
  limits.maxObjects = 4096;  // small limits, so the fuzzer reaches them
  limits.maxFrameBytes = 1u << 20;
  limits.maxHeldIds = 4096;
  const std::span<const std::uint8_t> bytes(data, size);
  const Items whole = readAll(BundleReader::open(bytes, limits), limits);

  std::size_t at = 0, step = 0;
  const Items pieces =
      readAll(BundleReader::open(
                  [&](std::span<std::uint8_t> buffer) -> std::size_t {
                    const std::size_t n = std::min({buffer.size(), size - at, step++ % 7 + 1});
                    std::memcpy(buffer.data(), data + at, n);
                    at += n;
                    return n;
                  },
                  limits),
              limits);
  FUZZ_CHECK(pieces.refused == whole.refused);
  FUZZ_CHECK(pieces.trace == whole.trace);
  FUZZ_CHECK(pieces.intact == whole.intact);
  FUZZ_CHECK(pieces.holdings == whole.holdings);

  if (whole.intact) {
    const auto again = writeBundle(whole.objects, whole.header.createdAt);
    const Items reread = readAll(BundleReader::open(again, limits), limits);
    FUZZ_CHECK(reread.intact);
    FUZZ_CHECK(reread.objects == whole.objects);
  }
  return 0;
}
