#include "store/provenance.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "protocol/text.h"
#include "store/home.h"
#include "store/stored_object.h"

namespace fieldsync::store {
namespace {

std::string ref(std::string_view name, std::uint64_t sequence) {
  return std::string(name) + "@" + std::to_string(sequence);
}

std::string shortId(const PublicKey& key) { return key.hex().substr(0, 12); }

/// The coordinator check every signing command makes; the refusal names the key's standing.
std::optional<std::string> refuseUnlessCoordinator(const ReadTxn& txn,
                                                   const protocol::SecretKey& key,
                                                   std::int64_t now) {
  auto verdict = loadTrust(txn).evaluate(key.publicKey(), protocol::Role::Coordinator, now);
  if (verdict.trusted()) return std::nullopt;
  return "this node's key is not a coordinator in its own keyring (" +
         std::string(protocol::trustStatusName(verdict.status)) +
         "): start a network with `fieldsync init --coordinator`, or have this key trusted "
         "as coordinator (`fieldsync keys trust KEY --role coordinator`)";
}

Expected<protocol::VerifiedObject, std::string> signBody(const protocol::SecretKey& key,
                                                         protocol::Body body, std::int64_t now) {
  auto object = protocol::sign({key.publicKey(), now, std::move(body)}, key);
  if (!object) return object.error().message();
  return std::move(object).value();
}

std::string shortId(const ObjectId& id) { return id.hex().substr(0, 12); }

/// A stored object that verifies (bytes, id, signature): members and parts as verify checks them.
Expected<protocol::VerifiedObject, std::string> verifiedStored(const ReadTxn& txn,
                                                               const ObjectId& id) {
  auto bytes = txn.get(id);
  if (!bytes) return std::string("not in this archive");
  auto checked = protocol::verify(*bytes);
  if (!checked) return checked.error().message();
  if (checked->id() != id) return std::string("id mismatch");
  return std::move(checked).value();
}

/// The chain of release (in owner's chain): previous links back to sequence 1, each in the
/// same chain, and no fork at or below it.
void checkChain(const ReadTxn& txn, const protocol::TrustGraph& trust, const ChainOwner& owner,
                const protocol::Release& release, std::vector<std::string>& problems) {
  const auto chain = chainReleases(txn, trust, release.name, owner);
  for (std::size_t i = 0; i < chain.size();) {
    std::size_t j = i;
    while (j < chain.size() && chain[j].sequence == chain[i].sequence) ++j;
    if (chain[i].sequence > release.sequence) break;
    if (j - i > 1) {
      std::string ids;
      for (std::size_t k = i; k < j; ++k) ids += (ids.empty() ? "" : ", ") + shortId(chain[k].id);
      problems.push_back("fork at " + ref(release.name, chain[i].sequence) + ": " +
                         std::to_string(j - i) + " different releases (" + ids + ")");
    }
    i = j;
  }
  // Walk the previous links by value: each step decodes the next release afresh.
  std::uint64_t sequence = release.sequence;
  std::optional<ObjectId> previousId = release.previous;
  while (sequence > 1) {
    const std::string expected = ref(release.name, sequence - 1);
    if (!previousId) {
      problems.push_back(ref(release.name, sequence) + " names no previous release");
      return;
    }
    auto previousObject = loadStored(txn, *previousId);
    const protocol::Release* previous = asRelease(previousObject);
    if (!previousObject) {
      problems.push_back("gap: " + expected + " (" + shortId(*previousId) +
                         ") is not in this archive");
      return;
    }
    if (previous == nullptr || previous->name != release.name ||
        previous->sequence + 1 != sequence) {
      problems.push_back("broken chain: " + ref(release.name, sequence) + " names as previous " +
                         shortId(*previousId) + ", which is not " + expected);
      return;
    }
    if (chainOwner(trust, previousObject->payload) != owner) {
      problems.push_back("broken chain: " + ref(release.name, sequence) + " follows " + expected +
                         " " + shortId(*previousId) + " signed by " +
                         shortId(previousObject->payload.signer) +
                         (owner ? ", another key" : ", not trusted as coordinator"));
      return;
    }
    sequence = previous->sequence;
    previousId = previous->previous;
  }
}

}  // namespace

namespace {

std::vector<protocol::CertRecord> loadCertificates(const ReadTxn& txn) {
  std::vector<protocol::CertRecord> certificates;
  for (const ObjectId& id : txn.ofKind(protocol::Kind::KeyCert)) {
    auto object = loadStored(txn, id);
    if (!object) continue;  // `fieldsync verify` reports it
    certificates.push_back({id, object->payload.signer, object->payload.signedAt,
                            std::get<protocol::KeyCert>(object->payload.body)});
  }
  return certificates;
}

std::vector<protocol::RevocationRecord> loadRevocations(const ReadTxn& txn) {
  std::vector<protocol::RevocationRecord> revocations;
  for (const ObjectId& id : txn.ofKind(protocol::Kind::Revocation)) {
    auto object = loadStored(txn, id);
    if (!object) continue;
    revocations.push_back({id, object->payload.signer, object->payload.signedAt,
                           std::get<protocol::Revocation>(object->payload.body)});
  }
  return revocations;
}

}  // namespace

protocol::TrustGraph loadTrust(const ReadTxn& txn) {
  return protocol::TrustGraph(txn.anchors(), loadCertificates(txn), loadRevocations(txn));
}

std::vector<KnownKey> knownKeys(const ReadTxn& txn, const PublicKey& self,
                                const std::string& selfName, std::int64_t at) {
  auto anchors = txn.anchors();
  auto certificates = loadCertificates(txn);
  std::map<PublicKey, KnownKey> known;
  for (const auto& a : anchors) known[a.key].anchor = a;
  for (const auto& c : certificates) known[c.cert.subject].certificates.push_back(c);
  known[self].self = true;

  const protocol::TrustGraph trust(std::move(anchors), std::move(certificates),
                                   loadRevocations(txn));
  std::vector<KnownKey> out;
  for (auto& [key, info] : known) {
    info.key = key;
    // Asked for the field role, which every trusted key holds: the verdict's role then says
    // whether it is also a coordinator.
    info.verdict = trust.evaluate(key, protocol::Role::Field, at);
    info.name = info.verdict.name;
    if (info.name.empty() && info.anchor) info.name = info.anchor->name;
    if (info.name.empty() && !info.certificates.empty())
      info.name = info.certificates.front().cert.name;
    if (info.name.empty() && info.self) info.name = selfName;
    out.push_back(std::move(info));
  }
  std::stable_sort(out.begin(), out.end(), [](const KnownKey& a, const KnownKey& b) {
    return std::make_tuple(!a.anchor, a.name) < std::make_tuple(!b.anchor, b.name);
  });
  return out;
}

protocol::Role requiredRole(protocol::Kind kind) {
  return kind == protocol::Kind::Clipping || kind == protocol::Kind::Retraction ||
                     kind == protocol::Kind::Annotation
             ? protocol::Role::Field
             : protocol::Role::Coordinator;
}

// --- Release chains ---------------------------------------------------------------------------

ChainOwner chainOwner(const protocol::TrustGraph& trust, const protocol::Payload& release) {
  if (trust.evaluate(release.signer, protocol::Role::Coordinator, release.signedAt).trusted())
    return std::nullopt;
  return release.signer;
}

std::vector<ReleaseEntry> chainReleases(const ReadTxn& txn, const protocol::TrustGraph& trust,
                                        std::string_view name, const ChainOwner& owner,
                                        std::optional<std::uint64_t> sequence) {
  auto entries = txn.releases(name, sequence);
  std::erase_if(entries, [&](const ReleaseEntry& entry) {
    auto object = loadStored(txn, entry.id);
    return !object || chainOwner(trust, object->payload) != owner;
  });
  return entries;
}

std::vector<std::pair<ChainOwner, std::vector<ReleaseEntry>>> chainsOf(
    const ReadTxn& txn, const protocol::TrustGraph& trust, std::string_view name) {
  std::map<PublicKey, std::vector<ReleaseEntry>> strangers;
  std::vector<ReleaseEntry> trusted;
  for (auto& entry : txn.releases(name)) {
    auto object = loadStored(txn, entry.id);
    if (!object) continue;  // `fieldsync verify` reports it
    if (auto owner = chainOwner(trust, object->payload)) {
      strangers[*owner].push_back(std::move(entry));
    } else {
      trusted.push_back(std::move(entry));
    }
  }
  std::vector<std::pair<ChainOwner, std::vector<ReleaseEntry>>> out;
  if (!trusted.empty()) out.emplace_back(std::nullopt, std::move(trusted));
  for (auto& [key, entries] : strangers) out.emplace_back(key, std::move(entries));
  return out;
}

// --- Members ------------------------------------------------------------------------------------

ReleaseMembers releaseMembers(const ReadTxn& txn, const protocol::DecodedObject& object) {
  const auto& release = std::get<protocol::Release>(object.payload.body);
  ReleaseMembers out;
  out.parts = release.parts.size();
  if (release.parts.empty()) {
    out.clippings = release.clippings;
    return out;
  }
  for (std::size_t i = 0; i < release.parts.size(); ++i) {
    const auto index = static_cast<std::uint32_t>(i + 1);
    const std::string which = "part " + std::to_string(index) + " of " +
                              std::to_string(release.parts.size()) + " (" +
                              shortId(release.parts[i]) + ")";
    if (!txn.contains(release.parts[i])) {
      out.missingParts.push_back(index);
      continue;
    }
    auto part = verifiedStored(txn, release.parts[i]);
    if (!part) {
      out.problems.push_back(which + " is invalid: " + part.error());
      continue;
    }
    const auto* p = std::get_if<protocol::ReleasePart>(&part->payload().body);
    if (p == nullptr) {
      out.problems.push_back(which + " is a " +
                             std::string(protocol::kindName(part->payload().kind())) +
                             ", not a release part");
    } else if (part->payload().signer != object.payload.signer) {
      out.problems.push_back(which + " is signed by " + shortId(part->payload().signer) +
                             ", not by the release's signer");
    } else if (p->name != release.name || p->sequence != release.sequence) {
      out.problems.push_back(which + " belongs to " + ref(p->name, p->sequence));
    } else if (p->index != index) {
      out.problems.push_back(which + " says it is part " + std::to_string(p->index));
    } else if (!out.clippings.empty() && p->clippings.front() <= out.clippings.back()) {
      out.problems.push_back(which + " lists ids not above those of the parts before it");
    } else {
      out.clippings.insert(out.clippings.end(), p->clippings.begin(), p->clippings.end());
    }
  }
  return out;
}

std::optional<ReleaseMembers> releaseMembers(const ReadTxn& txn, const ObjectId& release) {
  auto object = loadStored(txn, release);
  if (!asRelease(object)) return std::nullopt;
  return releaseMembers(txn, *object);
}

std::vector<ReleaseEntry> releasesOfPart(const ReadTxn& txn, const ObjectId& partId) {
  std::vector<ReleaseEntry> out;
  auto part = loadStored(txn, partId);
  const auto* p = part ? std::get_if<protocol::ReleasePart>(&part->payload.body) : nullptr;
  if (p == nullptr) return out;
  for (auto& entry : txn.releases(p->name, p->sequence)) {
    auto object = loadStored(txn, entry.id);
    const auto* r = asRelease(object);
    if (r != nullptr && object->payload.signer == part->payload.signer &&
        std::find(r->parts.begin(), r->parts.end(), partId) != r->parts.end())
      out.push_back(std::move(entry));
  }
  return out;
}

std::vector<ReleaseEntry> releasesContaining(const ReadTxn& txn, const ObjectId& clipping) {
  // by_member names a release, or a part of one (a release with parts lists its members
  // there): a part is resolved to the releases that list it.
  std::vector<ReleaseEntry> out;
  for (auto& entry : txn.releasesContaining(clipping)) {
    const auto same = txn.releases(entry.name, entry.sequence);
    if (std::any_of(same.begin(), same.end(), [&](const auto& r) { return r.id == entry.id; })) {
      out.push_back(std::move(entry));
    } else {
      for (auto& release : releasesOfPart(txn, entry.id)) out.push_back(std::move(release));
    }
  }
  std::sort(out.begin(), out.end(), [](const ReleaseEntry& a, const ReleaseEntry& b) {
    return std::tie(a.name, a.sequence, a.id) < std::tie(b.name, b.sequence, b.id);
  });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const ReleaseEntry& a, const ReleaseEntry& b) { return a.id == b.id; }),
            out.end());
  return out;
}

