// fieldsync list and fieldsync search: clippings newest first, as lines or JSON. Objects
// signed more than a day ahead of this computer's clock come last, marked future-dated
// (docs/decisions/0005-future-dated-objects.md).
#include <algorithm>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "protocol/text.h"
#include "store/sync_index.h"

namespace fieldsync::cli {
namespace {

/// The future-dated objects for a clock reading now, from the tail of the sync order (no
/// scan of the archive): id -> signedAt.
std::map<protocol::ObjectId, std::int64_t> futureDated(const store::ReadTxn& txn,
                                                       std::int64_t now) {
  std::map<protocol::ObjectId, std::int64_t> out;
  const store::ArchiveRangeIndex index(txn);
  for (const auto& key : protocol::tailKeys(index, protocol::horizonFor(now))) {
    out.emplace(key.id, key.signedAt);
  }
  return out;
}

/// Whole days from now to signedAt (signedAt > now), without overflow.
std::uint64_t daysAhead(std::int64_t signedAt, std::int64_t now) {
  return (static_cast<std::uint64_t>(signedAt) - static_cast<std::uint64_t>(now)) / 86'400;
}

/// ids in the store's order with the future-dated ones after the rest, at most limit. ids
/// must hold the first limit + future.size() of the store's list, so that future-dated ones
/// moved out still leave limit others when there are that many.
std::vector<protocol::ObjectId> futureLast(const std::vector<protocol::ObjectId>& ids,
                                           const std::map<protocol::ObjectId, std::int64_t>& future,
                                           std::size_t limit) {
  std::vector<protocol::ObjectId> out;
  std::copy_if(ids.begin(), ids.end(), std::back_inserter(out),
               [&](const auto& id) { return !future.contains(id); });
  std::copy_if(ids.begin(), ids.end(), std::back_inserter(out),
               [&](const auto& id) { return future.contains(id); });
  if (out.size() > limit) out.resize(limit);
  return out;
}

/// limit more n, saturating: what to ask the store for.
std::size_t widened(std::size_t limit, std::size_t n) {
  return limit > SIZE_MAX - n ? SIZE_MAX : limit + n;
}

/// Prints the objects with these ids: one line each, or one JSON document. Future-dated ones
/// are marked "future-dated (signed TIME, N days ahead)", in JSON futureDated and daysAhead.
void printObjects(const store::ReadTxn& txn, const std::vector<protocol::ObjectId>& ids,
                  const std::map<protocol::ObjectId, std::int64_t>& future, std::int64_t clock,
                  bool json) {
  auto list = nlohmann::json::array();
  for (const auto& id : ids) {
    auto bytes = txn.get(id);
    if (!bytes) continue;
    auto object = protocol::decode(*bytes);
    if (!object)
      throw Error("stored object " + id.hex() + " does not decode (" + object.error().message() +
                  "): run fieldsync verify --all");
    const auto signedAt = future.find(id);
    if (json) {
      auto j = objectJson(object.value(), false);
      if (signedAt != future.end()) {
        j["futureDated"] = true;
        j["daysAhead"] = daysAhead(signedAt->second, clock);
      }
      list.push_back(std::move(j));
    } else if (signedAt == future.end()) {
      printListLine(std::cout, object.value());
    } else {
      std::ostringstream line;
      printListLine(line, object.value());
      std::string text = line.str();
      if (!text.empty() && text.back() == '\n') text.pop_back();
      std::cout << text << "  future-dated (signed " << isoTime(signedAt->second) << ", "
                << daysAhead(signedAt->second, clock) << " days ahead)\n";
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
  auto* cmd = app.add_subcommand("list", "List clippings, newest first (future-dated ones last)");
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
      auto home = openHome(invocation.global);
      auto txn = home->archive().beginRead();
      const std::int64_t clock = now();
      const auto future = futureDated(txn, clock);
      const std::size_t limit = o->limit ? o->limit : SIZE_MAX;
      query.limit = widened(limit, future.size());
      printObjects(txn, futureLast(txn.list(query), future, limit), future, clock, o->json);
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
      const std::int64_t clock = now();
      const auto future = futureDated(txn, clock);
      const std::size_t limit = o->limit ? o->limit : SIZE_MAX;
      const auto found = txn.search(words, widened(limit, future.size()));
      printObjects(txn, futureLast(found, future, limit), future, clock, o->json);
      return EXIT_OK;
    };
  });
}

}  // namespace fieldsync::cli
