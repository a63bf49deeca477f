#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/importers.h"
#include "protocol/text.h"

namespace fieldsync::protocol {
namespace {

using Strings = std::vector<std::string>;

Clipping parseOne(std::string_view text) {
  const auto result = parseMarkdown(text);
  EXPECT_TRUE(result.ok()) << "line " << result.error().line << ": " << result.error().message;
  if (!result.ok() || result->size() != 1) return {};
  return result.value()[0];
}

ImportError parseError(std::string_view text) {
  const auto result = parseMarkdown(text);
  EXPECT_FALSE(result.ok());
  return result.ok() ? ImportError{} : result.error();
}

TEST(MarkdownImport, FrontMatterGivesEveryField) {
  const Clipping c = parseOne(
      "---\n"
      "title: Responsibility to Object\n"
      "Author: David Kaye\n"
      "source: Foreign Policy\n"
      "date: 11 January 2013\n"
      "url: https://foreignpolicy.com/2013/01/11/responsibility-to-object/\n"
      "tags: [Syria, ICC, \"region:syria\"]\n"
      "language: en\n"
      "collection: Office reading list\n"
      "---\n"
      "\n"
      "In Syria, the new year begins without change.\n"
      "\n"
      "But if the situation in Syria looks increasingly grave...\n\n\n");
  EXPECT_EQ(c.title, "Responsibility to Object");
  EXPECT_EQ(c.authors, Strings{"David Kaye"});
  EXPECT_EQ(c.source, "Foreign Policy");
  EXPECT_EQ(c.published, "2013-01-11");
  EXPECT_EQ(c.url, "https://foreignpolicy.com/2013/01/11/responsibility-to-object/");
  EXPECT_EQ(c.tags, (Strings{"icc", "region:syria", "syria"}));
  EXPECT_EQ(c.language, "en");
  EXPECT_EQ(c.collection, "Office reading list");
  EXPECT_EQ(c.body,
            "In Syria, the new year begins without change.\n\n"
            "But if the situation in Syria looks increasingly grave...");
}

TEST(MarkdownImport, AHeaderWithoutFrontMatterEndsAtTheFirstBlankLine) {
  const Clipping c = parseOne(
      "Title: Electoral Violence in Kenya\n"
      "authors: Joel Barkan, Jane Roe\n"
      "Published: January 2013\n"
      "\n"
      "    Indented first line stays indented.\n"
      "title: this line is body text, not a header\n");
  EXPECT_EQ(c.title, "Electoral Violence in Kenya");
  EXPECT_EQ(c.authors, (Strings{"Joel Barkan", "Jane Roe"}));
  EXPECT_EQ(c.published, "2013-01");
  EXPECT_EQ(c.body,
            "    Indented first line stays indented.\n"
            "title: this line is body text, not a header");
}

TEST(MarkdownImport, AuthorLinesAccumulateAndYamlBlockListsWork) {
  const Clipping c = parseOne(
      "---\n"
      "title: \"Mali: Outside the Spotlight\"\n"
      "author: Andrea Lari\n"
      "author: Alice Thomas\n"
      "tags:\n"
      "  - region:mali\n"
      "  - 'displacement'\n"
      "# a YAML comment\n"
      "---\n"
      "Body right after the front matter.\n");
  EXPECT_EQ(c.title, "Mali: Outside the Spotlight");
  EXPECT_EQ(c.authors, (Strings{"Andrea Lari", "Alice Thomas"}));
  EXPECT_EQ(c.tags, (Strings{"displacement", "region:mali"}));
  EXPECT_EQ(c.body, "Body right after the front matter.");
}

TEST(MarkdownImport, CrlfAndAByteOrderMarkAreAccepted) {
  const Clipping c =
      parseOne("\xEF\xBB\xBFtitle: A\r\ndate: 2013-01-11\r\n\r\nLine one\r\nLine two\r\n");
  EXPECT_EQ(c.title, "A");
  EXPECT_EQ(c.published, "2013-01-11");
  EXPECT_EQ(c.body, "Line one\nLine two");
}

TEST(MarkdownImport, AHeaderAloneGivesAnEmptyBody) {
  const Clipping c = parseOne("title: Only a title\n");
  EXPECT_EQ(c.title, "Only a title");
  EXPECT_EQ(c.body, "");
}

TEST(MarkdownImport, AnUnknownKeyIsAnErrorNamingItAndItsLine) {
  const ImportError e = parseError("title: A\nauthr: Typo Person\n\nbody\n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_EQ(e.message, "unknown key \"authr\"");
}

TEST(MarkdownImport, AHeaderWithoutTitleIsAnError) {
  const ImportError e = parseError("---\nsource: Somewhere\n---\nbody\n");
  EXPECT_EQ(e.line, 1u);
  EXPECT_EQ(e.message, "missing title");
  EXPECT_EQ(parseError("title:   \n\nbody").message, "missing title");
}

TEST(MarkdownImport, AnUnparseableDateIsAnErrorAtItsLine) {
  const ImportError e = parseError("title: A\ndate: sometime in 2013\n\nbody\n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_NE(e.message.find("not a date"), std::string::npos);
  EXPECT_EQ(parseError("title: A\ndate: 2013-02-30\n").line, 2u);
}

TEST(MarkdownImport, MalformedHeadersAreErrors) {
  EXPECT_EQ(parseError("# A heading, not a header\n\nbody\n").line, 1u);
  EXPECT_EQ(parseError("---\ntitle: A\nno colon here\n---\n").line, 3u);
  const ImportError unclosed = parseError("---\ntitle: A\n\nbody without a closing line\n");
  EXPECT_EQ(unclosed.line, 1u);
  EXPECT_NE(unclosed.message.find("never closed"), std::string::npos);
  const ImportError duplicate = parseError("title: A\nTitle: B\n\nbody\n");
  EXPECT_EQ(duplicate.line, 2u);
  EXPECT_NE(duplicate.message.find("duplicate"), std::string::npos);
  EXPECT_EQ(parseError("title: A\ndate: 2013\npublished: 2014\n").line, 3u);
}

TEST(MarkdownImport, CommonChecksApply) {
  EXPECT_EQ(parseError("").message, "empty file");
  EXPECT_EQ(parseError("\n \n").message, "empty file");
  const ImportError binary = parseError(std::string("title: A\n\nbo\0dy\n", 15));
  EXPECT_EQ(binary.message, "not UTF-8 text (binary file?)");
  EXPECT_EQ(binary.line, 3u);
  EXPECT_EQ(parseError("title: A\n\n" + std::string(MAX_BODY_BYTES + 1, 'x')).message,
            "body is larger than 1 MiB");
  EXPECT_EQ(parseError("title: " + std::string(MAX_TITLE_BYTES + 1, 't') + "\n").message,
            "title is larger than 1024 bytes");
}

}  // namespace
}  // namespace fieldsync::protocol
