// Annotations at the library level: whose corrections take effect, how several combine, what
// folds in a listing, and that trust arriving later or a retraction changes the view.
#include "store/annotation.h"
#include "store/words.h"

#include <gtest/gtest.h>
#include <lmdb.h>

#include "store/provenance.h"
#include "store_fixture.h"

namespace fieldsync::store {
namespace {
using protocol::Role;
using testing::TempDir;

constexpr std::int64_t T0 = 1'700'000'000;

class Annotations : public ::testing::Test {
 protected:
  void SetUp() override {
    m_archive = Archive::open({.dir = m_dir.path(), .create = true});
    m_archive->write([&](WriteTxn& txn) {
      txn.setAnchor({m_coordinator.publicKey(), Role::Coordinator, "HQ"});
    });
    store({testing::signBody(m_coordinator,
                             protocol::KeyCert{m_office.publicKey(), Role::Field, "Goma office", 0},
                             T0 - 1000)});
  }

  void store(const std::vector<protocol::VerifiedObject>& objects) {
    m_archive->write([&](WriteTxn& txn) {
      for (const auto& object : objects) (void)txn.put(object);
    });
  }
  protocol::VerifiedObject clipping(const protocol::SecretKey& key, const std::string& title,
                                    std::int64_t at = T0) {
    return testing::signBody(
        key, testing::clipping(title, "Body of " + title, "2026-12-01", {"region:mali"}), at);
  }
  protocol::VerifiedObject note(const protocol::SecretKey& key, const ObjectId& target,
                                protocol::Annotation a, std::int64_t at = T0 + 100) {
    a.clipping = target;
    return testing::signBody(key, std::move(a), at);
  }
  static protocol::Annotation retitle(std::string title) {
    protocol::Annotation a;
    a.title = std::move(title);
    return a;
  }
  CorrectedClipping view(const ObjectId& id) {
    auto txn = m_archive->beginRead();
    auto object = protocol::decode(*txn.get(id));
    return correctClipping(txn, loadTrust(txn), object.value());
  }
  /// What a listing of every clipping shows: the ids shown, in list order.
  std::vector<ListedClipping> listing() {
    auto txn = m_archive->beginRead();
    const auto trust = loadTrust(txn);
    Folder folder(txn, trust);
    ListQuery query;
    query.kind = protocol::Kind::Clipping;
    std::vector<ListedClipping> out;
    for (const auto& id : txn.list(query))
      if (auto listed = folder.next(id)) out.push_back(std::move(*listed));
    return out;
  }

