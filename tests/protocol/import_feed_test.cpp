#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/importers.h"
#include "protocol/text.h"
#include "tests/protocol/import_fixture.h"

namespace fieldsync::protocol {
namespace {

using testing::readFixtureBytes;
using Strings = std::vector<std::string>;

std::vector<Clipping> parseOk(std::string_view bytes) {
  auto result = parseFeed(bytes);
  EXPECT_TRUE(result.ok()) << "line " << result.error().line << ": " << result.error().message;
  return result.ok() ? std::move(result).value() : std::vector<Clipping>{};
}

TEST(FeedImport, AnRssFeedGivesOneClippingPerItem) {
  const auto c = parseOk(readFixtureBytes("feeds/reliefweb-mali-rss.xml"));
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].title, "Mali: Displacement figures rise as fighting reaches Konna");
  EXPECT_EQ(c[0].url, "https://updates.example.org/report/mali/displacement-figures-rise-konna");
  EXPECT_EQ(c[0].source, "Humanitarian Updates - Mali");
  EXPECT_EQ(c[0].authors, Strings{"UN Office for the Coordination of Humanitarian Affairs"});
  EXPECT_EQ(c[0].published, "2013-01-15");
  EXPECT_EQ(c[0].language, "en");
  EXPECT_EQ(c[0].collection, "Humanitarian Updates - Mali feed");
  EXPECT_EQ(c[0].body,
            "More than 1,000 people have fled Konna since 10 January, according to local "
            "authorities.\n\nPartners are scaling up food & shelter assistance in Mopti.");

  EXPECT_EQ(c[1].title, "Mali: UNICEF warns of risks to children & schools in the north");
  EXPECT_EQ(c[1].authors, Strings{"Marixie Mercado"});
  EXPECT_EQ(c[1].published, "2013-01-14");
  EXPECT_EQ(c[1].body,
            "Schools in Gao, Timbuktu and Kidal have been closed for months.\n\n"
            "UNICEF says children face recruitment by armed groups.");

  EXPECT_EQ(c[2].url, "https://updates.example.org/report/mali/food-security-outlook-jan-jun-2013");
  EXPECT_EQ(c[2].published, "2013-01-11");
  EXPECT_EQ(c[2].body, "The lean season is expected to start early in the Niger river valley.");
}

TEST(FeedImport, AnAtomFeedGivesOneClippingPerEntry) {
  const auto c = parseOk(readFixtureBytes("feeds/hrw-drc-atom.xml"));
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].title, "DR Congo: M23 Rebels Committing War Crimes & Abuses");
  EXPECT_EQ(c[0].url, "https://rights.example.org/news/2013/01/drc-m23-war-crimes");
  EXPECT_EQ(c[0].source, "Rights Watch: Democratic Republic of Congo");
  EXPECT_EQ(c[0].authors, Strings{"Ida Sawyer"});
  EXPECT_EQ(c[0].published, "2013-01-09");
  EXPECT_EQ(c[0].language, "en");
  EXPECT_TRUE(c[0].body.ends_with("\n\nRwandan officials continue to support the group."));

  EXPECT_EQ(c[1].authors, Strings{"Rights Watch"});  // the feed's author
  EXPECT_EQ(c[1].published, "2013-01-03");           // updated, without published
  EXPECT_EQ(c[1].url, "https://rights.example.org/news/2013/01/drc-ending-cycle");
  EXPECT_EQ(
      c[1].body,
      "Justice for grave crimes is essential to end the cycle of abuse.\n\nSecond paragraph.");
}

// The archive stores nothing twice when the content is the same: parsing is deterministic.
TEST(FeedImport, TheSameFeedParsedAgainGivesTheSameClippings) {
  const std::string feed = readFixtureBytes("feeds/reliefweb-mali-rss.xml");
  EXPECT_EQ(parseOk(feed), parseOk(feed));
}

TEST(FeedImport, EntityDeclarationsAreRefused) {
  const auto result = parseFeed(
      "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;\">]>"
      "<rss><channel><item><title>&b;</title></item></channel></rss>");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("entities"), std::string::npos);
}

TEST(FeedImport, AnItemWithNeitherTitleNorTextIsRefusedWithItsLine) {
  const auto result = parseFeed(
      "<rss><channel><title>T</title>\n<item><title>a</title></item>\n<item>\n"
      "<link>https://x.example</link></item></channel></rss>");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().line, 3u);
}

TEST(FeedImport, NotAFeedIsRefused) {
  EXPECT_FALSE(parseFeed("<html><body>x</body></html>").ok());
  EXPECT_FALSE(parseFeed("plain text").ok());
  EXPECT_FALSE(parseFeed("<rss><channel><title>T</title></channel></rss>").ok());
}

TEST(FeedImport, FormatDetectionFindsFeeds) {
  EXPECT_EQ(detectFormat("x", readFixtureBytes("feeds/reliefweb-mali-rss.xml")), Format::Feed);
  EXPECT_EQ(detectFormat("x", readFixtureBytes("feeds/hrw-drc-atom.xml")), Format::Feed);
  EXPECT_EQ(detectFormat("x", "<?xml version='1.0'?>\n<!-- c -->\n<rdf:RDF>"), Format::Feed);
}

}  // namespace
}  // namespace fieldsync::protocol
