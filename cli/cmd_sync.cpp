// fieldsync sync: one session with a peer, both ways; each side ends with the union.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "node/client.h"
#include "node/peer_link.h"
#include "store/pause.h"
#include "store/peers.h"

namespace fieldsync::cli {
namespace {

struct SyncArgs {
  std::string target;  // a peer's name or an address
  std::string key;
  bool json = false;
  unsigned connectTimeout = 0;  // seconds; 0: node::SyncOptions' default
};

int runSync(const Global& global, const SyncArgs& args) {
  auto home = openHome(global);
  store::Archive& archive = home->archive();
  if (const auto until = store::pausedUntil(archive.beginRead(), now())) {
    throw UsageError(std::string("traffic is paused ") +
                     (*until == store::PAUSED_INDEFINITELY ? "until `fieldsync resume`"
                                                           : "until " + isoTime(*until)) +
                     "; nothing was sent (`fieldsync resume` ends the pause)");
  }

  // A listed peer by name, or an address with --key (or the key listed for that address).
  std::string name, address;
  std::optional<protocol::PublicKey> key;
  if (!args.key.empty()) {
    key = protocol::PublicKey::fromHex(args.key);
    if (!key) throw UsageError("not a public key: \"" + args.key + "\" (expected 64 hex digits)");
  }
  const auto peers = store::listPeers(archive.beginRead());
  for (const auto& peer : peers) {
    if (peer.name == args.target || (peer.address == args.target && !key)) {
      name = peer.name;
      address = peer.address;
      if (!key) key = peer.key;
    }
  }
  if (address.empty() && !name.empty()) {
    throw UsageError("peer " + name + " has no address: it is reached only by stick (`fieldsync " +
                     "bundle export FILE --for " + name + "`); `fieldsync peers set " + name +
                     " --address tcp://HOST:PORT` gives it one");
  }
  if (address.empty()) {
    if (auto problem = store::checkPeerAddress(args.target)) {
      throw UsageError("\"" + args.target +
                       "\" is neither a listed peer (`fieldsync peers list`) " +
                       "nor an address: " + problem->message);
    }
    if (!key) {
      throw UsageError("no peer is listed at " + args.target +
                       ": give its key with --key, or list it with `fieldsync peers add`");
    }
    address = args.target;
  }
  if (name.empty()) {
    const auto listed = store::findPeerByKey(archive.beginRead(), *key);
    name = listed ? listed->name : key->hex().substr(0, 8);
  }

  const auto identity = loadSecretKey(global, *home);
  node::SyncOptions options;
  if (args.connectTimeout > 0) options.connectTimeout = std::chrono::seconds(args.connectTimeout);
  auto bar = terminalProgressBar(global.quiet, "receiving");
  options.progress = progressCallback(bar.get());
  // The listed peer's settings (cap, budget, refusal) as the daemon keeps them: node/peer_link.h.
  const auto listed = store::findPeerByKey(archive.beginRead(), *key);
  const node::Dialed dialed = node::dialPeer(archive, identity, listed, {address}, *key, name,
                                             std::move(options), /*penalize=*/true, now);
  bar.reset();  // erased before the result is printed
  if (dialed.notRun) {
    // Refused for misbehaviour, or today's budget spent: nothing was sent; try later.
    const auto& refusal = *dialed.notRun;
    std::string why = refusal.message;
    switch (refusal.kind) {
      case node::SessionRefusal::Kind::BudgetSpent:
        why +=
            "; it resumes 00:00 UTC (`fieldsync peers set " + name + " --daily-budget` changes it)";
        break;
      case node::SessionRefusal::Kind::Refused:
        why += " (`fieldsync peers forgive " + name + "` lifts it)";
        break;
      case node::SessionRefusal::Kind::Paused:
        break;
    }
    why += "; nothing was sent";
    if (refusal.kind == node::SessionRefusal::Kind::Paused) throw UsageError(why);
    if (args.json)
      std::cout << nlohmann::json{{"peer", name},
                                  {"ok", false},
                                  {"error", errorJson(why, EXIT_UNREACHABLE)}}
                << '\n';
    else
      std::cerr << "fieldsync: sync with peer " << name << ": " << forTerminal(why) << '\n';
    return EXIT_UNREACHABLE;
  }
  const node::ClientReport& report = dialed.report;
  const int status = report.ok ? EXIT_OK : report.peerMisbehaved ? EXIT_INVALID : EXIT_UNREACHABLE;

  const auto& s = report.stats;
  if (args.json) {
    nlohmann::json out = {
        {"peer", name},
        {"address", address},
        {"key", key->hex()},
        {"ok", report.ok},
        {"inStep", report.inStep},
        {"objectsIn", s.objectsIn},
        {"objectsOut", s.objectsOut},
        {"duplicatesIn", s.duplicatesIn},
        {"bytesIn", s.bytesIn},
        {"bytesOut", s.bytesOut},
        {"roundTrips", s.roundTrips()},
        {"seconds", report.seconds},
        {"error", report.ok ? nlohmann::json(nullptr) : errorJson(report.failure, status)}};
    std::cout << out << '\n';
  } else if (report.ok) {
    std::cout << forTerminal(node::formatReport(report)) << '\n';
  } else {
    std::cerr << "fieldsync: sync with " << forTerminal(node::formatReport(report)) << '\n';
  }
  return status;
}

}  // namespace

void addSync(CLI::App& app, Invocation& invocation) {
  auto args = std::make_shared<SyncArgs>();
  auto* cmd =
      app.add_subcommand("sync", "Sync with a peer once: both ways, until both hold the union");
  cmd->add_option("peer", args->target, "A listed peer's name, or an address tcp://HOST:PORT")
      ->required();
  cmd->add_option("--key", args->key, "The peer's public key (64 hex digits), for an address");
  cmd->add_flag("--json", args->json, "Print a JSON document");
  cmd->footer(
      "Examples:\n"
      "  fieldsync sync hub\n"
      "  fieldsync sync tcp://192.0.2.7:7420 --key b9127233...(64 hex)\n"
      "Exit status: 0 done, 4 peer unreachable or refused us (retry later), 1 peer sent "
      "something invalid");
  // Hidden from --help (documented in docs/cli.md): for tests and scripts that must not wait
  // the default 15 s for a peer that is not there.
  cmd->add_option("--connect-timeout", args->connectTimeout,
                  "Seconds to wait for the link to come up and be admitted")
      ->check(CLI::Range(1u, 3600u))
      ->group("");
  cmd->callback([&invocation, args] {
    invocation.action = [&invocation, args] { return runSync(invocation.global, *args); };
  });
}

}  // namespace fieldsync::cli
