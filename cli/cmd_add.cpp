// fieldsync add: one clipping from the command line, its body from a file or stdin.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "protocol/text.h"
#include "store/ingest.h"

namespace fieldsync::cli {
namespace {

struct Options {
  protocol::Clipping clipping;
  std::string date;
  std::string bodyFile;
  bool json = false;
};

int run(const Global& global, Options options) {
  auto& clipping = options.clipping;
  if (!options.date.empty()) {
    auto date = protocol::parseDate(options.date);
    if (!date) throw UsageError("--date: not a date: " + options.date);
    clipping.published = *date;
  }
  if (!options.bodyFile.empty())
    clipping.body = readInput(options.bodyFile, protocol::MAX_BODY_BYTES);
  auto normal = protocol::normalizeClipping(std::move(clipping));
  if (!normal) throw UsageError(normal.error());

  auto home = openHome(global);
  auto key = loadSecretKey(global, *home);
  auto result = store::ingestClippings(home->archive(), key, {normal.value()}, now());
  if (!result.retracted.empty())
    throw UsageError(
        "a retraction in effect here takes this clipping back (its content, or what "
        "this key signs from a date on): it is not stored (docs/trust.md, "
        "\"Retraction\")");
  bool fresh = !result.stored.empty();
  const auto& id = fresh ? result.stored.front() : result.duplicates.front();
  if (options.json) {
    std::cout << nlohmann::json{{"id", id.hex()}, {"stored", fresh}} << '\n';
  } else if (fresh) {
    std::cout << "stored " << id.hex() << '\n';
  } else {
    std::cout << "already in the archive with this key: " << id.hex() << " (not stored again)\n";
  }
  return EXIT_OK;
}

}  // namespace

void addAdd(CLI::App& app, Invocation& invocation) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("add", "Sign and store one clipping");
  cmd->add_option("--title", o->clipping.title, "Title")->required();
  cmd->add_option("--source", o->clipping.source, "The outlet or publisher")->required();
  cmd->add_option("--author", o->clipping.authors, "An author (repeatable)");
  cmd->add_option("--date", o->date, "Publication date: 2013-01-11, 2013-01, 11 January 2013");
  cmd->add_option("--url", o->clipping.url, "Where it was published");
  cmd->add_option("--tag", o->clipping.tags, "A tag such as region:mali (repeatable)");
  cmd->add_option("--language", o->clipping.language, "Language tag such as en or fr");
  cmd->add_option("--collection", o->clipping.collection, "The digest or batch it came from");
  cmd->add_option("body", o->bodyFile, "File holding the body text (- for standard input)");
  cmd->add_flag("--json", o->json, "Print {\"id\", \"stored\"} as JSON");
  cmd->footer(
      "Example:\n"
      "  fieldsync add --title \"Floods in Uvira\" --source \"Radio Okapi\" --date 2026-11-27 \\\n"
      "                --tag region:drc article.txt");
  cmd->callback([&invocation, o] {
    invocation.action = [&invocation, o] { return run(invocation.global, *o); };
  });
}

}  // namespace fieldsync::cli
