#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/importers.h"
#include "protocol/text.h"

namespace fieldsync::protocol {
namespace {

using Strings = std::vector<std::string>;

const std::string PUBLISHER = "International Coalition for the Responsibility to Protect";
const std::string COLLECTION = PUBLISHER + " digest 2013-01-11";

std::string readFixture(const std::string& name) {
  std::ifstream in(std::string(FIELDSYNC_FIXTURES_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << "missing fixture " << name;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::vector<Clipping>& fixtureClippings() {
  static const std::vector<Clipping> clippings = [] {
    const auto result = parseDigest(readFixture("icrtop-listserv-2013-01-11.txt"));
    EXPECT_TRUE(result.ok()) << "line " << result.error().line << ": " << result.error().message;
    return result.ok() ? result.value() : std::vector<Clipping>{};
  }();
  return clippings;
}

// The one clipping whose title starts with prefix.
const Clipping& byTitle(const std::vector<Clipping>& clippings, std::string_view prefix) {
  const auto matches = std::count_if(clippings.begin(), clippings.end(), [&](const Clipping& c) {
    return c.title.starts_with(prefix);
  });
  EXPECT_EQ(matches, 1) << prefix;
  const auto it = std::find_if(clippings.begin(), clippings.end(),
                               [&](const Clipping& c) { return c.title.starts_with(prefix); });
  static const Clipping none;
  return it == clippings.end() ? none : *it;
}

struct Expected {
  std::string_view title;  // prefix
  std::string_view source;
  Strings authors;
  std::string_view published;
  Strings tags;
};

// ---------------------------------------------------------------------------------------------
// The fixture

TEST(DigestImport, FixtureGivesTwelveClippings) { EXPECT_EQ(fixtureClippings().size(), 12u); }

TEST(DigestImport, FixtureArticlesHaveTheirTitleSourceAuthorsAndDate) {
  const std::vector<Expected> articles = {
      {"Responsibility to Object", "Foreign Policy", {"David Kaye"}, "2013-01-11", {}},
      {"Protection of minorities must take priority in Syria transition",
       "Amnesty International",
       {},
       "2013-01-10",
       {}},
      {"Statement of the Special Adviser of the Secretary-General on the Prevention of Genocide "
       "on the situation in Syria",
       "United Nations Office on Genocide Prevention and the Responsibility to Protect",
       {},
       "2012-12-20",
       {}},
      {"Ending the cycle of abuse in Congo",
       "Human Rights Watch",
       {},
       "2013-01-02",
       {"region:democratic-republic-of-congo"}},
      {"Electoral Violence in Kenya",
       "Council on Foreign Relations",
       {"Joel Barkan"},
       "2013-01",
       {"region:kenya"}},
      {"Mali: Outside the Spotlight, Displaced People in Urgent Need of Assistance",
       "Refugees International",
       {"Andrea Lari", "Alice Thomas"},
       "2012-12-13",
       {"region:mali"}},
      // The no-break space of "127th IPU" collapses to a space, as in any title.
      {"The Canadian Centre for R2P presents alongside Ed Luck at the 127th IPU Assembly",
       "Canadian Centre for the Responsibility to Protect",
       {},
       "2013-01-01",
       {}},
      {"The Responsibility to Protect in a Time of Uncertainty",
       "UNA \xE2\x80\x93 UK",
       {"Rachel Gerber"},
       "2012-12-14",
       {}},
      {"\xE2\x80\x9CTimely and Decisive Response\xE2\x80\x9D: Summary of the Informal "
       "Interactive Dialogue of the UN General Assembly on the Responsibility to Protect held "
       "on 5 September 2012",
       "Global Centre for the Responsibility to Protect",
       {},
       "2012-12",
       {}},
      {"Minimizing the impact of illicit small arms and diverted weapons transfers in the "
       "commission of atrocity crimes, human rights violations and other violence",
       "UN Office on Disarmament Affairs",
       {"Hector Guerra", "Robert Zuber"},
       "2012-11",
       {}},
  };
  const auto& clippings = fixtureClippings();
  for (const Expected& e : articles) {
    SCOPED_TRACE(std::string(e.title));
    const Clipping& c = byTitle(clippings, e.title);
    EXPECT_EQ(c.title, e.title);
    EXPECT_EQ(c.source, e.source);
    EXPECT_EQ(c.authors, e.authors);
    EXPECT_EQ(c.published, e.published);
    EXPECT_EQ(c.tags, e.tags);
    EXPECT_EQ(c.collection, COLLECTION);
    EXPECT_EQ(c.language, "");
    EXPECT_EQ(c.url, "");
    EXPECT_FALSE(c.body.empty());
  }
}

TEST(DigestImport, FixtureRegionTagsGoToExactlyTheThreeRegionalArticles) {
  std::vector<std::pair<std::string, std::string>> regional;
  for (const Clipping& c : fixtureClippings())
    for (const std::string& tag : c.tags)
      if (tag.starts_with("region:")) regional.emplace_back(c.title, tag);
  ASSERT_EQ(regional.size(), 3u);
  EXPECT_EQ(regional[0], std::make_pair(std::string("Ending the cycle of abuse in Congo"),
                                        std::string("region:democratic-republic-of-congo")));
  EXPECT_EQ(regional[1], std::make_pair(std::string("Electoral Violence in Kenya"),
                                        std::string("region:kenya")));
  EXPECT_TRUE(regional[2].first.starts_with("Mali: Outside the Spotlight"));
  EXPECT_EQ(regional[2].second, "region:mali");
}

TEST(DigestImport, FixtureEditorialPiecesComeFromThePublisherOnTheDigestDate) {
  const auto& clippings = fixtureClippings();
  std::vector<const Clipping*> editorials;
  for (const Clipping& c : clippings)
    if (std::find(c.tags.begin(), c.tags.end(), "kind:editorial") != c.tags.end())
      editorials.push_back(&c);
  ASSERT_EQ(editorials.size(), 2u);
  for (const Clipping* c : editorials) {
    EXPECT_EQ(c->source, PUBLISHER);
    EXPECT_EQ(c->published, "2013-01-11");
    EXPECT_TRUE(c->authors.empty());
    EXPECT_EQ(c->tags, Strings{"kind:editorial"});
    EXPECT_EQ(c->collection, COLLECTION);
    EXPECT_LE(c->title.size(), 120u);
  }
  // The Spotlight interview: its first sentence is long, so the title is cut with "…".
  EXPECT_NE(editorials[0]->title.find("Spotlight"), std::string::npos);
  EXPECT_TRUE(editorials[0]->title.starts_with("We are delighted to introduce to you"));
  EXPECT_TRUE(editorials[0]->title.ends_with("\xE2\x80\xA6"));
  EXPECT_TRUE(editorials[0]->body.starts_with("We are delighted"));
  EXPECT_NE(editorials[0]->body.find("WFUNA"), std::string::npos);  // paragraphs stay with it
  EXPECT_TRUE(
      editorials[0]->body.ends_with("challenges associated with implementation. (\xE2\x80\xA6)"));
  // The Syria update.
  EXPECT_EQ(editorials[1]->title,
            "The twenty-two month-long crisis, which is becoming progressively sectarian, "
            "continues to worsen as fatalities increase.");
  EXPECT_TRUE(editorials[1]->body.ends_with("during the last month."));
  // Clippings come in the order of the digest: the editorial pieces first.
  EXPECT_EQ(&clippings[0], editorials[0]);
  EXPECT_EQ(&clippings[1], editorials[1]);
}

TEST(DigestImport, FixtureClippingsHoldNoSiteChrome) {
  const std::vector<std::string_view> chrome = {"Member Sign In",
                                                "PDF Print",
                                                "spambots",
                                                "Facebook",
                                                "Twitter",
                                                "708 Third Avenue",
                                                "c/o World Federalist",
                                                "Browse Documents",
                                                "Thanks to Inara Khan",
                                                "Read the full post",
                                                "Read the full report",
                                                "Contact"};
  for (const Clipping& c : fixtureClippings()) {
    SCOPED_TRACE(c.title);
    std::string all = c.title + "\n" + c.source + "\n" + c.body;
    for (const std::string& a : c.authors) all += "\n" + a;
    for (std::string_view word : chrome) EXPECT_EQ(all.find(word), std::string::npos) << word;
    for (std::string_view line : splitLines(c.body)) {
      EXPECT_NE(line, "\xC2\xA0");
      EXPECT_EQ(trimSpace(line), line) << "untrimmed line: " << line;
    }
  }
}

TEST(DigestImport, FixtureBodiesAreParagraphsSeparatedByOneBlankLine) {
  for (const Clipping& c : fixtureClippings()) {
    SCOPED_TRACE(c.title);
    EXPECT_EQ(c.body.find("\n\n\n"), std::string::npos);
    EXPECT_EQ(trimSpace(c.body), c.body);
    EXPECT_EQ(normalizeClipping(c).value(), c);  // already in normal form
  }
  const auto& clippings = fixtureClippings();
  const Clipping& kaye = byTitle(clippings, "Responsibility to Object");
  EXPECT_TRUE(kaye.body.starts_with("In Syria, the new year begins without change."));
  EXPECT_NE(kaye.body.find("lives in 2013.\n\nBut if the situation"), std::string::npos);
  EXPECT_TRUE(kaye.body.ends_with("upholding the responsibility to protect. (\xE2\x80\xA6)"));
  // A line break inside a paragraph stays a single "\n".
  const Clipping& gerber = byTitle(clippings, "The Responsibility to Protect in a Time");
  EXPECT_NE(gerber.body.find("United Nations Secretary\nGeneral encouraged"), std::string::npos);
  // The small arms article ends before the footer and its link text.
  const Clipping& arms = byTitle(clippings, "Minimizing the impact");
  EXPECT_TRUE(arms.body.starts_with("Hector Guerra coordinates"));
  EXPECT_TRUE(arms.body.ends_with("potentially diverted transfers. (\xE2\x80\xA6)"));
  // The Mali body starts at its text, without the no-break space that led its first line.
  const Clipping& mali = byTitle(clippings, "Mali:");
  EXPECT_TRUE(mali.body.starts_with("Since hard-line Islamist groups"));
}

// ---------------------------------------------------------------------------------------------
// The family: another digest of the same shape

std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

constexpr std::string_view NBSP = "\xC2\xA0";

std::string syntheticDigest() {
  std::string text =
      "Member Sign In\n"
      "Asia Pacific Centre for the Responsibility to Protect\n"
      "PDF Print E-mail\n"
      "3 March 2014\n"
      "Twitter: Follow us\n"
      "NBSP\n"
      "1. Jane Doe, The Diplomat \xE2\x80\x93 Why Myanmar matters now\n"
      "2.Amnesty International - Stop the executions in Iraq\n"
      "NBSP\n"
      "1. Myanmar: Human Rights Watch \xE2\x80\x93 Burma: end abuses against the Rohingya\n"
      "2. C\xC3\xB4te d\xE2\x80\x99Ivoire: Paul Roe and Ann Poe, Crisis Group \xE2\x80\x93 A "
      "fragile peace in the west\n"
      "\n"
      "NBSP\n"
      "\n"
      "Welcome to the March edition of our listserv. It covers Myanmar and Iraq.\n"
      "NBSP\n"
      "A second paragraph of the welcome.\n"
      "\n"
      "\n"
      "NBSP\n"
      "1. Why Myanmar matters now\n"
      "By Jane Doe\n"
      "The Diplomat\n"
      "2 March 2014\n"
      "NBSP\n"
      "Myanmar is changing fast.   NBSP\n"
      "A wrapped line.\n"
      "\n"
      "Second paragraph.\n"
      "NBSP\n"
      "NBSP\n"
      "2. Stop the executions in Iraq\n"
      "Amnesty International\n"
      "Feb. 2014\n"
      "\n"
      "Iraq executed 150 people last year.\n"
      "Read the full post\n"
      "NBSP\n"
      "1. Burma: end abuses against the Rohingya\n"
      "Human Rights Watch\n"
      "28 February 2014\n"
      "\n"
      "HRW body.\n"
      "\n"
      "2. A fragile peace in the west\n"
      "Paul Roe and Ann Poe\n"
      "Taken from \xE2\x80\x9CQuarterly Review\xE2\x80\x9D\n"
      "A publication from the International Crisis Group\n"
      "January 2014\n"
      "NBSP\n"
      "Peace body.\n"
      "NBSP\n"
      "Thanks to Someone Else for compiling this listserv.\n"
      "Browse Documents by Region:\n"
      "Asia Pacific Centre for the Responsibility to Protect\n"
      "Level 1, Building 91, Brisbane\n";
  for (std::size_t at; (at = text.find("NBSP")) != std::string::npos;) text.replace(at, 4, NBSP);
  return text;
}

TEST(DigestImport, AnotherDigestOfTheFamilyWithCrlfLineEndsParses) {
  const auto result = parseDigest(crlf(syntheticDigest()));
  ASSERT_TRUE(result.ok()) << "line " << result.error().line << ": " << result.error().message;
  const auto& clippings = result.value();
  ASSERT_EQ(clippings.size(), 5u);
  const std::string collection =
      "Asia Pacific Centre for the Responsibility to Protect digest 2014-03-03";
  for (const Clipping& c : clippings) {
    EXPECT_EQ(c.collection, collection);
    EXPECT_EQ(c.body.find('\r'), std::string::npos);
    EXPECT_EQ(normalizeClipping(c).value(), c);
  }

  const Clipping& welcome = clippings[0];
  EXPECT_EQ(welcome.title, "Welcome to the March edition of our listserv.");
  EXPECT_EQ(welcome.source, "Asia Pacific Centre for the Responsibility to Protect");
  EXPECT_EQ(welcome.published, "2014-03-03");
  EXPECT_EQ(welcome.tags, Strings{"kind:editorial"});
  EXPECT_EQ(welcome.body,
            "Welcome to the March edition of our listserv. It covers Myanmar and Iraq.\n\n"
            "A second paragraph of the welcome.");

  EXPECT_EQ(clippings[1].title, "Why Myanmar matters now");
  EXPECT_EQ(clippings[1].authors, Strings{"Jane Doe"});
  EXPECT_EQ(clippings[1].source, "The Diplomat");
  EXPECT_EQ(clippings[1].published, "2014-03-02");
  EXPECT_TRUE(clippings[1].tags.empty());
  EXPECT_EQ(clippings[1].body, "Myanmar is changing fast.\nA wrapped line.\n\nSecond paragraph.");

  EXPECT_EQ(clippings[2].title, "Stop the executions in Iraq");
  EXPECT_EQ(clippings[2].source, "Amnesty International");
  EXPECT_TRUE(clippings[2].authors.empty());
  EXPECT_EQ(clippings[2].published, "2014-02");
  EXPECT_EQ(clippings[2].body, "Iraq executed 150 people last year.");

  EXPECT_EQ(clippings[3].title, "Burma: end abuses against the Rohingya");
  EXPECT_EQ(clippings[3].tags, Strings{"region:myanmar"});
  EXPECT_EQ(clippings[3].published, "2014-02-28");

  // Three header lines before the date: authors, a book to drop, the publisher.
  EXPECT_EQ(clippings[4].title, "A fragile peace in the west");
  EXPECT_EQ(clippings[4].authors, (Strings{"Paul Roe", "Ann Poe"}));
  EXPECT_EQ(clippings[4].source, "International Crisis Group");
  EXPECT_EQ(clippings[4].published, "2014-01");
  EXPECT_EQ(clippings[4].tags, Strings{"region:cote-d-ivoire"});
  EXPECT_EQ(clippings[4].body, "Peace body.");
}

TEST(DigestImport, LfAndCrlfGiveTheSameClippings) {
  const auto lf = parseDigest(syntheticDigest());
  const auto crlfResult = parseDigest(crlf(syntheticDigest()));
  ASSERT_TRUE(lf.ok());
  ASSERT_TRUE(crlfResult.ok());
  EXPECT_EQ(lf.value(), crlfResult.value());
}

TEST(DigestImport, RegionsFollowTitlesWhenTheContentsDoNotLineUpWithTheArticles) {
  // The contents list three entries in one group; the digest carries two articles in another
  // order, so matching by position is impossible and titles decide.
  const std::string text =
      "Field Network\n"
      "May 2014\n"
      "\n"
      "1. Kenya: Joel Barkan, Council on Foreign Relations - Electoral Violence in Kenya\n"
      "2. Mali: Refugees International - Displaced People in Urgent Need\n"
      "3. Syria: Someone - An article that is not in this digest\n"
      "\n"
      "1. Displaced People in Urgent Need\n"
      "Refugees International\n"
      "May 2014\n"
      "\n"
      "Mali text.\n"
      "\n"
      "2. Electoral Violence in Kenya\n"
      "Joel Barkan\n"
      "Council on Foreign Relations\n"
      "April 2014\n"
      "\n"
      "Kenya text.\n"
      "\n"
      "Thanks to Someone for compiling this listserv.\n";
  const auto result = parseDigest(text);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->size(), 2u);
  EXPECT_EQ(result.value()[0].tags, Strings{"region:mali"});
  EXPECT_EQ(result.value()[1].tags, Strings{"region:kenya"});
  EXPECT_EQ(result.value()[0].collection, "Field Network digest 2014-05");
}

TEST(DigestImport, AColonAfterTheDashOrATitleColonIsNoRegion) {
  const std::string text =
      "Field Network\n"
      "May 2014\n"
      "\n"
      "1. Jane Doe - Applying a Lens: Six Essays\n"
      "2. Report: Outside the Spotlight - Refugees International\n"
      "3. Contingency Planning Memorandum: Electoral Violence\n"
      "\n"
      "1. Applying a Lens: Six Essays\n"
      "Jane Doe\n"
      "Some Press\n"
      "2014\n"
      "\n"
      "Text.\n"
      "\n"
      "2. Outside the Spotlight\n"
      "Refugees International\n"
      "2014\n"
      "\n"
      "Text.\n"
      "\n"
      "3. Electoral Violence\n"
      "CFR\n"
      "2014\n"
      "\n"
      "Text.\n";
  const auto result = parseDigest(text);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->size(), 3u);
  for (const Clipping& c : result.value()) EXPECT_TRUE(c.tags.empty()) << c.title;
}

TEST(DigestImport, ADigestWithOnlyEditorialPiecesParses) {
  const std::string text =
      "Field Network\n"
      "11 January 2013\n"
      "\n"
      "1. Only a contents entry\n"
      "\n"
      "\n"
      "\n"
      "Mr. Smith said so. He was right.\n"
      "\n"
      "\n"
      "\n"
      "Second piece.\n"
      "Browse Documents by Region:\n";
  const auto result = parseDigest(text);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->size(), 2u);
  EXPECT_EQ(result.value()[0].title, "Mr. Smith said so.");
  EXPECT_EQ(result.value()[1].title, "Second piece.");
  EXPECT_EQ(result.value()[1].body, "Second piece.");
}

// ---------------------------------------------------------------------------------------------
// Refusals: errors with a line, never a crash, never a partial result

TEST(DigestImport, EmptyOrBlankTextIsAnEmptyFile) {
  for (const std::string& text :
       {std::string(), std::string(" \n\t\r\n"), std::string("\xC2\xA0\n\xC2\xA0\n")}) {
    const auto result = parseDigest(text);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().message, "empty file");
  }
}

TEST(DigestImport, BinaryBytesAreRefusedWithTheLineOfTheFirstBadByte) {
  const auto nul = parseDigest(std::string("Member Sign In\nPublisher\n\x01\x02\0\x03", 29));
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().message, "not UTF-8 text (binary file?)");
  EXPECT_EQ(nul.error().line, 3u);

