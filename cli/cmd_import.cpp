// fieldsync import: parse files, sign their clippings with the node's key, store them.
// Every file is checked before anything is stored; each file is then stored in one
// transaction. A bad file means exit 2 and nothing imported.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/progress.h"
#include "protocol/importers.h"
#include "protocol/text.h"
#include "store/ingest.h"

namespace fieldsync::cli {
namespace {

struct Options {
  std::vector<std::string> files;
  std::string format;
  std::vector<std::string> tags;
  bool json = false;
};

struct Parsed {
  std::string file;
  protocol::Format format;
  std::vector<protocol::Clipping> clippings;
};

/// Parses one file, adding the extra tags; the error names the file and line.
Expected<Parsed, std::string> parseFile(const std::string& file, const Options& options) {
  std::string text = readInput(file, protocol::MAX_IMPORT_BYTES);
  auto format = options.format.empty() ? protocol::detectFormat(file, text)
                                       : *protocol::parseFormatName(options.format);
  auto parsed = protocol::parse(format, text);
  if (!parsed) {
    const auto& e = parsed.error();
    return file + (e.line ? ":" + std::to_string(e.line) : "") + ": " + e.message;
  }
  Parsed out{file, format, {}};
  for (auto& clipping : parsed.value()) {
    clipping.tags.insert(clipping.tags.end(), options.tags.begin(), options.tags.end());
    auto normal = protocol::normalizeClipping(std::move(clipping));
    if (!normal) return file + ": --tag: " + normal.error();
    out.clippings.push_back(std::move(normal).value());
  }
  return out;
}

nlohmann::json idsJson(const std::vector<protocol::ObjectId>& ids) {
  auto list = nlohmann::json::array();
  for (const auto& id : ids) list.push_back(id.hex());
  return list;
}

int run(const Global& global, const Options& options) {
  if (!options.format.empty() && !protocol::parseFormatName(options.format))
    throw UsageError("--format must be digest, markdown, jsonl, email, html, feed or pdf, not " +
                     options.format);
  auto home = openHome(global);
  auto key = loadSecretKey(global, *home);

  std::vector<Parsed> files;
  std::vector<std::string> errors;
  for (const auto& file : options.files) {
    try {
      auto parsed = parseFile(file, options);
      if (parsed) {
        files.push_back(std::move(parsed).value());
      } else {
        errors.push_back(parsed.error());
      }
    } catch (const UsageError& e) {
      errors.push_back(e.what());
    }
  }
  if (!errors.empty()) {
    std::string message;
    for (const auto& e : errors) message += e + '\n';
    throw UsageError(message + "nothing was imported");
  }

  // Signing is what takes time: the bar counts clippings over all the files.
  std::uint64_t total = 0, before = 0, bytesBefore = 0;
  for (const auto& parsed : files) total += parsed.clippings.size();
  auto bar = terminalProgressBar(global.quiet, "importing");
  auto report = nlohmann::json::array();
  std::size_t stored = 0, duplicates = 0;
  for (const auto& parsed : files) {
    store::Progress last;
    auto tell = [&](const store::Progress& p) {
      last = p;
      bar->update({before + p.done, total, bytesBefore + p.bytes});
    };
    const auto result = store::ingestClippings(home->archive(), key, parsed.clippings, now(),
                                               bar ? store::ProgressCallback(tell) : nullptr);
    before += parsed.clippings.size();
    bytesBefore += last.bytes;
    if (bar) bar->clear();  // each file's line on a clean line; the bar comes back after it
    stored += result.stored.size();
    duplicates += result.duplicates.size();
    if (options.json) {
      report.push_back({{"file", parsed.file},
                        {"format", protocol::formatName(parsed.format)},
                        {"stored", idsJson(result.stored)},
                        {"duplicates", idsJson(result.duplicates)},
                        {"retracted", result.retracted.size()}});
    } else {
      std::cout << parsed.file << " (" << protocol::formatName(parsed.format)
                << "): " << result.stored.size() << " new clipping"
                << (result.stored.size() == 1 ? "" : "s") << " signed and stored";
      if (!result.duplicates.empty())
        std::cout << ", " << result.duplicates.size()
                  << " already in the archive with this key (not stored again)";
      if (!result.retracted.empty())
        std::cout << ", " << result.retracted.size()
                  << " retracted here (a retraction took that content; not signed again)";
      // Flushed at once: a file's line means its clippings are committed, even if the
      // import is killed before the next file (tests/cli/crash_test.cpp relies on it).
      std::cout << std::endl;
    }
  }
  if (options.json) {
    std::cout << nlohmann::json{{"files", report}, {"stored", stored}, {"duplicates", duplicates}}
              << '\n';
  } else if (files.size() > 1) {
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
