#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "protocol/importers.h"
#include "protocol/text.h"

namespace fieldsync::protocol {
namespace {

using Strings = std::vector<std::string>;

ImportError parseError(std::string_view text) {
  const auto result = parseJsonl(text);
  EXPECT_FALSE(result.ok());
  return result.ok() ? ImportError{} : result.error();
}

TEST(JsonlImport, EachLineIsOneClippingWithTheSchemaFields) {
  const auto result = parseJsonl(
      R"({"title": "Responsibility to Object", "source": "Foreign Policy", )"
      R"("authors": ["David Kaye"], "published": "2013-01-11", )"
      R"("url": "https://foreignpolicy.com/x", "tags": ["Syria", "region:syria", "syria"], )"
      R"("language": "en", "body": "First.\n\nSecond.\n", "collection": "batch 7"})"
      "\n"
      "\n"
      R"({"title": "  Second  one ", "published": "11 January 2013"})"
      "\n");
  ASSERT_TRUE(result.ok()) << result.error().line << ": " << result.error().message;
  ASSERT_EQ(result->size(), 2u);
  const Clipping& a = result.value()[0];
  EXPECT_EQ(a.title, "Responsibility to Object");
  EXPECT_EQ(a.source, "Foreign Policy");
  EXPECT_EQ(a.authors, Strings{"David Kaye"});
  EXPECT_EQ(a.published, "2013-01-11");
  EXPECT_EQ(a.url, "https://foreignpolicy.com/x");
  EXPECT_EQ(a.tags, (Strings{"region:syria", "syria"}));
  EXPECT_EQ(a.language, "en");
  EXPECT_EQ(a.body, "First.\n\nSecond.");
  EXPECT_EQ(a.collection, "batch 7");
  const Clipping& b = result.value()[1];
  EXPECT_EQ(b.title, "Second one");
  EXPECT_EQ(b.published, "2013-01-11");  // written dates go through parseDate
}

TEST(JsonlImport, NullFieldsReadAsEmptyAndCrlfIsAccepted) {
  const auto result = parseJsonl(
      "\xEF\xBB\xBF{\"title\": \"A\", \"source\": null, \"tags\": null}\r\n"
      "{\"title\": \"B\\u00e9\", \"published\": \"Dec. 2012\"}\r\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->size(), 2u);
  EXPECT_EQ(result.value()[0].source, "");
  EXPECT_EQ(result.value()[1].title, "B\xC3\xA9");
  EXPECT_EQ(result.value()[1].published, "2012-12");
}

TEST(JsonlImport, AnUnknownFieldIsAnErrorNamingIt) {
  const ImportError e = parseError("{\"title\": \"A\"}\n{\"title\": \"B\", \"autors\": [\"X\"]}\n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_EQ(e.message, "unknown field \"autors\"");
}

TEST(JsonlImport, WrongTypesAreErrors) {
  EXPECT_EQ(parseError(R"({"title": 5})").message, "title: expected a string, got number");
  EXPECT_EQ(parseError(R"({"title": "A", "authors": "David Kaye"})").message,
            "authors: expected an array of strings, got string");
  EXPECT_EQ(parseError(R"({"title": "A", "tags": ["ok", 3]})").message,
            "tags: expected an array of strings, found number");
  EXPECT_EQ(parseError(R"(["title", "A"])").message, "expected a JSON object, got array");
  EXPECT_EQ(parseError(R"("just a string")").message, "expected a JSON object, got string");
}

TEST(JsonlImport, TruncatedJsonIsAnErrorWithItsLine) {
  const ImportError e = parseError("{\"title\": \"A\"}\n{\"title\": \"B\", \"body\": \"cut her\n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_TRUE(e.message.starts_with("truncated JSON") || e.message.starts_with("invalid JSON"))
      << e.message;
  const ImportError cut = parseError("{\"title\": \"A\"");
  EXPECT_EQ(cut.line, 1u);
  EXPECT_TRUE(cut.message.starts_with("truncated JSON")) << cut.message;
  EXPECT_TRUE(parseError("{title: A}").message.starts_with("invalid JSON"));
  EXPECT_TRUE(parseError("{\"title\": \"A\"} trailing").message.starts_with("invalid JSON"));
}

TEST(JsonlImport, AMissingOrEmptyTitleIsAnError) {
  EXPECT_EQ(parseError(R"({"source": "X"})").message, "missing title");
  EXPECT_EQ(parseError(R"({"title": " \u00a0 "})").message, "missing title");
  EXPECT_EQ(parseError(R"({})").message, "missing title");
}

TEST(JsonlImport, AnUnparseableDateIsAnError) {
  const ImportError e = parseError("{\"title\": \"A\", \"published\": \"soon\"}");
  EXPECT_EQ(e.line, 1u);
  EXPECT_EQ(e.message, "published: not a date: \"soon\"");
  EXPECT_EQ(parseError(R"({"title": "A", "published": "2013-02-30"})").line, 1u);
}

TEST(JsonlImport, DuplicateFieldsAreErrors) {
  EXPECT_EQ(parseError(R"({"title": "A", "title": "B"})").message, "duplicate field \"title\"");
}

TEST(JsonlImport, HostileLinesAreRefused) {
  EXPECT_EQ(parseError(std::string(100000, '[')).message, "JSON nested too deeply");
  EXPECT_EQ(parseError("{\"title\": \"A\", \"x\": " + std::string(50, '{')).message,
            "JSON nested too deeply");
  const ImportError big =
      parseError("{\"title\": \"A\", \"body\": \"" + std::string(MAX_BODY_BYTES + 1, 'x') + "\"}");
  EXPECT_EQ(big.message, "body is larger than 1 MiB");
  EXPECT_EQ(parseError("{\"title\": \"" + std::string(1'000'000, 'x')).message.substr(0, 14),
            "truncated JSON");
}

TEST(JsonlImport, CommonChecksApply) {
  EXPECT_EQ(parseError("").message, "empty file");
  EXPECT_EQ(parseError("\n\r\n  \n").message, "empty file");
  const ImportError binary = parseError(std::string("{\"title\": \"A\"}\n{\"title\": \"\xFF\"}\n"));
  EXPECT_EQ(binary.line, 2u);
  EXPECT_EQ(binary.message, "not UTF-8 text (binary file?)");
}

TEST(JsonlImport, NeverReturnsAPartialResult) {
  // Nine good lines and one bad: nothing but the error comes back.
  std::string text;
  for (int i = 0; i < 9; ++i) text += "{\"title\": \"T" + std::to_string(i) + "\"}\n";
  text += "{\"title\": 1}\n";
  const auto result = parseJsonl(text);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().line, 10u);
}

// Streaming import reads a line at a time: the lines of any pieces, numbered, a \r before the
// end dropped, and the same clippings as the whole text.
TEST(JsonlImport, LinesCutFromPiecesOfAnySizeGiveTheSameClippings) {
  const std::string text =
      "{\"title\": \"One\"}\r\n\n{\"title\": \"Two\", \"tags\": [\"x\"]}\n{\"title\": \"Three\"}";
  const std::vector<Clipping> whole = parseJsonl(text).value();
  for (std::size_t piece : {1u, 3u, 64u}) {
    RecordSplitter splitter(RecordSplitter::Kind::Lines, MAX_JSONL_LINE_BYTES);
    std::vector<Record> lines;
    for (std::size_t at = 0; at < text.size(); at += piece)
      ASSERT_FALSE(splitter.feed(std::string_view(text).substr(at, piece), lines));
    ASSERT_FALSE(splitter.finish(lines));
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0].bytes, "{\"title\": \"One\"}");
    EXPECT_EQ(lines[3].number, 4u);
    std::vector<Clipping> streamed;
    for (const Record& line : lines) {
      auto parsed = parseJsonlLine(line.bytes, line.number);
      ASSERT_TRUE(parsed.ok()) << parsed.error().message;
      for (Clipping& c : parsed.value()) streamed.push_back(std::move(c));
    }
    EXPECT_EQ(streamed, whole) << "pieces of " << piece;
  }
}

// The fast reader takes the lines offices write (escapes, surrogate pairs, any JSON spacing,
// nulls, empty arrays) and gives exactly the full reader's clipping for each.
TEST(JsonlImport, TheFastReaderGivesTheFullReadersClippingForCommonLines) {
  const std::vector<std::string> lines = {
      R"({"title": "A"})",
      R"({})",
      "\t{ \"title\" :\"A\" ,\r\"tags\":[ ] , \"authors\" : [\"x\" ,\"y\"] }  \t",
      R"({"title": "caf\u00e9 \u00C9 \ud83d\ude00 \u0000 \/ \b\f\n\r\t \\ \" end"})",
      R"({"ti\u0074le": "escaped key", "body": "\u65e5\u672c"})",
      R"({"title": null, "source": null, "authors": null, "tags": null, "body": ""})",
      "{\"title\": \"raw UTF-8: \xC3\xA9\xE6\x97\xA5\xF0\x9F\x98\x80 and DEL \x7F\"}",
      R"({"title": "T", "source": "S", "published": "2013-01-11", "url": "https://x.org/a",
          "language": "fr", "body": "B", "collection": "C", "authors": ["a"], "tags": ["t"]})",
  };
  for (const std::string& raw : lines) {
    std::string line = raw;
    std::erase(line, '\n');
    const auto fast = readJsonlLineFast(line);
    const auto full = readJsonlLineFull(line);
    ASSERT_TRUE(fast.has_value()) << line;
    ASSERT_TRUE(full.ok()) << line << ": " << full.error();
    EXPECT_EQ(*fast, full.value()) << line;
  }
  EXPECT_EQ(readJsonlLineFast(R"({"title": "\ud83d\ude00\u00e9"})")->title,
            "\xF0\x9F\x98\x80\xC3\xA9");
}

