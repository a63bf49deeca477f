#include "store/bundle.h"

#include <stdlib.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "store/committer.h"
#include "store/parallel.h"
#include "store/stored_object.h"

namespace fieldsync::store {
namespace {

struct Selected {
  std::vector<ObjectId> ids;  // bundle order
  ExportSummary counts;
};

/// The release `id` and every release before it in its chain (through `previous`, while each
/// is present and one sequence lower), by calling fn on each.
void walkChain(const ReadTxn& txn, ObjectId id,
               const std::function<void(const ObjectId&, const protocol::Release&)>& fn) {
  std::optional<std::uint64_t> sequence;
  for (;;) {
    auto object = loadStored(txn, id);
    const auto* release = asRelease(object);
    if (release == nullptr || (sequence && release->sequence + 1 != *sequence)) return;
    fn(id, *release);
    if (release->sequence <= 1 || !release->previous) return;
    sequence = release->sequence;
    id = *release->previous;
  }
}

/// What a peer is known to hold (BundleSelection::forPeer): what this archive held at its last
/// in-step session, and what its latest recorded stick lists.
class KnownHeld {
 public:
  KnownHeld(const ReadTxn& txn, const PeerRecord& peer) : m_holdings(peerHoldings(txn, peer.key)) {
    if (peer.state.inStepAt == 0) return;
    m_inStep = true;
    for (const auto& entry : txn.since(peer.state.inStepSeq)) m_arrivedAfter.insert(entry.id);
  }
  bool operator()(const ObjectId& id) const {
    return (m_inStep && !m_arrivedAfter.contains(id)) || (m_holdings && m_holdings->holds(id));
  }

