// fieldsync serve: answers sync sessions from listed peers until SIGINT or SIGTERM.
#include <pthread.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "cli/output.h"
#include "node/beacon.h"
#include "node/daemon.h"

namespace fieldsync::cli {
namespace {

struct ServeArgs {
  std::string listen = "tcp://0.0.0.0:7420";
  bool noDial = false;
  bool noBeacon = false;
};

int runServe(const Global& global, const ServeArgs& args) {
  auto home = openHome(global);
  const auto identity = loadSecretKey(global, *home);

  // SIGINT and SIGTERM are taken by one thread that asks the server to stop; blocked before
  // any other thread starts, so none of them (ZeroMQ's included) receives them.
  // A shell starts background jobs with SIGINT ignored; take it back, or sigwait never sees it.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
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

  // Peers on the same LAN learn this node's address from its beacon, and it theirs; a beacon
  // only ever updates the address of a peer already listed.
  node::BeaconOptions beaconOptions;
  beaconOptions.enabled = !args.noBeacon;
  const auto colon = server.endpoint().rfind(':');
  beaconOptions.announcePort =
      static_cast<std::uint16_t>(std::stoul(server.endpoint().substr(colon + 1)));
  node::Beacon beacon(
      identity, beaconOptions,
      [&](const protocol::PublicKey& key, const std::string& address) {
        if (node::updateListedPeerAddress(home->archive(), key, address)) {
          log("beacon: peer " + key.hex().substr(0, 8) + " is now at " + address);
        }
      },
      log);

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
  cmd->add_flag("--no-beacon", args->noBeacon,
                "Neither announce this node on the LAN nor learn peers' addresses (UDP 7421)");
  cmd->footer(
      "Example: serve the listed peers on port 7420 until Ctrl-C (log on standard error)\n"
      "  fieldsync serve --listen tcp://0.0.0.0:7420");
  cmd->callback([&invocation, args] {
    invocation.action = [&invocation, args] { return runServe(invocation.global, *args); };
  });
}

}  // namespace fieldsync::cli
