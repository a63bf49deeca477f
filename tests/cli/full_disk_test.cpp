// A full disk, for real: a small tmpfs mounted in a private mount namespace (held by a child
// `unshare ... sleep`, reached from here through /proc/PID/root), filled with a filler file.
// An import into it fails with status 5 and a message naming the folder and the space; the
// archive still opens and verifies; once the filler is gone the same import succeeds with no
// other step. A sync into a full server acknowledges only what it committed, and the server
// keeps running and takes the rest once there is room. A bundle export to a full stick
// leaves no file. Skipped (with the reason) where mount namespaces are not allowed; CI runs
// as root, where they are.
#include <sys/statvfs.h>

#include <fstream>

#include "cli/crash_fixture.h"

namespace fieldsync::clitest {
namespace {

/// A tmpfs of `bytes` at a folder only a holder process sees (its private mount namespace);
/// path() reaches it from outside. Unmounted when the holder is killed, on destruction.
class Tmpfs {
 public:
  Tmpfs(const fs::path& scratch, std::size_t bytes) : m_dir(scratch / "mnt") {
    fs::create_directories(m_dir);
    const std::string script =
        "mount -t tmpfs -o size=" + std::to_string(bytes) +
        " fieldsync-test \"$0\" && touch \"$0/.mounted\" && exec sleep 100000";
    // As root a mount namespace is enough; elsewhere (or where root may not unshare) a user
    // namespace maps us to root in it.
    std::vector<std::vector<std::string>> tries{
        {"unshare", "--mount", "--propagation", "private", "sh", "-c", script, m_dir.string()},
        {"unshare", "--user", "--map-root-user", "--mount", "--propagation", "private", "sh", "-c",
         script, m_dir.string()}};
    if (::geteuid() != 0) tries.erase(tries.begin());
    for (const auto& command : tries) {
      m_holder = std::make_unique<Background>(command, scratch / "holder");
      const auto deadline = Clock::now() + 10s;
      while (Clock::now() < deadline && m_holder->running() && !fs::exists(path() / ".mounted")) {
        std::this_thread::sleep_for(10ms);
      }
      if (m_holder->running() && fs::exists(path() / ".mounted")) {
        if (fs::exists(m_dir / ".mounted")) {  // the mount leaked out: not private
          m_failure = "the tmpfs is visible outside its namespace";
          m_holder.reset();
          return;
        }
        m_failure.clear();
        return;
      }
      m_failure += "`" + command[0] + " " + command[1] + "...` failed: " + m_holder->err();
      m_holder.reset();
    }
  }
  /// Empty when mounted, else why not.
  const std::string& failure() const { return m_failure; }
  fs::path path() const {
    return fs::path("/proc") / std::to_string(m_holder ? m_holder->pid() : 0) / "root" /
           m_dir.relative_path();
  }
  std::uint64_t freeBytes() const {
    struct statvfs st {};
    ::statvfs(path().c_str(), &st);
    return std::uint64_t{st.f_bavail} * st.f_frsize;
  }
  /// Fills the disk but for about `leave` bytes with a filler file.
  void fill(std::uint64_t leave) {
    std::ofstream out(path() / "filler", std::ios::binary);
    const std::string chunk(64 * 1024, '\0');
    while (freeBytes() > leave + chunk.size()) out.write(chunk.data(), chunk.size()), out.flush();
    const auto rest = freeBytes() > leave ? freeBytes() - leave : 0;
    out.write(chunk.data(),
              static_cast<std::streamsize>(std::min<std::uint64_t>(rest, chunk.size())));
  }
  void unfill() { fs::remove(path() / "filler"); }

