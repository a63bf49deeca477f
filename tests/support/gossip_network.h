#pragma once
// A network of gossip daemons in one process, for tests (tests/node/gossip_test.cpp) and the
// gossip benchmark (bench/gossip_bench.cpp). Each node has an archive in a temporary folder of
// its own, an identity and a node::Daemon serving on a loopback port. Node i reaches node j
// through an emulated link of its own (tests/support/link_emulator.h): i's peer record for j
// points at Link(i -> j), which forwards to j's server. So every directed edge can be slowed,
// cut or partitioned alone, and its bytes counted; a session i dials travels both ways on it.
//
// Threads: a node's daemon runs on a thread of its own while the node is started; every
// function here is for the one thread that drives the network (reading states and archives
// while the daemons run is fine: the archive allows it). The tally is filled from the
// daemons' threads under its own lock.
// Lifetime: the network owns its nodes, links and folders; the destructor stops the daemons
// first, then the links, then closes the archives and removes the folders. A node keeps its
// server's port across stop() and kill(), so its peers' links keep pointing at it.
// Errors: setup failures throw (fieldsync::Error, std::system_error), as the parts do.

#include <stdlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "node/daemon.h"
#include "protocol/object.h"
#include "protocol/sync.h"
#include "protocol/text.h"
#include "store/archive.h"
#include "store/ingest.h"
#include "store/peers.h"
#include "store/sync_index.h"
#include "support/link_emulator.h"

namespace fieldsync::testing {

using Edge = std::pair<std::size_t, std::size_t>;  // an undirected edge: both ways dial

/// 0 - 1 - 2 - ... - (n - 1): store and forward through every node in between.
inline std::vector<Edge> lineGraph(std::size_t n) {
  std::vector<Edge> edges;
  for (std::size_t i = 0; i + 1 < n; ++i) edges.emplace_back(i, i + 1);
  return edges;
}

/// A random tree over n nodes (each node joins an earlier one, picked uniformly) plus
/// `extraEdges` more edges between random pairs not yet joined: connected and sparse.
inline std::vector<Edge> randomConnectedGraph(std::size_t n, std::size_t extraEdges,
                                              std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::set<Edge> edges;
  for (std::size_t i = 1; i < n; ++i) {
    edges.emplace(std::uniform_int_distribution<std::size_t>(0, i - 1)(rng), i);
  }
  const std::size_t most = n * (n - 1) / 2;
  while (extraEdges > 0 && edges.size() < most) {
    std::size_t a = std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    std::size_t b = std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    if (a == b) continue;
    if (a > b) std::swap(a, b);
    if (edges.emplace(a, b).second) --extraEdges;
  }
  return {edges.begin(), edges.end()};
}

/// "0-1 0-4 1-2 ...": a graph for a log line.
inline std::string describeEdges(const std::vector<Edge>& edges) {
  std::string out;
  for (const auto& [a, b] : edges) {
    out += (out.empty() ? "" : " ") + std::to_string(a) + "-" + std::to_string(b);
  }
  return out;
}

/// The key whose seed is 32 copies of n: the same key in every run.
inline protocol::SecretKey fixedKey(std::uint8_t n) {
  std::array<std::uint8_t, protocol::SEED_BYTES> seed{};
  seed.fill(n);
  return protocol::SecretKey::fromSeed(seed);
}

/// What the sessions of the whole network moved, from the report hooks of every server
/// (sessions answered) and every daemon (sessions dialed): each session counts on both sides.
class SessionTally {
 public:
  void add(const node::SessionReport& report) {
    std::lock_guard lock(m_mutex);
    ++m_sessions;
    if (!report.ok) ++m_failed;
    if (report.failure.find("refused us") != std::string::npos) ++m_refused;
    m_objectsIn += report.stats.objectsIn;
    m_duplicatesIn += report.stats.duplicatesIn;
    m_bytesIn += report.stats.bytesIn;
  }
  void reset() {
    std::lock_guard lock(m_mutex);
    m_sessions = m_failed = m_refused = m_objectsIn = m_duplicatesIn = m_bytesIn = 0;
  }
  struct Totals {
    std::uint64_t sessions = 0;      // session ends seen, both sides
    std::uint64_t failed = 0;        // of which not ok
    std::uint64_t refused = 0;       // of which a peer's ZAP handler refused the dialer
    std::uint64_t objectsIn = 0;     // received and stored
    std::uint64_t duplicatesIn = 0;  // received, already held
    std::uint64_t bytesIn = 0;       // session message bytes received
    /// The share of objects received that the receiver already had.
    double duplicateShare() const {
      const auto received = objectsIn + duplicatesIn;
      return received ? static_cast<double>(duplicatesIn) / static_cast<double>(received) : 0.0;
    }
  };
  Totals totals() const {
    std::lock_guard lock(m_mutex);
    return {m_sessions, m_failed, m_refused, m_objectsIn, m_duplicatesIn, m_bytesIn};
  }

