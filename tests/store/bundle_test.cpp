// Bundles and the archive: what an export carries, imports that store exactly the valid
// objects, and checking a bundle without a node's archive.
#include "store/bundle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "store/peers.h"
#include "store_fixture.h"

namespace fieldsync::store {
namespace {
using protocol::Role;
using testing::TempArchive;
using testing::TempDir;
using Bytes = std::vector<std::uint8_t>;
using Verdict = ObjectReport::Verdict;

BundleSelection sinceRelease(std::string release) {
  BundleSelection s;
  s.sinceRelease = std::move(release);
  return s;
}
BundleSelection withTags(std::vector<std::string> tags) {
  BundleSelection s;
  s.tags = std::move(tags);
  return s;
}
BundleSelection afterSeq(std::uint64_t seq) {
  BundleSelection s;
  s.afterSeq = seq;
  return s;
}

protocol::Source sourceOf(const Bytes& bytes) {
  std::size_t at = 0;
  return [&bytes, at](std::span<std::uint8_t> buffer) mutable {
    const std::size_t n = std::min(buffer.size(), bytes.size() - at);
    std::memcpy(buffer.data(), bytes.data() + at, n);
    at += n;
    return n;
  };
}

std::set<ObjectId> everyId(const Archive& archive) {
  std::set<ObjectId> ids;
  archive.beginRead().forEach([&](const ObjectId& id, std::span<const std::uint8_t>) {
    ids.insert(id);
    return true;
  });
  return ids;
}

/// A small network in one archive: HQ (coordinator anchor) certifies the Goma office and
/// revokes an old key; releases weekly@1 (a, b) and weekly@2 (c); clippings d and e tagged.
class Bundles : public ::testing::Test {
 protected:
  void SetUp() override {
    m_source.archive->write([&](WriteTxn& txn) {
      txn.setAnchor({m_hq.publicKey(), Role::Coordinator, "HQ"});
    });
    m_cert = put(m_hq, protocol::KeyCert{m_goma.publicKey(), Role::Field, "Goma office", 0}, 100);
    m_revocation = put(m_hq, protocol::Revocation{m_old.publicKey(), 50, "laptop stolen"}, 101);
    m_a = put(m_goma, testing::clipping("a"), 200);
    m_b = put(m_goma, testing::clipping("b"), 201);
    m_weekly1 =
        put(m_hq, protocol::Release{"weekly", 1, std::nullopt, sorted({m_a, m_b}), ""}, 300);
    m_c = put(m_goma, testing::clipping("c"), 400);
    m_weekly2 = put(m_hq, protocol::Release{"weekly", 2, m_weekly1, {m_c}, ""}, 500);
    m_d = put(m_goma, testing::clipping("d", "", "", {"region:mali"}), 600);
    m_e = put(m_goma, testing::clipping("e", "", "", {"region:mali", "topic:floods"}), 601);
  }

  static std::vector<ObjectId> sorted(std::vector<ObjectId> ids) {
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  ObjectId put(const protocol::SecretKey& key, protocol::Body body, std::int64_t at) {
    auto object = testing::signBody(key, std::move(body), at);
    m_source.archive->write([&](WriteTxn& txn) { (void)txn.put(object); });
    return object.id();
  }
  std::vector<ObjectId> select(const BundleSelection& selection) {
    auto ids = selectForBundle(m_source.archive->beginRead(), selection);
    EXPECT_TRUE(ids.ok()) << (ids.ok() ? "" : ids.error());
    return ids.ok() ? ids.value() : std::vector<ObjectId>{};
  }
  Bytes exportBytes(const BundleSelection& selection, protocol::BundleWriterOptions options = {}) {
    Bytes out;
    auto summary = exportBundle(
        *m_source.archive, selection,
        [&](std::span<const std::uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); }, 1,
        options);
    EXPECT_TRUE(summary.ok());
    return out;
  }

