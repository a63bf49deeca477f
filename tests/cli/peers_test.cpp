// fieldsync peers, run as a user runs it: two real nodes, each knowing the other's key from
// `fieldsync id`.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli_fixture.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace fieldsync::clitest;

class Peers : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(run({"init", "--name", "Goma office"}).status, 0);
    ASSERT_EQ(runFieldsync(m_other, {"init", "--name", "Nairobi hub"}, m_dir).status, 0);
    auto id = runFieldsync(m_other, {"id"}, m_dir);
    ASSERT_EQ(id.status, 0);
    m_otherKey = id.out.substr(0, 64);
  }
  Result run(const std::vector<std::string>& args) { return runFieldsync(m_home, args, m_dir); }
  json listJson() {
    auto r = run({"peers", "list", "--json"});
    EXPECT_EQ(r.status, 0) << r.err;
    return json::parse(r.out);
  }
  /// A refusal: status 2, nothing on standard output, a message holding what.
  void expectRefused(const std::vector<std::string>& args, const std::string& what) {
    auto r = run(args);
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }

  TempFolder m_folder{"fieldsync-cli-peers-"};
  fs::path m_dir = m_folder.path();
  fs::path m_home = m_dir / "goma";
  fs::path m_other = m_dir / "nairobi";
  std::string m_otherKey;
};

TEST_F(Peers, AnAddedPeerIsListedNeverSynced) {
  auto added = run({"peers", "add", "nairobi", "tcp://192.0.2.7:7200", m_otherKey});
  ASSERT_EQ(added.status, 0) << added.err;
  EXPECT_NE(added.out.find("Added peer nairobi"), std::string::npos) << added.out;

  auto list = run({"peers", "list"});
  ASSERT_EQ(list.status, 0) << list.err;
  EXPECT_EQ(list.out, "nairobi  tcp://192.0.2.7:7200  " + m_otherKey +
                          "\n  every 5m, back-off up to 1h; no rate cap; no daily budget"
                          "\n  never synced\n");

  auto j = listJson();
  ASSERT_EQ(j["peers"].size(), 1u);
  const auto& peer = j["peers"][0];
  EXPECT_EQ(peer["name"], "nairobi");
  EXPECT_EQ(peer["address"], "tcp://192.0.2.7:7200");
  EXPECT_EQ(peer["key"], m_otherKey);
  EXPECT_EQ(peer["neverSynced"], true);
  for (const char* field :
       {"lastSuccess", "lastAttempt", "lastError", "lastErrorAt", "nextAttempt", "inStepAt"})
    EXPECT_TRUE(peer[field].is_null()) << field;
  for (const char* field : {"inStepSeq", "objectsIn", "objectsOut", "bytesIn", "bytesOut",
                            "roundTrips", "failures", "rate", "dailyBudget", "usedToday"})
    EXPECT_EQ(peer[field], 0) << field;
  // The default settings; no budget, so nothing is "left": unlimited.
  EXPECT_EQ(peer["interval"], 300);
  EXPECT_EQ(peer["maxBackoff"], 3600);
  EXPECT_TRUE(peer["leftToday"].is_null());
  EXPECT_TRUE(j["pausedUntil"].is_null());
}

TEST_F(Peers, AnEmptyListSaysHowToAddOne) {
  auto list = run({"peers", "list"});
  EXPECT_EQ(list.status, 0);
  EXPECT_NE(list.out.find("fieldsync peers add"), std::string::npos) << list.out;
  EXPECT_EQ(listJson(), json::parse(R"({"pausedUntil": null, "peers": []})"));
}