// Every other line goes to the full reader, which accepts it or says what is wrong: the fast
// reader never guesses.
TEST(JsonlImport, TheFastReaderLeavesEveryOtherLineToTheFullReader) {
  const std::vector<std::string> lines = {
      R"({"title": 1})",
      R"({"title": true})",
      R"({"title": "A", "tags": "t"})",
      R"({"title": ["A"]})",
      R"({"title": "A", "tags": [null]})",
      R"({"title": "A", "tags": [["t"]]})",
      R"({"title": "A", "autors": ["X"]})",
      R"({"title": "A", "title": "B"})",
      R"({"title": "A",})",
      R"({"title": "A"} x)",
      R"({"title": "A")",
      R"({"title": "A)",
      R"({"title": nul})",
      R"({"title": nullx})",
      R"({"title": "\x41"})",
      R"({"title": "\u12"})",
      R"({"title": "\ude00"})",
      R"({"title": "\ud83d"})",
      R"({"title": "\ud83d\u0041"})",
      "{\"title\": \"tab\there\"}",
      R"(["title"])",
      R"("title")",
      R"({"title": "A"}{"title": "B"})",
      R"({'title': 'A'})",
  };
  for (const std::string& line : lines) {
    EXPECT_FALSE(readJsonlLineFast(line).has_value()) << line;
  }
  // And the full reader's word stands: a lone surrogate is nlohmann's error, an unknown field
  // is named.
  EXPECT_EQ(parseJsonlLine(R"({"title": "\ude00"})", 1).error().message.substr(0, 12),
            "invalid JSON");
  EXPECT_EQ(parseJsonlLine(R"({"title": "A", "autors": ["X"]})", 1).error().message,
            "unknown field \"autors\"");
}