  TempDir m_dir;
  std::unique_ptr<Archive> m_archive;
  protocol::SecretKey m_coordinator = testing::keyNumber(1);
  protocol::SecretKey m_office = testing::keyNumber(2);
  protocol::SecretKey m_stranger = testing::keyNumber(3);
  protocol::SecretKey m_other = testing::keyNumber(4);
};

TEST_F(Annotations, TheClippingsOwnSignerRetitlesIt) {
  auto c = clipping(m_stranger, "In Gao, on Tuesday, the road reopened after");
  store({c, note(m_stranger, c.id(), retitle("Gao road reopens"))});
  auto v = view(c.id());
  EXPECT_EQ(v.clipping.title, "Gao road reopens");
  ASSERT_TRUE(v.retitled);
  EXPECT_EQ(v.object.payload.clipping()->title, "In Gao, on Tuesday, the road reopened after");
}

TEST_F(Annotations, ATrustedOfficeCorrectsAnotherOfficesClipping) {
  auto c = clipping(m_stranger, "Untitled");
  protocol::Annotation a = retitle("Gao road reopens");
  a.addTags = {"topic:roads"};
  a.removeTags = {"region:mali"};
  a.reason = "first sentence was the title";
  store({c, note(m_office, c.id(), a)});
  auto v = view(c.id());
  EXPECT_EQ(v.clipping.title, "Gao road reopens");
  EXPECT_EQ(v.clipping.tags, std::vector<std::string>{"topic:roads"});
  ASSERT_TRUE(v.retitled);
  EXPECT_EQ(v.retitled->signerName, "Goma office");
  EXPECT_EQ(v.retitled->reason, "first sentence was the title");
  ASSERT_EQ(v.tagChanges.size(), 2u);
  EXPECT_TRUE(v.withoutEffect.empty());
}

TEST_F(Annotations, AStrangersAnnotationIsKeptButChangesNothing) {
  auto c = clipping(m_office, "Gao road reopens");
  auto n = note(m_stranger, c.id(), retitle("Lies"));
  store({c, n});
  EXPECT_TRUE(m_archive->beginRead().contains(n.id()));
  auto v = view(c.id());
  EXPECT_EQ(v.clipping.title, "Gao road reopens");
  EXPECT_FALSE(v.corrected());
  ASSERT_EQ(v.withoutEffect.size(), 1u);
  EXPECT_EQ(v.withoutEffect[0].annotation, n.id());
}

// Search reads titles as corrected here and as signed: a word of a retitle in effect finds the
// clipping; a word of a retitle without effect (a stranger's) names a candidate that the
// corrected view does not hold, so it is left out.
TEST_F(Annotations, SearchFindsAClippingByItsCorrectedTitleOnlyWhereTheCorrectionTakesEffect) {
  auto gao = clipping(m_office, "Untitled");
  auto kidal = clipping(m_office, "Kidal market", T0 + 1);
  store({gao, kidal, note(m_office, gao.id(), retitle("Gao road reopens")),
         note(m_stranger, kidal.id(), retitle("Gao road closed"))});
  auto txn = m_archive->beginRead();
  const auto trust = loadTrust(txn);
  Folder folder(txn, trust);
  std::vector<ObjectId> found;
  for (const auto& id : correctedSearch(txn, "gao road"))
    if (auto listed = folder.next(id); listed && holdsEveryWord(listed->view, "gao road"))
      found.push_back(listed->view.object.id);
  EXPECT_EQ(found, std::vector<ObjectId>{gao.id()});
  EXPECT_TRUE(txn.search("gao road").empty()) << "the signed text holds neither word";
  // By its signed title still, and by its body.
  const auto untitled = correctedSearch(txn, "untitled");
  ASSERT_EQ(untitled.size(), 1u);
  EXPECT_TRUE(holdsEveryWord(view(gao.id()), "untitled body"));
}

TEST_F(Annotations, TrustArrivingLaterMakesAWaitingAnnotationTakeEffect) {
  auto c = clipping(m_office, "Gao road reopens");
  store({c, note(m_other, c.id(), retitle("Gao road reopens to trucks"))});
  EXPECT_EQ(view(c.id()).clipping.title, "Gao road reopens");
  // A certificate valid from before the annotation was signed: it holds at its signedAt.
  store({testing::signBody(m_coordinator,
                           protocol::KeyCert{m_other.publicKey(), Role::Field, "Bamako office", 0},
                           T0 - 10)});
  EXPECT_EQ(view(c.id()).clipping.title, "Gao road reopens to trucks");
}

TEST_F(Annotations, ARevokedSignerCannotCorrectEvenItsOwnClippings) {
  auto c = clipping(m_office, "Gao road reopens");
  store({c,
         testing::signBody(m_coordinator,
                           protocol::Revocation{m_office.publicKey(), T0 + 50, "stolen"}, T0 + 60),
         note(m_office, c.id(), retitle("Gao road closed forever"))});
  EXPECT_EQ(view(c.id()).clipping.title, "Gao road reopens");
}

TEST_F(Annotations, TheLatestSignedAtWinsPerFieldAndTagsApplyInOrder) {
  auto c = clipping(m_office, "Untitled");
  protocol::Annotation first = retitle("First title");
  first.addTags = {"topic:roads"};
  protocol::Annotation second;
  second.removeTags = {"topic:roads"};
  protocol::Annotation third = retitle("Third title");
  third.addTags = {"topic:trade"};
  // Stored out of order: the order is signedAt's, not arrival's.
  store({c, note(m_office, c.id(), third, T0 + 300), note(m_coordinator, c.id(), first, T0 + 100),
         note(m_office, c.id(), second, T0 + 200)});
  auto v = view(c.id());
  EXPECT_EQ(v.clipping.title, "Third title");
  EXPECT_EQ(v.clipping.tags, (std::vector<std::string>{"region:mali", "topic:trade"}));
  ASSERT_EQ(v.tagChanges.size(), 3u);
  EXPECT_TRUE(v.tagChanges[0].added);
  EXPECT_FALSE(v.tagChanges[1].added);
}

TEST_F(Annotations, EqualSignedAtIsSettledByTheLargerId) {
  auto c = clipping(m_office, "Untitled");
  auto a = note(m_office, c.id(), retitle("Title A"), T0 + 100);
  auto b = note(m_coordinator, c.id(), retitle("Title B"), T0 + 100);
  store({c, a, b});
  const auto& winner = a.id() < b.id() ? b : a;
  EXPECT_EQ(view(c.id()).retitled->annotation, winner.id());
}

TEST_F(Annotations, ARetractedClippingsDuplicateMarkHidesNothing) {
  auto original = clipping(m_office, "Gao road reopens");
  auto copy = clipping(m_office, "Gao road reopens (wire copy)");
  protocol::Annotation dup;
  dup.duplicateOf = original.id();
  store({original, copy, note(m_office, copy.id(), dup)});
  ASSERT_EQ(listing().size(), 1u);
  EXPECT_EQ(listing()[0].duplicates, std::vector<ObjectId>{copy.id()});

  protocol::Retraction r;
  r.clippings = {original.id()};
  r.reason = "names a source";
  store({testing::signBody(m_coordinator, r, T0 + 500)});
  auto shown = listing();
  ASSERT_EQ(shown.size(), 1u);
  EXPECT_EQ(shown[0].view.object.id, copy.id());
  EXPECT_TRUE(shown[0].duplicates.empty());
}

// A later annotation whose duplicateOf is NOT_A_DUPLICATE withdraws the mark: both list again.
TEST_F(Annotations, ALaterWithdrawalUndoesADuplicateMark) {
  auto original = clipping(m_office, "Gao road reopens");
  auto copy = clipping(m_office, "Gao road reopens (wire copy)");
  protocol::Annotation dup;
  dup.duplicateOf = original.id();
  protocol::Annotation withdraw;
  withdraw.duplicateOf = NOT_A_DUPLICATE;
  store({original, copy, note(m_office, copy.id(), dup, T0 + 100)});
  ASSERT_EQ(listing().size(), 1u);
  store({note(m_coordinator, copy.id(), withdraw, T0 + 200)});
  EXPECT_EQ(listing().size(), 2u);
  const auto v = view(copy.id());
  EXPECT_FALSE(v.duplicateOf());
  ASSERT_TRUE(v.duplicate);
  EXPECT_EQ(describeCorrections(v).back().rfind("not a duplicate: the mark was withdrawn by HQ", 0),
            0u);
  // An older withdrawal does not undo a newer mark.
  store({note(m_office, copy.id(), dup, T0 + 300)});
  EXPECT_EQ(listing().size(), 1u);
}

TEST_F(Annotations, ACycleOfDuplicateMarksStillListsOneOfThem) {
  auto a = clipping(m_office, "Story A");
  auto b = clipping(m_office, "Story B");
  auto c = clipping(m_office, "Story C");
  protocol::Annotation toB, toC, toA;
  toB.duplicateOf = b.id();
  toC.duplicateOf = c.id();
  toA.duplicateOf = a.id();
  store({a, b, c, note(m_office, a.id(), toB), note(m_office, b.id(), toC),
         note(m_office, c.id(), toA)});
  auto shown = listing();
  ASSERT_EQ(shown.size(), 1u);
  const ObjectId smallest = std::min({a.id(), b.id(), c.id()});
  EXPECT_EQ(shown[0].view.object.id, smallest);
  EXPECT_EQ(shown[0].duplicates.size(), 2u);
}

TEST_F(Annotations, TheSameContentSignedByTwoOfficesListsOnceUnderTheTrustedSigner) {
  auto stranger = clipping(m_stranger, "Gao road reopens", T0 - 50);
  auto office = clipping(m_office, "Gao road reopens", T0);
  store({stranger, office});
  auto shown = listing();
  ASSERT_EQ(shown.size(), 1u);
  EXPECT_EQ(shown[0].view.object.id, office.id());
  EXPECT_EQ(shown[0].trust, ClippingTrust::Trusted);
  ASSERT_EQ(shown[0].alsoSignedBy.size(), 1u);
  EXPECT_EQ(shown[0].alsoSignedBy[0].id, stranger.id());
  // A correction of either copy corrects the article.
  store({note(m_stranger, stranger.id(), retitle("Gao: road reopens"))});
  EXPECT_EQ(listing()[0].view.clipping.title, "Gao: road reopens");
}

TEST_F(Annotations, ListTagSeesAddedTagsOnlyWhenSomeAnnotationAddsThem) {
  auto c = clipping(m_office, "Gao road reopens");
  store({c});
  EXPECT_FALSE(someAnnotationAdds(m_archive->beginRead(), "topic:roads"));
  protocol::Annotation a;
  a.addTags = {"topic:roads"};
  store({note(m_office, c.id(), a)});
  EXPECT_TRUE(someAnnotationAdds(m_archive->beginRead(), "topic:roads"));
  EXPECT_EQ(view(c.id()).clipping.tags, (std::vector<std::string>{"region:mali", "topic:roads"}));
}

TEST_F(Annotations, AnnotateSignsStoresAndRefusesWhatWouldChangeNothing) {
  auto c = clipping(m_stranger, "Untitled");
  auto d = clipping(m_office, "Another");
  store({c, d});
  AnnotateRequest request;
  request.clipping = c.id();
  request.title = "  Gao   road reopens ";
  request.addTags = {" Topic:Roads "};
  auto done = annotate(*m_archive, m_office, request, T0 + 100);
  ASSERT_TRUE(done.ok()) << done.error();
  EXPECT_EQ(done->view.clipping.title, "Gao road reopens");
  EXPECT_EQ(done->view.clipping.tags, (std::vector<std::string>{"region:mali", "topic:roads"}));
  EXPECT_TRUE(m_archive->beginRead().contains(done->annotation));

  // The same again changes nothing; a stranger's would change nothing here; nor a missing id.
  auto again = annotate(*m_archive, m_office, request, T0 + 200);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().find("changes nothing"), std::string::npos) << again.error();
  AnnotateRequest other;
  other.clipping = d.id();
  other.title = "Mine now";
  auto stranger = annotate(*m_archive, m_stranger, other, T0 + 200);
  ASSERT_FALSE(stranger.ok());
  EXPECT_NE(stranger.error().find("would change nothing on this node"), std::string::npos);
  other.clipping = ObjectId{};
  EXPECT_FALSE(annotate(*m_archive, m_office, other, T0 + 200).ok());
  other.clipping = d.id();
  other.duplicateOf = d.id();
  other.title.clear();
  EXPECT_FALSE(annotate(*m_archive, m_office, other, T0 + 200).ok());
}

TEST_F(Annotations, AnnotationsAreIndexedByTargetAndLeaveTheIndexWhenRemoved) {
  auto a = clipping(m_office, "Story A");
  auto b = clipping(m_office, "Story B");
  protocol::Annotation dup;
  dup.duplicateOf = b.id();
  auto n = note(m_office, a.id(), dup);
  store({a, b, n});
  {
    auto txn = m_archive->beginRead();
    EXPECT_EQ(txn.annotationsNaming(a.id()), (std::vector<AnnotationRef>{{n.id(), false}}));
    EXPECT_EQ(txn.annotationsNaming(b.id()), (std::vector<AnnotationRef>{{n.id(), true}}));
    EXPECT_EQ(txn.ofKind(protocol::Kind::Annotation), std::vector<ObjectId>{n.id()});
  }
  m_archive->write([&](WriteTxn& txn) { EXPECT_TRUE(txn.remove(n.id())); });
  auto txn = m_archive->beginRead();
  EXPECT_TRUE(txn.annotationsNaming(a.id()).empty());
  EXPECT_TRUE(txn.annotationsNaming(b.id()).empty());
}

TEST(AnnotationSchema, ASchema3ArchiveGetsItsAnnotationIndexWhenOpenedWritable) {
  TempDir dir;
  const auto office = testing::keyNumber(2);
  auto c = testing::signBody(office, testing::clipping("Gao road reopens"), T0);
  {
    auto archive = Archive::open({.dir = dir.path(), .create = true});
    archive->write([&](WriteTxn& txn) { (void)txn.put(c); });
  }
  testing::downgradeSchema(dir.path(), "by_target", "3");  // no annotation index
  {
    auto archive = Archive::open({.dir = dir.path(), .readOnly = true});
    auto txn = archive->beginRead();
    EXPECT_EQ(txn.getMeta("schema"), "3");
    EXPECT_TRUE(txn.annotationsNaming(c.id()).empty());
    EXPECT_EQ(txn.count(), 1u);
  }
  auto archive = Archive::open({.dir = dir.path()});
  EXPECT_EQ(archive->beginRead().getMeta("schema"), std::to_string(SCHEMA_VERSION));
  protocol::Annotation a;
  a.clipping = c.id();
  a.title = "Gao: the road reopens";
  auto n = testing::signBody(office, a, T0 + 1);
  archive->write([&](WriteTxn& txn) { (void)txn.put(n); });
  EXPECT_EQ(archive->beginRead().annotationsNaming(c.id()),
            (std::vector<AnnotationRef>{{n.id(), false}}));
}

}  // namespace
}  // namespace fieldsync::store