std::optional<ObjectId> retractedBy(const ReadTxn& txn, const ObjectId& clipping) {
  if (txn.contains(clipping)) return std::nullopt;  // a tombstone that did not take effect
  auto tombstone = txn.tombstone(clipping);
  if (!tombstone) return std::nullopt;
  return tombstone->retraction;
}

// --- Verification -------------------------------------------------------------------------------

ObjectReport::Verdict ObjectReport::verdict() const {
  if (invalid || !chainProblems.empty() || !invalidMembers.empty()) return Verdict::Invalid;
  if (!trust.trusted()) return Verdict::Untrusted;
  return Verdict::Valid;
}

namespace {

void verifyMembers(const ReadTxn& txn, const protocol::TrustGraph& trust,
                   const protocol::DecodedObject& object, ObjectReport& report) {
  auto members = releaseMembers(txn, object);
  report.parts = members.parts;
  report.missingParts = members.missingParts;
  for (auto& problem : members.problems) report.chainProblems.push_back(std::move(problem));
  report.members = members.clippings.size();
  std::map<std::pair<PublicKey, std::int64_t>, protocol::TrustStatus> judged;
  for (const ObjectId& member : members.clippings) {
    if (!txn.contains(member)) {
      if (retractedBy(txn, member)) {
        report.retracted.push_back(member);
      } else {
        report.missing.push_back(member);
      }
      continue;
    }
    // Decoded and hashed, not signature-checked: the release vouches for the bytes its ids
    // name, and each member's own report (verify --all) checks its signature. This keeps a
    // release of 100,000 clippings from costing 100,000 more signature checks.
    auto bytes = txn.get(member);
    auto checked = protocol::decode(*bytes);
    if (!checked || checked->id != member) {
      report.invalidMembers.emplace_back(member,
                                         !checked ? checked.error().message() : "id mismatch");
      continue;
    }
    const auto& payload = checked->payload;
    if (payload.kind() != protocol::Kind::Clipping) {
      report.invalidMembers.emplace_back(member, "not a clipping");
      continue;
    }
    // Clippings of one import share signer and signedAt: judge each pair once.
    auto [at, fresh] = judged.try_emplace({payload.signer, payload.signedAt});
    if (fresh)
      at->second = trust.evaluate(payload.signer, protocol::Role::Field, payload.signedAt).status;
    if (at->second != protocol::TrustStatus::Trusted)
      report.untrustedMembers.emplace_back(member,
                                           std::string(protocol::trustStatusName(at->second)));
  }
}

}  // namespace

