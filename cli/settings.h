#pragma once
// The settings `serve` runs with: HOME/config.toml (node/config.h), then the command line's
// flags over it. Shared by `serve`, `config` and the peer commands that the file's peer list
// governs. Rules: docs/cli.md, "The configuration file".

#include <CLI/CLI.hpp>

#include <filesystem>
#include <optional>
#include <string>

#include "cli/command.h"
#include "node/config.h"

namespace fieldsync::cli {

/// The flags of `serve` that override config.toml (also taken by `config show`).
struct ServeFlags {
  std::optional<std::string> listen;
  bool dial = false, noDial = false, beacon = false, noBeacon = false;
  std::optional<std::string> logLevel;

  void addTo(CLI::App& cmd);
};

/// HOME/config.toml.
std::filesystem::path configPath(const Global& global);

/// The configuration file of the home, parsed; all defaults when there is none. UsageError
/// "PATH:LINE:COLUMN: message" when it cannot be read or is not valid.
node::Config loadConfig(const Global& global);

/// config with the flags given applied over it (their source: Flag); UsageError for a bad
/// --listen.
node::Config applyFlags(node::Config config, const ServeFlags& flags);

/// UsageError when config.toml declares the peer list ([peers]): `peers add`, `set` and
/// `remove` then refuse, since the file would undo them (docs/decisions/0006-config-file.md).
void refuseIfPeersDeclared(const Global& global, const std::string& command);

/// "default", "config.toml:12", "flag" or "archive".
std::string sourceText(const node::Source& source);

/// "Added peer goma", "Updated peer goma: interval 5m -> 10m", "Removed peer old (...)".
std::string describeChange(const node::PeerChange& change);

}  // namespace fieldsync::cli
