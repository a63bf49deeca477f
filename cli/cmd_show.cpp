// fieldsync show: one object in full, with who signed it and the verdict `verify` gives it. A
// clipping reads corrected by the annotations in effect here (store/annotation.h), each
// correction said under it; --original shows it as signed.
#include <iostream>
#include <sstream>

#include "cli/command.h"
#include "cli/output.h"
#include "store/annotation.h"
#include "store/provenance.h"
#include "store/verdict.h"
#include "store/words.h"

namespace fieldsync::cli {
namespace {

/// Who signed, for the signer: line: "Goma office, key <64 hex>", or "unknown key <64 hex>".
std::string signerLine(const store::ObjectReport& report, const protocol::PublicKey& signer) {
  if (report.signerName.empty()) return "unknown key " + signer.hex();
  return forTerminal(report.signerName) + ", key " + signer.hex();
}

int runShow(const Global& global, const std::string& text, bool json, bool original) {
  auto home = openHomeToRead(global);
  auto txn = home->archive().beginRead();
  // A retracted clipping is no longer here: say who took it back, when and why.
  if (auto notice = retractedHere(txn, text)) {
    if (json) {
      std::cout << nlohmann::json{{"id", text}, {"retracted", retractionJson(*notice)}} << '\n';
    } else {
      std::cout << text << "\n" << cli::describeRetraction(*notice) << '\n';
    }
    return EXIT_OK;
  }
  auto id = resolveId(txn, text);
  auto object = protocol::decode(*txn.get(id));
  if (!object)
    throw Error("stored object " + id.hex() + " does not decode (" + object.error().message() +
                "): run fieldsync verify " + id.hex());
  // One object: its bytes are checked again, as `verify` checks them, and the verdict is the
  // one list and search give (store::Judge), from the same graph.
  const auto graph = store::loadTrust(txn);
  const store::ClippingTrust trust = store::judge(txn, graph, id, store::Check::Signature);
  const auto report = store::verifyObject(txn, graph, id);
  std::optional<store::CorrectedClipping> view;
  std::vector<store::CoSigner> others;
  std::vector<protocol::ObjectId> duplicates;
  if (object->payload.clipping()) {
    view = store::correctClipping(txn, graph, object.value());
    store::Folder folder(txn, graph);
    // Every other signer of its content, and the clippings marked duplicates of it.
    for (const auto& [signer, copy] : txn.sameContent(view->content))
      if (copy != id)
        others.push_back({copy, signer, graph.evaluate(signer, protocol::Role::Field, now()).name});
    duplicates = folder.duplicatesOf(id);
  }
  protocol::DecodedObject shown = object.value();
  if (view && !original) shown.payload.body = view->clipping;
  if (json) {
    auto j = objectJson(shown, true);
    if (view) {
      j["contentHash"] = view->content.hex();
      j.update(correctionsJson(*view));
      j["alsoSignedBy"] = nlohmann::json::array();
      for (const auto& other : others)
        j["alsoSignedBy"].push_back(
            {{"id", other.id.hex()},
             {"signer", other.signer.hex()},
             {"signerName",
              other.name.empty() ? nlohmann::json(nullptr) : nlohmann::json(other.name)}});
    }
    if (view) {
      j["duplicates"] = nlohmann::json::array();
      for (const auto& d : duplicates) j["duplicates"].push_back(d.hex());
    }
    j["trust"] = store::trustName(trust);
    j["signerName"] =
        report.signerName.empty() ? nlohmann::json(nullptr) : nlohmann::json(report.signerName);
    j["verify"] = reportJson(report);
    std::cout << j << '\n';
    return EXIT_OK;
  }
  std::ostringstream verify;
  printReport(verify, report, false);
  const Provenance provenance{trust, signerLine(report, object->payload.signer), verify.str()};
  printObject(std::cout, shown, &provenance);
  std::vector<std::string> notes;
  if (view && !original)
    for (const auto& line : store::describeCorrections(*view)) notes.push_back(forTerminal(line));
  for (const auto& other : others)
    notes.push_back("also signed by " +
                    (other.name.empty() ? "key " + other.signer.hex() : forTerminal(other.name)) +
                    " (" + shortHex(other.id.hex()) + ")");
  for (const auto& d : duplicates) notes.push_back("duplicate " + d.hex() + " is listed under it");
  if (!notes.empty()) std::cout << '\n';
  for (const auto& note : notes) std::cout << note << '\n';
  return EXIT_OK;
}

}  // namespace

void addShow(CLI::App& app, Invocation& invocation) {
  auto id = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto original = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("show", "Show one object in full, with its signer and verdict");
  cmd->add_option("id", *id, "Object id or a unique prefix of at least 8 hex digits")->required();
  cmd->add_flag("--original", *original, "A clipping as signed, without its corrections");
  cmd->add_flag("--json", *json, "Print a JSON document");
  cmd->footer("Example: an id as `fieldsync list` prints it\n  fieldsync show 3f2a9c01d2e4");
  cmd->callback([&invocation, id, json, original] {
    invocation.action = [&invocation, id, json, original] {
      return runShow(invocation.global, *id, *json, *original);
    };
  });
}

}  // namespace fieldsync::cli
