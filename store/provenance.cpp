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

std::string ref(const std::string& name, std::uint64_t sequence) {
  return name + "@" + std::to_string(sequence);
}

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

/// The chain of release: previous links back to sequence 1, and no fork at or below it.
void checkChain(const ReadTxn& txn, const protocol::Release& release,
                std::vector<std::string>& problems) {
  for (const auto& entry : txn.releases(release.name)) {
    if (entry.sequence > release.sequence) break;
    auto same = txn.releases(release.name, entry.sequence);
    if (same.size() > 1 && same.front().id == entry.id) {
      std::string ids;
      for (const auto& s : same) ids += (ids.empty() ? "" : ", ") + s.id.hex().substr(0, 12);
      problems.push_back("fork at " + ref(release.name, entry.sequence) + ": " +
                         std::to_string(same.size()) + " different releases (" + ids + ")");
    }
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
      problems.push_back("gap: " + expected + " (" + previousId->hex().substr(0, 12) +
                         ") is not in this archive");
      return;
    }
    if (previous == nullptr || previous->name != release.name ||
        previous->sequence + 1 != sequence) {
      problems.push_back("broken chain: " + ref(release.name, sequence) + " names as previous " +
                         previousId->hex().substr(0, 12) + ", which is not " + expected);
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
  return kind == protocol::Kind::Clipping || kind == protocol::Kind::Retraction
             ? protocol::Role::Field
             : protocol::Role::Coordinator;
}

ObjectReport::Verdict ObjectReport::verdict() const {
  if (invalid || !chainProblems.empty() || !invalidMembers.empty()) return Verdict::Invalid;
  if (!trust.trusted()) return Verdict::Untrusted;
  return Verdict::Valid;
}

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
    for (const auto& entry : txn.releasesContaining(id))
      report.releases.push_back({entry.id, entry.name, entry.sequence});
  } else if (const auto* release = std::get_if<protocol::Release>(&payload.body)) {
    checkChain(txn, *release, report.chainProblems);
    for (const ObjectId& member : release->clippings) {
      auto memberBytes = txn.get(member);
      if (!memberBytes) {
        report.missing.push_back(member);
        continue;
      }
      auto checked = protocol::verify(*memberBytes);
      if (!checked) {
        report.invalidMembers.emplace_back(member, checked.error().message());
      } else if (checked->id() != member) {
        report.invalidMembers.emplace_back(member, "id mismatch");
      } else if (checked->payload().kind() != protocol::Kind::Clipping) {
        report.invalidMembers.emplace_back(member, "not a clipping");
      }
    }
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

Expected<ObjectId, std::string> resolveRelease(const ReadTxn& txn, std::string_view text) {
  auto pick = [&](const std::vector<ReleaseEntry>& entries,
                  const std::string& what) -> Expected<ObjectId, std::string> {
    if (entries.size() == 1) return entries.front().id;
    std::string ids;
    for (const auto& e : entries) ids += " " + e.id.hex().substr(0, 12);
    return what + " is forked: " + std::to_string(entries.size()) + " releases claim it:" + ids;
  };
  if (auto at = text.rfind('@'); at != std::string_view::npos) {
    std::uint64_t sequence = 0;
    auto digits = text.substr(at + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), sequence);
    if (ec == std::errc() && end == digits.data() + digits.size() && !digits.empty()) {
      const std::string name(text.substr(0, at));
      auto entries = txn.releases(name, sequence);
      if (entries.empty()) return "no release " + ref(name, sequence);
      return pick(entries, ref(name, sequence));
    }
  }
  const std::string name(text);
  auto all = txn.releases(name);
  if (!all.empty()) {
    const std::uint64_t latest = all.back().sequence;
    return pick(txn.releases(name, latest), ref(name, latest));
  }
  auto id = txn.resolve(text);
  if (!id) return "no release named " + name + " (and not an id: " + id.error().message() + ")";
  if (!asRelease(loadStored(txn, id.value()))) return id.value().hex() + " is not a release";
  return id.value();
}

Expected<protocol::VerifiedObject, std::string> makeRelease(
    const ReadTxn& txn, const protocol::SecretKey& key, const std::string& name,
    const ReleaseSelection& selection, const std::string& notes, std::int64_t now) {
  if (name.empty() || name.find('@') != std::string::npos ||
      name.size() > protocol::MAX_TAG_BYTES || !protocol::isValidUtf8(name))
    return std::string("a release name is 1 to 128 bytes of text without '@'");
  if (auto refusal = refuseUnlessCoordinator(txn, key, now)) return *refusal;

  protocol::Release release{name, 1, std::nullopt, {}, notes};
  auto chain = txn.releases(name);
  if (!chain.empty()) {
    const std::uint64_t latest = chain.back().sequence;
    auto heads = txn.releases(name, latest);
    if (heads.size() > 1)
      return ref(name, latest) + " is forked; resolve the fork before releasing again";
    release.sequence = latest + 1;
    release.previous = heads.front().id;
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
    auto earlier = txn.releases(*selection.sinceRelease);
    if (earlier.empty()) return "no release named " + *selection.sinceRelease;
    for (const auto& entry : earlier) {
      auto object = loadStored(txn, entry.id);
      if (const auto* r = asRelease(object))
        released.insert(r->clippings.begin(), r->clippings.end());
    }
  }
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
    release.clippings.push_back(id);
  }
  std::sort(release.clippings.begin(), release.clippings.end());
  release.clippings.erase(std::unique(release.clippings.begin(), release.clippings.end()),
                          release.clippings.end());
  if (release.clippings.empty()) return std::string("no clipping matches: nothing to release");
  return signBody(key, std::move(release), now);
}

Expected<protocol::VerifiedObject, std::string> publishRelease(
    Archive& archive, const protocol::SecretKey& key, const std::string& name,
    const ReleaseSelection& selection, const std::string& notes, std::int64_t now) {
  constexpr int ATTEMPTS = 5;
  for (int attempt = 0; attempt < ATTEMPTS; ++attempt) {
    auto made = [&] {
      auto txn = archive.beginRead();
      return makeRelease(txn, key, name, selection, notes, now);
    }();
    if (!made) return made;
    const auto& release = std::get<protocol::Release>(made->payload().body);
    bool headMoved = false;
    archive.write([&](WriteTxn& txn) {
      auto chain = txn.releases(name);
      std::uint64_t headSequence = 0;
      std::optional<ObjectId> head;
      if (!chain.empty()) {
        headSequence = chain.back().sequence;
        auto heads = txn.releases(name, headSequence);
        if (heads.size() == 1) head = heads.front().id;
      }
      headMoved = release.sequence != headSequence + 1 || release.previous != head;
      if (!headMoved) (void)txn.put(made.value());
    });
    if (!headMoved) return made;
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
  std::string out = "# fieldsync release " + ref(release->name, release->sequence) + " id " +
                    releaseId.hex() + " signed by " + object->payload.signer.hex() + " at " +
                    protocol::formatUtc(object->payload.signedAt) + ", " +
                    std::to_string(release->clippings.size()) + " clippings\n";
  for (const ObjectId& id : release->clippings) {
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
