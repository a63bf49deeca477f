// config.toml and serve's log, run as a user runs them: the real binary in temp homes,
// `config show`/`check`/`apply`, flags over the file, bad files refused with their line and
// column (exit 2, nothing started), and `serve` listening where the file says, admitting the
// peers it declares and writing journal lines when stderr is the journal.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "cli/background.h"
#include "cli/cli_fixture.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace fieldsync::clitest;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto START_WAIT = 20s;  // generous: a server normally starts within milliseconds
constexpr auto EXIT_WAIT = 30s;

class Config : public NodesTest {
 protected:
  Config() : NodesTest("fieldsync-cli-config-") {}

  void writeConfig(const Node& node, const std::string& text) {
    spit(node.home / "config.toml", text);
  }
  std::string peerTable(const Node& peer, const std::string& address,
                        const std::string& extra = "") {
    return "[peers." + peer.name + "]\naddress = \"" + address + "\"\nkey = \"" + peer.key +
           "\"\n" + extra;
  }
  /// A new folder for a background process's output.
  fs::path newLogFolder(const std::string& name) {
    const auto path = m_dir / (name + "-" + std::to_string(m_logs++));
    fs::create_directories(path);
    return path;
  }
  /// `fieldsync --home HOME serve args...` in the background, its output in logFolder.
  std::unique_ptr<Background> serve(const Node& node, const std::vector<std::string>& args,
                                    const fs::path& logFolder,
                                    const std::vector<std::string>& extraEnv = {}) {
    std::vector<std::string> all{"serve"};
    all.insert(all.end(), args.begin(), args.end());
    return std::make_unique<Background>(fieldsyncCommand(node.home, all), logFolder, extraEnv);
  }
};

