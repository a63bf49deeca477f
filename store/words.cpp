#include "store/words.h"

#include <variant>

#include "protocol/text.h"

namespace fieldsync::store {
namespace {

using Verdict = ObjectReport::Verdict;

std::string isoTime(std::int64_t unixSeconds) { return protocol::formatUtc(unixSeconds); }

std::string plural(std::size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

std::string shortHex(const std::string& hex) { return hex.substr(0, 12); }

std::string shorten(const std::string& text, std::size_t maxBytes) {
  if (text.size() <= maxBytes) return text;
  std::size_t cut = maxBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "…";
}

std::string_view verdictName(ObjectReport::Verdict verdict) {
  switch (verdict) {
    case Verdict::Valid:
      return "valid";
    case Verdict::Invalid:
      return "invalid";
    case Verdict::Untrusted:
      return "untrusted";
  }
  return "invalid";
}

std::string describePath(const std::vector<protocol::TrustStep>& path) {
  std::string text;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto& step = path[i];
    const std::string role(protocol::roleName(step.role));
    const std::string name = step.name.empty() ? shortHex(step.key.hex()) : step.name;
    if (!step.certificate) {
      text += name + " (" + role + " anchor)";
    } else {
      text += " → certificate " + shortHex(step.certificate->hex());
      // The last step is the key being judged, which the caller has already named.
      if (i + 1 < path.size()) text += " (" + name + ", " + role + ")";
    }
  }
  return text;
}

std::string describeObject(const protocol::DecodedObject& object) {
  const auto& body = object.payload.body;
  if (const auto* c = object.payload.clipping())
    return "clipping \"" + shorten(c->title, 60) + "\"";
  if (const auto* r = std::get_if<protocol::Release>(&body))
    return "release " + r->name + "@" + std::to_string(r->sequence) + " (" +
           plural(r->clippings.size(), "clipping") + ")";
  if (const auto* k = std::get_if<protocol::KeyCert>(&body))
    return "certificate: " + shortHex(k->subject.hex()) + " is \"" + shorten(k->name, 40) + "\" (" +
           std::string(protocol::roleName(k->role)) + ")" +
           (k->validUntil ? " until " + isoTime(k->validUntil) : "");
  if (const auto* v = std::get_if<protocol::Revocation>(&body))
    return "revocation of " + shortHex(v->subject.hex()) + " since " + isoTime(v->since) +
           (v->reason.empty() ? "" : " (\"" + shorten(v->reason, 40) + "\")");
  return std::string(protocol::kindName(object.payload.kind()));
}

std::string describeSigner(const ObjectReport& report) {
  const std::string key = report.object->payload.signer.hex();
  const auto& trust = report.trust;
  if (trust.status == protocol::TrustStatus::Unknown)
    return (report.signerName.empty() ? "" : report.signerName + ", ") + "unknown key " + key;
  std::string text = report.signerName.empty() ? shortHex(key) : report.signerName;
  if (trust.role) text += " (" + std::string(protocol::roleName(*trust.role)) + ")";
  return text;
}

std::string describeTrust(const ObjectReport& report) {
  const auto& trust = report.trust;
  const auto& payload = report.object->payload;
  switch (trust.status) {
    case protocol::TrustStatus::Trusted:
      if (trust.path.size() <= 1)
        return "trusted as " + std::string(trust.role ? protocol::roleName(*trust.role) : "an") +
               " anchor";
      return "trusted via " + describePath(trust.path);
    case protocol::TrustStatus::Revoked: {
      if (!trust.revocation) return "key revoked";
      const auto& r = *trust.revocation;
      std::string whose = r.revocation.subject == payload.signer
                              ? "key"
                              : "certifying key " + r.revocation.subject.hex();
      return whose + " revoked since " + isoTime(r.revocation.since) + " (revocation " +
             shortHex(r.id.hex()) +
             (r.revocation.reason.empty() ? "" : ": \"" + shorten(r.revocation.reason, 60) + "\"") +
             ")";
    }
    case protocol::TrustStatus::WrongRole:
      return "trusted only as " +
             std::string(trust.role ? protocol::roleName(*trust.role) : "another role") + "; a " +
             (payload.kind() == protocol::Kind::KeyCert
                  ? std::string("key certificate")
                  : std::string(protocol::kindName(payload.kind()))) +
             " needs a " + std::string(protocol::roleName(requiredRole(payload.kind())));
    case protocol::TrustStatus::Expired:
      return "its certificate had expired when it signed";
    case protocol::TrustStatus::Unknown:
      return "no trust path from this node's anchors";
  }
  return std::string(protocol::trustStatusName(trust.status));
}

std::string releaseRefs(const std::vector<ReleaseRef>& releases) {
  std::string text;
  for (const auto& r : releases)
    text += (text.empty() ? "" : ", ") + r.name + "@" + std::to_string(r.sequence);
  return text;
}

std::string reportProblem(const ObjectReport& report) {
  if (report.invalid) return *report.invalid;
  if (!report.chainProblems.empty()) {
    std::string text;
    for (const auto& p : report.chainProblems) text += (text.empty() ? "" : "; ") + p;
    return text;
  }
  if (!report.invalidMembers.empty()) {
    const auto& [id, problem] = report.invalidMembers.front();
    std::string text = "listed clipping " + shortHex(id.hex()) + " is invalid: " + problem;
    if (report.invalidMembers.size() > 1)
      text += " (and " + std::to_string(report.invalidMembers.size() - 1) + " more)";
    return text;
  }
  if (report.verdict() == Verdict::Untrusted && report.object)
    return "signer " + describeSigner(report) + ": " + describeTrust(report);
  return "";
}

std::string reportSentence(const ObjectReport& report) {
  if (!report.object || report.invalid) return reportProblem(report);
  const auto& payload = report.object->payload;
  // The exact second matters when a revocation or an expiry is the question.
  const bool exact = report.trust.status == protocol::TrustStatus::Revoked ||
                     report.trust.status == protocol::TrustStatus::Expired;
  const std::string when =
      exact ? isoTime(payload.signedAt) : isoTime(payload.signedAt).substr(0, 10);
  std::string text =
      "signed by " + describeSigner(report) + " " + when + "; " + describeTrust(report);
  if (!report.releases.empty())
    text += std::string("; in release") + (report.releases.size() == 1 ? " " : "s ") +
            releaseRefs(report.releases);
  if (const auto* r = std::get_if<protocol::Release>(&payload.body)) {
    if (report.chainProblems.empty()) text += "; chain intact back to " + r->name + "@1";
    if (!report.missing.empty()) text += "; " + std::to_string(report.missing.size()) + " missing";
  }
  return text;
}

std::string membersSummary(const ObjectReport& report) {
  constexpr std::size_t MAX_LISTED = 5;
  if (!report.object) return "";
  const auto& body = report.object->payload.body;
  if (std::holds_alternative<protocol::ReleasePart>(body)) {
    if (report.partOf.empty()) return "an orphan part: no release in this archive lists it (yet)";
    return "part of " + releaseRefs(report.partOf);
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

std::string signerLabel(const ObjectReport& report) {
  if (!report.signerName.empty()) return report.signerName;
  return report.object ? shortHex(report.object->payload.signer.hex()) : "";
}

std::string describeRetraction(const RetractionNotice& notice) {
  const std::string by =
      notice.signerName.empty() ? "key " + notice.signer.hex() : notice.signerName;
  return "retracted by " + by + " on " + isoTime(notice.signedAt) + ": " + notice.reason +
         " (retraction " + shortHex(notice.retraction.hex()) + ")";
}

std::string describeStanding(const PeerState& s, std::int64_t at) {
  std::string text;
  if (s.refusedAt(at)) text = describeRefusal(s) + "; ";
  const std::string stick = "in step as of the stick of " + isoTime(s.stickAt);
  if (s.neverSynced() && s.lastError.empty())
    return text + (s.stickAt != 0 ? stick : "never synced");
  if (s.stickAt != 0) text += stick + "; ";
  if (s.inStepAt != 0 && s.inStepAt >= s.lastSuccess) {
    text += "in step as of " + isoTime(s.inStepAt);
  } else if (s.lastSuccess != 0) {
    text += "last synced " + isoTime(s.lastSuccess);
  } else {
    text += "never synced";
  }
  if (s.lastErrorAt > s.lastSuccess)
    text += "; failing since " + isoTime(s.lastErrorAt) + ": " + s.lastError;
  if (s.nextAttempt != 0) text += "; next attempt " + isoTime(s.nextAttempt);
  return text;
}

namespace {

std::string byWhom(const Correction& c) {
  const std::string who = c.signerName.empty() ? "key " + shortHex(c.signer.hex()) : c.signerName;
  return who + " on " + isoTime(c.signedAt);
}

std::string because(const Correction& c) { return c.reason.empty() ? "" : ": " + c.reason; }

}  // namespace

std::vector<std::string> describeFolded(const ListedClipping& listed) {
  std::vector<std::string> lines;
  if (!listed.alsoSignedBy.empty()) {
    std::string names;
    for (const auto& other : listed.alsoSignedBy)
      names += (names.empty() ? "" : ", ") +
               (other.name.empty() ? "key " + shortHex(other.signer.hex()) : other.name);
    lines.push_back("also signed by " + names);
  }
  if (!listed.duplicates.empty()) {
    std::string ids;
    for (const auto& id : listed.duplicates) ids += (ids.empty() ? "" : ", ") + shortHex(id.hex());
    lines.push_back("duplicates: " + ids);
  }
  return lines;
}

std::vector<std::string> describeCorrections(const CorrectedClipping& view) {
  std::vector<std::string> lines;
  if (view.retitled)
    lines.push_back("retitled by " + byWhom(*view.retitled) + " (was: " +
                    view.object.payload.clipping()->title + ")" + because(*view.retitled));
  for (const auto& change : view.tagChanges)
    lines.push_back("tag " + change.tag + (change.added ? " added by " : " removed by ") +
                    byWhom(change.by) + because(change.by));
  if (view.duplicateOf())
    lines.push_back("duplicate of " + view.duplicateOf()->hex() + ", marked by " +
                    byWhom(*view.duplicate) + because(*view.duplicate));
  else if (view.duplicate)
    lines.push_back("not a duplicate: the mark was withdrawn by " + byWhom(*view.duplicate) +
                    because(*view.duplicate));
  for (const auto& c : view.withoutEffect)
    lines.push_back("annotation " + shortHex(c.annotation.hex()) + " by " + byWhom(c) +
                    " has no effect here (its signer neither signed the clipping nor is trusted "
                    "here)");
  return lines;
}

}  // namespace fieldsync::store