  TempArchive m_source;
  protocol::SecretKey m_hq = testing::keyNumber(1);
  protocol::SecretKey m_goma = testing::keyNumber(2);
  protocol::SecretKey m_old = testing::keyNumber(3);
  ObjectId m_cert, m_revocation, m_a, m_b, m_c, m_d, m_e, m_weekly1, m_weekly2;
};

// --- Export ------------------------------------------------------------------------------------

TEST_F(Bundles, ExportOfAllCarriesEveryObjectTrustFirstAndClippingsInArrivalOrder) {
  auto ids = select({});
  EXPECT_EQ(ids, (std::vector<ObjectId>{m_cert, m_revocation, m_weekly1, m_weekly2, m_a, m_b, m_c,
                                        m_d, m_e}));
}

TEST_F(Bundles, SinceReleaseCarriesTheClippingsItsChainDoesNotListWithTheReleasesAfterIt) {
  // weekly@1 lists a and b: c (listed by weekly@2), d and e come, with weekly@2 and the chain
  // it needs to verify.
  EXPECT_EQ(select(sinceRelease("weekly@1")),
            (std::vector<ObjectId>{m_cert, m_revocation, m_weekly1, m_weekly2, m_c, m_d, m_e}));
  // "weekly" is its latest, weekly@2: its chain lists a, b and c.
  EXPECT_EQ(select(sinceRelease("weekly")),
            (std::vector<ObjectId>{m_cert, m_revocation, m_d, m_e}));
}

TEST_F(Bundles, TagsSelectClippingsWithEveryTagGiven) {
  EXPECT_EQ(select(withTags({"region:mali"})),
            (std::vector<ObjectId>{m_cert, m_revocation, m_d, m_e}));
  EXPECT_EQ(select(withTags({"region:mali", "topic:floods"})),
            (std::vector<ObjectId>{m_cert, m_revocation, m_e}));
}

TEST_F(Bundles, AfterSeqCarriesOnlyWhatArrivedLaterWithTheTrustObjects) {
  // The hook for --for PEER: seqs 1-2 are the certificate and revocation, 3-4 a and b,
  // 5 weekly@1, 6 c, 7 weekly@2.
  EXPECT_EQ(select(afterSeq(5)),
            (std::vector<ObjectId>{m_cert, m_revocation, m_weekly1, m_weekly2, m_c, m_d, m_e}));
  EXPECT_EQ(select(afterSeq(7)), (std::vector<ObjectId>{m_cert, m_revocation, m_d, m_e}));
}

// --- Sticks: --for PEER and holdings -----------------------------------------------------------

/// The listed peer "hub" (key 9) in archive, with state changed by change.
void listHub(Archive& archive, const std::function<void(PeerState&)>& change = {}) {
  PeerRecord hub;
  hub.name = "hub";
  hub.key = testing::keyNumber(9).publicKey();
  if (change) change(hub.state);
  archive.write([&](WriteTxn& txn) { ASSERT_TRUE(putPeer(txn, hub, IfNameListed::Replace).ok()); });
}

protocol::Holdings holdingsOf(std::uint8_t key, std::int64_t at, std::vector<ObjectId> ids) {
  protocol::Holdings h{testing::keyNumber(key).publicKey(), at, {}};
  for (const auto& id : ids) h.ids.push_back(protocol::heldId(id));
  std::sort(h.ids.begin(), h.ids.end());
  return h;
}

BundleSelection forHub() {
  BundleSelection s;
  s.forPeer = "hub";
  return s;
}

TEST_F(Bundles, ForAPeerNeverInStepAndWithNoStickCarriesEverything) {
  listHub(*m_source.archive);
  EXPECT_EQ(select(forHub()), select({}));
}

TEST_F(Bundles, ForAPeerLeavesOutWhatArrivedUpToItsLastInStepSessionOfEveryKind) {
  // Seqs 1-2 are the certificate and revocation, 3-4 a and b, 5 weekly@1: the peer holds them.
  listHub(*m_source.archive, [](PeerState& s) {
    s.inStepAt = 1000;
    s.inStepSeq = 5;
  });
  EXPECT_EQ(select(forHub()), (std::vector<ObjectId>{m_weekly2, m_c, m_d, m_e}));
}

TEST_F(Bundles, ForAPeerLeavesOutWhatItsLatestStickListsOfEveryKind) {
  listHub(*m_source.archive);
  m_source.archive->write([&](WriteTxn& txn) {
    EXPECT_EQ(recordStick(txn, holdingsOf(9, 50, {m_cert, m_a, m_b, m_weekly1, m_d})).kind,
              StickOutcome::Recorded);
  });
  EXPECT_EQ(select(forHub()), (std::vector<ObjectId>{m_revocation, m_weekly2, m_c, m_e}));
  Bytes out;
  auto summary = exportBundle(
      *m_source.archive, forHub(),
      [&](std::span<const std::uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); }, 1);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->objects, 4u);
  EXPECT_EQ(summary->leftOut, 5u);
  EXPECT_EQ(summary->clippings, 2u);
  EXPECT_EQ(summary->keyCerts, 0u);
  EXPECT_FALSE(summary->heldIds);  // no signer given: no holdings block

