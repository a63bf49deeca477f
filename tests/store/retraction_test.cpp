// Retraction at the library level: who can take a clipping back, what goes, in which order
// things may arrive, and that nothing brings a retracted clipping back.
#include "store/retraction.h"

#include <gtest/gtest.h>

#include "store/ingest.h"
#include "store/provenance.h"
#include "store_fixture.h"

namespace fieldsync::store {
namespace {
using protocol::Role;
using testing::TempDir;

constexpr std::int64_t T0 = 1'700'000'000;

class Retraction : public ::testing::Test {
 protected:
  void SetUp() override {
    m_archive = Archive::open({.dir = m_dir.path(), .create = true});
    m_archive->write([&](WriteTxn& txn) {
      txn.setAnchor({m_coordinator.publicKey(), Role::Coordinator, "HQ"});
    });
  }

  protocol::VerifiedObject sign(const protocol::SecretKey& key, protocol::Body body,
                                std::int64_t at) {
    return testing::signBody(key, std::move(body), at);
  }
  std::vector<PutOutcome> store(const std::vector<protocol::VerifiedObject>& objects) {
    std::vector<PutOutcome> outcomes;
    m_archive->write([&](WriteTxn& txn) {
      outcomes.clear();
      for (const auto& object : objects) outcomes.push_back(txn.put(object));
    });
    return outcomes;
  }
  protocol::VerifiedObject clipping(const protocol::SecretKey& key, const std::string& title,
                                    std::int64_t at = T0) {
    return sign(key, testing::clipping(title, "Body of " + title, "2026-12-01", {"region:mali"}),
                at);
  }
  protocol::VerifiedObject retraction(const protocol::SecretKey& key, std::vector<ObjectId> ids,
                                      std::int64_t at = T0 + 100) {
    std::sort(ids.begin(), ids.end());
    protocol::Retraction r;
    r.clippings = std::move(ids);
    r.reason = "names a source";
    return sign(key, std::move(r), at);
  }
  bool held(const ObjectId& id) { return m_archive->beginRead().contains(id); }