TEST_F(Peers, BadInputIsRefusedWithStatus2AndNothingChanges) {
  expectRefused({"peers", "add", "nairobi hub", "tcp://192.0.2.7:7200", m_otherKey},
                "not a peer name");
  expectRefused({"peers", "add", std::string(65, 'n'), "tcp://192.0.2.7:7200", m_otherKey},
                "1 to 64");
  expectRefused({"peers", "add", "nairobi", "192.0.2.7:7200", m_otherKey}, "not a peer address");
  expectRefused({"peers", "add", "nairobi", "tcp://192.0.2.7:70000", m_otherKey},
                "tcp://HOST:PORT");
  expectRefused({"peers", "add", "nairobi", "tcp://192.0.2.7:7200", m_otherKey.substr(1)},
                "not a public key");
  expectRefused({"peers", "add", "nairobi", "tcp://192.0.2.7:7200", std::string(64, 'f')},
                "not a usable public key");
  auto self = run({"id"});
  expectRefused({"peers", "add", "me", "tcp://192.0.2.7:7200", self.out.substr(0, 64)},
                "this node's own key");
  expectRefused({"peers", "remove", "nairobi"}, "no peer named \"nairobi\"");
  EXPECT_TRUE(listJson()["peers"].empty());
}

TEST_F(Peers, APeerReachedOnlyByStickIsAddedWithoutAnAddressAndMayGetOneLater) {
  auto added = run({"peers", "add", "nairobi", "--key", m_otherKey});
  ASSERT_EQ(added.status, 0) << added.err;
  EXPECT_NE(added.out.find("Added peer nairobi, reached only by stick (no address)"),
            std::string::npos)
      << added.out;
  auto list = run({"peers", "list"});
  EXPECT_EQ(list.out.substr(0, list.out.find('\n')), "nairobi  (stick only)  " + m_otherKey);
  auto peer = listJson()["peers"][0];
  EXPECT_TRUE(peer["address"].is_null());
  EXPECT_EQ(peer["stickOnly"], true);
  EXPECT_TRUE(peer["stickAt"].is_null());
  auto status = run({"status"});
  EXPECT_NE(status.out.find("peer nairobi (stick only): never synced"), std::string::npos)
      << status.out;
  // Nothing to dial: sync says how such a peer is reached.
  expectRefused({"sync", "nairobi"}, "peer nairobi has no address: it is reached only by stick");

  auto set = run({"peers", "set", "nairobi", "--address", "tcp://192.0.2.7:7200"});
  ASSERT_EQ(set.status, 0) << set.err;
  EXPECT_EQ(set.out.substr(0, set.out.find(';')), "Set peer nairobi: address tcp://192.0.2.7:7200");
  EXPECT_EQ(listJson()["peers"][0]["address"], "tcp://192.0.2.7:7200");
  expectRefused({"peers", "set", "nairobi", "--address", "tcp://192.0.2.7"}, "not a peer address");
  expectRefused({"peers", "set", "nairobi", "--address", "tcp://192.0.2.7:1", "--no-address"},
                "give one");
  ASSERT_EQ(run({"peers", "set", "nairobi", "--no-address"}).status, 0);
  EXPECT_EQ(listJson()["peers"][0]["stickOnly"], true);
  ASSERT_EQ(run({"peers", "remove", "nairobi"}).status, 0);

  // The key alone as an argument, or the address and key by name, in any order.
  ASSERT_EQ(run({"peers", "add", "nairobi", m_otherKey}).status, 0);
  EXPECT_TRUE(listJson()["peers"][0]["address"].is_null());
  ASSERT_EQ(run({"peers", "remove", "nairobi"}).status, 0);
  ASSERT_EQ(
      run({"peers", "add", "nairobi", "--address", "tcp://192.0.2.7:7200", "--key", m_otherKey})
          .status,
      0);
  EXPECT_EQ(listJson()["peers"][0]["address"], "tcp://192.0.2.7:7200");
  ASSERT_EQ(run({"peers", "remove", "nairobi"}).status, 0);

  expectRefused({"peers", "add", "nairobi"}, "needs its public key");
  expectRefused({"peers", "add", "nairobi", "tcp://192.0.2.7:7200"}, "needs its public key");
  expectRefused({"peers", "add", "nairobi", m_otherKey, "--key", m_otherKey}, "given twice");
  expectRefused({"peers", "add", "nairobi", "--address", "", "--key", m_otherKey}, "--address");
  EXPECT_TRUE(listJson()["peers"].empty());
}