  // The stick and the network count together.
  listHub(*m_source.archive, [](PeerState& s) {
    s.inStepAt = 1000;
    s.inStepSeq = 2;  // the certificate and the revocation
    s.stickAt = 50;
  });
  EXPECT_EQ(select(forHub()), (std::vector<ObjectId>{m_weekly2, m_c, m_e}));
}

TEST_F(Bundles, ForAnUnlistedPeerIsRefused) {
  auto ids = selectForBundle(m_source.archive->beginRead(), forHub());
  ASSERT_FALSE(ids.ok());
  EXPECT_NE(ids.error().find("hub"), std::string::npos) << ids.error();
}

/// Two offices that only swap sticks: each writes for the other with its holdings, the other
/// imports. After one round trip each way, neither's next stick carries anything the other has.
TEST(Sticks, AfterOneRoundTripEachWayTheNextStickCarriesNothingTheOtherHas) {
  using Carried = std::pair<std::uint64_t, std::uint64_t>;  // objects written, already present
  const auto keyA = testing::keyNumber(21), keyB = testing::keyNumber(22);
  TempArchive a, b;
  auto list = [](Archive& archive, const std::string& name, const protocol::SecretKey& key) {
    PeerRecord record;
    record.name = name;  // no address: stick only
    record.key = key.publicKey();
    archive.write(
        [&](WriteTxn& txn) { ASSERT_TRUE(putPeer(txn, record, IfNameListed::Refuse).ok()); });
  };
  list(*a.archive, "b", keyB);
  list(*b.archive, "a", keyA);
  for (int i = 0; i < 5; ++i)
    a.putAll({testing::signBody(keyA, testing::clipping("a" + std::to_string(i)), 100 + i)});
  for (int i = 0; i < 3; ++i)
    b.putAll({testing::signBody(keyB, testing::clipping("b" + std::to_string(i)), 200 + i)});

  std::int64_t clock = 1000;
  auto stick = [&](Archive& from, const protocol::SecretKey& key, const std::string& peer,
                   Archive& to) {
    Bytes bytes;
    BundleSelection selection;
    selection.forPeer = peer;
    auto summary = exportBundle(
        from, selection,
        [&](std::span<const std::uint8_t> s) { bytes.insert(bytes.end(), s.begin(), s.end()); },
        clock++, {}, {}, BundleSigner{key.publicKey(), [&key](std::span<const std::uint8_t> m) {
                                        return key.sign(m);
                                      }});
    EXPECT_TRUE(summary.ok());
    EXPECT_EQ(*summary->heldIds, from.beginRead().count());
    auto report = importBundle(to, sourceOf(bytes));
    EXPECT_TRUE(report.ok() && report->ok());
    EXPECT_TRUE(report->stick);
    EXPECT_EQ(report->stick->outcome.kind, StickOutcome::Recorded);
    return std::pair(summary->objects, report->alreadyPresent);
  };
  EXPECT_EQ(stick(*a.archive, keyA, "b", *b.archive), (Carried{5, 0}));
  // B knows what A held: only its own 3 go back.
  EXPECT_EQ(stick(*b.archive, keyB, "a", *a.archive), (Carried{3, 0}));
  EXPECT_EQ(everyId(*a.archive), everyId(*b.archive));
  // A knows what B held after A's stick: nothing old goes.
  EXPECT_EQ(stick(*a.archive, keyA, "b", *b.archive), (Carried{0, 0}));
  EXPECT_EQ(stick(*b.archive, keyB, "a", *a.archive), (Carried{0, 0}));
  // Something new in A: the next stick carries that alone.
  a.putAll({testing::signBody(keyA, testing::clipping("a-new"), 300)});
  EXPECT_EQ(stick(*a.archive, keyA, "b", *b.archive), (Carried{1, 0}));
}

