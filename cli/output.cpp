#include "cli/output.h"

#include <set>

#include "protocol/text.h"
#include "store/words.h"

#include <ctime>
#include <ostream>
#include <variant>

namespace fieldsync::cli {

std::string isoTime(std::int64_t unixSeconds) { return protocol::formatUtc(unixSeconds); }

nlohmann::json isoTimeJson(std::int64_t unixSeconds) {
  if (auto iso = protocol::isoUtc(unixSeconds)) return *iso;
  return nullptr;
}

nlohmann::json objectJson(const protocol::DecodedObject& object, bool withBody) {
  const auto& payload = object.payload;
  nlohmann::json j{{"id", object.id.hex()},
                   {"kind", protocol::kindName(payload.kind())},
                   {"signer", payload.signer.hex()},
                   {"signedAt", isoTimeJson(payload.signedAt)}};
  if (const auto* c = payload.clipping()) {
    j["title"] = c->title;
    j["source"] = c->source;
    j["authors"] = c->authors;
    j["published"] = c->published;
    j["url"] = c->url;
    j["tags"] = c->tags;
    j["language"] = c->language;
    j["collection"] = c->collection;
    j["contentHash"] = protocol::contentHash(*c).hex();
    if (withBody) j["body"] = c->body;
  } else if (const auto* r = std::get_if<protocol::Release>(&payload.body)) {
    j["name"] = r->name;
    j["sequence"] = r->sequence;
    j["previous"] = r->previous ? nlohmann::json(r->previous->hex()) : nlohmann::json(nullptr);
    auto ids = nlohmann::json::array();
    for (const auto& id : r->clippings) ids.push_back(id.hex());
    j["clippings"] = ids;
    j["notes"] = r->notes;
  } else if (const auto* k = std::get_if<protocol::KeyCert>(&payload.body)) {
    j["subject"] = k->subject.hex();
    j["role"] = protocol::roleName(k->role);
    j["name"] = k->name;
    j["validUntil"] =
        k->validUntil ? nlohmann::json(isoTimeJson(k->validUntil)) : nlohmann::json(nullptr);
  } else if (const auto* v = std::get_if<protocol::Revocation>(&payload.body)) {
    j["subject"] = v->subject.hex();
    j["since"] = isoTimeJson(v->since);
    j["reason"] = v->reason;
  } else if (const auto* a = std::get_if<protocol::Annotation>(&payload.body)) {
    j["clipping"] = a->clipping.hex();
    j["title"] = a->title.empty() ? nlohmann::json(nullptr) : nlohmann::json(a->title);
    j["addTags"] = a->addTags;
    j["removeTags"] = a->removeTags;
    j["duplicateOf"] = a->duplicateOf ? nlohmann::json(a->duplicateOf->hex()) : nlohmann::json();
    j["reason"] = a->reason;
  }
  return j;
}

void printListLine(std::ostream& out, const protocol::DecodedObject& object) {
  out << object.id.hex().substr(0, 12) << "  ";
  if (const auto* c = object.payload.clipping()) {
    std::string date = c->published.empty() ? "----------" : c->published;
    date.resize(10, ' ');
    out << date << "  " << forTerminal(store::shorten(c->title, 80));
    if (!c->source.empty()) out << " (" << forTerminal(store::shorten(c->source, 40)) << ")";
  } else {
    out << protocol::kindName(object.payload.kind()) << "  signed "
        << isoTime(object.payload.signedAt);
  }
  out << '\n';
}

std::string_view trustMark(store::ClippingTrust trust) {
  switch (trust) {
    case store::ClippingTrust::Trusted:
      return "";
    case store::ClippingTrust::Unknown:
      return "UNTRUSTED";
    case store::ClippingTrust::Revoked:
      return "REVOKED";
    case store::ClippingTrust::WrongRole:
      return "WRONG-ROLE";
    case store::ClippingTrust::Expired:
      return "EXPIRED";
    case store::ClippingTrust::Invalid:
      return "INVALID";
    case store::ClippingTrust::Retracted:
      return "RETRACTED";
  }
  return "INVALID";
}

namespace {

constexpr std::string_view ELLIPSIS = "…";

/// The columns text takes on a terminal, counted so as never to fall short: one per ASCII
/// character and for the "…" that ends a cut, two per other code point (wide scripts take
/// two; most others take one).
std::size_t columnsOf(std::string_view text) {
  std::size_t columns = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x80) {
      columns += 1;
    } else if (text.substr(i, ELLIPSIS.size()) == ELLIPSIS) {
      columns += 1;
      i += ELLIPSIS.size() - 1;
    } else if ((u & 0xC0) != 0x80) {
      columns += 2;  // the lead byte of a sequence; continuation bytes add nothing
    }
  }
  return columns;
}

