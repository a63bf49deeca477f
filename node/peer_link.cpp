#include "node/peer_link.h"

#include "store/pause.h"

namespace fieldsync::node {

SessionPlan planSession(const store::ReadTxn& txn, const std::optional<store::PeerRecord>& peer,
                        Session::Role role, SessionOptions base, std::int64_t now) {
  SessionPlan plan;
  if (const auto until = store::pausedUntil(txn, now)) {
    plan.refusal =
        SessionRefusal{SessionRefusal::Kind::Paused, "traffic is paused on this node", *until};
    return plan;
  }
  plan.session = std::move(base);
  if (!peer) return plan;
  if (peer->state.refusedAt(now)) {
    plan.refusal = SessionRefusal{SessionRefusal::Kind::Refused,
                                  store::describeRefusal(peer->state), peer->state.refusedUntil};
    return plan;
  }
  const auto left = store::budgetLeftToday(*peer, now);
  if (left && *left == 0) {
    plan.refusal =
        SessionRefusal{SessionRefusal::Kind::BudgetSpent,
                       "today's byte budget for this link is spent", store::nextUtcDayStart(now)};
    return plan;
  }
  SessionOptions& session = plan.session;
  session.rate = tighterLimit(session.rate, peer->settings.rate);
  if (left) session.budget = tighterLimit(session.budget, *left);
  // Nothing new here since the last session found both archives equal: open small.
  if (role == Session::Role::Initiator && peer->state.inStepAt != 0 &&
      peer->state.inStepSeq == txn.lastSeq())
    session.opening = protocol::Reconciler::Opening::InStep;
  return plan;
}

Settlement settleSession(store::Archive& archive, const SessionReport& report, bool peerMisbehaved,
                         bool penalize, std::int64_t now) {
  Settlement settled;
  if (!report.key) return settled;
  const auto before = store::findPeerByKey(archive.beginRead(), *report.key);
  if (!before) return settled;
  const auto leftBefore = store::budgetLeftToday(*before, now);
  recordSession(archive, report, now);
  // A session that stopped because its next batch would not fit spent the budget as far as
  // whole batches go: what is left today is too little to be worth a session.
  if (report.stats.budgetSpent) {
    archive.write([&](store::WriteTxn& txn) {
      (void)store::updatePeerState(txn, *report.key, [&](store::PeerState& state) {
        const std::uint64_t used = store::budgetUsedToday(state, now);
        if (before->settings.dailyBudget > used)
          store::countTraffic(state, before->settings.dailyBudget - used, now);
      });
    });
  }
  // Only the peer's own session, under the key CURVE authenticated, can get it refused.
  if (penalize && peerMisbehaved) {
    std::optional<bool> began;
    archive.write([&](store::WriteTxn& txn) {
      began = store::refusePeer(txn, *report.key, report.failure, now);
    });
    if (began && *began) {
      const auto peer = store::findPeerByKey(archive.beginRead(), *report.key);
      if (peer && peer->state.refusedAt(now)) {
        settled.refusal = store::describeRefusal(peer->state);
        settled.refusedUntil = peer->state.refusedUntil;
      }
    }
  }
  if (leftBefore && *leftBefore > 0) {
    const auto after = store::findPeerByKey(archive.beginRead(), *report.key);
    const auto leftAfter = after ? store::budgetLeftToday(*after, now) : std::nullopt;
    settled.budgetSpent = leftAfter && *leftAfter == 0;
  }
  return settled;
}

std::optional<std::string> describeSpentBudget(const store::ReadTxn& txn,
                                               const store::PeerRecord& peer, std::int64_t now) {
  const auto left = store::budgetLeftToday(peer, now);
  if (!left || *left > 0) return std::nullopt;
  // Seqs count the objects stored here, one each: what arrived after the peer was last in step.
  const std::uint64_t last = txn.lastSeq();
  const std::uint64_t waiting = last - std::min(last, peer.state.inStepSeq);
  return "budget spent; resumes 00:00 UTC; " + std::to_string(waiting) +
         (waiting == 1 ? " object waiting" : " objects waiting");
}

bool PairSessions::beginDial(const protocol::PublicKey& key) {
  std::lock_guard lock(m_mutex);
  if (m_dialed.contains(key) || m_answered.contains(key)) return false;
  m_dialed.insert(key);
  return true;
}

void PairSessions::endDial(const protocol::PublicKey& key) {
  std::lock_guard lock(m_mutex);
  m_dialed.erase(key);
}

bool PairSessions::mayAnswer(const protocol::PublicKey& self, const protocol::PublicKey& key) {
  std::lock_guard lock(m_mutex);
  return !(m_dialed.contains(key) && self < key);
}

void PairSessions::beginAnswer(const protocol::PublicKey& key) {
  std::lock_guard lock(m_mutex);
  ++m_answered[key];
}

void PairSessions::endAnswer(const protocol::PublicKey& key) {
  std::lock_guard lock(m_mutex);
  auto it = m_answered.find(key);
  if (it != m_answered.end() && --it->second == 0) m_answered.erase(it);
}

bool PairSessions::busy(const protocol::PublicKey& key) const {
  std::lock_guard lock(m_mutex);
  return m_dialed.contains(key) || m_answered.contains(key);
}

}  // namespace fieldsync::node
