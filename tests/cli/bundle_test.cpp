// Bundles as people use them: the real binary, two or three nodes in one temp folder, a
// bundle file carried between them, and the damage a USB stick or a mail gateway does.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "cli/cli_fixture.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace fieldsync::clitest;

const fs::path FIXTURE = fs::path(FIELDSYNC_FIXTURES_DIR) / "icrtop-listserv-2013-01-11.txt";

class Bundle : public ::testing::Test {
 protected:
  fs::path home(const std::string& name) { return m_dir / name; }
  fs::path path(const std::string& name) { return m_dir / name; }

  Result run(const std::string& node, const std::vector<std::string>& args) {
    return runFieldsync(home(node), args, m_dir);
  }
  json runJson(const std::string& node, const std::vector<std::string>& args,
               int expectedStatus = 0) {
    auto r = run(node, args);
    EXPECT_EQ(r.status, expectedStatus) << r.out << r.err;
    return json::parse(r.out.empty() ? "null" : r.out);
  }
  std::string keyOf(const std::string& node) {
    return runJson(node, {"id", "--json"})["publicKey"].get<std::string>();
  }
  /// The ids a node's archive holds, of every kind.
  std::set<std::string> archiveIds(const std::string& node) {
    std::set<std::string> ids;
    auto j = json::parse(run(node, {"verify", "--json"}).out);
    for (const auto& o : j["objects"]) ids.insert(o["id"].get<std::string>());
    return ids;
  }
  /// The ids `bundle list` can read from a file, damaged or not.
  std::set<std::string> readableIds(const fs::path& bundle) {
    std::set<std::string> ids;
    auto r = runProgram(FIELDSYNC_BIN, {"bundle", "list", bundle.string(), "--json"}, m_dir);
    const auto j = json::parse(r.out);
    for (const auto& o : j["objects"]) ids.insert(o["id"].get<std::string>());
    return ids;
  }

  /// HQ, a coordinator holding the fixture digest; Goma, an office that trusts HQ.
  void startNetwork() {
    ASSERT_EQ(run("hq", {"init", "--name", "HQ", "--coordinator"}).status, 0);
    ASSERT_EQ(run("goma", {"init", "--name", "Goma office"}).status, 0);
    m_hq = keyOf("hq");
    ASSERT_EQ(run("goma", {"keys", "trust", m_hq, "--role", "coordinator", "--name", "HQ"}).status,
              0);
    ASSERT_EQ(run("hq", {"import", FIXTURE.string()}).status, 0);
  }

  /// Enough clippings in HQ's archive for a bundle of several frames (1 MiB each).
  void importManyClippings() {
    std::string lines;
    std::uint32_t word = 12345;
    for (int i = 0; i < 600; ++i) {
      std::string body;
      for (int w = 0; w < 700; ++w) {  // varied words, so frames fill with content
        word = word * 1103515245u + 12345u;
        body += "w" + std::to_string(word % 5000) + " ";
      }
      lines +=
          json{{"title", "Report " + std::to_string(i)}, {"source", "Radio Okapi"}, {"body", body}}
              .dump() +
          "\n";
    }
    spit(path("many.jsonl"), lines);
    ASSERT_EQ(run("hq", {"import", path("many.jsonl").string()}).status, 0);
  }

  /// Byte offsets of the frame blocks in a bundle file.
  static std::vector<std::size_t> frameOffsets(const std::string& bytes) {
    std::vector<std::size_t> out;
    for (auto at = bytes.find("FSYNCFRM"); at != std::string::npos;
         at = bytes.find("FSYNCFRM", at + 1))
      out.push_back(at - 8);
    return out;
  }

  TempFolder m_folder{"fieldsync-bundle-"};
  fs::path m_dir = m_folder.path();
  std::string m_hq;
};

