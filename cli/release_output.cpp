#include "cli/release_output.h"

#include <ostream>
#include <variant>

#include "cli/output.h"

namespace fieldsync::cli {
namespace {

std::string plural(std::size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string refs(const std::vector<store::ReleaseRef>& releases) {
  std::string text;
  for (const auto& r : releases)
    text += (text.empty() ? "" : ", ") + r.name + "@" + std::to_string(r.sequence);
  return text;
}

constexpr std::size_t MAX_LISTED = 5;

}  // namespace

std::string membersSummary(const store::ObjectReport& report) {
  if (!report.object) return "";
  const auto& body = report.object->payload.body;
  if (std::holds_alternative<protocol::ReleasePart>(body)) {
    if (report.partOf.empty()) return "an orphan part: no release in this archive lists it (yet)";
    return "part of " + refs(report.partOf);
  }
  if (!std::holds_alternative<protocol::Release>(body)) return "";
  std::string text = plural(report.members, "clipping");
  const std::size_t held = report.members - report.missing.size() - report.retracted.size() -
                           report.invalidMembers.size();
  if (report.untrustedMembers.empty()) {
    if (held > 0)
      text += held == report.members ? ", all trusted"
                                     : ", " + std::to_string(held) + " held, all trusted";
  } else {
    text = std::to_string(report.untrustedMembers.size()) + " of " + text + " untrusted: ";
    for (std::size_t i = 0; i < report.untrustedMembers.size() && i < MAX_LISTED; ++i)
      text += (i ? ", " : "") + shortHex(report.untrustedMembers[i].first.hex()) + " (" +
              report.untrustedMembers[i].second + ")";
    if (report.untrustedMembers.size() > MAX_LISTED) text += ", …";
  }
  if (!report.missing.empty()) text += "; " + std::to_string(report.missing.size()) + " missing";
  if (!report.retracted.empty())
    text += "; " + std::to_string(report.retracted.size()) + " retracted";
  if (!report.invalidMembers.empty())
    text += "; " + std::to_string(report.invalidMembers.size()) + " invalid";
  if (report.parts > 0) text += "; in " + plural(report.parts, "part");
  for (const auto part : report.missingParts)
    text +=
        "; part " + std::to_string(part) + " of " + std::to_string(report.parts) + " not here yet";
  if (report.strangerChain)
    text +=
        "; its signer is not trusted as coordinator here, so it is not part of the chain of "
        "its name";
  return text;
}

void printMembers(std::ostream& out, const store::ObjectReport& report, std::size_t indent) {
  const auto summary = membersSummary(report);
  if (summary.empty()) return;
  out << std::string(indent, ' ') << "members: " << summary << '\n';
}

void addMembersJson(nlohmann::json& j, const store::ObjectReport& from) {
  auto ids = [](const std::vector<protocol::ObjectId>& list) {
    auto array = nlohmann::json::array();
    for (const auto& id : list) array.push_back(id.hex());
    return array;
  };
  auto releases = [](const std::vector<store::ReleaseRef>& list) {
    auto array = nlohmann::json::array();
    for (const auto& r : list)
      array.push_back({{"id", r.id.hex()}, {"name", r.name}, {"sequence", r.sequence}});
    return array;
  };
  auto untrusted = nlohmann::json::array();
  for (const auto& [id, status] : from.untrustedMembers)
    untrusted.push_back({{"id", id.hex()}, {"status", status}});
  j["members"] = from.members;
  j["parts"] = from.parts;
  j["missingParts"] = from.missingParts;
  j["retracted"] = ids(from.retracted);
  j["untrustedMembers"] = untrusted;
  j["strangerChain"] = from.strangerChain;
  j["strangerReleases"] = releases(from.strangerReleases);
  j["partOf"] = releases(from.partOf);
}

std::string signerLabel(const store::ObjectReport& report) {
  if (!report.signerName.empty()) return report.signerName;
  return report.object ? shortHex(report.object->payload.signer.hex()) : "";
}

}  // namespace fieldsync::cli
