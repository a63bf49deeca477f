#include "cli/release_output.h"

#include <ostream>
#include <variant>

#include "cli/output.h"
#include "store/words.h"

namespace fieldsync::cli {
void printMembers(std::ostream& out, const store::ObjectReport& report, std::size_t indent) {
  const auto summary = forTerminal(store::membersSummary(report));
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

}  // namespace fieldsync::cli
