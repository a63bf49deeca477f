#include "node/report.h"

#include <cstdio>

#include "store/peers.h"

namespace fieldsync::node {

std::string formatBytes(std::uint64_t bytes) {
  char text[32];
  if (bytes < 1000) {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < 1'000'000) {
    std::snprintf(text, sizeof text, "%.1f kB", static_cast<double>(bytes) / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.2f MB", static_cast<double>(bytes) / 1e6);
  }
  return text;
}

std::string formatReport(const SessionReport& report) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f s", report.seconds);
  std::string line = "peer " + report.peer + ": ";
  if (!report.ok) return line + "failed after " + seconds + ": " + report.failure;
  const auto& s = report.stats;
  const auto trips = s.roundTrips();
  line += "in " + std::to_string(s.objectsIn) + " objects (" + formatBytes(s.bytesIn) + "), out " +
          std::to_string(s.objectsOut) + " objects (" + formatBytes(s.bytesOut) + "), " +
          std::to_string(trips) + (trips == 1 ? " round trip, " : " round trips, ") + seconds;
  if (s.duplicatesIn > 0) line += ", " + std::to_string(s.duplicatesIn) + " already held";
  line += report.inStep ? ", in step" : ", not in step (the archives changed meanwhile)";
  return line;
}

void recordSession(store::Archive& archive, const SessionReport& report, std::int64_t now) {
  if (!report.key) return;
  const std::uint64_t lastSeq = archive.beginRead().lastSeq();
  archive.write([&](store::WriteTxn& txn) {
    (void)store::updatePeerState(txn, *report.key, [&](store::PeerState& state) {
      state.lastAttempt = now;
      countTraffic(state, report.stats.bytesIn + report.stats.bytesOut, now);
      if (report.ok) {
        state.failures = 0;
        state.lastSuccess = now;
        if (report.inStep) {
          state.inStepAt = now;
          state.inStepSeq = lastSeq;
        }
      } else {
        ++state.failures;
        state.lastError = report.failure;
        state.lastErrorAt = now;
      }
      state.objectsIn += report.stats.objectsIn;
      state.objectsOut += report.stats.objectsOut;
      state.bytesIn += report.stats.bytesIn;
      state.bytesOut += report.stats.bytesOut;
      state.roundTrips = report.stats.roundTrips();
    });
  });
}

}  // namespace fieldsync::node
