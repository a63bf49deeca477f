#include "store/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
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

std::string writeError(const std::function<void()>& write) {
  try {
    write();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Issue 18.4: a symlink, a device, a FIFO or a folder at the path is refused by name, for every
// way of writing a file, and what is there is left as it was (no temporary file either).
TEST(Files, NothingButARegularFileOrNothingIsEverReplacedOrFollowed) {
  testing::TempDir dir;
  const auto target = dir.path() / "target";
  writeFileDurably(target, "keep me", 0644);
  fs::create_symlink(target, dir.path() / "link");
  ASSERT_EQ(::mkfifo((dir.path() / "fifo").c_str(), 0644), 0);
  fs::create_directory(dir.path() / "folder");
  const std::vector<std::pair<fs::path, std::string>> refused = {
      {dir.path() / "link", "is a symbolic link"},
      {dir.path() / "fifo", "is a FIFO"},
      {dir.path() / "folder", "is a folder"},
      {"/dev/null", "is a device"}};
  for (const auto& [path, what] : refused) {
    SCOPED_TRACE(path.string());
    for (const auto& message :
         {writeError([&] { writeFileDurably(path, "new", 0644); }), writeError([&] {
            DurableFile out(path, 0644);
            out.write(
                std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>("new"), 3));
            out.commit();
          }),
          writeError([&] {
            writeFilesDurably(path.parent_path(), {{path.filename().string(), "new"}});
          })}) {
      EXPECT_NE(message.find(what), std::string::npos) << message;
      EXPECT_NE(message.find("neither follows nor replaces"), std::string::npos) << message;
    }
  }
  EXPECT_TRUE(fs::is_symlink(dir.path() / "link"));
  EXPECT_EQ(slurp(target), "keep me");
  EXPECT_TRUE(fs::is_fifo(dir.path() / "fifo"));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 4)
      << "no temporary file is left behind";
  writeFileDurably(target, "replaced", 0644);  // a regular file is replaced as before
  EXPECT_EQ(slurp(target), "replaced");
}

}  // namespace
}  // namespace fieldsync::store