 private:
  std::optional<protocol::Holdings> m_holdings;
  bool m_inStep = false;
  std::set<ObjectId> m_arrivedAfter;
};

Expected<Selected, std::string> select(const ReadTxn& txn, const BundleSelection& selection) {
  const bool everything = !selection.sinceRelease && selection.tags.empty() &&
                          !selection.afterSeq && !selection.forPeer;
  std::optional<KnownHeld> known;
  if (selection.forPeer) {
    const auto peer = findPeer(txn, *selection.forPeer);
    if (!peer) return "there is no peer named \"" + *selection.forPeer + "\"";
    known.emplace(txn, *peer);
  }
  std::uint64_t leftOut = 0;
  // Drops what the peer is known to hold from ids, counting it.
  auto dropKnown = [&](std::vector<ObjectId>& ids) {
    if (!known) return;
    const auto before = ids.size();
    std::erase_if(ids, [&](const ObjectId& id) { return (*known)(id); });
    leftOut += before - ids.size();
  };
  // ofKind gives newest first; a bundle carries them oldest first.
  auto oldestFirst = [&](protocol::Kind kind) {
    auto ids = txn.ofKind(kind);
    std::reverse(ids.begin(), ids.end());
    return ids;
  };
  auto keyCerts = oldestFirst(protocol::Kind::KeyCert);
  auto revocations = oldestFirst(protocol::Kind::Revocation);
  auto retractions = oldestFirst(protocol::Kind::Retraction);
  auto annotations = oldestFirst(protocol::Kind::Annotation);  // small; always along, as trust
  const auto releases = oldestFirst(protocol::Kind::Release);
  std::set<ObjectId> notClippings(keyCerts.begin(), keyCerts.end());
  notClippings.insert(revocations.begin(), revocations.end());
  notClippings.insert(retractions.begin(), retractions.end());
  notClippings.insert(annotations.begin(), annotations.end());
  notClippings.insert(releases.begin(), releases.end());
  // Release parts travel with their release (below), never as clippings.
  for (const auto& id : txn.ofKind(protocol::Kind::ReleasePart)) notClippings.insert(id);

  std::set<ObjectId> arrivedAfter;
  if (selection.afterSeq)
    for (const auto& entry : txn.since(*selection.afterSeq)) arrivedAfter.insert(entry.id);

  // --since-release: what the release and its chain list, and where it stands.
  std::set<ObjectId> released;
  std::optional<std::pair<std::string, std::uint64_t>> since;
  if (selection.sinceRelease) {
    auto id = resolveRelease(txn, *selection.sinceRelease);
    if (!id) return id.error();
    walkChain(txn, id.value(), [&](const ObjectId& link, const protocol::Release& r) {
      if (!since) since = {r.name, r.sequence};
      if (auto members = releaseMembers(txn, link))
        released.insert(members->clippings.begin(), members->clippings.end());
    });
  }

  std::optional<std::set<ObjectId>> tagged;
  for (const auto& tag : selection.tags) {
    ListQuery query;
    query.kind = protocol::Kind::Clipping;
    query.tag = tag;
    const auto ids = txn.list(query);
    std::set<ObjectId> withTag(ids.begin(), ids.end());
    if (tagged) {
      std::erase_if(*tagged, [&](const ObjectId& id) { return !withTag.contains(id); });
    } else {
      tagged = std::move(withTag);
    }
  }

  std::vector<ObjectId> clippings;
  for (const auto& entry : txn.since(0)) {
    if (notClippings.contains(entry.id)) continue;
    if (selection.afterSeq && !arrivedAfter.contains(entry.id)) continue;
    if (released.contains(entry.id)) continue;
    if (tagged && !tagged->contains(entry.id)) continue;
    clippings.push_back(entry.id);
  }
  dropKnown(clippings);

  // Releases: all, or those that list a chosen clipping, arrived after the seq, are new to the
  // peer, or follow the --since-release in its name; each with its chain, so that it verifies
  // without a gap (less the links the peer holds).
  std::set<ObjectId> chosen;
  if (everything) {
    chosen.insert(releases.begin(), releases.end());
  } else {
    for (const ObjectId& clipping : clippings)
      for (const auto& entry : releasesContaining(txn, clipping)) chosen.insert(entry.id);
    for (const ObjectId& id : releases)
      if (selection.afterSeq ? arrivedAfter.contains(id) : known && !(*known)(id))
        chosen.insert(id);
    if (since)
      for (const auto& entry : txn.releases(since->first))
        if (entry.sequence > since->second) chosen.insert(entry.id);
  }
  // Each release comes with its parts (held ones), right after it.
  std::set<std::tuple<std::string, std::uint64_t, ObjectId>> ordered;
  std::map<ObjectId, std::vector<ObjectId>> partsOf;
  for (const ObjectId& id : chosen)
    walkChain(txn, id, [&](const ObjectId& link, const protocol::Release& r) {
      ordered.emplace(r.name, r.sequence, link);
      partsOf[link] = r.parts;
    });
  // Each release with its parts (those held) just before it, so it verifies complete.
  std::vector<ObjectId> releaseIds;
  for (const auto& entry : ordered) {
    for (const ObjectId& part : partsOf[std::get<2>(entry)])
      if (txn.contains(part)) releaseIds.push_back(part);
    releaseIds.push_back(std::get<2>(entry));
  }
  dropKnown(releaseIds);
  dropKnown(keyCerts);
  dropKnown(revocations);
  dropKnown(retractions);
  dropKnown(annotations);

  Selected out;
  out.ids.reserve(keyCerts.size() + revocations.size() + retractions.size() + releaseIds.size() +
                  clippings.size() + annotations.size());
  out.ids.insert(out.ids.end(), keyCerts.begin(), keyCerts.end());
  out.ids.insert(out.ids.end(), revocations.begin(), revocations.end());
  out.ids.insert(out.ids.end(), retractions.begin(), retractions.end());
  out.ids.insert(out.ids.end(), releaseIds.begin(), releaseIds.end());
  out.ids.insert(out.ids.end(), clippings.begin(), clippings.end());
  out.ids.insert(out.ids.end(), annotations.begin(), annotations.end());
  out.counts.objects = out.ids.size();
  out.counts.clippings = clippings.size();
  out.counts.releases = releaseIds.size();
  out.counts.keyCerts = keyCerts.size();
  out.counts.revocations = revocations.size();
  out.counts.retractions = retractions.size();
  out.counts.annotations = annotations.size();
  out.counts.leftOut = leftOut;
  return out;
}

/// A refused object as a problem of the bundle: where it is, its id when it decodes, why.
protocol::BundleRejection invalidObject(const protocol::BundleObject& object,
                                        const protocol::Rejection& rejection) {
  std::string detail;
  if (auto decoded = protocol::decode(object.bytes)) detail = "object " + decoded->id.hex() + ": ";
  return {object.position, protocol::BundleDamage::InvalidObject, detail + rejection.message()};
}

/// A folder of its own under parent, removed with everything in it on destruction.
class ScratchFolder {
 public:
  explicit ScratchFolder(const std::filesystem::path& parent) {
    std::string pattern = (parent / "fieldsync-bundle-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw Error("mkdtemp " + pattern + ": cannot create a scratch folder");
    m_path = pattern;
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

}  // namespace

Expected<std::vector<ObjectId>, std::string> selectForBundle(const ReadTxn& txn,
                                                             const BundleSelection& selection) {
  auto selected = select(txn, selection);
  if (!selected) return selected.error();
  return std::move(selected->ids);
}

Expected<ExportSummary, std::string> exportBundle(
    const Archive& archive, const BundleSelection& selection, const protocol::Sink& sink,
    std::int64_t createdAt, protocol::BundleWriterOptions options, const ProgressCallback& progress,
    const std::optional<BundleSigner>& holdings) {
  auto txn = archive.beginRead();
  auto selected = select(txn, selection);
  if (!selected) return selected.error();
  std::vector<std::uint8_t> block;
  if (holdings && txn.count() <= protocol::BundleLimits{}.maxHeldIds) {
    // The objects database is in id order, so the prefixes come sorted.
    std::vector<protocol::HeldId> ids;
    ids.reserve(static_cast<std::size_t>(txn.count()));
    txn.forEach([&](const ObjectId& id, std::span<const std::uint8_t>) {
      ids.push_back(protocol::heldId(id));
      return true;
    });
    selected->counts.heldIds = ids.size();
    block = protocol::encodeHoldings(holdings->key, createdAt, std::move(ids), holdings->sign);
  }
  protocol::BundleWriter writer(sink, createdAt, selected->ids.size(), options, std::move(block));
  Progress told{0, selected->ids.size(), 0};
  if (progress) progress(told);
  for (const ObjectId& id : selected->ids) {
    auto bytes = txn.get(id);
    if (!bytes) throw Error("bundle export: " + id.hex() + " vanished from the archive");
    writer.add(*bytes);
    ++told.done;
    told.bytes += bytes->size();
    if (progress) progress(told);
  }
  writer.finish();
  return selected->counts;
}

Expected<ImportReport, protocol::BundleRejection> importBundle(Archive& archive,
                                                               protocol::Source source,
                                                               const ImportOptions& options) {
  auto opened = protocol::BundleReader::open(std::move(source), options.limits);
  if (!opened) return opened.error();
  auto& reader = opened.value();
  const unsigned threads =
      options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());

  ImportReport report;
  report.header = reader.header();
  std::vector<Expected<protocol::BundleObject, protocol::BundleRejection>> window;
  std::size_t windowBytes = 0;
  Progress told{0, report.header.objectCount, 0};
  if (options.progress) options.progress(told);

  // One batch is written (on the committer's thread) while the next is read and verified.
  Committer committer(archive);
  std::uint32_t batches = 0;
  std::optional<Progress> inFlight;  // what to tell once the batch being stored is stored
  auto account = [&](const std::vector<Committer::Committed>& committed) {
    for (const auto& batch : committed) {
      report.stored += batch.stored;
      report.alreadyPresent += batch.alreadyPresent;
      report.retracted += batch.retracted;
      if (options.progress) options.progress(*inFlight);
      inFlight.reset();
    }
  };
  // Verifies a window of items on every thread, then queues the valid ones to be stored in one
  // transaction and reports the rest, in file order.
  auto flush = [&] {
    using Verified = std::optional<Expected<protocol::VerifiedObject, protocol::Rejection>>;
    std::vector<Verified> verified = mapOnEveryCore(
        window.size(),
        [&](std::size_t i) -> Verified {
          if (!window[i].ok()) return std::nullopt;
          return protocol::verify(window[i]->bytes, options.limits.object);
        },
        threads, 16);
    std::vector<protocol::VerifiedObject> valid;
    for (std::size_t i = 0; i < window.size(); ++i) {
      if (!window[i].ok()) {
        report.problems.push_back(window[i].error());
      } else if (!verified[i]->ok()) {
        report.problems.push_back(invalidObject(window[i].value(), verified[i]->error()));
      } else {
        valid.push_back(std::move(verified[i]->value()));
      }
    }
    window.clear();
    // Prepared here, on every core, not on the committer's thread: the write is the one step
    // that cannot be shared, and it goes faster alone.
    std::vector<PreparedObject> prepared = prepareAll(valid, threads);
    told.done = report.read;
    told.bytes += windowBytes;
    windowBytes = 0;
    // The batch before is stored first: one batch in the committer, one read and verified.
    account(committer.collect(true));
    if (valid.empty()) {
      if (options.progress) options.progress(told);
      return;
    }
    inFlight = told;
    committer.submit(++batches, std::move(valid), std::move(prepared));
  };

  while (auto item = reader.next()) {
    if (item->ok()) {
      ++report.read;
      windowBytes += item->value().bytes.size();
    }
    window.push_back(std::move(*item));
    if (window.size() >= options.batchObjects || windowBytes >= options.batchBytes) flush();
  }
  flush();
  account(committer.collect(true));
  report.intact = reader.intact();
  if (const auto& held = reader.holdings()) {
    report.stick = ImportReport::Stick{held->writer, held->at, held->ids.size(), {}};
    archive.write([&](WriteTxn& txn) { report.stick->outcome = recordStick(txn, *held); });
  }
  return report;
}

Expected<ImportReport, protocol::BundleRejection> verifyBundle(
    protocol::Source source, std::vector<protocol::Anchor> anchors,
    const std::function<void(ObjectReport&&)>& sink, const std::filesystem::path& scratchParent,
    const ImportOptions& options) {
  return verifyBundle(std::move(source), std::move(anchors), nullptr, sink, scratchParent, options);
}

Expected<ImportReport, protocol::BundleRejection> verifyBundle(
    protocol::Source source, std::vector<protocol::Anchor> anchors, const Archive* keyring,
    const std::function<void(ObjectReport&&)>& sink, const std::filesystem::path& scratchParent,
    const ImportOptions& options) {
  const ScratchFolder scratch(scratchParent);  // outlives the archive in it
  Options archiveOptions;
  archiveOptions.dir = scratch.path() / "archive";
  archiveOptions.create = true;
  auto archive = Archive::open(archiveOptions);
  if (keyring) {
    auto txn = keyring->beginRead();
    for (auto& anchor : txn.anchors()) anchors.push_back(std::move(anchor));
  }
  if (!anchors.empty()) {
    archive->write([&](WriteTxn& txn) {
      for (const auto& anchor : anchors) txn.setAnchor(anchor);
    });
  }
  auto report = importBundle(*archive, std::move(source), options);
  if (!report) return report;
  // What the bundle carried, before the keyring's certificates and revocations join it: only
  // those objects are reported on.
  std::set<ObjectId> carried;
  {
    auto txn = archive->beginRead();
    txn.forEach([&](const ObjectId& id, std::span<const std::uint8_t>) {
      carried.insert(id);
      return true;
    });
  }
  if (keyring) {
    std::vector<protocol::VerifiedObject> records;
    {
      auto txn = keyring->beginRead();
      for (auto kind : {protocol::Kind::KeyCert, protocol::Kind::Revocation})
        for (const ObjectId& id : txn.ofKind(kind)) {
          if (carried.contains(id)) continue;
          auto bytes = txn.get(id);
          if (!bytes) continue;
          // Checked again on the way into the scratch archive, as everything stored is.
          if (auto verified = protocol::verify(*bytes)) records.push_back(std::move(*verified));
        }
    }
    if (!records.empty()) {
      archive->write([&](WriteTxn& txn) {
        for (const auto& record : records) (void)txn.put(record);
      });
    }
  }
  const auto trust = [&] {
    auto txn = archive->beginRead();
    return loadTrust(txn);
  }();
  verifyEveryObject(
      *archive, trust,
      [&](ObjectReport&& object) {
        if (carried.contains(object.id)) sink(std::move(object));
      },
      options.threads);
  return report;
}

}  // namespace fieldsync::store