ObjectReport verifyObject(const ReadTxn& txn, const protocol::TrustGraph& trust,
                          const ObjectId& id) {
  ObjectReport report;
  report.id = id;
  auto bytes = txn.get(id);
  if (!bytes) {
    report.invalid = "not in the archive";
    return report;
  }
  auto verified = protocol::verify(*bytes);
  if (!verified || verified->id() != id) {
    report.invalid = !verified ? verified.error().message()
                               : "id mismatch: the stored bytes hash to " + verified->id().hex();
    if (auto decoded = protocol::decode(*bytes)) report.object = std::move(decoded).value();
    return report;
  }
  const auto& payload = verified->payload();
  report.object = protocol::DecodedObject{verified->id(), payload, verified->signature()};
  report.trust = trust.evaluate(payload.signer, requiredRole(payload.kind()), payload.signedAt);
  report.signerName = report.trust.name;
  if (report.signerName.empty() && txn.getMeta(META_NODE_KEY) == payload.signer.hex()) {
    const std::string name = txn.getMeta(META_NODE_NAME).value_or("");
    report.signerName = name.empty() ? "this node" : name + " (this node)";
  }

  if (payload.kind() == protocol::Kind::Clipping) {
    for (const auto& entry : releasesContaining(txn, id)) {
      auto release = loadStored(txn, entry.id);
      if (!release) continue;
      (chainOwner(trust, release->payload) ? report.strangerReleases : report.releases)
          .push_back({entry.id, entry.name, entry.sequence});
    }
  } else if (const auto* release = std::get_if<protocol::Release>(&payload.body)) {
    const auto owner = chainOwner(trust, payload);
    report.strangerChain = owner.has_value();
    checkChain(txn, trust, owner, *release, report.chainProblems);
    verifyMembers(txn, trust, *report.object, report);
  } else if (std::holds_alternative<protocol::ReleasePart>(payload.body)) {
    for (const auto& entry : releasesOfPart(txn, id))
      report.partOf.push_back({entry.id, entry.name, entry.sequence});
  }
  return report;
}

