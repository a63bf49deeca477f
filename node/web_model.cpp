#include "node/web_model.h"

#include <algorithm>
#include <charconv>
#include <variant>

#include "protocol/minisign.h"
#include "protocol/text.h"
#include "store/annotation.h"
#include "store/pause.h"
#include "store/peers.h"
#include "store/provenance.h"
#include "store/retraction.h"
#include "store/verdict.h"
#include "store/words.h"

namespace fieldsync::node::web {
namespace {

std::optional<std::size_t> parseCount(const std::string& text) {
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return n;
}

/// published overlaps the date `bound` at their common precision, or lies on side of it.
bool onOrAfter(const std::string& published, const std::string& from) {
  const std::size_t n = std::min(published.size(), from.size());
  return published.compare(0, n, from, 0, n) >= 0;
}
bool onOrBefore(const std::string& published, const std::string& until) {
  const std::size_t n = std::min(published.size(), until.size());
  return published.compare(0, n, until, 0, n) <= 0;
}

bool matches(const protocol::Clipping& c, const Filters& f) {
  if (!f.tag.empty() && !std::binary_search(c.tags.begin(), c.tags.end(), f.tag) &&
      std::find(c.tags.begin(), c.tags.end(), f.tag) == c.tags.end())
    return false;
  if (!f.source.empty() && c.source != f.source) return false;
  if (!f.from.empty() && (c.published.empty() || !onOrAfter(c.published, f.from))) return false;
  if (!f.until.empty() && (c.published.empty() || !onOrBefore(c.published, f.until))) return false;
  return true;
}

ClippingRow rowOf(const protocol::DecodedObject& object, const protocol::Clipping& c,
                  store::ClippingTrust trust) {
  return {object.id, c.title, c.source, c.published, c.tags, trust, {}};
}

/// A row as the front page shows it: corrected, with what is folded under it (as `list`).
ClippingRow rowOf(const store::ListedClipping& listed) {
  ClippingRow row = rowOf(listed.view.object, listed.view.clipping, listed.trust);
  if (listed.view.corrected()) row.notes.push_back("corrected here (see the clipping)");
  for (auto& line : store::describeFolded(listed)) row.notes.push_back(std::move(line));
  return row;
}

/// The clippings filters match, newest first, corrected and folded as `list` shows them
/// (store::Folder: one row per article, duplicates under their original), skipping `skip` and
/// taking at most `take`; more: one more matched after them. Filters apply to the corrected
/// clipping (a tag an annotation added finds it, one it removed does not).
struct Matched {
  std::vector<store::ListedClipping> rows;
  bool more = false;
};
Matched match(const store::ReadTxn& txn, const protocol::TrustGraph& graph, const Filters& f,
              std::size_t skip, std::size_t take) {
  std::vector<protocol::ObjectId> ids;
  if (!f.q.empty()) {
    ids = store::correctedSearch(txn, f.q);
  } else {
    store::ListQuery query;
    query.kind = protocol::Kind::Clipping;
    if (!f.tag.empty() && !store::someAnnotationAdds(txn, f.tag)) query.tag = f.tag;
    if (!f.source.empty()) query.source = f.source;
    if (!f.from.empty()) query.since = f.from;
    ids = txn.list(query);
  }
  Matched out;
  store::Folder folder(txn, graph);
  std::size_t seen = 0;
  for (const auto& id : ids) {
    auto listed = folder.next(id);
    if (!listed || !matches(listed->view.clipping, f)) continue;
    if (!f.q.empty() && !store::holdsEveryWord(listed->view, f.q)) continue;
    if (seen++ < skip) continue;
    if (out.rows.size() == take) {
      out.more = true;
      break;
    }
    out.rows.push_back(std::move(*listed));
  }
  return out;
}

ClippingView viewOf(const store::ReadTxn& txn, const protocol::TrustGraph& graph,
                    const protocol::DecodedObject& object) {
  const auto report = store::verifyObject(txn, graph, object.id);
  const auto corrected = store::correctClipping(txn, graph, object);
  ClippingView view;
  view.id = object.id;
  view.clipping = corrected.clipping;
  view.signedAt = object.payload.signedAt;
  view.trust = store::judge(txn, graph, object.id, store::Check::Signature);
  view.verdict = store::verdictName(report.verdict());
  view.sentence = store::reportSentence(report);
  view.signer = report.object ? store::describeSigner(report) : object.payload.signer.hex();
  view.signerKey = object.payload.signer.hex();
  view.trustPath = store::describePath(report.trust.path);
  view.releases = report.releases;
  view.corrections = store::describeCorrections(corrected);
  store::Folder folder(txn, graph);
  std::vector<store::CoSigner> others;
  (void)folder.representative(object, &others);
  for (const auto& other : others)
    view.corrections.push_back(
        "also signed by " +
        (other.name.empty() ? "key " + store::shortHex(other.signer.hex()) : other.name) + " (" +
        store::shortHex(other.id.hex()) + ")");
  for (const auto& d : folder.duplicatesOf(object.id))
    view.corrections.push_back("duplicate " + store::shortHex(d.hex()) + " is listed under it");
  return view;
}

ReleaseRow releaseRowOf(const store::ReadTxn& txn, store::Judge& judge,
                        const protocol::TrustGraph& graph, const protocol::ObjectId& id) {
  ReleaseRow row;
  row.id = id;
  const auto bytes = txn.get(id);
  if (!bytes) return row;
  const auto object = protocol::decode(*bytes);
  if (!object) {
    row.verdict = "invalid";
    return row;
  }
  const auto* r = std::get_if<protocol::Release>(&object->payload.body);
  if (r == nullptr) return row;
  row.name = r->name;
  row.sequence = r->sequence;
  row.signedAt = object->payload.signedAt;
  row.members = r->parts.empty() ? r->clippings.size() : 0;
  row.stranger = store::chainOwner(graph, object->payload).has_value();
  const auto trust = judge.judge(txn, id, store::Check::Signature);
  row.verdict = std::string(store::trustName(trust));
  // The signer as `release list` names it: from the trust path, else the short key.
  const auto& verdict =
      judge.verdict(object->payload.signer, store::requiredRole(protocol::Kind::Release),
                    object->payload.signedAt);
  row.signer = verdict.name.empty() ? store::shortHex(object->payload.signer.hex()) : verdict.name;
  return row;
}

Expected<protocol::ObjectId, Refusal> findRelease(const store::ReadTxn& txn,
                                                  std::string_view text) {
  if (text.empty() || text.size() > MAX_QUERY_BYTES) return Refusal{404, "no such release"};
  auto id = store::resolveRelease(txn, text);
  if (!id) return Refusal{404, id.error()};
  return *id;
}

}  // namespace

Expected<Filters, Refusal> parseFilters(const std::multimap<std::string, std::string>& params) {
  if (params.size() > MAX_PARAMS) return Refusal{400, "too many parameters"};
  Filters f;
  for (const auto& [name, value] : params) {
    if (value.size() > MAX_QUERY_BYTES)
      return Refusal{400, name + " is longer than " + std::to_string(MAX_QUERY_BYTES) + " bytes"};
    if (!protocol::isValidUtf8(value)) return Refusal{400, name + " is not UTF-8 text"};
    const std::string trimmed(protocol::trimSpace(value));
    if (name == "q") {
      f.q = trimmed;
    } else if (name == "tag") {
      f.tag = trimmed.empty() ? "" : protocol::normalizeTag(trimmed);
    } else if (name == "source") {
      f.source = trimmed;
    } else if (name == "from" || name == "until") {
      if (trimmed.empty()) continue;
      auto date = protocol::parseDate(trimmed);
      if (!date) return Refusal{400, name + " is not a date (2013-01-11, 2013-01 or 2013)"};
      (name == "from" ? f.from : f.until) = *date;
    } else if (name == "page" || name == "n") {
      const auto n = parseCount(trimmed);
      const std::size_t max = name == "page" ? MAX_PAGE : MAX_PER_PAGE;
      if (!n || *n < 1 || *n > max)
        return Refusal{400, name + " must be a number from 1 to " + std::to_string(max)};
      (name == "page" ? f.page : f.perPage) = *n;
    }
    // Other parameters are ignored, as browsers and proxies add their own.
  }
  if (!f.q.empty()) {
    const auto terms = protocol::searchTerms(f.q);
    if (terms.empty()) return Refusal{400, "the search has no words to look for"};
    if (terms.size() > MAX_TERMS)
      return Refusal{400, "a search may hold at most " + std::to_string(MAX_TERMS) + " words"};
  }
  return f;
}

ListView listView(const store::ReadTxn& txn, const NodeInfo& node, const Filters& filters) {
  const auto graph = store::loadTrust(txn);
  ListView view;
  view.nodeName = node.name;
  view.filters = filters;
  auto matched = match(txn, graph, filters, (filters.page - 1) * filters.perPage, filters.perPage);
  for (const auto& listed : matched.rows) view.rows.push_back(rowOf(listed));
  view.hasNext = matched.more && filters.page < MAX_PAGE;
  return view;
}

std::optional<ClippingView> clippingView(const store::ReadTxn& txn,
                                         const protocol::TrustGraph& graph, std::string_view text) {
  if (text.size() > 64) return std::nullopt;
  const auto id = txn.resolve(text);
  if (!id) return std::nullopt;
  const auto bytes = txn.get(*id);
  if (!bytes) return std::nullopt;
  const auto object = protocol::decode(*bytes);
  if (!object || object->payload.clipping() == nullptr) return std::nullopt;
  return viewOf(txn, graph, object.value());
}

std::optional<store::RetractionNotice> retractedView(const store::ReadTxn& txn,
                                                     const protocol::TrustGraph& graph,
                                                     std::string_view text) {
  const auto id = protocol::Digest::fromHex(std::string(text));
  if (!id || txn.contains(*id)) return std::nullopt;
  return store::retractionOf(txn, graph, *id);
}

ReleasesView releasesView(const store::ReadTxn& txn, const NodeInfo& node) {
  const auto graph = store::loadTrust(txn);
  store::Judge judge(graph);
  ReleasesView view;
  view.nodeName = node.name;
  for (const auto& name : txn.releaseNames()) {
    for (const auto& [owner, entries] : store::chainsOf(txn, graph, name)) {
      // Newest first within each chain: the latest is what people look for.
      for (auto it = entries.rbegin(); it != entries.rend(); ++it)
        view.rows.push_back(releaseRowOf(txn, judge, graph, it->id));
    }
  }
  return view;
}

Expected<ReleaseView, Refusal> releaseView(const store::ReadTxn& txn, const NodeInfo& node,
                                           std::string_view text) {
  const auto id = findRelease(txn, text);
  if (!id) return id.error();
  const auto graph = store::loadTrust(txn);
  store::Judge judge(graph);
  const auto report = store::verifyObject(txn, graph, *id);
  if (!report.object) return Refusal{404, store::reportProblem(report)};
  const auto* r = std::get_if<protocol::Release>(&report.object->payload.body);
  if (r == nullptr) return Refusal{404, "not a release"};
  ReleaseView view;
  view.nodeName = node.name;
  view.release = releaseRowOf(txn, judge, graph, *id);
  view.release.verdict = store::verdictName(report.verdict());
  view.release.members = report.members;
  view.notes = r->notes;
  view.sentence = store::reportSentence(report);
  view.problem = store::reportProblem(report);
  view.members = store::membersSummary(report);
  view.signerKey = report.object->payload.signer.hex();
  const auto owner = store::chainOwner(graph, report.object->payload);
  for (const auto& entry : store::chainReleases(txn, graph, r->name, owner)) {
    auto row = releaseRowOf(txn, judge, graph, entry.id);
    row.current = entry.id == *id;
    view.chain.push_back(std::move(row));
  }
  const auto members = store::releaseMembers(txn, report.object.value());
  for (const auto& member : members.clippings) {
    const auto bytes = txn.get(member);
    if (!bytes) {
      ++view.missing;
      continue;
    }
    if (view.clippings.size() == MAX_RELEASE_ROWS) continue;
    const auto object = protocol::decode(*bytes);
    if (!object || object->payload.clipping() == nullptr) continue;
    view.clippings.push_back(
        rowOf(object.value(), *object->payload.clipping(), judge.judge(object.value())));
  }
  // Newest first, as the front page.
  std::stable_sort(
      view.clippings.begin(), view.clippings.end(),
      [](const ClippingRow& a, const ClippingRow& b) { return a.published > b.published; });
  return view;
}

StatusView statusView(const store::ReadTxn& txn, const NodeInfo& node, std::int64_t now) {
  StatusView view;
  view.nodeName = node.name;
  view.key = node.key;
  view.now = now;
  view.objects = txn.count();
  std::uint64_t others = 0;
  for (auto kind : {protocol::Kind::Release, protocol::Kind::KeyCert, protocol::Kind::Revocation,
                    protocol::Kind::ReleasePart, protocol::Kind::Retraction}) {
    const auto n = txn.ofKind(kind).size();
    others += n;
    if (kind == protocol::Kind::Release) view.releases = n;
  }
  view.clippings = view.objects - std::min(others, view.objects);
  if (const auto paused = store::pausedUntil(txn, now))
    view.paused = *paused == store::PAUSED_INDEFINITELY ? "until `fieldsync resume`"
                                                        : "until " + protocol::formatUtc(*paused);
  const std::uint64_t last = txn.lastSeq();
  for (const auto& peer : store::listPeers(txn)) {
    PeerRow row;
    row.name = peer.name;
    row.address = peer.address;
    row.key = peer.key.hex();
    row.standing = store::describeStanding(peer.state, now);
    if (peer.state.inStepAt != 0 && peer.state.inStepSeq <= last)
      row.waiting = last - peer.state.inStepSeq;
    view.peers.push_back(std::move(row));
  }
  return view;
}

PrintView printSearch(const store::ReadTxn& txn, const NodeInfo& node, const Filters& filters) {
  const auto graph = store::loadTrust(txn);
  PrintView view;
  view.nodeName = node.name;
  view.title = filters.q.empty() ? "Clippings" : "Search: " + filters.q;
  std::string sub;
  auto add = [&](const char* name, const std::string& value) {
    if (!value.empty()) sub += (sub.empty() ? "" : "; ") + std::string(name) + " " + value;
  };
  add("tag", filters.tag);
  add("source", filters.source);
  add("from", filters.from);
  add("until", filters.until);
  view.subtitle = sub;
  const std::size_t take = std::min(MAX_PRINT, filters.perPage);
  auto matched = match(txn, graph, filters, (filters.page - 1) * filters.perPage, take);
  for (const auto& listed : matched.rows)
    view.clippings.push_back(viewOf(txn, graph, listed.view.object));
  view.truncated = matched.more;
  return view;
}

Expected<PrintView, Refusal> printRelease(const store::ReadTxn& txn, const NodeInfo& node,
                                          std::string_view text) {
  const auto id = findRelease(txn, text);
  if (!id) return id.error();
  const auto graph = store::loadTrust(txn);
  const auto report = store::verifyObject(txn, graph, *id);
  if (!report.object) return Refusal{404, store::reportProblem(report)};
  const auto* r = std::get_if<protocol::Release>(&report.object->payload.body);
  if (r == nullptr) return Refusal{404, "not a release"};
  PrintView view;
  view.nodeName = node.name;
  view.title = "Release " + r->name + "@" + std::to_string(r->sequence);
  view.subtitle =
      std::string(store::verdictName(report.verdict())) + ": " + store::reportSentence(report);
  const auto members = store::releaseMembers(txn, report.object.value());
  for (const auto& member : members.clippings) {
    if (view.clippings.size() == MAX_PRINT) {
      view.truncated = true;
      break;
    }
    const auto bytes = txn.get(member);
    if (!bytes) continue;
    const auto object = protocol::decode(*bytes);
    if (!object || object->payload.clipping() == nullptr) continue;
    view.clippings.push_back(viewOf(txn, graph, object.value()));
  }
  return view;
}

Expected<std::string, Refusal> releaseManifestText(const store::ReadTxn& txn,
                                                   std::string_view text) {
  const auto id = findRelease(txn, text);
  if (!id) return id.error();
  try {
    return store::releaseManifest(txn, *id);
  } catch (const Error& e) {
    return Refusal{409, e.what()};
  }
}

Expected<std::string, Refusal> releaseSignerKey(const store::ReadTxn& txn, std::string_view text) {
  const auto id = findRelease(txn, text);
  if (!id) return id.error();
  const auto bytes = txn.get(*id);
  const auto object = bytes ? protocol::decode(*bytes) : protocol::decode({});
  if (!object) return Refusal{404, "the release does not decode"};
  return protocol::minisignPublicKey(object->payload.signer);
}

}  // namespace fieldsync::node::web