TEST_F(Peers, ANameOrAKeyAlreadyListedIsRefused) {
  ASSERT_EQ(run({"peers", "add", "nairobi", "tcp://192.0.2.7:7200", m_otherKey}).status, 0);
  expectRefused({"peers", "add", "nairobi-2", "tcp://192.0.2.8:7200", m_otherKey},
                "already listed as peer \"nairobi\"");

  TempFolder third{"fieldsync-cli-peers-third-"};
  ASSERT_EQ(runFieldsync(third.path() / "home", {"init"}, m_dir).status, 0);
  const auto thirdKey = runFieldsync(third.path() / "home", {"id"}, m_dir).out.substr(0, 64);
  expectRefused({"peers", "add", "nairobi", "tcp://192.0.2.9:7200", thirdKey},
                "already a peer named \"nairobi\"");

  auto peers = listJson()["peers"];
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0]["address"], "tcp://192.0.2.7:7200");
}

TEST_F(Peers, ARemovedPeerIsGone) {
  ASSERT_EQ(run({"peers", "add", "nairobi", "tcp://nairobi.example.org:7200", m_otherKey}).status,
            0);
  auto removed = run({"peers", "remove", "nairobi"});
  ASSERT_EQ(removed.status, 0) << removed.err;
  EXPECT_NE(removed.out.find("Removed peer nairobi"), std::string::npos) << removed.out;
  EXPECT_TRUE(listJson()["peers"].empty());
  // Its key may be listed again, under any name.
  EXPECT_EQ(run({"peers", "add", "hub", "tcp://[2001:db8::7]:7200", m_otherKey}).status, 0);
}

TEST_F(Peers, APeerNeverRefusedShowsNoRefusalAndForgivingItChangesNothingElse) {
  ASSERT_EQ(run({"peers", "add", "nairobi", "tcp://nairobi.example.org:7200", m_otherKey,
                 "--interval", "10m"})
                .status,
            0);
  auto peer = listJson()["peers"][0];
  EXPECT_TRUE(peer["refusedUntil"].is_null());
  EXPECT_TRUE(peer["refusedReason"].is_null());
  EXPECT_EQ(peer["refusals"], 0);
  EXPECT_EQ(run({"peers", "list"}).out.find("refused"), std::string::npos);
  auto status = run({"status", "--json"});
  ASSERT_EQ(status.status, 0) << status.err;
  EXPECT_TRUE(json::parse(status.out)["peers"][0]["refusedUntil"].is_null());

  auto forgiven = run({"peers", "forgive", "nairobi"});
  ASSERT_EQ(forgiven.status, 0) << forgiven.err;
  EXPECT_EQ(forgiven.out.rfind("Forgave peer nairobi: it is admitted and dialed again", 0), 0u)
      << forgiven.out;
  EXPECT_EQ(listJson()["peers"][0]["interval"], 600);
  expectRefused({"peers", "forgive", "bunia"}, "there is no peer named \"bunia\"");
}

// --- Settings ---

TEST_F(Peers, SettingsGivenOnAddAreListed) {
  auto added = run({"peers", "add", "nairobi", "tcp://192.0.2.7:7200", m_otherKey, "--interval",
                    "10m", "--rate", "64k", "--daily-budget", "5M"});
  ASSERT_EQ(added.status, 0) << added.err;
  EXPECT_NE(added.out.find("every 10m, back-off up to 1h; rate 64k bytes/s each way; daily "
                           "budget 5M bytes (0 used today, 5000000 left)"),
            std::string::npos)
      << added.out;
  auto peer = listJson()["peers"][0];
  EXPECT_EQ(peer["interval"], 600);
  EXPECT_EQ(peer["maxBackoff"], 3600);
  EXPECT_EQ(peer["rate"], 64000);
  EXPECT_EQ(peer["dailyBudget"], 5000000);
  EXPECT_EQ(peer["usedToday"], 0);
  EXPECT_EQ(peer["leftToday"], 5000000);
}

