#pragma once
// `fieldsync serve`: answers sync sessions from listed peers until asked to stop.
//
// One thread polls the ROUTER socket and runs every session (node/session.h) as its messages
// arrive; a session's work per message is bounded (a frame, a batch), so sessions take turns.
// Sessions are keyed by ZeroMQ routing id; a peer admitted by the ZAP handler (only keys
// listed with `fieldsync peers add`; the list is re-read while serving) has one session at a
// time: when it reconnects, its old session is closed. A session that goes quiet for idleTimeout,
// or breaks the protocol, is dropped and logged; the server goes on serving the others. What a
// session with a peer means (pause, refusal, budget, its cap, how it is settled) is
// node/peer_link.h's, as for `sync` and the daemon's dials: a capped session's replies wait in
// its outbox until the cap has paid for them, and with ServerOptions::pairs a peer this node is
// dialing itself is answered only when the peer's key is the smaller (else it yields). On stop,
// the batch being committed finishes (a write is never cut), open sessions are told so, and run()
// returns. Threads: run() on one thread; stop() from any thread or a signal handler.
//
// Hostile peers (docs/network.md, "Hostile peers"):
//   - A peer whose session broke the rules (garbage, a bad object, a message out of turn) is
//     refused for a while (store::refuse: 10 min, x4 for each repeat, at most a week): its
//     connection is cut, the ZAP handler refuses its key until the refusal ends (a handshake
//     is all it costs), and the daemon does not dial it. Only sessions under the peer's own
//     CURVE key count, so nobody else can get a peer refused. `fieldsync peers forgive` lifts it.
//   - A peer removed from the list, or refused, while it has a connection open loses the
//     session and the connection at the next re-read of the list (peerListRefresh).
//   - A connection that closes (the peer died, or its heartbeats stopped: TransportLimits)
//     ends its session at once, through the socket's monitor, not after idleTimeout.
//   - At most maxConnectionsPerAddress connections from one IP address are open at a time,
//     handshaking or admitted; one more is cut as soon as it is accepted.
//   - Refused handshakes are logged once a minute per address at most, with a count.
// A connection is cut by shutdown(2) on its descriptor, which libzmq then closes itself.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "node/log.h"
#include "node/peer_link.h"
#include "node/report.h"
#include "node/session.h"
#include "node/transport.h"
#include "protocol/keys.h"
#include "store/archive.h"

namespace fieldsync::node {

struct ServerOptions {
  std::string listen = "tcp://0.0.0.0:7420";
  TransportLimits transport;
  SessionOptions session;
  std::chrono::milliseconds idleTimeout{60'000};  // a session silent this long is dropped
  std::size_t maxSessions = 64;                   // more at once are refused ("busy")
  /// Connections open at once from one IP address (handshaking or admitted); more are cut
  /// when accepted. 0: no cap.
  std::size_t maxConnectionsPerAddress = 32;
  /// Refuse a peer for a while when its session breaks the rules (store::refuse).
  bool penalize = true;
  std::chrono::milliseconds peerListRefresh{2'000};
  /// The most reply bytes one session may have waiting for its link's cap. A peer that keeps
  /// to the protocol waits for its batches' acks (a window of a few batches) and for each
  /// round's answer, so its replies waiting are one round and a few acks; one that sends on
  /// regardless would otherwise grow this queue with every message. Past it the session ends
  /// as a violation.
  std::size_t maxQueuedReplyBytes = 32u << 20;
  /// Shared with the daemon's dialer so that a pair runs one session at a time
  /// (node/peer_link.h); null: every session of a listed peer is answered.
  PairSessions* pairs = nullptr;
  /// Called on the server's thread with every session's report once it ends (tests and
  /// benchmarks count what moved; the log line is written anyway).
  std::function<void(const SessionReport&)> onSession;
};

/// Where the server tells what happened: one line per session (info when it ended well, warn
/// otherwise) or refusal (warn).
using ServerLog = LogSink;

class Server {
 public:
  /// Binds options.listen (Error when it cannot). identity signs nothing: it is the CURVE
  /// server key. The archive outlives the server.
  Server(store::Archive& archive, const protocol::SecretKey& identity, ServerOptions options,
         ServerLog log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The endpoint bound, with the port picked when listen asked for "*".
  const std::string& endpoint() const { return m_endpoint; }
  /// Serves until stop() is called. Throws Error when the archive can no longer be written
  /// safely (its lock file was replaced: store::Archive::checkLock, checked every
  /// peerListRefresh and after a failed write), once open sessions are told.
  void run();
  /// Asks run() to return; safe from any thread and from a signal handler.
  void stop() { m_stop.store(true); }

 private:
  struct Impl;
  store::Archive& m_archive;
  ServerOptions m_options;
  ServerLog m_log;
  std::atomic<bool> m_stop{false};
  std::string m_endpoint;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace fieldsync::node
