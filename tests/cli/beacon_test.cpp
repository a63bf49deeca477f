// The LAN beacon between real `fieldsync serve` daemons on a LAN: inside a network namespace the
// test makes itself (never the machine's own network), with a veth pair standing for the LAN
// (10.77.0.1/24, broadcast 10.77.0.255, the default route) and loopback. Issue 13's case: nodes
// that listen on 127.0.0.1 with the beacon on must keep their working addresses and stay in
// step, and a stranger who records every beacon datagram must find no node's key in them.
// Skipped, with the reason printed, where the kernel refuses a network namespace or `ip` cannot
// make the LAN. Waits have generous deadlines; nothing here checks how long a thing took.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/background.h"
#include "cli/cli_fixture.h"
#include "protocol/beacon.h"
#include "protocol/keys.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace fieldsync::clitest;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace protocol = fieldsync::protocol;

constexpr auto START_WAIT = 20s;  // a server normally logs "serving" within milliseconds
constexpr auto STEP_WAIT = 60s;   // a new clipping normally reaches every peer within seconds
// How long the nodes must keep in step (a sanitized build looks for memory errors, not for
// staying power: a shorter run there leaves two-core CI its time)
#ifdef FIELDSYNC_SANITIZED
constexpr auto SUSTAINED = 15s;
#else
constexpr auto SUSTAINED = 65s;
#endif
constexpr std::uint16_t BEACON_PORT = 7421;

/// The calling thread in a network namespace of its own, for the life of this object: loopback
/// up, and a LAN: a veth pair, lan0 10.77.0.1/24 (broadcast 10.77.0.255) and the default route
/// through it, its other end up. Processes the thread starts are in it too. Then back in the
/// namespace it came from (the new one goes with the last process or socket in it).
class PrivateLan {
 public:
  PrivateLan() {
    m_home = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (m_home < 0) {
      m_refused = std::string("open /proc/thread-self/ns/net: ") + std::strerror(errno);
      return;
    }
    if (::unshare(CLONE_NEWNET) != 0) {
      m_refused = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
      return;
    }
    m_inside = true;
    const int status = std::system(
        "ip link set lo up && ip link add lan0 type veth peer name lan1 && "
        "ip addr add 10.77.0.1/24 brd + dev lan0 && ip link set lan1 up && "
        "ip link set lan0 up && ip route add default dev lan0");
    if (status != 0)
      m_refused = "ip could not make the LAN (status " + std::to_string(status) + ")";
  }
  ~PrivateLan() {
    if (m_inside) ::setns(m_home, CLONE_NEWNET);
    if (m_home >= 0) ::close(m_home);
  }
  PrivateLan(const PrivateLan&) = delete;
  PrivateLan& operator=(const PrivateLan&) = delete;
  /// Why there is no private LAN; empty when there is.
  const std::optional<std::string>& refused() const { return m_refused; }

 private:
  int m_home = -1;
  bool m_inside = false;
  std::optional<std::string> m_refused;
};

