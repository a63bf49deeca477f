#include "protocol/text.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace fieldsync::protocol {
namespace {

using Terms = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// UTF-8

TEST(TextUtf8, AcceptsAsciiAndEveryEncodingLength) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("plain ASCII, long enough to take the eight-byte path twice"));
  EXPECT_TRUE(isValidUtf8("caf\xC3\xA9"));                // é, 2 bytes
  EXPECT_TRUE(isValidUtf8("\xE2\x80\x93 \xEF\xBF\xBD"));  // – and U+FFFD, 3 bytes
  EXPECT_TRUE(isValidUtf8("\xF0\x9F\x98\x80"));           // U+1F600, 4 bytes
  EXPECT_TRUE(isValidUtf8("\xF4\x8F\xBF\xBF"));           // U+10FFFF, the last
  EXPECT_TRUE(isValidUtf8("\xED\x9F\xBF"));               // U+D7FF, just below surrogates
}

TEST(TextUtf8, RejectsOverlongsSurrogatesAndTooLargeCodePoints) {
  EXPECT_FALSE(isValidUtf8("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(isValidUtf8("\xC1\xBF"));          // overlong 2-byte
  EXPECT_FALSE(isValidUtf8("\xE0\x80\xAF"));      // overlong '/'
  EXPECT_FALSE(isValidUtf8("\xF0\x80\x80\xAF"));  // overlong 4-byte
  EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));      // U+D800 surrogate
  EXPECT_FALSE(isValidUtf8("\xED\xBF\xBF"));      // U+DFFF surrogate
  EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(isValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(isValidUtf8("\xFF"));
}

TEST(TextUtf8, RejectsTruncatedSequencesStrayContinuationsAndNul) {
  EXPECT_FALSE(isValidUtf8("caf\xC3"));
  EXPECT_FALSE(isValidUtf8("\xE2\x80"));
  EXPECT_FALSE(isValidUtf8("\xF0\x9F\x98"));
  EXPECT_FALSE(isValidUtf8("\x80 stray"));
  EXPECT_FALSE(isValidUtf8("\xC3\xA9\xA9"));
  EXPECT_FALSE(isValidUtf8(std::string_view("a\0b", 3)));
  EXPECT_FALSE(isValidUtf8(std::string_view("eight ok\0", 9)));
}

TEST(TextUtf8, FindInvalidUtf8GivesTheOffsetOfTheBadSequence) {
  EXPECT_FALSE(findInvalidUtf8("all fine \xC3\xA9").has_value());
  EXPECT_EQ(findInvalidUtf8("0123456789abcdef\xC3(").value(), 16u);
  EXPECT_EQ(findInvalidUtf8(std::string_view("ab\0", 3)).value(), 2u);
  EXPECT_EQ(findInvalidUtf8("\xC3\xA9\xED\xA0\x80").value(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Lines and whitespace

TEST(TextCase, FindIgnoreCaseFindsTheFirstMatchInAnyAsciiCase) {
  EXPECT_EQ(findIgnoreCase("ICRtoP Listserv - January", "listserv"), 7u);
  EXPECT_EQ(findIgnoreCase("LISTSERV", "listserv"), 0u);
  EXPECT_EQ(findIgnoreCase("a Digest, a digest", "digest", 3), 12u);
  EXPECT_EQ(findIgnoreCase("lists", "listserv"), std::string_view::npos);
  EXPECT_EQ(findIgnoreCase("L1STSERV listserV", "listserv"), 9u);
  EXPECT_EQ(findIgnoreCase("abc", ""), 0u);
  EXPECT_EQ(findIgnoreCase("abc", "", 3), 3u);
  EXPECT_EQ(findIgnoreCase("abc", "", 4), std::string_view::npos);
  EXPECT_EQ(findIgnoreCase("x-Mailing List", "mailing list"), 2u);
  EXPECT_EQ(findIgnoreCase("<HTML>", "<html"), 0u);
  EXPECT_TRUE(containsIgnoreCase("Thanks to X for COMPILING", "for compiling"));
  EXPECT_FALSE(containsIgnoreCase("caf\xC3\x89", "caf\xC3\xA9"));  // ASCII case only
  EXPECT_TRUE(equalsIgnoreCase("Sept", "sept"));
  EXPECT_FALSE(equalsIgnoreCase("Sept.", "sept"));
}

TEST(TextLines, TrimSpaceRemovesAsciiWhitespaceAndNoBreakSpaces) {
  EXPECT_EQ(trimSpace(" \t\xC2\xA0 word \xC2\xA0\r\n"), "word");
  EXPECT_EQ(trimSpace("\xC2\xA0"), "");
  EXPECT_EQ(trimSpace("a\xC2\xA0"
                      "b"),
            "a\xC2\xA0"
            "b");                                // inner ones stay
  EXPECT_EQ(trimSpace("\xC3\xA0"), "\xC3\xA0");  // à is not a space
}

TEST(TextLines, SplitLinesHandlesLfCrlfAndAMissingFinalNewline) {
  EXPECT_EQ(splitLines("a\nb\r\n\nc"), (std::vector<std::string_view>{"a", "b", "", "c"}));
  EXPECT_EQ(splitLines("a\n"), (std::vector<std::string_view>{"a"}));
  EXPECT_EQ(splitLines("\n\n"), (std::vector<std::string_view>{"", ""}));
  EXPECT_TRUE(splitLines("").empty());
}

// ---------------------------------------------------------------------------------------------
// Search terms

TEST(TextSearchTerms, FoldsCaseAndSplitsOnApostrophesAndHyphens) {
  EXPECT_EQ(searchTerms("C\xC3\xB4te d'Ivoire"), (Terms{"cote", "d", "ivoire"}));
  EXPECT_EQ(searchTerms("Twenty-two month-long CRISIS"),
            (Terms{"twenty", "two", "month", "long", "crisis"}));
  EXPECT_EQ(searchTerms("Shi\xE2\x80\x99"
                        "a Muslims"),
            (Terms{"shi", "a", "muslims"}));
  EXPECT_EQ(searchTerms("R2P, RtoP (2005)"), (Terms{"r2p", "rtop", "2005"}));
}

TEST(TextSearchTerms, FoldsLatinAccentsAndLigaturesToTheirBase) {
  EXPECT_EQ(searchTerms("\xC3\x89T\xC3\x89 Qu\xC3\xA9"
                        "bec \xC3\x87"
                        "a"),
            (Terms{"ete", "quebec", "ca"}));
  EXPECT_EQ(searchTerms("Stra\xC3\x9F"
                        "e \xC3\x86r\xC3\xB8 \xC5\x81\xC3\xB3"
                        "d\xC5\xBA"),
            (Terms{"strasse", "aero", "lodz"}));
  EXPECT_EQ(searchTerms("\xC5\x92uvre \xC5\x93il \xC3\x9E"
                        "ing \xC4\xB0stanbul \xC5\xA0"
                        "abac"),
            (Terms{"oeuvre", "oeil", "thing", "istanbul", "sabac"}));
}

TEST(TextSearchTerms, StripsCombiningMarksSoDecomposedTextMatchesComposed) {
  EXPECT_EQ(searchTerms("e\xCC\x81te\xCC\x81"), searchTerms("\xC3\xA9t\xC3\xA9"));
  EXPECT_EQ(searchTerms("C\xCC\xA7"
                        "a"),
            (Terms{"ca"}));
}

TEST(TextSearchTerms, KeepsOtherScriptsAsWordsLoweringCyrillicAndGreek) {
  EXPECT_EQ(searchTerms("\xD0\x9C\xD0\x9E\xD0\xA1\xD0\x9A\xD0\x92\xD0\x90, "
                        "\xD8\xA7\xD9\x84\xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A\xD8\xA9!"),
            (Terms{"\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0",
                   "\xD8\xA7\xD9\x84\xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A\xD8\xA9"}));
  EXPECT_EQ(searchTerms("\xCE\x91\xCE\x98\xCE\x97\xCE\x9D\xCE\x91"),  // ΑΘΗΝΑ
            (Terms{"\xCE\xB1\xCE\xB8\xCE\xB7\xCE\xBD\xCE\xB1"}));
}

TEST(TextSearchTerms, TreatsPunctuationSpacesAndBadBytesAsSeparators) {
  EXPECT_EQ(searchTerms("a\xC2\xA0"
                        "b\xE2\x80\x94"
                        "c\xE2\x80\x9C"
                        "d\xE2\x80\x9D"),
            (Terms{"a", "b", "c", "d"}));
  EXPECT_EQ(searchTerms("ok\xFFok\xC3"), (Terms{"ok", "ok"}));
  EXPECT_EQ(searchTerms("\xF0\x9F\x98\x80smile"), (Terms{"smile"}));
  EXPECT_TRUE(searchTerms("").empty());
  EXPECT_TRUE(searchTerms(" -- ... \xE2\x80\xA6 ").empty());
}

TEST(TextSearchTerms, KeepsDuplicatesInOrderOfAppearance) {
  EXPECT_EQ(searchTerms("Syria syria SYRIA Mali"), (Terms{"syria", "syria", "syria", "mali"}));
}

TEST(TextSearchTerms, CutsLongTermsWithoutSplittingACharacter) {
  const Terms ascii = searchTerms(std::string(100, 'X') + " next");
  ASSERT_EQ(ascii.size(), 2u);
  EXPECT_EQ(ascii[0], std::string(MAX_TERM_BYTES, 'x'));
  EXPECT_EQ(ascii[1], "next");

  std::string cyrillic;
  for (int i = 0; i < 40; ++i) cyrillic += "\xD0\xB6";  // ж, 2 bytes each
  const Terms cut = searchTerms("a" + cyrillic);        // 1 + 80 bytes
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].size(), MAX_TERM_BYTES - 1);  // the 32nd ж would pass 64 bytes
  EXPECT_TRUE(isValidUtf8(cut[0]));

  const Terms ligature = searchTerms(std::string(63, 'a') +
                                     "\xC3\x86"
                                     "b");  // Æ -> "ae"
  ASSERT_EQ(ligature.size(), 1u);
  EXPECT_EQ(ligature[0], std::string(63, 'a'));  // the rest of the word is dropped
}

TEST(TextSearchTerms, TermsAtTheEndOfTheTextAreComplete) {
  // Short terms near the end are copied from the text: no read past the end, nothing lost.
  EXPECT_EQ(searchTerms("end"), (Terms{"end"}));
  EXPECT_EQ(searchTerms("x Yz"), (Terms{"x", "yz"}));
  const std::string text = "0123456789 ABCDEFGHIJKLMNO";
  EXPECT_EQ(searchTerms(text), (Terms{"0123456789", "abcdefghijklmno"}));
}

TEST(TextSearchTerms, AppendedListsHoldEachTextsTermsAfterTheOnesBefore) {
  SearchTermList list;
  appendSearchTerms("C\xC3\xB4te", list);  // "Côte": ends a term at the end of the text
  appendSearchTerms("d'Ivoire", list);     // so "cote" and "d" stay two terms
  appendSearchTerms(" -- ", list);         // no terms: nothing added
  appendSearchTerms(std::string(70, 'Z'), list);
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0], "cote");
  EXPECT_EQ(list[1], "d");
  EXPECT_EQ(list[2], "ivoire");
  EXPECT_EQ(list[3], std::string(MAX_TERM_BYTES, 'z'));
  EXPECT_EQ(list.bytes, "cotedivoire" + std::string(MAX_TERM_BYTES, 'z'));
}