/// text cut at a character boundary to at most maxColumns (columnsOf), "…" ending a cut.
std::string fitColumns(const std::string& text, std::size_t maxColumns) {
  if (columnsOf(text) <= maxColumns) return text;
  std::size_t columns = 0, end = 0;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t length = 1;
    std::size_t width = 1;
    if (static_cast<unsigned char>(text[i]) >= 0x80) {
      while (i + length < text.size() &&
             (static_cast<unsigned char>(text[i + length]) & 0xC0) == 0x80)
        ++length;
      width = 2;
    }
    if (columns + width + 1 > maxColumns) break;  // one column for the "…"
    columns += width;
    i += length;
    end = i;
  }
  return text.substr(0, end) + std::string(ELLIPSIS);
}

}  // namespace

void printListLine(std::ostream& out, const protocol::DecodedObject& object,
                   store::ClippingTrust trust) {
  std::string mark(trustMark(trust));
  mark.resize(TRUST_MARK_WIDTH + 1, ' ');
  out << mark << object.id.hex().substr(0, 12) << "  ";
  const auto* c = object.payload.clipping();
  if (c == nullptr) {
    out << protocol::kindName(object.payload.kind()) << "  signed "
        << isoTime(object.payload.signedAt) << '\n';
    return;
  }
  std::string date = c->published.empty() ? "----------" : c->published;
  date.resize(10, ' ');
  out << date << "  ";
  // The whole line fits LIST_COLUMNS: a line the terminal wraps would put the rest of a
  // title at the start of the next row, where it could pass for a line of its own, unmarked.
  constexpr std::size_t LIST_COLUMNS = 80, BEFORE_TITLE = TRUST_MARK_WIDTH + 1 + 12 + 2 + 10 + 2;
  constexpr std::size_t ROOM = LIST_COLUMNS - BEFORE_TITLE, MIN_SOURCE = 12;
  const std::string title = forTerminal(c->title);
  const std::string source = c->source.empty() ? "" : forTerminal(c->source);
  if (source.empty()) {
    out << fitColumns(title, ROOM) << '\n';
    return;
  }
  // The title first: the source gets what the title leaves, but at least MIN_SOURCE columns.
  const std::size_t titleColumns = columnsOf(title);
  const std::size_t forSource =
      titleColumns + 3 + MIN_SOURCE <= ROOM ? ROOM - 3 - titleColumns : MIN_SOURCE;
  const std::string shownSource = fitColumns(source, forSource);
  const std::string shownTitle = fitColumns(title, ROOM - 3 - columnsOf(shownSource));
  out << shownTitle << " (" << shownSource << ")\n";
}