TEST_F(Bundle, RoundTripBetweenTwoHomesCarriesEverythingOnceAndVerifies) {
  startNetwork();
  auto exported = runJson("hq", {"bundle", "export", path("hq.fsb").string(), "--json"});
  EXPECT_EQ(exported["clippings"], 12);
  EXPECT_EQ(exported["objects"], 12);
  EXPECT_TRUE(fs::exists(path("hq.fsb")));
  for (const auto& entry : fs::directory_iterator(m_dir))
    EXPECT_EQ(entry.path().filename().string().find(".hq.fsb.tmp"), std::string::npos)
        << "no temporary file is left behind";

  auto listed = json::parse(
      runProgram(FIELDSYNC_BIN, {"bundle", "list", path("hq.fsb").string(), "--json"}, m_dir).out);
  EXPECT_EQ(listed["count"], 12);
  EXPECT_EQ(listed["intact"], true);

  auto imported = runJson("goma", {"bundle", "import", path("hq.fsb").string(), "--json"});
  EXPECT_EQ(imported["stored"], 12);
  EXPECT_EQ(imported["ok"], true);
  EXPECT_EQ(archiveIds("goma"), archiveIds("hq"));
  auto verified = run("goma", {"verify"});
  EXPECT_EQ(verified.status, 0) << verified.out;

  // Idempotent: the same bundle again stores nothing.
  auto again = runJson("goma", {"bundle", "import", path("hq.fsb").string(), "--json"});
  EXPECT_EQ(again["stored"], 0);
  EXPECT_EQ(again["alreadyPresent"], 12);

  // The bundle also checks without importing, by the node's anchors or by --trust.
  EXPECT_EQ(run("goma", {"bundle", "verify", path("hq.fsb").string()}).status, 0);
  auto byKey = runProgram(FIELDSYNC_BIN,
                          {"--home", path("nobody").string(), "bundle", "verify",
                           path("hq.fsb").string(), "--trust", m_hq},
                          m_dir);
  EXPECT_EQ(byKey.status, 0) << byKey.out << byKey.err;
  EXPECT_NE(byKey.out.find("checked 12 objects: all valid and trusted"), std::string::npos)
      << byKey.out;
}

TEST_F(Bundle, SinceReleaseCarriesOnlyWhatTheReleaseDoesNotList) {
  startNetwork();
  ASSERT_EQ(run("hq", {"release", "create", "weekly"}).status, 0);
  spit(path("new.jsonl"), "{\"title\": \"After the release\", \"source\": \"Radio Okapi\"}\n");
  ASSERT_EQ(run("hq", {"import", path("new.jsonl").string()}).status, 0);
  auto exported = runJson("hq", {"bundle", "export", path("since.fsb").string(), "--since-release",
                                 "weekly@1", "--json"});
  EXPECT_EQ(exported["clippings"], 1);
  EXPECT_EQ(exported["releases"], 0);

  auto refused =
      run("hq", {"bundle", "export", path("none.fsb").string(), "--since-release", "monthly"});
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("monthly"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(path("none.fsb")));
}

TEST_F(Bundle, ABundleFromAnUntrustedKeyVerifiesAsUntrustedAndIsStillImported) {
  startNetwork();
  ASSERT_EQ(run("stranger", {"init", "--name", "Stranger"}).status, 0);
  spit(path("s.jsonl"), "{\"title\": \"Unvouched\", \"source\": \"Somewhere\"}\n");
  ASSERT_EQ(run("stranger", {"import", path("s.jsonl").string()}).status, 0);
  ASSERT_EQ(run("stranger", {"bundle", "export", path("stranger.fsb").string()}).status, 0);

  auto verified = run("goma", {"bundle", "verify", path("stranger.fsb").string()});
  EXPECT_EQ(verified.status, 3) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("UNTRUSTED"), std::string::npos) << verified.out;

  // Trust is judged by verify, not by how an object travelled: import stores it.
  auto imported = run("goma", {"bundle", "import", path("stranger.fsb").string()});
  EXPECT_EQ(imported.status, 0) << imported.out << imported.err;
  EXPECT_EQ(archiveIds("goma").size(), 1u);
  EXPECT_EQ(run("goma", {"verify"}).status, 3);
}