// The optimised scanner against a plain reference, on seeded random text built from pieces
// whose folding is known.
TEST(TextSearchTerms, MatchesAReferenceImplementationOnRandomText) {
  struct Piece {
    std::string_view text;
    std::string_view folded;  // "" with separator=false: vanishes (combining mark)
    bool separator;
  };
  const Piece pieces[] = {
      {"a", "a", false},         {"Q", "q", false},
      {"z", "z", false},         {"7", "7", false},
      {" ", "", true},           {"-", "", true},
      {"'", "", true},           {"\n", "", true},
      {"\xC3\xA9", "e", false},  {"\xC3\x87", "c", false},
      {"\xC3\x9F", "ss", false}, {"\xE2\x80\x99", "", true},
      {"\xCC\x81", "", false},   {"\xD0\x96", "\xD0\xB6", false},
      {"\xC2\xA0", "", true},    {"\xE4\xB8\xAD", "\xE4\xB8\xAD", false},  // 中, kept as is
  };
  std::uint32_t seed = 20130111;
  if (const char* env = std::getenv("FIELDSYNC_SEED")) seed = std::uint32_t(std::stoul(env));
  std::mt19937 random(seed);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (set FIELDSYNC_SEED to replay)");

  for (int round = 0; round < 300; ++round) {
    std::string text;
    Terms expected;
    std::string term;
    bool full = false;
    const auto finish = [&] {
      if (!term.empty()) expected.push_back(term);
      term.clear();
      full = false;
    };
    const int length = std::uniform_int_distribution<int>(0, 400)(random);
    // Long words now and then, to cross MAX_TERM_BYTES.
    const int wordBias = std::uniform_int_distribution<int>(0, 3)(random);
    for (int k = 0; k < length; ++k) {
      std::size_t pick =
          std::uniform_int_distribution<std::size_t>(0, std::size(pieces) - 1)(random);
      if (wordBias == 0 && pieces[pick].separator) pick = 0;
      const Piece& p = pieces[pick];
      text += p.text;
      if (p.separator) {
        finish();
      } else if (!full) {
        if (term.size() + p.folded.size() <= MAX_TERM_BYTES) {
          term += p.folded;
        } else {
          full = true;
        }
      }
    }
    finish();
    ASSERT_EQ(searchTerms(text), expected) << "text: " << text;
    // After the terms of another text, the same terms follow them.
    SearchTermList list;
    appendSearchTerms("Before", list);
    appendSearchTerms(text, list);
    ASSERT_EQ(list.size(), expected.size() + 1);
    for (std::size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(list[i + 1], expected[i]);
  }
}

// ---------------------------------------------------------------------------------------------
// Dates

TEST(TextParseDate, ReadsTheFormsWrittenInClippings) {
  EXPECT_EQ(parseDate("11 January 2013"), "2013-01-11");
  EXPECT_EQ(parseDate("2 January 2013"), "2013-01-02");
  EXPECT_EQ(parseDate("January 2013"), "2013-01");
  EXPECT_EQ(parseDate("Jan 2013"), "2013-01");
  EXPECT_EQ(parseDate("Dec. 2012"), "2012-12");
  EXPECT_EQ(parseDate("Sept. 2012"), "2012-09");
  EXPECT_EQ(parseDate("January 11, 2013"), "2013-01-11");
  EXPECT_EQ(parseDate("Jan. 11, 2013"), "2013-01-11");
  EXPECT_EQ(parseDate("2013-01-11"), "2013-01-11");
  EXPECT_EQ(parseDate("2013-01"), "2013-01");
  EXPECT_EQ(parseDate("2013"), "2013");
}

TEST(TextParseDate, IsCaseInsensitiveAndToleratesSpacingAndWeekdays) {
  EXPECT_EQ(parseDate("11 JANUARY 2013"), "2013-01-11");
  EXPECT_EQ(parseDate("december 2012"), "2012-12");
  EXPECT_EQ(parseDate("\xC2\xA0 20  December\xC2\xA0"
                      "2012 \xC2\xA0"),
            "2012-12-20");
  EXPECT_EQ(parseDate("Friday, 11 January 2013"), "2013-01-11");
  EXPECT_EQ(parseDate("1st May 2013"), "2013-05-01");
}

TEST(TextParseDate, RejectsImpossibleDates) {
  EXPECT_FALSE(parseDate("2013-02-30"));
  EXPECT_FALSE(parseDate("2013-02-29"));
  EXPECT_EQ(parseDate("2012-02-29"), "2012-02-29");
  EXPECT_EQ(parseDate("29 February 2000"), "2000-02-29");
  EXPECT_FALSE(parseDate("29 February 1900"));
  EXPECT_FALSE(parseDate("2013-13"));
  EXPECT_FALSE(parseDate("2013-00"));
  EXPECT_FALSE(parseDate("2013-01-00"));
  EXPECT_FALSE(parseDate("31 April 2013"));
  EXPECT_FALSE(parseDate("January 32, 2013"));
  EXPECT_FALSE(parseDate("0 January 2013"));
}

TEST(TextParseDate, RejectsEverythingElse) {
  for (const char* text : {"",
                           "   ",
                           "Foreign Policy",
                           "David Kaye",
                           "13 Foo 2013",
                           "11 January 13",
                           "January",
                           "11 January",
                           "2013-1-11",
                           "2013/01/11",
                           "20130111",
                           "201",
                           "2013-01-11T10:00",
                           "January. 2013",
                           "Janu 2013",
                           "11 January 2013 extra",
                           "11, January 2013",
                           "Read the full report.",
                           "708 Third Avenue, Suite 1715, New York, NY 10017",
                           "1. Responsibility to Object"}) {
    EXPECT_FALSE(parseDate(text)) << text;
  }
  EXPECT_FALSE(parseDate(std::string(100000, '1')));
}

// ---------------------------------------------------------------------------------------------
// normalizeClipping

Clipping validClipping() {
  Clipping c;
  c.title = "Responsibility to Object";
  c.source = "Foreign Policy";
  c.authors = {"David Kaye"};
  c.published = "2013-01-11";
  c.body = "Text.";
  return c;
}

TEST(TextNormalize, TrimsAndCollapsesWhitespaceInShortFields) {
  Clipping c = validClipping();
  c.title = " \xC2\xA0Responsibility \t to\n\nObject\xC2\xA0 ";
  c.source = "Foreign\xC2\xA0\xC2\xA0Policy ";
  c.authors = {"  David   Kaye ", "", " \xC2\xA0 "};
  c.published = " 2013-01-11 ";
  c.url = " https://example.org/a ";
  c.collection = " ICRtoP  digest ";
  const auto n = normalizeClipping(c);
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(n->title, "Responsibility to Object");
  EXPECT_EQ(n->source, "Foreign Policy");
  EXPECT_EQ(n->authors, (std::vector<std::string>{"David Kaye"}));
  EXPECT_EQ(n->published, "2013-01-11");
  EXPECT_EQ(n->url, "https://example.org/a");
  EXPECT_EQ(n->collection, "ICRtoP digest");
}

TEST(TextNormalize, LowercasesSortsAndDeduplicatesTags) {
  Clipping c = validClipping();
  c.tags = {"Region:Mali", " kind:editorial ", "region:mali", "", "  "};
  const auto n = normalizeClipping(c);
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(n->tags, (std::vector<std::string>{"kind:editorial", "region:mali"}));
}

TEST(TextNormalize, KeepsTheBodyButNormalizesLineEndsAndTrimsItsEnds) {
  Clipping c = validClipping();
  c.body = "\r\n \r\n  First line\r\n\r\nSecond  paragraph\xC2\xA0 \r\n\r\n";
  const auto n = normalizeClipping(c);
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(n->body, "  First line\n\nSecond  paragraph");
}

TEST(TextNormalize, IsIdempotent) {
  Clipping c = validClipping();
  c.title = "  A   title ";
  c.tags = {"B", "a", "b"};
  c.body = "x\r\ny  \n";
  const auto once = normalizeClipping(c);
  ASSERT_TRUE(once.ok());
  const auto twice = normalizeClipping(once.value());
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(once.value(), twice.value());
}

TEST(TextNormalize, ErrorsNameTheField) {
  Clipping c = validClipping();
  c.title = " \xC2\xA0 ";
  EXPECT_EQ(normalizeClipping(c).error(), "title is missing");

  c = validClipping();
  c.body = std::string(MAX_BODY_BYTES + 1, 'x');
  EXPECT_EQ(normalizeClipping(c).error(), "body is larger than 1 MiB");

  c = validClipping();
  c.published = "11 January 2013";
  EXPECT_EQ(normalizeClipping(c).error(), "published: not an ISO 8601 date: 11 January 2013");

  c = validClipping();
  c.published = "2013-02-30";
  EXPECT_EQ(normalizeClipping(c).error(), "published: not an ISO 8601 date: 2013-02-30");

  c = validClipping();
  c.title = std::string(MAX_TITLE_BYTES + 1, 't');
  EXPECT_EQ(normalizeClipping(c).error(), "title is larger than 1024 bytes");

  c = validClipping();
  c.source = "bad \xC3";
  EXPECT_EQ(normalizeClipping(c).error(), "source is not valid UTF-8");

  c = validClipping();
  c.tags = {std::string(MAX_TAG_BYTES + 1, 'g')};
  EXPECT_NE(normalizeClipping(c).error().find("tags: tag is larger than 128 bytes"),
            std::string::npos);

  c = validClipping();
  c.authors.assign(MAX_LIST_ITEMS + 1, "Someone");
  EXPECT_EQ(normalizeClipping(c).error(), "authors: more than 64 authors");

  c = validClipping();
  c.tags.clear();
  for (std::size_t i = 0; i <= MAX_LIST_ITEMS; ++i) c.tags.push_back("t" + std::to_string(i));
  EXPECT_EQ(normalizeClipping(c).error(), "tags: more than 64 tags");
}

TEST(TextNormalize, AcceptsEveryIsoPrecisionAndAnEmptyDate) {
  for (const char* date : {"2013", "2013-01", "2013-01-11", "2012-02-29", ""}) {
    Clipping c = validClipping();
    c.published = date;
    const auto n = normalizeClipping(c);
    EXPECT_TRUE(n.ok()) << date;
  }
}

}  // namespace
}  // namespace fieldsync::protocol