 private:
  mutable std::mutex m_mutex;
  std::uint64_t m_sessions = 0, m_failed = 0, m_refused = 0, m_objectsIn = 0, m_duplicatesIn = 0,
                m_bytesIn = 0;
};

struct NetworkOptions {
  /// Every node's daemon options (listen and the report hooks are set by the network).
  node::DaemonOptions daemon;
  /// Every directed link's impairments (the target is set by the network).
  LinkOptions link;
  /// Where daemons log; empty: nowhere.
  node::ServerLog log;
  /// Changes node i's daemon options from the above (a hub that only answers, say).
  std::function<void(std::size_t i, node::DaemonOptions&)> perNode;
};

/// One office: its archive, identity and daemon. The server's endpoint stays the same across
/// restarts.
struct GossipNode {
  std::size_t index = 0;
  std::filesystem::path dir;  // the archive's folder
  protocol::SecretKey identity;
  protocol::SecretKey author;  // signs the clippings this office imports
  std::unique_ptr<store::Archive> archive;
  std::string endpoint;  // tcp://127.0.0.1:PORT once bound
  std::unique_ptr<node::Daemon> daemon;
  std::thread thread;
  std::uint64_t imported = 0;  // clippings this office has imported so far

  GossipNode(std::size_t i, const std::filesystem::path& folder)
      : index(i),
        dir(folder),
        identity(fixedKey(static_cast<std::uint8_t>(1 + i))),
        author(fixedKey(static_cast<std::uint8_t>(128 + i))) {}
  std::uint16_t port() const {
    return static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }
  bool running() const { return thread.joinable(); }
};

class GossipNetwork {
 public:
  /// Makes n nodes with empty archives, a link per direction of every edge, lists each
  /// node's neighbours as its peers (through those links), then binds the servers (which
  /// read their peer lists as they bind) and points the links at them. Nothing runs until
  /// start().
  GossipNetwork(std::size_t n, std::vector<Edge> edges, NetworkOptions options)
      : m_edges(std::move(edges)), m_options(std::move(options)) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "fieldsync-gossip-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    m_root = pattern;
    for (std::size_t i = 0; i < n; ++i) {
      m_nodes.push_back(std::make_unique<GossipNode>(i, m_root / ("node" + std::to_string(i))));
      openArchive(i);
    }
    m_links.assign(n, std::vector<Link*>(n, nullptr));
    for (const auto& [a, b] : m_edges) {
      for (const auto& [from, to] : {Edge{a, b}, Edge{b, a}}) {
        LinkOptions link = m_options.link;
        link.targetHost = "127.0.0.1";
        link.targetPort = 0;  // until node `to` is bound, below; nothing dials before start()
        m_links[from][to] = &m_emulator.addLink(link);
        listPeer(from, to);
      }
    }
    for (std::size_t i = 0; i < n; ++i) makeDaemon(i);
    for (std::size_t from = 0; from < n; ++from) {
      for (std::size_t to = 0; to < n; ++to) {
        if (m_links[from][to]) m_links[from][to]->setTarget("127.0.0.1", m_nodes[to]->port());
      }
    }
  }
  ~GossipNetwork() {
    for (std::size_t i = 0; i < m_nodes.size(); ++i) stop(i);
    m_nodes.clear();  // archives close before their folder goes
    std::error_code ec;
    std::filesystem::remove_all(m_root, ec);
  }
  GossipNetwork(const GossipNetwork&) = delete;
  GossipNetwork& operator=(const GossipNetwork&) = delete;

  std::size_t size() const { return m_nodes.size(); }
  const std::vector<Edge>& edges() const { return m_edges; }
  GossipNode& node(std::size_t i) { return *m_nodes.at(i); }
  store::Archive& archive(std::size_t i) { return *m_nodes.at(i)->archive; }

  /// Runs node i's daemon (opening its archive again after kill()).
  void start(std::size_t i) {
    GossipNode& node = *m_nodes.at(i);
    if (node.running()) return;
    if (!node.archive) openArchive(i);
    if (!node.daemon) makeDaemon(i);
    node.thread = std::thread([&node] { node.daemon->run(); });
  }
  void startAll() {
    for (std::size_t i = 0; i < m_nodes.size(); ++i) start(i);
  }
  /// Stops node i's daemon as `fieldsync serve` stops on a signal (the session in progress
  /// ends first, within its timeouts); its archive stays open.
  void stop(std::size_t i) {
    GossipNode& node = *m_nodes.at(i);
    if (node.daemon) node.daemon->stop();
    if (node.thread.joinable()) node.thread.join();
    node.daemon.reset();
  }
  void stopAll() {
    for (std::size_t i = 0; i < m_nodes.size(); ++i) stop(i);
  }
  /// As a process killed mid-gossip: its links are cut first (the peers see resets, their
  /// sessions with it break off), then the daemon is stopped and destroyed and the archive
  /// closed. start(i) opens the archive again and serves on the same port.
  void kill(std::size_t i) {
    for (Link* link : linksOf(i)) link->cut();
    stop(i);
    m_nodes.at(i)->archive.reset();
  }

