// The fieldsync command run as a user runs it: the real binary, a real home in a temp
// folder, real files, real exit statuses.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "cli/cli_fixture.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace fieldsync::clitest;

const fs::path FIXTURE = fs::path(FIELDSYNC_FIXTURES_DIR) / "icrtop-listserv-2013-01-11.txt";

/// A fresh folder per test holding the node's home and scratch files; removed afterwards.
class Cli : public ::testing::Test {
 protected:
  /// Runs fieldsync --home HOME args..., with stdinText on standard input.
  Result run(const std::vector<std::string>& args, const std::string& stdinText = "") {
    return runFieldsync(m_home, args, m_dir, stdinText);
  }
  json runJson(const std::vector<std::string>& args) {
    auto r = run(args);
    EXPECT_EQ(r.status, 0) << r.err;
    return json::parse(r.out);
  }
  void init() { ASSERT_EQ(run({"init", "--name", "Test office"}).status, 0); }
  /// A node that trusts its own key as coordinator, so what it signs verifies as trusted.
  void initCoordinator() {
    ASSERT_EQ(run({"init", "--name", "Test office", "--coordinator"}).status, 0);
  }
  std::size_t count() { return runJson({"list", "--json"})["count"].get<std::size_t>(); }
  fs::path file(const std::string& name, std::string_view text) {
    spit(m_dir / name, text);
    return m_dir / name;
  }

  TempFolder m_folder{"fieldsync-cli-"};
  fs::path m_dir = m_folder.path();
  fs::path m_home = m_dir / "home";
};

// --- init and id -----------------------------------------------------------------------------