TEST_F(Config, ShowWithoutAFileGivesDefaultsAndTheArchivePeers) {
  auto goma = makeNode("goma"), kisangani = makeNode("kisangani");
  ASSERT_EQ(run(goma, {"peers", "add", "kisangani", "tcp://192.0.2.9:7420", kisangani.key,
                       "--interval", "2h"})
                .status,
            0);
  const auto j = runJson(goma, {"config", "show", "--json"});
  EXPECT_EQ(j["fileExists"], false);
  EXPECT_EQ(j["listen"]["value"], "tcp://0.0.0.0:7420");
  EXPECT_EQ(j["listen"]["source"], "default");
  EXPECT_EQ(j["logLevel"]["value"], "info");
  EXPECT_EQ(j["peersFrom"], "archive");
  ASSERT_EQ(j["peers"].size(), 1u);
  EXPECT_EQ(j["peers"][0]["interval"]["value"], 7200);
  EXPECT_EQ(j["peers"][0]["interval"]["source"], "archive");

  auto text = run(goma, {"config", "show"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("no such file: defaults apply"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("peers.kisangani.interval"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("2h"), std::string::npos) << text.out;
}

TEST_F(Config, ShowSaysWhereEachSettingComesFromAndFlagsOverrideTheFile) {
  auto goma = makeNode("goma"), bukavu = makeNode("bukavu");
  writeConfig(goma,
              "# Goma office\n"
              "listen = \"tcp://127.0.0.1:7500\"\n"
              "log_level = \"warn\"\n"
              "beacon = false\n\n" +
                  peerTable(bukavu, "tcp://192.0.2.8:7420", "rate = \"64k\"\n"));
  auto j = runJson(goma, {"config", "show", "--json"});
  EXPECT_EQ(j["fileExists"], true);
  EXPECT_EQ(j["listen"]["value"], "tcp://127.0.0.1:7500");
  EXPECT_EQ(j["listen"]["source"], "file");
  EXPECT_EQ(j["listen"]["line"], 2);
  EXPECT_EQ(j["logLevel"]["value"], "warn");
  EXPECT_EQ(j["logLevel"]["line"], 3);
  EXPECT_EQ(j["beacon"]["value"], false);
  EXPECT_EQ(j["dial"]["source"], "default");
  EXPECT_EQ(j["peersFrom"], "file");
  ASSERT_EQ(j["peers"].size(), 1u);
  EXPECT_EQ(j["peers"][0]["rate"]["value"], 64000);
  EXPECT_EQ(j["peers"][0]["rate"]["line"], 9);
  EXPECT_EQ(j["peers"][0]["interval"]["source"], "default");
  ASSERT_EQ(j["pending"].size(), 1u) << "the file's peer is not yet in the archive";
  EXPECT_EQ(j["pending"][0]["change"], "add");

  j = runJson(goma, {"config", "show", "--json", "--listen", "tcp://127.0.0.1:7600", "--log-level",
                     "debug", "--beacon"});
  EXPECT_EQ(j["listen"]["value"], "tcp://127.0.0.1:7600");
  EXPECT_EQ(j["listen"]["source"], "flag");
  EXPECT_EQ(j["logLevel"]["value"], "debug");
  EXPECT_EQ(j["logLevel"]["source"], "flag");
  EXPECT_EQ(j["beacon"]["value"], true);
  EXPECT_EQ(j["beacon"]["source"], "flag");

  auto text = run(goma, {"config", "show", "--no-dial"});
  ASSERT_EQ(text.status, 0) << text.err;
  // One line per setting: the key, its value, its source.
  auto lineOf = [&](const std::string& key) {
    const auto at = text.out.find("\n" + key + " ");
    return at == std::string::npos ? std::string()
                                   : text.out.substr(at + 1, text.out.find('\n', at + 1) - at - 1);
  };
  EXPECT_TRUE(lineOf("listen").find("tcp://127.0.0.1:7500") != std::string::npos &&
              lineOf("listen").ends_with(" config.toml:2"))
      << text.out;
  EXPECT_TRUE(lineOf("dial").find(" false ") != std::string::npos &&
              lineOf("dial").ends_with(" flag"))
      << text.out;
  EXPECT_TRUE(lineOf("peers.bukavu.rate").find(" 64k ") != std::string::npos &&
              lineOf("peers.bukavu.rate").ends_with(" config.toml:9"))
      << text.out;
  EXPECT_TRUE(lineOf("peers.bukavu.interval").ends_with(" default")) << text.out;
  EXPECT_NE(text.out.find("Added peer bukavu"), std::string::npos) << text.out;

  auto bad = run(goma, {"config", "show", "--listen", "192.0.2.1:7420"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--listen: not an address to listen on"), std::string::npos) << bad.err;
  bad = run(goma, {"config", "show", "--log-level", "loud"});
  EXPECT_EQ(bad.status, 2);
}

TEST_F(Config, BadFilesExitTwoNamingFileLineAndColumn) {
  auto goma = makeNode("goma");
  const std::string file = (goma.home / "config.toml").string();
  const std::vector<std::pair<std::string, std::string>> cases{
      {"listen = \"tcp://127.0.0.1:7500\"\nbeacon = tru\n", ":2:13: not valid TOML"},
      {"log_levle = \"debug\"\n", ":1:1: unknown key \"log_levle\""},
      {"dial = \"no\"\n", ":1:8: dial must be true or false, not a string"},
      {"listen = \"0.0.0.0:7420\"\n", ":1:10: listen: not an address to listen on"},
      {"[peers.a]\naddress = \"tcp://10.0.0.1:7420\"\nkey = \"" + std::string(64, 'a') +
           "\"\ninterval = -5\n",
       ":4:12: peers.a.interval: -5 is out of range"},
  };
  for (const auto& [text, expected] : cases) {
    writeConfig(goma, text);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"config", "check"}, {"config", "show"}, {"config", "apply"}}) {
      auto r = run(goma, args);
      EXPECT_EQ(r.status, 2) << args[1] << ": " << text;
      EXPECT_NE(r.err.find(file + expected), std::string::npos) << r.err;
    }
    // serve refuses too, before anything starts.
    auto server = serve(goma, {"--listen", "tcp://127.0.0.1:" + std::to_string(freePort())},
                        newLogFolder("bad-serve"));
    EXPECT_EQ(server->waitExit(EXIT_WAIT), 2) << server->log();
    EXPECT_NE(server->log().find(file + expected), std::string::npos) << server->log();
    EXPECT_EQ(server->log().find("serving"), std::string::npos) << server->log();
  }
}

TEST_F(Config, CheckAndApplyBringThePeerListInStepWithTheFile) {
  auto goma = makeNode("goma"), bukavu = makeNode("bukavu"), uvira = makeNode("uvira");
  ASSERT_EQ(run(goma, {"peers", "add", "uvira", "tcp://192.0.2.3:7420", uvira.key}).status, 0);
  writeConfig(goma, peerTable(bukavu, "tcp://192.0.2.8:7420", "interval = \"10m\"\n"));

  auto check = run(goma, {"config", "check"});
  ASSERT_EQ(check.status, 0) << check.err;
  EXPECT_NE(check.out.find("valid"), std::string::npos);
  EXPECT_NE(check.out.find("Removed peer uvira"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("Added peer bukavu"), std::string::npos) << check.out;
  EXPECT_EQ(runJson(goma, {"peers", "list", "--json"})["peers"].size(), 1u)
      << "check changes nothing";

  auto apply = run(goma, {"config", "apply"});
  ASSERT_EQ(apply.status, 0) << apply.err;
  EXPECT_NE(apply.out.find("Added peer bukavu"), std::string::npos) << apply.out;
  EXPECT_NE(apply.out.find("Removed peer uvira"), std::string::npos) << apply.out;
  const auto peers = runJson(goma, {"peers", "list", "--json"})["peers"];
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0]["name"], "bukavu");
  EXPECT_EQ(peers[0]["interval"], 600);

  // Declared: the peer commands refuse, pointing at the file, and change nothing.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"peers", "set", "bukavu", "--interval", "1h"},
        {"peers", "remove", "bukavu"},
        {"peers", "add", "uvira", "tcp://192.0.2.3:7420", uvira.key}}) {
    auto r = run(goma, args);
    EXPECT_EQ(r.status, 2) << args[1];
    EXPECT_NE(r.err.find("declared in " + (goma.home / "config.toml").string()), std::string::npos)
        << r.err;
  }
  EXPECT_EQ(runJson(goma, {"peers", "list", "--json"})["peers"][0]["interval"], 600);

  writeConfig(goma, peerTable(bukavu, "tcp://192.0.2.8:7421", "interval = \"10m\"\n"));
  apply = run(goma, {"config", "apply"});
  EXPECT_NE(apply.out.find("Updated peer bukavu: address tcp://192.0.2.8:7420 -> "
                           "tcp://192.0.2.8:7421"),
            std::string::npos)
      << apply.out;
  apply = run(goma, {"config", "apply"});
  EXPECT_NE(apply.out.find("as config.toml declares"), std::string::npos) << apply.out;

  // A file naming this node's own key is refused at its line and column.
  writeConfig(goma,
              "[peers.self]\naddress = \"tcp://192.0.2.1:7420\"\nkey = \"" + goma.key + "\"\n");
  apply = run(goma, {"config", "apply"});
  EXPECT_EQ(apply.status, 2);
  EXPECT_NE(apply.err.find("config.toml:3:7: peers.self.key is this node's own key"),
            std::string::npos)
      << apply.err;
}

