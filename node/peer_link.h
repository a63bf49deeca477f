#pragma once
// What a session with a listed peer means, decided in one place for `fieldsync sync`, the
// server and the daemon's dialer (docs/network.md, "Caps and budgets"):
//   - whether a session may run now: not while traffic is paused, nor while the peer is refused
//     for misbehaviour, nor once its daily byte budget is spent (until 00:00 UTC);
//   - the options it runs with: the peer's rate cap (kept both ways on the wire, whichever side
//     dialed: the cap travels in Hello), what is left of today's budget as the session's
//     budget, batches sized to the rate, and the small opening when nothing arrived here since
//     the last session found both archives equal;
//   - how a finished session is settled: the peer state recorded (store/peers.h), a peer that
//     broke the rules refused, and a budget that this session spent reported once.
// No sockets and no clock of its own: `now` (unix seconds) is the caller's, so every rule is
// tested directly (tests/node/peer_link_test.cpp).
// Threads: free functions; settleSession writes through Archive::write.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "node/report.h"
#include "node/session.h"
#include "store/archive.h"
#include "store/peers.h"

namespace fieldsync::node {

/// Why no session runs with a peer now.
struct SessionRefusal {
  enum class Kind {
    Paused,       // `fieldsync pause` on this node
    Refused,      // the peer misbehaved and its refusal runs (store::refuse)
    BudgetSpent,  // today's byte budget for the link is spent
  } kind;
  std::string message;     // for the peer and the log: "today's byte budget for this link is spent"
  std::int64_t until = 0;  // unix seconds when it ends (store::PAUSED_INDEFINITELY: no end)
};

struct SessionPlan {
  std::optional<SessionRefusal> refusal;  // set: no session now
  SessionOptions session;                 // the options to run it with, when not refused
};

/// The plan for a session with peer (empty: an address not listed here, run with base as
/// given) in role, at now. Reads the pause and the archive's last seq from txn.
[[nodiscard]] SessionPlan planSession(const store::ReadTxn& txn,
                                      const std::optional<store::PeerRecord>& peer,
                                      Session::Role role, SessionOptions base, std::int64_t now);

/// What settling a session changed.
struct Settlement {
  /// A refusal began with this session (the peer broke the rules): describeRefusal, and when
  /// it ends.
  std::optional<std::string> refusal;
  std::int64_t refusedUntil = 0;
  /// This session spent the peer's daily budget (it was not spent before): budgetLine, once.
  bool budgetSpent = false;
};

/// Records the session in the peer's state (recordSession) and, when penalize and the peer broke
/// the rules (peerMisbehaved, under its own key), refuses it. A peer not listed changes nothing.
Settlement settleSession(store::Archive& archive, const SessionReport& report, bool peerMisbehaved,
                         bool penalize, std::int64_t now);

/// "budget spent; resumes 00:00 UTC; 12 objects waiting" when the peer's daily budget is spent
/// at now (the objects this archive received after the last session that left both in step,
/// which the peer may lack); empty when it has none or some is left.
[[nodiscard]] std::optional<std::string> describeSpentBudget(const store::ReadTxn& txn,
                                                             const store::PeerRecord& peer,
                                                             std::int64_t now);

/// One session per pair of nodes at a time, whichever side dials: the server and the daemon's
/// dialer share one PairSessions. When both ends dial at once, the session dialed by the
/// smaller key goes on and the other is refused with YIELD_REASON, which its dialer takes as
/// "in step soon", not as a failure; otherwise both ends would push the same new objects at
/// once (duplicate deliveries).
/// Threads: every member may be called from any thread.
class PairSessions {
 public:
  /// The dialer's turn: false when a session with key runs already (answered or dialed).
  [[nodiscard]] bool beginDial(const protocol::PublicKey& key);
  void endDial(const protocol::PublicKey& key);
  /// Whether the server answers a session that key dials to self: not while self is dialing
  /// key and self's key is the smaller (self's session goes on; key's yields).
  [[nodiscard]] bool mayAnswer(const protocol::PublicKey& self, const protocol::PublicKey& key);
  void beginAnswer(const protocol::PublicKey& key);
  void endAnswer(const protocol::PublicKey& key);
  /// A session with key runs, dialed or answered.
  [[nodiscard]] bool busy(const protocol::PublicKey& key) const;

 private:
  mutable std::mutex m_mutex;
  std::map<protocol::PublicKey, std::uint32_t> m_answered;  // sessions open per key
  std::set<protocol::PublicKey> m_dialed;
};

/// The reason a server gives a session it refuses because the pair runs one already.
inline constexpr std::string_view YIELD_REASON =
    "yield: a session between these two nodes is running already";

}  // namespace fieldsync::node