  TempDir m_dir;
  std::unique_ptr<Archive> m_archive;
  protocol::SecretKey m_coordinator = testing::keyNumber(1);
  protocol::SecretKey m_office = testing::keyNumber(2);
  protocol::SecretKey m_stranger = testing::keyNumber(3);
};

TEST_F(Retraction, ACoordinatorsRetractionRemovesAnOfficesClippingFromEveryIndex) {
  auto kept = clipping(m_office, "Kept report on Gao");
  auto gone = clipping(m_office, "Gone report naming Amadou");
  store({kept, gone});
  store({retraction(m_coordinator, {gone.id()})});

  auto txn = m_archive->beginRead();
  EXPECT_FALSE(txn.contains(gone.id()));
  EXPECT_TRUE(txn.contains(kept.id()));
  EXPECT_TRUE(txn.search("amadou").empty());
  EXPECT_EQ(txn.search("report"), std::vector<ObjectId>{kept.id()});
  ListQuery byTag;
  byTag.tag = "region:mali";
  EXPECT_EQ(txn.list(byTag), std::vector<ObjectId>{kept.id()});
  auto notice = retractionOf(txn, loadTrust(txn), gone.id());
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->signerName, "HQ");
  EXPECT_EQ(notice->reason, "names a source");
  EXPECT_FALSE(retractionOf(txn, loadTrust(txn), kept.id()));
}

TEST_F(Retraction, ASignerMayRetractItsOwnClippingWithoutBeingTrusted) {
  auto own = clipping(m_stranger, "Stranger's own");
  store({own});
  store({retraction(m_stranger, {own.id()})});
  EXPECT_FALSE(held(own.id()));
}

TEST_F(Retraction, AStrangersRetractionOfSomeoneElsesClippingRemovesNothing) {
  auto office = clipping(m_office, "Office report");
  store({office});
  auto vandal = retraction(m_stranger, {office.id()});
  store({vandal});
  EXPECT_TRUE(held(office.id()));
  EXPECT_TRUE(held(vandal.id())) << "kept and forwarded, like any object";
  auto txn = m_archive->beginRead();
  EXPECT_FALSE(retractionOf(txn, loadTrust(txn), office.id()));
}

TEST_F(Retraction, ARetractedClippingIsNeverStoredAgain) {
  auto gone = clipping(m_office, "Gone");
  store({gone});
  store({retraction(m_coordinator, {gone.id()})});
  EXPECT_EQ(store({gone}), std::vector<PutOutcome>{PutOutcome::Retracted});
  EXPECT_FALSE(held(gone.id()));
}

TEST_F(Retraction, ARetractionThatArrivesFirstRefusesTheClippingLater) {
  auto gone = clipping(m_office, "Arrives late");
  store({retraction(m_coordinator, {gone.id()})});
  EXPECT_EQ(store({gone}), std::vector<PutOutcome>{PutOutcome::Retracted});
  EXPECT_FALSE(held(gone.id()));
}

TEST_F(Retraction, AClippingAndItsRetractionInOneBatchLeaveNoClippingInEitherOrder) {
  auto first = clipping(m_office, "First");
  auto second = clipping(m_office, "Second");
  store({first, retraction(m_coordinator, {first.id()})});
  store({retraction(m_coordinator, {second.id()}, T0 + 200), second});
  EXPECT_FALSE(held(first.id()));
  EXPECT_FALSE(held(second.id()));
}

TEST_F(Retraction, AnOwnRetractionArrivingFirstOnlyRefusesClippingsOfThatSigner) {
  auto office = clipping(m_office, "Office copy");
  // The stranger retracts an id it does not hold; the clipping turns out to be the office's.
  store({retraction(m_stranger, {office.id()})});
  EXPECT_EQ(store({office}), std::vector<PutOutcome>{PutOutcome::Stored});
  // The office's own retraction of its own clipping still takes effect.
  store({retraction(m_office, {office.id()})});
  EXPECT_FALSE(held(office.id()));
}

TEST_F(Retraction, TrustArrivingLaterMakesAWaitingRetractionTakeEffect) {
  auto office = clipping(m_office, "Office report");
  auto deputy = testing::keyNumber(4);
  store({office, retraction(deputy, {office.id()})});
  EXPECT_TRUE(held(office.id())) << "the deputy is nobody here yet";
  // HQ certifies the deputy as coordinator, valid from before the retraction was signed.
  store({sign(m_coordinator, protocol::KeyCert{deputy.publicKey(), Role::Coordinator, "Deputy", 0},
              T0 - 10)});
  EXPECT_FALSE(held(office.id()));
}

TEST_F(Retraction, RetractingASignerSinceATimeTakesWhatItSignedThenAndRefusesWhatComesLater) {
  auto before = clipping(m_office, "Before the theft", T0 - 1000);
  auto after = clipping(m_office, "After the theft", T0 + 10);
  auto later = clipping(m_office, "Much later", T0 + 5000);
  store({before, after});
  protocol::Retraction r;
  r.subject = m_office.publicKey();
  r.since = T0;
  r.reason = "laptop stolen";
  store({sign(m_coordinator, r, T0 + 100)});
  EXPECT_TRUE(held(before.id()));
  EXPECT_FALSE(held(after.id()));
  EXPECT_EQ(store({later}), std::vector<PutOutcome>{PutOutcome::Retracted});
}

TEST_F(Retraction, ImportDoesNotSignRetractedContentAgain) {
  auto ingested =
      ingestClippings(*m_archive, m_office, {testing::clipping("Names a source", "Text")}, T0);
  ASSERT_EQ(ingested.stored.size(), 1u);
  store({retraction(m_coordinator, ingested.stored)});
  auto again =
      ingestClippings(*m_archive, m_office, {testing::clipping("Names a source", "Text")}, T0 + 60);
  EXPECT_TRUE(again.stored.empty());
  EXPECT_EQ(again.retracted.size(), 1u);
  EXPECT_EQ(m_archive->beginRead().search("source").size(), 0u);
}

TEST_F(Retraction, RetractRefusesAnOfficeRetractingAnotherOfficesClipping) {
  auto other = clipping(m_stranger, "Not the office's");
  store({other});
  auto result = retract(*m_archive, m_office, {{other.id()}, std::nullopt, 0, "wrong"}, T0 + 100);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().find(other.id().hex()), std::string::npos) << result.error();
  EXPECT_TRUE(held(other.id()));
}

TEST_F(Retraction, RetractByTheCoordinatorRemovesAndReportsWhatItTook) {
  auto a = clipping(m_office, "A");
  auto b = clipping(m_office, "B");
  store({a, b});
  auto result =
      retract(*m_archive, m_coordinator, {{a.id()}, std::nullopt, 0, "names a source"}, T0 + 100);
  ASSERT_TRUE(result) << result.error();
  ASSERT_EQ(result->removed.size(), 1u);
  EXPECT_EQ(result->removed[0].title, "A");
  EXPECT_EQ(result->retractions.size(), 1u);
  EXPECT_FALSE(held(a.id()));
  EXPECT_TRUE(held(b.id()));
  auto again =
      retract(*m_archive, m_coordinator, {{a.id()}, std::nullopt, 0, "names a source"}, T0 + 200);
  EXPECT_FALSE(again) << "already retracted here";
}

TEST_F(Retraction, ARetractionWithoutAReasonIsRefused) {
  auto a = clipping(m_office, "A");
  store({a});
  EXPECT_FALSE(retract(*m_archive, m_coordinator, {{a.id()}, std::nullopt, 0, ""}, T0));
  EXPECT_TRUE(held(a.id()));
}

}  // namespace
}  // namespace fieldsync::store
