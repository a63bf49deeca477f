#include "store/home.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>
#include <cstdlib>
#include <fstream>

#include <random>

namespace fieldsync::store {
namespace {
namespace fs = std::filesystem;

class HomeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    m_dir = fs::temp_directory_path() / ("fieldsync-home-" + std::to_string(rd()));
  }
  void TearDown() override { fs::remove_all(m_dir); }
  static InitOptions cheap(std::optional<std::string> passphrase = std::nullopt) {
    InitOptions o;
    o.name = "Goma office";
    o.passphrase = std::move(passphrase);
    o.sealCost = {1, 8192};  // the file format is under test here, not Argon2id
    return o;
  }
  fs::path m_dir;
};

TEST_F(HomeTest, InitMakesAPrivateFolderKeyAndArchive) {
  Home::init(m_dir, cheap());
  struct stat st {};
  ASSERT_EQ(::stat(Home::keyFile(m_dir).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(m_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "the home is not readable by others";

  auto home = Home::open(m_dir);
  EXPECT_EQ(home->name(), "Goma office");
  auto key = home->loadSecretKey(std::nullopt);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->publicKey(), home->publicKey());
}

TEST_F(HomeTest, InitRefusesAnExistingNode) {
  Home::init(m_dir, cheap());
  auto before = Home::open(m_dir)->publicKey();
  EXPECT_THROW(Home::init(m_dir, cheap()), Error);
  EXPECT_EQ(Home::open(m_dir)->publicKey(), before);
}

TEST_F(HomeTest, OpeningAFolderWithoutANodeSaysToInit) {
  try {
    Home::open(m_dir);
    FAIL() << "opened a missing home";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fieldsync init"), std::string::npos);
  }
}

TEST_F(HomeTest, SealedKeyOpensOnlyWithThePassphrase) {
  Home::init(m_dir, cheap("s3cret"));
  auto home = Home::open(m_dir);
  EXPECT_TRUE(home->keyIsSealed());
  EXPECT_EQ(home->loadSecretKey(std::nullopt).error(),
            protocol::KeyFileProblem::PassphraseRequired);
  EXPECT_EQ(home->loadSecretKey("nope").error(), protocol::KeyFileProblem::WrongPassphrase);
  EXPECT_TRUE(home->loadSecretKey("s3cret").ok());
}

TEST_F(HomeTest, FailedInitLeavesNothingBehind) {
  // A map size that is not a size makes opening the new archive fail, midway through init.
  ::setenv("FIELDSYNC_MAP_INITIAL", "lots", 1);
  EXPECT_THROW(Home::init(m_dir, cheap()), Error);
  ::unsetenv("FIELDSYNC_MAP_INITIAL");
  EXPECT_FALSE(Home::exists(m_dir));
  EXPECT_FALSE(fs::exists(m_dir));
  for (const auto& entry : fs::directory_iterator(m_dir.parent_path()))
    EXPECT_NE(entry.path().filename().string().rfind("." + m_dir.filename().string() + ".init-", 0),
              0u)
        << entry.path();
}

// Into a folder that holds other files (a config file, say), init moves the archive and then
// the key file in, and leaves the other files as they were.
TEST_F(HomeTest, InitIntoAFolderWithOtherFilesKeepsThem) {
  fs::create_directories(m_dir);
  std::ofstream(m_dir / "notes.txt") << "mine";
  Home::init(m_dir, cheap());
  EXPECT_TRUE(Home::open(m_dir)->loadSecretKey(std::nullopt).ok());
  EXPECT_TRUE(fs::exists(m_dir / "notes.txt"));
  EXPECT_FALSE(Home::partial(m_dir));
}

// A key file of another node is named as such (issue 18.7), not "damaged".
TEST_F(HomeTest, AnotherNodesKeyFileIsOtherNodeNotMalformed) {
  Home::init(m_dir, cheap());
  const fs::path other = m_dir.parent_path() / "other-node";
  Home::init(other, cheap());
  fs::copy_file(Home::keyFile(other), Home::keyFile(m_dir), fs::copy_options::overwrite_existing);
  EXPECT_EQ(Home::open(m_dir)->loadSecretKey(std::nullopt).error(),
            protocol::KeyFileProblem::OtherNode);
  fs::remove_all(other);
}

}  // namespace
}  // namespace fieldsync::store