TEST(Sticks, AStrangersOrAnOlderStickIsReadButNotRecorded) {
  const auto keyA = testing::keyNumber(21);
  TempArchive a, b;
  a.putAll({testing::signBody(keyA, testing::clipping("a"), 100)});
  auto write = [&](std::int64_t at) {
    Bytes bytes;
    auto summary = exportBundle(
        *a.archive, {},
        [&](std::span<const std::uint8_t> s) { bytes.insert(bytes.end(), s.begin(), s.end()); }, at,
        {}, {}, BundleSigner{keyA.publicKey(), [&keyA](std::span<const std::uint8_t> m) {
                               return keyA.sign(m);
                             }});
    EXPECT_TRUE(summary.ok());
    return bytes;
  };
  const Bytes older = write(1000), newer = write(2000);

  auto stranger = importBundle(*b.archive, sourceOf(newer));
  ASSERT_TRUE(stranger.ok());
  EXPECT_TRUE(stranger->ok());
  EXPECT_EQ(stranger->stored, 1u);
  ASSERT_TRUE(stranger->stick);
  EXPECT_EQ(stranger->stick->outcome.kind, StickOutcome::NotListed);
  EXPECT_EQ(stranger->stick->writer, keyA.publicKey());
  EXPECT_FALSE(peerHoldings(b.archive->beginRead(), keyA.publicKey()));

  PeerRecord record;
  record.name = "a";
  record.key = keyA.publicKey();
  b.archive->write(
      [&](WriteTxn& txn) { ASSERT_TRUE(putPeer(txn, record, IfNameListed::Refuse).ok()); });
  EXPECT_EQ(importBundle(*b.archive, sourceOf(newer))->stick->outcome.kind, StickOutcome::Recorded);
  auto old = importBundle(*b.archive, sourceOf(older));
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->stick->outcome.kind, StickOutcome::Older);
  EXPECT_EQ(old->stick->outcome.recordedAt, 2000);
  EXPECT_EQ(findPeer(b.archive->beginRead(), "a")->state.stickAt, 2000);
}

TEST(Sticks, ABundleWithoutHoldingsIsVersion1AndOneWithThemVersion2) {
  const auto key = testing::keyNumber(21);
  TempArchive a;
  a.putAll({testing::signBody(key, testing::clipping("a"), 100)});
  auto versionOf = [&](const std::optional<BundleSigner>& signer) {
    Bytes bytes;
    EXPECT_TRUE(
        exportBundle(
            *a.archive, {},
            [&](std::span<const std::uint8_t> s) { bytes.insert(bytes.end(), s.begin(), s.end()); },
            1, {}, {}, signer)
            .ok());
    return protocol::BundleReader::open(bytes)->header().version;
  };
  EXPECT_EQ(versionOf(std::nullopt), protocol::BUNDLE_VERSION_1);
  EXPECT_EQ(versionOf(BundleSigner{
                key.publicKey(), [&key](std::span<const std::uint8_t> m) { return key.sign(m); }}),
            protocol::BUNDLE_VERSION);
}

TEST_F(Bundles, AnUnknownReleaseIsRefused) {
  auto ids = selectForBundle(m_source.archive->beginRead(), sinceRelease("monthly"));
  ASSERT_FALSE(ids.ok());
  EXPECT_NE(ids.error().find("monthly"), std::string::npos) << ids.error();
}