// Random lines near the common shape, some of them broken: whenever the fast reader reads one,
// the full reader gives the same clipping. (fuzz_jsonl checks the same on arbitrary bytes.)
TEST(JsonlImport, OnRandomLinesTheFastReaderNeverDisagreesWithTheFullReader) {
  const std::vector<std::string> pieces = {
      "{",        "}",        "[",           "]",     ",",       ":",        " ",
      "\t",       "\"",       "\\",          "\\u",   "\\ud83d", "\\ude00",  "\\u00e9",
      "\\n",      "\\\"",     "null",        "nul",   "1",       "true",     "\"title\"",
      "\"body\"", "\"tags\"", "\"authors\"", "\"x\"", "\"T\"",   "\xC3\xA9", "title",
  };
  std::mt19937 random(17);
  std::size_t readFast = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string line = R"({"title": "T", "tags": ["a", "b"], "body": "B\n"})";
    const int edits = static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = random() % (line.size() + 1);
      const std::string& piece = pieces[random() % pieces.size()];
      if (random() % 2 == 0 && at < line.size()) {
        line.replace(at, 1 + random() % 3, piece);
      } else {
        line.insert(at, piece);
      }
    }
    const auto fast = readJsonlLineFast(line);
    if (!fast) continue;
    ++readFast;
    const auto full = readJsonlLineFull(line);
    ASSERT_TRUE(full.ok()) << line << ": " << full.error();
    EXPECT_EQ(*fast, full.value()) << line;
  }
  EXPECT_GT(readFast, 1000u);  // the comparison ran on many lines, not on none
}

TEST(JsonlImport, ALineLongerThanTheBoundIsRefusedWithItsNumber) {
  RecordSplitter splitter(RecordSplitter::Kind::Lines, 64);
  std::vector<Record> lines;
  const std::string text = "{\"title\": \"One\"}\n{\"title\": \"" + std::string(100, 'x') + "\"}\n";
  const auto error = splitter.feed(text, lines);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->message, "line 2 is larger than 64 bytes");
  EXPECT_EQ(error->line, 2u);
  EXPECT_EQ(parseJsonlLine("{\"title\": \"\xff\"}", 9).error().line, 9u);
}

}  // namespace
}  // namespace fieldsync::protocol