void printObject(std::ostream& out, const protocol::DecodedObject& object,
                 const Provenance* provenance) {
  const auto& payload = object.payload;
  // Every value but ids, keys and times comes from the object: shown through forTerminal.
  auto field = [&](std::string_view name, const std::string& value) {
    if (!value.empty())
      out << name << std::string(12 - name.size(), ' ') << forTerminal(value) << '\n';
  };
  auto join = [](const std::vector<std::string>& items) {
    std::string s;
    for (const auto& item : items) s += (s.empty() ? "" : ", ") + item;
    return s;
  };
  field("id:", object.id.hex());
  field("kind:", std::string(protocol::kindName(payload.kind())));
  if (provenance) {
    const auto mark = trustMark(provenance->trust);
    out << "trust:      " << (mark.empty() ? "trusted" : mark) << '\n';
  }
  if (const auto* c = payload.clipping()) {
    field("title:", c->title);
    field("source:", c->source);
    field("authors:", join(c->authors));
    field("published:", c->published);
    field("url:", c->url);
    field("tags:", join(c->tags));
    field("language:", c->language);
    field("collection:", c->collection);
  } else if (const auto* r = std::get_if<protocol::Release>(&payload.body)) {
    field("release:", r->name + "@" + std::to_string(r->sequence));
    field("previous:", r->previous ? r->previous->hex() : "");
    field("clippings:", std::to_string(r->clippings.size()));
    field("notes:", r->notes);
  } else if (const auto* k = std::get_if<protocol::KeyCert>(&payload.body)) {
    field("subject:", k->subject.hex());
    field("role:", std::string(protocol::roleName(k->role)));
    field("name:", k->name);
    field("until:", k->validUntil ? isoTime(k->validUntil) : "no expiry");
  } else if (const auto* v = std::get_if<protocol::Revocation>(&payload.body)) {
    field("subject:", v->subject.hex());
    field("since:", isoTime(v->since));
    field("reason:", v->reason);
  } else if (const auto* a = std::get_if<protocol::Annotation>(&payload.body)) {
    field("clipping:", a->clipping.hex());
    field("title:", a->title);
    field("add tags:", join(a->addTags));
    field("untag:", join(a->removeTags));
    field("duplicate:", a->duplicateOf ? a->duplicateOf->hex() : "");
    field("reason:", a->reason);
  }
  if (provenance) {
    out << "signer:     " << provenance->signer << '\n';  // named by the caller, made safe
  } else {
    field("signer:", payload.signer.hex());
  }
  field("signed at:", isoTime(payload.signedAt));
  if (provenance) out << "verify:     " << provenance->verify;  // printReport ends its lines
  if (const auto* c = payload.clipping(); c && !c->body.empty())
    out << '\n' << forTerminal(c->body, Lines::Keep) << '\n';
}

// --- Provenance ------------------------------------------------------------------------------

std::string describePath(const std::vector<protocol::TrustStep>& path) {
  return forTerminal(store::describePath(path));
}

nlohmann::json trustJson(const protocol::PublicKey& key, const std::string& name,
                         const protocol::TrustVerdict& verdict) {
  auto path = nlohmann::json::array();
  for (const auto& step : verdict.path)
    path.push_back({{"key", step.key.hex()},
                    {"name", step.name},
                    {"role", protocol::roleName(step.role)},
                    {"certificate", step.certificate ? nlohmann::json(step.certificate->hex())
                                                     : nlohmann::json(nullptr)}});
  return {{"key", key.hex()},
          {"name", name},
          {"role", verdict.role ? nlohmann::json(protocol::roleName(*verdict.role))
                                : nlohmann::json(nullptr)},
          {"status", protocol::trustStatusName(verdict.status)},
          {"path", path}};
}

nlohmann::json revocationJson(const std::optional<protocol::RevocationRecord>& revocation) {
  if (!revocation) return nullptr;
  return {{"id", revocation->id.hex()},
          {"subject", revocation->revocation.subject.hex()},
          {"signer", revocation->signer.hex()},
          {"signedAt", isoTimeJson(revocation->signedAt)},
          {"since", isoTimeJson(revocation->revocation.since)},
          {"reason", revocation->revocation.reason}};
}

using Verdict = store::ObjectReport::Verdict;

