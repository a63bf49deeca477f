#pragma once
// Provenance and peer standing in words: the sentences `verify`, `show`, `status` and the web
// reading room give people, written once so they agree.
//
// Every function returns raw text: names, reasons and errors in it come from objects and peers
// and are not yet made safe for any display. The caller makes them safe for where they go:
// cli passes them through forTerminal() (cli/output.h), the web through escapeHtml()
// (node/web_pages.h).
// Threads and lifetime: pure functions of their arguments.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/object.h"
#include "protocol/trust.h"
#include "store/annotation.h"
#include "store/peers.h"
#include "store/provenance.h"
#include "store/retraction.h"

namespace fieldsync::store {

/// The first 12 hex digits, as lists print ids and keys.
std::string shortHex(const std::string& hex);

/// text cut at a character boundary to at most maxBytes, with "…" when cut.
std::string shorten(const std::string& text, std::size_t maxBytes);

/// "valid", "invalid" or "untrusted".
std::string_view verdictName(ObjectReport::Verdict verdict);

/// The trust path: "HQ (coordinator anchor) → certificate 81aa0c3d12ab"; intermediate
/// certificates also name the key they certify. Empty for an empty path.
std::string describePath(const std::vector<protocol::TrustStep>& path);

/// What the object is, in a few words: `clipping "Title"`, `release weekly@3 (12 clippings)`.
std::string describeObject(const protocol::DecodedObject& object);

/// Who signed: "Goma office (field)", or "unknown key <64 hex>": a key nobody vouches for is
/// given whole, so that it can be checked and trusted as written. Precondition: report.object.
std::string describeSigner(const ObjectReport& report);

/// Why the signer is (not) trusted for the object, without the signer's name: "trusted via
/// HQ (coordinator anchor) → certificate 81aa0c3d12ab". Precondition: report.object.
std::string describeTrust(const ObjectReport& report);

/// "weekly@1, weekly@2".
std::string releaseRefs(const std::vector<ReleaseRef>& releases);

/// One sentence on why a report is not valid and trusted ("bad signature: ...", "signer
/// revoked since ..."); empty when it is.
std::string reportProblem(const ObjectReport& report);

/// The verdict `verify` gives, in one sentence, without the verdict word and the id: "signed by
/// Goma office (field) 2013-01-11; trusted via HQ (coordinator anchor) → certificate
/// 81aa0c3d12ab; in release weekly@1", and for a release "; chain intact back to weekly@1".
/// For a report without a decodable object or with invalid bytes: the problem.
std::string reportSentence(const ObjectReport& report);

/// For a release: "14 clippings, all trusted", "2 of 14 untrusted: 3f2a9c01d2e4 (unknown),
/// …", with missing, retracted and invalid members and parts not held counted apart. For a
/// part: "part of weekly@3" or that no release here lists it. Empty for other objects.
std::string membersSummary(const ObjectReport& report);

/// "HQ" or "5a56c0e1d2e4": a release signer as `release list` names it.
std::string signerLabel(const ObjectReport& report);

/// "retracted by HQ on 2026-12-06T10:00:00Z: names a source (retraction 5be0c2d1e3f4)".
std::string describeRetraction(const RetractionNotice& notice);

/// Where this node stands with a peer at `at`: "in step as of TIME", "last synced TIME;
/// failing since TIME: why; next attempt TIME", "in step as of the stick of TIME", a refusal.
std::string describeStanding(const PeerState& state, std::int64_t at);

/// The notes under a listed clipping's line, as `list` and the reading room print them:
/// "also signed by Goma office, key 81aa0c3d12ab" and "duplicates: 7a3c01d2e4f5, ...".
std::vector<std::string> describeFolded(const ListedClipping& listed);

/// What corrects a clipping here, one line each: "retitled by Goma office (field) on TIME
/// (was: OLD): REASON", "tag x added by ...", "duplicate of ID, marked by ...", and the
/// annotations that name it but change nothing here.
std::vector<std::string> describeCorrections(const CorrectedClipping& view);

}  // namespace fieldsync::store
