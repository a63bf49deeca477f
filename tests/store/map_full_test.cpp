// A full LMDB map is never a dead end below the ceiling: the write grows the map and runs its
// batch again. At the ceiling the write fails with MapCeiling, naming the map size and what to
// do, and stores nothing: the archive is as before and takes the same write once the ceiling
// is raised. Real LMDB in temp folders.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "store/files.h"
#include "store_fixture.h"

namespace fieldsync::store {
namespace {
using protocol::VerifiedObject;
using testing::TempArchive;

constexpr std::size_t KiB = 1024, MiB = 1024 * KiB;

/// count clippings of about 5 KB, numbered from first: a batch of 100 needs about 1 MiB.
std::vector<VerifiedObject> clippings(const protocol::SecretKey& key, int count, int first) {
  std::vector<VerifiedObject> objects;
  for (int i = first; i < first + count; ++i) {
    std::string body;
    while (body.size() < 5000)
      body += "dispatch" + std::to_string((i * 31 + body.size()) % 977) + " ";
    body.pop_back();
    objects.push_back(testing::signBody(
        key, testing::clipping("Dispatch " + std::to_string(i), body, "2013-01-11"), 1000 + i));
  }
  return objects;
}

/// Sets an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : m_name(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(m_name); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* m_name;
};

TEST(MapFull, ATinyMapGrowsByItselfAcrossManyWritesAndKeepsItsSizeWhenReopened) {
  Options options;
  options.initialMapBytes = 64 * KiB;
  TempArchive t(options);
  EXPECT_EQ(t.archive->mapBytes(), 64 * KiB);
  const auto key = testing::keyNumber(1);
  for (int batch = 0; batch < 8; ++batch) t.putAll(clippings(key, 50, batch * 50));
  EXPECT_EQ(t.count(), 400u);
  const std::size_t grown = t.archive->mapBytes();
  EXPECT_GE(grown, 2 * MiB);  // 400 clippings of 5 KB, with indexes
  t.reopen();
  EXPECT_EQ(t.archive->mapBytes(), grown);
  EXPECT_EQ(t.archive->beginRead().search("dispatch").size(), 400u);
}

TEST(MapFull, GrowthStopsAtTheCeilingExactlyEvenWhenDoublingWouldPassIt) {
  Options options;
  options.initialMapBytes = 256 * KiB;
  options.maxMapBytes = 1280 * KiB;  // 256 -> 512 -> 1024 -> 1280, not 2048
  TempArchive t(options);
  const auto key = testing::keyNumber(1);
  int stored = 0;
  try {
    for (;; stored += 20) t.putAll(clippings(key, 20, stored));
  } catch (const MapCeiling&) {
  }
  EXPECT_EQ(t.archive->mapBytes(), 1280 * KiB);
  EXPECT_GT(stored, 0);
  EXPECT_EQ(t.count(), static_cast<std::uint64_t>(stored));
}

TEST(MapFull, AtTheCeilingTheWriteFailsClearlyAndStoresNothingOfItsBatch) {
  Options options;
  options.initialMapBytes = 256 * KiB;
  options.maxMapBytes = 1 * MiB;
  TempArchive t(options);
  const auto key = testing::keyNumber(1);
  const auto first = clippings(key, 20, 0);
  t.putAll(first);
  const auto before = t.archive->beginRead().lastSeq();

  const auto big = clippings(key, 400, 20);  // about 2 MiB with indexes: past the ceiling
  int runs = 0;
  try {
    t.archive->write([&](WriteTxn& txn) {
      ++runs;
      for (const auto& object : big) (void)txn.put(object);
      txn.setMeta("test.marker", "half-written?");
    });
    FAIL() << "a write past the ceiling succeeded";
  } catch (const MapCeiling& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(t.options.dir.string()), std::string::npos) << what;
    EXPECT_NE(what.find("ceiling of 1.0 MiB"), std::string::npos) << what;
    EXPECT_NE(what.find("FIELDSYNC_MAP_MAX"), std::string::npos) << what;
    EXPECT_NE(what.find("nothing of this write was stored"), std::string::npos) << what;
    EXPECT_EQ(e.action(), Action::Fail);
    EXPECT_EQ(e.mapBytes(), 1 * MiB);
  }
  EXPECT_GE(runs, 2);  // it grew (and ran again) before it gave up
  {
    const ReadTxn txn = t.archive->beginRead();
    EXPECT_EQ(txn.count(), 20u);
    EXPECT_EQ(txn.lastSeq(), before);
    EXPECT_FALSE(txn.getMeta("test.marker"));
    for (const auto& object : big) EXPECT_FALSE(txn.contains(object.id()));
    EXPECT_EQ(txn.search("dispatch").size(), 20u);
  }
  // Still usable at the ceiling: a small write fits.
  t.putAll(clippings(key, 2, 420));
  EXPECT_EQ(t.count(), 22u);