nlohmann::json reportJson(const store::ObjectReport& report) {
  auto ids = [](const std::vector<protocol::ObjectId>& list) {
    auto array = nlohmann::json::array();
    for (const auto& id : list) array.push_back(id.hex());
    return array;
  };
  auto problem = store::reportProblem(report);
  nlohmann::json j{{"id", report.id.hex()},
                   {"kind", nullptr},
                   {"verdict", store::verdictName(report.verdict())},
                   {"problem", problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(problem)},
                   {"signedAt", nullptr},
                   {"signer", nullptr},
                   {"revocation", revocationJson(report.trust.revocation)}};
  if (report.object) {
    const auto& payload = report.object->payload;
    j["kind"] = protocol::kindName(payload.kind());
    j["signedAt"] = isoTimeJson(payload.signedAt);
    j["signer"] = trustJson(payload.signer, report.signerName, report.trust);
    if (const auto* c = payload.clipping()) j["title"] = c->title;
    if (const auto* r = std::get_if<protocol::Release>(&payload.body)) {
      j["name"] = r->name;
      j["sequence"] = r->sequence;
    }
  }
  auto releases = nlohmann::json::array();
  for (const auto& r : report.releases)
    releases.push_back({{"id", r.id.hex()}, {"name", r.name}, {"sequence", r.sequence}});
  j["releases"] = releases;
  j["chainProblems"] = report.chainProblems;
  j["missing"] = ids(report.missing);
  auto invalidMembers = nlohmann::json::array();
  for (const auto& [id, why] : report.invalidMembers)
    invalidMembers.push_back({{"id", id.hex()}, {"problem", why}});
  j["invalidMembers"] = invalidMembers;
  return j;
}

void printReport(std::ostream& out, const store::ObjectReport& report, bool listLine) {
  const std::string indent(listLine ? 11 : 12, ' ');  // under the id, or under `show`'s values
  constexpr std::size_t MAX_LISTED = 20;
  const Verdict verdict = report.verdict();
  std::string word = verdict == Verdict::Valid     ? "OK"
                     : verdict == Verdict::Invalid ? "INVALID"
                                                   : "UNTRUSTED";
  if (listLine) {
    word.resize(9, ' ');
    out << word << "  " << shortHex(report.id.hex()) << "  ";
  } else {
    out << word << ": ";
  }
  if (!report.object) {
    out << forTerminal(store::reportProblem(report)) << '\n';
    return;
  }
  if (listLine) out << forTerminal(store::describeObject(*report.object)) << " — ";
  out << forTerminal(store::reportSentence(report));
  out << '\n';
  for (const auto& problem : report.chainProblems)
    out << indent << "chain: " << forTerminal(problem) << '\n';
  for (std::size_t i = 0; i < report.invalidMembers.size() && i < MAX_LISTED; ++i)
    out << indent << "invalid clipping " << shortHex(report.invalidMembers[i].first.hex()) << ": "
        << forTerminal(report.invalidMembers[i].second) << '\n';
  for (std::size_t i = 0; i < report.missing.size() && i < MAX_LISTED; ++i)
    out << indent << "missing clipping " << shortHex(report.missing[i].hex())
        << " (not in this archive yet)\n";
  const std::size_t more =
      (report.invalidMembers.size() > MAX_LISTED ? report.invalidMembers.size() - MAX_LISTED : 0) +
      (report.missing.size() > MAX_LISTED ? report.missing.size() - MAX_LISTED : 0);
  if (more) out << indent << "… and " << more << " more (fieldsync verify --json lists them all)\n";
}

void VerifyTotals::add(const store::ObjectReport& report) {
  ++checked;
  missing += report.missing.size();
  switch (report.verdict()) {
    case store::ObjectReport::Verdict::Valid:
      ++valid;
      break;
    case store::ObjectReport::Verdict::Invalid:
      ++invalid;
      break;
    case store::ObjectReport::Verdict::Untrusted:
      ++untrusted;
      break;
  }
}

// --- Retraction ------------------------------------------------------------------------------

