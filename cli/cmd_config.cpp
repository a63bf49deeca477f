// fieldsync config: the settings `serve` runs with. `show` prints each effective setting and
// where it came from, `check` validates config.toml and says what applying it would change,
// `apply` makes the archive's peer list what the file declares. The reader and the rules are
// node/config.h's; cli/settings.h joins the file and the flags.
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/settings.h"
#include "cli/units.h"
#include "store/peers.h"

namespace fieldsync::cli {
namespace {

std::string sizeText(std::uint64_t bytes) { return bytes == 0 ? "unlimited" : formatSize(bytes); }

/// One setting as --json prints it: {"value", "source", "line" (for config.toml only)}.
template <class T>
nlohmann::json settingJson(const T& value, const node::Source& source) {
  static constexpr const char* KINDS[] = {"default", "file", "flag", "archive"};
  nlohmann::json json{{"value", value}, {"source", KINDS[source.kind]}};
  if (source.kind == node::Source::File) json["line"] = source.line;
  return json;
}

/// The peers serve runs with: the file's when it declares a list, else the archive's.
std::vector<node::PeerConfig> effectivePeers(const node::Config& config,
                                             const std::vector<store::PeerRecord>& listed) {
  if (config.peers) return *config.peers;
  std::vector<node::PeerConfig> peers;
  const node::Source archive{.kind = node::Source::Archive, .line = 0};
  for (const auto& record : listed) {
    node::PeerConfig peer;
    peer.name = record.name;
    peer.address = {record.address, archive};
    peer.key = {record.key, archive};
    peer.interval = {record.settings.interval, archive};
    peer.maxBackoff = {record.settings.maxBackoff, archive};
    peer.rate = {record.settings.rate, archive};
    peer.dailyBudget = {record.settings.dailyBudget, archive};
    peers.push_back(std::move(peer));
  }
  return peers;
}

nlohmann::json changeJson(const node::PeerChange& change) {
  static constexpr const char* KINDS[] = {"add", "update", "remove"};
  return {{"change", KINDS[change.kind]}, {"peer", change.name}, {"details", change.details}};
}

int runShow(const Global& global, const ServeFlags& flags, bool json) {
  const node::Config config = applyFlags(loadConfig(global), flags);
  const auto path = configPath(global);
  const bool fileExists = std::filesystem::exists(path);
  auto home = openHome(global);
  const auto listed = store::listPeers(home->archive().beginRead());
  const auto peers = effectivePeers(config, listed);
  const auto pending = node::planPeers(config, listed);

  if (json) {
    nlohmann::json out{
        {"file", path.string()},
        {"fileExists", fileExists},
        {"listen", settingJson(config.listen.value, config.listen.source)},
        {"dial", settingJson(config.dial.value, config.dial.source)},
        {"beacon", settingJson(config.beacon.value, config.beacon.source)},
        {"logLevel", settingJson(std::string(node::logLevelName(config.logLevel.value)),
                                 config.logLevel.source)},
        {"peersFrom", config.peers ? "file" : "archive"},
        {"peers", nlohmann::json::array()},
        {"pending", nlohmann::json::array()}};
    for (const auto& peer : peers)
      out["peers"].push_back(
          {{"name", peer.name},
           {"address", settingJson(peer.address.value, peer.address.source)},
           {"key", settingJson(peer.key.value.hex(), peer.key.source)},
           {"interval", settingJson(peer.interval.value, peer.interval.source)},
           {"maxBackoff", settingJson(peer.maxBackoff.value, peer.maxBackoff.source)},
           {"rate", settingJson(peer.rate.value, peer.rate.source)},
           {"dailyBudget", settingJson(peer.dailyBudget.value, peer.dailyBudget.source)}});
    for (const auto& change : pending) out["pending"].push_back(changeJson(change));
    std::cout << out << '\n';
    return EXIT_OK;
  }

  std::cout << "# " << path.string() << (fileExists ? "" : " (no such file: defaults apply)")
            << '\n';
  std::vector<std::array<std::string, 3>> rows{
      {"listen", config.listen.value, sourceText(config.listen.source)},
      {"dial", config.dial.value ? "true" : "false", sourceText(config.dial.source)},
      {"beacon", config.beacon.value ? "true" : "false", sourceText(config.beacon.source)},
      {"log_level", std::string(node::logLevelName(config.logLevel.value)),
       sourceText(config.logLevel.source)}};
  for (const auto& peer : peers) {
    const std::string p = "peers." + peer.name + ".";
    rows.push_back({p + "address",
                    peer.address.value.empty() ? "(none: stick only)" : peer.address.value,
                    sourceText(peer.address.source)});
    rows.push_back({p + "key", peer.key.value.hex(), sourceText(peer.key.source)});
    rows.push_back(
        {p + "interval", formatDuration(peer.interval.value), sourceText(peer.interval.source)});
    rows.push_back({p + "max_backoff", formatDuration(peer.maxBackoff.value),
                    sourceText(peer.maxBackoff.source)});
    rows.push_back({p + "rate", sizeText(peer.rate.value), sourceText(peer.rate.source)});
    rows.push_back({p + "daily_budget", sizeText(peer.dailyBudget.value),
                    sourceText(peer.dailyBudget.source)});
  }
  std::size_t keyWidth = 0, valueWidth = 0;
  for (const auto& row : rows) {
    keyWidth = std::max(keyWidth, row[0].size());
    valueWidth = std::max(valueWidth, row[1].size());
  }
  for (const auto& row : rows)
    std::cout << row[0] << std::string(keyWidth - row[0].size() + 2, ' ') << row[1]
              << std::string(valueWidth - row[1].size() + 2, ' ') << row[2] << '\n';
  if (!config.peers)
    std::cout << "# peers: the archive's list (`fieldsync peers`); config.toml has no [peers]\n";
  else if (peers.empty())
    std::cout << "# peers: none (config.toml's [peers] is empty)\n";
  if (!pending.empty()) {
    std::cout << "# not yet applied (`fieldsync config apply`, or when serve starts):\n";
    for (const auto& change : pending) std::cout << "#   " << describeChange(change) << '\n';
  }
  return EXIT_OK;
}

int runCheck(const Global& global, bool json) {
  const auto path = configPath(global);
  const bool fileExists = std::filesystem::exists(path);
  std::optional<std::vector<node::PeerChange>> pending;
  if (fileExists) {
    const node::Config config = loadConfig(global);
    if (config.peers && store::Home::exists(homePath(global))) {
      auto home = openHome(global);
      pending = node::planPeers(config, store::listPeers(home->archive().beginRead()));
    }
  }
  if (json) {
    nlohmann::json out{{"file", path.string()},
                       {"fileExists", fileExists},
                       {"valid", true},
                       {"pending", nlohmann::json::array()}};
    if (pending)
      for (const auto& change : *pending) out["pending"].push_back(changeJson(change));
    std::cout << out << '\n';
    return EXIT_OK;
  }
  if (!fileExists) {
    std::cout << "No " << path.string() << ": serve runs with the defaults\n";
    return EXIT_OK;
  }
  std::cout << path.string() << ": valid\n";
  if (!pending) return EXIT_OK;
  if (pending->empty()) {
    std::cout << "The archive's peer list is as the file declares\n";
  } else {
    std::cout << "Applying it (`fieldsync config apply`, or when serve starts) would make "
              << pending->size() << (pending->size() == 1 ? " change" : " changes") << ":\n";
    for (const auto& change : *pending) std::cout << "  " << describeChange(change) << '\n';
  }
  return EXIT_OK;
}

int runApply(const Global& global, bool json) {
  const node::Config config = loadConfig(global);
  auto home = openHome(global);
  if (!config.peers) {
    if (json) {
      std::cout << nlohmann::json{{"peersDeclared", false}, {"changes", nlohmann::json::array()}}
                << '\n';
      return EXIT_OK;
    }
    std::cout << "config.toml declares no [peers]: the archive's peer list (`fieldsync peers`) "
                 "stays as it is\n";
    return EXIT_OK;
  }
  auto changes = node::applyPeers(home->archive(), config, home->publicKey());
  if (!changes.ok()) {
    const auto& e = changes.error();
    throw UsageError(configPath(global).string() + ":" + std::to_string(e.line) + ":" +
                     std::to_string(e.column) + ": " + e.message + "; nothing changed");
  }
  if (json) {
    nlohmann::json out{{"peersDeclared", true}, {"changes", nlohmann::json::array()}};
    for (const auto& change : *changes) out["changes"].push_back(changeJson(change));
    std::cout << out << '\n';
    return EXIT_OK;
  }
  if (changes->empty()) std::cout << "The archive's peer list is as config.toml declares\n";
  for (const auto& change : *changes) std::cout << describeChange(change) << '\n';
  return EXIT_OK;
}

}  // namespace

void addConfig(CLI::App& app, Invocation& invocation) {
  auto* config = app.add_subcommand(
      "config", "The settings serve runs with: HOME/config.toml, then command-line flags");
  config->require_subcommand(1);

  auto flags = std::make_shared<ServeFlags>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = config->add_subcommand(
      "show", "Print every setting serve would run with and where it comes from");
  flags->addTo(*cmd);
  cmd->add_flag("--json", *json, "Print a JSON document");
  cmd->callback([&invocation, flags, json] {
    invocation.action = [&invocation, flags, json] {
      return runShow(invocation.global, *flags, *json);
    };
  });

  cmd->footer(
      "Example: where each setting comes from, with serve's flags applied on top\n"
      "  fieldsync config show --listen tcp://0.0.0.0:7420");

  auto checkJson = std::make_shared<bool>(false);
  cmd = config->add_subcommand(
      "check", "Check config.toml (exit 2 if it is not valid) and say what applying it changes");
  cmd->add_flag("--json", *checkJson, "Print a JSON document");
  cmd->footer(
      "Example: check the file after editing it, before restarting the service\n"
      "  fieldsync config check");
  cmd->callback([&invocation, checkJson] {
    invocation.action = [&invocation, checkJson] {
      return runCheck(invocation.global, *checkJson);
    };
  });

  auto applyJson = std::make_shared<bool>(false);
  cmd = config->add_subcommand("apply",
                               "Make the archive's peer list what config.toml's [peers] declares");
  cmd->add_flag("--json", *applyJson, "Print a JSON document");
  cmd->footer(
      "Example: take the peers declared in the file without restarting serve\n"
      "  fieldsync config apply");
  cmd->callback([&invocation, applyJson] {
    invocation.action = [&invocation, applyJson] {
      return runApply(invocation.global, *applyJson);
    };
  });
  config->footer("Example: fieldsync config show    (see docs/config.example.toml)");
}

}  // namespace fieldsync::cli
