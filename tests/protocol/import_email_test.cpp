#include <gtest/gtest.h>

#include <algorithm>
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
  auto result = parseEmail(bytes);
  EXPECT_TRUE(result.ok()) << "line " << result.error().line << ": " << result.error().message;
  return result.ok() ? std::move(result).value() : std::vector<Clipping>{};
}

ImportError parseError(std::string_view bytes) {
  const auto result = parseEmail(bytes);
  EXPECT_FALSE(result.ok());
  return result.ok() ? ImportError{} : result.error();
}

// The digest mailed by the listserv (multipart/alternative, windows-1252, quoted-printable,
// its "From its inception" line escaped by the mbox writer) and a forwarded article.
TEST(EmailImport, AnMboxOfTheDigestGivesItsTwelveClippingsAndTheForwardedMailOneMore) {
  const std::vector<Clipping> plain =
      parseDigest(readFixtureBytes("icrtop-listserv-2013-01-11.txt")).value();
  const std::vector<Clipping> mailed = parseOk(readFixtureBytes("email/icrtop-digest.mbox"));
  ASSERT_EQ(plain.size(), 12u);
  ASSERT_EQ(mailed.size(), 13u);
  for (std::size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(mailed[i], plain[i]) << "clipping " << i;

  const Clipping& forwarded = mailed.back();
  EXPECT_EQ(forwarded.title, "Mali: Displaced families in Mopti face a lean season");
  EXPECT_EQ(forwarded.source, "IRIN");
  EXPECT_EQ(forwarded.authors, (Strings{"Fatoumata Diallo", "Jean-R\xC3\xA9mi Kabor\xC3\xA9"}));
  EXPECT_EQ(forwarded.published, "2013-01-14");
  EXPECT_EQ(forwarded.collection, "e-mail");
  EXPECT_TRUE(forwarded.body.starts_with("MOPTI, 14 January 2013 - Thousands of families"))
      << forwarded.body;
  EXPECT_NE(forwarded.body.find("arrived in S\xC3\xA9var\xC3\xA9 in\nDecember."), std::string::npos)
      << forwarded.body;
  // A base64 body is not mbox-escaped: its "From its side" line stays as written.
  EXPECT_NE(forwarded.body.find("From its side, the government"), std::string::npos);
  // Neither the forwarder's note, nor quotes, nor the reply line, nor the signature.
  for (std::string_view gone : {"FYI", "did you see", "wrote:", "Please file", "Field office",
                                "Aminata Traor", "Forwarded message", "Source:", "By Fatoumata"})
    EXPECT_EQ(forwarded.body.find(gone), std::string::npos) << gone << " in\n" << forwarded.body;
  EXPECT_TRUE(forwarded.body.ends_with("help to register the displaced.")) << forwarded.body;
}

TEST(EmailImport, TheDigestMessageKeepsTheDigestsRegionTags) {
  const std::vector<Clipping> mailed = parseOk(readFixtureBytes("email/icrtop-digest.mbox"));
  std::size_t regional = 0;
  for (const Clipping& c : mailed)
    for (const std::string& tag : c.tags) regional += tag.starts_with("region:");
  EXPECT_EQ(regional, 3u);
}

TEST(EmailImport, ASingleMessageGivesOneClipping) {
  const std::vector<Clipping> clippings = parseOk(readFixtureBytes("email/forwarded-latin1.eml"));
  ASSERT_EQ(clippings.size(), 1u);
  EXPECT_EQ(clippings[0].title, "Mali: Displaced families in Mopti face a lean season");
}

TEST(EmailImport, AnHtmlOnlyMessageGoesThroughTheWebPageRules) {
  const std::vector<Clipping> clippings = parseOk(readFixtureBytes("email/html-only.eml"));
  ASSERT_EQ(clippings.size(), 1u);
  const Clipping& c = clippings[0];
  EXPECT_EQ(c.title, "Protection Cluster update: Kivu, January 2013");
  EXPECT_EQ(c.source, "Protection Cluster DRC");
  EXPECT_EQ(c.published, "2013-01-16");
  EXPECT_TRUE(c.body.starts_with("Since the fall of Goma on 20 November")) << c.body;
  EXPECT_NE(c.body.find("new displacement towards Sake & Minova."), std::string::npos) << c.body;
  EXPECT_NE(c.body.find("41 cases of sexual violence \xE2\x80\x93 most"), std::string::npos)
      << c.body;
  EXPECT_EQ(c.body.find("track()"), std::string::npos);
  EXPECT_TRUE(c.body.ends_with("most of them near IDP sites.")) << c.body;  // not the footer
}

std::string message(std::string_view headers, std::string_view body) {
  return std::string(headers) + "\n" + std::string(body);
}

TEST(EmailImport, ReplyPrefixesAndListTagsLeaveTheSubject) {
  const auto c =
      parseOk(message("From: \"Mensah, Joseph\" <joseph@example.org>\n"
                      "Subject: [fieldnews] RE: Fwd: FW: Re[2]: Floods in Uvira\n"
                      "Date: Sun, 3 Mar 2024 23:30:00 -0800\n",
                      "Water levels are falling.\n"));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].title, "Floods in Uvira");
  EXPECT_EQ(c[0].source, "Mensah, Joseph");
  EXPECT_EQ(c[0].published, "2024-03-03");  // the sender's day, not UTC's
  EXPECT_EQ(c[0].body, "Water levels are falling.");
}

