#pragma once
// How a release's members and a release part look in `release show`, `release list` and
// `verify`: the lines and JSON that cli/output.h's report printing does not give (what its
// members' signers are trusted for, parts not held yet, which release a part belongs to).

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <string>

#include "store/provenance.h"

namespace fieldsync::cli {

/// The lines `verify` and `release show` add under a report: store::membersSummary, indented,
/// and the first untrusted members; nothing for objects that are neither releases nor parts.
void printMembers(std::ostream& out, const store::ObjectReport& report, std::size_t indent);

/// {"members": N, "parts": N, "missingParts": [3], "retracted": ["<64 hex>"],
///  "untrustedMembers": [{"id", "status"}], "strangerChain": bool, "strangerReleases": [...],
///  "partOf": [{"id", "name", "sequence"}]}: added to a REPORT by `verify --json` and
/// `release show --json` (docs/cli.md).
void addMembersJson(nlohmann::json& report, const store::ObjectReport& from);

}  // namespace fieldsync::cli
