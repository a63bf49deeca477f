// Issue 18, run as the attacker ran it, through the real binary: a damaged archive file, files
// where a bundle or key should be, an interrupted init, a key file of another node or open to
// others, a read-only home, and the answers of point 7. Each gets a clear message and the
// status of docs/cli.md, and nothing is replaced, hung on or half-printed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/cli_fixture.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace fieldsync::clitest;

class Hardening : public NodesTest {
 protected:
  Hardening() : NodesTest("fieldsync-hardening-") {}
  void SetUp() override {
    m_node = makeNode("office");
    for (int i = 0; i < 3; ++i)
      ASSERT_EQ(run(m_node, {"add", "--title", "Clipping " + std::to_string(i), "--source", "Wire"})
                    .status,
                0);
  }
  /// The program with an environment variable set, as a user's shell would.
  Result runWith(const std::string& variable, const std::vector<std::string>& args) {
    std::vector<std::string> all{variable, FIELDSYNC_BIN, "--home", m_node.home.string()};
    all.insert(all.end(), args.begin(), args.end());
    return runProgram("env", all, m_dir);
  }
  fs::path dataFile() const { return m_node.home / "archive" / "data.mdb"; }
  Node m_node;
};

// 18.3: a data.mdb cut short is a clear message and status 5 for every command, verify
// included, instead of SIGBUS.
TEST_F(Hardening, ATruncatedArchiveFileIsAClearErrorAndStatusFiveNotSigbus) {
  fs::resize_file(dataFile(), fs::file_size(dataFile()) / 2);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"list"}, {"verify", "--all"}, {"add", "--title", "x", "--source", "Wire"}}) {
    const auto r = run(m_node, args);
    EXPECT_EQ(r.status, 5) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("data.mdb is damaged"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("cut short"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

// 18.4: bundle export (and so every file the tool writes, store/files.h) refuses a symlink, a
// FIFO, a device and a folder at FILE, and leaves what is there as it was.
TEST_F(Hardening, BundleExportRefusesASymlinkAFifoADeviceAndAFolder) {
  const fs::path target = m_dir / "precious";
  spit(target, "do not replace me");
  fs::create_symlink(target, m_dir / "link.fsb");
  ASSERT_EQ(::mkfifo((m_dir / "fifo.fsb").c_str(), 0644), 0);
  fs::create_directory(m_dir / "folder.fsb");
  for (const auto& [path, what] : std::vector<std::pair<std::string, std::string>>{
           {(m_dir / "link.fsb").string(), "is a symbolic link"},
           {(m_dir / "fifo.fsb").string(), "is a FIFO"},
           {"/dev/null", "is a device"},
           {(m_dir / "folder.fsb").string(), "is a folder"}}) {
    const auto r = run(m_node, {"bundle", "export", path});
    EXPECT_NE(r.status, 0) << path;
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  }
  EXPECT_TRUE(fs::is_symlink(m_dir / "link.fsb"));
  EXPECT_EQ(slurp(target), "do not replace me");
  EXPECT_TRUE(fs::is_fifo(m_dir / "fifo.fsb"));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  ASSERT_EQ(run(m_node, {"bundle", "export", (m_dir / "plain.fsb").string()}).status, 0);
  EXPECT_GT(fs::file_size(m_dir / "plain.fsb"), 0u);
}

// 18.6: node.key is bounded and must be a regular file: a FIFO is refused at once (no hang),
// a link to /dev/zero is refused before any read, an oversized file too.
TEST_F(Hardening, AKeyFileThatIsAFifoADeviceOrHugeIsRefusedWithoutReadingIt) {
  const fs::path key = m_node.home / "node.key";
  const fs::path saved = m_dir / "node.key.saved";
  fs::rename(key, saved);
  ASSERT_EQ(::mkfifo(key.c_str(), 0600), 0);
  auto r = run(m_node, {"add", "--title", "x", "--source", "Wire"});
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_NE(r.err.find("is not a regular file (a FIFO)"), std::string::npos) << r.err;
  fs::remove(key);
  fs::create_symlink("/dev/zero", key);
  r = run(m_node, {"add", "--title", "x", "--source", "Wire"});
  EXPECT_NE(r.err.find("is not a regular file (a device)"), std::string::npos) << r.err;
  fs::remove(key);
  spit(key, std::string(100'000, 'k'));
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  r = run(m_node, {"add", "--title", "x", "--source", "Wire"});
  EXPECT_NE(r.err.find("is larger than 64.0 KiB"), std::string::npos) << r.err;
  fs::remove(key);
  fs::rename(saved, key);
  EXPECT_EQ(run(m_node, {"add", "--title", "x", "--source", "Wire"}).status, 0);
}

// 18.6 and 18.7: another node's valid key file is named as such, not "damaged"; a key file
// others can read gets a warning naming the fix.
TEST_F(Hardening, AnotherNodesKeyIsNamedAsSuchAndAnOpenKeyFileIsWarnedAbout) {
  const Node other = makeNode("other");
  const fs::path key = m_node.home / "node.key";
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                           fs::perms::others_read);
  auto r = run(m_node, {"add", "--title", "open key", "--source", "Wire"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("has mode 0644"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chmod 600 " + key.string()), std::string::npos) << r.err;
  fs::copy_file(other.home / "node.key", key, fs::copy_options::overwrite_existing);
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  r = run(m_node, {"add", "--title", "x", "--source", "Wire"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("a valid key, but another node's"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("damaged"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
}

// 18.6: init is built beside the home and renamed into place. What a killed init leaves (its
// building folder) is no home and the next init clears it; a partial home left by an older
// version (an archive without its key) is recognised by init and by every command, which say
// what to do.
TEST_F(Hardening, AnInterruptedInitLeavesNoHomeAndAPartialHomeIsNamedWithWhatToDo) {
  const Node fresh{"fresh", m_dir / "fresh", ""};
  const fs::path leftover = m_dir / ".fresh.init-999999";
  fs::create_directories(leftover / "archive");
  spit(leftover / "archive" / "data.mdb", "half");
  EXPECT_EQ(run(fresh, {"list"}).status, 2);  // no home there
  ASSERT_EQ(run(fresh, {"init", "--name", "fresh"}).status, 0);
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_EQ(fs::status(fresh.home).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(run(fresh, {"list"}).status, 0);
  for (const auto& entry : fs::directory_iterator(m_dir))
    EXPECT_EQ(entry.path().filename().string().find(".init-"), std::string::npos) << entry.path();

  fs::remove(fresh.home / "node.key");  // as an init of an older version killed at its end
  auto r = run(fresh, {"init"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("holds a partial fieldsync home: an archive but no node.key"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("remove " + (fresh.home / "archive").string()), std::string::npos) << r.err;
  r = run(fresh, {"list"});
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_NE(r.err.find("partial fieldsync home"), std::string::npos) << r.err;
  fs::remove_all(fresh.home / "archive");
  EXPECT_EQ(run(fresh, {"init"}).status, 0);
}

// 18.7: --limit takes a whole number: -1 is refused, 0 lists none (docs/cli.md).
TEST_F(Hardening, ListLimitMinusOneIsRefusedAndZeroListsNone) {
  auto r = run(m_node, {"list", "--limit", "-1"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--limit: not a whole number of clippings (0 or more): -1"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty());
  r = run(m_node, {"list", "--limit", "0"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(runJson(m_node, {"search", "clipping", "--limit", "0", "--json"})["count"], 0);
  EXPECT_EQ(runJson(m_node, {"list", "--limit", "2", "--json"})["count"], 2);
}

// 18.7: a TMPDIR that does not exist is named, with what to do.
TEST_F(Hardening, AMissingTmpdirIsNamedWithWhatToDo) {
  ASSERT_EQ(run(m_node, {"bundle", "export", (m_dir / "b.fsb").string()}).status, 0);
  const auto r = runWith("TMPDIR=" + (m_dir / "gone").string(),
                         {"bundle", "verify", (m_dir / "b.fsb").string()});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(
      r.err.find("TMPDIR is " + (m_dir / "gone").string() + ", which is not an existing folder"),
      std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("unexpected failure"), std::string::npos) << r.err;
}

// 18.7: a NUL in a JSON string is named as such, not as bad UTF-8.
TEST_F(Hardening, ANulInJsonIsNamedAsANul) {
  spit(m_dir / "nul.jsonl", R"({"title": "a\u0000b", "body": "text"})"
                            "\n");
  const auto r = run(m_node, {"import", (m_dir / "nul.jsonl").string()});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("NUL character"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("not valid UTF-8"), std::string::npos) << r.err;
}

// 18.7: a home the user cannot write (read-only media, another user's copy) still answers the
// commands that only read. Root writes whatever the modes say, so as root the home is made
// read-only for real: bound read-only onto itself in a mount namespace of the command's own.
TEST_F(Hardening, AReadOnlyHomeStillAnswersListShowSearchAndVerify) {
  const auto id = runJson(m_node, {"list", "--json"})["objects"][0]["id"].get<std::string>();
  const bool root = ::geteuid() == 0;
  const std::string home = m_node.home.string();
  const auto readOnly = [&](const std::vector<std::string>& args) {
    if (!root) return run(m_node, args);
    std::vector<std::string> all{
        "-m", "sh",          "-c",     "mount --bind -o ro \"$0\" \"$0\" && exec \"$@\"",
        home, FIELDSYNC_BIN, "--home", home};
    all.insert(all.end(), args.begin(), args.end());
    return runProgram("unshare", all, m_dir);
  };
  if (root) {
    const auto probe = runProgram(
        "unshare",
        {"-m", "sh", "-c", "mount --bind -o ro \"$0\" \"$0\" && ! touch \"$0/probe\"", home},
        m_dir);
    if (probe.status != 0) GTEST_SKIP() << "as root, and no mount namespace here: " << probe.err;
  } else {
    for (const auto& path :
         {m_node.home / "archive" / "data.mdb", m_node.home / "archive" / "lock.mdb"})
      fs::permissions(path, fs::perms::owner_read);
    fs::permissions(m_node.home / "archive", fs::perms::owner_read | fs::perms::owner_exec);
    fs::permissions(m_node.home, fs::perms::owner_read | fs::perms::owner_exec);
  }
  // Each answers as it does in a home it may write (verify says 3: the clippings' signer is
  // not trusted here).
  for (const auto& [args, status] :
       std::vector<std::pair<std::vector<std::string>, int>>{{{"list"}, 0},
                                                             {{"show", id}, 0},
                                                             {{"search", "clipping"}, 0},
                                                             {{"verify", "--all"}, 3}}) {
    const auto r = readOnly(args);
    EXPECT_EQ(r.status, status) << args[0] << ": " << r.err;
    EXPECT_FALSE(r.out.empty()) << args[0];
  }
  // A command that writes says why it cannot, rather than pretending.
  const auto add = readOnly({"add", "--title", "x", "--source", "Wire"});
  EXPECT_EQ(add.status, 5) << add.err;
  EXPECT_NE(add.err.find("cannot be written here"), std::string::npos) << add.err;
  EXPECT_NE(add.err.find("list, show, search and verify still answer"), std::string::npos)
      << add.err;
  if (!root) {
    fs::permissions(m_node.home, fs::perms::owner_all);
    fs::permissions(m_node.home / "archive", fs::perms::owner_all);
  }
}

}  // namespace
