// fieldsync show: one object in full, with who signed it and the verdict `verify` gives it.
#include <iostream>
#include <sstream>

#include "cli/command.h"
#include "cli/output.h"
#include "store/provenance.h"
#include "store/verdict.h"

namespace fieldsync::cli {
namespace {

/// Who signed, for the signer: line: "Goma office, key <64 hex>", or "unknown key <64 hex>".
std::string signerLine(const store::ObjectReport& report, const protocol::PublicKey& signer) {
  if (report.signerName.empty()) return "unknown key " + signer.hex();
  return forTerminal(report.signerName) + ", key " + signer.hex();
}

int runShow(const Global& global, const std::string& text, bool json) {
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
  if (json) {
    auto j = objectJson(object.value(), true);
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
  printObject(std::cout, object.value(), &provenance);
  return EXIT_OK;
}

}  // namespace

void addShow(CLI::App& app, Invocation& invocation) {
  auto id = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("show", "Show one object in full, with its signer and verdict");
  cmd->add_option("id", *id, "Object id or a unique prefix of at least 8 hex digits")->required();
  cmd->add_flag("--json", *json, "Print a JSON document");
  cmd->footer("Example: an id as `fieldsync list` prints it\n  fieldsync show 3f2a9c01d2e4");
  cmd->callback([&invocation, id, json] {
    invocation.action = [&invocation, id, json] { return runShow(invocation.global, *id, *json); };
  });
}

}  // namespace fieldsync::cli
