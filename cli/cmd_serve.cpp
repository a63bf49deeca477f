// fieldsync serve: answers sync sessions from listed peers until SIGINT or SIGTERM.
#include <pthread.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "cli/output.h"
#include "node/daemon.h"

namespace fieldsync::cli {
namespace {

struct ServeArgs {
  std::string listen = "tcp://0.0.0.0:7420";
  bool noDial = false;
};

int runServe(const Global& global, const ServeArgs& args) {
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
  node::DaemonOptions options;
  options.server.listen = args.listen;
  options.dial = !args.noDial;
  node::Daemon server(home->archive(), identity, options, log);
  log("serving " + home->archive().dir().parent_path().string() + " on " + server.endpoint() +
      " as " + home->publicKey().hex() + (args.noDial ? "" : "; dialing peers"));

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
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand(
      "serve", "Sync with listed peers until stopped: answer their sessions and dial them");
  cmd->add_option("--listen", args->listen, "Where to listen: tcp://HOST:PORT")
      ->capture_default_str();
  cmd->add_flag("--no-dial", args->noDial, "Only answer peers; never dial them");
  cmd->callback([&invocation, args] {
    invocation.action = [&invocation, args] { return runServe(invocation.global, *args); };
  });
}

}  // namespace fieldsync::cli
