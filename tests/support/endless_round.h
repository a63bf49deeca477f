#pragma once
// The endless reconcile round of issue 18.1, as a listed peer sends it: round-1 frames of
// 65,536 fingerprint ranges, each over a span the server holds nothing in, none saying
// `last`. For the server's hostile tests and hostile_bench.

#include <cstdint>
#include <vector>

#include "protocol/reconcile.h"
#include "protocol/sync.h"

namespace fieldsync::testing {

/// Ranges in each frame.
inline constexpr std::int64_t ENDLESS_ROUND_RANGES = 65536;

/// The index-th frame of the round (0, 1, ...), encoded: its ranges follow the previous
/// frame's, from a time after every clipping a test or benchmark archive holds. A test of the
/// bound itself may ask for fewer ranges a frame.
inline std::vector<std::uint8_t> endlessRoundFrame(std::int64_t index,
                                                   std::int64_t ranges = ENDLESS_ROUND_RANGES) {
  constexpr std::int64_t FROM = 2'000'000'000;
  const std::int64_t start = FROM + index * ENDLESS_ROUND_RANGES;
  protocol::Frame frame{protocol::Bound{protocol::SyncKey{start, {}}, false}, {}};
  for (std::int64_t r = 1; r <= ranges; ++r) {
    protocol::RangeEntry entry;
    entry.upper = protocol::Bound{protocol::SyncKey{start + r, {}}, false};
    entry.mode = protocol::RangeMode::Fingerprint;
    entry.fingerprint.fill(0x42);
    frame.ranges.push_back(entry);
  }
  return protocol::sync::encode(protocol::sync::Reconcile{1, false, protocol::encodeFrame(frame)});
}

}  // namespace fieldsync::testing
