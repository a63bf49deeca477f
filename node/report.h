#pragma once
// What a finished or failed sync session amounts to, for the log line, the `sync` command's
// output and the peer state kept in the store (store/peers.h).
// Threads: values and free functions; recordSession writes through Archive::write.

#include <cstdint>
#include <optional>
#include <string>

#include "node/session.h"
#include "protocol/keys.h"
#include "store/archive.h"

namespace fieldsync::node {

struct SessionReport {
  std::string peer;                        // the peer's name, or its key's first 8 hex digits
  std::optional<protocol::PublicKey> key;  // the peer's key when known
  bool ok = false;
  std::string failure;  // why not ok
  bool inStep = false;  // both archives held the same objects at the end
  SessionStats stats;
  double seconds = 0;
};

/// One line for a log: "peer office-b: in 12 objects (34.1 kB), out 0 objects (0 B), 1 round
/// trip, 0.21 s, in step" or "peer office-b: failed after 3.02 s: <why>".
std::string formatReport(const SessionReport& report);

/// Adds the session to the peer's state in the store (a peer not listed is left alone):
/// attempt, success or error (and the count of failures in a row), totals, today's traffic
/// against the daily budget, and "in step" with this archive's lastSeq.
void recordSession(store::Archive& archive, const SessionReport& report, std::int64_t now);

/// "12.3 kB", "1.20 MB": bytes for people.
std::string formatBytes(std::uint64_t bytes);

}  // namespace fieldsync::node