void verifyEveryObject(const Archive& archive, const protocol::TrustGraph& trust,
                       const std::function<void(ObjectReport&&)>& sink, unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<ObjectId> ids;
  {
    auto txn = archive.beginRead();
    ids.reserve(txn.count());
    txn.forEach([&](const ObjectId& id, std::span<const std::uint8_t>) {
      ids.push_back(id);
      return true;
    });
  }
  // Windows keep memory bounded for any archive; each worker reads through its own
  // transaction, since an LMDB transaction serves one thread at a time.
  constexpr std::size_t WINDOW = 4096;
  std::vector<ObjectReport> reports;
  for (std::size_t start = 0; start < ids.size(); start += WINDOW) {
    const std::size_t end = std::min(ids.size(), start + WINDOW);
    reports.assign(end - start, ObjectReport{});
    auto work = [&](unsigned t) {
      auto txn = archive.beginRead();
      for (std::size_t i = start + t; i < end; i += threads)
        reports[i - start] = verifyObject(txn, trust, ids[i]);
    };
    {
      std::vector<std::jthread> workers;
      for (unsigned t = 1; t < threads; ++t) workers.emplace_back(work, t);
      work(0);
    }
    for (auto& report : reports) sink(std::move(report));
  }
}

namespace {

/// "weekly has releases only by keys this node does not trust as coordinator (5a56c0e1d2e4):
/// name one by id" for a name whose trusted chain is empty, else "".
std::string onlyStrangers(const ReadTxn& txn, const protocol::TrustGraph& trust,
                          std::string_view name) {
  std::string keys;
  for (const auto& [owner, entries] : chainsOf(txn, trust, name))
    if (owner) keys += (keys.empty() ? "" : ", ") + shortId(*owner);
  if (keys.empty()) return "";
  return "; releases named " + std::string(name) +
         " exist only by keys this node does not trust as coordinator (" + keys +
         "): name one by its id";
}

}  // namespace