  /// The link node `from` dials `to` through; null when they are not neighbours.
  Link* link(std::size_t from, std::size_t to) { return m_links.at(from).at(to); }
  /// Both directions of every edge of node i.
  std::vector<Link*> linksOf(std::size_t i) {
    std::vector<Link*> out;
    for (std::size_t j = 0; j < m_nodes.size(); ++j) {
      if (m_links[i][j]) out.push_back(m_links[i][j]);
      if (m_links[j][i]) out.push_back(m_links[j][i]);
    }
    return out;
  }
  /// Every link, both directions of every edge.
  std::vector<Link*> allLinks() {
    std::vector<Link*> out;
    for (const auto& row : m_links) {
      for (Link* link : row) {
        if (link) out.push_back(link);
      }
    }
    return out;
  }
  /// The links (both directions) of the edges between a node in `group` and one outside it.
  std::vector<Link*> linksAcross(const std::set<std::size_t>& group) {
    std::vector<Link*> out;
    for (const auto& [a, b] : m_edges) {
      if (group.contains(a) != group.contains(b)) {
        out.push_back(m_links[a][b]);
        out.push_back(m_links[b][a]);
      }
    }
    return out;
  }
  LinkEmulator& emulator() { return m_emulator; }

  /// Node i imports `count` new clippings of about `bodyBytes` bytes of text each, signed by
  /// its own author key, through the store's write path (store::ingestClippings), as
  /// `fieldsync import` in another process would while the daemon runs.
  std::vector<store::ObjectId> importClippings(std::size_t i, std::size_t count,
                                               std::size_t bodyBytes = 300) {
    GossipNode& node = *m_nodes.at(i);
    std::vector<protocol::Clipping> clippings;
    for (std::size_t k = 0; k < count; ++k) {
      const std::uint64_t number = node.imported++;
      protocol::Clipping c;
      c.title = "Office " + std::to_string(i) + " clipping " + std::to_string(number);
      c.source = "office-" + std::to_string(i);
      for (std::size_t w = 0; c.body.size() < bodyBytes; ++w) {
        c.body += (w ? " " : "") + std::string(WORDS[(number * 7 + w * 13 + i) % WORDS.size()]);
      }
      auto normal = protocol::normalizeClipping(std::move(c));
      if (!normal) throw std::runtime_error("clipping: " + normal.error());
      clippings.push_back(std::move(normal).value());
    }
    const auto result =
        store::ingestClippings(*node.archive, node.author, clippings, 1'700'000'000 + i);
    if (result.stored.size() != count) throw std::runtime_error("import stored fewer clippings");
    return result.stored;
  }

  /// Node i's author takes back clippings it signed: a retraction stored through the store's
  /// write path, as `fieldsync retract` in another process would while the daemon runs.
  void retract(std::size_t i, std::vector<store::ObjectId> ids) {
    GossipNode& node = *m_nodes.at(i);
    std::sort(ids.begin(), ids.end());
    protocol::Retraction retraction;
    retraction.clippings = std::move(ids);
    retraction.reason = "names a source";
    auto object = protocol::sign({node.author.publicKey(), 1'700'000'100, retraction}, node.author);
    if (!object) throw std::runtime_error("retraction: " + object.error().message());
    node.archive->write([&](store::WriteTxn& txn) { (void)txn.put(*object); });
  }
  /// How many nodes hold the object id.
  std::size_t holding(const store::ObjectId& id) const {
    return static_cast<std::size_t>(
        std::count_if(m_nodes.begin(), m_nodes.end(), [&](const auto& node) {
          return node->archive && node->archive->beginRead().contains(id);
        }));
  }
  std::uint64_t imported(std::size_t i) const { return m_nodes.at(i)->imported; }

  /// Node i's archive state (count and fingerprint), as sessions exchange it.
  protocol::sync::ArchiveState state(std::size_t i) const {
    const auto txn = m_nodes.at(i)->archive->beginRead();
    const store::ArchiveRangeIndex index(txn);
    return protocol::sync::archiveState(index.sum(0, index.size()));
  }
  /// Every node holds the same archive (killed nodes, archive closed, count as different).
  bool converged() const {
    if (!m_nodes.front()->archive) return false;
    const auto first = state(0);
    for (std::size_t i = 1; i < m_nodes.size(); ++i) {
      if (!m_nodes[i]->archive || !(state(i) == first)) return false;
    }
    return true;
  }
  /// The nodes of `group` hold the same archive with `count` objects.
  bool groupHolds(const std::set<std::size_t>& group, std::uint64_t count) const {
    const auto first = state(*group.begin());
    if (first.count != count) return false;
    return std::all_of(group.begin(), group.end(),
                       [&](std::size_t i) { return state(i) == first; });
  }
  /// Polls pred every `poll` until it holds (the time it took) or deadline passes (empty).
  template <typename Pred>
  static std::optional<std::chrono::steady_clock::duration> waitFor(
      Pred pred, std::chrono::steady_clock::duration deadline,
      std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
    const auto started = std::chrono::steady_clock::now();
    for (;;) {
      if (pred()) return std::chrono::steady_clock::now() - started;
      if (std::chrono::steady_clock::now() - started > deadline) return std::nullopt;
      std::this_thread::sleep_for(poll);
    }
  }
  std::optional<std::chrono::steady_clock::duration> waitForConvergence(
      std::chrono::steady_clock::duration deadline) {
    return waitFor([this] { return converged(); }, deadline);
  }

  /// How many of node i's stored objects fail protocol::verify or are stored under an id
  /// that is not theirs. Reads every object.
  std::size_t invalidObjects(std::size_t i) const {
    std::size_t invalid = 0;
    m_nodes.at(i)->archive->beginRead().forEach(
        [&](const store::ObjectId& id, std::span<const std::uint8_t> bytes) {
          const auto verified = protocol::verify(bytes);
          if (!verified.ok() || !(verified.value().id() == id)) ++invalid;
          return true;
        });
    return invalid;
  }

  /// "node 0: 120 objects 3fa2c1d0 | node 1: ...": for a failure message.
  std::string describeStates() const {
    std::ostringstream out;
    for (std::size_t i = 0; i < m_nodes.size(); ++i) {
      out << (i ? " | " : "") << "node " << i << ": ";
      if (!m_nodes[i]->archive) {
        out << "closed";
        continue;
      }
      const auto s = state(i);
      out << s.count << " objects " << s.fingerprint.hex().substr(0, 8);
    }
    return out.str();
  }

  SessionTally& tally() { return m_tally; }

 private:
  static constexpr std::array<const char*, 16> WORDS = {
      "drought", "harvest", "market",  "rainfall", "district", "cooperative", "price", "road",
      "clinic",  "school",  "council", "river",    "border",   "livestock",   "water", "report"};

  void openArchive(std::size_t i) {
    store::Options options;
    options.dir = m_nodes[i]->dir;
    options.create = true;
    options.initialMapBytes = 16u << 20;
    m_nodes[i]->archive = store::Archive::open(options);
  }
  void makeDaemon(std::size_t i) {
    GossipNode& node = *m_nodes[i];
    node::DaemonOptions options = m_options.daemon;
    options.server.listen = node.endpoint.empty() ? "tcp://127.0.0.1:*" : node.endpoint;
    options.seed = m_options.daemon.seed ? m_options.daemon.seed + i : 0;
    if (m_options.perNode) m_options.perNode(i, options);
    auto chain = [this](std::function<void(const node::SessionReport&)> user) {
      return [this, user = std::move(user)](const node::SessionReport& report) {
        m_tally.add(report);
        if (user) user(report);
      };
    };
    options.server.onSession = chain(m_options.daemon.server.onSession);
    options.onDialed = chain(m_options.daemon.onDialed);
    node::ServerLog log = m_options.log;
    if (!log)
      log = [](const std::string&) {};
    else
      log = [i, log](const std::string& line) { log("node " + std::to_string(i) + ": " + line); };
    node.daemon = std::make_unique<node::Daemon>(*node.archive, node.identity, options, log);
    node.endpoint = node.daemon->endpoint();
  }
  void listPeer(std::size_t from, std::size_t to) {
    store::PeerRecord peer;
    peer.name = "node" + std::to_string(to);
    peer.address = "tcp://127.0.0.1:" + std::to_string(m_links[from][to]->port());
    peer.key = m_nodes[to]->identity.publicKey();
    m_nodes[from]->archive->write([&](store::WriteTxn& txn) {
      if (!store::putPeer(txn, peer, store::IfNameListed::Replace).ok()) {
        throw std::runtime_error("putPeer refused " + peer.name);
      }
    });
  }

  std::filesystem::path m_root;
  std::vector<Edge> m_edges;
  NetworkOptions m_options;
  SessionTally m_tally;
  std::vector<std::unique_ptr<GossipNode>> m_nodes;  // emptied first by the destructor
  LinkEmulator m_emulator;
  std::vector<std::vector<Link*>> m_links;  // [from][to]
};

}  // namespace fieldsync::testing
