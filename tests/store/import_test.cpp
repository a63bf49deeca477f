// store::importFiles: files checked whole before anything is stored, then stored in batches,
// and a PDF read under limits. Real files in a temp folder, a real archive.
#include "store/import.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/store/store_fixture.h"

namespace fieldsync::store {
namespace {

using testing::keyNumber;
using testing::TempArchive;
namespace fs = std::filesystem;

class Import : public ::testing::Test {
 protected:
  std::string file(const std::string& name, const std::string& text) {
    const fs::path path = m_archive.dir.path() / name;
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }
  std::optional<ImportRefused> import(const std::vector<std::string>& files,
                                      const ImportOptions& options = {}) {
    return importFiles(*m_archive.archive, m_key, files, options, 1'700'000'000,
                       [&](const FileImported& f) { m_done.push_back(f); });
  }

  TempArchive m_archive;
  protocol::SecretKey m_key = keyNumber(1);
  std::vector<FileImported> m_done;
};

std::string lines(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += "{\"title\": \"Clipping " + std::to_string(i) + "\"}\n";
  return out;
}

TEST_F(Import, AFileLargerThanABatchIsStoredWholeInSeveralBatches) {
  ImportOptions options;
  options.batchClippings = 3;
  options.keepIds = true;
  ASSERT_FALSE(import({file("ten.jsonl", lines(1, 10))}, options));
  ASSERT_EQ(m_done.size(), 1u);
  EXPECT_EQ(m_done[0].stored, 10u);
  EXPECT_EQ(m_done[0].storedIds.size(), 10u);
  EXPECT_EQ(m_archive.count(), 10u);
}

// A batch is signed while the one before it is stored: content it shares with that batch is
// found again inside its own transaction, stored once and reported as a duplicate of it.
TEST_F(Import, ContentRepeatedInTheNextBatchIsStoredOnce) {
  ImportOptions options;
  options.batchClippings = 3;
  options.keepIds = true;
  ASSERT_FALSE(import({file("twice.jsonl", lines(1, 3) + lines(2, 4) + lines(3, 3))}, options));
  ASSERT_EQ(m_done.size(), 1u);
  EXPECT_EQ(m_done[0].stored, 4u);
  EXPECT_EQ(m_done[0].duplicates, 3u);
  EXPECT_EQ(m_archive.count(), 4u);
  // Clippings 2 and 3 again, then 3 once more: the ids stored for them first.
  const std::vector<ObjectId> expected{m_done[0].storedIds[1], m_done[0].storedIds[2],
                                       m_done[0].storedIds[2]};
  EXPECT_EQ(m_done[0].duplicateIds, expected);
}

TEST_F(Import, ABadLinePastTheFirstBatchesStoresNothing) {
  ImportOptions options;
  options.batchClippings = 3;
  const auto refused = import(
      {file("good.jsonl", lines(1, 4)), file("bad.jsonl", lines(5, 12) + "{\"titel\": 1}\n")},
      options);
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->problems.size(), 1u);
  EXPECT_NE(refused->problems[0].find("bad.jsonl:9: unknown field"), std::string::npos)
      << refused->problems[0];
  EXPECT_TRUE(m_done.empty());
  EXPECT_EQ(m_archive.count(), 0u);
}

// Lines are parsed on every core a window at a time (256 KiB): the error reported is still
// the first in the file, found past the first windows, and every line is stored in order.
TEST_F(Import, JsonlParsedOnEveryCoreReportsTheFirstBadLineAndKeepsTheOrder) {
  std::string text;
  for (int i = 1; i <= 6000; ++i) {
    text += "{\"title\": \"Clipping " + std::to_string(i) + "\", \"body\": \"" +
            std::string(100, 'w') + "\"}\n";
  }
  ASSERT_GT(text.size(), 3u << 18);  // more than three windows
  std::string bad = text;
  const auto lineStart = [&](int line) {
    std::size_t at = 0;
    for (int i = 1; i < line; ++i) at = bad.find('\n', at) + 1;
    return at;
  };
  bad.insert(lineStart(5000), "{\"titel\": 1}\n");  // line 5000
  bad.insert(lineStart(4000), "{\"title\": \n");    // line 4000, the first bad one
  const auto refused = import({file("bad.jsonl", bad)});
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->problems.size(), 1u);
  EXPECT_NE(refused->problems[0].find("bad.jsonl:4000: "), std::string::npos)
      << refused->problems[0];
  EXPECT_EQ(m_archive.count(), 0u);

  ImportOptions options;
  options.keepIds = true;
  ASSERT_FALSE(import({file("good.jsonl", text)}, options));
  ASSERT_EQ(m_done.size(), 1u);
  ASSERT_EQ(m_done[0].storedIds.size(), 6000u);
  const ReadTxn txn = m_archive.archive->beginRead();
  for (int i : {1, 77, 2999, 6000}) {
    const auto id = m_done[0].storedIds[static_cast<std::size_t>(i - 1)];
    const auto object = protocol::decode(*txn.get(id));
    ASSERT_TRUE(object.ok());
    ASSERT_NE(object->payload.clipping(), nullptr);
    EXPECT_EQ(object->payload.clipping()->title, "Clipping " + std::to_string(i));
  }
}

TEST_F(Import, AnMboxMessageBeyondTheBatchesIsStoredOnceWhenImportedAgain) {
  std::string mbox;
  for (int i = 0; i < 7; ++i)
    mbox +=
        "From a@example.org Mon Jan 14 09:00:00 2013\nFrom: A <a@example.org>\nSubject: Report " +
        std::to_string(i) + "\nDate: Mon, 14 Jan 2013 09:00:00 +0000\n\nText " + std::to_string(i) +
        ".\n";
  ImportOptions options;
  options.batchClippings = 2;
  const std::string inbox = file("inbox.mbox", mbox);
  ASSERT_FALSE(import({inbox}, options));
  ASSERT_FALSE(import({inbox}, options));
  ASSERT_EQ(m_done.size(), 2u);
  EXPECT_EQ(m_done[0].stored, 7u);
  EXPECT_EQ(m_done[1].stored, 0u);
  EXPECT_EQ(m_done[1].duplicates, 7u);
  EXPECT_EQ(m_archive.count(), 7u);
}

// tests/fixtures/pdf/bomb.pdf: 35 KB whose page inflates to 4 GiB of text operators (two
// nested FlateDecode filters). Read in a child process under a CPU limit (here 2 s, 30 s by
// default) and a memory limit, it is refused, and nothing else given with it is stored.
TEST_F(Import, APdfDecompressionBombIsRefusedWithinTheLimits) {
  ImportOptions options;
  options.pdfCpuSeconds = 2;
  const auto refused = import({std::string(FIELDSYNC_FIXTURES_DIR) + "/pdf/bomb.pdf",
                               std::string(FIELDSYNC_FIXTURES_DIR) + "/pdf/report.pdf"},
                              options);
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->problems.size(), 1u);
  EXPECT_NE(refused->problems[0].find("bomb.pdf: the PDF could not be read within 512 MiB of "
                                      "memory and 2 s of CPU (a decompression bomb?)"),
            std::string::npos)
      << refused->problems[0];
  EXPECT_EQ(m_archive.count(), 0u);
  // The same limits let a real report through.
  ASSERT_FALSE(import({std::string(FIELDSYNC_FIXTURES_DIR) + "/pdf/report.pdf"}, options));
  EXPECT_EQ(m_archive.count(), 1u);
}

}  // namespace
}  // namespace fieldsync::store
