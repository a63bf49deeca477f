// Retraction as a hub and an office live it: the real binary, a hub that retracts, an office
// that learns it from a stick, the office's data.mdb read from disk, an old stick carried in
// again, and a stranger who tries the same.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli_fixture.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace fieldsync::clitest;

const fs::path FIXTURE = fs::path(FIELDSYNC_FIXTURES_DIR) / "icrtop-listserv-2013-01-11.txt";

class Retract : public NodesTest {
 protected:
  Retract() : NodesTest("fieldsync-retract-") {}

  /// HQ (coordinator) holds the fixture digest; Goma trusts HQ and has HQ's first stick.
  void SetUp() override {
    m_hq = Node{"hq", m_dir / "hq", ""};
    ASSERT_EQ(run(m_hq, {"init", "--name", "HQ", "--coordinator"}).status, 0);
    m_hq.key = run(m_hq, {"id"}).out.substr(0, 64);
    m_goma = makeNode("Goma office");
    ASSERT_EQ(
        run(m_goma, {"keys", "trust", m_hq.key, "--role", "coordinator", "--name", "HQ"}).status,
        0);
    ASSERT_EQ(run(m_hq, {"import", FIXTURE.string()}).status, 0);
    stick(m_hq, "first.fsb");
    ASSERT_EQ(run(m_goma, {"bundle", "import", (m_dir / "first.fsb").string()}).status, 0);
    auto found = runJson(m_goma, {"search", "displaced", "urgent", "--json"});
    ASSERT_EQ(found["objects"].size(), 1u) << found;
    m_mali = found["objects"][0]["id"].get<std::string>();
    auto shown = runJson(m_goma, {"show", m_mali, "--json"});
    const std::string body = shown["body"].get<std::string>();
    ASSERT_GT(body.size(), 200u);
    m_phrase = body.substr(body.size() / 2, 48);  // words of the article, in no index key
  }

