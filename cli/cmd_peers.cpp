// fieldsync peers: the nodes this node syncs with (local settings, never synced). The rules
// (names, addresses, keys, one name per key) are store/peers.h's; this file parses, calls and
// prints.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/settings.h"
#include "cli/units.h"
#include "store/pause.h"
#include "store/peers.h"

namespace fieldsync::cli {
namespace {

nlohmann::json timeJson(std::int64_t unixSeconds) {
  return unixSeconds != 0 ? nlohmann::json(isoTimeJson(unixSeconds)) : nlohmann::json(nullptr);
}

/// The settings options of `peers add` and `peers set`, as typed; unset ones are left alone.
struct SettingsOptions {
  std::optional<std::string> interval, maxBackoff, rate, dailyBudget;

  bool any() const { return interval || maxBackoff || rate || dailyBudget; }

  void addTo(CLI::App& cmd) {
    cmd.add_option("--interval", interval,
                   "Time between sessions with this peer: 30s, 10m, 2h, 1d (default 5m)");
    cmd.add_option("--max-backoff", maxBackoff,
                   "Longest wait between attempts after failures in a row (default 1h)");
    cmd.add_option("--rate", rate,
                   "Bytes per second each way: 8000, 64k, 1M (k = 1000); 0: unlimited (default)");
    cmd.add_option("--daily-budget", dailyBudget,
                   "Bytes per UTC day, both ways together: 50M, 1G; 0: unlimited (default)");
  }

  /// Applies the given options to settings; UsageError naming the option for a bad value.
  void applyTo(store::PeerSettings& settings) const {
    if (interval) settings.interval = period("--interval", *interval);
    if (maxBackoff) settings.maxBackoff = period("--max-backoff", *maxBackoff);
    if (rate) settings.rate = size("--rate", *rate, store::MAX_PEER_RATE, "1G bytes per second");
    if (dailyBudget)
      settings.dailyBudget =
          size("--daily-budget", *dailyBudget, store::MAX_PEER_DAILY_BUDGET, "1000T bytes");
  }

