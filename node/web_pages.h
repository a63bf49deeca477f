#pragma once
// The reading room's pages (`fieldsync web`): plain server-side HTML and one small stylesheet,
// no scripts, no third-party resources, readable with JavaScript off on an old phone.
//
// Each render function is pure: from the values below (gathered from the archive by
// node/web_model.h) to a complete HTML document. Every piece of text that came from an object
// or a peer (titles, bodies, names, reasons) goes through escapeHtml() and nothing else, so a
// clipping titled `<script>` or `<img onerror=...>` shows as those characters.
// Threads and lifetime: pure functions of their arguments.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/clipping.h"
#include "protocol/object.h"
#include "store/provenance.h"
#include "store/retraction.h"
#include "store/verdict.h"

namespace fieldsync::node::web {

/// text as HTML character data or a quoted attribute value: & < > " ' as entities; C0 and C1
/// controls (but newline and tab), DEL, the bidirectional embeddings, overrides and isolates
/// and bytes that are not UTF-8 as U+FFFD, so no text can act on the page or reorder it.
std::string escapeHtml(std::string_view text);

/// text percent-encoded for a query string value or a path segment (RFC 3986 unreserved kept).
std::string encodeUrl(std::string_view text);

/// The stylesheet served at /style.css (the only stylesheet; the CSP allows 'self').
std::string_view styleSheet();

/// The filters of the front page and of its printable view, as the query string carries them.
struct Filters {
  std::string q;             // full-text words (store::ReadTxn::search)
  std::string tag;           // a tag, "region:mali" style
  std::string source;        // the clipping's source, exact
  std::string from;          // published on or after (ISO date, any precision)
  std::string until;         // published on or before
  std::size_t page = 1;      // from 1
  std::size_t perPage = 50;  // at most MAX_PER_PAGE
  bool any() const {
    return !q.empty() || !tag.empty() || !source.empty() || !from.empty() || !until.empty();
  }
  /// "q=...&tag=..." with the given page (empty values and page 1 left out).
  std::string query(std::size_t withPage) const;
};

/// A clipping as a row of a list.
struct ClippingRow {
  protocol::ObjectId id;
  std::string title;
  std::string source;
  std::string published;
  std::vector<std::string> tags;
  store::ClippingTrust trust = store::ClippingTrust::Invalid;
  /// Under the row, as `list` prints them: "corrected", "also signed by Goma office",
  /// "duplicates: 7a3c01d2e4f5". Raw text.
  std::vector<std::string> notes;
};

struct ListView {
  std::string nodeName;
  Filters filters;
  std::vector<ClippingRow> rows;
  bool hasNext = false;
  std::string problem;  // a filter that was refused (the page then lists nothing)
};
std::string renderList(const ListView& view);

/// One clipping in full with its provenance.
struct ClippingView {
  protocol::ObjectId id;
  protocol::Clipping clipping;
  std::int64_t signedAt = 0;
  store::ClippingTrust trust = store::ClippingTrust::Invalid;  // as `show` judges it
  std::string verdict;                      // "valid", "invalid", "untrusted" (store::verdictName)
  std::string sentence;                     // store::reportSentence: signer, trust path, releases
  std::string signer;                       // store::describeSigner
  std::string signerKey;                    // 64 hex
  std::string trustPath;                    // store::describePath, empty for none
  std::vector<store::ReleaseRef> releases;  // trusted chains that list it
  /// What corrects it here (store::describeCorrections), and the other offices that signed
  /// the same content; title and tags above are the corrected ones. Raw text.
  std::vector<std::string> corrections;
};
std::string renderClipping(const std::string& nodeName, const ClippingView& view);

/// A clipping that is no longer here because a retraction in effect here took it.
std::string renderRetracted(const std::string& nodeName, const protocol::ObjectId& id,
                            const store::RetractionNotice& notice);

/// A release as a row.
struct ReleaseRow {
  protocol::ObjectId id;
  std::string name;
  std::uint64_t sequence = 0;
  std::int64_t signedAt = 0;
  std::string signer;   // store::signerLabel
  std::string verdict;  // store::verdictName
  std::size_t members = 0;
  bool stranger = false;  // its signer is not trusted as coordinator: not the trusted chain
  bool current = false;   // the release a page is about
};

struct ReleasesView {
  std::string nodeName;
  std::vector<ReleaseRow> rows;  // by name, then chain, then sequence
};
std::string renderReleases(const ReleasesView& view);

struct ReleaseView {
  std::string nodeName;
  ReleaseRow release;
  std::string notes;
  std::string sentence;           // store::reportSentence
  std::string problem;            // store::reportProblem, empty when valid and trusted
  std::string members;            // store::membersSummary
  std::string signerKey;          // 64 hex
  std::vector<ReleaseRow> chain;  // the releases of its chain, by sequence
  std::vector<ClippingRow> clippings;
  std::size_t missing = 0;  // listed clippings not held here
};
std::string renderRelease(const ReleaseView& view);

struct PeerRow {
  std::string name;
  std::string address;                   // empty: stick only
  std::string key;                       // 64 hex
  std::string standing;                  // store::describeStanding
  std::optional<std::uint64_t> waiting;  // objects stored here since it was last in step
};

struct StatusView {
  std::string nodeName;
  std::string key;
  std::uint64_t objects = 0, clippings = 0, releases = 0;
  std::int64_t now = 0;
  std::string paused;  // "until ...", empty when not paused
  std::vector<PeerRow> peers;
};
std::string renderStatus(const StatusView& view);

/// A printable document: the full text of every clipping, one after another, each with its
/// provenance line, for a browser to print to PDF.
struct PrintView {
  std::string nodeName;
  std::string title;     // "Release weekly@3", "Search: displaced urgent"
  std::string subtitle;  // the release's sentence, or the filters
  std::vector<ClippingView> clippings;
  bool truncated = false;  // more matched than a printable view holds
};
std::string renderPrint(const PrintView& view);

/// A page for a refusal or an absence: 400, 404, 405.
std::string renderError(const std::string& nodeName, int status, const std::string& message);

}  // namespace fieldsync::node::web
