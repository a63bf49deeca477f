// fieldsync annotate: correct how a clipping reads (title, tags, "duplicate of") with a signed
// annotation that leaves the clipping's own signature alone. What takes effect where is
// store::annotate's and store::correctClipping's (store/annotation.h); this file parses,
// calls and prints.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "store/annotation.h"
#include "store/words.h"

namespace fieldsync::cli {
namespace {

struct AnnotateOptions {
  std::string id, title, duplicateOf, reason;
  std::vector<std::string> tags, untags;
  bool notDuplicate = false;
  bool json = false;
};

int runAnnotate(const Global& global, const AnnotateOptions& o) {
  if (o.title.empty() && o.tags.empty() && o.untags.empty() && o.duplicateOf.empty() &&
      !o.notDuplicate)
    throw UsageError(
        "say what to correct: --title TEXT, --tag TAG, --untag TAG, --duplicate-of ID or "
        "--not-duplicate");
  if (o.notDuplicate && !o.duplicateOf.empty())
    throw UsageError("--duplicate-of and --not-duplicate: give one of them");
  auto home = openHome(global);
  auto key = loadSecretKey(global, *home);
  store::AnnotateRequest request;
  {
    auto txn = home->archive().beginRead();
    request.clipping = resolveId(txn, o.id);
    if (!o.duplicateOf.empty()) request.duplicateOf = resolveId(txn, o.duplicateOf);
    if (o.notDuplicate) request.duplicateOf = store::NOT_A_DUPLICATE;
  }
  request.title = o.title;
  request.addTags = o.tags;
  request.removeTags = o.untags;
  request.reason = o.reason;
  auto result = store::annotate(home->archive(), key, request, now());
  if (!result) throw UsageError(result.error());

  if (o.json) {
    auto j = correctionsJson(result->view);
    j["annotation"] = result->annotation.hex();
    j["id"] = result->view.object.id.hex();
    j["title"] = result->view.clipping.title;
    j["tags"] = result->view.clipping.tags;
    std::cout << j.dump(2) << '\n';
    return EXIT_OK;
  }
  std::cout << "Signed annotation " << result->annotation.hex() << '\n';
  std::cout << "  " << shortHex(result->view.object.id.hex()) << "  "
            << forTerminal(result->view.clipping.title) << '\n';
  for (const auto& line : store::describeCorrections(result->view))
    std::cout << "  " << forTerminal(line) << '\n';
  if (!global.quiet)
    std::cout << "It reaches other nodes with sync and bundles; each applies it when it trusts "
                 "this key (docs/trust.md, \"Annotation\").\n";
  return EXIT_OK;
}

}  // namespace

void addAnnotate(CLI::App& app, Invocation& invocation) {
  auto o = std::make_shared<AnnotateOptions>();
  auto* cmd = app.add_subcommand(
      "annotate",
      "Correct a clipping's title or tags, or mark it a duplicate, keeping its signature");
  cmd->add_option("id", o->id, "Clipping id or a unique prefix of at least 8 hex digits")
      ->required();
  cmd->add_option("--title", o->title, "The title it should have");
  cmd->add_option("--tag", o->tags, "Add this tag (repeatable)");
  cmd->add_option("--untag", o->untags, "Remove this tag (repeatable)");
  cmd->add_option("--duplicate-of", o->duplicateOf,
                  "It is the same article as this clipping: list it once, under that one");
  cmd->add_flag("--not-duplicate", o->notDuplicate,
                "It is no duplicate: withdraw the duplicate mark it has here");
  cmd->add_option("--reason", o->reason, "Why, shown with the correction");
  cmd->add_flag("--json", o->json, "Print the clipping's corrections as JSON");
  cmd->footer(
      "Examples:\n"
      "  fieldsync annotate 3f2a9c01d2e4 --title \"Mali: the road to Gao reopens\"\n"
      "  fieldsync annotate 3f2a9c01d2e4 --tag region:mali --untag region:niger\n"
      "  fieldsync annotate 7a3c01d2e4f5 --duplicate-of 3f2a9c01d2e4 --reason \"same wire story\"\n"
      "  fieldsync annotate 7a3c01d2e4f5 --not-duplicate");
  cmd->callback([&invocation, o] {
    invocation.action = [&invocation, o] { return runAnnotate(invocation.global, *o); };
  });
}

}  // namespace fieldsync::cli
