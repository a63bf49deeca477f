#pragma once
// `fieldsync sync`: one session with one peer, as its initiator, over a CurveZMQ link.
// Threads: syncOnce blocks its caller; it makes its own ZeroMQ context.
// Errors: a peer that cannot be reached, refuses us, or goes silent is a failed report
// (unreachable or refused set), not an exception; LMDB failures throw fieldsync::Error.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node/peer_link.h"
#include "node/report.h"
#include "node/session.h"
#include "node/transport.h"
#include "protocol/keys.h"
#include "store/archive.h"
#include "store/progress.h"

namespace fieldsync::node {

struct SyncOptions {
  TransportLimits transport;
  /// As planned (node/peer_link.h). With a cap (session.rate, or the peer's in its Hello),
  /// messages are sent no faster than the link's cap; with a cap of this side's, the next
  /// message is also read only once the last one's bytes are paid for, which slows a peer
  /// that does not keep to the cap itself (it may have at most a few batches unacknowledged).
  SessionOptions session;
  /// The link must be up and admitted within this; the peer must answer within idleTimeout.
  std::chrono::milliseconds connectTimeout{15'000};
  std::chrono::milliseconds idleTimeout{60'000};
  /// Told after each message from the peer: done = objects received (stored or already
  /// held), total = Session::expectedIn() once reconciliation is over (0 before), bytes =
  /// message bytes received.
  store::ProgressCallback progress;
};

struct ClientReport : SessionReport {
  bool unreachable = false;     // no link came up in time
  bool refused = false;         // the link came up and the peer's ZAP handler refused our key
  bool peerMisbehaved = false;  // the peer sent something invalid: nothing of it was stored
  bool yielded = false;  // the peer runs a session with us already (YIELD_REASON): none needed
  bool newLink = false;  // the session had to connect (and handshake) first
};

/// A CurveZMQ link to one peer that stays open between sessions (the daemon keeps one per
/// peer), so that a session on it costs no handshake: on a satellite link the handshake is
/// most of what an in-step session costs. Heartbeats (TransportLimits) keep it alive and tell
/// when it dropped; the next session then connects anew. A session that does not end well
/// closes the link, so nothing of it can reach the next one.
/// Threads: used by one thread at a time. Lifetime: identity outlives the link.
class KeptLink {
 public:
  KeptLink(const protocol::SecretKey& identity, const protocol::PublicKey& serverKey,
           TransportLimits limits = {});
  ~KeptLink();
  KeptLink(const KeptLink&) = delete;
  KeptLink& operator=(const KeptLink&) = delete;

  /// One session as its initiator over the link to address, connected (and admitted) first
  /// when it is not up or is up to another address; options.transport is the constructor's.
  ClientReport session(store::Archive& archive, const std::string& address,
                       const std::string& peerName, const SyncOptions& options);
  /// The link is connected and admitted, and no drop was seen since.
  bool up();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// Syncs archive with the server at address (tcp://host:port) whose Ed25519 key is
/// serverKey, signing in as identity, with options as given. peerName names it in the report.
ClientReport syncOnce(store::Archive& archive, const protocol::SecretKey& identity,
                      const std::string& address, const protocol::PublicKey& serverKey,
                      const std::string& peerName, const SyncOptions& options = {});

/// What dialPeer did.
struct Dialed {
  std::optional<SessionRefusal> notRun;  // the plan refused a session now: nothing was sent
  ClientReport report;                   // the session, when it ran
  Settlement settled;                    // what settling it changed
};

/// One session dialed to a peer, as this node's policy says (node/peer_link.h): planned from
/// the peer's record (peer: empty for an address not listed here), run over the first of
/// addresses that answers (an address that cannot be reached is followed by the next: the
/// listed address and one learned on the LAN), then settled in the peer's state. unixNow is
/// the clock, asked before and after. link: the peer's kept link (the daemon's), or null for
/// a link of the session's own.
Dialed dialPeer(store::Archive& archive, const protocol::SecretKey& identity,
                const std::optional<store::PeerRecord>& peer,
                const std::vector<std::string>& addresses, const protocol::PublicKey& key,
                const std::string& name, SyncOptions options, bool penalize,
                const std::function<std::int64_t()>& unixNow, KeptLink* link = nullptr);

}  // namespace fieldsync::node
