// fieldsync status: the archive at a glance (counts by kind, objects not trusted, newest
// object, future-dated objects, fingerprint) and where this node stands with each peer.
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "node/peer_link.h"
#include "protocol/sync.h"
#include "store/pause.h"
#include "store/peers.h"
#include "store/provenance.h"
#include "store/sync_index.h"
#include "store/verdict.h"
#include "store/words.h"

namespace fieldsync::cli {
namespace {

nlohmann::json timeOrNull(std::int64_t unixSeconds) {
  return unixSeconds ? nlohmann::json(isoTimeJson(unixSeconds)) : nlohmann::json(nullptr);
}

/// store::describeStanding made safe for a terminal: the error and a refusal's reason may
/// come from the peer.
std::string standing(const store::PeerState& s, std::int64_t at) {
  return forTerminal(store::describeStanding(s, at));
}

/// How many objects of the archive have each verdict (store::Judge, as `list` marks them).
struct TrustCounts {
  std::map<store::ClippingTrust, std::uint64_t> byTrust;
  std::uint64_t notTrusted() const {
    std::uint64_t n = 0;
    for (const auto& [trust, count] : byTrust)
      if (trust != store::ClippingTrust::Trusted) n += count;
    return n;
  }
};

TrustCounts countTrust(const store::ReadTxn& txn) {
  const auto graph = store::loadTrust(txn);
  store::Judge judge(graph);
  TrustCounts counts;
  txn.forEach([&](const protocol::ObjectId&, std::span<const std::uint8_t> bytes) {
    auto object = protocol::decode(bytes);
    ++counts.byTrust[object ? judge.judge(object.value()) : store::ClippingTrust::Invalid];
    return true;
  });
  return counts;
}

/// "2 unknown signer, 1 revoked": the verdicts other than trusted, in the enum's order.
std::string describeUntrusted(const TrustCounts& counts) {
  std::string text;
  for (const auto& [trust, n] : counts.byTrust) {
    if (trust == store::ClippingTrust::Trusted) continue;
    text += (text.empty() ? "" : ", ") + std::to_string(n) + " " +
            (trust == store::ClippingTrust::Unknown ? std::string("unknown signer")
                                                    : std::string(store::trustName(trust)));
  }
  return text;
}

/// {"trusted": N, "unknown": N, ...}: every verdict a stored object can have, zeros included
/// (a retracted clipping is no longer stored).
nlohmann::json trustCountsJson(const TrustCounts& counts) {
  nlohmann::json j = nlohmann::json::object();
  for (auto trust : {store::ClippingTrust::Trusted, store::ClippingTrust::Unknown,
                     store::ClippingTrust::Revoked, store::ClippingTrust::WrongRole,
                     store::ClippingTrust::Expired, store::ClippingTrust::Invalid}) {
    const auto found = counts.byTrust.find(trust);
    j[std::string(store::trustName(trust))] = found == counts.byTrust.end() ? 0 : found->second;
  }
  return j;
}

int runStatus(const Global& global, bool json) {
  auto home = openHome(global);
  const auto txn = home->archive().beginRead();
  const std::uint64_t total = txn.count();
  std::uint64_t others = 0;
  nlohmann::json kinds = nlohmann::json::object();
  for (auto kind : {protocol::Kind::Release, protocol::Kind::KeyCert, protocol::Kind::Revocation}) {
    const auto n = txn.ofKind(kind).size();
    others += n;
    kinds[std::string(protocol::kindName(kind))] = n;
  }
  kinds[std::string(protocol::kindName(protocol::Kind::Clipping))] = total - others;
  const TrustCounts trust = countTrust(txn);

  const store::ArchiveRangeIndex index(txn);
  const auto state = protocol::sync::archiveState(index.sum(0, index.size()));
  // The newest object not future-dated: those signed more than a day ahead of this clock are
  // counted apart (docs/decisions/0005-future-dated-objects.md).
  const std::int64_t clock = now();
  const std::uint64_t present = protocol::tailRank(index, protocol::horizonFor(clock));
  const std::uint64_t future = index.size() - present;
  const std::int64_t latest = future ? index.at(index.size() - 1).signedAt : 0;
  const std::uint64_t daysAhead =
      future ? (static_cast<std::uint64_t>(latest) - static_cast<std::uint64_t>(clock)) / 86'400
             : 0;
  std::optional<protocol::DecodedObject> newest;
  if (present > 0) {
    const auto key = index.at(present - 1);
    if (const auto bytes = txn.get(key.id)) {
      if (auto decoded = protocol::decode(*bytes)) newest = std::move(*decoded);
    }
  }
  const auto peers = store::listPeers(txn);
  const std::int64_t at = now();
  auto jsonOrNull = [](const std::optional<std::string>& text) {
    return text ? nlohmann::json(*text) : nlohmann::json(nullptr);
  };
  const auto paused = store::pausedUntil(txn, at);
  const std::string pausedText = !paused ? ""
                                 : *paused == store::PAUSED_INDEFINITELY
                                     ? "until `fieldsync resume`"
                                     : "until " + isoTime(*paused);

  if (json) {
    nlohmann::json out;
    out["node"] = {{"name", home->name()}, {"key", home->publicKey().hex()}};
    out["archive"] = {{"objects", total},
                      {"kinds", kinds},
                      {"fingerprint", state.fingerprint.hex()},
                      {"untrusted", trust.notTrusted()},
                      {"trust", trustCountsJson(trust)},
                      {"newest", newest ? objectJson(*newest, false) : nlohmann::json(nullptr)},
                      {"futureDated",
                       {{"count", future},
                        {"latestSignedAt", future ? nlohmann::json(isoTimeJson(latest)) : nullptr},
                        {"daysAhead", future ? nlohmann::json(daysAhead) : nullptr}}}};
    auto list = nlohmann::json::array();
    for (const auto& peer : peers) {
      const auto& s = peer.state;
      const auto address =
          peer.stickOnly() ? nlohmann::json(nullptr) : nlohmann::json(peer.address);
      list.push_back({{"name", peer.name},
                      {"address", address},
                      {"stickOnly", peer.stickOnly()},
                      {"key", peer.key.hex()},
                      {"inStep", s.inStepAt != 0 && s.inStepAt >= s.lastSuccess},
                      {"inStepAt", timeOrNull(s.inStepAt)},
                      {"stickAt", timeOrNull(s.stickAt)},
                      {"lastSuccess", timeOrNull(s.lastSuccess)},
                      {"lastError",
                       s.lastError.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.lastError)},
                      {"lastErrorAt", timeOrNull(s.lastErrorAt)},
                      {"nextAttempt", timeOrNull(s.nextAttempt)},
                      {"objectsIn", s.objectsIn},
                      {"objectsOut", s.objectsOut},
                      {"bytesIn", s.bytesIn},
                      {"bytesOut", s.bytesOut},
                      {"refusedUntil", s.refusedAt(at) ? nlohmann::json(isoTimeJson(s.refusedUntil))
                                                       : nlohmann::json(nullptr)},
                      {"refusedReason",
                       s.refusedAt(at) ? nlohmann::json(s.refusedReason) : nlohmann::json(nullptr)},
                      {"budgetSpent", jsonOrNull(node::describeSpentBudget(txn, peer, at))}});
    }
    out["peers"] = list;
    out["pausedUntil"] = !paused ? nlohmann::json(nullptr)
                         : *paused == store::PAUSED_INDEFINITELY
                             ? nlohmann::json("indefinitely")
                             : nlohmann::json(isoTimeJson(*paused));
    std::cout << out << '\n';
    return EXIT_OK;
  }