TEST_F(Cli, InitCreatesAPrivateKeyFileAndIdPrintsThePublicKey) {
  init();
  struct stat st {};
  ASSERT_EQ(::stat((m_home / "node.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto id = run({"id"});
  EXPECT_EQ(id.status, 0);
  EXPECT_EQ(id.out.size(), 65u) << id.out;  // 64 hex digits and a newline
  EXPECT_EQ(runJson({"id", "--json"})["name"], "Test office");
}

TEST_F(Cli, InitOnAnExistingHomeRefusesAndKeepsTheKey) {
  init();
  auto key = slurp(m_home / "node.key");
  auto again = run({"init"});
  EXPECT_EQ(again.status, 2);
  EXPECT_NE(again.err.find("already holds"), std::string::npos) << again.err;
  EXPECT_EQ(slurp(m_home / "node.key"), key);
}

TEST_F(Cli, CommandsWithoutAHomeSayToRunInit) {
  auto r = run({"list"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("fieldsync init"), std::string::npos) << r.err;
}

TEST_F(Cli, UnknownCommandIsAUsageError) { EXPECT_EQ(run({"frobnicate"}).status, 2); }

TEST_F(Cli, SealedKeyNeedsTheRightPassphraseToSign) {
  auto good = file("pass", "correct horse battery\n");
  auto bad = file("wrong", "wrong horse\n");
  ASSERT_EQ(run({"init", "--passphrase-file", good.string()}).status, 0);
  EXPECT_EQ(slurp(m_home / "node.key").find("seed:"), std::string::npos);

  auto none = run({"import", FIXTURE.string()});
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("passphrase"), std::string::npos) << none.err;

  auto wrong = run({"import", FIXTURE.string(), "--passphrase-file", bad.string()});
  EXPECT_EQ(wrong.status, 2);
  EXPECT_NE(wrong.err.find("wrong passphrase"), std::string::npos) << wrong.err;
  EXPECT_EQ(count(), 0u);

  EXPECT_EQ(run({"import", FIXTURE.string(), "--passphrase-file", good.string()}).status, 0);
  EXPECT_EQ(count(), 12u);
}

// --- import ----------------------------------------------------------------------------------

TEST_F(Cli, FixtureDigestImportsAsTwelveClippings) {
  initCoordinator();
  auto r = run({"import", FIXTURE.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("12 new clippings"), std::string::npos) << r.out;
  auto list = runJson({"list", "--json"});
  ASSERT_EQ(list["count"], 12);
  auto me = runJson({"id", "--json"})["publicKey"];
  for (const auto& c : list["objects"]) {
    EXPECT_EQ(c["signer"], me);
    EXPECT_FALSE(c["title"].get<std::string>().empty());
    EXPECT_FALSE(c["source"].get<std::string>().empty());
  }
  EXPECT_EQ(runJson({"list", "--json", "--tag", "region:mali"})["count"], 1);
  EXPECT_EQ(runJson({"list", "--json", "--tag", "region:kenya"})["count"], 1);
  EXPECT_EQ(runJson({"list", "--json", "--tag", "region:democratic-republic-of-congo"})["count"],
            1);
  EXPECT_EQ(run({"verify", "--all"}).status, 0);
}

TEST_F(Cli, ImportingTheSameFileAgainStoresNothingNew) {
  init();
  ASSERT_EQ(run({"import", FIXTURE.string()}).status, 0);
  auto again = runJson({"import", FIXTURE.string(), "--json"});
  EXPECT_EQ(again["stored"], 0);
  EXPECT_EQ(again["duplicates"], 12);
  EXPECT_EQ(count(), 12u);
  auto human = run({"import", FIXTURE.string()});
  EXPECT_NE(human.out.find("already in the archive"), std::string::npos) << human.out;
}

TEST_F(Cli, ExtraTagsApplyToEveryImportedClipping) {
  init();
  ASSERT_EQ(run({"import", FIXTURE.string(), "--tag", "Batch:January"}).status, 0);
  EXPECT_EQ(runJson({"list", "--json", "--tag", "batch:january"})["count"], 12);
}

TEST_F(Cli, MarkdownAndJsonLinesImport) {
  init();
  auto md = file("article.md",
                 "---\ntitle: Floods in the north\nsource: Radio Okapi\nauthors: A. Writer, "
                 "B. Writer\ndate: 3 March 2024\ntags: region:drc, topic:floods\n---\n\n"
                 "Heavy rain displaced thousands of families.\n");
  auto jl = file(
      "batch.jsonl",
      "{\"title\": \"One\", \"source\": \"S\", \"published\": \"2024-01\", \"body\": \"first\"}\n"
      "{\"title\": \"Two\", \"source\": \"S\", \"tags\": [\"x:y\"], \"body\": \"second\"}\n");
  auto r = run({"import", md.string(), jl.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count(), 3u);
  auto floods = runJson({"list", "--json", "--tag", "topic:floods"});
  ASSERT_EQ(floods["count"], 1);
  EXPECT_EQ(floods["objects"][0]["published"], "2024-03-03");
  EXPECT_EQ(floods["objects"][0]["authors"].size(), 2u);
}

struct BadInput {
  const char* name;
  std::string text;
  const char* expect;  // in the error message
};

TEST_F(Cli, EveryBadFileIsRefusedWithFileAndLineAndLeavesTheArchiveUnchanged) {
  init();
  ASSERT_EQ(run({"import", FIXTURE.string()}).status, 0);
  std::vector<BadInput> bad = {
      {"empty.jsonl", "", "empty"},
      {"binary.md", std::string("title: x\n\n\0\x01\x02\xff", 14), "UTF-8"},
      {"latin1.md", "title: caf\xe9\n\nbody\n", "UTF-8"},
      {"truncated.jsonl", "{\"title\": \"ok\"}\n{\"title\": \"cut", ":2:"},
      {"notitle.jsonl", "{\"title\": \"ok\"}\n{\"source\": \"S\"}\n", "title"},
      {"notitle.md", "source: S\n\nbody\n", "title"},
  };
  for (const auto& b : bad) {
    auto path = file(b.name, b.text);
    auto r = run({"import", path.string()});
    EXPECT_EQ(r.status, 2) << b.name;
    EXPECT_NE(r.err.find(b.name), std::string::npos) << b.name << ": " << r.err;
    EXPECT_NE(r.err.find(b.expect), std::string::npos) << b.name << ": " << r.err;
    EXPECT_EQ(count(), 12u) << b.name;
  }
  // A good file beside a bad one: nothing at all is imported.
  auto good = file("good.jsonl", "{\"title\": \"fine\"}\n");
  auto mixed = run({"import", good.string(), (m_dir / "truncated.jsonl").string()});
  EXPECT_EQ(mixed.status, 2);
  EXPECT_EQ(count(), 12u);
  EXPECT_EQ(run({"import", (m_dir / "missing.txt").string()}).status, 2);
  EXPECT_EQ(run({"import", m_dir.string()}).status, 2);
  EXPECT_EQ(run({"import", good.string(), "--format", "pdf"}).status, 2);
}

// --- add, show, list, search -----------------------------------------------------------------

TEST_F(Cli, AddTakesItsBodyFromStandardInputAndShowPrintsIt) {
  init();
  auto added = run(
      {"add", "--title", "Côte d'Ivoire: élections", "--source", "RFI", "--author", "Jeanne Dupont",
       "--date", "11 January 2013", "--tag", "region:cote-divoire", "--json", "-"},
      "Les électeurs se sont rendus aux urnes.\n");
  ASSERT_EQ(added.status, 0) << added.err;
  auto id = json::parse(added.out)["id"].get<std::string>();
  auto shown = runJson({"show", id.substr(0, 10), "--json"});
  EXPECT_EQ(shown["id"], id);
  EXPECT_EQ(shown["published"], "2013-01-11");
  EXPECT_EQ(shown["body"], "Les électeurs se sont rendus aux urnes.");
  EXPECT_EQ(shown["authors"], json::array({"Jeanne Dupont"}));
  auto human = run({"show", id});
  EXPECT_NE(human.out.find("Les électeurs"), std::string::npos);
  auto again =
      run({"add", "--title", "Côte d'Ivoire: élections", "--source", "RFI", "--author",
           "Jeanne Dupont", "--date", "2013-01-11", "--tag", "region:cote-divoire", "--json", "-"},
          "Les électeurs se sont rendus aux urnes.\n");
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["stored"], false) << "same content, same key: nothing new";
  EXPECT_EQ(json::parse(again.out)["id"], id);
}

TEST_F(Cli, ShowRefusesShortOrUnknownIds) {
  init();
  EXPECT_EQ(run({"show", "abc"}).status, 2);
  EXPECT_EQ(run({"show", "00000000"}).status, 2);
  EXPECT_EQ(run({"show", "not-hex-at-all"}).status, 2);
}

TEST_F(Cli, ListFiltersAndOrdersNewestFirst) {
  init();
  ASSERT_EQ(run({"import", FIXTURE.string()}).status, 0);
  auto all = runJson({"list", "--json"})["objects"];
  for (std::size_t i = 1; i < all.size(); ++i)
    EXPECT_GE(all[i - 1]["published"].get<std::string>().substr(0, 7),
              all[i]["published"].get<std::string>().substr(0, 7));
  EXPECT_EQ(runJson({"list", "--json", "--limit", "3"})["count"], 3);
  auto recent = runJson({"list", "--json", "--since", "2013-01-01"});
  EXPECT_GT(recent["count"].get<int>(), 0);
  EXPECT_LT(recent["count"].get<int>(), 12);
  EXPECT_EQ(runJson({"list", "--json", "--source", "Amnesty International"})["count"], 1);
  EXPECT_EQ(run({"list", "--since", "yesterday-ish"}).status, 2);
}

TEST_F(Cli, SearchNeedsEveryWordAndIgnoresCaseAndAccents) {
  init();
  ASSERT_EQ(run({"import", FIXTURE.string()}).status, 0);
  auto kenya = runJson({"search", "KENYA", "election", "--json"});
  ASSERT_GE(kenya["count"].get<int>(), 1);
  EXPECT_EQ(kenya["objects"][0]["title"], "Electoral Violence in Kenya");
  EXPECT_EQ(runJson({"search", "kenya", "zzzunknownword", "--json"})["count"], 0);
  auto plain = runJson({"search", "kenya", "--json"})["count"];
  EXPECT_EQ(runJson({"search", "Kényâ", "--json"})["count"], plain);
  EXPECT_EQ(run({"search", "--", "---"}).status, 2);
}

// --- verify ----------------------------------------------------------------------------------

TEST_F(Cli, VerifyPassesOnACoordinatorsFreshArchive) {
  initCoordinator();
  ASSERT_EQ(run({"import", FIXTURE.string()}).status, 0);
  auto r = runJson({"verify", "--all", "--json"});
  EXPECT_EQ(r["checked"], 12);
  EXPECT_EQ(r["valid"], 12);
  EXPECT_EQ(r["ok"], true);
}

TEST_F(Cli, APlainNodesOwnImportsVerifyAsUntrusted) {
  init();  // without --coordinator nobody, not even this node, vouches for its key
  ASSERT_EQ(run({"import", FIXTURE.string()}).status, 0);
  auto r = run({"verify"});
  EXPECT_EQ(r.status, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("UNTRUSTED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unknown key"), std::string::npos) << r.out;
  auto j = json::parse(run({"verify", "--json"}).out);
  EXPECT_EQ(j["untrusted"], 12);
  EXPECT_EQ(j["invalid"], 0);
  EXPECT_EQ(j["objects"][0]["verdict"], "untrusted");
  EXPECT_EQ(j["objects"][0]["signer"]["status"], "unknown");
}

TEST_F(Cli, TamperedObjectBytesMakeVerifyExitOne) {
  init();
  ASSERT_EQ(run({"import", FIXTURE.string()}).status, 0);
  // Change one letter of a stored article in the database file itself, as a failing disk
  // or a tamperer would.
  auto db = m_home / "archive" / "data.mdb";
  std::string bytes = slurp(db);
  const std::string phrase = "Arresting the worst abusers";
  auto at = bytes.find(phrase);
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'B';
  spit(db, bytes);

  // Invalid outranks untrusted: this plain node trusts none of the other eleven either.
  auto r = run({"verify", "--all"});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("INVALID"), std::string::npos) << r.out;
  auto j = json::parse(run({"verify", "--json"}).out);
  EXPECT_EQ(j["invalid"], 1);
  EXPECT_EQ(j["untrusted"], 11);
  EXPECT_EQ(j["checked"], 12);
}

}  // namespace