Expected<ObjectId, std::string> resolveRelease(const ReadTxn& txn, std::string_view text) {
  const auto trust = loadTrust(txn);
  auto pick = [&](const std::vector<ReleaseEntry>& entries,
                  const std::string& what) -> Expected<ObjectId, std::string> {
    if (entries.size() == 1) return entries.front().id;
    std::string ids;
    for (const auto& e : entries) ids += " " + shortId(e.id);
    return what + " is forked: " + std::to_string(entries.size()) + " releases claim it:" + ids;
  };
  if (auto at = text.rfind('@'); at != std::string_view::npos) {
    std::uint64_t sequence = 0;
    auto digits = text.substr(at + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), sequence);
    if (ec == std::errc() && end == digits.data() + digits.size() && !digits.empty()) {
      const std::string name(text.substr(0, at));
      auto entries = chainReleases(txn, trust, name, std::nullopt, sequence);
      if (entries.empty())
        return "no release " + ref(name, sequence) + onlyStrangers(txn, trust, name);
      return pick(entries, ref(name, sequence));
    }
  }
  const std::string name(text);
  auto all = chainReleases(txn, trust, name);
  if (!all.empty()) {
    const std::uint64_t latest = all.back().sequence;
    std::vector<ReleaseEntry> heads;
    for (const auto& e : all)
      if (e.sequence == latest) heads.push_back(e);
    return pick(heads, ref(name, latest));
  }
  auto id = txn.resolve(text);
  if (!id) {
    if (auto strangers = onlyStrangers(txn, trust, name); !strangers.empty())
      return "no trusted release named " + name + strangers;
    return "no release named " + name + " (and not an id: " + id.error().message() + ")";
  }
  if (!asRelease(loadStored(txn, id.value()))) return id.value().hex() + " is not a release";
  return id.value();
}

namespace {

/// Why clipping `id` may not be listed by a new release, or empty when it may: "invalid",
/// "retracted", or its signer's trust status for the field role when it signed. The store
/// verified the signature when the clipping arrived; here its bytes must still decode and
/// hash to its id (`fieldsync verify` checks the signature again).
std::optional<std::string> exclusion(const ReadTxn& txn, const protocol::TrustGraph& trust,
                                     const ObjectId& id, std::string& title) {
  auto bytes = txn.get(id);
  if (!bytes) return retractedBy(txn, id) ? "retracted" : "invalid";
  auto object = protocol::decode(*bytes);
  if (!object || object->id != id || !object->payload.clipping()) return "invalid";
  title = object->payload.clipping()->title;
  auto verdict =
      trust.evaluate(object->payload.signer, protocol::Role::Field, object->payload.signedAt);
  if (!verdict.trusted()) return std::string(protocol::trustStatusName(verdict.status));
  return std::nullopt;
}

}  // namespace