 private:
  static std::int64_t period(const char* option, const std::string& text) {
    auto seconds = parseDuration(text);
    if (!seconds)
      throw UsageError(std::string(option) + ": not a duration: \"" + text +
                       "\" (expected a number with a unit s, m, h or d, such as 30s, 10m, 2h, 1d "
                       "or 1h30m)");
    if (*seconds < store::MIN_PEER_PERIOD || *seconds > store::MAX_PEER_PERIOD)
      throw UsageError(std::string(option) + ": " + text +
                       " is out of range (1s to 30d); nothing changed");
    return *seconds;
  }
  static std::uint64_t size(const char* option, const std::string& text, std::uint64_t most,
                            const char* mostText) {
    auto bytes = text == "unlimited" ? std::optional<std::uint64_t>(0) : parseSize(text);
    if (!bytes)
      throw UsageError(std::string(option) + ": not a number of bytes: \"" + text +
                       "\" (expected a number, optionally with k, M, G or T for thousands, "
                       "millions, ...: 8000, 64k, 5M; 0 for unlimited)");
    if (*bytes > most)
      throw UsageError(std::string(option) + ": " + text + " is out of range (at most " + mostText +
                       "; 0 for unlimited); nothing changed");
    return *bytes;
  }
};

/// "every 5m, back-off up to 1h; no rate cap; no daily budget", with today's use of a budget.
std::string describeSettings(const store::PeerRecord& peer, std::int64_t at) {
  const store::PeerSettings& p = peer.settings;
  std::string text = "every " + formatDuration(p.interval) + ", back-off up to " +
                     formatDuration(p.maxBackoff) + "; ";
  text += p.rate == 0 ? "no rate cap" : "rate " + formatSize(p.rate) + " bytes/s each way";
  const std::uint64_t used = store::budgetUsedToday(peer.state, at);
  if (p.dailyBudget == 0) {
    text += "; no daily budget";
    if (used != 0) text += " (" + std::to_string(used) + " bytes today)";
  } else {
    text += "; daily budget " + formatSize(p.dailyBudget) + " bytes (" + std::to_string(used) +
            " used today, " + std::to_string(*store::budgetLeftToday(peer, at)) + " left)";
  }
  return text;
}

/// Where a peer is, for people: its address, or "(stick only)".
std::string shownAddress(const store::PeerRecord& peer) {
  return peer.stickOnly() ? "(stick only)" : peer.address;
}

nlohmann::json addressJson(const store::PeerRecord& peer) {
  return peer.stickOnly() ? nlohmann::json(nullptr) : nlohmann::json(peer.address);
}

nlohmann::json peerJson(const store::PeerRecord& peer, std::int64_t at) {
  const store::PeerState& s = peer.state;
  const store::PeerSettings& p = peer.settings;
  const auto left = store::budgetLeftToday(peer, at);
  return {
      {"name", peer.name},
      {"address", addressJson(peer)},
      {"stickOnly", peer.stickOnly()},
      {"stickAt", timeJson(s.stickAt)},
      {"key", peer.key.hex()},
      {"neverSynced", s.neverSynced()},
      {"lastSuccess", timeJson(s.lastSuccess)},
      {"lastAttempt", timeJson(s.lastAttempt)},
      {"lastError", s.lastError.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.lastError)},
      {"lastErrorAt", timeJson(s.lastErrorAt)},
      {"nextAttempt", timeJson(s.nextAttempt)},
      {"inStepAt", timeJson(s.inStepAt)},
      {"inStepSeq", s.inStepSeq},
      {"objectsIn", s.objectsIn},
      {"objectsOut", s.objectsOut},
      {"bytesIn", s.bytesIn},
      {"bytesOut", s.bytesOut},
      {"roundTrips", s.roundTrips},
      {"failures", s.failures},
      {"interval", p.interval},
      {"maxBackoff", p.maxBackoff},
      {"rate", p.rate},
      {"dailyBudget", p.dailyBudget},
      {"usedToday", store::budgetUsedToday(s, at)},
      {"leftToday", left ? nlohmann::json(*left) : nlohmann::json(nullptr)},
      {"refusedUntil",
       s.refusedAt(at) ? nlohmann::json(isoTimeJson(s.refusedUntil)) : nlohmann::json(nullptr)},
      {"refusedReason",
       s.refusedAt(at) ? nlohmann::json(s.refusedReason) : nlohmann::json(nullptr)},
      {"refusals", s.refusals}};
}

/// The peer, its settings and, indented, what sync made of it so far.
void printPeer(std::ostream& out, const store::PeerRecord& peer, std::int64_t at) {
  const store::PeerState& s = peer.state;
  out << peer.name << "  " << shownAddress(peer) << "  " << peer.key.hex() << '\n';
  out << "  " << describeSettings(peer, at) << '\n';
  if (s.refusedAt(at))
    out << "  " << forTerminal(store::describeRefusal(s)) << " (refusal " << s.refusals
        << "; `fieldsync peers forgive " << peer.name << "` lifts it)\n";
  if (s.neverSynced() && s.stickAt != 0) {
    out << "  never synced over the network";
  } else if (s.neverSynced()) {
    out << "  never synced";
  } else {
    out << "  last synced " << isoTime(s.lastSuccess);
    if (s.inStepAt != 0)
      out << "; in step at " << isoTime(s.inStepAt) << " (this archive at seq " << s.inStepSeq
          << ")";
  }
  if (s.lastAttempt != 0 && s.lastAttempt != s.lastSuccess)
    out << "; last attempt " << isoTime(s.lastAttempt);
  out << '\n';
  if (s.stickAt != 0)
    out << "  in step as of the stick of " << isoTime(s.stickAt)
        << " (what it held then is left out of `bundle export --for " << peer.name << "`)\n";
  if (!s.lastError.empty()) {
    // The text may come from the peer: nothing in it may act on the terminal.
    const std::string error = forTerminal(s.lastError);
    out << "  last error " << isoTime(s.lastErrorAt);
    if (s.failures > 1) out << " (" << s.failures << " failures in a row)";
    out << ": " << error << '\n';
  }
  if (s.nextAttempt != 0) out << "  next attempt not before " << isoTime(s.nextAttempt) << '\n';
  if (!s.neverSynced())
    out << "  objects in " << s.objectsIn << ", out " << s.objectsOut << "; bytes in " << s.bytesIn
        << ", out " << s.bytesOut << "; last session " << s.roundTrips << " round trips\n";
}

struct AddOptions {
  std::string name;
  std::vector<std::string> positional;  // [ADDRESS] KEY
  std::optional<std::string> address, key;
  SettingsOptions settings;
  bool json = false;
};

/// The address (empty: stick only) and key of `peers add`, from `NAME [ADDRESS] KEY` or from
/// --address and --key. A lone positional value is the address when it has a scheme
/// ("tcp://"), else the key.
std::pair<std::string, std::string> addressAndKey(const AddOptions& o) {
  std::optional<std::string> address = o.address, key = o.key;
  auto take = [](std::optional<std::string>& slot, const std::string& value, const char* what) {
    if (slot)
      throw UsageError(std::string("the ") + what + " is given twice (as an argument and as --" +
                       what + ")");
    slot = value;
  };
  if (o.positional.size() == 2) {
    take(address, o.positional[0], "address");
    take(key, o.positional[1], "key");
  } else if (o.positional.size() == 1) {
    const bool isAddress = o.positional[0].find("://") != std::string::npos;
    take(isAddress ? address : key, o.positional[0], isAddress ? "address" : "key");
  }
  if (!key)
    throw UsageError("peer \"" + o.name +
                     "\" needs its public key: `fieldsync peers add NAME [ADDRESS] KEY` or --key "
                     "KEY (64 hex digits, as `fieldsync id` prints them on the peer)");
  return {address.value_or(""), *key};
}

int runAdd(const Global& global, const AddOptions& o) {
  store::PeerRecord peer;
  peer.name = o.name;
  const auto [address, keyText] = addressAndKey(o);
  peer.address = address;
  auto key = protocol::PublicKey::fromHex(keyText);
  if (!key)
    throw UsageError("not a public key: \"" + keyText +
                     "\" (expected 64 hex digits, as `fieldsync id` prints them on the peer)");
  peer.key = *key;
  // Checked before opening the home, so a typo is reported the same with or without a node.
  if (auto problem = store::checkPeerName(peer.name)) throw UsageError(problem->message);
  if (o.address && o.address->empty())
    throw UsageError("--address: empty; leave it out for a peer reached only by stick");
  if (!peer.stickOnly())
    if (auto problem = store::checkPeerAddress(peer.address)) throw UsageError(problem->message);
  o.settings.applyTo(peer.settings);
  refuseIfPeersDeclared(global, "peers add");

  auto home = openHome(global);
  if (peer.key == home->publicKey())
    throw UsageError("key " + peer.key.hex() + " is this node's own key: a peer is another node");
  std::optional<Expected<store::PeerPut, store::PeerProblem>> put;
  home->archive().write([&](store::WriteTxn& txn) {
    put.emplace(store::putPeer(txn, peer, store::IfNameListed::Refuse));
  });
  if (!put->ok()) throw UsageError(put->error().message + "; nothing changed");
  if (o.json) {
    std::cout << nlohmann::json{{"added", peerJson(peer, now())}} << '\n';
    return EXIT_OK;
  }
  if (peer.stickOnly()) {
    std::cout << "Added peer " << peer.name << ", reached only by stick (no address), key "
              << peer.key.hex() << "\n  `fieldsync bundle export FILE --for " << peer.name
              << "` writes its sticks\n";
  } else {
    std::cout << "Added peer " << peer.name << " at " << peer.address << ", key " << peer.key.hex()
              << "\n  " << describeSettings(peer, now()) << '\n';
  }
  return EXIT_OK;
}

struct SetOptions {
  std::string name;
  SettingsOptions settings;
  std::optional<std::string> address;
  bool noAddress = false;
  bool json = false;
};

int runSet(const Global& global, const SetOptions& o) {
  if (!o.settings.any() && !o.address && !o.noAddress)
    throw UsageError("nothing to set for peer \"" + o.name +
                     "\": give --address, --no-address, --interval, --max-backoff, --rate or "
                     "--daily-budget");
  if (o.address && o.noAddress) throw UsageError("--address and --no-address: give one");
  if (o.address && o.address->empty())
    throw UsageError("--address: empty; --no-address makes the peer one reached only by stick");
  if (o.address)
    if (auto problem = store::checkPeerAddress(*o.address)) throw UsageError(problem->message);
  store::PeerSettings checked;  // the values alone, checked before opening the home
  o.settings.applyTo(checked);
  refuseIfPeersDeclared(global, "peers set");
  auto home = openHome(global);
  std::optional<Expected<store::PeerRecord, store::PeerProblem>> changed;
  home->archive().write([&](store::WriteTxn& txn) {
    changed.emplace(store::updatePeerSettings(
        txn, o.name, [&](store::PeerSettings& settings) { o.settings.applyTo(settings); }));
    if (changed->ok() && (o.address || o.noAddress))
      changed.emplace(store::setPeerAddress(txn, o.name, o.address.value_or("")));
  });
  if (!changed->ok()) {
    const auto& problem = changed->error();
    throw UsageError(problem.message + "; nothing changed" +
                     (problem.kind == store::PeerProblem::NotListed
                          ? " (`fieldsync peers list` shows them)"
                          : ""));
  }
  if (o.json) {
    std::cout << nlohmann::json{{"peer", peerJson(**changed, now())}} << '\n';
    return EXIT_OK;
  }
  std::cout << "Set peer " << o.name << ": ";
  if (o.address || o.noAddress)
    std::cout << ((*changed)->stickOnly() ? "no address (stick only)"
                                          : "address " + (*changed)->address)
              << "; ";
  std::cout << describeSettings(**changed, now()) << '\n';
  return EXIT_OK;
}

int runList(const Global& global, bool json) {
  auto home = openHome(global);
  const std::int64_t at = now();
  std::vector<store::PeerRecord> peers;
  std::optional<std::int64_t> paused;
  {
    auto txn = home->archive().beginRead();
    peers = store::listPeers(txn);
    paused = store::pausedUntil(txn, at);
  }
  if (json) {
    auto list = nlohmann::json::array();
    for (const auto& peer : peers) list.push_back(peerJson(peer, at));
    nlohmann::json pausedJson = nullptr;
    if (paused)
      pausedJson = *paused == store::PAUSED_INDEFINITELY ? nlohmann::json("indefinitely")
                                                         : nlohmann::json(isoTimeJson(*paused));
    std::cout << nlohmann::json{{"pausedUntil", pausedJson}, {"peers", list}} << '\n';
    return EXIT_OK;
  }
  if (paused)
    std::cout << "All traffic is paused "
              << (*paused == store::PAUSED_INDEFINITELY ? "until `fieldsync resume`"
                                                        : "until " + isoTime(*paused))
              << "\n";
  if (peers.empty() && !global.quiet)
    std::cout << "No peers yet: add one with `fieldsync peers add NAME [ADDRESS] KEY`\n";
  for (const auto& peer : peers) printPeer(std::cout, peer, at);
  return EXIT_OK;
}

int runForgive(const Global& global, const std::string& name, bool json) {
  auto home = openHome(global);
  std::optional<Expected<store::PeerRecord, store::PeerProblem>> forgiven;
  home->archive().write(
      [&](store::WriteTxn& txn) { forgiven.emplace(store::forgivePeer(txn, name)); });
  if (!forgiven->ok())
    throw UsageError(forgiven->error().message +
                     "; nothing changed (`fieldsync peers list` shows them)");
  if (json) {
    std::cout << nlohmann::json{{"forgiven", peerJson(**forgiven, now())}} << '\n';
    return EXIT_OK;
  }
  std::cout
      << "Forgave peer " << name
      << ": it is admitted and dialed again (a running `fieldsync serve` sees it within a few "
         "seconds), and its count of refusals starts over\n";
  return EXIT_OK;
}

int runRemove(const Global& global, const std::string& name, bool json) {
  refuseIfPeersDeclared(global, "peers remove");
  auto home = openHome(global);
  auto peer = store::findPeer(home->archive().beginRead(), name);
  if (!peer)
    throw UsageError("there is no peer named \"" + name +
                     "\"; nothing changed (`fieldsync peers list` shows them)");
  bool removed = false;
  home->archive().write([&](store::WriteTxn& txn) { removed = store::removePeer(txn, name); });
  if (!removed) throw UsageError("there is no peer named \"" + name + "\"; nothing changed");
  if (json) {
    std::cout << nlohmann::json{{"removed",
                                 {{"name", peer->name},
                                  {"address", addressJson(*peer)},
                                  {"key", peer->key.hex()}}}}
              << '\n';
    return EXIT_OK;
  }
  std::cout << "Removed peer " << peer->name << " (" << shownAddress(*peer) << ", key "
            << peer->key.hex() << ")\n";
  return EXIT_OK;
}

}  // namespace