TEST_F(Peers, SetChangesOnlyTheSettingsGiven) {
  ASSERT_EQ(
      run({"peers", "add", "nairobi", "tcp://192.0.2.7:7200", m_otherKey, "--rate", "8000"}).status,
      0);
  auto set = run({"peers", "set", "nairobi", "--max-backoff", "6h", "--daily-budget", "1G"});
  ASSERT_EQ(set.status, 0) << set.err;
  EXPECT_EQ(set.out,
            "Set peer nairobi: every 5m, back-off up to 6h; rate 8k bytes/s each way; daily "
            "budget 1G bytes (0 used today, 1000000000 left)\n");
  auto peer = listJson()["peers"][0];
  EXPECT_EQ(peer["interval"], 300);
  EXPECT_EQ(peer["maxBackoff"], 6 * 3600);
  EXPECT_EQ(peer["rate"], 8000);
  EXPECT_EQ(peer["dailyBudget"], 1000000000);
  EXPECT_EQ(peer["address"], "tcp://192.0.2.7:7200");

  // 0 and "unlimited" lift a cap.
  ASSERT_EQ(run({"peers", "set", "nairobi", "--rate", "0", "--daily-budget", "unlimited"}).status,
            0);
  peer = listJson()["peers"][0];
  EXPECT_EQ(peer["rate"], 0);
  EXPECT_EQ(peer["dailyBudget"], 0);
  EXPECT_TRUE(peer["leftToday"].is_null());
  auto list = run({"peers", "list"});
  EXPECT_NE(list.out.find("  every 5m, back-off up to 6h; no rate cap; no daily budget\n"),
            std::string::npos)
      << list.out;
}

TEST_F(Peers, DurationsAndSizesReadAsDocumented) {
  ASSERT_EQ(run({"peers", "add", "nairobi", "tcp://192.0.2.7:7200", m_otherKey}).status, 0);
  const std::vector<std::pair<std::string, int>> durations{
      {"30s", 30},   {"90", 90},      {"10m", 600},        {"2h", 7200},
      {"1d", 86400}, {"1h30m", 5400}, {"1d2h3m4s", 93784}, {"30d", 30 * 86400}};
  for (const auto& [text, seconds] : durations) {
    auto r = run({"peers", "set", "nairobi", "--interval", text});
    ASSERT_EQ(r.status, 0) << text << ": " << r.err;
    EXPECT_EQ(listJson()["peers"][0]["interval"], seconds) << text;
  }
  const std::vector<std::pair<std::string, std::uint64_t>> sizes{
      {"8000", 8000},  {"64k", 64000},   {"64K", 64000},     {"64kB", 64000},
      {"5M", 5000000}, {"5MB", 5000000}, {"1G", 1000000000}, {"1500k", 1500000}};
  for (const auto& [text, bytes] : sizes) {
    auto r = run({"peers", "set", "nairobi", "--rate", text, "--daily-budget", text});
    ASSERT_EQ(r.status, 0) << text << ": " << r.err;
    auto peer = listJson()["peers"][0];
    EXPECT_EQ(peer["rate"], bytes) << text;
    EXPECT_EQ(peer["dailyBudget"], bytes) << text;
  }
  EXPECT_EQ(run({"peers", "set", "nairobi", "--daily-budget", "2T"}).status, 0);
  EXPECT_EQ(listJson()["peers"][0]["dailyBudget"], 2000000000000u);
}

