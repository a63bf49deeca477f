// fieldsync verify: recompute ids and check signatures of stored objects.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "store/verify.h"

namespace fieldsync::cli {
namespace {

struct Options {
  std::vector<std::string> ids;
  bool all = false;
  bool json = false;
};

int run(const Global& global, const Options& options) {
  if (options.all && !options.ids.empty()) throw UsageError("give ids or --all, not both");
  auto home = openHome(global);
  store::VerifySummary summary;
  if (options.ids.empty()) {
    summary = store::verifyAll(home->archive());
  } else {
    std::vector<protocol::ObjectId> ids;
    {
      auto txn = home->archive().beginRead();
      for (const auto& text : options.ids) ids.push_back(resolveId(txn, text));
    }
    summary = store::verifyIds(home->archive(), ids);
  }
  if (options.json) {
    auto failures = nlohmann::json::array();
    for (const auto& f : summary.failures)
      failures.push_back({{"id", f.id.hex()}, {"problem", f.problem}});
    std::cout << nlohmann::json{{"checked", summary.checked},
                                {"valid", summary.checked - summary.failures.size()},
                                {"ok", summary.ok()},
                                {"failures", failures}}
              << '\n';
  } else {
    for (const auto& f : summary.failures) std::cout << "FAIL " << f.id.hex() << ": " << f.problem << '\n';
    if (summary.ok()) {
      std::cout << "ok: " << summary.checked << " object" << (summary.checked == 1 ? "" : "s")
                << " checked, every id and signature holds\n";
    } else {
      std::cout << summary.failures.size() << " of " << summary.checked
                << " objects failed verification\n";
    }
  }
  return summary.ok() ? EXIT_OK : EXIT_INVALID;
}

}  // namespace

void addVerify(CLI::App& app, Invocation& invocation) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("verify", "Recompute ids and check signatures (all by default)");
  cmd->add_option("ids", o->ids, "Objects to check (ids or unique prefixes)");
  cmd->add_flag("--all", o->all, "Check every object in the archive (the default)");
  cmd->add_flag("--json", o->json, "Print a JSON document");
  cmd->callback([&invocation, o] {
    invocation.action = [&invocation, o] { return run(invocation.global, *o); };
  });
}

}  // namespace fieldsync::cli
