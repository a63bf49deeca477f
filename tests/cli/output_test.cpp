// What every command shares, run as a user runs it (the real binary): an example in every
// --help, one JSON document per run under --json (errors included), the exit statuses of
// docs/cli.md's table, no progress bar off a terminal or with --quiet, and the bar on a
// pseudo-terminal.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "cli/cli_fixture.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace fieldsync::clitest;

const fs::path FIXTURE = fs::path(FIELDSYNC_FIXTURES_DIR) / "icrtop-listserv-2013-01-11.txt";
constexpr std::string_view ERASE_LINE = "\x1b[K";

/// The subcommands a --help text lists, under "Subcommands:".
std::vector<std::string> subcommandsIn(const std::string& help) {
  std::vector<std::string> names;
  std::istringstream lines(help);
  bool inList = false;
  for (std::string line; std::getline(lines, line);) {
    if (line == "Subcommands:") {
      inList = true;
    } else if (inList) {
      if (line.size() < 3 || line.substr(0, 2) != "  " || line[2] == ' ') break;
      names.push_back(line.substr(2, line.find(' ', 2) - 2));
    }
  }
  return names;
}

class Output : public ::testing::Test {
 protected:
  Result run(const std::vector<std::string>& args, const fs::path& home) {
    return runFieldsync(home, args, m_dir);
  }
  Result run(const std::vector<std::string>& args) { return run(args, m_home); }
  /// args with --json: the status expected and one JSON document, whole, on standard output.
  json runJson(std::vector<std::string> args, int status = 0, const fs::path& home = {}) {
    args.push_back("--json");
    auto r = run(args, home.empty() ? m_home : home);
    EXPECT_EQ(r.status, status) << testing::PrintToString(args) << r.out.substr(0, 2000) << r.err;
    try {
      return json::parse(r.out);  // throws on anything but exactly one document
    } catch (const json::exception& e) {
      ADD_FAILURE() << testing::PrintToString(args) << ": not one JSON document: " << e.what()
                    << "\n"
                    << r.out;
      return nullptr;
    }
  }
  /// A coordinator node holding the fixture's twelve clippings.
  void coordinatorWithClippings() {
    ASSERT_EQ(run({"init", "--name", "HQ", "--coordinator"}).status, 0);
    ASSERT_EQ(run({"import", FIXTURE.string()}).status, 0);
  }
  /// A file of n clippings as JSON lines.
  fs::path manyClippings(std::size_t n, const std::string& label = "Clipping") {
    std::string text;
    for (std::size_t i = 0; i < n; ++i)
      text += json{{"title", label + " " + std::to_string(i)},
                   {"source", "Test"},
                   {"body", "Body of clipping " + std::to_string(i)}}
                  .dump() +
              "\n";
    spit(m_dir / "many.jsonl", text);
    return m_dir / "many.jsonl";
  }
  std::string otherKey() {
    const auto other = m_dir / "other";
    EXPECT_EQ(run({"init"}, other).status, 0);
    auto id = run({"id"}, other).out;
    return id.substr(0, 64);
  }

  TempFolder m_folder{"fieldsync-output-"};
  fs::path m_dir = m_folder.path();
  fs::path m_home = m_dir / "home";
};

// --- --help --------------------------------------------------------------------------------

TEST_F(Output, EveryCommandsHelpHasAnExample) {
  std::vector<std::vector<std::string>> commands{{}};
  std::set<std::string> seen;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto args = commands[i];
    args.push_back("--help");
    const auto r = runProgram(FIELDSYNC_BIN, args, m_dir);
    EXPECT_EQ(r.status, 0) << testing::PrintToString(args) << r.err;
    EXPECT_NE(r.out.find("Example"), std::string::npos)
        << "fieldsync " << testing::PrintToString(commands[i]) << " --help has no example:\n"
        << r.out;
    for (const auto& name : subcommandsIn(r.out)) {
      auto sub = commands[i];
      sub.push_back(name);
      commands.push_back(sub);
      seen.insert(sub.front());
    }
  }
  // The walk found the commands (and their subcommands), not just the top level.
  for (const char* name : {"import", "sync", "bundle", "keys", "release", "peers", "status"})
    EXPECT_TRUE(seen.contains(name)) << name;
  EXPECT_GT(commands.size(), 35u);
}

