#include "store/ingest.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "tests/store/store_fixture.h"

namespace fieldsync::store {
namespace {

using protocol::Clipping;
using testing::clipping;
using testing::keyNumber;
using testing::TempArchive;

std::vector<Clipping> threeArticles() {
  return {clipping("Floods in Gao", "The river rose.", "2013-01-11", {"region:mali"}, "IRIN"),
          clipping("Cholera in Mopti", "Clinics are full.", "2013-01-12", {}, "AFP"),
          clipping("Harvest report", "Millet prices fell.", "2013-01", {}, "IRIN")};
}

TEST(Ingest, TellsItsProgressClippingByClipping) {
  TempArchive t;
  std::vector<Progress> told;
  (void)ingestClippings(*t.archive, keyNumber(1), threeArticles(), 100,
                        [&](const Progress& p) { told.push_back(p); });
  ASSERT_EQ(told.size(), 4u);  // before each clipping, and once all are signed
  for (std::size_t i = 0; i < told.size(); ++i) {
    EXPECT_EQ(told[i].done, i);
    EXPECT_EQ(told[i].total, 3u);
  }
  EXPECT_GT(told.back().bytes, 0u);
}

TEST(Ingest, StoresEveryNewClippingSignedByTheKey) {
  TempArchive t;
  const auto key = keyNumber(1);
  const auto input = threeArticles();
  const IngestResult result = ingestClippings(*t.archive, key, input, 1357900000);
  ASSERT_EQ(result.stored.size(), 3u);
  EXPECT_TRUE(result.duplicates.empty());

  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.count(), 3u);
  for (std::size_t i = 0; i < input.size(); ++i) {  // in input order
    const auto bytes = txn.get(result.stored[i]);
    ASSERT_TRUE(bytes);
    const auto decoded = protocol::verify(*bytes);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->payload().signer, key.publicKey());
    EXPECT_EQ(decoded->payload().signedAt, 1357900000);
    ASSERT_NE(decoded->payload().clipping(), nullptr);
    EXPECT_EQ(*decoded->payload().clipping(), input[i]);
  }
  EXPECT_EQ(txn.search("cholera clinics"), std::vector<ObjectId>{result.stored[1]});
}

TEST(Ingest, NewClippingsGetSeqsInInputOrder) {
  TempArchive t;
  const auto key = keyNumber(1);
  const auto articles = threeArticles();
  const IngestResult first = ingestClippings(*t.archive, key, {articles[1]}, 100);
  const IngestResult result = ingestClippings(*t.archive, key, articles, 200);
  const ReadTxn txn = t.archive->beginRead();
  // The known one keeps its seq; the new ones follow it in input order.
  EXPECT_EQ(txn.since(0), (std::vector<SeqEntry>{
                              {1, first.stored[0]}, {2, result.stored[0]}, {3, result.stored[1]}}));
  EXPECT_EQ(txn.lastSeq(), 3u);
}

TEST(Ingest, KnownContentWithTheSameKeyStoresNothingNew) {
  TempArchive t;
  const auto key = keyNumber(1);
  const IngestResult first = ingestClippings(*t.archive, key, threeArticles(), 100);
  // Later, the same articles again (a digest imported twice), at another time.
  const IngestResult again = ingestClippings(*t.archive, key, threeArticles(), 200);
  EXPECT_TRUE(again.stored.empty());
  EXPECT_EQ(again.duplicates, first.stored);
  EXPECT_EQ(t.count(), 3u);
}

TEST(Ingest, KnownContentWithAnotherKeyIsStoredAgain) {
  TempArchive t;
  const auto office = keyNumber(1);
  const auto partner = keyNumber(2);
  const auto article = std::vector<Clipping>{threeArticles()[0]};
  const IngestResult mine = ingestClippings(*t.archive, office, article, 100);
  const IngestResult theirs = ingestClippings(*t.archive, partner, article, 100);
  ASSERT_EQ(mine.stored.size(), 1u);
  ASSERT_EQ(theirs.stored.size(), 1u);
  EXPECT_NE(mine.stored[0], theirs.stored[0]);
  EXPECT_TRUE(theirs.duplicates.empty());
  EXPECT_EQ(t.count(), 2u);
  const ReadTxn txn = t.archive->beginRead();
  const ContentHash hash = protocol::contentHash(article[0]);
  EXPECT_EQ(txn.findByContent(hash, office.publicKey()), mine.stored[0]);
  EXPECT_EQ(txn.findByContent(hash, partner.publicKey()), theirs.stored[0]);
}

TEST(Ingest, DuplicatesWithinOneListAreSignedOnce) {
  TempArchive t;
  const auto key = keyNumber(1);
  const auto articles = threeArticles();
  const std::vector<Clipping> input = {articles[0], articles[1], articles[0], articles[0]};
  const IngestResult result = ingestClippings(*t.archive, key, input, 100);
  ASSERT_EQ(result.stored.size(), 2u);
  EXPECT_EQ(result.duplicates, (std::vector<ObjectId>{result.stored[0], result.stored[0]}));
  EXPECT_EQ(t.count(), 2u);
}

TEST(Ingest, MixOfKnownAndNewReportsBoth) {
  TempArchive t;
  const auto key = keyNumber(1);
  const auto articles = threeArticles();
  const IngestResult first = ingestClippings(*t.archive, key, {articles[1]}, 100);
  const IngestResult result = ingestClippings(*t.archive, key, articles, 200);
  EXPECT_EQ(result.duplicates, first.stored);
  ASSERT_EQ(result.stored.size(), 2u);
  EXPECT_EQ(t.count(), 3u);
}

TEST(Ingest, AnInvalidClippingStoresNothing) {
  TempArchive t;
  const auto key = keyNumber(1);
  auto input = threeArticles();
  input.push_back(clipping(""));  // a title is required
  EXPECT_THROW((void)ingestClippings(*t.archive, key, input, 100), std::invalid_argument);
  auto badDate = threeArticles();
  badDate[1].published = "last Tuesday";
  EXPECT_THROW((void)ingestClippings(*t.archive, key, badDate, 100), std::invalid_argument);
  EXPECT_EQ(t.count(), 0u);
  EXPECT_TRUE(t.archive->beginRead().search("floods").empty());
}

TEST(Ingest, EmptyListStoresNothing) {
  TempArchive t;
  const IngestResult result = ingestClippings(*t.archive, keyNumber(1), {}, 100);
  EXPECT_TRUE(result.stored.empty());
  EXPECT_TRUE(result.duplicates.empty());
  EXPECT_EQ(t.count(), 0u);
}

TEST(Ingest, LargeImportGrowsTheMapAndStoresEverything) {
  TempArchive t(64u << 10);
  std::vector<Clipping> input;
  for (int i = 0; i < 300; ++i) {
    std::string body;
    while (body.size() < 5000) body += "word" + std::to_string((i + body.size()) % 500) + " ";
    body.pop_back();
    input.push_back(clipping("Article " + std::to_string(i), body, "2013-01-11"));
  }
  const IngestResult result = ingestClippings(*t.archive, keyNumber(1), input, 100);
  EXPECT_EQ(result.stored.size(), 300u);
  EXPECT_EQ(t.count(), 300u);
  EXPECT_EQ(t.archive->beginRead().search("article").size(), 300u);
}

}  // namespace
}  // namespace fieldsync::store
