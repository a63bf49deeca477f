// node::parseConfig on arbitrary text (a config.toml). Checks, besides the absence of crashes,
// leaks and undefined behaviour, the promise of node/config.h: a refusal names a place within
// the text (line 0 only for a file over the size limit) in one line of message; an accepted
// file holds only values that serve and the store accept (listen address, peer names,
// addresses, keys and settings), no key twice; and it reads back the same when written out
// again as plain TOML.

#include <set>
#include <string>

#include "fuzz/fuzz_check.h"
#include "node/config.h"
#include "node/units.h"

using namespace fieldsync;

namespace {

std::string boolText(bool value) { return value ? "true" : "false"; }

/// The configuration as a plain TOML file. Every string in an accepted config is an address,
/// a name of [A-Za-z0-9._-] or hex, so none needs escaping.
std::string writeConfig(const node::Config& config) {
  std::string out = "listen = \"" + config.listen.value + "\"\n";
  out += "dial = " + boolText(config.dial.value) + "\n";
  out += "beacon = " + boolText(config.beacon.value) + "\n";
  out += "log_level = \"" + std::string(node::logLevelName(config.logLevel.value)) + "\"\n";
  if (!config.peers) return out;
  out += "[peers]\n";
  for (const auto& peer : *config.peers) {
    out += "[peers.\"" + peer.name + "\"]\n";
    if (!peer.address.value.empty()) out += "address = \"" + peer.address.value + "\"\n";
    out += "key = \"" + peer.key.value.hex() + "\"\n";
    // Alternately as the units people type and as plain numbers: both read back the same.
    if (peer.interval.value % 2 == 0) {
      out += "interval = \"" + node::formatDuration(peer.interval.value) + "\"\n";
      out += "rate = \"" + node::formatSize(peer.rate.value) + "\"\n";
    } else {
      out += "interval = " + std::to_string(peer.interval.value) + "\n";
      out += "rate = " + std::to_string(peer.rate.value) + "\n";
    }
    out += "max_backoff = " + std::to_string(peer.maxBackoff.value) + "\n";
    out += "daily_budget = " + std::to_string(peer.dailyBudget.value) + "\n";
  }
  return out;
}

void checkAccepted(const node::Config& config, std::size_t lines) {
  auto lineWithin = [&](const node::Source& source) {
    return source.kind != node::Source::File || (source.line >= 1 && source.line <= lines);
  };
  FUZZ_CHECK(lineWithin(config.listen.source));
  FUZZ_CHECK(lineWithin(config.logLevel.source));
  FUZZ_CHECK(!node::checkListenAddress(config.listen.value));
  if (!config.peers) return;
  std::set<std::string> names;
  std::set<protocol::PublicKey> keys;
  for (const auto& peer : *config.peers) {
    FUZZ_CHECK(names.insert(peer.name).second);
    FUZZ_CHECK(keys.insert(peer.key.value).second);
    FUZZ_CHECK(!store::checkPeerName(peer.name));
    // No address: a partner reached only by stick, its address the default (empty).
    const bool stickOnly = peer.address.value.empty();
    FUZZ_CHECK(stickOnly || !store::checkPeerAddress(peer.address.value));
    FUZZ_CHECK(protocol::toCurve(peer.key.value).has_value());
    FUZZ_CHECK(!store::checkPeerSettings(peer.settings()));
    FUZZ_CHECK(peer.address.source.kind ==
               (stickOnly ? node::Source::Default : node::Source::File));
    FUZZ_CHECK((stickOnly || lineWithin(peer.address.source)) && lineWithin(peer.interval.source));
  }
  // Against an empty archive, every declared peer is to be added and nothing else happens.
  const auto plan = node::planPeers(config, {});
  FUZZ_CHECK(plan.size() == config.peers->size());
  for (const auto& change : plan) FUZZ_CHECK(change.kind == node::PeerChange::Add);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::textOf(data, size);
  const auto config = node::parseConfig(text);
  const std::size_t lines =
      static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  if (!config.ok()) {
    const auto& error = config.error();
    FUZZ_CHECK(!error.message.empty());
    FUZZ_CHECK(error.message.find('\n') == std::string::npos);
    if (error.line == 0) {
      FUZZ_CHECK(size > node::MAX_CONFIG_BYTES);
    } else {
      FUZZ_CHECK(error.line <= lines);
      FUZZ_CHECK(error.column >= 1);
    }
    return 0;
  }
  checkAccepted(*config, lines);

  const std::string written = writeConfig(*config);
  const auto again = node::parseConfig(written);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->listen.value == config->listen.value);
  FUZZ_CHECK(again->dial.value == config->dial.value);
  FUZZ_CHECK(again->beacon.value == config->beacon.value);
  FUZZ_CHECK(again->logLevel.value == config->logLevel.value);
  FUZZ_CHECK(again->peers.has_value() == config->peers.has_value());
  if (config->peers) {
    FUZZ_CHECK(again->peers->size() == config->peers->size());
    for (std::size_t i = 0; i < config->peers->size(); ++i) {
      const auto& a = (*config->peers)[i];
      const auto& b = (*again->peers)[i];
      FUZZ_CHECK(a.name == b.name && a.address.value == b.address.value &&
                 a.key.value == b.key.value && a.settings() == b.settings());
    }
  }
  return 0;
}