namespace fieldsync::protocol {
namespace {

// checkNormalClipping is the copy-free check that verify() runs on every object; it must
// agree exactly with "normalizeClipping succeeds and changes nothing".
TEST(NormalForm, CheckAgreesWithNormalizeOnRandomClippings) {
  std::mt19937 rng(20261127);
  const std::vector<std::string> pieces = {"a",    "B",    " ",        "  ", "\t",
                                           "\n",   "\r\n", "\xC2\xA0", "é",  "x:y",
                                           "2013", "-01",  "\xFF",     "",   "Z"};
  auto randomText = [&](int maxPieces) {
    std::string s;
    int n = static_cast<int>(rng() % static_cast<unsigned>(maxPieces + 1));
    for (int i = 0; i < n; ++i) s += pieces[rng() % pieces.size()];
    return s;
  };
  int normalSeen = 0;
  for (int i = 0; i < 20000; ++i) {
    Clipping c;
    c.title = randomText(4);
    c.source = randomText(3);
    for (int a = static_cast<int>(rng() % 3); a > 0; --a) c.authors.push_back(randomText(2));
    c.published = rng() % 2 ? "2013-01" : randomText(2);
    c.url = randomText(2);
    for (int t = static_cast<int>(rng() % 3); t > 0; --t) c.tags.push_back(randomText(2));
    c.language = randomText(1);
    c.body = randomText(6);
    c.collection = randomText(2);
    // Half the time start from a normalized clipping, so the "normal" side is well covered.
    if (rng() % 2) {
      if (auto n = normalizeClipping(c)) c = n.value();
    }
    auto normalized = normalizeClipping(c);
    bool expected = normalized.ok() && normalized.value() == c;
    normalSeen += expected;
    EXPECT_EQ(!checkNormalClipping(c).has_value(), expected)
        << "title=[" << c.title << "] body=[" << c.body << "]";
  }
  EXPECT_GT(normalSeen, 1000);
}

// signedAt is whatever a signer claimed: every Int64 must print as something true.
TEST(FormatUtc, PrintsAnyTimeASignerMayClaim) {
  EXPECT_EQ(formatUtc(1357862400), "2013-01-11T00:00:00Z");
  EXPECT_EQ(formatUtc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatUtc(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(formatUtc(253402300799), "9999-12-31T23:59:59Z");
  EXPECT_EQ(formatUtc(-62167219200), "0000-01-01T00:00:00Z");
  // Outside the four-digit years: the number, never a non-ISO date (issue 18.7).
  EXPECT_EQ(formatUtc(253402300800), "unix time 253402300800 (outside the calendar years 0-9999)");
  EXPECT_EQ(formatUtc(INT64_MAX),
            "unix time 9223372036854775807 (outside the calendar years 0-9999)");
  EXPECT_EQ(formatUtc(INT64_MIN),
            "unix time -9223372036854775808 (outside the calendar years 0-9999)");
  EXPECT_FALSE(isoUtc(INT64_MIN));
  EXPECT_FALSE(isoUtc(-62167219201));
  EXPECT_EQ(isoUtc(0), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace fieldsync::protocol
