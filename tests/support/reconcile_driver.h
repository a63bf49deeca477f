#pragma once
// Runs reconciliation between two in-memory sets, message by message, as a session would,
// without sockets: for the reconciliation tests and the reconciliation benchmark.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "protocol/reconcile.h"

namespace fieldsync::testing {

struct ReconcileStats {
  std::size_t bytes = 0;         // frame bytes, both directions
  std::size_t openingBytes = 0;  // of which round 1, the initiator's opening
  std::size_t messages = 0;      // rounds sent, both directions
  std::size_t frames = 0;
  std::vector<protocol::SyncKey> toResponder;  // what the initiator pushes
  std::vector<protocol::SyncKey> toInitiator;  // what the responder pushes
  std::size_t roundTrips() const { return (messages + 1) / 2; }
};

inline std::vector<protocol::SyncKey> resolvePushes(const protocol::Reply& reply,
                                                    const protocol::RangeIndex& index) {
  std::vector<protocol::SyncKey> keys = reply.pushKeys;
  for (const protocol::KeyRange& range : reply.pushRanges) {
    const std::uint64_t from = range.lower.infinite ? index.size() : index.rank(range.lower.key);
    const std::uint64_t to = range.upper.infinite ? index.size() : index.rank(range.upper.key);
    for (const protocol::SyncKey& key : index.keys(from, to)) keys.push_back(key);
  }
  return keys;
}

/// Reconciles initiator and responder, which are left unchanged; the pushes found are in
/// the stats. Every round goes through encodeFrames and decodeFrame. The responder runs with
/// responderTuning when given (another horizon: another clock), else with tuning.
inline ReconcileStats reconcile(
    const protocol::RangeIndex& initiator, const protocol::RangeIndex& responder,
    const protocol::Salt& salt, const protocol::Tuning& tuning = {}, std::size_t maxMessages = 64,
    protocol::Reconciler::Opening opening = protocol::Reconciler::Opening::Full,
    const protocol::Tuning* responderTuning = nullptr) {
  const protocol::Reconciler initiatorSide(salt, tuning);
  const protocol::Reconciler responderSide(salt, responderTuning ? *responderTuning : tuning);
  ReconcileStats stats;
  std::vector<protocol::Frame> outgoing = initiatorSide.initiate(initiator, opening);
  bool fromInitiator = true;
  for (std::uint32_t round = 1; stats.messages < maxMessages; ++round) {
    const auto encoded = protocol::encodeFrames(outgoing, tuning.maxFrameBytes);
    ++stats.messages;
    const protocol::RangeIndex& receiver = fromInitiator ? responder : initiator;
    const protocol::Reconciler& reconciler = fromInitiator ? responderSide : initiatorSide;
    protocol::Reply reply;
    bool needsAnswer = false;
    for (const auto& bytes : encoded) {
      stats.bytes += bytes.size();
      if (round == 1) stats.openingBytes += bytes.size();
      ++stats.frames;
      auto frame = protocol::decodeFrame(bytes);
      if (!frame) throw std::runtime_error("undecodable frame: " + frame.error().detail);
      needsAnswer |= protocol::needsAnswer(*frame);
      reconciler.process(*frame, round, receiver, reply);
    }
    auto pushed = resolvePushes(reply, receiver);
    auto& into = fromInitiator ? stats.toInitiator : stats.toResponder;
    into.insert(into.end(), pushed.begin(), pushed.end());
    if (!needsAnswer) break;
    outgoing = std::move(reply.frames);
    fromInitiator = !fromInitiator;
  }
  for (auto* keys : {&stats.toInitiator, &stats.toResponder}) {
    std::sort(keys->begin(), keys->end());
  }
  return stats;
}

}  // namespace fieldsync::testing
