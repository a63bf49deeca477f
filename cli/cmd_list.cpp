// fieldsync list and fieldsync search: clippings newest first, as lines or JSON, each with
// its verdict (store/verdict.h): a mark before the line, a "trust" field in JSON; --trusted
// keeps only the trusted ones. Objects signed more than a day ahead of this computer's clock
// come last, marked future-dated (docs/decisions/0005-future-dated-objects.md). Clippings read
// corrected by the annotations in effect here, one line per article (store/annotation.h: the
// same content signed by several offices, duplicates under their original); --original lists
// them as signed, one line per object.
#include <algorithm>
#include <charconv>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "protocol/text.h"
#include "store/annotation.h"
#include "store/provenance.h"
#include "store/sync_index.h"
#include "store/verdict.h"
#include "store/words.h"

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

/// Which of the listed objects to print, and how.
struct Printing {
  std::size_t limit = SIZE_MAX;
  bool trustedOnly = false;  // --trusted: only those whose verdict is trusted
  bool json = false;
  bool original = false;             // --original: as signed, no folding
  std::optional<std::string> tag;    // list --tag, on the corrected tags (not with original)
  std::optional<std::string> words;  // search: titles as signed or corrected (not with original)
};

/// "also signed by Goma office, key 81aa0c3d12ab" and "duplicates: 7a3c01d2e4f5, ..." under
/// a list line (store::describeFolded).
void printFolded(std::ostream& out, const store::ListedClipping& listed) {
  for (const auto& line : store::describeFolded(listed)) printListNote(out, forTerminal(line));
}

/// Prints a line (and the notes of what is folded under it), with the future-dated tail.
void printLine(std::ostream& out, const protocol::DecodedObject& object, store::ClippingTrust trust,
               const std::map<protocol::ObjectId, std::int64_t>& future, std::int64_t clock,
               const store::ListedClipping* listed) {
  const auto signedAt = future.find(object.id);
  std::ostringstream line;
  printListLine(line, object, trust);
  std::string text = line.str();
  if (signedAt != future.end()) {
    if (!text.empty() && text.back() == '\n') text.pop_back();
    text += "  future-dated (signed " + isoTime(signedAt->second) + ", " +
            std::to_string(daysAhead(signedAt->second, clock)) + " days ahead)\n";
  }
  out << text;
  if (listed) printFolded(out, *listed);
}

/// The corrected, folded listing (store::Folder) of the ids, in their order.
void printFolded(std::ostream& out, const store::ReadTxn& txn,
                 const std::vector<protocol::ObjectId>& ids,
                 const std::map<protocol::ObjectId, std::int64_t>& future, std::int64_t clock,
                 const Printing& p) {
  const auto graph = store::loadTrust(txn);
  store::Folder folder(txn, graph);
  auto list = nlohmann::json::array();
  std::size_t printed = 0;
  for (const auto& id : ids) {
    if (printed == p.limit) break;
    auto listed = folder.next(id);
    if (!listed) continue;
    if (p.trustedOnly && listed->trust != store::ClippingTrust::Trusted) continue;
    const auto& tags = listed->view.clipping.tags;
    if (p.tag && !std::binary_search(tags.begin(), tags.end(), *p.tag)) continue;
    if (p.words && !store::holdsEveryWord(listed->view, *p.words)) continue;
    ++printed;
    const auto signedAt = future.find(listed->view.object.id);
    if (p.json) {
      auto j = listedJson(*listed);
      if (signedAt != future.end()) {
        j["futureDated"] = true;
        j["daysAhead"] = daysAhead(signedAt->second, clock);
      }
      list.push_back(std::move(j));
      continue;
    }
    protocol::DecodedObject shown = listed->view.object;
    shown.payload.body = listed->view.clipping;
    printLine(out, shown, listed->trust, future, clock, &*listed);
  }
  if (p.json) out << nlohmann::json{{"count", list.size()}, {"objects", list}} << '\n';
}

/// Prints the objects with these ids, in this order, at most p.limit of them: one line each
/// behind its trust mark, or one JSON document with "trust" in each object. Future-dated ones
/// are marked "future-dated (signed TIME, N days ahead)", in JSON futureDated and daysAhead.
/// Everything goes to a buffer, printed only once all of it is made: a failure on the way
/// (a stored object that does not decode) prints nothing but its message.
void printObjects(const store::ReadTxn& txn, const std::vector<protocol::ObjectId>& ids,
                  const std::map<protocol::ObjectId, std::int64_t>& future, std::int64_t clock,
                  const Printing& p) {
  std::ostringstream out;
  if (!p.original) {
    printFolded(out, txn, ids, future, clock, p);
    std::cout << out.str();
    return;
  }
  const auto graph = store::loadTrust(txn);
  store::Judge judge(graph);
  auto list = nlohmann::json::array();
  std::size_t printed = 0;
  for (const auto& id : ids) {
    if (printed == p.limit) break;
    auto bytes = txn.get(id);
    if (!bytes) continue;
    auto object = protocol::decode(*bytes);
    if (!object)
      throw Error("stored object " + id.hex() + " does not decode (" + object.error().message() +
                  "): run fieldsync verify --all");
    const store::ClippingTrust trust = judge.judge(object.value());
    if (p.trustedOnly && trust != store::ClippingTrust::Trusted) continue;
    ++printed;
    const auto signedAt = future.find(id);
    if (p.json) {
      auto j = objectJson(object.value(), false);
      j["trust"] = store::trustName(trust);
      if (signedAt != future.end()) {
        j["futureDated"] = true;
        j["daysAhead"] = daysAhead(signedAt->second, clock);
      }
      list.push_back(std::move(j));
    } else {
      printLine(out, object.value(), trust, future, clock, nullptr);
    }
  }
  if (p.json) out << nlohmann::json{{"count", list.size()}, {"objects", list}} << '\n';
  std::cout << out.str();
}

