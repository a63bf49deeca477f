#pragma once
// The daemon behind `fieldsync serve`: serves sessions to listed peers (node/server.h) and
// dials them, so every partner keeps converging without anyone running `sync`. When and how it
// dials is decided below the daemon, which is only the loop that joins them:
//   - when: node/dial_scheduler.h (each peer at once, then after its interval with jitter;
//     back-off after failures; new objects pushed at once to peers that may lack them);
//   - how: node/peer_link.h, as for `fieldsync sync` and the server: the peer's rate cap and
//     daily budget (a spent budget waits for 00:00 UTC and is said once in the log), a pause,
//     a refusal for misbehaviour (a peer that answers a dialed session with something invalid
//     is refused as it would be when it dials, when server.penalize);
//   - where: a peer's listed address, and before it one learned on the LAN
//     (DaemonOptions::learnedAddress); a peer with neither (sticks only) is not dialed.
//   - One session per pair at a time (PairSessions, shared with the server): a peer in a
//     session this node answered is not dialed meanwhile, and when both dial at once the
//     session dialed by the smaller key goes on.
//   - Store and forward: sessions carry every object, whoever signed it.
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
#include "node/peer_link.h"
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
  /// a second candidate, tried first while it is fresh, the listed address after it when it
  /// fails; never a replacement. A peer listed with no address (sticks only) is dialed only
  /// at a learned one. Called on the dialing thread; empty: none is ever learned.
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
  PairSessions m_pairs;  // before the server, which holds a pointer to it
  Server m_server;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stop = false;
};

}  // namespace fieldsync::node
