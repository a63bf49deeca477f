// Corrections as offices live them: the real binary, a hub that retitles, retags and marks a
// duplicate, an office that learns it from a stick, the same digest imported by both, and a
// stranger whose annotation would change nothing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli_fixture.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace fieldsync::clitest;

const fs::path FIXTURE = fs::path(FIELDSYNC_FIXTURES_DIR) / "icrtop-listserv-2013-01-11.txt";

class Annotate : public NodesTest {
 protected:
  Annotate() : NodesTest("fieldsync-annotate-") {}

  /// HQ (coordinator) holds the fixture digest; m_mali is one of its clippings.
  void SetUp() override {
    m_hq = Node{"hq", m_dir / "hq", ""};
    ASSERT_EQ(run(m_hq, {"init", "--name", "HQ", "--coordinator"}).status, 0);
    m_hq.key = run(m_hq, {"id"}).out.substr(0, 64);
    ASSERT_EQ(run(m_hq, {"import", FIXTURE.string()}).status, 0);
    auto listed = runJson(m_hq, {"list", "--json"})["objects"];
    ASSERT_EQ(listed.size(), 12u);
    auto found = runJson(m_hq, {"search", "displaced", "urgent", "--json"});
    ASSERT_EQ(found["objects"].size(), 1u) << found;
    m_mali = found["objects"][0]["id"].get<std::string>();
    m_maliTitle = found["objects"][0]["title"].get<std::string>();
    m_maliTags = found["objects"][0]["tags"].get<std::vector<std::string>>();
    for (const auto& object : listed)
      if (object["id"] != m_mali) m_other = object["id"].get<std::string>();
  }

  json object(const json& list, const std::string& id) {
    for (const auto& o : list["objects"])
      if (o["id"] == id) return o;
    return nullptr;
  }

  Node m_hq;
  std::string m_mali, m_maliTitle, m_other;
  std::vector<std::string> m_maliTags;
};

TEST_F(Annotate, ACorrectionShowsInListSearchAndShowAndOriginalShowsTheSignedClipping) {
  ASSERT_FALSE(m_maliTags.empty());
  const std::string removed = m_maliTags.front();
  auto done = run(
      m_hq, {"annotate", m_mali.substr(0, 12), "--title", "Mali: thousands flee Tessalit", "--tag",
             "Topic:Displacement", "--untag", removed, "--reason", "the digest's heading was cut"});
  ASSERT_EQ(done.status, 0) << done.err;
  EXPECT_NE(done.out.find("Signed annotation"), std::string::npos) << done.out;

  auto list = runJson(m_hq, {"list", "--json"});
  EXPECT_EQ(list["count"], 12);
  auto mali = object(list, m_mali);
  ASSERT_FALSE(mali.is_null()) << list;
  EXPECT_EQ(mali["title"], "Mali: thousands flee Tessalit");
  EXPECT_EQ(mali["original"]["title"], m_maliTitle);
  EXPECT_EQ(mali["corrections"].size(), 1u);
  EXPECT_EQ(mali["corrections"][0]["effect"], true);
  auto tagged = runJson(m_hq, {"list", "--tag", "topic:displacement", "--json"});
  ASSERT_EQ(tagged["count"], 1) << tagged;
  EXPECT_EQ(tagged["objects"][0]["id"], m_mali);
  EXPECT_EQ(object(runJson(m_hq, {"list", "--tag", removed, "--json"}), m_mali), nullptr);
  EXPECT_EQ(runJson(m_hq, {"search", "displaced", "urgent", "--json"})["objects"][0]["title"],
            "Mali: thousands flee Tessalit");
  EXPECT_NE(run(m_hq, {"list"}).out.find("Mali: thousands flee"), std::string::npos);
  // Found by a word of its corrected title, found by its title as signed, as before.
  auto byNewTitle = runJson(m_hq, {"search", "tessalit", "--json"});
  ASSERT_EQ(byNewTitle["count"], 1) << byNewTitle;
  EXPECT_EQ(byNewTitle["objects"][0]["id"], m_mali);
  EXPECT_EQ(runJson(m_hq, {"search", "tessalit", "--original", "--json"})["count"], 0);
  EXPECT_EQ(runJson(m_hq, {"search", m_maliTitle, "--json"})["objects"][0]["id"], m_mali);

  auto shown = run(m_hq, {"show", m_mali});
  EXPECT_NE(shown.out.find("title:      Mali: thousands flee Tessalit"), std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("retitled by HQ on "), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("(was: " + m_maliTitle + "): the digest's heading was cut"),
            std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("tag topic:displacement added by HQ"), std::string::npos);
  auto original = run(m_hq, {"show", m_mali, "--original"});
  EXPECT_NE(original.out.find("title:      " + m_maliTitle), std::string::npos) << original.out;
  EXPECT_EQ(original.out.find("retitled"), std::string::npos) << original.out;
  EXPECT_EQ(object(runJson(m_hq, {"list", "--original", "--json"}), m_mali)["title"], m_maliTitle);
  EXPECT_EQ(runJson(m_hq, {"verify", m_mali, "--json"})["objects"][0]["verdict"], "valid");

  // Refused, nothing signed: the same again, no change, an unknown id.
  auto again = run(m_hq, {"annotate", m_mali, "--title", "Mali: thousands flee Tessalit"});
  EXPECT_EQ(again.status, 2);
  EXPECT_NE(again.err.find("changes nothing"), std::string::npos) << again.err;
  EXPECT_EQ(run(m_hq, {"annotate", m_mali}).status, 2);
  EXPECT_EQ(run(m_hq, {"annotate", std::string(64, 'a'), "--title", "X"}).status, 2);
}