void addPeers(CLI::App& app, Invocation& invocation) {
  auto* peers = app.add_subcommand("peers", "The nodes this node syncs with");
  peers->require_subcommand(1);
  peers->footer(
      "Examples:\n"
      "  fieldsync peers add hub tcp://hub.example.org:7420 b9127233...(64 hex)\n"
      "  fieldsync peers add bunia --key 5c0e77d1...(64 hex)     (reached only by stick)\n"
      "  fieldsync peers list\n"
      "  fieldsync peers SUBCOMMAND --help");

  auto add = std::make_shared<AddOptions>();
  auto* cmd = peers->add_subcommand(
      "add", "Add a peer: its name, public key and, unless it is reached only by stick, address");
  cmd->add_option("name", add->name, "A short name: 1-64 of A-Z a-z 0-9 . _ -")->required();
  cmd->add_option("address-and-key", add->positional,
                  "[ADDRESS] KEY: where it listens (tcp://HOST:PORT; none for a partner reached "
                  "only by stick) and its public key, 64 hex digits (`fieldsync id` on the peer)")
      ->expected(0, 2);
  cmd->add_option("--key", add->key, "Its public key (instead of the KEY argument)");
  cmd->add_option("--address", add->address,
                  "Where it listens: tcp://HOST:PORT (instead of the ADDRESS argument)");
  add->settings.addTo(*cmd);
  cmd->add_flag("--json", add->json, "Print {\"added\": PEER} as JSON");
  cmd->footer(
      "Example: the hub, synced hourly over a satellite link of 64 kbit/s\n"
      "  fieldsync peers add hub tcp://hub.example.org:7420 b9127233...(64 hex) --interval 1h "
      "--rate 8k\n"
      "Example: an office with no link at all, reached by USB stick (bundle export --for)\n"
      "  fieldsync peers add bunia --key 5c0e77d1...(64 hex)");
  cmd->callback([&invocation, add] {
    invocation.action = [&invocation, add] { return runAdd(invocation.global, *add); };
  });

  auto set = std::make_shared<SetOptions>();
  cmd = peers->add_subcommand(
      "set", "Change a peer's address or how gossip treats it: interval, back-off, caps");
  cmd->add_option("name", set->name, "The peer's name")->required();
  cmd->add_option("--address", set->address, "Where it listens now: tcp://HOST:PORT");
  cmd->add_flag("--no-address", set->noAddress,
                "Forget its address: a partner reached only by stick, never dialed");
  set->settings.addTo(*cmd);
  cmd->add_flag("--json", set->json, "Print {\"peer\": PEER} as JSON");
  cmd->footer(
      "Examples:\n  fieldsync peers set hub --interval 1h --daily-budget 20M\n"
      "  fieldsync peers set bunia --no-address");
  cmd->callback([&invocation, set] {
    invocation.action = [&invocation, set] { return runSet(invocation.global, *set); };
  });

  auto listJson = std::make_shared<bool>(false);
  cmd = peers->add_subcommand("list", "The peers, with what sync made of each");
  cmd->add_flag("--json", *listJson, "Print a JSON document");
  cmd->footer("Example:\n  fieldsync peers list --json");
  cmd->callback([&invocation, listJson] {
    invocation.action = [&invocation, listJson] { return runList(invocation.global, *listJson); };
  });

  auto forgiveName = std::make_shared<std::string>();
  cmd = peers->add_subcommand(
      "forgive", "Lift a peer's refusal for misbehaviour and forget its count of refusals");
  cmd->add_option("name", *forgiveName, "The peer's name")->required();
  auto forgiveJson = std::make_shared<bool>(false);
  cmd->add_flag("--json", *forgiveJson, "Print {\"forgiven\": PEER} as JSON");
  cmd->footer(
      "Example: once nairobi's damaged disk is replaced\n  fieldsync peers forgive nairobi");
  cmd->callback([&invocation, forgiveName, forgiveJson] {
    invocation.action = [&invocation, forgiveName, forgiveJson] {
      return runForgive(invocation.global, *forgiveName, *forgiveJson);
    };
  });

  auto removeName = std::make_shared<std::string>();
  cmd = peers->add_subcommand("remove", "Remove a peer");
  cmd->add_option("name", *removeName, "The peer's name")->required();
  auto removeJson = std::make_shared<bool>(false);
  cmd->add_flag("--json", *removeJson, "Print {\"removed\"} as JSON");
  cmd->footer("Example:\n  fieldsync peers remove bunia");
  cmd->callback([&invocation, removeName, removeJson] {
    invocation.action = [&invocation, removeName, removeJson] {
      return runRemove(invocation.global, *removeName, *removeJson);
    };
  });
}

}  // namespace fieldsync::cli
