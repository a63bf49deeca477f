#include "cli/settings.h"

#include <system_error>

namespace fieldsync::cli {

void ServeFlags::addTo(CLI::App& cmd) {
  cmd.add_option("--listen", listen,
                 "Where to listen: tcp://HOST:PORT (default: config.toml's listen, else "
                 "tcp://0.0.0.0:7420)");
  auto* on = cmd.add_flag("--dial", dial, "Dial peers (the default) even if config.toml says not");
  auto* off = cmd.add_flag("--no-dial", noDial, "Only answer peers; never dial them");
  on->excludes(off);
  on = cmd.add_flag("--beacon", beacon,
                    "Turn the LAN beacon on (off by default): a private UDP broadcast (port "
                    "7421) that gives listed peers a second address for this node, and theirs");
  off = cmd.add_flag("--no-beacon", noBeacon,
                     "Keep the LAN beacon off (the default) even if config.toml turns it on");
  on->excludes(off);
  cmd.add_option("--log-level", logLevel,
                 "Least severe log lines written: error, warn, info or debug (default: "
                 "config.toml's log_level, else info)")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
}

std::filesystem::path configPath(const Global& global) { return homePath(global) / "config.toml"; }

node::Config loadConfig(const Global& global) {
  const auto path = configPath(global);
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw UsageError(path.string() + ": " + ec.message());
  if (!std::filesystem::exists(status)) return node::Config{};
  const std::string text = readInput(path.string(), node::MAX_CONFIG_BYTES);
  auto config = node::parseConfig(text);
  if (!config.ok()) {
    const auto& e = config.error();
    std::string where = path.string();
    if (e.line != 0) where += ":" + std::to_string(e.line) + ":" + std::to_string(e.column);
    throw UsageError(where + ": " + e.message);
  }
  return std::move(config).value();
}

node::Config applyFlags(node::Config config, const ServeFlags& flags) {
  const node::Source flag{.kind = node::Source::Flag, .line = 0};
  if (flags.listen) {
    if (auto problem = node::checkListenAddress(*flags.listen))
      throw UsageError("--listen: " + *problem);
    config.listen = {*flags.listen, flag};
  }
  if (flags.dial || flags.noDial) config.dial = {flags.dial, flag};
  if (flags.beacon || flags.noBeacon) config.beacon = {flags.beacon, flag};
  if (flags.logLevel) {
    const auto level = node::parseLogLevel(*flags.logLevel);
    if (!level) throw UsageError("--log-level: not a level: " + *flags.logLevel);
    config.logLevel = {*level, flag};
  }
  return config;
}

void refuseIfPeersDeclared(const Global& global, const std::string& command) {
  const auto config = loadConfig(global);
  if (!config.peers) return;
  throw UsageError("`fieldsync " + command + "`: this node's peer list is declared in " +
                   configPath(global).string() + " ([peers], line " +
                   std::to_string(config.peersLine) +
                   "); change it there, then run `fieldsync config apply` or restart serve; "
                   "nothing changed");
}

std::string sourceText(const node::Source& source) {
  switch (source.kind) {
    case node::Source::Default:
      return "default";
    case node::Source::File:
      return "config.toml:" + std::to_string(source.line);
    case node::Source::Flag:
      return "flag";
    case node::Source::Archive:
      return "archive";
  }
  return "default";
}

std::string describeChange(const node::PeerChange& change) {
  switch (change.kind) {
    case node::PeerChange::Add:
      return "Added peer " + change.name;
    case node::PeerChange::Remove:
      return "Removed peer " + change.name + " (config.toml's [peers] does not list it)";
    case node::PeerChange::Update: {
      std::string text = "Updated peer " + change.name + ":";
      for (std::size_t i = 0; i < change.details.size(); ++i)
        text += (i == 0 ? " " : ", ") + change.details[i];
      return text;
    }
  }
  return change.name;
}

}  // namespace fieldsync::cli