  const auto utf16 = parseDigest("\xFF\xFEM\0e\0");
  ASSERT_FALSE(utf16.ok());
  EXPECT_EQ(utf16.error().line, 1u);

  std::string fixture = readFixture("icrtop-listserv-2013-01-11.txt");
  fixture[fixture.find("Responsibility to Object\nDavid Kaye")] = '\xC0';
  const auto latin = parseDigest(fixture);
  ASSERT_FALSE(latin.ok());
  EXPECT_EQ(latin.error().message, "not UTF-8 text (binary file?)");
  EXPECT_EQ(latin.error().line, 47u);
}

TEST(DigestImport, TextWithoutADigestShapeIsNoDigest) {
  const auto prose = parseDigest("Just a letter.\n\nWith two paragraphs, and no digest at all.\n");
  ASSERT_FALSE(prose.ok());
  EXPECT_EQ(prose.error().message, "no clippings found: is this a listserv digest?");

  const auto megabyteLine = parseDigest(std::string(1'000'000, 'a'));
  ASSERT_FALSE(megabyteLine.ok());
  EXPECT_EQ(megabyteLine.error().message, "no clippings found: is this a listserv digest?");

  std::string numbered;
  for (int i = 1; i <= 5000; ++i) numbered += std::to_string(i % 7 + 1) + ". Entry\n";
  const auto onlyNumbered = parseDigest(numbered);
  ASSERT_FALSE(onlyNumbered.ok());
  EXPECT_EQ(onlyNumbered.error().message, "no clippings found: is this a listserv digest?");
}

