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

TEST(PdfImport, AReportGivesOneClippingWithItsTextAndMetadata) {
  const auto result = parsePdf(readFixtureBytes("pdf/report.pdf"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->size(), 1u);
  const Clipping& c = result.value()[0];
  EXPECT_EQ(c.title, "Mali: Protection of Civilians in the Mopti Region");
  EXPECT_EQ(c.authors, (Strings{"Aminata Traore", "Joseph Mensah"}));
  EXPECT_EQ(c.published, "2013-01-18");
  EXPECT_EQ(c.collection, "pdf");
  EXPECT_TRUE(c.body.starts_with("Mali: Protection of Civilians in the Mopti Region")) << c.body;
  EXPECT_NE(c.body.find("3 and 10 January 2013."), std::string::npos) << c.body;
  EXPECT_NE(c.body.find("\n\nRecommendations\n"), std::string::npos) << c.body;
  EXPECT_TRUE(c.body.ends_with("3. Monitor protection incidents near the front line.")) << c.body;
}

TEST(PdfImport, DamagedAndNonPdfBytesAreRefusedClearly) {
  const std::string pdf = readFixtureBytes("pdf/report.pdf");
  EXPECT_FALSE(parsePdf("hello").ok());
  const auto truncated = parsePdf(pdf.substr(0, 40));
  ASSERT_FALSE(truncated.ok());
  EXPECT_FALSE(truncated.error().message.empty());
}

TEST(PdfImport, APdfWithoutTextIsRefused) {
  std::string pdf = readFixtureBytes("pdf/report.pdf");
  // Blank out every "Tj" operator: the pages keep their layout but show no text.
  for (std::size_t at; (at = pdf.find(" Tj ")) != std::string::npos;) pdf.replace(at, 4, " n  ");
  const auto result = parsePdf(pdf);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("no text"), std::string::npos) << result.error().message;
}

TEST(PdfImport, FormatDetectionFindsPdfAndParseSkipsTheUtf8Check) {
  const std::string pdf = readFixtureBytes("pdf/report.pdf");
  EXPECT_EQ(detectFormat("report.bin", pdf), Format::Pdf);
  EXPECT_EQ(detectFormat("report.pdf", ""), Format::Pdf);
  EXPECT_TRUE(parse(Format::Pdf, pdf).ok());
}

}  // namespace
}  // namespace fieldsync::protocol