Expected<MadeRelease, std::string> makeRelease(const ReadTxn& txn, const protocol::SecretKey& key,
                                               const std::string& name,
                                               const ReleaseSelection& selection,
                                               const std::string& notes, std::int64_t now) {
  if (name.empty() || name.find('@') != std::string::npos ||
      name.size() > protocol::MAX_TAG_BYTES || !protocol::isValidUtf8(name))
    return std::string("a release name is 1 to 128 bytes of text without '@'");
  if (auto refusal = refuseUnlessCoordinator(txn, key, now)) return *refusal;
  const auto trust = loadTrust(txn);

  protocol::Release release{name, 1, std::nullopt, {}, notes};
  auto chain = chainReleases(txn, trust, name);
  if (!chain.empty()) {
    const std::uint64_t latest = chain.back().sequence;
    if (chain.size() > 1 && chain[chain.size() - 2].sequence == latest)
      return ref(name, latest) + " is forked; resolve the fork before releasing again";
    release.sequence = latest + 1;
    release.previous = chain.back().id;
  }

  // Candidates: the given ids, or every clipping (through a tag index when there is a tag).
  std::vector<ObjectId> candidates;
  if (selection.ids) {
    for (const ObjectId& id : *selection.ids) {
      auto object = loadStored(txn, id);
      if (!object || object->payload.kind() != protocol::Kind::Clipping)
        return id.hex() + " is not a clipping in this archive";
      candidates.push_back(id);
    }
  } else {
    ListQuery query;
    query.kind = protocol::Kind::Clipping;
    if (!selection.tags.empty()) query.tag = selection.tags.front();
    candidates = txn.list(query);
  }
  std::set<ObjectId> released;
  if (selection.sinceRelease) {
    auto earlier = chainReleases(txn, trust, *selection.sinceRelease);
    if (earlier.empty())
      return "no trusted release named " + *selection.sinceRelease +
             onlyStrangers(txn, trust, *selection.sinceRelease);
    for (const auto& entry : earlier) {
      auto members = releaseMembers(txn, entry.id);
      if (!members) continue;
      if (!members->missingParts.empty())
        return ref(*selection.sinceRelease, entry.sequence) + ": part " +
               std::to_string(members->missingParts.front()) + " of " +
               std::to_string(members->parts) +
               " is not here yet, so what it lists is not known; sync, then release";
      released.insert(members->clippings.begin(), members->clippings.end());
    }
  }
  std::vector<ObjectId> chosen;
  std::vector<LeftOut> leftOut;
  for (const ObjectId& id : candidates) {
    if (released.contains(id)) continue;
    if (!selection.tags.empty()) {
      auto object = loadStored(txn, id);
      const auto* c = object ? object->payload.clipping() : nullptr;
      if (c == nullptr) continue;
      bool all = std::all_of(selection.tags.begin(), selection.tags.end(), [&](const auto& t) {
        return std::binary_search(c->tags.begin(), c->tags.end(), t);
      });
      if (!all) continue;
    }
    std::string title;
    auto why = exclusion(txn, trust, id, title);
    if (why && (*why == "invalid" || *why == "retracted" || !selection.includeUntrusted)) {
      if (selection.ids)
        return id.hex() + " (\"" + title + "\") may not be released: " +
               (*why == "invalid" || *why == "retracted"
                    ? "it is " + *why
                    : "its signer was not trusted as a field office when it signed (" + *why +
                          "); check it, then release it with --include-untrusted");
      leftOut.push_back({id, std::move(title), *why});
      continue;
    }
    chosen.push_back(id);
  }
  std::sort(chosen.begin(), chosen.end());
  chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
  if (chosen.empty())
    return std::string("no clipping matches") +
           (leftOut.empty() ? ""
                            : " that may be released (" + std::to_string(leftOut.size()) +
                                  " left out as untrusted or invalid)") +
           ": nothing to release";

  std::vector<protocol::VerifiedObject> parts;
  const std::size_t members = chosen.size();
  if (chosen.size() <= protocol::MAX_IDS_PER_OBJECT) {
    release.clippings = std::move(chosen);
  } else {
    const std::size_t count =
        (chosen.size() + protocol::MAX_IDS_PER_OBJECT - 1) / protocol::MAX_IDS_PER_OBJECT;
    if (count > protocol::MAX_RELEASE_PARTS)
      return "a release lists at most " +
             std::to_string(protocol::MAX_RELEASE_PARTS * protocol::MAX_IDS_PER_OBJECT) +
             " clippings; " + std::to_string(chosen.size()) + " were selected";
    for (std::size_t i = 0; i < count; ++i) {
      const auto from =
          chosen.begin() + static_cast<std::ptrdiff_t>(i * protocol::MAX_IDS_PER_OBJECT);
      const auto to = i + 1 == count ? chosen.end() : from + protocol::MAX_IDS_PER_OBJECT;
      auto part =
          signBody(key,
                   protocol::ReleasePart{
                       name, release.sequence, static_cast<std::uint32_t>(i + 1), {from, to}},
                   now);
      if (!part) return "part " + std::to_string(i + 1) + ": " + part.error();
      release.parts.push_back(part->id());
      parts.push_back(std::move(part).value());
    }
  }
  auto head = signBody(key, std::move(release), now);
  if (!head) return head.error();
  return MadeRelease{std::move(head).value(), std::move(parts), members, std::move(leftOut)};
}