TEST_F(Config, ServeListensWhereTheFileSaysAndAdmitsTheDeclaredPeers) {
  auto goma = makeNode("goma"), bukavu = makeNode("bukavu");
  std::unique_ptr<Background> server;
  std::string address;
  for (int attempt = 0; attempt < 5 && !server; ++attempt) {
    address = "tcp://127.0.0.1:" + std::to_string(freePort());
    writeConfig(goma, "listen = \"" + address +
                          "\"\ndial = false\nbeacon = false\nlog_level = \"debug\"\n\n" +
                          peerTable(bukavu, "tcp://192.0.2.8:7420"));
    auto candidate = serve(goma, {}, newLogFolder("goma"));
    if (candidate->waitForOutput(" info serving", START_WAIT)) server = std::move(candidate);
  }
  ASSERT_TRUE(server) << "no server started";
  const auto started = server->log();
  EXPECT_NE(started.find("on " + address + " as " + goma.key), std::string::npos) << started;
  EXPECT_NE(started.find(" info config: Added peer bukavu"), std::string::npos) << started;
  EXPECT_EQ(started.find("dialing peers"), std::string::npos) << "dial = false";

  // bukavu reaches goma there, and goma admits it: the file declared it.
  ASSERT_EQ(run(bukavu, {"peers", "add", "goma", address, goma.key}).status, 0);
  auto sync = run(bukavu, {"sync", "goma"});
  EXPECT_EQ(sync.status, 0) << sync.out << sync.err;
  EXPECT_TRUE(server->waitForOutput(" debug peer bukavu: session opened", START_WAIT))
      << server->log();

  EXPECT_EQ(server->stop(), 0) << server->log();
  const auto log = server->log();
  EXPECT_NE(log.find(" info stopping on SIGTERM"), std::string::npos) << log;
  // Every line is "TIME LEVEL message", the time UTC ISO 8601 to the millisecond.
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    ASSERT_GE(line.size(), 25u) << line;
    EXPECT_EQ(line[4], '-') << line;
    EXPECT_EQ(line[10], 'T') << line;
    EXPECT_EQ(line.substr(19, 1), ".") << line;
    EXPECT_EQ(line.substr(23, 2), "Z ") << line;
  }
}

