#pragma once
// The daemon behind `fieldsync serve`: serves sessions to listed peers (node/server.h) and
// dials them, so every partner keeps converging without anyone running `sync`.
//
//   - On start it dials every peer at once; then each peer again after its interval, with
//     jitter (so offices that start together do not dial together forever).
//   - A failed session backs off exponentially, capped; a success resets the back-off, and a
//     session cut after it stored objects starts it again from its first step.
//   - New objects, whoever added them (this daemon's sessions, `import` or `bundle import` in
//     another process: it watches the archive's last sequence number), are pushed at once to
//     every peer that last answered and may lack them (its in-step seq is older).
//   - Store and forward: sessions carry every object, whoever signed it.
//   - A pause (`fieldsync pause`, kept in the archive) stops dialing and refuses sessions
//     until it ends. A peer whose daily byte budget is spent is not dialed (nor answered)
//     until the next UTC day; the budget is counted after each session, so one session may
//     run past it.
//   - A peer refused for misbehaviour (store::refuse, node/server.h) is not dialed until its
//     refusal ends; a peer that answers a dialed session with something invalid is refused
//     the same way (when server.penalize).
//   - A peer's rate cap (bytes per second) is kept by the side that dials, both ways
//     (node/client.h).
// Peer state (last success, last error, next attempt, totals) is kept in the store after
// every session (node/report.h), so `fieldsync status` and `peers list` show it.
// Threads: run() serves on a thread of its own and dials on the caller's; stop() from any
// thread. Sessions it dials run one at a time.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "node/client.h"
#include "node/server.h"
#include "protocol/keys.h"
#include "store/archive.h"

namespace fieldsync::node {

struct DaemonOptions {
  ServerOptions server;
  SyncOptions client;
  bool dial = true;  // dial peers (off: only answer)
  /// Between sessions with a peer, and the cap of its back-off: each peer's own settings
  /// (`fieldsync peers set`, store/peers.h) unless these override them (tests, benchmarks).
  std::optional<std::chrono::milliseconds> interval;
  std::optional<std::chrono::milliseconds> maxBackoff;
  double jitter = 0.2;                             // intervals vary by +- this share
  std::chrono::milliseconds minBackoff{10'000};    // after a first failure; doubles after each
  std::chrono::milliseconds watchInterval{1'000};  // how often to look for new objects
  std::uint64_t seed = 0;                          // jitter; 0: from the clock
  /// An address learned for a peer other than its listed one (the LAN beacon, node/beacon.h):
  /// a second candidate, tried when the listed address fails (or when none is listed), never
  /// a replacement. Called on the dialing thread; empty: none is ever learned.
  std::function<std::optional<std::string>(const protocol::PublicKey&)> learnedAddress;
  /// Called with the report of every session this daemon dials, on the dialing thread (the
  /// sessions it answers go to server.onSession).
  std::function<void(const SessionReport&)> onDialed;
};

class Daemon {
 public:
  /// Binds the server (Error when it cannot). The archive outlives the daemon.
  Daemon(store::Archive& archive, const protocol::SecretKey& identity, DaemonOptions options,
         ServerLog log);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const std::string& endpoint() const { return m_server.endpoint(); }
  /// Serves and dials until stop().
  void run();
  /// Asks run() to return, after the session in progress (bounded by its timeouts).
  void stop();

 private:
  void dialLoop();

  store::Archive& m_archive;
  const protocol::SecretKey& m_identity;
  DaemonOptions m_options;
  ServerLog m_log;
  Server m_server;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stop = false;
};

}  // namespace fieldsync::node