TEST(DigestImport, AHostileNumberOfArticlesIsRefused) {
  std::string text = "Publisher\n2013\n\n";
  for (int i = 0; i < 10'001; ++i) text += "1. x\n2013\n\nbody\n";
  const auto result = parseDigest(text);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("more than 10000 articles"), std::string::npos);
}

TEST(DigestImport, AnArticleBodyOverOneMebibyteIsRefusedAtItsLine) {
  std::string text = syntheticDigest();
  const std::size_t at = text.find("HRW body.");
  text.insert(at, std::string(2'000'000, 'x') + "\n");
  const auto result = parseDigest(text);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "body is larger than 1 MiB");
  EXPECT_EQ(result.error().line, 39u);  // "1. Burma: end abuses..."
}

TEST(DigestImport, TextOverTheImportLimitIsRefused) {
  const auto result = parseDigest(std::string(MAX_IMPORT_BYTES + 1, 'a'));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().line, 0u);
  EXPECT_NE(result.error().message.find("larger than"), std::string::npos);
}

TEST(DigestImport, ADigestCutBeforeItsArticlesEndIsRefusedAsTruncated) {
  const std::string fixture = readFixture("icrtop-listserv-2013-01-11.txt");
  const std::string cut = fixture.substr(0, fixture.find("Foreign Policy\n11 January 2013"));
  const auto result = parseDigest(cut);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("truncated"), std::string::npos);

  const std::string midway = fixture.substr(0, fixture.find("4. Minimizing the impact"));
  const auto partial = parseDigest(midway);
  ASSERT_FALSE(partial.ok());
  EXPECT_NE(partial.error().message.find("truncated"), std::string::npos);
}