TEST(EmailImport, AReplyKeepsTheTextAboveTheQuotedChain) {
  const auto c = parseOk(message(
      "From: Amina <amina@example.org>\nSubject: Re: Uvira\nDate: 3 Mar 2024 10:00:00 +0000\n"
      "List-Id: <fieldnews.lists.example.org>\n",
      "The road to Uvira is open again.\n\n"
      "On Sun, 3 Mar 2024 at 09:00, Joseph\n<joseph@example.org> wrote:\n"
      "> Is the road open?\n\n"
      "-----Original Message-----\nFrom: someone\n\nold text\n"));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].body, "The road to Uvira is open again.");
  EXPECT_EQ(c[0].collection, "fieldnews");
}

TEST(EmailImport, AFrenchForwardIsReadLikeAnEnglishOne) {
  const auto c =
      parseOk(message("From: Joseph <joseph@example.org>\nSubject: TR: Uvira sous les eaux\n"
                      "Date: 3 Mar 2024 10:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n",
                      "Pour le dossier RDC.\n\n"
                      "-------- Message transf\xC3\xA9r\xC3\xA9 --------\n"
                      "De : Radio Okapi <info@radiookapi.example>\n"
                      "Date : dim. 3 mars 2024 08:00\n"
                      "Objet : Uvira sous les eaux\n"
                      "\xC3\x80 : joseph@example.org\n\n"
                      "Les pluies ont fait monter le lac Tanganyika.\n\n"
                      "Le dim. 3 mars 2024, Amina a \xC3\xA9"
                      "crit :\n> Merci\n"));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].title, "Uvira sous les eaux");
  EXPECT_EQ(c[0].source, "Radio Okapi");
  EXPECT_EQ(c[0].body, "Les pluies ont fait monter le lac Tanganyika.");
}

TEST(EmailImport, FlowedTextIsUnwrapped) {
  const auto c =
      parseOk(message("From: a@example.org\nSubject: S\nDate: 1 Jan 2013 00:00 +0000\n"
                      "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=no\n",
                      "A long line wrapped \nby the mailer.\n From here, stuffed.\n\n-- \nsig\n"));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].body, "A long line wrapped by the mailer.\nFrom here, stuffed.");
}

TEST(EmailImport, TheDigestMailedFlowedGivesItsTwelveClippings) {
  // Wrap the digest as a flowed mailer does: at 72 bytes, soft breaks ending in a space.
  const std::string digest = readFixtureBytes("icrtop-listserv-2013-01-11.txt");
  std::string flowed;
  for (std::string_view line : splitLines(digest)) {
    while (line.size() > 72) {
      std::size_t cut = line.rfind(' ', 72);
      if (cut == std::string_view::npos || cut == 0) break;
      flowed += std::string(line.substr(0, cut + 1)) + "\n";
      line.remove_prefix(cut + 1);
    }
    if (line.starts_with(' ') || line.starts_with("From ")) flowed += ' ';
    flowed += std::string(line) + "\n";
  }
  const auto mailed = parseOk(
      message("From: ICRtoP <icrtop@example.org>\nSubject: Digest\nDate: 11 Jan 2013 00:00 +0000\n"
              "Content-Type: text/plain; charset=utf-8; format=flowed\n",
              flowed));
  EXPECT_EQ(mailed, parseDigest(digest).value());
}

