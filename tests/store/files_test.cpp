#include "store/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "protocol/error.h"
#include "store_fixture.h"

namespace fieldsync::store {
namespace {
namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

unsigned modeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 0777;
}

TEST(Files, ExclusiveWriteCreatesWithItsModeAndNeverReplaces) {
  testing::TempDir dir;
  const auto path = dir.path() / "secret";
  writeFileDurably(path, "first", 0600, /*exclusive=*/true);
  EXPECT_EQ(slurp(path), "first");
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_THROW(writeFileDurably(path, "second", 0600, true), Error);
  EXPECT_EQ(slurp(path), "first");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1)
      << "no temporary file is left behind";
}

TEST(Files, SeveralFilesReplaceOldOnesTogether) {
  testing::TempDir dir;
  writeFilesDurably(dir.path(), {{"manifest", "old"}, {"manifest.minisig", "old sig"}});
  writeFilesDurably(dir.path(), {{"manifest", "new"}, {"manifest.minisig", "new sig"}});
  EXPECT_EQ(slurp(dir.path() / "manifest"), "new");
  EXPECT_EQ(slurp(dir.path() / "manifest.minisig"), "new sig");
  EXPECT_EQ(modeOf(dir.path() / "manifest"), 0644u);
}

TEST(Files, FailureWhileWritingLeavesNoNewFile) {
  testing::TempDir dir;
  // A folder where the second file's temporary file must go makes writing it fail.
  fs::create_directories(dir.path() / (".second.tmp-" + std::to_string(::getpid())));
  EXPECT_THROW(writeFilesDurably(dir.path(), {{"first", "1"}, {"second", "2"}}), Error);
  EXPECT_FALSE(fs::exists(dir.path() / "first"));
  EXPECT_FALSE(fs::exists(dir.path() / (".first.tmp-" + std::to_string(::getpid()))));
}

}  // namespace
}  // namespace fieldsync::store