TEST_F(Annotate, AStickCarriesCorrectionsToAnOfficeThatTrustsTheHubAndOneArticleListsOnce) {
  ASSERT_EQ(run(m_hq, {"annotate", m_mali, "--title", "Mali: thousands flee"}).status, 0);
  ASSERT_EQ(
      run(m_hq, {"annotate", m_other, "--duplicate-of", m_mali, "--reason", "same story"}).status,
      0);
  EXPECT_EQ(runJson(m_hq, {"list", "--json"})["count"], 11);
  EXPECT_NE(run(m_hq, {"show", m_mali}).out.find("duplicate " + m_other + " is listed under it"),
            std::string::npos);
  ASSERT_EQ(run(m_hq, {"bundle", "export", (m_dir / "stick.fsb").string()}).status, 0);

  // Goma trusts HQ, imports the same digest itself, then HQ's stick: one article, two signers.
  Node goma = makeNode("Goma office");
  ASSERT_EQ(run(goma, {"keys", "trust", m_hq.key, "--role", "coordinator", "--name", "HQ"}).status,
            0);
  ASSERT_EQ(run(goma, {"import", FIXTURE.string()}).status, 0);
  ASSERT_EQ(run(goma, {"bundle", "import", (m_dir / "stick.fsb").string()}).status, 0);
  // Each article once, under HQ's trusted copy, corrected; the duplicate under its original.
  auto list = runJson(goma, {"list", "--json"});
  EXPECT_EQ(list["count"], 11) << list;
  EXPECT_EQ(object(list, m_mali)["title"], "Mali: thousands flee");
  EXPECT_EQ(object(list, m_mali)["duplicates"], json::array({m_other}));
  EXPECT_EQ(runJson(goma, {"list", "--original", "--json"})["count"], 24);
  auto text = run(goma, {"list"}).out;
  EXPECT_NE(text.find("also signed by key " + goma.key.substr(0, 12)), std::string::npos) << text;
  EXPECT_NE(text.find("Mali: thousands flee"), std::string::npos) << text;

  // Goma's key is no office HQ certified: its correction of HQ's clipping would change nothing
  // on Goma, so it is refused there.
  auto refused = run(goma, {"annotate", m_mali, "--title", "Something else"});
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("would change nothing on this node"), std::string::npos)
      << refused.err;
  // Goma may correct its own copy of the article, which corrects the article.
  const auto also = object(list, m_mali)["alsoSignedBy"];
  ASSERT_EQ(also.size(), 1u) << list;
  const std::string gomaCopy = also[0]["id"];
  ASSERT_FALSE(gomaCopy.empty());
  ASSERT_EQ(run(goma, {"annotate", gomaCopy, "--tag", "region:sahel"}).status, 0);
  EXPECT_EQ(runJson(goma, {"list", "--tag", "region:sahel", "--json"})["count"], 1);
}

// A wrong duplicate mark is withdrawn by a later annotation: the clipping lists as itself again,
// `show` says who withdrew it, and a second withdrawal is refused as changing nothing.
TEST_F(Annotate, ADuplicateMarkIsWithdrawnAndTheClippingListsAsItselfAgain) {
  ASSERT_EQ(run(m_hq, {"annotate", m_other, "--duplicate-of", m_mali}).status, 0);
  ASSERT_EQ(runJson(m_hq, {"list", "--json"})["count"], 11);
  auto withdrawn =
      run(m_hq, {"annotate", m_other, "--not-duplicate", "--reason", "another report"});
  ASSERT_EQ(withdrawn.status, 0) << withdrawn.err;
  auto list = runJson(m_hq, {"list", "--json"});
  EXPECT_EQ(list["count"], 12) << list;
  EXPECT_TRUE(object(list, m_other)["duplicateOf"].is_null()) << list;
  EXPECT_TRUE(object(list, m_mali)["duplicates"].empty()) << list;
  EXPECT_NE(
      run(m_hq, {"show", m_other}).out.find("not a duplicate: the mark was withdrawn by HQ on "),
      std::string::npos);
  auto again = run(m_hq, {"annotate", m_other, "--not-duplicate"});
  EXPECT_EQ(again.status, 2);
  EXPECT_NE(again.err.find("is not marked a duplicate here"), std::string::npos) << again.err;
  EXPECT_EQ(run(m_hq, {"annotate", m_other, "--not-duplicate", "--duplicate-of", m_mali}).status,
            2);
}

}  // namespace