/// A plain UDP socket on the beacon port, as a stranger on the LAN would listen: it keeps every
/// datagram (SO_REUSEPORT: it shares the port with the daemons, and gets every broadcast).
class Capture {
 public:
  Capture() : m_fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {
    const int on = 1;
    ::setsockopt(m_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    ::setsockopt(m_fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(BEACON_PORT);
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0)
      throw std::runtime_error(std::string("bind udp 7421: ") + std::strerror(errno));
  }
  ~Capture() { ::close(m_fd); }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  /// Reads what has arrived.
  void drain() {
    std::vector<std::uint8_t> buffer(65536);
    for (;;) {
      const auto n = ::recv(m_fd, buffer.data(), buffer.size(), 0);
      if (n < 0) return;
      m_datagrams.emplace_back(buffer.begin(), buffer.begin() + n);
    }
  }
  const std::vector<std::vector<std::uint8_t>>& datagrams() const { return m_datagrams; }

 private:
  int m_fd;
  std::vector<std::vector<std::uint8_t>> m_datagrams;
};

/// Whether any run of 8 bytes of needle occurs in haystack.
bool sharesEightBytes(std::span<const std::uint8_t> haystack,
                      std::span<const std::uint8_t> needle) {
  for (std::size_t at = 0; at + 8 <= needle.size(); ++at) {
    const auto run = needle.subspan(at, 8);
    if (std::search(haystack.begin(), haystack.end(), run.begin(), run.end()) != haystack.end())
      return true;
  }
  return false;
}

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class LanBeacon : public NodesTest {
 protected:
  LanBeacon() : NodesTest("fieldsync-cli-beacon-") {}

  void listPeer(const Node& node, const Node& peer, int port) {
    auto r = run(node, {"peers", "add", peer.name, "tcp://127.0.0.1:" + std::to_string(port),
                        peer.key, "--interval", "30s", "--max-backoff", "30s"});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  std::unique_ptr<Background> serve(const Node& node, const std::string& listen) {
    auto server = std::make_unique<Background>(
        fieldsyncCommand(node.home, {"serve", "--beacon", "--listen", listen}),
        m_dir / (node.name + "-serve-" + std::to_string(m_logs++)));
    if (!server->waitForOutput("serving", START_WAIT)) {
      ADD_FAILURE() << node.name << " did not start: " << server->log();
      return nullptr;
    }
    return server;
  }
  std::size_t count(const Node& node) {
    return runJson(node, {"list", "--json"})["count"].get<std::size_t>();
  }
  protocol::SecretKey secretKey(const Node& node) {
    auto key = protocol::decodeKeyFile(slurp(node.home / "node.key"), std::nullopt);
    if (!key) throw std::runtime_error("cannot read " + node.name + "'s key");
    return std::move(key).value();
  }
};

TEST_F(LanBeacon, LoopbackNodesKeepTheirAddressesAndStayInStepAndNoBeaconCarriesAKey) {
  PrivateLan lan;
  if (lan.refused()) GTEST_SKIP() << "no private network namespace: " << *lan.refused();
  Capture stranger;

  // north and south listen on loopback only, east on every interface; all three have the
  // beacon on, and each lists the others at 127.0.0.1, where they can be reached.
  auto north = makeNode("north"), south = makeNode("south"), east = makeNode("east");
  const int northPort = freePort(), southPort = freePort(), eastPort = freePort();
  const std::vector<std::pair<const Node*, int>> nodes{
      {&north, northPort}, {&south, southPort}, {&east, eastPort}};
  for (const auto& [node, port] : nodes) {
    for (const auto& [peer, peerPort] : nodes)
      if (peer != node) listPeer(*node, *peer, peerPort);
  }
  const auto listedBefore = [&](const Node& node) {
    return runJson(node, {"peers", "list", "--json"});
  };
  const json northPeers = listedBefore(north), southPeers = listedBefore(south),
             eastPeers = listedBefore(east);

  auto northServer = serve(north, "tcp://127.0.0.1:" + std::to_string(northPort));
  auto southServer = serve(south, "tcp://127.0.0.1:" + std::to_string(southPort));
  auto eastServer = serve(east, "tcp://0.0.0.0:" + std::to_string(eastPort));
  ASSERT_TRUE(northServer && southServer && eastServer);
  EXPECT_NE(northServer->log().find("LAN beacon on, hearing only"), std::string::npos)
      << northServer->log();
  EXPECT_NE(eastServer->log().find("; LAN beacon on\n"), std::string::npos) << eastServer->log();

  // New clippings, one node after another, for over a minute: each reaches the other two.
  const auto start = Clock::now();
  std::size_t total = 0;
  int round = 0;
  while (Clock::now() - start < SUSTAINED) {
    const Node& writer = *nodes[static_cast<std::size_t>(round % 3)].first;
    const std::string title = "Report " + std::to_string(round) + " from " + writer.name;
    auto r =
        run(writer, {"add", "--title", title, "--source", "Radio Okapi", "-"}, "Body of " + title);
    ASSERT_EQ(r.status, 0) << r.err;
    ++total;
    const auto deadline = Clock::now() + STEP_WAIT;
    bool inStep = false;
    while (!inStep && Clock::now() < deadline) {
      inStep = count(north) == total && count(south) == total && count(east) == total;
      if (!inStep) std::this_thread::sleep_for(200ms);
    }
    ASSERT_TRUE(inStep) << "round " << round << ": north " << count(north) << ", south "
                        << count(south) << ", east " << count(east) << " of " << total
                        << "\nnorth:\n"
                        << northServer->log() << "\nsouth:\n"
                        << southServer->log() << "\neast:\n"
                        << eastServer->log();
    stranger.drain();
    ++round;
    std::this_thread::sleep_for(1s);
  }
  stranger.drain();
  std::cerr << "[ info ] " << round << " clippings in step across 3 nodes in "
            << std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count()
            << " s; " << stranger.datagrams().size() << " beacon datagrams captured\n";

  // The peer lists are as they were: no beacon replaced an address.
  EXPECT_EQ(listedBefore(north)["peers"].size(), northPeers["peers"].size());
  for (const auto& [node, before] :
       {std::pair{&north, northPeers}, {&south, southPeers}, {&east, eastPeers}}) {
    const auto after = listedBefore(*node);
    for (std::size_t i = 0; i < before["peers"].size(); ++i)
      EXPECT_EQ(after["peers"][i]["address"], before["peers"][i]["address"]) << node->name;
  }
  // east announced, and the loopback nodes heard it at its LAN address (a second address);
  // they never heard each other, since neither announced.
  const std::string eastHeard = "beacon: peer " + east.key.substr(0, 8) +
                                " heard at tcp://10.77.0.1:" + std::to_string(eastPort);
  EXPECT_NE(northServer->log().find(eastHeard), std::string::npos) << northServer->log();
  EXPECT_NE(southServer->log().find(eastHeard), std::string::npos) << southServer->log();
  EXPECT_EQ(northServer->log().find("beacon: peer " + south.key.substr(0, 8)), std::string::npos)
      << northServer->log();
  EXPECT_EQ(southServer->log().find("beacon: peer " + north.key.substr(0, 8)), std::string::npos)
      << southServer->log();
  EXPECT_EQ(eastServer->log().find("beacon: peer "), std::string::npos) << eastServer->log();

  // What the stranger recorded: beacons (east's), and no key of any node in either form.
  ASSERT_FALSE(stranger.datagrams().empty());
  const auto northKey = secretKey(north), southKey = secretKey(south), eastKey = secretKey(east);
  const std::vector<protocol::BeaconPairKey> northHears{
      *protocol::BeaconPairKey::derive(northKey, southKey.publicKey()),
      *protocol::BeaconPairKey::derive(northKey, eastKey.publicKey())};
  const std::vector<protocol::BeaconPairKey> southHears{
      *protocol::BeaconPairKey::derive(southKey, northKey.publicKey()),
      *protocol::BeaconPairKey::derive(southKey, eastKey.publicKey())};
  for (const auto& datagram : stranger.datagrams()) {
    EXPECT_EQ(datagram.size(), protocol::BEACON_BYTES);
    for (const auto* key : {&northKey, &southKey, &eastKey}) {
      EXPECT_FALSE(sharesEightBytes(datagram, key->publicKey().bytes));
      EXPECT_FALSE(sharesEightBytes(datagram, key->curveSecretKey().publicKey().bytes));
    }
    // Every one is east's: the loopback nodes sent none.
    const auto byNorth = protocol::decodeBeacon(datagram, northHears, unixNow());
    const auto bySouth = protocol::decodeBeacon(datagram, southHears, unixNow());
    ASSERT_TRUE(byNorth && bySouth);
    EXPECT_EQ(byNorth->peer, eastKey.publicKey());
    EXPECT_EQ(bySouth->peer, eastKey.publicKey());
    EXPECT_EQ(byNorth->port, eastPort);
  }

  for (auto* server : {northServer.get(), southServer.get(), eastServer.get()})
    EXPECT_EQ(server->stop(), 0) << server->log();
}

}  // namespace