TEST_F(Bundles, ExportAndImportTellTheirProgressUpToTheWholeCount) {
  std::vector<Progress> exported;
  Bytes bundle;
  auto summary = exportBundle(
      *m_source.archive, {},
      [&](std::span<const std::uint8_t> b) { bundle.insert(bundle.end(), b.begin(), b.end()); }, 1,
      {}, [&](const Progress& p) { exported.push_back(p); });
  ASSERT_TRUE(summary.ok());
  ASSERT_FALSE(exported.empty());
  EXPECT_EQ(exported.front().done, 0u);
  EXPECT_EQ(exported.back().done, 9u);
  EXPECT_EQ(exported.back().total, 9u);
  EXPECT_GT(exported.back().bytes, 0u);
  for (std::size_t i = 1; i < exported.size(); ++i)
    EXPECT_GE(exported[i].done, exported[i - 1].done);

  std::vector<Progress> imported;
  TempArchive target;
  ImportOptions options;
  options.batchObjects = 4;  // three batches: 4, 4, 1
  options.progress = [&](const Progress& p) { imported.push_back(p); };
  ASSERT_TRUE(importBundle(*target.archive, sourceOf(bundle), options).ok());
  ASSERT_GE(imported.size(), 3u);
  EXPECT_EQ(imported.back().done, 9u);
  EXPECT_EQ(imported.back().total, 9u);
  EXPECT_EQ(imported.back().bytes, exported.back().bytes);
}

// --- Import ------------------------------------------------------------------------------------

TEST_F(Bundles, ImportStoresEverythingAndAgainStoresNothing) {
  const Bytes bundle = exportBytes({});
  TempArchive target;
  auto first = importBundle(*target.archive, sourceOf(bundle));
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->ok());
  EXPECT_TRUE(first->intact);
  EXPECT_EQ(first->stored, 9u);
  EXPECT_EQ(everyId(*target.archive), everyId(*m_source.archive));

  auto second = importBundle(*target.archive, sourceOf(bundle));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->stored, 0u);
  EXPECT_EQ(second->alreadyPresent, 9u);
  EXPECT_EQ(target.count(), 9u);
}

TEST_F(Bundles, ImportOfADamagedBundleStoresExactlyTheObjectsOfIntactFrames) {
  // Many clippings in small frames; one byte flipped in the compressed bytes of frame 1.
  std::vector<protocol::VerifiedObject> many;
  for (int i = 0; i < 60; ++i)
    many.push_back(
        testing::signBody(m_goma, testing::clipping("report " + std::to_string(i)), 1000 + i));
  m_source.putAll(many);
  protocol::BundleWriterOptions small;
  small.frameBytes = 2048;
  Bytes bundle = exportBytes({}, small);
  std::size_t frames = 0, at = 0;
  for (std::size_t i = 0; i + 8 <= bundle.size() && frames < 2; ++i)
    if (std::memcmp(bundle.data() + i, "FSYNCFRM", 8) == 0 && ++frames == 2) at = i + 100;
  ASSERT_GT(at, 0u);
  bundle[at] ^= 0xff;

  // What an intact reader sees in the damaged bundle: the objects the archive must hold.
  std::set<ObjectId> readable;
  auto reader = protocol::BundleReader::open(bundle);
  ASSERT_TRUE(reader.ok());
  while (auto item = reader->next())
    if (item->ok()) readable.insert(protocol::verify(item->value().bytes).value().id());

  TempArchive target;
  ImportOptions options;
  options.batchObjects = 7;  // several batches
  auto report = importBundle(*target.archive, sourceOf(bundle), options);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->intact);
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].damage, protocol::BundleDamage::DamagedFrame);
  EXPECT_EQ(report->problems[0].position.frame, 1u);
  EXPECT_EQ(everyId(*target.archive), readable);
  EXPECT_EQ(report->stored, readable.size());
  EXPECT_LT(readable.size(), everyId(*m_source.archive).size());
}