 private:
  fs::path m_dir;
  std::unique_ptr<Background> m_holder;
  std::string m_failure = "not tried";
};

class FullDisk : public CrashFixture {};

#define MOUNT_TMPFS(name, bytes)                                                                  \
  Tmpfs name(m_dir, bytes);                                                                       \
  if (!name.failure().empty()) {                                                                  \
    GTEST_SKIP() << "cannot mount a tmpfs in a private mount namespace here: " << name.failure(); \
  }

TEST_F(FullDisk, ImportIntoAFullDiskIsStatus5NamesTheFolderAndSucceedsOnceSpaceIsFreed) {
  MOUNT_TMPFS(disk, 16u << 20);
  const auto goma = makeNode("goma", disk.path() / "goma");
  spit(m_dir / "small.jsonl", generatedClippings("small", 20));
  spit(m_dir / "big.jsonl", generatedClippings("big", 600));  // about 1 MB
  ASSERT_EQ(run(goma, {"import", (m_dir / "small.jsonl").string()}).status, 0);

  disk.fill(128u << 10);
  auto full = run(goma, {"import", (m_dir / "big.jsonl").string()});
  EXPECT_EQ(full.status, 5) << full.out << full.err;
  const std::string archive = (goma.home / "archive").string();
  EXPECT_NE(full.err.find("fieldsync: no space left on the disk holding " + archive +
                          ": this write to the archive needs about "),
            std::string::npos)
      << full.err;
  EXPECT_NE(full.err.find(" free there); free space on that disk, then run it again"),
            std::string::npos)
      << full.err;
  EXPECT_EQ(full.out.find("signed and stored"), std::string::npos) << full.out;
  EXPECT_EQ(objects(goma.home).size(), 20u);  // opens, nothing of the failed file
  std::string verified;
  EXPECT_EQ(verifyAll(goma.home, &verified), 0) << verified;

  disk.unfill();
  auto again = run(goma, {"import", (m_dir / "big.jsonl").string()});
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find("600 new clippings signed and stored"), std::string::npos) << again.out;
  EXPECT_EQ(objects(goma.home).size(), 620u);
  EXPECT_EQ(verifyAll(goma.home, &verified), 0) << verified;
}

TEST_F(FullDisk, ASyncIntoAFullServerAcknowledgesOnlyWhatItCommittedAndTheServerRecovers) {
  MOUNT_TMPFS(disk, 32u << 20);
  const auto nairobi = makeNode("nairobi", m_dir / "nairobi");
  const auto goma = makeNode("goma", disk.path() / "goma", {nairobi.key});
  trust(nairobi, goma.key);
  spit(m_dir / "wire.jsonl", generatedClippings("wire", 2500));  // about 4 MB
  ASSERT_EQ(run(nairobi, {"import", (m_dir / "wire.jsonl").string()}).status, 0);
  ASSERT_EQ(run(goma, {"peers", "add", "nairobi", "tcp://192.0.2.1:7420", nairobi.key}).status, 0);
  std::string address;
  auto server = serve(goma, &address);
  ASSERT_TRUE(server);
  auto client = store::Home::open(nairobi.home);

  disk.fill(1u << 20);  // room for a batch or two of the 2,500 clippings, not for all
  const auto cut = syncRecordingAcks(*client, address, goma.key, 200);
  EXPECT_FALSE(cut.report.ok);
  EXPECT_NE(cut.report.failure.find("cannot store now: no space left on the disk holding"),
            std::string::npos)
      << cut.report.failure;
  EXPECT_LT(cut.ids.size(), 2500u);
  ASSERT_TRUE(server->running()) << server->err();
  const auto held = ids(goma.home);
  for (const auto& id : cut.ids) EXPECT_TRUE(held.count(id)) << "acknowledged, not stored: " << id;
  std::string verified;
  EXPECT_EQ(verifyAll(goma.home, &verified), 0) << verified;
  std::cout << "into a full disk: " << cut.ids.size() << " objects acknowledged, " << held.size()
            << " stored, the session ended: " << cut.report.failure << std::endl;

  disk.unfill();  // the same server, still running, takes the rest
  const auto after = syncRecordingAcks(*client, address, goma.key, 200);
  EXPECT_TRUE(after.report.ok) << after.report.failure;
  EXPECT_TRUE(after.report.inStep);
  EXPECT_TRUE(server->running());
  EXPECT_EQ(ids(goma.home), ids(nairobi.home));
  EXPECT_EQ(ids(goma.home).size(), 2500u);
  EXPECT_EQ(verifyAll(goma.home, &verified), 0) << verified;
  server->signal(SIGTERM);
  EXPECT_EQ(server->waitExit(30s), 0) << server->err();
}

TEST_F(FullDisk, ASyncIntoAFullClientIsStatus5AndTheNextSyncCompletesOnceSpaceIsFreed) {
  MOUNT_TMPFS(disk, 32u << 20);
  const auto goma = makeNode("goma", m_dir / "goma");
  const auto nairobi = makeNode("nairobi", disk.path() / "nairobi", {goma.key});
  spit(m_dir / "wire.jsonl", generatedClippings("wire", 2500));
  ASSERT_EQ(run(goma, {"import", (m_dir / "wire.jsonl").string()}).status, 0);
  ASSERT_EQ(run(goma, {"peers", "add", "nairobi", "tcp://192.0.2.1:7420", nairobi.key}).status, 0);
  std::string address;
  auto server = serve(goma, &address);
  ASSERT_TRUE(server);
  ASSERT_EQ(run(nairobi, {"peers", "add", "goma", address, goma.key}).status, 0);

  disk.fill(1u << 20);
  auto full = run(nairobi, {"sync", "goma"});
  EXPECT_EQ(full.status, 5) << full.out << full.err;
  EXPECT_NE(full.err.find("fieldsync: no space left on the disk holding " +
                          (nairobi.home / "archive").string()),
            std::string::npos)
      << full.err;
  const auto partial = ids(nairobi.home).size();
  EXPECT_LT(partial, 2500u);
  EXPECT_EQ(verifyAll(nairobi.home), 0);
  EXPECT_TRUE(server->running());

  disk.unfill();
  auto again = run(nairobi, {"sync", "goma"});
  EXPECT_EQ(again.status, 0) << again.out << again.err;
  EXPECT_EQ(ids(nairobi.home), ids(goma.home));
  EXPECT_EQ(verifyAll(nairobi.home), 0);
  std::cout << "a sync into a full client stored " << partial << " of 2500 objects, then all"
            << std::endl;
  server->signal(SIGTERM);
  EXPECT_EQ(server->waitExit(30s), 0) << server->err();
}

TEST_F(FullDisk, ABundleExportToAFullDiskIsStatus5AndLeavesNoFile) {
  MOUNT_TMPFS(stick, 4u << 20);
  const auto goma = makeNode("goma", m_dir / "goma");
  spit(m_dir / "wire.jsonl", generatedClippings("wire", 600));
  ASSERT_EQ(run(goma, {"import", (m_dir / "wire.jsonl").string()}).status, 0);
  stick.fill(8u << 10);  // the bundle compresses to about 44 KB
  const auto bundle = (stick.path() / "goma.fsb").string();
  auto full = run(goma, {"bundle", "export", bundle});
  EXPECT_EQ(full.status, 5) << full.out << full.err;
  EXPECT_NE(full.err.find("fieldsync: no space left on the disk holding " + stick.path().string() +
                          ": writing goma.fsb needs about "),
            std::string::npos)
      << full.err;
  std::set<std::string> left;
  for (const auto& entry : fs::directory_iterator(stick.path())) {
    left.insert(entry.path().filename().string());
  }
  EXPECT_EQ(left, (std::set<std::string>{".mounted", "filler"})) << "a partial bundle is left";

  stick.unfill();
  auto again = run(goma, {"bundle", "export", bundle});
  EXPECT_EQ(again.status, 0) << again.err;
  auto listed = run(goma, {"bundle", "list", bundle, "--json"});
  ASSERT_EQ(listed.status, 0) << listed.err;
  EXPECT_EQ(json::parse(listed.out)["count"], 600);
}

}  // namespace
}  // namespace fieldsync::clitest