/// --limit N: at most N (0: none, which with --json still gives the count 0); no --limit: all.
std::size_t parseLimit(const std::string& text) {
  if (text.empty()) return SIZE_MAX;
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    throw UsageError("--limit: not a whole number of clippings (0 or more): " + text);
  return value;
}

/// The ids to walk and how many to ask the store for: with --trusted, or folded (duplicates
/// and other offices' copies are left out), the store cannot know which ones will be left
/// out, so all of them, cut while printing.
std::size_t storeLimit(const Printing& p, std::size_t future) {
  return p.trustedOnly || !p.original ? SIZE_MAX : widened(p.limit, future);
}

struct ListOptions {
  std::string tag, source, since;
  std::string limit;  // parseLimit
  bool trusted = false;
  bool json = false;
  bool original = false;
};

struct SearchOptions {
  std::vector<std::string> words;
  std::string limit;  // parseLimit
  bool trusted = false;
  bool json = false;
  bool original = false;
};

}  // namespace

void addList(CLI::App& app, Invocation& invocation) {
  auto o = std::make_shared<ListOptions>();
  auto* cmd = app.add_subcommand("list", "List clippings, newest first (future-dated ones last)");
  cmd->add_option("--tag", o->tag, "Only clippings with this tag");
  cmd->add_option("--source", o->source, "Only clippings from this source");
  cmd->add_option("--since", o->since, "Only clippings published on or after this date");
  cmd->add_option("--limit", o->limit, "At most this many (0: none; default: all)");
  cmd->add_flag("--trusted", o->trusted,
                "Only clippings whose signer this node trusts (no UNTRUSTED, REVOKED... marks)");
  cmd->add_flag("--original", o->original,
                "As signed: no corrections, every office's copy and every duplicate on its line");
  cmd->add_flag("--json", o->json, "Print a JSON document");
  cmd->footer(
      "Examples:\n"
      "  fieldsync list --tag region:mali --since 2013-01 --limit 20\n"
      "  fieldsync list --trusted\n"
      "  fieldsync list --json | jq -r '.objects[].title'");
  cmd->callback([&invocation, o] {
    invocation.action = [&invocation, o] {
      store::ListQuery query;
      query.kind = protocol::Kind::Clipping;
      if (!o->tag.empty()) {
        // Stored tags are normal (protocol::normalizeTag): fold the one asked for the same way.
        query.tag = protocol::normalizeTag(o->tag);
        if (query.tag->empty()) throw UsageError("--tag: empty tag");
      }
      if (!o->source.empty()) query.source = o->source;
      if (!o->since.empty()) {
        auto date = protocol::parseDate(o->since);
        if (!date) throw UsageError("--since: not a date: " + o->since);
        query.since = *date;
      }
      auto home = openHomeToRead(invocation.global);
      auto txn = home->archive().beginRead();
      const std::int64_t clock = now();
      const auto future = futureDated(txn, clock);
      Printing p{parseLimit(o->limit), o->trusted, o->json, o->original, {}, {}};
      if (!o->original && query.tag) {
        // Corrected tags: those the clippings were signed with less the removed ones, and
        // every clipping when an annotation adds the tag somewhere.
        p.tag = query.tag;
        if (store::someAnnotationAdds(txn, *query.tag)) query.tag.reset();
      }
      query.limit = storeLimit(p, future.size());
      printObjects(txn, futureLast(txn.list(query), future, query.limit), future, clock, p);
      return EXIT_OK;
    };
  });
}

void addSearch(CLI::App& app, Invocation& invocation) {
  auto o = std::make_shared<SearchOptions>();
  auto* cmd = app.add_subcommand("search", "Find clippings whose title or body hold every word");
  cmd->add_option("words", o->words, "Words to find (case and accents do not matter)")->required();
  cmd->add_option("--limit", o->limit, "At most this many (0: none; default: all)");
  cmd->add_flag("--trusted", o->trusted, "Only clippings whose signer this node trusts");
  cmd->add_flag("--original", o->original,
                "As signed: no corrections, every office's copy and every duplicate on its line");
  cmd->add_flag("--json", o->json, "Print a JSON document");
  cmd->footer("Example:\n  fieldsync search cholera mopti --limit 10 --trusted");
  cmd->callback([&invocation, o] {
    invocation.action = [&invocation, o] {
      std::string words;
      for (const auto& w : o->words) words += w + " ";
      if (protocol::searchTerms(words).empty())
        throw UsageError("nothing to search for: give words of letters or digits");
      auto home = openHomeToRead(invocation.global);
      auto txn = home->archive().beginRead();
      const std::int64_t clock = now();
      const auto future = futureDated(txn, clock);
      Printing p{parseLimit(o->limit), o->trusted, o->json, o->original, {}, {}};
      const std::size_t asked = storeLimit(p, future.size());
      // Corrected titles: the clippings retitled with one of the words are looked at too.
      if (!o->original) p.words = words;
      const auto ids = o->original ? txn.search(words, asked) : store::correctedSearch(txn, words);
      printObjects(txn, futureLast(ids, future, asked), future, clock, p);
      return EXIT_OK;
    };
  });
}

}  // namespace fieldsync::cli
