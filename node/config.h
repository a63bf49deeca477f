#pragma once
// The node's configuration file, HOME/config.toml: how `serve` runs (listen address, dialing,
// the LAN beacon, the log level) and, when the file has a [peers] table, the whole peer list
// with each peer's gossip settings. The rules, and how the file and the archive's peer list
// relate, are in docs/cli.md ("The configuration file") and docs/decisions/0006-config-file.md.
//
// Here because it configures a node: its values are the node's (DaemonOptions, BeaconOptions,
// the logger) and the store's peer rules (store/peers.h) check them; protocol/ is the wire and
// cli/ is an executable that cannot be tested or fuzzed as a library.
//
// parseConfig is a pure function of the text (fuzzed: fuzz/fuzz_config.cpp). planPeers and
// applyPeers bring the archive's peer list in step with a parsed file.
// Errors: refused input is Expected<..., ConfigError> with the line and column (1-based) of the
// offending text; LMDB failures throw fieldsync::Error.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/log.h"
#include "protocol/error.h"
#include "protocol/keys.h"
#include "store/archive.h"
#include "store/peers.h"

namespace fieldsync::node {

/// Files longer than this are refused unread (a real one is a few kilobytes).
inline constexpr std::size_t MAX_CONFIG_BYTES = 1 << 20;
inline constexpr std::string_view DEFAULT_LISTEN = "tcp://0.0.0.0:7420";

/// Where an effective setting's value came from.
struct Source {
  enum Kind { Default, File, Flag, Archive } kind = Default;
  std::uint32_t line = 0;  // File: the line of the value
  bool operator==(const Source&) const = default;
};

template <class T>
struct Setting {
  T value;
  Source source;
};

/// A peer the file declares: [peers.NAME].
struct PeerConfig {
  std::string name;
  std::uint32_t line = 0;  // of its [peers.NAME] header
  /// Empty: none (the file gives no address), a partner reached only by stick.
  Setting<std::string> address;
  Setting<protocol::PublicKey> key;
  std::uint32_t keyColumn = 0;  // where the key's value starts, for errors found on applying
  Setting<std::int64_t> interval{store::DEFAULT_PEER_INTERVAL, {}};
  Setting<std::int64_t> maxBackoff{store::DEFAULT_PEER_MAX_BACKOFF, {}};
  Setting<std::uint64_t> rate{0, {}};
  Setting<std::uint64_t> dailyBudget{0, {}};

  store::PeerSettings settings() const {
    return {.interval = interval.value,
            .maxBackoff = maxBackoff.value,
            .rate = rate.value,
            .dailyBudget = dailyBudget.value};
  }
};

struct Config {
  Setting<std::string> listen{std::string(DEFAULT_LISTEN), {}};
  Setting<bool> dial{true, {}};
  Setting<bool> beacon{false, {}};  // off unless turned on: docs/decisions/0007
  Setting<LogLevel> logLevel{LogLevel::Info, {}};
  /// The peer list, when the file has a [peers] table (even an empty one): then it is the
  /// whole list and applyPeers makes the archive's match it. Empty: the archive's list rules.
  std::optional<std::vector<PeerConfig>> peers;
  std::uint32_t peersLine = 0;  // of the [peers] table
};

struct ConfigError {
  std::uint32_t line = 0;  // 1-based; 0 when the problem has no place (the file is too long)
  std::uint32_t column = 0;
  std::string message;  // one sentence naming the key and what is expected
};

/// The configuration in text, a whole config.toml. Refuses TOML syntax errors, keys it does not
/// know (a typo is an error, never ignored), values of the wrong type or out of range, a bad
/// listen or peer address, a bad peer name or key, a key declared twice, a peer without a key,
/// and text longer than MAX_CONFIG_BYTES. A peer without an address is one reached only by
/// stick. Empty text is all defaults.
[[nodiscard]] Expected<Config, ConfigError> parseConfig(std::string_view text);

/// Why endpoint is not an address serve can listen on; empty when it is. Accepted:
/// tcp://HOST:PORT with HOST as for a peer address (store::checkPeerAddress) or *, and PORT
/// 1-65535 or * (any free port).
[[nodiscard]] std::optional<std::string> checkListenAddress(std::string_view endpoint);

/// A change applyPeers makes to the archive's peer list.
struct PeerChange {
  enum Kind { Add, Update, Remove } kind;
  std::string name;
  std::vector<std::string> details;  // for Update: "interval 5m -> 10m", "address a -> b"
};

/// What applyPeers would change: declared peers missing from the archive are added, listed
/// ones whose address, key or settings differ are updated, and listed peers the file does not
/// declare are removed. Nothing when config.peers is empty (the file declares no list).
[[nodiscard]] std::vector<PeerChange> planPeers(const Config& config,
                                                const std::vector<store::PeerRecord>& listed);

/// Makes the archive's peer list what config declares, in one write transaction (all or
/// nothing); returns what changed. A peer keeps its sync state (history, budget use) unless its
/// key changes (then it is another node). Refuses, changing nothing, a declared key that is
/// ownKey (this node's). Does nothing when config.peers is empty.
[[nodiscard]] Expected<std::vector<PeerChange>, ConfigError> applyPeers(
    store::Archive& archive, const Config& config, const protocol::PublicKey& ownKey);

}  // namespace fieldsync::node