TEST_F(Bundle, ATruncatedBundleSaysSoAndOnlyWhatCouldBeReadIsStored) {
  startNetwork();
  importManyClippings();
  ASSERT_EQ(run("hq", {"bundle", "export", path("hq.fsb").string()}).status, 0);
  const std::string bytes = slurp(path("hq.fsb"));
  ASSERT_GE(frameOffsets(bytes).size(), 3u);
  spit(path("cut.fsb"), bytes.substr(0, bytes.size() * 2 / 3));

  auto imported = run("goma", {"bundle", "import", path("cut.fsb").string()});
  EXPECT_EQ(imported.status, 1) << imported.out << imported.err;
  EXPECT_NE(imported.out.find("truncated"), std::string::npos) << imported.out;
  EXPECT_NE(imported.out.find("cut short"), std::string::npos) << imported.out;
  const auto readable = readableIds(path("cut.fsb"));
  EXPECT_GT(readable.size(), 0u);
  EXPECT_EQ(archiveIds("goma"), readable);

  auto verified = run("goma", {"bundle", "verify", path("cut.fsb").string()});
  EXPECT_EQ(verified.status, 1) << verified.out;
}

TEST_F(Bundle, AFlippedByteLosesOneFrameAndTheRestIsStored) {
  startNetwork();
  importManyClippings();
  ASSERT_EQ(run("hq", {"bundle", "export", path("hq.fsb").string()}).status, 0);
  std::string bytes = slurp(path("hq.fsb"));
  const auto frames = frameOffsets(bytes);
  ASSERT_GE(frames.size(), 3u);
  bytes[frames[1] + 5000] ^= 0x04;  // one bit, inside frame 1's compressed bytes
  spit(path("flipped.fsb"), bytes);

  auto imported = run("goma", {"bundle", "import", path("flipped.fsb").string()});
  EXPECT_EQ(imported.status, 1) << imported.out << imported.err;
  EXPECT_NE(imported.out.find("frame 1 (byte " + std::to_string(frames[1]) +
                              "): damaged frame: checksum mismatch"),
            std::string::npos)
      << imported.out;
  const auto readable = readableIds(path("flipped.fsb"));
  EXPECT_EQ(archiveIds("goma"), readable);
  EXPECT_LT(readable.size(), archiveIds("hq").size());
  EXPECT_GT(readable.size(), archiveIds("hq").size() / 2);

  auto j = runJson("goma", {"bundle", "verify", path("flipped.fsb").string(), "--json"}, 1);
  ASSERT_EQ(j["problems"].size(), 1u);
  EXPECT_EQ(j["problems"][0]["frame"], 1);
  EXPECT_EQ(j["problems"][0]["damage"], "damaged frame");
  EXPECT_EQ(j["ok"], false);
}