Expected<MadeRelease, std::string> publishRelease(Archive& archive, const protocol::SecretKey& key,
                                                  const std::string& name,
                                                  const ReleaseSelection& selection,
                                                  const std::string& notes, std::int64_t now) {
  constexpr int ATTEMPTS = 5;
  for (int attempt = 0; attempt < ATTEMPTS; ++attempt) {
    // The releases of name as makeRelease saw them: under the write lock any other one means
    // the trusted chain may have moved (whether its signer is trusted is judged afresh).
    std::vector<ObjectId> seen;
    auto made = [&] {
      auto txn = archive.beginRead();
      for (const auto& entry : txn.releases(name)) seen.push_back(entry.id);
      return makeRelease(txn, key, name, selection, notes, now);
    }();
    if (!made) return made;
    bool moved = false;
    archive.write([&](WriteTxn& txn) {
      std::vector<ObjectId> current;
      for (const auto& entry : txn.releases(name)) current.push_back(entry.id);
      moved = current != seen;
      if (moved) return;
      for (const auto& part : made->parts) (void)txn.put(part);
      (void)txn.put(made->release);
    });
    if (!moved) return made;
  }
  return "the chain of " + name + " kept changing while releasing; try again";
}

Expected<protocol::VerifiedObject, std::string> makeKeyCert(const ReadTxn& txn,
                                                            const protocol::SecretKey& key,
                                                            protocol::KeyCert cert,
                                                            std::int64_t now) {
  if (auto refusal = refuseUnlessCoordinator(txn, key, now)) return *refusal;
  return signBody(key, std::move(cert), now);
}

Expected<protocol::VerifiedObject, std::string> makeRevocation(const ReadTxn& txn,
                                                               const protocol::SecretKey& key,
                                                               protocol::Revocation revocation,
                                                               std::int64_t now) {
  if (revocation.subject != key.publicKey()) {
    if (auto refusal = refuseUnlessCoordinator(txn, key, now)) return *refusal;
  }
  return signBody(key, std::move(revocation), now);
}

std::string releaseManifest(const ReadTxn& txn, const ObjectId& releaseId) {
  auto object = loadStored(txn, releaseId);
  const auto* release = asRelease(object);
  if (release == nullptr) throw Error(releaseId.hex() + " is not a release in this archive");
  const auto members = releaseMembers(txn, *object);
  if (!members.complete())
    throw Error(ref(release->name, release->sequence) + ": " +
                (members.problems.empty()
                     ? "part " + std::to_string(members.missingParts.front()) + " of " +
                           std::to_string(members.parts) + " is not here yet"
                     : members.problems.front()));
  std::string out = "# fieldsync release " + ref(release->name, release->sequence) + " id " +
                    releaseId.hex() + " signed by " + object->payload.signer.hex() + " at " +
                    protocol::formatUtc(object->payload.signedAt) + ", " +
                    std::to_string(members.clippings.size()) + " clippings\n";
  for (const ObjectId& id : members.clippings) {
    auto clipping = loadStored(txn, id);
    const auto* c = clipping ? clipping->payload.clipping() : nullptr;
    out += id.hex() + " ";
    if (c == nullptr) {
      out += "- (missing)\n";
      continue;
    }
    out += (c->published.empty() ? "-" : c->published) + " " + c->title + "\n";
  }
  return out;
}

}  // namespace fieldsync::store
