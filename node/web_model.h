#pragma once
// What the reading room's pages show, gathered from the archive: the bridge between the store
// (query, full-text search, verdicts, provenance, peer state) and node/web_pages.h, which
// renders these values. Nothing here writes to the archive.
//
// Bounds are part of the interface: a query of at most MAX_QUERY_BYTES and MAX_TERMS words,
// pages of at most MAX_PER_PAGE rows, at most MAX_PAGE pages deep, printable views of at most
// MAX_PRINT clippings; outside them the request is refused with a sentence saying why.
// Threads: every function takes a ReadTxn begun on the calling thread.
// Errors: refused input and absence are values; LMDB failures throw Error.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "node/web_pages.h"
#include "protocol/error.h"
#include "store/archive.h"

namespace fieldsync::node::web {

inline constexpr std::size_t MAX_QUERY_BYTES = 200;  // each parameter's value
inline constexpr std::size_t MAX_TERMS = 16;
inline constexpr std::size_t MAX_PARAMS = 16;
inline constexpr std::size_t MAX_PER_PAGE = 200;
inline constexpr std::size_t DEFAULT_PER_PAGE = 50;
inline constexpr std::size_t MAX_PAGE = 1000;
inline constexpr std::size_t MAX_PRINT = 500;
inline constexpr std::size_t MAX_RELEASE_ROWS = 1000;  // clippings listed on a release's page

/// Why a request gets no page: the HTTP status (400 refused input, 404 nothing by that name,
/// 409 not here complete yet) and one sentence for people.
struct Refusal {
  int status = 400;
  std::string message;
};

/// The filters a query string names (q, tag, source, from, until, page, n), checked against
/// the bounds above; a Refusal (400) otherwise.
Expected<Filters, Refusal> parseFilters(const std::multimap<std::string, std::string>& params);

/// This node, as the pages name it.
struct NodeInfo {
  std::string name;
  std::string key;  // 64 hex
};

/// The front page: clippings matching filters, newest first, one page of them.
ListView listView(const store::ReadTxn& txn, const NodeInfo& node, const Filters& filters);

/// One clipping in full; empty when text names no stored clipping (a retraction notice, when
/// one took it, through retractedView).
std::optional<ClippingView> clippingView(const store::ReadTxn& txn,
                                         const protocol::TrustGraph& graph, std::string_view text);
std::optional<store::RetractionNotice> retractedView(const store::ReadTxn& txn,
                                                     const protocol::TrustGraph& graph,
                                                     std::string_view text);

ReleasesView releasesView(const store::ReadTxn& txn, const NodeInfo& node);

/// The release "NAME", "NAME@SEQ" or an id names; a Refusal (404) otherwise.
Expected<ReleaseView, Refusal> releaseView(const store::ReadTxn& txn, const NodeInfo& node,
                                           std::string_view text);

StatusView statusView(const store::ReadTxn& txn, const NodeInfo& node, std::int64_t now);

/// The printable view of the clippings filters match (from their first page, at most
/// MAX_PRINT), or of a release's clippings.
PrintView printSearch(const store::ReadTxn& txn, const NodeInfo& node, const Filters& filters);
Expected<PrintView, Refusal> printRelease(const store::ReadTxn& txn, const NodeInfo& node,
                                          std::string_view text);

/// The release's manifest (store::releaseManifest) and its signer's minisign public key file.
Expected<std::string, Refusal> releaseManifestText(const store::ReadTxn& txn,
                                                   std::string_view text);
Expected<std::string, Refusal> releaseSignerKey(const store::ReadTxn& txn, std::string_view text);

}  // namespace fieldsync::node::web