std::optional<store::RetractionNotice> retractedHere(const store::ReadTxn& txn,
                                                     const std::string& text) {
  auto id = protocol::Digest::fromHex(text);
  if (!id || txn.contains(*id)) return std::nullopt;
  return store::retractionOf(txn, store::loadTrust(txn), *id);
}

std::string describeRetraction(const store::RetractionNotice& notice) {
  return forTerminal(store::describeRetraction(notice));
}

nlohmann::json retractionJson(const store::RetractionNotice& notice) {
  return {{"retraction", notice.retraction.hex()},
          {"signer", notice.signer.hex()},
          {"signerName",
           notice.signerName.empty() ? nlohmann::json(nullptr) : nlohmann::json(notice.signerName)},
          {"signedAt", isoTimeJson(notice.signedAt)},
          {"reason", notice.reason}};
}

// --- Annotation ------------------------------------------------------------------------------

void printListNote(std::ostream& out, const std::string& text) {
  constexpr std::size_t INDENT = TRUST_MARK_WIDTH + 1 + 12 + 2;
  out << std::string(INDENT, ' ') << fitColumns(text, 80 - INDENT) << '\n';
}

namespace {

/// "HQ on 2026-12-06T10:00:00Z", ": reason" when there is one.
nlohmann::json correctionJson(const store::Correction& c, bool effect) {
  return {
      {"annotation", c.annotation.hex()},
      {"clipping", c.clipping.hex()},
      {"signer", c.signer.hex()},
      {"signerName", c.signerName.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.signerName)},
      {"signedAt", isoTime(c.signedAt)},
      {"reason", c.reason},
      {"title", c.body.title.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.body.title)},
      {"addTags", c.body.addTags},
      {"removeTags", c.body.removeTags},
      {"duplicateOf",
       c.body.duplicateOf ? nlohmann::json(c.body.duplicateOf->hex()) : nlohmann::json()},
      {"effect", effect}};
}

}  // namespace

nlohmann::json correctionsJson(const store::CorrectedClipping& view) {
  const auto& signedClipping = *view.object.payload.clipping();
  nlohmann::json j{{"original", {{"title", signedClipping.title}, {"tags", signedClipping.tags}}},
                   {"duplicateOf", view.duplicateOf() ? nlohmann::json(view.duplicateOf()->hex())
                                                      : nlohmann::json()}};
  std::vector<std::pair<std::int64_t, nlohmann::json>> all;
  std::set<protocol::ObjectId> seen;
  auto add = [&](const store::Correction& c, bool effect) {
    if (seen.insert(c.annotation).second) all.emplace_back(c.signedAt, correctionJson(c, effect));
  };
  if (view.retitled) add(*view.retitled, true);
  for (const auto& change : view.tagChanges) add(change.by, true);
  if (view.duplicate) add(*view.duplicate, true);
  for (const auto& c : view.withoutEffect) add(c, false);
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  j["corrections"] = nlohmann::json::array();
  for (auto& [at, c] : all) j["corrections"].push_back(std::move(c));
  return j;
}

nlohmann::json listedJson(const store::ListedClipping& listed) {
  protocol::DecodedObject shown = listed.view.object;
  shown.payload.body = listed.view.clipping;
  auto j = objectJson(shown, false);
  j["contentHash"] = listed.view.content.hex();
  j.update(correctionsJson(listed.view));
  j["trust"] = store::trustName(listed.trust);
  j["alsoSignedBy"] = nlohmann::json::array();
  for (const auto& other : listed.alsoSignedBy)
    j["alsoSignedBy"].push_back({{"id", other.id.hex()},
                                 {"signer", other.signer.hex()},
                                 {"signerName", other.name.empty() ? nlohmann::json(nullptr)
                                                                   : nlohmann::json(other.name)}});
  j["duplicates"] = nlohmann::json::array();
  for (const auto& id : listed.duplicates) j["duplicates"].push_back(id.hex());
  return j;
}

}  // namespace fieldsync::cli
