#pragma once
// SIGINT and SIGTERM for the commands that run until stopped (serve, web): one thread takes
// them and asks the server to stop.

#include <csignal>
#include <functional>

#include "node/log.h"

namespace fieldsync::cli {

/// Construct before any other thread starts: it blocks SIGINT and SIGTERM in this thread, so
/// every thread started after it (ZeroMQ's, the HTTP server's) inherits the mask and none of
/// them receives them. A shell starts background jobs with SIGINT ignored; this takes it back,
/// or sigwait would never see it.
class StopSignals {
 public:
  StopSignals();
  /// Runs run() on this thread while a waiter thread takes the first SIGINT or SIGTERM, logs
  /// "stopping on SIGINT" (or SIGTERM) and calls stop(), which must make run() return; then
  /// logs "stopped". When run() throws, the waiter is woken and joined and the exception
  /// goes on.
  void runUntilStopped(node::Logger& logger, const std::function<void()>& run,
                       const std::function<void()>& stop) const;

 private:
  sigset_t m_signals{};
};

}  // namespace fieldsync::cli