TEST_F(Bundle, AFileThatIsNotABundleIsRefusedAndNothingIsStored) {
  startNetwork();
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"bundle", "import", FIXTURE.string()},
                                             {"bundle", "verify", FIXTURE.string()},
                                             {"bundle", "list", FIXTURE.string()}}) {
    auto r = run("goma", args);
    EXPECT_EQ(r.status, 2) << args[1] << r.out << r.err;
    EXPECT_NE(r.err.find("not a fieldsync bundle"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(archiveIds("goma").empty());
  auto missing = run("goma", {"bundle", "import", path("nowhere.fsb").string()});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("no such file"), std::string::npos) << missing.err;
}

// --- Sticks are a link ---------------------------------------------------------------------------

// Two offices with no link at all, each listing the other with no address, swap sticks. After
// one round trip each way, neither's next stick carries anything the other already has.
TEST_F(Bundle, TwoOfficesThatOnlySwapSticksCarryNothingOldAfterOneRoundTripEachWay) {
  ASSERT_EQ(run("goma", {"init", "--name", "Goma office"}).status, 0);
  ASSERT_EQ(run("bunia", {"init", "--name", "Bunia office"}).status, 0);
  const auto goma = keyOf("goma"), bunia = keyOf("bunia");
  auto added = run("goma", {"peers", "add", "bunia", "--key", bunia});
  ASSERT_EQ(added.status, 0) << added.err;
  EXPECT_NE(added.out.find("reached only by stick"), std::string::npos) << added.out;
  ASSERT_EQ(run("bunia", {"peers", "add", "goma", goma}).status, 0);  // the key alone
  ASSERT_EQ(run("goma", {"import", FIXTURE.string()}).status, 0);
  ASSERT_EQ(run("bunia", {"add", "--title", "Road to Komanda cut", "--source", "Bunia"}).status, 0);

  auto stick = [&](const std::string& from, const std::string& to, const std::string& file) {
    auto exported = runJson(from, {"bundle", "export", path(file).string(), "--for", to, "--json"});
    auto imported = runJson(to, {"bundle", "import", path(file).string(), "--json"});
    EXPECT_EQ(imported["stick"]["outcome"], "recorded") << imported;
    EXPECT_EQ(imported["stick"]["peer"], from) << imported;
    EXPECT_EQ(imported["alreadyPresent"], 0) << "a stick carries nothing its reader holds";
    return exported;
  };
  auto first = stick("goma", "bunia", "goma-1.fsb");
  EXPECT_EQ(first["objects"], 12);
  EXPECT_EQ(first["heldIds"], 12);  // every object goma holds, 16 bytes each
  auto back = stick("bunia", "goma", "bunia-1.fsb");
  EXPECT_EQ(back["objects"], 1);  // bunia's own clipping: it knows goma holds the other 12
  EXPECT_EQ(back["for"]["leftOut"], 12);
  EXPECT_EQ(archiveIds("goma"), archiveIds("bunia"));

  EXPECT_EQ(stick("goma", "bunia", "goma-2.fsb")["objects"], 0);
  EXPECT_EQ(stick("bunia", "goma", "bunia-2.fsb")["objects"], 0);

  // What people read: the note of the export, status and the peer list.
  auto note = run("goma", {"bundle", "export", path("goma-3.fsb").string(), "--for", "bunia"});
  ASSERT_EQ(note.status, 0) << note.err;
  EXPECT_NE(note.out.find("for bunia: 0 objects it is not known to hold (in step as of the stick "
                          "of "),
            std::string::npos)
      << note.out;
  auto status = run("goma", {"status"});
  EXPECT_NE(status.out.find("peer bunia (stick only): in step as of the stick of "),
            std::string::npos)
      << status.out;
  auto statusJson = runJson("goma", {"status", "--json"});
  EXPECT_EQ(statusJson["peers"][0]["stickOnly"], true);
  EXPECT_TRUE(statusJson["peers"][0]["address"].is_null());
  EXPECT_TRUE(statusJson["peers"][0]["stickAt"].is_string());
  auto listed = runJson("goma", {"peers", "list", "--json"});
  EXPECT_EQ(listed["peers"][0]["stickOnly"], true);
  EXPECT_EQ(listed["peers"][0]["stickAt"], statusJson["peers"][0]["stickAt"]);
  EXPECT_NE(run("goma", {"peers", "list"}).out.find("bunia  (stick only)"), std::string::npos);

  // A new clipping at bunia: its next stick carries that alone.
  ASSERT_EQ(run("bunia", {"add", "--title", "Market reopens", "--source", "Bunia"}).status, 0);
  EXPECT_EQ(stick("bunia", "goma", "bunia-3.fsb")["objects"], 1);
}

TEST_F(Bundle, AStickFromAStrangerIsImportedButSaysSoAndRecordsNothing) {
  ASSERT_EQ(run("goma", {"init", "--name", "Goma office"}).status, 0);
  ASSERT_EQ(run("kisangani", {"init", "--name", "Kisangani"}).status, 0);
  ASSERT_EQ(run("kisangani", {"add", "--title", "Port closed", "--source", "Kisangani"}).status, 0);
  auto exported =
      runJson("kisangani", {"bundle", "export", path("k.fsb").string(), "--holdings", "--json"});
  EXPECT_EQ(exported["heldIds"], 1);
  auto listed = runJson("goma", {"bundle", "list", path("k.fsb").string(), "--json"});
  EXPECT_EQ(listed["version"], 2);
  auto imported = run("goma", {"bundle", "import", path("k.fsb").string()});
  ASSERT_EQ(imported.status, 0) << imported.err;
  EXPECT_NE(imported.out.find("1 stored"), std::string::npos) << imported.out;
  EXPECT_NE(imported.out.find("is not a peer of this node"), std::string::npos) << imported.out;

  // Without --holdings or --for a bundle is version 1, as older nodes read.
  runJson("kisangani", {"bundle", "export", path("plain.fsb").string(), "--json"});
  EXPECT_EQ(runJson("goma", {"bundle", "list", path("plain.fsb").string(), "--json"})["version"],
            1);
}

}  // namespace