TEST(DigestImport, EveryPrefixOfTheFixtureGivesAnErrorOrValidClippings) {
  const std::string fixture = readFixture("icrtop-listserv-2013-01-11.txt");
  for (std::size_t length = 0; length <= fixture.size(); length += 97) {
    const auto result = parseDigest(std::string_view(fixture).substr(0, length));
    if (!result.ok()) {
      EXPECT_FALSE(result.error().message.empty());
      continue;
    }
    for (const Clipping& c : result.value()) {
      EXPECT_FALSE(c.title.empty());
      EXPECT_EQ(normalizeClipping(c).value(), c);
    }
  }
}

TEST(DigestImport, OddShapesGiveErrorsOrClippingsNeverACrash) {
  const std::vector<std::string> inputs = {
      "1.",
      "1. \n",
      "1. Title\n2013\n",
      "1. Title\nSource\n",
      "999. Title\n\xC2\xA0\n\xC2\xA0\n\xC2\xA0\n",
      "Publisher\n2013\n\n1. T\nS\n2013",
      "\n\n\n\n1. T\n1. T\n1. T\n",
      "Thanks to X for compiling this listserv.\n",
      "Publisher\nPublisher\nPublisher\n",
      std::string(300, '1') + ". Title\n2013\n",
      "1. Title\nA publication from the\n2013\n\nbody\n",
      "1. Title\nTaken from x\nArticle taken from y\n2013\n\nbody\n",
      "1. \xE2\x80\x9C\n2013\n\n\xE2\x80\x9C\n",
  };
  for (const std::string& text : inputs) {
    const auto result = parseDigest(text);
    if (!result.ok()) {
      EXPECT_FALSE(result.error().message.empty()) << text;
    } else {
      for (const Clipping& c : result.value()) EXPECT_EQ(normalizeClipping(c).value(), c) << text;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Other years' layouts (the corpus in tests/fixtures/digests/ scores them all; these pin the
// rules one by one)

TEST(DigestImport, SlashDatesAreDayFirstUnlessAnotherDateOfTheDigestIsOnlyMonthFirst) {
  const std::string digest =
      "Field Network\n"
      "Date: 05/03/2015\n"
      "\n"
      "1. First\n"
      "Reuters\n"
      "Date: 04/03/2015\n"
      "\n"
      "Text.\n";
  const auto dayFirst = parseDigest(digest);
  ASSERT_TRUE(dayFirst.ok()) << dayFirst.error().message;
  EXPECT_EQ(dayFirst.value()[0].published, "2015-03-04");
  EXPECT_EQ(dayFirst.value()[0].collection, "Field Network digest 2015-03-05");

  const auto monthFirst = parseDigest(digest + "\n2. Second\nAFP\n03/25/2015\n\nText.\n");
  ASSERT_TRUE(monthFirst.ok()) << monthFirst.error().message;
  EXPECT_EQ(monthFirst.value()[0].published, "2015-04-03");
  EXPECT_EQ(monthFirst.value()[1].published, "2015-03-25");
}

TEST(DigestImport, BylinesAndJointReportsGiveAuthorsAndSources) {
  const auto result = parseDigest(
      "Field Network\n"
      "March 2014\n"
      "\n"
      "1. A byline with its outlet\n"
      "By Jane Doe and John Roe, The Diplomat\n"
      "March 10, 2014\n"
      "\n"
      "Text.\n"
      "\n"
      "2. A joint report\n"
      "Human Rights Watch\n"
      "Amnesty International\n"
      "Mon, 10 Mar 2014\n"
      "\n"
      "Text.\n"
      "\n"
      "3. An author and an outlet\n"
      "Jane Doe\n"
      "Refugees International - 10 March 2014\n"
      "\n"
      "Text.\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->size(), 3u);
  EXPECT_EQ(result.value()[0].authors, (Strings{"Jane Doe", "John Roe"}));
  EXPECT_EQ(result.value()[0].source, "The Diplomat");
  EXPECT_EQ(result.value()[0].published, "2014-03-10");
  EXPECT_TRUE(result.value()[1].authors.empty());
  EXPECT_EQ(result.value()[1].source, "Human Rights Watch; Amnesty International");
  EXPECT_EQ(result.value()[1].published, "2014-03-10");
  // A person and an organisation (on the date's line) are no joint report.
  EXPECT_EQ(result.value()[2].authors, Strings{"Jane Doe"});
  EXPECT_EQ(result.value()[2].source, "Refugees International");
}

TEST(DigestImport, ContentsAndEventsAreNotClippingsAndSectionsGiveRegions) {
  const auto result = parseDigest(
      "Field Network\n"
      "10 March 2014\n"
      "\n"
      "In this Issue:\n"
      "- Sudan and South Sudan\n"
      "- Thematic\n"
      "- Upcoming events\n"
      "\n"
      "*** SUDAN AND SOUTH SUDAN ***\n"
      "\n"
      "Fighting in Abyei\n"
      "By Jane Doe, Reuters\n"
      "9 March 2014\n"
      "\n"
      "Abyei text.\n"
      "\n"
      "Read the full article here.\n"
      "http://example.org/abyei\n"
      "\n"
      "*** THEMATIC ***\n"
      "\n"
      "A principle at ten\n"
      "Global Centre for the Responsibility to Protect\n"
      "8 March 2014\n"
      "\n"
      "Thematic text.\n"
      "Read the full article here.\n"
      "\n"
      "Upcoming events:\n"
      "12 March 2014 - Panel on atrocity prevention, New York\n"
      "\n"
      "Thanks to Someone for compiling this listserv.\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->size(), 2u);
  const Clipping& abyei = result.value()[0];
  EXPECT_EQ(abyei.title, "Fighting in Abyei");
  EXPECT_EQ(abyei.tags, (Strings{"region:south-sudan", "region:sudan"}));
  EXPECT_EQ(abyei.url, "http://example.org/abyei");
  EXPECT_EQ(abyei.body, "Abyei text.");
  const Clipping& thematic = result.value()[1];
  EXPECT_TRUE(thematic.tags.empty());
  EXPECT_EQ(thematic.url, "");
  EXPECT_EQ(thematic.body, "Thematic text.");
}

TEST(DigestImport, AWrappedTitleIsJoinedAndAGreetingDoesNotTitleAnEditorial) {
  const auto result = parseDigest(
      "Field Network\n"
      "June 12, 2009\n"
      "\n"
      "Dear members,\n"
      "\n"
      "This issue looks at Sri Lanka. More next week.\n"
      "\n"
      "1. Implementing the responsibility to protect: a note on the forthcoming\n"
      "report of the Secretary-General\n"
      "Global Centre for the Responsibility to Protect\n"
      "May 2009\n"
      "\n"
      "Text.\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->size(), 2u);
  EXPECT_EQ(result.value()[0].title, "This issue looks at Sri Lanka.");
  EXPECT_EQ(result.value()[0].tags, Strings{"kind:editorial"});
  EXPECT_EQ(result.value()[1].title,
            "Implementing the responsibility to protect: a note on the forthcoming report of the "
            "Secretary-General");
  EXPECT_EQ(result.value()[1].source, "Global Centre for the Responsibility to Protect");
  EXPECT_TRUE(result.value()[1].authors.empty());
}

TEST(DigestImport, AForwardedArticleWithANoteAboveItIsNoDigest) {
  const auto result = parseDigest(
      "Goma office\n"
      "5 March 2013\n"
      "\n"
      "Hi all, see below.\n"
      "\n"
      "Kenya braces for a tense vote\n"
      "Daily Nation\n"
      "4 March 2013\n"
      "\n"
      "Text.\n");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "no clippings found: is this a listserv digest?");
}

// ---------------------------------------------------------------------------------------------
// Format names and detection

TEST(ImportFormat, NamesRoundTrip) {
  for (Format f : {Format::Digest, Format::Markdown, Format::Jsonl})
    EXPECT_EQ(parseFormatName(formatName(f)), f);
  EXPECT_FALSE(parseFormatName("json"));
  EXPECT_FALSE(parseFormatName("Digest"));
  EXPECT_FALSE(parseFormatName(""));
}

TEST(ImportFormat, DetectsFromTheFileNameThenTheFirstLine) {
  EXPECT_EQ(detectFormat("batch.jsonl", "anything"), Format::Jsonl);
  EXPECT_EQ(detectFormat("batch.NDJSON", ""), Format::Jsonl);
  EXPECT_EQ(detectFormat("article.md", "{"), Format::Markdown);
  EXPECT_EQ(detectFormat("x.txt", "\n  \n{\"title\": \"a\"}\n"), Format::Jsonl);
  EXPECT_EQ(detectFormat("x.txt", "\xEF\xBB\xBF---\ntitle: a\n---\n"), Format::Markdown);
  EXPECT_EQ(detectFormat("x.txt", "Title: A\n\nbody"), Format::Markdown);
  EXPECT_EQ(detectFormat("digest.txt", readFixture("icrtop-listserv-2013-01-11.txt")),
            Format::Digest);
  EXPECT_EQ(detectFormat("", ""), Format::Digest);
}

TEST(ImportFormat, ParseDispatchesOnTheFormat) {
  const auto digest = parse(Format::Digest, syntheticDigest());
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(digest->size(), 5u);
  const auto markdown = parse(Format::Markdown, "title: A\n\nBody.\n");
  ASSERT_TRUE(markdown.ok());
  EXPECT_EQ(markdown.value()[0].title, "A");
  const auto jsonl = parse(Format::Jsonl, "{\"title\": \"B\"}\n");
  ASSERT_TRUE(jsonl.ok());
  EXPECT_EQ(jsonl.value()[0].title, "B");
}

}  // namespace
}  // namespace fieldsync::protocol