TEST_F(Bundles, AnInvalidObjectIsReportedByPositionAndTheRestStored) {
  std::vector<Bytes> objects;
  auto txn = m_source.archive->beginRead();
  for (const ObjectId& id : {m_a, m_b, m_c}) {
    auto bytes = txn.get(id).value();
    objects.emplace_back(bytes.begin(), bytes.end());
  }
  objects[1][objects[1].size() - 9] ^= 0x01;  // inside the signature
  const Bytes bundle = protocol::writeBundle(objects, 1);

  TempArchive target;
  auto report = importBundle(*target.archive, sourceOf(bundle));
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact);
  ASSERT_EQ(report->problems.size(), 1u);
  const auto& problem = report->problems[0];
  EXPECT_EQ(problem.damage, protocol::BundleDamage::InvalidObject);
  EXPECT_EQ(problem.position.frame, 0u);
  EXPECT_EQ(problem.position.index, 1u);
  EXPECT_NE(problem.detail.find("bad signature"), std::string::npos) << problem.detail;
  EXPECT_NE(problem.detail.find(m_b.hex()), std::string::npos) << problem.detail;
  EXPECT_EQ(everyId(*target.archive), (std::set<ObjectId>{m_a, m_c}));
}

TEST_F(Bundles, ImportOfSomethingElseStoresNothing) {
  const std::string text = "not a bundle at all\n";
  const Bytes bytes(text.begin(), text.end());
  TempArchive target;
  auto report = importBundle(*target.archive, sourceOf(bytes));
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().damage, protocol::BundleDamage::NotABundle);
  EXPECT_EQ(target.count(), 0u);
}

// --- Verify without an archive -------------------------------------------------------------------

TEST_F(Bundles, VerifyJudgesTrustFromTheGivenAnchorsAndLeavesNothingBehind) {
  const Bytes bundle = exportBytes({});
  TempDir scratch;
  auto judge = [&](std::vector<protocol::Anchor> anchors) {
    std::map<ObjectId, Verdict> verdicts;
    auto report = verifyBundle(
        sourceOf(bundle), std::move(anchors),
        [&](ObjectReport&& r) { verdicts[r.id] = r.verdict(); }, scratch.path());
    EXPECT_TRUE(report.ok());
    EXPECT_TRUE(std::filesystem::is_empty(scratch.path())) << "the temporary archive is removed";
    return verdicts;
  };
  auto trusted = judge({{m_hq.publicKey(), Role::Coordinator, "HQ"}});
  ASSERT_EQ(trusted.size(), 9u);
  for (const auto& [id, verdict] : trusted) EXPECT_EQ(verdict, Verdict::Valid) << id.hex();

  auto untrusted = judge({});
  ASSERT_EQ(untrusted.size(), 9u);
  for (const auto& [id, verdict] : untrusted) EXPECT_EQ(verdict, Verdict::Untrusted) << id.hex();
}

TEST_F(Bundles, VerifyOfAPartialBundleReportsMissingClippingsWithoutFailingReleases) {
  const Bytes bundle = exportBytes(sinceRelease("weekly@1"));
  TempDir scratch;
  std::map<ObjectId, ObjectReport> reports;
  auto report = verifyBundle(
      sourceOf(bundle), {{m_hq.publicKey(), Role::Coordinator, "HQ"}},
      [&](ObjectReport&& r) { reports.emplace(r.id, std::move(r)); }, scratch.path());
  ASSERT_TRUE(report.ok());
  ASSERT_TRUE(reports.contains(m_weekly1));
  EXPECT_EQ(reports.at(m_weekly1).verdict(), Verdict::Valid);
  EXPECT_EQ(reports.at(m_weekly1).missing, sorted({m_a, m_b}));
  EXPECT_EQ(reports.at(m_weekly2).verdict(), Verdict::Valid);
  EXPECT_TRUE(reports.at(m_weekly2).chainProblems.empty());
}

}  // namespace
}  // namespace fieldsync::store
