// protocol::decodeFrame and Reconciler::process on arbitrary bytes, as a peer would send a
// reconciliation frame, against a small real VectorRangeIndex. Input: byte 0 chooses the round
// the frame belongs to (bits 0-2: round 1-8; odd rounds are the initiator's, so the target
// answers as responder, even rounds as initiator), the tuning (bit 3: the defaults, or a small
// one that reaches the splitting limits) and the local set (bit 4: keys 0-299 or 100-399);
// the rest is the frame. Checks, besides the absence of crashes, leaks and undefined
// behaviour:
//  - a decoded frame respects FrameLimits and its own rules (bounds increasing, no range after
//    the infinite bound), and round-trips: encodeFrame gives bytes that decode to the same
//    frame, and so do encodeFrames' pieces at a small frame size, in order;
//  - the reply is bounded by the input: at most maxFanout ranges per range received, and no
//    more short ids than the peer sent plus the local set's size plus one per range;
//  - the reply is well formed: each reply frame is non-empty, starts and ends with a range
//    that needs work (no leading or trailing Skip), its bounds increase and lie within the
//    received frame's span, and it encodes to frames that the peer decodes with the default
//    limits back to the same ranges;
//  - every push is of local objects within the received span: pushed keys are in the index,
//    once each, and pushed key ranges are non-empty and within the span.

#include <algorithm>
#include <set>
#include <span>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/sync_fixture.h"
#include "protocol/reconcile.h"

using namespace fieldsync::protocol;

namespace {

const VectorRangeIndex& indexOf(bool second) {
  static const VectorRangeIndex first(fuzz::fixedKeys(0, 300));
  static const VectorRangeIndex other(fuzz::fixedKeys(100, 300));
  return second ? other : first;
}

Tuning tuningOf(bool small) {
  if (!small) return Tuning{};
  return Tuning{.leafItems = 4,
                .maxFanout = 4,
                .plannedRounds = 2,
                .maxFrameBytes = 512,
                .maxIdListItems = 8};
}

std::size_t idsIn(const Frame& frame) {
  std::size_t ids = 0;
  for (const RangeEntry& range : frame.ranges) ids += range.ids.size();
  return ids;
}

/// The frame's own rules, as decodeFrame promises them.
void checkWellFormed(const Frame& frame) {
  FUZZ_CHECK(!frame.lower.infinite);
  Bound previous = frame.lower;
  for (const RangeEntry& range : frame.ranges) {
    FUZZ_CHECK(previous < range.upper);
    FUZZ_CHECK(range.mode <= RangeMode::Sketch);
    if (range.mode != RangeMode::IdList && range.mode != RangeMode::Need)
      FUZZ_CHECK(range.ids.empty());
    previous = range.upper;
  }
}

/// The frame encodes, whole and in pieces, to bytes that decode back to it.
void checkRoundTrip(const Frame& frame, std::size_t pieceBytes) {
  const auto whole = decodeFrame(encodeFrame(frame));
  FUZZ_CHECK(whole.ok());
  FUZZ_CHECK(*whole == frame);
  std::vector<RangeEntry> ranges;
  Bound lower = frame.lower;
  for (const auto& bytes : encodeFrames({frame}, pieceBytes)) {
    const auto piece = decodeFrame(bytes);
    FUZZ_CHECK(piece.ok());
    FUZZ_CHECK(piece->lower == lower);
    FUZZ_CHECK(!piece->ranges.empty() || frame.ranges.empty());
    for (const RangeEntry& range : piece->ranges) ranges.push_back(range);
    if (!piece->ranges.empty()) lower = piece->ranges.back().upper;
  }
  FUZZ_CHECK(ranges == frame.ranges);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint32_t round = (data[0] & 7u) + 1;
  const Tuning tuning = tuningOf(data[0] & 8u);
  const VectorRangeIndex& index = indexOf(data[0] & 16u);
  const FrameLimits limits;
  const auto decoded = decodeFrame(std::span<const std::uint8_t>(data + 1, size - 1), limits);
  if (!decoded) {
    FUZZ_CHECK(!decoded.error().detail.empty());
    return 0;
  }
  const Frame& frame = *decoded;
  FUZZ_CHECK(frame.ranges.size() <= limits.maxRanges);
  FUZZ_CHECK(idsIn(frame) <= limits.maxIds);
  checkWellFormed(frame);
  checkRoundTrip(frame, 64);

  const Reconciler reconciler(fuzz::fixedSalt(), tuning);
  Reply reply;
  reconciler.process(frame, round, index, reply);

  // Bounded by the input.
  std::size_t replyRanges = 0, replyIds = 0;
  for (const Frame& out : reply.frames) {
    replyRanges += out.ranges.size();
    replyIds += idsIn(out);
  }
  FUZZ_CHECK(replyRanges <= frame.ranges.size() * std::max<std::size_t>(tuning.maxFanout, 1));
  FUZZ_CHECK(replyIds <= idsIn(frame) + index.size() + frame.ranges.size());
  FUZZ_CHECK(reply.frames.size() <= 1);  // one frame in, at most one frame out

  // Well formed, within the received span, and readable by the peer.
  const Bound spanEnd = frame.ranges.empty() ? frame.lower : frame.ranges.back().upper;
  for (const Frame& out : reply.frames) {
    FUZZ_CHECK(!out.ranges.empty());
    FUZZ_CHECK(out.ranges.front().mode != RangeMode::Skip);
    FUZZ_CHECK(out.ranges.back().mode != RangeMode::Skip);
    FUZZ_CHECK(frame.lower <= out.lower);
    FUZZ_CHECK(out.ranges.back().upper <= spanEnd);
    checkWellFormed(out);
    FUZZ_CHECK(needsAnswer(out) ==
               std::any_of(out.ranges.begin(), out.ranges.end(), [](const RangeEntry& r) {
                 return r.mode != RangeMode::Skip &&
                        !(r.mode == RangeMode::IdList && r.ids.empty());
               }));
    checkRoundTrip(out, tuning.maxFrameBytes);
  }
  FUZZ_CHECK(reply.needsAnswer() == std::any_of(reply.frames.begin(), reply.frames.end(),
                                                [](const Frame& f) { return needsAnswer(f); }));

  // Pushes: local objects, within the span, each key once.
  std::set<SyncKey> pushed;
  for (const SyncKey& key : reply.pushKeys) {
    FUZZ_CHECK(index.contains(key));
    const Bound at{key, false};
    FUZZ_CHECK(frame.lower <= at);
    FUZZ_CHECK(at < spanEnd);
    FUZZ_CHECK(pushed.insert(key).second);
  }
  for (const KeyRange& range : reply.pushRanges) {
    FUZZ_CHECK(range.lower < range.upper);
    FUZZ_CHECK(frame.lower <= range.lower);
    FUZZ_CHECK(range.upper <= spanEnd);
  }
  return 0;
}
