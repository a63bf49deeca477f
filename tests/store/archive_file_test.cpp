// Issue 18.3 and 18.5: a damaged data.mdb is a clear error before it is mapped, not SIGBUS;
// a lock file replaced under an open archive stops its writes, and nothing committed is lost.
#include "store/archive_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "store/store_fixture.h"

namespace fieldsync::store {
namespace {

namespace fs = std::filesystem;
using testing::clipping;
using testing::keyNumber;
using testing::signBody;
using testing::TempArchive;

std::vector<protocol::VerifiedObject> some(int n, int from = 0) {
  std::vector<protocol::VerifiedObject> objects;
  for (int i = from; i < from + n; ++i)
    objects.push_back(signBody(keyNumber(1),
                               clipping("clipping " + std::to_string(i), std::string(2000, 'x')),
                               1'700'000'000 + i));
  return objects;
}

std::string openError(const fs::path& dir, bool readOnly = false) {
  try {
    (void)Archive::open({.dir = dir, .readOnly = readOnly});
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ArchiveFile, ATruncatedDataFileIsRefusedByNameBeforeItIsMapped) {
  TempArchive a;
  (void)a.putAll(some(200));
  const fs::path dir = a.options.dir;
  a.archive.reset();
  const auto facts = checkDataFile(dir);
  ASSERT_TRUE(facts);
  const auto size = fs::file_size(dir / "data.mdb");
  EXPECT_GE(size, (facts->lastPage + 1) * facts->pageBytes);
  fs::resize_file(dir / "data.mdb", size / 2);  // cut short, as a failed copy leaves it
  for (const bool readOnly : {false, true}) {
    const std::string message = openError(dir, readOnly);
    EXPECT_NE(message.find("data.mdb is damaged"), std::string::npos) << message;
    EXPECT_NE(message.find("cut short"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(size / 2) + " bytes long"), std::string::npos) << message;
  }
}

TEST(ArchiveFile, ADataFileCutInsideItsMetaPagesOrOverwrittenIsRefusedByName) {
  TempArchive a;
  (void)a.putAll(some(3));
  const fs::path dir = a.options.dir;
  a.archive.reset();
  const auto pageBytes = checkDataFile(dir)->pageBytes;
  fs::resize_file(dir / "data.mdb", pageBytes + 40);
  EXPECT_NE(openError(dir).find("the second meta page is cut off"), std::string::npos)
      << openError(dir);
  {
    std::ofstream out(dir / "data.mdb", std::ios::binary | std::ios::trunc);
    out << std::string(3 * pageBytes, 'z');
  }
  EXPECT_NE(openError(dir).find("the first meta page is not an LMDB meta page"), std::string::npos)
      << openError(dir);
}

TEST(ArchiveFile, AnIntactArchiveOpensAndKeepsItsObjects) {
  TempArchive a;
  (void)a.putAll(some(20));
  a.reopen();
  EXPECT_EQ(a.count(), 20u);
}

// Issue 18.5: with lock.mdb deleted (and a new one made by the next opener), the open archive
// writes nothing more and says why; what it committed before is all there.
TEST(ArchiveFile, AnArchiveWhoseLockFileWasReplacedRefusesToWriteAndLosesNothing) {
  TempArchive a;
  (void)a.putAll(some(10));
  const fs::path dir = a.options.dir;
  fs::remove(dir / "lock.mdb");
  auto other = Archive::open({.dir = dir});  // makes a new lock file: another writer could
  try {
    a.archive->write([&](WriteTxn& txn) {
      for (const auto& object : some(5, 100)) (void)txn.put(object);
    });
    ADD_FAILURE() << "wrote under a replaced lock file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lock.mdb was deleted or replaced"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(a.archive->checkLock(), Error);  // for good
  EXPECT_EQ(other->beginRead().count(), 10u);   // all that was committed, nothing half-made
  other->write([&](WriteTxn& txn) {             // the new opener writes as usual
    for (const auto& object : some(5, 200)) (void)txn.put(object);
  });
  EXPECT_EQ(other->beginRead().count(), 15u);
}

}  // namespace
}  // namespace fieldsync::store