namespace fieldsync::clitest {
namespace {

/// Sets an environment variable (seen by the fieldsync processes this test runs) for the life
/// of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : m_name(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(m_name); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* m_name;
};

class MapFullCli : public CrashFixture {};

TEST_F(MapFullCli, ATinyMapGrowsByItselfDuringAnImport) {
  Node goma;
  {
    ScopedEnv tiny("FIELDSYNC_MAP_INITIAL", "64K");
    goma = makeNode("goma", m_dir / "goma");
  }
  spit(m_dir / "wire.jsonl", generatedClippings("wire", 1500));  // about 2.5 MB
  auto r = run(goma, {"import", (m_dir / "wire.jsonl").string()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(objects(goma.home).size(), 1500u);
  EXPECT_EQ(verifyAll(goma.home), 0);
  EXPECT_GT(fs::file_size(goma.home / "archive" / "data.mdb"), 2u << 20);
}

TEST_F(MapFullCli, AtTheCeilingAnImportIsStatus5SaysWhatToDoAndStoresNothingOfTheFile) {
  ScopedEnv tiny("FIELDSYNC_MAP_INITIAL", "256K");
  const auto goma = makeNode("goma", m_dir / "goma");
  spit(m_dir / "small.jsonl", generatedClippings("small", 10));
  spit(m_dir / "big.jsonl", generatedClippings("big", 1500));
  ASSERT_EQ(run(goma, {"import", (m_dir / "small.jsonl").string()}).status, 0);
  {
    ScopedEnv ceiling("FIELDSYNC_MAP_MAX", "1M");
    auto r = run(goma, {"import", (m_dir / "big.jsonl").string()});
    EXPECT_EQ(r.status, 5) << r.out << r.err;
    EXPECT_NE(r.err.find("fieldsync: the archive at " + (goma.home / "archive").string() +
                         " needs a larger map than its ceiling of 1.0 MiB"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("nothing of this write was stored; raise the ceiling "
                         "(FIELDSYNC_MAP_MAX="),
              std::string::npos)
        << r.err;
    EXPECT_EQ(objects(goma.home).size(), 10u);
    EXPECT_EQ(verifyAll(goma.home), 0);
  }
  auto raised = run(goma, {"import", (m_dir / "big.jsonl").string()});  // default ceiling
  EXPECT_EQ(raised.status, 0) << raised.err;
  EXPECT_EQ(objects(goma.home).size(), 1510u);

  ScopedEnv bad("FIELDSYNC_MAP_MAX", "lots");
  auto refused = run(goma, {"list"});
  EXPECT_EQ(refused.status, 5);
  EXPECT_NE(refused.err.find("FIELDSYNC_MAP_MAX=lots is not a map size"), std::string::npos)
      << refused.err;
}

}  // namespace
}  // namespace fieldsync::clitest