TEST_F(Config, ServeWritesJournalPrioritiesWhenStderrIsTheJournal) {
  auto goma = makeNode("goma");
  std::unique_ptr<Background> server;
  for (int attempt = 0; attempt < 5 && !server; ++attempt) {
    // stderr made first, so that its inode can be named.
    const auto folder = newLogFolder("journal");
    const auto log = Background::errPath(folder);
    spit(log, "");
    struct stat status {};
    ASSERT_EQ(::stat(log.c_str(), &status), 0);
    const std::string journal =
        "JOURNAL_STREAM=" + std::to_string(status.st_dev) + ":" + std::to_string(status.st_ino);
    auto candidate = serve(
        goma,
        {"--no-beacon", "--no-dial", "--listen", "tcp://127.0.0.1:" + std::to_string(freePort())},
        folder, {journal});
    if (candidate->waitForOutput("<6>serving ", START_WAIT)) server = std::move(candidate);
  }
  ASSERT_TRUE(server) << "no server started";
  EXPECT_EQ(server->stop(), 0);
  const auto log = server->log();
  EXPECT_EQ(log.rfind("<6>serving ", 0), 0u) << log;
  EXPECT_NE(log.find("\n<6>stopping on SIGTERM\n"), std::string::npos) << log;
  EXPECT_NE(log.find("\n<6>stopped\n"), std::string::npos) << log;
}

TEST_F(Config, ServeLogLevelFlagOverridesTheFile) {
  auto goma = makeNode("goma");
  writeConfig(goma, "log_level = \"error\"\nbeacon = false\ndial = false\n");
  std::unique_ptr<Background> server;
  for (int attempt = 0; attempt < 5 && !server; ++attempt) {
    auto candidate = serve(
        goma, {"--log-level", "info", "--listen", "tcp://127.0.0.1:" + std::to_string(freePort())},
        newLogFolder("level"));
    if (candidate->waitForOutput(" info serving", START_WAIT)) server = std::move(candidate);
  }
  ASSERT_TRUE(server) << "the flag's info level should show the serving line";
  EXPECT_EQ(server->stop(), 0);
}

}  // namespace