  void stick(const Node& node, const std::string& file) {
    auto r = run(node, {"bundle", "export", (m_dir / file).string()});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  bool inArchiveFile(const Node& node, const std::string& text) {
    return slurp(node.home / "archive" / "data.mdb").find(text) != std::string::npos;
  }
  std::size_t listed(const Node& node) {
    return runJson(node, {"list", "--json"})["objects"].size();
  }

  Node m_hq, m_goma;
  std::string m_mali, m_phrase;
};

TEST_F(Retract, AHubsRetractionReachesAnOfficeByStickAndTheTextLeavesItsArchiveFile) {
  ASSERT_TRUE(inArchiveFile(m_goma, m_phrase)) << "the test looks for text that is there";
  auto retracted = run(m_hq, {"retract", m_mali.substr(0, 12), "--reason", "names a source"});
  ASSERT_EQ(retracted.status, 0) << retracted.err;
  EXPECT_NE(retracted.out.find("removed"), std::string::npos) << retracted.out;
  EXPECT_FALSE(inArchiveFile(m_hq, m_phrase));

  stick(m_hq, "second.fsb");
  auto imported = runJson(m_goma, {"bundle", "import", (m_dir / "second.fsb").string(), "--json"});
  EXPECT_EQ(imported["ok"], true) << imported;

  EXPECT_EQ(listed(m_goma), 11u);
  EXPECT_EQ(runJson(m_goma, {"search", "displaced", "urgent", "--json"})["objects"].size(), 0u);
  auto shown = run(m_goma, {"show", m_mali});
  EXPECT_EQ(shown.status, 0) << shown.err;
  EXPECT_NE(shown.out.find("retracted by HQ"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("names a source"), std::string::npos) << shown.out;
  EXPECT_FALSE(inArchiveFile(m_goma, m_phrase)) << "the text is gone from data.mdb, not unlinked";

  // The old stick still holds the clipping; carried in again, it brings nothing back.
  auto old = runJson(m_goma, {"bundle", "import", (m_dir / "first.fsb").string(), "--json"});
  EXPECT_EQ(old["stored"], 0) << old;
  EXPECT_EQ(old["retracted"], 1) << old;
  EXPECT_EQ(listed(m_goma), 11u);
  EXPECT_FALSE(inArchiveFile(m_goma, m_phrase));

  // Nor does Goma importing the digest itself: the retracted article's content is refused,
  // not signed anew under Goma's key (the other eleven are Goma's own copies now).
  auto again = runJson(m_goma, {"import", FIXTURE.string(), "--json"});
  EXPECT_EQ(again["files"][0]["retracted"], 1) << again;
  EXPECT_EQ(runJson(m_goma, {"search", "displaced", "urgent", "--json"})["objects"].size(), 0u);
  EXPECT_FALSE(inArchiveFile(m_goma, m_phrase));
}

TEST_F(Retract, AStrangersRetractionReachesTheOfficeAndRemovesNothing) {
  Node stranger{"stranger", m_dir / "stranger", ""};
  ASSERT_EQ(run(stranger, {"init", "--name", "Stranger", "--coordinator"}).status, 0);
  ASSERT_EQ(run(stranger, {"bundle", "import", (m_dir / "first.fsb").string()}).status, 0);
  // The stranger trusts itself as coordinator, so its own node obeys it.
  auto r = run(stranger, {"retract", m_mali.substr(0, 12), "--reason", "vandalism"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(listed(stranger), 11u);

  stick(stranger, "stranger.fsb");
  ASSERT_EQ(run(m_goma, {"bundle", "import", (m_dir / "stranger.fsb").string()}).status, 0);
  EXPECT_EQ(listed(m_goma), 12u);
  EXPECT_TRUE(inArchiveFile(m_goma, m_phrase));
  EXPECT_EQ(runJson(m_goma, {"show", m_mali, "--json"})["id"], m_mali);
}

TEST_F(Retract, AnOfficeCannotRetractTheHubsClippings) {
  auto r = run(m_goma, {"retract", m_mali.substr(0, 12), "--reason", "mine now"});
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.err.find("only its signer or a coordinator"), std::string::npos) << r.err;
  EXPECT_EQ(listed(m_goma), 12u);
}

TEST_F(Retract, RetractNeedsAReasonAndSomethingToRetract) {
  EXPECT_EQ(run(m_hq, {"retract", m_mali.substr(0, 12)}).status, 2);
  EXPECT_EQ(run(m_hq, {"retract", "--reason", "x"}).status, 2);
  EXPECT_EQ(run(m_hq, {"retract", "--signer", m_goma.key, "--reason", "x"}).status, 2)
      << "--signer needs --since";
  EXPECT_EQ(listed(m_hq), 12u);
}

TEST_F(Retract, AStolenKeyIsRetractedFromADateOn) {
  ASSERT_EQ(
      run(m_goma, {"add", "--title", "Goma report one", "--source", "Goma", "-"}, "First words")
          .status,
      0);
  stick(m_goma, "goma.fsb");
  ASSERT_EQ(run(m_hq, {"bundle", "import", (m_dir / "goma.fsb").string()}).status, 0);
  ASSERT_EQ(listed(m_hq), 13u);
  auto r = run(m_hq, {"retract", "--signer", m_goma.key, "--since", "2020-01-01", "--reason",
                      "laptop stolen"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(listed(m_hq), 12u);
  // What the key signs later, carried in by any stick, is refused here.
  ASSERT_EQ(
      run(m_goma, {"add", "--title", "Goma report two", "--source", "Goma", "-"}, "Second words")
          .status,
      0);
  stick(m_goma, "goma2.fsb");
  auto later = runJson(m_hq, {"bundle", "import", (m_dir / "goma2.fsb").string(), "--json"});
  EXPECT_EQ(later["stored"], 0) << later;
  EXPECT_EQ(listed(m_hq), 12u);
}

}  // namespace
