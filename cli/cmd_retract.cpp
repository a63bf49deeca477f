// fieldsync retract: take clippings back. What a retraction removes, and where it takes
// effect, is store::retract's and store::settleRetractions' (store/retraction.h); this file
// parses, calls and prints.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "store/retraction.h"

namespace fieldsync::cli {
namespace {

struct RetractOptions {
  std::vector<std::string> ids;
  std::string signer, since, reason;
  bool json = false;
};

/// A full id names a clipping this archive may not hold (one a report named); a prefix must
/// name one it holds.
protocol::ObjectId parseTarget(const store::ReadTxn& txn, const std::string& text) {
  if (auto full = protocol::Digest::fromHex(text)) return *full;
  return resolveId(txn, text);
}

int runRetract(const Global& global, const RetractOptions& o) {
  if (o.ids.empty() && o.signer.empty())
    throw UsageError(
        "name the clippings to retract (ids as `fieldsync list` prints them), or "
        "--signer KEY --since TIME for everything a key signed");
  if (!o.since.empty() && o.signer.empty())
    throw UsageError("--since goes with --signer: it is when that key's clippings stop counting");
  if (!o.signer.empty() && o.since.empty())
    throw UsageError(
        "--signer needs --since (a UTC date or time): everything the key signed from "
        "then on is retracted");
  store::RetractRequest request;
  request.reason = o.reason;
  if (!o.signer.empty()) {
    request.subject = parseKey(o.signer);
    request.since = parseMomentOption("--since", o.since, DayEdge::Start);
  }
  auto home = openHome(global);
  auto key = loadSecretKey(global, *home);
  {
    auto txn = home->archive().beginRead();
    for (const auto& id : o.ids) request.clippings.push_back(parseTarget(txn, id));
  }
  auto result = store::retract(home->archive(), key, request, now());
  if (!result) throw UsageError(result.error());

  if (o.json) {
    nlohmann::json j;
    j["retractions"] = nlohmann::json::array();
    for (const auto& id : result->retractions) j["retractions"].push_back(id.hex());
    j["removed"] = nlohmann::json::array();
    for (const auto& c : result->removed)
      j["removed"].push_back({{"id", c.id.hex()}, {"title", c.title}});
    j["notHeld"] = nlohmann::json::array();
    for (const auto& id : result->notHeld) j["notHeld"].push_back(id.hex());
    j["alreadyRetracted"] = nlohmann::json::array();
    for (const auto& id : result->already) j["alreadyRetracted"].push_back(id.hex());
    std::cout << j.dump(2) << '\n';
    return EXIT_OK;
  }
  for (const auto& id : result->retractions) std::cout << "Signed retraction " << id.hex() << '\n';
  for (const auto& c : result->removed)
    std::cout << "  removed  " << c.id.hex().substr(0, 12) << "  " << forTerminal(c.title) << '\n';
  for (const auto& id : result->notHeld)
    std::cout << "  not here " << id.hex() << " (refused if it ever arrives)\n";
  for (const auto& id : result->already)
    std::cout << "  already  " << id.hex() << " (a retraction already took it here)\n";
  if (request.subject)
    std::cout << "Everything " << request.subject->hex() << " signed from "
              << isoTime(request.since) << " on is retracted here, and refused if it arrives.\n";
  if (!global.quiet)
    std::cout << "Its text is gone from this archive. It leaves other nodes when the retraction "
                 "reaches them (sync or bundle), on each node that trusts this key for it; sticks "
                 "already written still hold it (docs/trust.md, \"Retraction\").\n";
  return EXIT_OK;
}

}  // namespace

void addRetract(CLI::App& app, Invocation& invocation) {
  auto o = std::make_shared<RetractOptions>();
  auto* cmd = app.add_subcommand(
      "retract", "Take clippings back: remove them here and, as it spreads, everywhere");
  cmd->add_option("id", o->ids,
                  "Clipping id (a unique prefix of one held here, or all 64 hex digits)");
  cmd->add_option("--reason", o->reason, "Why, shown in its place: e.g. \"names a source\"")
      ->required();
  cmd->add_option("--signer", o->signer,
                  "Retract everything this key (64 hex) signed from --since on: a stolen key");
  cmd->add_option("--since", o->since, "With --signer: a UTC date or time, e.g. 2026-12-01");
  cmd->add_flag("--json", o->json, "Print {\"retractions\", \"removed\", ...} as JSON");
  cmd->footer(
      "Examples:\n"
      "  fieldsync retract 3f2a9c01d2e4 --reason \"names a source\"\n"
      "  fieldsync retract --signer 9e01aa73b2c4...(64 hex) --since 2026-12-01 --reason \"laptop "
      "stolen\"");
  cmd->callback([&invocation, o] {
    invocation.action = [&invocation, o] { return runRetract(invocation.global, *o); };
  });
}

}  // namespace fieldsync::cli