TEST(EmailImport, TheListServersFooterIsNotPartOfTheDigestsLastArticle) {
  std::string digest = readFixtureBytes("icrtop-listserv-2013-01-11.txt");
  // Without its own footer, so only the list server's ends the last article.
  digest = digest.substr(0, digest.find("Thanks to"));
  const auto mailed = parseOk(message(
      "From: ICRtoP <icrtop@example.org>\nSubject: Digest\nDate: 11 Jan 2013 00:00 +0000\n"
      "Content-Type: text/plain; charset=utf-8\n",
      digest + "\n_______________________________________________\nicrtop mailing list\n"
               "icrtop@lists.example.org\nhttps://lists.example.org/mailman/listinfo/icrtop\n"));
  ASSERT_EQ(mailed.size(), 12u);
  EXPECT_EQ(mailed.back().body.find("mailing list"), std::string::npos) << mailed.back().body;
}

TEST(EmailImport, QuotedPrintableIso88591IsReadAsWindows1252) {
  // 0x93/0x94 are curly quotes in windows-1252, control characters in ISO-8859-1.
  const auto c = parseOk(message(
      "From: a@example.org\nSubject: =?ISO-8859-1?Q?C=F4te_d'Ivoire?=\nDate: 1 Jan 2013 00:00 "
      "+0000\n"
      "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n",
      "=93R=E9conciliation=94 d=E9j=E0 =\nvue.\n"));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].title, "C\xC3\xB4te d'Ivoire");
  EXPECT_EQ(c[0].source, "a@example.org");
  EXPECT_EQ(c[0].body,
            "\xE2\x80\x9CR\xC3\xA9"
            "conciliation\xE2\x80\x9D d\xC3\xA9j\xC3\xA0 vue.");
}

TEST(EmailImport, AnAlternativePrefersThePlainPart) {
  const auto c = parseOk(
      message("From: a@example.org\nSubject: S\nDate: 1 Jan 2013 00:00 +0000\nMIME-Version: 1.0\n"
              "Content-Type: multipart/alternative; boundary=b\n",
              "--b\nContent-Type: text/html\n\n<p>html text</p>\n"
              "--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
              "cGxhaW4gdGV4dA==\n--b--\n"));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].body, "plain text");
}

TEST(EmailImport, AttachmentsAreNotTheText) {
  const auto e = parseError(message(
      "From: a@example.org\nSubject: S\nDate: 1 Jan 2013 00:00 +0000\nMIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=b\n",
      "--b\nContent-Type: text/plain\nContent-Disposition: attachment; filename=a.txt\n\nx\n"
      "--b--\n"));
  EXPECT_NE(e.message.find("no text part"), std::string::npos) << e.message;
}

TEST(EmailImport, AMessageWithoutTextIsRefusedWithItsLineInTheMbox) {
  const auto e = parseError(
      "From a@x Mon Jan 14 10:20:45 2013\nFrom: a@x\nSubject: one\n\ntext\n\n"
      "From b@x Mon Jan 14 10:20:45 2013\nFrom: b@x\nSubject: two\nMIME-Version: 1.0\n"
      "Content-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n");
  EXPECT_EQ(e.line, 7u);  // its "From " line
  EXPECT_EQ(e.message, "message 2: no text part (attachments only?)");
}

TEST(EmailImport, AnEmptyFileIsRefused) { EXPECT_EQ(parseError("  \n").message, "empty file"); }

TEST(EmailImport, FormatDetectionFindsMboxAndMessages) {
  EXPECT_EQ(detectFormat("x", readFixtureBytes("email/icrtop-digest.mbox")), Format::Email);
  EXPECT_EQ(detectFormat("x", readFixtureBytes("email/forwarded-latin1.eml")), Format::Email);
  EXPECT_EQ(detectFormat("a.eml", ""), Format::Email);
  // A markdown header is not a message: no From: line.
  EXPECT_EQ(detectFormat("x.txt", "Title: A\nDate: 2013\n\nbody"), Format::Markdown);
}

TEST(EmailImport, NonUtf8BytesReachTheParserThroughParse) {
  const auto result = parse(Format::Email, readFixtureBytes("email/forwarded-latin1.eml"));
  EXPECT_TRUE(result.ok());
  const auto text = parse(Format::Digest, "caf\xE9\n");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, "not UTF-8 text (binary file?)");
}

