// fieldsync serve and sync, run as a user runs them: real nodes in temp folders, `serve` a
// child process on a free loopback port, stopped with a signal, `sync` with its real output
// and exit status. Waits have generous deadlines; nothing here checks how long a thing took.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "cli/background.h"
#include "cli/cli_fixture.h"
#include "protocol/bundle.h"
#include "protocol/object.h"
#include "protocol/text.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace fieldsync::clitest;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const fs::path FIXTURE = fs::path(FIELDSYNC_FIXTURES_DIR) / "icrtop-listserv-2013-01-11.txt";
constexpr auto START_WAIT = 20s;  // a server normally logs "serving" within milliseconds
constexpr auto EXIT_WAIT = 30s;   // a process asked to stop normally ends within a second

class Sync : public NodesTest {
 protected:
  Sync() : NodesTest("fieldsync-cli-sync-") {}

  /// Lists peer on node under peer's name, at address (where it serves, if it does).
  void listPeer(const Node& node, const Node& peer,
                const std::string& address = "tcp://192.0.2.1:7420") {
    auto r = run(node, {"peers", "add", peer.name, address, peer.key});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  /// n clippings of a few kilobytes each, written as JSON lines and imported on node.
  void importGenerated(const Node& node, int n, const std::string& label) {
    std::string text;
    const std::string body(1500, 'x');
    for (int i = 0; i < n; ++i) {
      text += json{{"title", label + " clipping " + std::to_string(i)},
                   {"source", "Generated wire"},
                   {"published", "2013-01-11"},
                   {"tags", {"region:" + label}},
                   {"body", "Report " + std::to_string(i) + " from " + label + ". " + body}}
                  .dump() +
              "\n";
    }
    const auto file = m_dir / (label + ".jsonl");
    spit(file, text);
    auto r = run(node, {"import", file.string(), "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(json::parse(r.out)["stored"], n);
  }
  std::set<std::string> ids(const Node& node) {
    std::set<std::string> out;
    const auto listed = runJson(node, {"list", "--json"});
    for (const auto& object : listed["objects"]) out.insert(object["id"].get<std::string>());
    return out;
  }
  std::size_t count(const Node& node) {
    return runJson(node, {"list", "--json"})["count"].get<std::size_t>();
  }
  /// verify --all --json: every object valid; those another node signed are untrusted here
  /// (no node trusts another's key, nor its own, without `keys trust`), so the status is 3.
  void expectAllValid(const Node& node, std::size_t objects) {
    auto r = run(node, {"verify", "--all", "--json"});
    EXPECT_EQ(r.status, 3) << r.out << r.err;
    const auto j = json::parse(r.out);
    EXPECT_EQ(j["checked"], objects);
    EXPECT_EQ(j["invalid"], 0);
    EXPECT_EQ(j["untrusted"], objects);
  }

  /// `serve` on node, on a free loopback port; started again on another when one is taken.
  std::unique_ptr<Background> serve(const Node& node, std::string* address,
                                    std::optional<int> port = std::nullopt) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      const int chosen = port ? *port : freePort();
      *address = "tcp://127.0.0.1:" + std::to_string(chosen);
      auto server = std::make_unique<Background>(
          fieldsyncCommand(node.home, {"serve", "--no-beacon", "--no-dial", "--listen", *address}),
          m_dir / (node.name + "-serve-" + std::to_string(m_logs++)));
      if (server->waitForOutput("serving", START_WAIT)) return server;
      std::cerr << "serve on " << *address << " did not start: " << server->log();
      if (!port) continue;
      std::this_thread::sleep_for(200ms);  // the same port again: it may still be held
    }
    ADD_FAILURE() << "no server started";
    return nullptr;
  }
  /// Stops a server with sig; expects exit 0 and the log lines of a clean stop.
  std::string stop(Background& server, int sig = SIGTERM) {
    server.signal(sig);
    const auto status = server.waitExit(EXIT_WAIT);
    const auto log = server.log();
    EXPECT_EQ(status, 0) << log;
    EXPECT_NE(log.find(sig == SIGINT ? "stopping on SIGINT" : "stopping on SIGTERM"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find(" stopped\n"), std::string::npos) << log;
    return log;
  }
};

TEST_F(Sync, TwoNodesEndWithTheUnionAndSayWhatMoved) {
  auto goma = makeNode("goma"), nairobi = makeNode("nairobi");
  ASSERT_EQ(run(goma, {"import", FIXTURE.string()}).status, 0);
  for (const char* title : {"Floods in Uvira", "Rains in Bukavu", "Market day in Goma"}) {
    auto r = run(nairobi, {"add", "--title", title, "--source", "Radio Okapi", "-"},
                 std::string("Body of ") + title);
    ASSERT_EQ(r.status, 0) << r.err;
  }
  std::set<std::string> all = ids(goma);
  for (const auto& id : ids(nairobi)) all.insert(id);
  ASSERT_EQ(all.size(), 15u);

  listPeer(goma, nairobi);
  std::string address;
  auto server = serve(goma, &address);
  ASSERT_TRUE(server);
  listPeer(nairobi, goma, address);

  auto r = run(nairobi, {"sync", "goma"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("peer goma: in 12 objects ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("out 3 objects ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" round trip"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("in step"), std::string::npos) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;

  EXPECT_EQ(ids(goma), all);
  EXPECT_EQ(ids(nairobi), all);
  expectAllValid(goma, 15);
  expectAllValid(nairobi, 15);
  // Trusting each other's keys (and their own) makes every object valid and trusted.
  for (const auto* node : {&goma, &nairobi}) {
    for (const auto* key : {&goma, &nairobi}) {
      ASSERT_EQ(run(*node, {"keys", "trust", key->key, "--role", "field"}).status, 0);
    }
    EXPECT_EQ(run(*node, {"verify", "--all"}).status, 0);
  }

  // The peer state on both sides.
  const auto peer = runJson(nairobi, {"peers", "list", "--json"})["peers"][0];
  EXPECT_EQ(peer["objectsIn"], 12);
  EXPECT_EQ(peer["objectsOut"], 3);
  EXPECT_EQ(peer["neverSynced"], false);
  EXPECT_FALSE(peer["inStepAt"].is_null());

  const auto log = stop(*server);
  EXPECT_NE(log.find("serving " + goma.home.string() + " on " + address + " as " + goma.key),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("peer nairobi: in 3 objects ("), std::string::npos) << log;
  EXPECT_NE(log.find("out 12 objects ("), std::string::npos) << log;
  const auto served = runJson(goma, {"peers", "list", "--json"})["peers"][0];
  EXPECT_EQ(served["objectsIn"], 3);
  EXPECT_EQ(served["objectsOut"], 12);
}

TEST_F(Sync, JsonSaysWhatMovedAndASecondSyncMovesNothingInOneRoundTrip) {
  auto goma = makeNode("goma"), nairobi = makeNode("nairobi");
  ASSERT_EQ(run(goma, {"import", FIXTURE.string()}).status, 0);
  ASSERT_EQ(run(nairobi, {"add", "--title", "Floods in Uvira", "--source", "Radio Okapi"}).status,
            0);
  listPeer(goma, nairobi);
  std::string address;
  auto server = serve(goma, &address);
  ASSERT_TRUE(server);
  listPeer(nairobi, goma, address);

  auto first = run(nairobi, {"sync", "goma", "--json"});
  ASSERT_EQ(first.status, 0) << first.err;
  const auto j = json::parse(first.out);
  for (const char* field :
       {"peer", "address", "key", "ok", "inStep", "objectsIn", "objectsOut", "duplicatesIn",
        "bytesIn", "bytesOut", "roundTrips", "seconds", "error"}) {
    EXPECT_TRUE(j.contains(field)) << field << " in " << j;
  }
  EXPECT_EQ(j.size(), 13u) << j;
  EXPECT_EQ(j["peer"], "goma");
  EXPECT_EQ(j["address"], address);
  EXPECT_EQ(j["key"], goma.key);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["inStep"], true);
  EXPECT_EQ(j["objectsIn"], 12);
  EXPECT_EQ(j["objectsOut"], 1);
  EXPECT_EQ(j["duplicatesIn"], 0);
  EXPECT_GT(j["bytesIn"].get<std::uint64_t>(), j["bytesOut"].get<std::uint64_t>());
  EXPECT_GE(j["roundTrips"].get<int>(), 1);
  EXPECT_TRUE(j["seconds"].is_number());
  EXPECT_TRUE(j["error"].is_null());

  // Equal archives: one round trip, nothing moved. By address and --key this time.
  auto second = run(nairobi, {"sync", address, "--key", goma.key, "--json"});
  ASSERT_EQ(second.status, 0) << second.err;
  const auto k = json::parse(second.out);
  EXPECT_EQ(k["peer"], "goma");  // the key is listed under that name
  EXPECT_EQ(k["objectsIn"], 0);
  EXPECT_EQ(k["objectsOut"], 0);
  EXPECT_EQ(k["roundTrips"], 1);
  EXPECT_EQ(k["inStep"], true);
  EXPECT_LT(k["bytesIn"].get<std::uint64_t>() + k["bytesOut"].get<std::uint64_t>(), 1024u) << k;
  EXPECT_EQ(ids(goma), ids(nairobi));
  stop(*server);
}

TEST_F(Sync, OnATerminalSyncDrawsAProgressLineAndErasesItBeforeTheResult) {
  auto goma = makeNode("goma"), nairobi = makeNode("nairobi");
  importGenerated(goma, 300, "goma");
  listPeer(goma, nairobi);
  std::string address;
  auto server = serve(goma, &address);
  ASSERT_TRUE(server);
  listPeer(nairobi, goma, address);

  const auto r = runOnTerminal({"--home", nairobi.home.string(), "sync", "goma"});
  ASSERT_EQ(r.status, 0) << r.output;
  const auto bar = r.output.find("receiving");
  ASSERT_NE(bar, std::string::npos) << r.output;
  const auto erased = r.output.rfind("\r\x1b[K");
  ASSERT_NE(erased, std::string::npos) << r.output;
  EXPECT_GT(r.output.find("peer goma: in 300 objects"), erased) << r.output;
  EXPECT_EQ(count(nairobi), 300u);

  // --quiet: the result alone.
  importGenerated(goma, 5, "more");
  const auto quiet = runOnTerminal({"--home", nairobi.home.string(), "--quiet", "sync", "goma"});
  ASSERT_EQ(quiet.status, 0) << quiet.output;
  EXPECT_EQ(quiet.output.find("receiving"), std::string::npos) << quiet.output;
  EXPECT_NE(quiet.output.find("peer goma: in 5 objects"), std::string::npos) << quiet.output;
  stop(*server);
}

TEST_F(Sync, AChainOfThreeConvergesThroughTheMiddleNode) {
  auto goma = makeNode("goma"), hub = makeNode("hub"), bamako = makeNode("bamako");
  ASSERT_EQ(run(goma, {"import", FIXTURE.string()}).status, 0);
  ASSERT_EQ(run(hub, {"add", "--title", "Hub notes", "--source", "Hub"}).status, 0);
  ASSERT_EQ(run(bamako, {"add", "--title", "Elections in Mali", "--source", "Radio Mali"}).status,
            0);
  listPeer(hub, goma);
  listPeer(hub, bamako);
  std::string address;
  auto server = serve(hub, &address);
  ASSERT_TRUE(server);
  listPeer(goma, hub, address);
  listPeer(bamako, hub, address);

  // goma and bamako never list or reach each other.
  ASSERT_EQ(run(goma, {"sync", "hub"}).status, 0);
  ASSERT_EQ(run(bamako, {"sync", "hub"}).status, 0);
  auto last = run(goma, {"sync", "hub", "--json"});
  ASSERT_EQ(last.status, 0) << last.err;
  EXPECT_EQ(json::parse(last.out)["objectsIn"], 1);  // bamako's, through the hub

  EXPECT_EQ(count(goma), 14u);
  EXPECT_EQ(ids(goma), ids(hub));
  EXPECT_EQ(ids(bamako), ids(hub));
  stop(*server);
}

// The server is killed (SIGKILL) a random moment into a sync, several times; before each
// sync both nodes import clippings the other lacks, so there is a transfer to cut each time.
// The server is started again at once. Then one more sync completes: both sides hold the
// union, no object lost or stored twice, every object valid. FIELDSYNC_TEST_SEED=N replays
// the kill times of a run.
TEST_F(Sync, AServerKilledMidTransferLosesNothingAndTheNextSyncCompletes) {
  std::uint64_t seed = std::random_device{}();
  if (const char* fixed = std::getenv("FIELDSYNC_TEST_SEED")) seed = std::stoull(fixed);
  std::cout << "FIELDSYNC_TEST_SEED=" << seed << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 random(seed);

  auto goma = makeNode("goma"), nairobi = makeNode("nairobi");
  ASSERT_EQ(run(nairobi, {"import", FIXTURE.string()}).status, 0);
  listPeer(goma, nairobi);
  std::string address;
  auto server = serve(goma, &address);
  ASSERT_TRUE(server);
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  listPeer(nairobi, goma, address);

  constexpr int ROUNDS = 3, EACH = 1000;
  int cut = 0;
  for (int round = 0; round < ROUNDS; ++round) {
    importGenerated(goma, EACH, "goma" + std::to_string(round));
    importGenerated(nairobi, EACH, "nairobi" + std::to_string(round));
    const auto delay =
        std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 250)(random));
    Background client(fieldsyncCommand(nairobi.home, {"sync", "goma", "--json"}),
                      m_dir / ("sync-" + std::to_string(round)));
    std::this_thread::sleep_for(delay);
    server->signal(SIGKILL);
    EXPECT_EQ(server->waitExit(EXIT_WAIT), -SIGKILL);
    server = serve(goma, &address, port);  // a client still connecting gets this one
    ASSERT_TRUE(server);
    // The client ends by itself: done before the kill or with the new server (0), or the
    // link cut under it (4).
    const auto status = client.waitExit(EXIT_WAIT);
    ASSERT_TRUE(status) << "sync still running after the server died: "
                        << client.out() + client.err();
    EXPECT_TRUE(*status == 0 || *status == 4) << *status << ": " << client.out() + client.err();
    if (*status == 4) ++cut;
    std::cout << "round " << round << ": server killed after " << delay.count() << " ms, sync exit "
              << *status << ": " << client.out() + client.err();
  }
  std::cout << cut << " of " << ROUNDS << " syncs cut by the kill" << std::endl;

  std::set<std::string> all = ids(goma);
  for (const auto& id : ids(nairobi)) all.insert(id);
  ASSERT_EQ(all.size(), 12u + 2u * ROUNDS * EACH);
  auto last = run(nairobi, {"sync", "goma", "--json"});
  ASSERT_EQ(last.status, 0) << last.out << last.err;
  EXPECT_EQ(json::parse(last.out)["inStep"], true);
  stop(*server);

  EXPECT_EQ(count(goma), all.size());
  EXPECT_EQ(count(nairobi), all.size());
  EXPECT_EQ(ids(goma), all);
  EXPECT_EQ(ids(nairobi), all);
  expectAllValid(goma, all.size());
  expectAllValid(nairobi, all.size());
}

TEST_F(Sync, AnUnlistedKeyIsRefusedWithStatus4) {
  auto goma = makeNode("goma"), stranger = makeNode("stranger");
  ASSERT_EQ(run(stranger, {"add", "--title", "Unasked", "--source", "Nobody"}).status, 0);
  std::string address;
  auto server = serve(goma, &address);  // goma lists nobody
  ASSERT_TRUE(server);
  listPeer(stranger, goma, address);

  auto r = run(stranger, {"sync", "goma"});
  EXPECT_EQ(r.status, 4) << r.out << r.err;
  EXPECT_NE(r.err.find("fieldsync: sync with peer goma: failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refused us"), std::string::npos) << r.err;
  auto j = run(stranger, {"sync", "goma", "--json"});
  EXPECT_EQ(j.status, 4);
  EXPECT_EQ(json::parse(j.out)["ok"], false);
  const auto error = json::parse(j.out)["error"];
  EXPECT_NE(error["message"].get<std::string>().find("refused us"), std::string::npos) << j.out;
  EXPECT_EQ(error["exit"], 4);
  EXPECT_EQ(count(goma), 0u);

  const auto log = stop(*server);
  EXPECT_NE(log.find("refused a CURVE connection from 127.0.0.1"), std::string::npos) << log;
  const auto peer = runJson(stranger, {"peers", "list", "--json"})["peers"][0];
  EXPECT_NE(peer["lastError"].get<std::string>().find("refused us"), std::string::npos) << peer;
}

TEST_F(Sync, NothingListeningIsStatus4CannotReach) {
  auto nairobi = makeNode("nairobi"), goma = makeNode("goma");
  const std::string address = "tcp://127.0.0.1:" + std::to_string(freePort());
  auto r = run(nairobi, {"sync", address, "--key", goma.key, "--connect-timeout", "1"});
  EXPECT_EQ(r.status, 4) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot reach " + address + " within 1 s"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(Sync, BadTargetsAreUsageErrors) {
  auto nairobi = makeNode("nairobi"), goma = makeNode("goma");
  auto unknown = run(nairobi, {"sync", "goma"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("neither a listed peer"), std::string::npos) << unknown.err;
  auto keyless = run(nairobi, {"sync", "tcp://127.0.0.1:7420"});
  EXPECT_EQ(keyless.status, 2);
  EXPECT_NE(keyless.err.find("--key"), std::string::npos) << keyless.err;
  auto badKey = run(nairobi, {"sync", "tcp://127.0.0.1:7420", "--key", "abc"});
  EXPECT_EQ(badKey.status, 2);
  EXPECT_NE(badKey.err.find("not a public key"), std::string::npos) << badKey.err;
}

TEST_F(Sync, ServeStopsCleanlyOnSigintAndSigterm) {
  auto goma = makeNode("goma");
  for (const int sig : {SIGINT, SIGTERM}) {
    std::string address;
    auto server = serve(goma, &address);
    ASSERT_TRUE(server);
    stop(*server, sig);
  }
}

}  // namespace

namespace {

// `bundle export --for PEER` after a sync carries only what arrived since: the sync left both
// archives in step, then goma imported more; the stick holds those and nothing else, and the
// hub ends with goma's archive after importing it.
TEST_F(Sync, ABundleForAPeerCarriesOnlyWhatArrivedSinceTheLastSyncInStep) {
  auto goma = makeNode("goma"), hub = makeNode("hub");
  ASSERT_EQ(run(goma, {"import", FIXTURE.string()}).status, 0);
  listPeer(hub, goma);
  std::string address;
  auto server = serve(hub, &address);
  ASSERT_TRUE(server);
  listPeer(goma, hub, address);
  ASSERT_EQ(run(goma, {"sync", "hub"}).status, 0);
  stop(*server);

  ASSERT_EQ(run(goma, {"add", "--title", "After the sync", "--source", "Goma"}).status, 0);
  ASSERT_EQ(run(goma, {"add", "--title", "Also after it", "--source", "Goma"}).status, 0);
  const auto stick = (goma.home.parent_path() / "stick.fsb").string();
  auto exported = run(goma, {"bundle", "export", stick, "--for", "hub", "--json"});
  ASSERT_EQ(exported.status, 0) << exported.err;
  const auto summary = json::parse(exported.out);
  EXPECT_EQ(summary["clippings"], 2);
  EXPECT_EQ(summary["objects"], 2);
  EXPECT_TRUE(summary.contains("afterSeq"));

  auto imported = run(hub, {"bundle", "import", stick, "--json"});
  ASSERT_EQ(imported.status, 0) << imported.err;
  EXPECT_EQ(ids(hub), ids(goma));

  // A peer never in step gets everything; an unknown name is a usage error.
  listPeer(goma, makeNode("bunia"));
  auto all = run(goma, {"bundle", "export", stick, "--for", "bunia", "--json"});
  ASSERT_EQ(all.status, 0) << all.err;
  EXPECT_EQ(json::parse(all.out)["clippings"], 14);
  EXPECT_EQ(run(goma, {"bundle", "export", stick, "--for", "nobody"}).status, 2);
}

}  // namespace

namespace {

TEST_F(Sync, StatusShowsTheArchiveAndWhetherEachPeerIsInStep) {
  auto goma = makeNode("goma"), hub = makeNode("hub");
  ASSERT_EQ(run(goma, {"import", FIXTURE.string()}).status, 0);
  listPeer(hub, goma);
  std::string address;
  auto server = serve(hub, &address);
  ASSERT_TRUE(server);
  listPeer(goma, hub, address);
  auto before = runJson(goma, {"status", "--json"});
  EXPECT_EQ(before["archive"]["objects"], 12);
  EXPECT_EQ(before["archive"]["kinds"]["clipping"], 12);
  EXPECT_EQ(before["peers"][0]["inStep"], false);
  ASSERT_EQ(run(goma, {"sync", "hub"}).status, 0);
  stop(*server);

  const auto mine = runJson(goma, {"status", "--json"});
  const auto theirs = runJson(hub, {"status", "--json"});
  EXPECT_EQ(mine["archive"]["fingerprint"], theirs["archive"]["fingerprint"]);
  EXPECT_EQ(mine["peers"][0]["name"], "hub");
  EXPECT_EQ(mine["peers"][0]["inStep"], true);
  EXPECT_EQ(mine["pausedUntil"], nullptr);
  auto text = run(goma, {"status"});
  EXPECT_NE(text.out.find("peer hub (" + address + "): in step as of "), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("archive: 12 objects: 12 clippings"), std::string::npos) << text.out;

  ASSERT_EQ(run(goma, {"pause", "--for", "1h"}).status, 0);
  EXPECT_NE(runJson(goma, {"status", "--json"})["pausedUntil"], nullptr);
  EXPECT_EQ(run(goma, {"sync", "hub"}).status, 2);  // paused: nothing is sent
}

// --- Future-dated objects (docs/decisions/0005-future-dated-objects.md) ---------------------

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Signed {
  std::string title, published;
  std::int64_t signedAt = 0;
};

/// A bundle file of clippings signed by a key of its own at the times given: what an office
/// whose clock is wrong hands over on a USB stick.
void writeSignedBundle(const fs::path& file, const std::vector<Signed>& clippings) {
  const auto key = fieldsync::protocol::SecretKey::generate();
  std::vector<std::vector<std::uint8_t>> objects;
  for (const auto& c : clippings) {
    fieldsync::protocol::Clipping clipping;
    clipping.title = c.title;
    clipping.source = "Radio Okapi";
    clipping.published = c.published;
    clipping.body = "Body of " + c.title + ", about the floods.";
    fieldsync::protocol::Payload payload;
    payload.signedAt = c.signedAt;
    payload.body = clipping;
    auto object = fieldsync::protocol::sign(std::move(payload), key);
    ASSERT_TRUE(object.ok()) << object.error().message();
    objects.emplace_back(object->bytes().begin(), object->bytes().end());
  }
  const auto bytes = fieldsync::protocol::writeBundle(objects, unixNow());
  spit(file, std::string(bytes.begin(), bytes.end()));
}

TEST_F(Sync, AFutureDatedClippingIsKeptSyncedVerifiedAndListedLastMarked) {
  auto goma = makeNode("goma"), hub = makeNode("hub");
  importGenerated(goma, 5, "goma");  // published 2013-01-11, signed now
  const std::int64_t now = unixNow();
  constexpr std::int64_t FIVE_YEARS = 5 * 365 * 24 * 3600;
  const auto bundle = m_dir / "wrong-clock.fsb";
  // Published today but signed five years ahead: by its dates, the top of every listing.
  writeSignedBundle(
      bundle, {{"Floods in Uvira", std::string(fieldsync::protocol::formatUtc(now)).substr(0, 10),
                now + FIVE_YEARS},
               {"Undated floods report", "", now + FIVE_YEARS + 60},
               {"Floods report from a clock at 1969", "", -1}});
  auto imported = run(goma, {"bundle", "import", bundle.string()});
  ASSERT_EQ(imported.status, 0) << imported.out << imported.err;
  ASSERT_EQ(count(goma), 8u);  // stored, all three

  listPeer(hub, goma);
  std::string address;
  auto server = serve(hub, &address);
  ASSERT_TRUE(server);
  listPeer(goma, hub, address);
  auto synced = run(goma, {"sync", "hub"});
  EXPECT_EQ(synced.status, 0) << synced.out << synced.err;
  EXPECT_NE(synced.out.find("out 8 objects ("), std::string::npos) << synced.out;
  // In step now; the next session opens small and moves nothing.
  const auto again = runJson(goma, {"sync", "hub", "--json"});
  EXPECT_EQ(again["inStep"], true) << again;
  EXPECT_EQ(again["roundTrips"], 1) << again;
  EXPECT_EQ(again["objectsIn"].get<int>() + again["objectsOut"].get<int>(), 0) << again;
  EXPECT_LT(again["bytesIn"].get<std::uint64_t>() + again["bytesOut"].get<std::uint64_t>(), 1024u);
  stop(*server);
  EXPECT_EQ(ids(hub), ids(goma));
  expectAllValid(hub, 8);

  // list: the present clippings first, in their order; the two future-dated ones last, marked.
  auto listed = run(hub, {"list"});
  ASSERT_EQ(listed.status, 0) << listed.err;
  std::vector<std::string> lines;
  std::istringstream in(listed.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 8u) << listed.out;
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(lines[i].find("future-dated"), std::string::npos) << listed.out;
  }
  EXPECT_NE(lines[0].find("goma clipping"), std::string::npos) << listed.out;
  // The oldest; its title is cut to keep the line within 80 columns.
  EXPECT_NE(lines[5].find("Floods report from a clock"), std::string::npos) << listed.out;
  EXPECT_NE(lines[6].find("Floods in Uvira"), std::string::npos) << listed.out;
  EXPECT_NE(lines[7].find("Undated floods report"), std::string::npos) << listed.out;
  for (std::size_t i = 6; i < 8; ++i) {
    EXPECT_NE(lines[i].find("  future-dated (signed "), std::string::npos) << lines[i];
    EXPECT_NE(lines[i].find(" days ahead)"), std::string::npos) << lines[i];
  }
  const auto all = runJson(hub, {"list", "--json"});
  ASSERT_EQ(all["count"], 8);
  EXPECT_FALSE(all["objects"][0].contains("futureDated"));
  EXPECT_EQ(all["objects"][6]["futureDated"], true);
  EXPECT_EQ(all["objects"][6]["title"], "Floods in Uvira");
  EXPECT_GE(all["objects"][6]["daysAhead"].get<int>(), 1824);
  EXPECT_LE(all["objects"][6]["daysAhead"].get<int>(), 1825);
  // A limit is filled with present clippings first.
  const auto limited = runJson(hub, {"list", "--json", "--limit", "6"});
  ASSERT_EQ(limited["count"], 6);
  for (const auto& object : limited["objects"]) EXPECT_FALSE(object.contains("futureDated"));
  // search: the same rule.
  const auto found = runJson(hub, {"search", "floods", "--json"});
  ASSERT_EQ(found["count"], 3);
  EXPECT_EQ(found["objects"][0]["title"], "Floods report from a clock at 1969");
  EXPECT_EQ(found["objects"][2]["futureDated"], true);

