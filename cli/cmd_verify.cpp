// fieldsync verify: every stored object's bytes, id and signature, and its provenance: who
// signed it, whether that key was trusted for it when it signed, and for releases the chain
// and the listed clippings. The judgement is store::verifyObject's; this file prints it.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/release_output.h"
#include "store/provenance.h"

namespace fieldsync::cli {
namespace {

struct Options {
  std::vector<std::string> ids;
  bool all = false;
  bool json = false;
  bool verbose = false;
};

using Verdict = store::ObjectReport::Verdict;

struct Totals : VerifyTotals {
  int exitStatus() const { return invalid ? EXIT_INVALID : untrusted ? EXIT_UNTRUSTED : EXIT_OK; }
};

std::string plural(std::size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

int run(const Global& global, const Options& options) {
  if (options.all && !options.ids.empty()) throw UsageError("give ids or --all, not both");
  auto home = openHomeToRead(global);
  const bool everything = options.ids.empty();
  Totals totals;
  auto objects = nlohmann::json::array();
  auto show = [&](const store::ObjectReport& report) {
    totals.add(report);
    if (options.json) {
      auto j = reportJson(report);
      addMembersJson(j, report);
      objects.push_back(std::move(j));
    } else if (!everything || options.verbose || report.verdict() != Verdict::Valid ||
               !report.missing.empty() || !report.missingParts.empty() ||
               !report.untrustedMembers.empty()) {
      // Over the whole archive only what needs attention is printed, so a problem is not lost
      // among thousands of OK lines.
      printReport(std::cout, report);
      printMembers(std::cout, report, 11);
    }
  };
  if (!everything) {
    auto txn = home->archive().beginRead();
    const auto trust = store::loadTrust(txn);
    for (const auto& text : options.ids) {
      if (auto notice = retractedHere(txn, text)) {  // gone from here, by a retraction
        if (options.json) {
          objects.push_back({{"id", text}, {"retracted", retractionJson(*notice)}});
        } else {
          std::cout << "RETRACTED  " << shortHex(text) << "  " << cli::describeRetraction(*notice)
                    << '\n';
        }
        continue;
      }
      show(store::verifyObject(txn, trust, resolveId(txn, text)));
    }
  } else {
    const auto trust = [&] {
      auto txn = home->archive().beginRead();
      return store::loadTrust(txn);
    }();
    store::verifyEveryObject(home->archive(), trust,
                             [&](store::ObjectReport&& report) { show(report); });
  }

  if (options.json) {
    std::cout << nlohmann::json{{"checked", totals.checked}, {"valid", totals.valid},
                                {"invalid", totals.invalid}, {"untrusted", totals.untrusted},
                                {"missing", totals.missing}, {"ok", totals.exitStatus() == EXIT_OK},
                                {"objects", objects}}
              << '\n';
  } else {
    std::cout << "checked " << plural(totals.checked, "object") << ": ";
    if (totals.checked == 0) {
      std::cout << "the archive is empty";
    } else if (totals.valid == totals.checked) {
      std::cout << (totals.checked == 1 ? "valid and trusted" : "all valid and trusted");
    } else {
      std::cout << totals.valid << " valid and trusted, " << totals.invalid << " invalid, "
                << totals.untrusted << " untrusted";
    }
    if (totals.missing)
      std::cout << "; releases list " << plural(totals.missing, "clipping")
                << " this archive does not hold";
    std::cout << '\n';
  }
  return totals.exitStatus();
}

}  // namespace

void addVerify(CLI::App& app, Invocation& invocation) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "verify", "Check ids, signatures and provenance: who signed, and whether they were trusted");
  cmd->add_option("ids", o->ids, "Objects to check (ids or unique prefixes; default: all)");
  cmd->add_flag("--all", o->all, "Check every object in the archive (the default)");
  cmd->add_flag("--verbose,-v", o->verbose,
                "With --all, print every object, not only those that need attention");
  cmd->add_flag("--json", o->json, "Print a JSON document");
  cmd->footer(
      "Examples:\n"
      "  fieldsync verify                 (the whole archive: only what needs attention)\n"
      "  fieldsync verify 3f2a9c01d2e4    (one object and where its trust comes from)\n"
      "Exit status: 0 all valid and trusted, 1 something invalid, 3 some signer untrusted");
  cmd->callback([&invocation, o] {
    invocation.action = [&invocation, o] { return run(invocation.global, *o); };
  });
}

}  // namespace fieldsync::cli
