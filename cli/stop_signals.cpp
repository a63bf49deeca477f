#include "cli/stop_signals.h"

#include <pthread.h>

#include <string>
#include <thread>

namespace fieldsync::cli {

StopSignals::StopSignals() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  sigemptyset(&m_signals);
  sigaddset(&m_signals, SIGINT);
  sigaddset(&m_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &m_signals, nullptr);
}

void StopSignals::runUntilStopped(node::Logger& logger, const std::function<void()>& run,
                                  const std::function<void()>& stop) const {
  std::thread waiter([&] {
    int signal = 0;
    sigwait(&m_signals, &signal);
    logger.info(std::string("stopping on ") + (signal == SIGINT ? "SIGINT" : "SIGTERM"));
    stop();
  });
  try {
    run();
  } catch (...) {
    pthread_kill(waiter.native_handle(), SIGTERM);  // wake the waiter, then fail
    waiter.join();
    throw;
  }
  waiter.join();
  logger.info("stopped");
}

}  // namespace fieldsync::cli
