#pragma once
// What the crash and full-disk tests share: the real fieldsync binary run in the background
// (killed with SIGKILL at a chosen moment), nodes in temp folders, generated clippings, the
// archive's ids, and a library sync client that learns which objects the server acknowledged
// (node::SessionOptions::onAcknowledged), so a test can check that every acknowledged object
// survived whatever happened to the server.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/background.h"
#include "cli/cli_fixture.h"
#include "node/client.h"
#include "store/home.h"

namespace fieldsync::clitest {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// The seed of a randomised test: FIELDSYNC_SEED when set, else a fresh one; printed so a
/// failing run can be replayed.
inline std::uint64_t testSeed() {
  std::uint64_t seed = std::random_device{}();
  if (const char* fixed = std::getenv("FIELDSYNC_SEED"); fixed && *fixed) {
    seed = std::stoull(fixed);
  }
  std::cout << "FIELDSYNC_SEED=" << seed << std::endl;
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

/// n clippings of about 1.6 KB as JSON lines, titled "LABEL clipping I".
inline std::string generatedClippings(const std::string& label, int n, int first = 0) {
  std::string text;
  const std::string body(1500, 'x');
  for (int i = first; i < first + n; ++i) {
    text += json{{"title", label + " clipping " + std::to_string(i)},
                 {"source", "Generated wire"},
                 {"published", "2013-01-11"},
                 {"tags", {"region:" + label}},
                 {"body", "Report " + std::to_string(i) + " from " + label + ". " + body}}
                .dump() +
            "\n";
  }
  return text;
}

class CrashFixture : public ::testing::Test {
 protected:
  Result run(const fs::path& home, const std::vector<std::string>& args) {
    return runFieldsync(home, args, m_dir);
  }
  Result run(const Node& node, const std::vector<std::string>& args) {
    return run(node.home, args);
  }
  /// A new node at home that trusts its own key (and those of trusted), so `verify --all`
  /// exits 0 when every object is valid.
  Node makeNode(const std::string& name, const fs::path& home,
                const std::vector<std::string>& trusted = {}) {
    Node node{name, home, ""};
    EXPECT_EQ(run(node, {"init", "--name", name}).status, 0);
    node.key = run(node, {"id"}).out.substr(0, 64);
    for (const auto& key : trusted) trust(node, key);
    trust(node, node.key);
    return node;
  }
  void trust(const Node& node, const std::string& key) {
    auto r = run(node, {"keys", "trust", key, "--role", "field"});
    EXPECT_EQ(r.status, 0) << r.err;
  }
  /// id -> title of every object in the archive at home.
  std::map<std::string, std::string> objects(const fs::path& home) {
    auto r = run(home, {"list", "--json"});
    EXPECT_EQ(r.status, 0) << r.err;
    std::map<std::string, std::string> out;
    if (r.status != 0) return out;
    const auto j = json::parse(r.out);
    for (const auto& o : j["objects"]) {
      out[o["id"].get<std::string>()] = o.value("title", std::string());
    }
    EXPECT_EQ(out.size(), j["count"].get<std::size_t>());
    return out;
  }
  std::set<std::string> ids(const fs::path& home) {
    std::set<std::string> out;
    for (const auto& [id, title] : objects(home)) out.insert(id);
    return out;
  }
  /// `verify --all`: 0 when every object is valid and trusted.
  int verifyAll(const fs::path& home, std::string* output = nullptr) {
    auto r = run(home, {"verify", "--all"});
    if (output) *output = r.out + r.err;
    return r.status;
  }
  /// fieldsync --home home args... in the background; output in the test folder.
  std::unique_ptr<Background> spawn(const fs::path& home, const std::vector<std::string>& args) {
    return std::make_unique<Background>(fieldsyncCommand(home, args),
                                        m_dir / ("spawned-" + std::to_string(m_spawned++)));
  }
  /// `serve` on node at address (a free loopback port unless given).
  std::unique_ptr<Background> serve(const Node& node, std::string* address,
                                    std::optional<int> port = std::nullopt) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      const int chosen = port ? *port : freePort();
      *address = "tcp://127.0.0.1:" + std::to_string(chosen);
      auto server = spawn(node.home, {"serve", "--no-beacon", "--no-dial", "--listen", *address});
      if (server->waitForOutput("serving", 20s)) return server;
      std::cerr << "serve on " << *address << " did not start: " << server->err();
      std::this_thread::sleep_for(200ms);  // the same port again: it may still be held
    }
    ADD_FAILURE() << "no server started";
    return nullptr;
  }

  /// A sync run by the library client in this process, with what the server acknowledged.
  struct Acked {
    node::ClientReport report;
    std::vector<std::string> ids;  // in the order acknowledged
  };
  /// batchObjects: the client's batches (small ones give many acknowledgements to cut between).
  static Acked syncRecordingAcks(store::Home& home, const std::string& address,
                                 const std::string& serverKey, std::size_t batchObjects = 1024) {
    Acked acked;
    std::mutex mutex;
    node::SyncOptions options;
    options.session.batchObjects = batchObjects;
    options.connectTimeout = 5s;
    options.idleTimeout = 10s;
    options.session.onAcknowledged = [&](const std::vector<protocol::ObjectId>& batch) {
      std::lock_guard lock(mutex);
      for (const auto& id : batch) acked.ids.push_back(id.hex());
    };
    const auto identity = home.loadSecretKey(std::nullopt);
    if (!identity) throw std::runtime_error("the client's key does not load");
    auto key = protocol::PublicKey::fromHex(serverKey);
    if (!key) throw std::runtime_error("bad server key");
    acked.report =
        node::syncOnce(home.archive(), identity.value(), address, *key, "server", options);
    return acked;
  }

  TempFolder m_folder{"fieldsync-crash-"};
  fs::path m_dir = m_folder.path();
  int m_spawned = 0;
};

}  // namespace fieldsync::clitest
