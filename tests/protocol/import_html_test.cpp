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

Clipping parseOne(std::string_view bytes) {
  const auto result = parseHtml(bytes);
  EXPECT_TRUE(result.ok()) << "line " << result.error().line << ": " << result.error().message;
  if (!result.ok() || result->size() != 1) return {};
  return result.value()[0];
}

TEST(HtmlImport, ASavedNewsPageGivesItsArticleAndMetadata) {
  const Clipping c = parseOne(readFixtureBytes("web/kenya-elections-article.html"));
  EXPECT_EQ(c.title, "Kenya braces for a tense vote as rivals trade accusations");
  EXPECT_EQ(c.source, "The Nairobi Observer");
  EXPECT_EQ(c.authors, (Strings{"Wanjiru Kamau", "Peter Otieno"}));
  EXPECT_EQ(c.published, "2013-02-27");
  EXPECT_EQ(c.url, "https://observer.example.co.ke/politics/2013/02/kenya-braces-for-tense-vote");
  EXPECT_EQ(c.language, "en-GB");
  EXPECT_EQ(c.body,
            "NAIROBI \xE2\x80\x94 Five years after the violence that followed the 2007 election "
            "left more than 1,100 people dead, Kenyans go to the polls on Monday amid fears that "
            "old grievances could flare again.\n\n"
            "Civil society groups in the Rift Valley say they have recorded a rise in hate speech "
            "& leaflets warning \xE2\x80\x9Coutsiders\xE2\x80\x9D to leave before the vote.\n\n"
            "\xE2\x80\x9CWe are not going back to 2008,\xE2\x80\x9D said a police commander in "
            "Nakuru, adding that 99,000 officers would be deployed across the country.\n\n"
            "A new constitution, new risks\n\n"
            "The 2010 constitution devolves power to 47 counties, multiplying the number of "
            "contests \xE2\x80\x94 and, analysts warn, the number of places where a disputed "
            "result could spark violence.");
}

// Chrome's "Webpage, Single File" is MIME: the e-mail importer hands its page to these rules.
TEST(HtmlImport, APageSavedAsMhtmlGivesTheSameClippingAsTheHtml) {
  EXPECT_EQ(detectFormat("x", readFixtureBytes("web/kenya-elections-article.mhtml")),
            Format::Email);
  const auto saved = parseEmail(readFixtureBytes("web/kenya-elections-article.mhtml"));
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  ASSERT_EQ(saved->size(), 1u);
  EXPECT_EQ(saved.value()[0], parseOne(readFixtureBytes("web/kenya-elections-article.html")));
}

TEST(HtmlImport, WithoutOpenGraphTheTitleLosesItsSiteTailAndTheCharsetIsTheDeclaredOne) {
  const Clipping c = parseOne(readFixtureBytes("web/ngo-statement-latin1.html"));
  EXPECT_EQ(c.title, "C\xC3\xB4te d'Ivoire: Justice for post-election crimes must be impartial");
  EXPECT_EQ(c.source, "Droits Humains Ouest Afrique");
  EXPECT_EQ(c.published, "2013-01-09");
  EXPECT_EQ(c.url, "");
  EXPECT_EQ(c.body,
            "Par l'\xC3\xA9quipe de plaidoyer\n\n"
            "Two years after the post-election crisis, prosecutions have targeted supporters of "
            "one camp only.\n\n"
            "Victims on all sides deserve justice, r\xC3\xA9paration and the truth.");
}

TEST(HtmlImport, TheFirstHeadingTitlesAPageWithoutTitle) {
  const Clipping c = parseOne(
      "<html><body><nav><p>Menu</p></nav><h1>Floods in &quot;Uvira&quot;</h1>"
      "<p>Water <br>rose.</p><footer><p>Footer</p></footer></body></html>");
  EXPECT_EQ(c.title, "Floods in \"Uvira\"");
  EXPECT_EQ(c.body, "Water\nrose.");
}

TEST(HtmlImport, APageWithoutTextIsRefused) {
  const auto result =
      parseHtml("<html><head><title>T</title></head><body><nav><p>x</p></nav></body></html>");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("no article text"), std::string::npos);
}

TEST(HtmlImport, AnUndeclaredCharsetIsUtf8WhenValid) {
  const Clipping c = parseOne("<title>Caf\xC3\xA9</title><p>\xC3\xA9t\xC3\xA9</p>");
  EXPECT_EQ(c.title, "Caf\xC3\xA9");
  EXPECT_EQ(c.body, "\xC3\xA9t\xC3\xA9");
}

TEST(HtmlImport, FormatDetectionFindsWebPages) {
  EXPECT_EQ(detectFormat("x", readFixtureBytes("web/kenya-elections-article.html")), Format::Html);
  EXPECT_EQ(detectFormat("x", readFixtureBytes("web/ngo-statement-latin1.html")), Format::Html);
  EXPECT_EQ(detectFormat("x", "\n <!doctype html><p>x"), Format::Digest);  // no html/head/body
  EXPECT_EQ(detectFormat("x", "<div><body>"), Format::Html);
}

}  // namespace
}  // namespace fieldsync::protocol