  // A higher ceiling takes the same batch, with seqs following on without a gap.
  Options raised = t.options;
  raised.maxMapBytes = 64 * MiB;
  t.reopen(raised);
  t.putAll(big);
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.count(), 422u);
  EXPECT_EQ(txn.lastSeq(), 422u);
  EXPECT_EQ(txn.search("dispatch").size(), 422u);
}

TEST(MapFull, TheEnvironmentSetsTheInitialMapAndTheCeiling) {
  {
    ScopedEnv initial(ENV_MAP_INITIAL, "128K");
    ScopedEnv max(ENV_MAP_MAX, "3M");
    const Options o = mapSizesFromEnvironment(Options{});
    EXPECT_EQ(o.initialMapBytes, 128 * KiB);
    EXPECT_EQ(o.maxMapBytes, 3 * MiB);
  }
  {
    ScopedEnv max(ENV_MAP_MAX, "1073741824");
    EXPECT_EQ(mapSizesFromEnvironment(Options{}).maxMapBytes, 1024 * MiB);
    EXPECT_EQ(mapSizesFromEnvironment(Options{}).initialMapBytes, Options{}.initialMapBytes);
  }
  EXPECT_EQ(mapSizesFromEnvironment(Options{}).maxMapBytes, DEFAULT_MAX_MAP_BYTES);
  for (const char* bad : {"lots", "12Q", "0", "-5M", "1K", "99999999999T"}) {
    ScopedEnv max(ENV_MAP_MAX, bad);
    try {
      (void)mapSizesFromEnvironment(Options{});
      ADD_FAILURE() << bad << " was taken as a size";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("FIELDSYNC_MAP_MAX="), std::string::npos) << e.what();
    }
  }
}

TEST(MapFull, AnInitialMapLargerThanTheCeilingStartsAtTheCeiling) {
  Options options;
  options.initialMapBytes = 8 * MiB;
  options.maxMapBytes = 2 * MiB;
  TempArchive t(options);
  EXPECT_EQ(t.archive->mapBytes(), 2 * MiB);
}

TEST(DiskFullError, NamesTheFolderTheFreeSpaceAndWhatTheWriteNeeded) {
  const DiskFull e("/media/stick", 12 * KiB, 3 * MiB / 2, "writing goma.fsb");
  EXPECT_STREQ(e.what(),
               "no space left on the disk holding /media/stick: writing goma.fsb needs about "
               "1.5 MiB more (12.0 KiB free there); free space on that disk, then run it again "
               "(nothing of it was kept)");
  EXPECT_EQ(e.action(), Action::BackOff);
  EXPECT_EQ(e.folder(), "/media/stick");
  EXPECT_NE(std::string(DiskFull("/srv", 0, 0, "this write").what())
                .find("this write needs more room (0 B free there)"),
            std::string::npos);
  EXPECT_EQ(formatSize(0), "0 B");
  EXPECT_EQ(formatSize(1023), "1023 B");
  EXPECT_EQ(formatSize(64u << 20), "64.0 MiB");
}

}  // namespace
}  // namespace fieldsync::store
