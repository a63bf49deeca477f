// fieldsync serve: answers sync sessions from listed peers until SIGINT or SIGTERM.
#include <pthread.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "cli/output.h"
#include "node/server.h"

namespace fieldsync::cli {
namespace {

int runServe(const Global& global, const std::string& listen) {
  auto home = openHome(global);
  const auto identity = loadSecretKey(global, *home);

  // SIGINT and SIGTERM are taken by one thread that asks the server to stop; blocked before
  // any other thread starts, so none of them (ZeroMQ's included) receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto log = [](const std::string& line) {
    std::cerr << isoTime(now()) << ' ' << line << std::endl;
  };
  node::ServerOptions options;
  options.listen = listen;
  node::Server server(home->archive(), identity, options, log);
  log("serving " + home->archive().dir().parent_path().string() + " on " + server.endpoint() +
      " as " + home->publicKey().hex());

  std::thread waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    log(std::string("stopping on ") + (signal == SIGINT ? "SIGINT" : "SIGTERM"));
    server.stop();
  });
  try {
    server.run();
  } catch (...) {
    pthread_kill(waiter.native_handle(), SIGTERM);  // wake the waiter, then fail
    waiter.join();
    throw;
  }
  waiter.join();
  log("stopped");
  return EXIT_OK;
}

}  // namespace

void addServe(CLI::App& app, Invocation& invocation) {
  auto listen = std::make_shared<std::string>("tcp://0.0.0.0:7420");
  auto* cmd = app.add_subcommand("serve", "Serve sync sessions to listed peers until stopped");
  cmd->add_option("--listen", *listen, "Where to listen: tcp://HOST:PORT")->capture_default_str();
  cmd->callback([&invocation, listen] {
    invocation.action = [&invocation, listen] { return runServe(invocation.global, *listen); };
  });
}

}  // namespace fieldsync::cli
