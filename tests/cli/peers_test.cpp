// fieldsync peers, run as a user runs it: two real nodes, each knowing the other's key from
// `fieldsync id`.
#include <gtest/gtest.h>

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
  EXPECT_EQ(list.out, "nairobi  tcp://192.0.2.7:7200  " + m_otherKey + "\n  never synced\n");

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
  for (const char* field :
       {"inStepSeq", "objectsIn", "objectsOut", "bytesIn", "bytesOut", "roundTrips"})
    EXPECT_EQ(peer[field], 0) << field;
}

TEST_F(Peers, AnEmptyListSaysHowToAddOne) {
  auto list = run({"peers", "list"});
  EXPECT_EQ(list.status, 0);
  EXPECT_NE(list.out.find("fieldsync peers add"), std::string::npos) << list.out;
  EXPECT_EQ(listJson(), json::parse(R"({"peers": []})"));
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

}  // namespace