// --- --json --------------------------------------------------------------------------------

TEST_F(Output, EveryCommandThatReportsPrintsOneJsonDocument) {
  const auto initHome = m_dir / "fresh";
  EXPECT_EQ(runJson({"init", "--name", "Fresh"}, 0, initHome)["name"], "Fresh");
  EXPECT_EQ(run({"init", "--name", "HQ", "--coordinator"}).status, 0);
  const auto key = otherKey();

  EXPECT_EQ(runJson({"id"})["name"], "HQ");
  EXPECT_EQ(runJson({"import", FIXTURE.string()})["stored"], 12);
  const auto added = runJson({"add", "--title", "Floods", "--source", "Radio"});
  EXPECT_EQ(added["stored"], true);
  const std::string id = added["id"];
  EXPECT_EQ(runJson({"list"})["count"], 13);
  EXPECT_EQ(runJson({"search", "floods"})["objects"][0]["id"], id);
  EXPECT_EQ(runJson({"show", id.substr(0, 12)})["title"], "Floods");
  EXPECT_EQ(runJson({"verify"})["checked"], 13);

  EXPECT_EQ(runJson({"keys", "trust", key, "--role", "field", "--name", "Goma"})["anchor"]["name"],
            "Goma");
  EXPECT_EQ(runJson({"keys", "untrust", key})["removed"]["key"], key);
  EXPECT_EQ(runJson({"keys", "certify", key, "--role", "field", "--name", "Goma"})["kind"],
            "keyCert");
  EXPECT_EQ(runJson({"keys", "revoke", key, "--reason", "lost"})["kind"], "revocation");
  EXPECT_TRUE(runJson({"keys", "list"})["keys"].is_array());

  EXPECT_EQ(runJson({"release", "create", "weekly"})["sequence"], 1);
  EXPECT_EQ(runJson({"release", "list"})["releases"][0]["name"], "weekly");
  EXPECT_EQ(runJson({"release", "show", "weekly"})["members"].size(), 13u);
  const auto exported = runJson({"release", "export", "weekly", "--out", (m_dir / "w").string()});
  EXPECT_EQ(exported["release"], "weekly@1");
  EXPECT_TRUE(fs::exists(exported["manifest"].get<std::string>()));

  const std::vector<std::string> peer{"hub", "tcp://127.0.0.1:1", key};
  auto add = std::vector<std::string>{"peers", "add"};
  add.insert(add.end(), peer.begin(), peer.end());
  EXPECT_EQ(runJson(add)["added"]["name"], "hub");
  EXPECT_EQ(runJson({"peers", "set", "hub", "--interval", "1h"})["peer"]["interval"], 3600);
  EXPECT_EQ(runJson({"peers", "list"})["peers"].size(), 1u);

  EXPECT_TRUE(runJson({"pause", "--for", "1h"})["pausedUntil"].is_string());
  EXPECT_TRUE(runJson({"resume"})["wasPausedUntil"].is_string());
  EXPECT_TRUE(runJson({"resume"})["wasPausedUntil"].is_null());
  EXPECT_EQ(runJson({"status"})["archive"]["objects"], 16);

  const auto bundle = (m_dir / "all.fsb").string();
  EXPECT_EQ(runJson({"bundle", "export", bundle})["objects"], 16);
  EXPECT_EQ(runJson({"bundle", "list", bundle})["count"], 16);
  EXPECT_EQ(runJson({"bundle", "verify", bundle})["checked"], 16);
  EXPECT_EQ(runJson({"bundle", "import", bundle})["alreadyPresent"], 16);

  // A session that fails is still one document: the report, with the error in it.
  const auto sync = runJson({"sync", "hub", "--connect-timeout", "1"}, 4);
  EXPECT_EQ(sync["ok"], false);
  EXPECT_EQ(sync["error"]["exit"], 4);
  EXPECT_FALSE(sync["error"]["message"].get<std::string>().empty());

  EXPECT_EQ(runJson({"peers", "remove", "hub"})["removed"]["name"], "hub");
}