// A digest mailed with only an HTML part, as list servers that send HTML do: paragraphs as
// <p>, lines as <br>. Its whole text goes to the digest parser, not the web page rules that
// would pick one article.
TEST(EmailImport, ADigestMailedAsHtmlOnlyGivesItsArticles) {
  const std::string digest = readFixtureBytes("icrtop-listserv-2013-01-11.txt");
  const std::vector<Clipping> plain = parseDigest(digest).value();
  std::string html = "<html><head><title>ICRtoP listserv</title></head><body>\n<p>";
  for (std::string_view line : splitLines(digest)) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {  // a line of no-break
      html += "</p>\n<p>";                                            // spaces is text
      continue;
    }
    for (char c : line)
      html += c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : std::string(1, c);
    html += "<br>\n";
  }
  html += "</p></body></html>\n";
  const std::vector<Clipping> mailed = parseOk(
      message("From: ICRtoP <listserv@icrtop.example.org>\nSubject: ICRtoP listserv digest\n"
              "Date: Fri, 11 Jan 2013 10:00:00 -0500\nMIME-Version: 1.0\n"
              "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n",
              html));
  ASSERT_EQ(mailed.size(), plain.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(mailed[i].title, plain[i].title) << "clipping " << i;
    EXPECT_EQ(mailed[i].source, plain[i].source) << "clipping " << i;
    EXPECT_EQ(mailed[i].tags, plain[i].tags) << "clipping " << i;
  }
}

// An mbox is cut into messages as its bytes come, in pieces of any size: the same messages,
// numbered, with the line each starts on.
TEST(EmailImport, AnMboxCutInPiecesOfAnySizeGivesTheSameMessages) {
  const std::string mbox = readFixtureBytes("email/icrtop-digest.mbox");
  std::vector<Record> whole;
  RecordSplitter all(RecordSplitter::Kind::MboxMessages, MAX_MESSAGE_BYTES);
  ASSERT_FALSE(all.feed(mbox, whole));
  ASSERT_FALSE(all.finish(whole));
  ASSERT_EQ(whole.size(), 2u);
  EXPECT_EQ(whole[0].line, 1u);
  EXPECT_TRUE(whole[1].bytes.starts_with("From "));
  EXPECT_EQ(whole[0].bytes + whole[1].bytes, mbox);
  const auto lines =
      static_cast<std::size_t>(std::count(whole[0].bytes.begin(), whole[0].bytes.end(), '\n'));
  EXPECT_EQ(whole[1].line, lines + 1);
  for (std::size_t piece : {1u, 2u, 5u, 7u, 4096u}) {
    RecordSplitter splitter(RecordSplitter::Kind::MboxMessages, MAX_MESSAGE_BYTES);
    std::vector<Record> got;
    for (std::size_t at = 0; at < mbox.size(); at += piece)
      ASSERT_FALSE(splitter.feed(std::string_view(mbox).substr(at, piece), got));
    ASSERT_FALSE(splitter.finish(got));
    ASSERT_EQ(got.size(), whole.size()) << "pieces of " << piece;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].bytes, whole[i].bytes) << "pieces of " << piece;
      EXPECT_EQ(got[i].number, i + 1);
      EXPECT_EQ(got[i].line, whole[i].line) << "pieces of " << piece;
    }
  }
}

TEST(EmailImport, AMessageLargerThanTheBoundIsRefusedNamingItsNumberAndLine) {
  const std::string small = "From a@b Fri Jan 11 10:00:00 2013\nFrom: a@b\nSubject: s\n\nshort\n";
  const std::string large =
      "From a@b Fri Jan 11 10:00:00 2013\nFrom: a@b\nSubject: s\n\n" + std::string(200, 'x') + "\n";
  RecordSplitter splitter(RecordSplitter::Kind::MboxMessages, 128);
  std::vector<Record> got;
  const std::string mbox = small + small + large + small;
  std::optional<ImportError> error;
  for (std::size_t at = 0; at < mbox.size() && !error; at += 16)
    error = splitter.feed(std::string_view(mbox).substr(at, 16), got);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->message, "message 3 at line 11 is larger than 128 bytes");
  EXPECT_EQ(error->line, 11u);
  EXPECT_EQ(got.size(), 2u);
}

}  // namespace
}  // namespace fieldsync::protocol
