// The gossip daemon with real archives and real CurveZMQ links on loopback: nodes converge
// through each other without anyone running sync, and new objects travel on their own.
#include "node/daemon.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/peers.h"
#include "store/store_fixture.h"
#include "store/sync_index.h"

namespace fieldsync::node {
namespace {

using namespace std::chrono_literals;
using store::testing::clipping;
using store::testing::keyNumber;
using store::testing::signBody;
using store::testing::TempArchive;

/// One node: an archive, an identity and a daemon serving on a free loopback port.
struct Node {
  explicit Node(std::uint8_t number) : identity(keyNumber(number)) {}

  void start(const DaemonOptions& base) {
    DaemonOptions options = base;
    options.server.listen = listen.empty() ? "tcp://127.0.0.1:*" : listen;
    daemon =
        std::make_unique<Daemon>(*archive.archive, identity, options, [](const std::string&) {});
    listen = daemon->endpoint();
    thread = std::thread([this] { daemon->run(); });
  }
  void stop() {
    if (!daemon) return;
    daemon->stop();
    thread.join();
    daemon.reset();
  }
  ~Node() { stop(); }

  void add(int from, int to) {
    const auto key = keyNumber(static_cast<std::uint8_t>(100 + from % 100));
    std::vector<protocol::VerifiedObject> objects;
    for (int i = from; i < to; ++i) {
      objects.push_back(
          signBody(key, clipping("Clipping " + std::to_string(i)), 1'700'000'000 + i));
    }
    archive.putAll(objects);
  }
  protocol::sync::ArchiveState state() const {
    const auto txn = archive.archive->beginRead();
    const store::ArchiveRangeIndex index(txn);
    return protocol::sync::archiveState(index.sum(0, index.size()));
  }

  TempArchive archive;
  protocol::SecretKey identity;
  std::string listen;
  std::unique_ptr<Daemon> daemon;
  std::thread thread;
};

void link(Node& a, Node& b) {
  auto addPeer = [](Node& self, Node& other, const std::string& name) {
    store::PeerRecord peer;
    peer.name = name;
    peer.address = other.listen;
    peer.key = other.identity.publicKey();
    self.archive.archive->write([&](store::WriteTxn& txn) {
      ASSERT_TRUE(store::putPeer(txn, peer, store::IfNameListed::Replace).ok());
    });
  };
  addPeer(a, b, "n" + b.identity.publicKey().hex().substr(0, 8));
  addPeer(b, a, "n" + a.identity.publicKey().hex().substr(0, 8));
}

DaemonOptions quick() {
  DaemonOptions options;
  options.interval = 500ms;
  options.minBackoff = 200ms;
  options.maxBackoff = 1s;
  options.watchInterval = 50ms;
  options.client.connectTimeout = 2s;
  options.client.idleTimeout = 5s;
  return options;
}

/// Waits until every node has the same archive state, or the deadline.
bool converge(const std::vector<Node*>& nodes, std::chrono::seconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    bool same = true;
    for (const Node* node : nodes) same = same && node->state() == nodes.front()->state();
    if (same) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

TEST(Daemon, ALineOfNodesConvergesWithoutAnyoneRunningSync) {
  std::vector<std::unique_ptr<Node>> nodes;
  for (std::uint8_t i = 1; i <= 5; ++i) nodes.push_back(std::make_unique<Node>(i));
  // Ports first (start binds), then peers: stop, link, start again on the same ports.
  for (auto& node : nodes) node->start(quick());
  for (auto& node : nodes) node->stop();
  for (std::size_t i = 0; i + 1 < nodes.size(); ++i) link(*nodes[i], *nodes[i + 1]);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i]->add(static_cast<int>(i) * 100, static_cast<int>(i) * 100 + 30);
  }
  for (auto& node : nodes) node->start(quick());
  std::vector<Node*> all;
  for (auto& node : nodes) all.push_back(node.get());
  ASSERT_TRUE(converge(all, 30s));
  EXPECT_EQ(nodes.front()->archive.count(), 150u);
}

TEST(Daemon, NewObjectsArePushedToPeersWithoutWaitingForTheInterval) {
  Node a(1), b(2), c(3);
  DaemonOptions slow = quick();
  slow.interval = 1h;  // only pushes can move the new object in time
  for (Node* node : {&a, &b, &c}) node->start(slow);
  for (Node* node : {&a, &b, &c}) node->stop();
  link(a, b);
  link(b, c);
  for (Node* node : {&a, &b, &c}) node->start(slow);
  ASSERT_TRUE(converge({&a, &b, &c}, 20s));  // the first dials, at start
  c.add(1000, 1001);                         // as `fieldsync add` in another process would
  ASSERT_TRUE(converge({&a, &b, &c}, 20s));
  EXPECT_EQ(a.archive.count(), 1u);
}

TEST(Daemon, ANodeRestartedLaterCatchesUp) {
  Node a(1), b(2);
  for (Node* node : {&a, &b}) node->start(quick());
  for (Node* node : {&a, &b}) node->stop();
  link(a, b);
  a.start(quick());
  a.add(0, 50);  // b is down: a backs off and retries
  std::this_thread::sleep_for(700ms);
  b.start(quick());
  ASSERT_TRUE(converge({&a, &b}, 30s));
  EXPECT_EQ(b.archive.count(), 50u);
}

// A peer refused for misbehaviour is neither dialed nor admitted until it is forgiven; then
// the two converge as usual.
TEST(Daemon, ARefusedPeerIsNotDialedNorAdmittedUntilForgiven) {
  Node a(1), b(2);
  for (Node* node : {&a, &b}) node->start(quick());
  for (Node* node : {&a, &b}) node->stop();
  link(a, b);
  b.add(0, 20);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  a.archive.archive->write([&](store::WriteTxn& txn) {
    ASSERT_TRUE(store::refusePeer(txn, b.identity.publicKey(), "bad signature", now));
  });
  std::atomic<int> dialsOfB{0};
  DaemonOptions options = quick();
  options.onDialed = [&](const SessionReport& report) {
    if (report.key == b.identity.publicKey()) ++dialsOfB;
  };
  a.start(options);
  b.start(quick());
  // b dials a again and again (refused at the handshake); a never dials b.
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(dialsOfB.load(), 0);
  EXPECT_EQ(a.archive.count(), 0u);
  const auto peers = store::listPeers(b.archive.archive->beginRead());
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_NE(peers[0].state.lastError.find("refused us"), std::string::npos)
      << peers[0].state.lastError;

  a.archive.archive->write([&](store::WriteTxn& txn) {
    const auto name = "n" + b.identity.publicKey().hex().substr(0, 8);
    ASSERT_TRUE(store::forgivePeer(txn, name).ok());
  });
  ASSERT_TRUE(converge({&a, &b}, 30s));
  EXPECT_EQ(a.archive.count(), 20u);
}

}  // namespace
}  // namespace fieldsync::node

namespace fieldsync::node {
namespace {

// A learned address (the LAN beacon's) is a second candidate: a listed address that fails is
// followed by it, and a peer listed for sticks only is dialed there and nowhere else.
TEST(Daemon, ALearnedAddressIsTriedBesideTheListedOneNeverInstead) {
  std::atomic<bool> heard{false};  // before the nodes: a's daemon reads it until a stops
  Node a(1), b(2), c(3);
  for (Node* node : {&a, &b, &c}) node->start(quick());
  for (Node* node : {&a, &b, &c}) node->stop();
  link(a, b);
  link(a, c);
  // a lists b at an address where nothing listens, and c with no address at all.
  a.archive.archive->write([&](store::WriteTxn& txn) {
    for (Node* other : {&b, &c}) {
      store::PeerRecord peer;
      peer.name = "n" + other->identity.publicKey().hex().substr(0, 8);
      peer.address = other == &b ? "tcp://127.0.0.1:1" : "";
      peer.key = other->identity.publicKey();
      ASSERT_TRUE(store::putPeer(txn, peer, store::IfNameListed::Replace).ok());
    }
  });
  DaemonOptions learning = quick();
  learning.dial = true;
  DaemonOptions answerOnly = quick();
  answerOnly.dial = false;
  b.start(answerOnly);
  c.start(answerOnly);
  // What a beacon would have heard: copies, since a's daemon may outlive b and c (and a secret
  // key is read by its own thread only).
  const auto bKey = b.identity.publicKey(), cKey = c.identity.publicKey();
  learning.learnedAddress = [&heard, bKey, cKey, bAt = b.listen,
                             cAt = c.listen](const protocol::PublicKey& key) {
    std::optional<std::string> address;
    if (heard && key == bKey) address = bAt;
    if (heard && key == cKey) address = cAt;
    return address;
  };
  a.add(0, 10);
  a.start(learning);
  std::this_thread::sleep_for(1s);  // nothing heard yet: b's listed address fails, c is not dialed
  EXPECT_EQ(b.archive.count(), 0u);
  EXPECT_EQ(c.archive.count(), 0u);
  heard = true;
  ASSERT_TRUE(converge({&a, &b, &c}, 20s));
  // The listed addresses are as they were.
  const auto peers = store::listPeers(a.archive.archive->beginRead());
  for (const auto& peer : peers)
    EXPECT_EQ(peer.address, peer.key == b.identity.publicKey() ? "tcp://127.0.0.1:1" : "");
}

}  // namespace
}  // namespace fieldsync::node