TEST_F(Output, ErrorsUnderJsonAreOneDocumentOnStandardOutputAndALineOnStandardError) {
  coordinatorWithClippings();
  auto check = [&](const std::vector<std::string>& args, int status) {
    auto all = args;
    all.push_back("--json");
    const auto r = run(all);
    EXPECT_EQ(r.status, status) << r.err;
    json doc;
    ASSERT_NO_THROW(doc = json::parse(r.out)) << r.out;
    ASSERT_TRUE(doc.contains("error")) << doc;
    EXPECT_EQ(doc["error"]["exit"], status) << doc;
    const std::string message = doc["error"]["message"];
    EXPECT_FALSE(message.empty());
    EXPECT_EQ(r.err.rfind("fieldsync: ", 0), 0u) << r.err;
  };
  check({"show", "0123456789ab"}, 2);       // no such object
  check({"list", "--bogus"}, 2);            // does not parse
  check({"peers", "remove", "nobody"}, 2);  // no such peer
  check({"import", (m_dir / "missing").string()}, 2);
  check({"bundle", "import", FIXTURE.string()}, 2);  // not a bundle

  // Without --json, standard output stays empty.
  const auto plain = run({"show", "0123456789ab"});
  EXPECT_EQ(plain.status, 2);
  EXPECT_TRUE(plain.out.empty()) << plain.out;
}

// --- Exit statuses ---------------------------------------------------------------------------

TEST_F(Output, ExitStatusesFollowTheTable) {
  coordinatorWithClippings();
  const auto key = otherKey();
  // 2: a peer name nobody listed, wherever a peer is named.
  EXPECT_EQ(run({"peers", "set", "nobody", "--interval", "1h"}).status, 2);
  EXPECT_EQ(run({"peers", "remove", "nobody"}).status, 2);
  EXPECT_EQ(run({"sync", "nobody"}).status, 2);
  EXPECT_EQ(run({"bundle", "export", (m_dir / "b.fsb").string(), "--for", "nobody"}).status, 2);
  // 2: an unknown id or release, a bad file, a folder that does not exist.
  EXPECT_EQ(run({"show", "0123456789ab"}).status, 2);
  EXPECT_EQ(run({"verify", "0123456789ab"}).status, 2);
  EXPECT_EQ(run({"release", "show", "monthly"}).status, 2);
  EXPECT_EQ(run({"import", (m_dir / "missing").string()}).status, 2);
  EXPECT_EQ(run({"bundle", "export", (m_dir / "no" / "such" / "b.fsb").string()}).status, 2);
  EXPECT_FALSE(fs::exists(m_dir / "no"));
  // 2: bad arguments, a missing command, a paused node asked to sync.
  EXPECT_EQ(run({}).status, 2);
  EXPECT_EQ(run({"keys"}).status, 2);
  EXPECT_EQ(run({"list", "--limit", "many"}).status, 2);
  ASSERT_EQ(run({"peers", "add", "hub", "tcp://127.0.0.1:1", key}).status, 0);
  ASSERT_EQ(run({"pause"}).status, 0);
  EXPECT_EQ(run({"sync", "hub"}).status, 2);
  ASSERT_EQ(run({"resume"}).status, 0);
  // 4: nobody there.
  EXPECT_EQ(run({"sync", "hub", "--connect-timeout", "1"}).status, 4);
  // 3: valid but untrusted; 1: damaged.
  const auto other = m_dir / "other";
  ASSERT_EQ(run({"add", "--title", "Unknown", "--source", "X"}, other).status, 0);
  ASSERT_EQ(run({"bundle", "export", (m_dir / "o.fsb").string()}, other).status, 0);
  EXPECT_EQ(run({"bundle", "import", (m_dir / "o.fsb").string()}).status, 0);
  EXPECT_EQ(run({"verify"}).status, 3);
  auto bytes = slurp(m_dir / "o.fsb");
  spit(m_dir / "cut.fsb", bytes.substr(0, bytes.size() - 10));
  EXPECT_EQ(run({"bundle", "import", (m_dir / "cut.fsb").string()}).status, 1);
  // 5: the environment: an address this machine does not have.
  EXPECT_EQ(run({"serve", "--listen", "tcp://192.0.2.1:7420", "--no-beacon"}).status, 5);
}

