#pragma once
// How objects and their provenance look to people and to scripts. JSON field names are the
// schema's and are documented in docs/cli.md.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>

#include "protocol/object.h"
#include "protocol/trust.h"
#include "store/provenance.h"

namespace fieldsync::cli {

/// "2013-01-11T00:00:00Z".
std::string isoTime(std::int64_t unixSeconds);

/// The first 12 hex digits, as lists print ids and keys.
std::string shortHex(const std::string& hex);

/// id, kind, signer, signedAt and the body's fields; the clipping body text only withBody.
nlohmann::json objectJson(const protocol::DecodedObject& object, bool withBody);

/// One line per object for lists: short id, published date, title, source.
void printListLine(std::ostream& out, const protocol::DecodedObject& object);

/// Every field, then the body: for `show`.
void printObject(std::ostream& out, const protocol::DecodedObject& object);

// --- Provenance ------------------------------------------------------------------------------

/// "valid", "invalid" or "untrusted".
std::string_view verdictName(store::ObjectReport::Verdict verdict);

/// The trust path for people: "HQ (coordinator anchor) → certificate 81aa0c3d12ab"; intermediate
/// certificates also name the key they certify. Empty for an empty path.
std::string describePath(const std::vector<protocol::TrustStep>& path);

/// {"key", "name", "role" (held role or null), "status", "path": [{key, name, role,
/// certificate (id or null)}]}: the signer part of `verify --json` and the keys of `keys list`.
nlohmann::json trustJson(const protocol::PublicKey& key, const std::string& name,
                         const protocol::TrustVerdict& verdict);

/// {"id", "signer", "signedAt", "since", "reason"}, or null.
nlohmann::json revocationJson(const std::optional<protocol::RevocationRecord>& revocation);

/// One sentence on why a report is not valid and trusted ("bad signature: ...", "signer
/// revoked since ..."); empty when it is.
std::string reportProblem(const store::ObjectReport& report);

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

}  // namespace fieldsync::cli
