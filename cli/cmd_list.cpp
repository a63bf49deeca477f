// fieldsync list and fieldsync search: clippings newest first, as lines or JSON.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "protocol/text.h"

namespace fieldsync::cli {
namespace {

/// Prints the objects with these ids: one line each, or one JSON document.
void printObjects(const store::ReadTxn& txn, const std::vector<protocol::ObjectId>& ids,
                  bool json) {
  auto list = nlohmann::json::array();
  for (const auto& id : ids) {
    auto bytes = txn.get(id);
    if (!bytes) continue;
    auto object = protocol::decode(*bytes);
    if (!object)
      throw Error("stored object " + id.hex() + " does not decode (" + object.error().message() +
                  "): run fieldsync verify --all");
    if (json) {
      list.push_back(objectJson(object.value(), false));
    } else {
      printListLine(std::cout, object.value());
    }
  }
  if (json) std::cout << nlohmann::json{{"count", list.size()}, {"objects", list}} << '\n';
}

struct ListOptions {
  std::string tag, source, since;
  std::size_t limit = 0;
  bool json = false;
};

struct SearchOptions {
  std::vector<std::string> words;
  std::size_t limit = 0;
  bool json = false;
};

}  // namespace

void addList(CLI::App& app, Invocation& invocation) {
  auto o = std::make_shared<ListOptions>();
  auto* cmd = app.add_subcommand("list", "List clippings, newest first");
  cmd->add_option("--tag", o->tag, "Only clippings with this tag");
  cmd->add_option("--source", o->source, "Only clippings from this source");
  cmd->add_option("--since", o->since, "Only clippings published on or after this date");
  cmd->add_option("--limit", o->limit, "At most this many");
  cmd->add_flag("--json", o->json, "Print a JSON document");
  cmd->footer(
      "Examples:\n"
      "  fieldsync list --tag region:mali --since 2013-01 --limit 20\n"
      "  fieldsync list --json | jq -r '.objects[].title'");
  cmd->callback([&invocation, o] {
    invocation.action = [&invocation, o] {
      store::ListQuery query;
      query.kind = protocol::Kind::Clipping;
      if (!o->tag.empty()) query.tag = o->tag;
      if (!o->source.empty()) query.source = o->source;
      if (!o->since.empty()) {
        auto date = protocol::parseDate(o->since);
        if (!date) throw UsageError("--since: not a date: " + o->since);
        query.since = *date;
      }
      if (o->limit) query.limit = o->limit;
      auto home = openHome(invocation.global);
      auto txn = home->archive().beginRead();
      printObjects(txn, txn.list(query), o->json);
      return EXIT_OK;
    };
  });
}

void addSearch(CLI::App& app, Invocation& invocation) {
  auto o = std::make_shared<SearchOptions>();
  auto* cmd = app.add_subcommand("search", "Find clippings whose title or body hold every word");
  cmd->add_option("words", o->words, "Words to find (case and accents do not matter)")->required();
  cmd->add_option("--limit", o->limit, "At most this many");
  cmd->add_flag("--json", o->json, "Print a JSON document");
  cmd->footer("Example:\n  fieldsync search cholera mopti --limit 10");
  cmd->callback([&invocation, o] {
    invocation.action = [&invocation, o] {
      std::string words;
      for (const auto& w : o->words) words += w + " ";
      if (protocol::searchTerms(words).empty())
        throw UsageError("nothing to search for: give words of letters or digits");
      auto home = openHome(invocation.global);
      auto txn = home->archive().beginRead();
      printObjects(txn, txn.search(words, o->limit ? o->limit : SIZE_MAX), o->json);
      return EXIT_OK;
    };
  });
}

}  // namespace fieldsync::cli
