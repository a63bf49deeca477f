// After a write() that removed objects, their bytes are gone from data.mdb itself: not in
// live pages, not in the free pages LMDB keeps, not in the unused middle of a page. Read from
// disk, byte for byte; a reader open during the removal delays the scrub to a later write.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "store/archive.h"
#include "tests/store/store_fixture.h"

namespace fieldsync::store {
namespace {

using protocol::VerifiedObject;
using testing::clipping;
using testing::keyNumber;
using testing::signBody;
using testing::TempArchive;

const std::string MARKER = "QXZMARKERQXZ";
const std::string MARKER_FOLDED = "qxzmarkerqxz";  // as the full-text index keeps it

std::vector<char> fileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// How many times text occurs in data.mdb.
std::size_t occurrences(const TempArchive& t, const std::string& text) {
  const std::vector<char> bytes = fileBytes(t.options.dir / "data.mdb");
  std::size_t count = 0;
  for (auto it = bytes.begin();
       (it = std::search(it, bytes.end(), text.begin(), text.end())) != bytes.end(); ++it) {
    ++count;
  }
  return count;
}

bool markerOnDisk(const TempArchive& t) {
  return occurrences(t, MARKER) + occurrences(t, MARKER_FOLDED) > 0;
}

std::vector<VerifiedObject> fillers(int from, int count, std::size_t bodyBytes = 200) {
  const auto office = keyNumber(1);
  std::vector<VerifiedObject> out;
  for (int i = from; i < from + count; ++i) {
    std::string body;
    while (body.size() < bodyBytes) body += "filler words number " + std::to_string(i) + " ";
    body.pop_back();  // normal form: trimmed
    out.push_back(signBody(office,
                           clipping("Filler " + std::to_string(i), body,
                                    "2013-01-1" + std::to_string(i % 10), {"region:mali"}, "Radio"),
                           1000 + i));
  }
  return out;
}

/// A clipping with the marker in its title, body, source and a tag; bodyBytes long.
VerifiedObject marked(std::size_t bodyBytes) {
  std::string body = "Opening words " + MARKER + " ";
  while (body.size() < bodyBytes) body += "more text of the marked article ";
  body += MARKER + " closing.";
  return signBody(keyNumber(1),
                  clipping("Report " + MARKER, body, "2013-01-11", {"region:" + MARKER_FOLDED},
                           MARKER + " Radio"),
                  1500);
}

void expectRemovalScrubbed(std::size_t bodyBytes) {
  TempArchive t;
  t.putAll(fillers(0, 30));
  const VerifiedObject secret = marked(bodyBytes);
  t.putAll({secret});
  t.putAll(fillers(30, 10));
  ASSERT_GT(occurrences(t, MARKER), 0u);  // the test can fail: the marker is there to find
  ASSERT_GT(occurrences(t, MARKER_FOLDED), 0u);

  t.archive->write([&](WriteTxn& txn) { EXPECT_TRUE(txn.remove(secret.id())); });
  EXPECT_EQ(occurrences(t, MARKER), 0u);
  EXPECT_EQ(occurrences(t, MARKER_FOLDED), 0u);
  const auto stats = t.archive->scrubStats();
  EXPECT_FALSE(stats.pending);
  EXPECT_GT(stats.bytesZeroed, 0u);

  // Later writes do not bring it back (LMDB's reused page buffers were dropped), and the
  // archive works as before.
  t.putAll(fillers(40, 20));
  t.archive->write([&](WriteTxn& txn) { EXPECT_TRUE(txn.remove(fillers(5, 1)[0].id())); });
  EXPECT_FALSE(markerOnDisk(t));
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.count(), 59u);
  EXPECT_TRUE(txn.search(MARKER).empty());
  EXPECT_EQ(txn.search("filler").size(), 59u);
}

TEST(ArchiveScrub, ARemovedClippingIsGoneFromDataMdb) { expectRemovalScrubbed(300); }

TEST(ArchiveScrub, ARemovedClippingOnOverflowPagesIsGoneFromDataMdb) {
  expectRemovalScrubbed(9000);  // the object spans several overflow pages
}

TEST(ArchiveScrub, AReaderOpenDuringTheRemovalDelaysTheScrubToALaterWrite) {
  TempArchive t;
  t.putAll(fillers(0, 20));
  const VerifiedObject secret = marked(300);
  t.putAll({secret});
  t.putAll(fillers(20, 5));
  ASSERT_TRUE(markerOnDisk(t));

  // A reader on another thread, holding the snapshot that still has the clipping.
  std::promise<void> opened;
  std::promise<void> release;
  std::thread reader([&] {
    const ReadTxn txn = t.archive->beginRead();
    EXPECT_TRUE(txn.contains(secret.id()));
    opened.set_value();
    release.get_future().wait();
    EXPECT_TRUE(txn.contains(secret.id()));  // its snapshot was never touched
    EXPECT_TRUE(txn.get(secret.id()).has_value());
  });
  opened.get_future().wait();
  t.archive->write([&](WriteTxn& txn) { EXPECT_TRUE(txn.remove(secret.id())); });
  // The old pages are the reader's: still on disk, and the scrub is owed.
  EXPECT_TRUE(markerOnDisk(t));
  EXPECT_TRUE(t.archive->scrubStats().pending);
  EXPECT_GT(t.archive->scrubStats().pagesHeld, 0u);
  release.set_value();
  reader.join();

  t.putAll(fillers(25, 1));  // any later write scrubs what the first could not
  EXPECT_FALSE(markerOnDisk(t));
  EXPECT_FALSE(t.archive->scrubStats().pending);
  EXPECT_EQ(t.archive->beginRead().count(), 26u);
}

TEST(ArchiveScrub, AScrubOwedWhenTheArchiveClosedIsDoneByTheNextWrite) {
  TempArchive t;
  t.putAll(fillers(0, 20));
  const VerifiedObject secret = marked(300);
  t.putAll({secret});
  std::promise<void> opened;
  std::promise<void> release;
  std::thread reader([&] {
    const ReadTxn txn = t.archive->beginRead();
    opened.set_value();
    release.get_future().wait();
  });
  opened.get_future().wait();
  t.archive->write([&](WriteTxn& txn) { EXPECT_TRUE(txn.remove(secret.id())); });
  release.set_value();
  reader.join();
  EXPECT_TRUE(t.archive->scrubStats().pending);
  t.reopen();  // the owed scrub is kept in meta
  EXPECT_TRUE(t.archive->scrubStats().pending);
  EXPECT_TRUE(markerOnDisk(t));
  t.archive->write([&](WriteTxn& txn) { txn.setMeta("note", "any write"); });
  EXPECT_FALSE(markerOnDisk(t));
  EXPECT_FALSE(t.archive->scrubStats().pending);
}

}  // namespace
}  // namespace fieldsync::store
