#pragma once
// How objects and their provenance look to people and to scripts. JSON field names are the
// schema's and are documented in docs/cli.md.
//
// Text for people goes through forTerminal(): whatever came from a clipping, a certificate,
// a revocation, a bundle or a peer may hold control characters that would move the cursor,
// rewrite a line or reorder it on the reader's terminal. The print functions here apply it
// to every such field; a command that prints such text itself must too. JSON needs nothing:
// nlohmann::json escapes control characters (\u001b).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>

#include "protocol/object.h"
#include "protocol/text.h"
#include "protocol/trust.h"
#include "store/annotation.h"
#include "store/provenance.h"
#include "store/retraction.h"
#include "store/verdict.h"
#include "store/words.h"

namespace fieldsync::cli {

/// "2013-01-11T00:00:00Z"; "unix time N (...)" outside the years 0-9999 (protocol::formatUtc).
std::string isoTime(std::int64_t unixSeconds);
/// For JSON: always an ISO 8601 UTC string, or null when the time is outside the years
/// 0-9999 (a signer may claim any time).
nlohmann::json isoTimeJson(std::int64_t unixSeconds);

/// The first 12 hex digits, as lists print ids and keys.
using store::shortHex;

/// The one output path for people (protocol/text.h): every text from a clipping, a
/// certificate, a bundle or a peer reaches the terminal through it, as it reaches the node's
/// log (node/log.h).
using protocol::forTerminal;
using Lines = protocol::TerminalLines;

/// id, kind, signer, signedAt and the body's fields; the clipping body text only withBody.
nlohmann::json objectJson(const protocol::DecodedObject& object, bool withBody);

/// One line per object for lists: short id, published date, title, source.
void printListLine(std::ostream& out, const protocol::DecodedObject& object);

/// The word that marks a clipping people should not take at its word, as `list`, `search` and
/// `show` print it: "" when trusted, else UNTRUSTED (unknown signer), REVOKED, WRONG-ROLE,
/// EXPIRED, INVALID or RETRACTED. At most TRUST_MARK_WIDTH characters.
inline constexpr std::size_t TRUST_MARK_WIDTH = 10;
std::string_view trustMark(store::ClippingTrust trust);

/// A line for `list` and `search`: a column of TRUST_MARK_WIDTH + 1 holding trustMark(trust),
/// then short id, published date, title and source, all within 80 columns (a long title is
/// cut first, down to what leaves the source 12 columns). The mark comes before anything the
/// clipping says, so no title can push it off the line; and no line wraps on an 80-column
/// terminal, so no title can start a row of its own that looks unmarked.
void printListLine(std::ostream& out, const protocol::DecodedObject& object,
                   store::ClippingTrust trust);

/// What `show` adds to an object's fields: its verdict (a "trust:" line before anything the
/// object says), its signer named ("Goma office, key <64 hex>" or "unknown key <64 hex>", in
/// place of the bare key), and the verdict `verify` gives it (printReport's text, without the
/// id), before the body.
struct Provenance {
  store::ClippingTrust trust = store::ClippingTrust::Invalid;
  std::string signer;
  std::string verify;
};

/// Every field, then the body: for `show` (with provenance) and `release show`.
void printObject(std::ostream& out, const protocol::DecodedObject& object,
                 const Provenance* provenance = nullptr);

// --- Provenance ------------------------------------------------------------------------------

/// The trust path for people (store::describePath made safe for a terminal): "HQ (coordinator
/// anchor) → certificate 81aa0c3d12ab"; intermediate certificates also name the key they certify.
/// Empty for an empty path.
std::string describePath(const std::vector<protocol::TrustStep>& path);

/// {"key", "name", "role" (held role or null), "status", "path": [{key, name, role,
/// certificate (id or null)}]}: the signer part of `verify --json` and the keys of `keys list`.
nlohmann::json trustJson(const protocol::PublicKey& key, const std::string& name,
                         const protocol::TrustVerdict& verdict);

/// {"id", "signer", "signedAt", "since", "reason"}, or null.
nlohmann::json revocationJson(const std::optional<protocol::RevocationRecord>& revocation);

/// Counts of verify reports by verdict, for `verify` and `bundle verify`.
struct VerifyTotals {
  std::size_t checked = 0, valid = 0, invalid = 0, untrusted = 0;
  std::size_t missing = 0;  // clippings that releases list and this archive or bundle lacks
  void add(const store::ObjectReport& report);
};

/// A report as `verify --json` prints each object (docs/cli.md).
nlohmann::json reportJson(const store::ObjectReport& report);

/// A report as `verify` prints it: one line a field officer reads at a glance (verdict, short
/// id, what the object is, who signed it and when, how that key is trusted), then for a
/// release one indented line per chain problem, missing or invalid clipping. Not listLine:
/// without the id and the object's description, for `show`-style output that has them.
void printReport(std::ostream& out, const store::ObjectReport& report, bool listLine = true);

// --- Retraction ------------------------------------------------------------------------------

/// The retraction that took the clipping `text` names here, when text is a full 64-hex id of a
/// clipping this archive no longer holds because a retraction in effect here took it.
std::optional<store::RetractionNotice> retractedHere(const store::ReadTxn& txn,
                                                     const std::string& text);

/// store::describeRetraction made safe for a terminal.
std::string describeRetraction(const store::RetractionNotice& notice);

/// {"retraction", "signer", "signerName" (or null), "signedAt", "reason"}.
nlohmann::json retractionJson(const store::RetractionNotice& notice);

// --- Annotation ------------------------------------------------------------------------------

/// A line under a list line, indented past the mark and id columns, cut to 80 columns: what
/// was folded under the clipping ("also signed by ...", "duplicates: ..."). text is made safe
/// by the caller.
void printListNote(std::ostream& out, const std::string& text);

/// {"original": {"title", "tags"}, "duplicateOf" (id or null), "corrections": [{"annotation",
/// "signer", "signerName", "signedAt", "reason", "title", "addTags", "removeTags",
/// "duplicateOf", "effect"}]}: what --json adds to a clipping (docs/cli.md).
nlohmann::json correctionsJson(const store::CorrectedClipping& view);

/// A clipping as list and search print it in JSON: objectJson of the corrected view (title and
/// tags corrected; contentHash the signed one's), correctionsJson, "trust", "alsoSignedBy":
/// [{"id", "signer", "signerName"}] and "duplicates": [ids].
nlohmann::json listedJson(const store::ListedClipping& listed);

}  // namespace fieldsync::cli