  std::cout << "node " << (home->name().empty() ? "(unnamed)" : home->name()) << ", key "
            << home->publicKey().hex() << '\n';
  std::cout << "archive: " << total << " objects";
  const char* separator = ": ";
  struct Label {
    const char* kind;
    const char* one;
    const char* many;
  };
  for (const Label& label :
       {Label{"clipping", "clipping", "clippings"}, Label{"release", "release", "releases"},
        Label{"keyCert", "key certificate", "key certificates"},
        Label{"revocation", "revocation", "revocations"}}) {
    const auto n = kinds[label.kind].get<std::uint64_t>();
    if (n == 0) continue;
    std::cout << separator << n << ' ' << (n == 1 ? label.one : label.many);
    separator = ", ";
  }
  std::cout << "\n  fingerprint " << state.fingerprint.hex() << '\n';
  if (const auto n = trust.notTrusted())
    std::cout << "  not trusted: " << n << (n == 1 ? " object" : " objects") << " ("
              << describeUntrusted(trust) << "); `fieldsync verify` tells why\n";
  if (newest) {
    std::cout << "  newest signed " << isoTime(newest->payload.signedAt);
    if (const auto* c = newest->payload.clipping()) std::cout << ": " << forTerminal(c->title);
    std::cout << '\n';
  }
  if (future) {
    std::cout << "  future-dated: " << future << (future == 1 ? " object" : " objects")
              << " signed more than a day ahead of this computer's clock, the latest "
              << isoTime(latest) << " (" << daysAhead
              << " days ahead); kept and synced, listed last\n";
    if (future > present) {
      std::cout << "  most of the archive looks future-dated: this computer's clock reads "
                << isoTime(clock) << "; if that is wrong, set it right\n";
    }
  }
  if (paused) std::cout << "traffic with peers is paused " << pausedText << '\n';
  if (peers.empty() && !global.quiet)
    std::cout << "no peers (add one with `fieldsync peers add`)\n";
  for (const auto& peer : peers) {
    std::cout << "peer " << peer.name << " (" << (peer.stickOnly() ? "stick only" : peer.address)
              << "): " << standing(peer.state, at) << '\n';
    if (const auto spent = node::describeSpentBudget(txn, peer, at))
      std::cout << "  " << *spent << '\n';
  }
  return EXIT_OK;
}

}  // namespace

void addStatus(CLI::App& app, Invocation& invocation) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("status", "The archive and where this node stands with each peer");
  cmd->add_flag("--json", *json, "Print a JSON document");
  cmd->footer("Examples:\n  fieldsync status\n  fieldsync status --json | jq .peers");
  cmd->callback([&invocation, json] {
    invocation.action = [&invocation, json] { return runStatus(invocation.global, *json); };
  });
}

}  // namespace fieldsync::cli
