// fieldsync peers: the nodes this node syncs with (local settings, never synced). The rules
// (names, addresses, keys, one name per key) are store/peers.h's; this file parses, calls and
// prints.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "store/peers.h"

namespace fieldsync::cli {
namespace {

nlohmann::json timeJson(std::int64_t unixSeconds) {
  return unixSeconds != 0 ? nlohmann::json(isoTime(unixSeconds)) : nlohmann::json(nullptr);
}

nlohmann::json peerJson(const store::PeerRecord& peer) {
  const store::PeerState& s = peer.state;
  return {
      {"name", peer.name},
      {"address", peer.address},
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
      {"roundTrips", s.roundTrips}};
}

/// The peer and, indented, what sync made of it so far.
void printPeer(std::ostream& out, const store::PeerRecord& peer) {
  const store::PeerState& s = peer.state;
  out << peer.name << "  " << peer.address << "  " << peer.key.hex() << '\n';
  if (s.neverSynced()) {
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
  if (!s.lastError.empty()) {
    // The text may come from the peer: no control characters reach the terminal.
    std::string error = s.lastError;
    for (char& c : error)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    out << "  last error " << isoTime(s.lastErrorAt) << ": " << error << '\n';
  }
  if (s.nextAttempt != 0) out << "  next attempt not before " << isoTime(s.nextAttempt) << '\n';
  if (!s.neverSynced())
    out << "  objects in " << s.objectsIn << ", out " << s.objectsOut << "; bytes in " << s.bytesIn
        << ", out " << s.bytesOut << "; last session " << s.roundTrips << " round trips\n";
}

struct AddOptions {
  std::string name, address, key;
};

int runAdd(const Global& global, const AddOptions& o) {
  store::PeerRecord peer;
  peer.name = o.name;
  peer.address = o.address;
  auto key = protocol::PublicKey::fromHex(o.key);
  if (!key)
    throw UsageError("not a public key: \"" + o.key +
                     "\" (expected 64 hex digits, as `fieldsync id` prints them on the peer)");
  peer.key = *key;
  // Checked before opening the home, so a typo is reported the same with or without a node.
  if (auto problem = store::checkPeerName(peer.name)) throw UsageError(problem->message);
  if (auto problem = store::checkPeerAddress(peer.address)) throw UsageError(problem->message);

  auto home = openHome(global);
  if (peer.key == home->publicKey())
    throw UsageError("key " + peer.key.hex() + " is this node's own key: a peer is another node");
  std::optional<Expected<store::PeerPut, store::PeerProblem>> put;
  home->archive().write([&](store::WriteTxn& txn) {
    put.emplace(store::putPeer(txn, peer, store::IfNameListed::Refuse));
  });
  if (!put->ok()) throw UsageError(put->error().message + "; nothing changed");
  std::cout << "Added peer " << peer.name << " at " << peer.address << ", key " << peer.key.hex()
            << '\n';
  return EXIT_OK;
}

int runList(const Global& global, bool json) {
  auto home = openHome(global);
  const auto peers = store::listPeers(home->archive().beginRead());
  if (json) {
    auto list = nlohmann::json::array();
    for (const auto& peer : peers) list.push_back(peerJson(peer));
    std::cout << nlohmann::json{{"peers", list}} << '\n';
    return EXIT_OK;
  }
  if (peers.empty())
    std::cout << "No peers yet: add one with `fieldsync peers add NAME ADDRESS KEY`\n";
  for (const auto& peer : peers) printPeer(std::cout, peer);
  return EXIT_OK;
}

int runRemove(const Global& global, const std::string& name) {
  auto home = openHome(global);
  auto peer = store::findPeer(home->archive().beginRead(), name);
  if (!peer)
    throw UsageError("there is no peer named \"" + name +
                     "\"; nothing changed (`fieldsync peers list` shows them)");
  bool removed = false;
  home->archive().write([&](store::WriteTxn& txn) { removed = store::removePeer(txn, name); });
  if (!removed) throw UsageError("there is no peer named \"" + name + "\"; nothing changed");
  std::cout << "Removed peer " << peer->name << " (" << peer->address << ", key " << peer->key.hex()
            << ")\n";
  return EXIT_OK;
}

}  // namespace

void addPeers(CLI::App& app, Invocation& invocation) {
  auto* peers = app.add_subcommand("peers", "The nodes this node syncs with");
  peers->require_subcommand(1);

  auto add = std::make_shared<AddOptions>();
  auto* cmd = peers->add_subcommand("add", "Add a peer: its name, address and public key");
  cmd->add_option("name", add->name, "A short name: 1-64 of A-Z a-z 0-9 . _ -")->required();
  cmd->add_option("address", add->address, "Where it listens: tcp://HOST:PORT")->required();
  cmd->add_option("key", add->key, "Its public key, 64 hex digits (`fieldsync id` on the peer)")
      ->required();
  cmd->callback([&invocation, add] {
    invocation.action = [&invocation, add] { return runAdd(invocation.global, *add); };
  });

  auto listJson = std::make_shared<bool>(false);
  cmd = peers->add_subcommand("list", "The peers, with what sync made of each");
  cmd->add_flag("--json", *listJson, "Print a JSON document");
  cmd->callback([&invocation, listJson] {
    invocation.action = [&invocation, listJson] { return runList(invocation.global, *listJson); };
  });

  auto removeName = std::make_shared<std::string>();
  cmd = peers->add_subcommand("remove", "Remove a peer");
  cmd->add_option("name", *removeName, "The peer's name")->required();
  cmd->callback([&invocation, removeName] {
    invocation.action = [&invocation, removeName] {
      return runRemove(invocation.global, *removeName);
    };
  });
}

}  // namespace fieldsync::cli
