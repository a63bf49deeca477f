#include "node/dial_scheduler.h"

#include <algorithm>

namespace fieldsync::node {

DialScheduler::DialScheduler(Options options, std::uint64_t lastSeq)
    : m_options(options), m_seenSeq(lastSeq), m_rng(options.seed) {}

DialScheduler::Clock::duration DialScheduler::jittered(std::chrono::milliseconds base) {
  std::uniform_real_distribution<double> spread(1.0 - m_options.jitter, 1.0 + m_options.jitter);
  return std::chrono::duration_cast<Clock::duration>(base * spread(m_rng));
}

void DialScheduler::update(const std::vector<store::PeerRecord>& peers, std::uint64_t lastSeq,
                           Clock::time_point now) {
  std::map<protocol::PublicKey, Peer> current;
  for (const auto& record : peers) {
    auto it = m_peers.find(record.key);
    Peer peer = it != m_peers.end() ? std::move(it->second) : Peer{record, now, 0};
    peer.record = record;
    current.emplace(record.key, std::move(peer));
  }
  m_peers = std::move(current);
  if (lastSeq == m_seenSeq) return;
  m_seenSeq = lastSeq;
  // New objects here: push them now to each peer that answered last time and may lack them.
  std::uniform_int_distribution<std::int64_t> spread(0, m_options.pushSpread.count());
  for (auto& [key, peer] : m_peers) {
    if (peer.failures == 0 && peer.record.state.inStepSeq < lastSeq)
      peer.due = std::min(peer.due, now + std::chrono::milliseconds(spread(m_rng)));
  }
}

std::optional<store::PeerRecord> DialScheduler::due(Clock::time_point now) const {
  const Peer* first = nullptr;
  for (const auto& [key, peer] : m_peers)
    if (!first || peer.due < first->due) first = &peer;
  if (!first || first->due > now) return std::nullopt;
  return first->record;
}

DialScheduler::Clock::time_point DialScheduler::nextDue() const {
  auto next = Clock::time_point::max();
  for (const auto& [key, peer] : m_peers) next = std::min(next, peer.due);
  return next;
}

DialScheduler::Clock::time_point DialScheduler::settled(const protocol::PublicKey& key, bool ok,
                                                        bool progressed, Clock::time_point now) {
  auto it = m_peers.find(key);
  if (it == m_peers.end()) return Clock::time_point::max();
  Peer& peer = it->second;
  const auto& settings = peer.record.settings;
  if (ok) {
    peer.failures = 0;
    peer.due = now + jittered(m_options.interval.value_or(std::chrono::seconds(settings.interval)));
    return peer.due;
  }
  // A session cut short after it moved objects made progress: the link works, between cuts.
  // Retry from the first back-off step rather than doubling, or a backlog on a link cut every
  // few minutes waits longer and longer between its pieces.
  if (progressed) {
    peer.failures = 0;
    peer.due = now + jittered(std::min(m_options.retryAfterProgress, m_options.minBackoff));
    return peer.due;
  }
  ++peer.failures;
  const std::chrono::milliseconds cap =
      m_options.maxBackoff.value_or(std::chrono::seconds(settings.maxBackoff));
  auto wait = m_options.minBackoff;
  for (unsigned i = 1; i < peer.failures && wait < cap; ++i) wait *= 2;
  peer.due = now + jittered(std::min(wait, cap));
  return peer.due;
}

void DialScheduler::defer(const protocol::PublicKey& key, Clock::time_point until) {
  if (auto it = m_peers.find(key); it != m_peers.end())
    it->second.due = std::max(it->second.due, until);
}

}  // namespace fieldsync::node
