// fieldsync serve: answers sync sessions from listed peers until SIGINT or SIGTERM. Its
// settings: config.toml, then the flags (cli/settings.h); its log: node/log.h on stderr.
#include <unistd.h>

#include <iostream>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/settings.h"
#include "cli/stop_signals.h"
#include "node/beacon.h"
#include "node/daemon.h"
#include "node/log.h"

namespace fieldsync::cli {
namespace {

int runServe(const Global& global, const ServeFlags& flags) {
  // The file and the flags first: a bad one is reported before anything starts.
  const node::Config config = applyFlags(loadConfig(global), flags);
  node::Logger logger(std::cerr, config.logLevel.value, node::detectLogFormat(STDERR_FILENO));
  auto home = openHome(global);
  const auto identity = loadSecretKey(global, *home);
  // The file's peer list, when it declares one, becomes the archive's before any peer is
  // admitted or dialed.
  auto changes = node::applyPeers(home->archive(), config, home->publicKey());
  if (!changes.ok()) {
    const auto& e = changes.error();
    throw UsageError(configPath(global).string() + ":" + std::to_string(e.line) + ":" +
                     std::to_string(e.column) + ": " + e.message + "; nothing started");
  }
  for (const auto& change : *changes) logger.info("config: " + describeChange(change));

  // Before any other thread starts (cli/stop_signals.h).
  const StopSignals signals;

  const node::LogSink log = logger.sink();
  // Addresses heard in listed peers' beacons: a second address for the dialer to try, never
  // written over the listed one. Declared before the daemon and the beacon, which use it.
  node::BeaconOptions beaconOptions;
  beaconOptions.enabled = config.beacon.value;
  node::LearnedAddresses learned(3 * beaconOptions.interval);
  node::DaemonOptions options;
  options.server.listen = config.listen.value;
  options.dial = config.dial.value;
  if (config.beacon.value) {
    options.learnedAddress = [&learned](const protocol::PublicKey& key) {
      return learned.find(key, node::LearnedAddresses::Clock::now());
    };
  }
  node::Daemon server(home->archive(), identity, options, log);
  // A serve that listens on loopback only cannot be reached from the LAN: it announces nothing.
  beaconOptions.announce = node::announcesOnLan(server.endpoint());
  logger.info("serving " + home->archive().dir().parent_path().string() + " on " +
              server.endpoint() + " as " + home->publicKey().hex() +
              (config.dial.value ? "; dialing peers" : "") +
              (!config.beacon.value     ? ""
               : beaconOptions.announce ? "; LAN beacon on"
                                        : "; LAN beacon on, hearing only (listening on loopback)"));

  const auto colon = server.endpoint().rfind(':');
  beaconOptions.announcePort =
      static_cast<std::uint16_t>(std::stoul(server.endpoint().substr(colon + 1)));
  node::Beacon beacon(
      identity, beaconOptions, [&] { return node::listedPeerKeys(home->archive()); },
      [&](const protocol::PublicKey& key, const std::string& address) {
        if (learned.learn(key, address, node::LearnedAddresses::Clock::now())) {
          logger.info("beacon: peer " + key.hex().substr(0, 8) + " heard at " + address +
                      " (a second address to dial; the listed one is kept)");
        }
      },
      log);

  signals.runUntilStopped(
      logger,
      [&] {
        try {
          server.run();
        } catch (const std::exception& e) {
          logger.error(std::string("stopped on an error: ") + e.what());
          throw;
        }
      },
      [&] { server.stop(); });
  return EXIT_OK;
}

}  // namespace

void addServe(CLI::App& app, Invocation& invocation) {
  auto args = std::make_shared<ServeFlags>();
  auto* cmd = app.add_subcommand(
      "serve", "Sync with listed peers until stopped: answer their sessions and dial them");
  args->addTo(*cmd);
  cmd->footer(
      "Example: serve the listed peers on port 7420 until Ctrl-C (log on standard error)\n"
      "  fieldsync serve --listen tcp://0.0.0.0:7420");
  cmd->callback([&invocation, args] {
    invocation.action = [&invocation, args] { return runServe(invocation.global, *args); };
  });
}

}  // namespace fieldsync::cli
