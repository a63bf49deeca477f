#pragma once
// `fieldsync sync`: one session with one peer, as its initiator, over a CurveZMQ link.
// Threads: syncOnce blocks its caller; it makes its own ZeroMQ context.
// Errors: a peer that cannot be reached, refuses us, or goes silent is a failed report
// (unreachable or refused set), not an exception; LMDB failures throw fieldsync::Error.

#include <chrono>
#include <string>

#include "node/report.h"
#include "node/session.h"
#include "node/transport.h"
#include "protocol/keys.h"
#include "store/archive.h"
#include "store/progress.h"

namespace fieldsync::node {

struct SyncOptions {
  TransportLimits transport;
  SessionOptions session;
  /// The link must be up and admitted within this; the peer must answer within idleTimeout.
  std::chrono::milliseconds connectTimeout{15'000};
  std::chrono::milliseconds idleTimeout{60'000};
  /// Bytes per second each way on this link, 0 for no cap: messages are sent no faster, and
  /// the next message is read only once the last one's bytes are paid for, which slows the
  /// peer too (it may have at most a few batches unacknowledged).
  std::uint64_t rate = 0;
  /// Told after each message from the peer: done = objects received (stored or already
  /// held), total = Session::expectedIn() once reconciliation is over (0 before), bytes =
  /// message bytes received.
  store::ProgressCallback progress;
};

struct ClientReport : SessionReport {
  bool unreachable = false;     // no link came up in time
  bool refused = false;         // the link came up and the peer's ZAP handler refused our key
  bool peerMisbehaved = false;  // the peer sent something invalid: nothing of it was stored
};

/// Syncs archive with the server at address (tcp://host:port) whose Ed25519 key is
/// serverKey, signing in as identity. peerName names it in the report.
ClientReport syncOnce(store::Archive& archive, const protocol::SecretKey& identity,
                      const std::string& address, const protocol::PublicKey& serverKey,
                      const std::string& peerName, const SyncOptions& options = {});

}  // namespace fieldsync::node
