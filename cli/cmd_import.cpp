// fieldsync import: parse files, sign their clippings with the node's key, store them
// (store/import.h). Every file is checked before anything is stored; each file is then stored
// in batches of one transaction (a file of up to 4,096 clippings and 4 MiB in one). A bad file
// means exit 2 and nothing imported.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/progress.h"
#include "protocol/importers.h"
#include "store/import.h"

namespace fieldsync::cli {
namespace {

struct Options {
  std::vector<std::string> files;
  std::string format;
  std::vector<std::string> tags;
  bool json = false;
};

nlohmann::json idsJson(const std::vector<protocol::ObjectId>& ids) {
  auto list = nlohmann::json::array();
  for (const auto& id : ids) list.push_back(id.hex());
  return list;
}

int run(const Global& global, const Options& options) {
  store::ImportOptions importOptions;
  if (!options.format.empty()) {
    importOptions.format = protocol::parseFormatName(options.format);
    if (!importOptions.format)
      throw UsageError("--format must be digest, markdown, jsonl, email, html, feed or pdf, not " +
                       options.format);
  }
  importOptions.tags = options.tags;
  importOptions.keepIds = options.json;
  auto home = openHome(global);
  auto key = loadSecretKey(global, *home);

  // Signing is what takes time: the bar counts clippings over all the files.
  auto bar = terminalProgressBar(global.quiet, "importing");
  auto report = nlohmann::json::array();
  std::size_t stored = 0, duplicates = 0, files = 0;
  auto fileDone = [&](const store::FileImported& f) {
    if (bar) bar->clear();  // each file's line on a clean line; the bar comes back after it
    ++files;
    stored += f.stored;
    duplicates += f.duplicates;
    if (options.json) {
      report.push_back({{"file", f.file},
                        {"format", protocol::formatName(f.format)},
                        {"stored", idsJson(f.storedIds)},
                        {"duplicates", idsJson(f.duplicateIds)},
                        {"retracted", f.retracted}});
      return;
    }
    std::cout << f.file << " (" << protocol::formatName(f.format) << "): " << f.stored
              << " new clipping" << (f.stored == 1 ? "" : "s") << " signed and stored";
    if (f.duplicates != 0)
      std::cout << ", " << f.duplicates
                << " already in the archive with this key (not stored again)";
    if (f.retracted != 0)
      std::cout << ", " << f.retracted
                << " retracted here (a retraction took that content; not signed again)";
    // Flushed at once: a file's line means its clippings are committed, even if the
    // import is killed before the next file (tests/cli/crash_test.cpp relies on it).
    std::cout << std::endl;
  };
  auto tell = [&](const store::Progress& p) { bar->update(p); };
  const auto refused = store::importFiles(home->archive(), key, options.files, importOptions, now(),
                                          fileDone, bar ? store::ProgressCallback(tell) : nullptr);
  if (refused) {
    std::string message;
    for (const auto& e : refused->problems) message += e + '\n';
    throw UsageError(message + "nothing was imported");
  }
  if (options.json) {
    std::cout << nlohmann::json{{"files", report}, {"stored", stored}, {"duplicates", duplicates}}
              << '\n';
  } else if (files > 1) {
    std::cout << "total: " << stored << " stored, " << duplicates << " already present\n";
  }
  return EXIT_OK;
}

}  // namespace

void addImport(CLI::App& app, Invocation& invocation) {
  auto options = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "import",
      "Import clippings from digests, markdown, JSON lines, e-mail, web pages, feeds or PDF");
  cmd->add_option("files", options->files, "Files to import (- for standard input)")->required();
  cmd->add_option("--format", options->format,
                  "digest, markdown, jsonl, email, html, feed or pdf (default: detected)");
  cmd->add_option("--tag", options->tags, "Add this tag to every clipping (repeatable)");
  cmd->add_flag("--json", options->json, "Print the result as JSON");
  cmd->footer(
      "Examples:\n"
      "  fieldsync import icrtop-listserv-2013-01-11.txt\n"
      "  fieldsync import notes/*.md --tag region:mali\n"
      "  fieldsync import inbox.mbox saved-article.html agency-feed.xml report.pdf\n"
      "  some-exporter | fieldsync import - --format jsonl");
  cmd->callback([&invocation, options] {
    invocation.action = [&invocation, options] { return run(invocation.global, *options); };
  });
}

}  // namespace fieldsync::cli