TEST_F(Peers, BadSettingsAreRefusedWithStatus2AndNothingChanges) {
  ASSERT_EQ(run({"peers", "add", "nairobi", "tcp://192.0.2.7:7200", m_otherKey}).status, 0);
  const auto before = listJson();
  expectRefused({"peers", "set", "nairobi", "--interval", "10x"}, "--interval: not a duration");
  expectRefused({"peers", "set", "nairobi", "--interval", "m"}, "not a duration");
  expectRefused({"peers", "set", "nairobi", "--interval", "30m1h"}, "not a duration");
  expectRefused({"peers", "set", "nairobi", "--interval", "0s"}, "out of range (1s to 30d)");
  expectRefused({"peers", "set", "nairobi", "--max-backoff", "31d"},
                "--max-backoff: 31d is out of range");
  expectRefused({"peers", "set", "nairobi", "--rate", "5m"}, "--rate: not a number of bytes");
  expectRefused({"peers", "set", "nairobi", "--rate", "1.5M"}, "not a number of bytes");
  expectRefused({"peers", "set", "nairobi", "--rate", "2G"}, "out of range (at most 1G");
  expectRefused({"peers", "set", "nairobi", "--daily-budget", "99999999999999999999"},
                "--daily-budget: not a number of bytes");
  expectRefused({"peers", "set", "nairobi", "--daily-budget", "2000T"}, "out of range");
  // A good value with a bad one: nothing of either is stored.
  expectRefused({"peers", "set", "nairobi", "--interval", "1h", "--rate", "fast"}, "--rate");
  expectRefused({"peers", "set", "nairobi"}, "nothing to set");
  expectRefused({"peers", "set", "bukavu", "--interval", "1h"}, "no peer named \"bukavu\"");
  EXPECT_EQ(listJson(), before);

  TempFolder third{"fieldsync-cli-peers-third-"};
  ASSERT_EQ(runFieldsync(third.path() / "home", {"init"}, m_dir).status, 0);
  const auto thirdKey = runFieldsync(third.path() / "home", {"id"}, m_dir).out.substr(0, 64);
  expectRefused({"peers", "add", "bukavu", "tcp://192.0.2.9:7200", thirdKey, "--interval", "0"},
                "--interval: 0 is out of range");
  EXPECT_EQ(listJson()["peers"].size(), 1u);
}

// --- pause and resume ---

/// "2026-11-24T16:00:00Z" for unix time t, as the command prints times.
std::string isoUtc(std::time_t t) {
  std::tm parts{};
  gmtime_r(&t, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

TEST_F(Peers, PauseWithoutAnEndLastsUntilResume) {
  auto paused = run({"pause"});
  ASSERT_EQ(paused.status, 0) << paused.err;
  EXPECT_EQ(paused.out, "Paused all traffic with peers until `fieldsync resume`\n");
  EXPECT_EQ(listJson()["pausedUntil"], "indefinitely");
  EXPECT_EQ(run({"peers", "list"}).out.rfind("All traffic is paused until `fieldsync resume`\n", 0),
            0u);

  auto resumed = run({"resume"});
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_EQ(resumed.out, "Resumed traffic with peers (it was paused until `fieldsync resume`)\n");
  EXPECT_TRUE(listJson()["pausedUntil"].is_null());

  auto again = run({"resume"});
  EXPECT_EQ(again.status, 0);
  EXPECT_EQ(again.out, "Traffic with peers was not paused; nothing changed\n");
}

TEST_F(Peers, ATimedPauseSaysUntilWhenAndTheLatestPauseWins) {
  ASSERT_EQ(run({"pause"}).status, 0);
  const std::time_t before = std::time(nullptr);
  auto paused = run({"pause", "--for", "2h"});
  const std::time_t after = std::time(nullptr);
  ASSERT_EQ(paused.status, 0) << paused.err;
  const std::string until = listJson()["pausedUntil"];
  EXPECT_GE(until, isoUtc(before + 7200));
  EXPECT_LE(until, isoUtc(after + 7200));
  EXPECT_EQ(paused.out, "Paused all traffic with peers until " + until +
                            " (for 2h); it resumes by itself then, or sooner with `fieldsync "
                            "resume`\n");
  auto resumed = run({"resume"});
  EXPECT_EQ(resumed.out, "Resumed traffic with peers (it was paused until " + until + ")\n");
}

TEST_F(Peers, ATimedPauseEndsByItself) {
  ASSERT_EQ(run({"pause", "--for", "1s"}).status, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE(listJson()["pausedUntil"].is_null());
  EXPECT_EQ(run({"resume"}).out, "Traffic with peers was not paused; nothing changed\n");
}

TEST_F(Peers, BadPauseDurationsAreRefused) {
  expectRefused({"pause", "--for", "soon"}, "--for: not a duration: \"soon\"");
  expectRefused({"pause", "--for", "0s"}, "out of range (1s to 365d");
  expectRefused({"pause", "--for", "366d"}, "out of range");
  EXPECT_TRUE(listJson()["pausedUntil"].is_null());
}

}  // namespace