  // status: the newest object is the newest present one; the future-dated are counted apart.
  const auto status = runJson(hub, {"status", "--json"});
  EXPECT_EQ(status["archive"]["objects"], 8);
  EXPECT_NE(status["archive"]["newest"]["title"], "Floods in Uvira");
  EXPECT_NE(status["archive"]["newest"]["title"], "Undated floods report");
  EXPECT_EQ(status["archive"]["futureDated"]["count"], 2);
  EXPECT_GE(status["archive"]["futureDated"]["daysAhead"].get<int>(), 1824);
  const auto text = run(hub, {"status"}).out;
  EXPECT_NE(text.find("  future-dated: 2 objects signed more than a day ahead of this "
                      "computer's clock, the latest "),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("most of the archive looks future-dated"), std::string::npos) << text;
}

}  // namespace

namespace {

/// Nodes whose daemons (`serve`, dialing) run under a rate cap for one peer.
class Caps : public Sync {
 protected:
  /// n clippings of about 900 bytes whose bodies are random letters: zstd packs them to about
  /// three quarters, so the cap, not compression, decides how long they take.
  void importIncompressible(const Node& node, int n) {
    std::mt19937 random(7);
    std::uniform_int_distribution<int> letter(0, 51);
    std::string text;
    for (int i = 0; i < n; ++i) {
      std::string body;
      for (int c = 0; c < 760; ++c) {
        const int l = letter(random);
        body += static_cast<char>(l < 26 ? 'a' + l : 'A' + l - 26);
      }
      text += json{{"title", node.name + " report " + std::to_string(i)},
                   {"source", "Generated wire"},
                   {"published", "2013-01-11"},
                   {"body", body}}
                  .dump() +
              "\n";
    }
    const auto file = m_dir / (node.name + "-incompressible.jsonl");
    spit(file, text);
    ASSERT_EQ(run(node, {"import", file.string()}).status, 0);
  }
  /// `serve` on node that dials its peers too, on a free loopback port.
  std::unique_ptr<Background> serveAndDial(const Node& node, std::string* address) {
    *address = "tcp://127.0.0.1:" + std::to_string(freePort());
    auto server = std::make_unique<Background>(
        fieldsyncCommand(node.home, {"serve", "--no-beacon", "--listen", *address}),
        m_dir / (node.name + "-daemon-" + std::to_string(m_logs++)));
    EXPECT_TRUE(server->waitForOutput("serving", START_WAIT)) << server->log();
    return server;
  }
  /// The bytes node's last session with its first peer moved, once it is recorded (the
  /// session ends a moment after its last object is stored).
  std::uint64_t recordedBytes(const Node& node, std::uint64_t objectsIn) {
    const auto deadline = Clock::now() + 30s;
    for (;;) {
      const auto peer = runJson(node, {"status", "--json"})["peers"][0];
      if (peer["objectsIn"] == objectsIn || Clock::now() > deadline) {
        EXPECT_EQ(peer["objectsIn"], objectsIn) << peer.dump();
        return peer["bytesIn"].get<std::uint64_t>() + peer["bytesOut"].get<std::uint64_t>();
      }
      std::this_thread::sleep_for(100ms);
    }
  }
  /// At 16 kB/s each way, the time bytes of a session's direction take, less the quarter
  /// second the pacing lets go at once and the messages of the other direction.
  static double capped(std::uint64_t bytes) {
    return (static_cast<double>(bytes) - 4'000 - 8'000) / 16'000;
  }
  /// The capped office receives the hub's 240 clippings no faster than 16 kB/s (since start).
  void expectCapHeld(const Node& office, Clock::time_point start) {
    const auto took = untilHolds(office, 240, start).count();
    EXPECT_GE(took, 9.0);
    EXPECT_GE(took, capped(recordedBytes(office, 240)));
  }
  /// How long until node holds count objects (polled); fails after two minutes.
  std::chrono::duration<double> untilHolds(const Node& node, std::size_t wanted,
                                           Clock::time_point since) {
    const auto deadline = Clock::now() + 120s;
    while (count(node) < wanted && Clock::now() < deadline) std::this_thread::sleep_for(100ms);
    EXPECT_EQ(count(node), wanted);
    return Clock::now() - since;
  }
};

// 240 clippings are about 157 kB on the wire: at 16 kB/s each way at least 9.8 s, whether the
// capped node dials (its client keeps to the cap) or answers (its server does, and its Hello
// tells the dialer to keep to it). Only a lower bound is checked: a busy machine is slower.
TEST_F(Caps, ACapHoldsUnderServeWhenTheCappedNodeDials) {
  auto hub = makeNode("hub"), office = makeNode("office");
  importIncompressible(hub, 240);
  std::string hubAddress, officeAddress;
  listPeer(hub, office);
  auto hubServer = serve(hub, &hubAddress);
  listPeer(office, hub, hubAddress);
  ASSERT_EQ(run(office, {"peers", "set", "hub", "--rate", "16k"}).status, 0);
  const auto start = Clock::now();
  auto officeDaemon = serveAndDial(office, &officeAddress);
  expectCapHeld(office, start);
  stop(*officeDaemon);
  stop(*hubServer);
}

TEST_F(Caps, ACapHoldsUnderServeWhenTheCappedNodeAnswers) {
  auto hub = makeNode("hub"), office = makeNode("office");
  importIncompressible(hub, 240);
  std::string hubAddress, officeAddress;
  listPeer(office, hub);
  ASSERT_EQ(run(office, {"peers", "set", "hub", "--rate", "16k"}).status, 0);
  auto officeServer = serve(office, &officeAddress);
  listPeer(hub, office, officeAddress);  // the hub has no cap of its own for the office
  const auto start = Clock::now();
  auto hubDaemon = serveAndDial(hub, &hubAddress);
  expectCapHeld(office, start);
  stop(*hubDaemon);
  stop(*officeServer);
}

TEST_F(Caps, ASpentBudgetStopsTheDaemonAndStatusSaysWhatWaits) {
  auto hub = makeNode("hub"), office = makeNode("office");
  importIncompressible(hub, 240);
  std::string hubAddress, officeAddress;
  listPeer(hub, office);
  auto hubServer = serve(hub, &hubAddress);
  listPeer(office, hub, hubAddress);
  ASSERT_EQ(run(office, {"peers", "set", "hub", "--rate", "64k", "--daily-budget", "60k"}).status,
            0);
  auto officeDaemon = serveAndDial(office, &officeAddress);
  ASSERT_TRUE(officeDaemon->waitForOutput("budget spent; resumes 00:00 UTC", 60s))
      << officeDaemon->log();
  const auto held = count(office);
  EXPECT_GT(held, 0u);
  EXPECT_LT(held, 240u);
  const auto status = runJson(office, {"status", "--json"});
  const auto& peer = status["peers"][0];
  EXPECT_LE(peer["bytesIn"].get<std::uint64_t>() + peer["bytesOut"].get<std::uint64_t>(), 60'000u);
  EXPECT_TRUE(peer["budgetSpent"].is_string()) << status.dump();
  // Said once: the daemon does not dial again today, nor repeat itself.
  std::this_thread::sleep_for(3s);
  const auto log = officeDaemon->log();
  EXPECT_EQ(log.find("budget spent"), log.rfind("budget spent")) << log;
  EXPECT_EQ(count(office), held);
  // A manual sync says so too, and sends nothing.
  const auto r = run(office, {"sync", "hub"});
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_NE(r.err.find("byte budget for this link is spent"), std::string::npos) << r.err;
  stop(*officeDaemon);
  stop(*hubServer);
}

}  // namespace