// --- Progress and --quiet --------------------------------------------------------------------

TEST_F(Output, OffATerminalThereIsNoProgressAndQuietDropsTheHints) {
  auto init = run({"init", "--quiet"});
  ASSERT_EQ(init.status, 0);
  EXPECT_EQ(init.out.find("trust:"), std::string::npos) << init.out;
  EXPECT_NE(init.out.find("public key:"), std::string::npos) << init.out;

  const auto many = manyClippings(500);
  const auto r = run({"import", many.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;  // standard error is a file here: no bar
  const auto bundle = (m_dir / "b.fsb").string();
  const auto exported = run({"bundle", "export", bundle});
  EXPECT_TRUE(exported.err.empty()) << exported.err;
  const auto imported = run({"bundle", "import", bundle});
  EXPECT_TRUE(imported.err.empty()) << imported.err;
}

TEST_F(Output, OnATerminalImportAndBundlesDrawABarAndEraseItQuietDrawsNone) {
  ASSERT_EQ(run({"init"}).status, 0);
  const auto many = manyClippings(2000);
  const std::string home = m_home.string();

  const auto imported = runOnTerminal({"--home", home, "import", many.string()});
  ASSERT_EQ(imported.status, 0) << imported.output;
  const auto& text = imported.output;
  const auto bar = text.find("importing [");
  ASSERT_NE(bar, std::string::npos) << text;
  EXPECT_NE(text.find("/2000 objects", bar), std::string::npos) << text;
  // Erased before the result: the result line comes after the last erase.
  const auto erased = text.rfind(std::string("\r") + std::string(ERASE_LINE));
  ASSERT_NE(erased, std::string::npos) << text;
  EXPECT_GT(text.find("2000 new clippings"), erased) << text;

  const auto bundle = (m_dir / "b.fsb").string();
  const auto exported = runOnTerminal({"--home", home, "bundle", "export", bundle});
  ASSERT_EQ(exported.status, 0) << exported.output;
  EXPECT_NE(exported.output.find("exporting"), std::string::npos) << exported.output;
  EXPECT_NE(exported.output.find(ERASE_LINE), std::string::npos) << exported.output;

  const auto other = (m_dir / "other").string();
  ASSERT_EQ(run({"init"}, other).status, 0);
  const auto bundled = runOnTerminal({"--home", other, "bundle", "import", bundle});
  ASSERT_EQ(bundled.status, 0) << bundled.output;
  EXPECT_NE(bundled.output.find("importing"), std::string::npos) << bundled.output;
  EXPECT_NE(bundled.output.find("2000 stored"), std::string::npos) << bundled.output;

  const auto quiet =
      runOnTerminal({"--home", home, "--quiet", "import", manyClippings(300, "Another").string()});
  ASSERT_EQ(quiet.status, 0) << quiet.output;
  EXPECT_EQ(quiet.output.find(ERASE_LINE), std::string::npos) << quiet.output;
  EXPECT_EQ(quiet.output.find("importing"), std::string::npos) << quiet.output;
  EXPECT_NE(quiet.output.find("300 new clippings"), std::string::npos) << quiet.output;
}

}  // namespace
