// The server on real sockets over loopback, running on its own thread against a real archive:
// a good client converges with it; a hostile client with a listed key sends each kind of
// invalid input and gets an error naming it, with nothing of it stored, while the server
// goes on serving; an unlisted key, a client without CURVE and a silent client get nowhere.
// Every wait is bounded; none of the checks is on timing.
#include "node/server.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "node/client.h"
#include "protocol/sync.h"
#include "store/peers.h"
#include "store/store_fixture.h"
#include "support/endless_round.h"

namespace fieldsync::node {
namespace {

using namespace std::chrono_literals;
using store::testing::clipping;
using store::testing::keyNumber;
using store::testing::signBody;
using store::testing::TempArchive;
namespace sync = protocol::sync;

constexpr auto ANSWER_WAIT = 5000ms;   // a reply normally takes milliseconds
constexpr auto REFUSED_WAIT = 1200ms;  // how long a refused client is given to get through

/// Limits that keep the tests quick: quick reconnects, no lingering.
TransportLimits testLimits() {
  TransportLimits limits;
  limits.sendTimeout = 2000ms;
  limits.receiveTimeout = 2000ms;
  limits.handshakeTimeout = 3000ms;
  limits.reconnectInterval = 100ms;
  limits.reconnectIntervalMax = 200ms;
  limits.linger = 0ms;
  return limits;
}

std::vector<protocol::VerifiedObject> clippings(std::uint8_t signer, int from, int to) {
  const auto key = keyNumber(signer);
  std::vector<protocol::VerifiedObject> out;
  for (int i = from; i < to; ++i) {
    out.push_back(
        signBody(key,
                 clipping("Clipping " + std::to_string(i) + " by " + std::to_string(signer),
                          "Body of clipping " + std::to_string(i)),
                 1'700'000'000 + i));
  }
  return out;
}

Bytes bytesOf(const protocol::VerifiedObject& object) {
  return {object.bytes().begin(), object.bytes().end()};
}

std::set<protocol::ObjectId> idsOf(const store::Archive& archive) {
  std::set<protocol::ObjectId> ids;
  archive.beginRead().forEach([&](const protocol::ObjectId& id, auto) {
    ids.insert(id);
    return true;
  });
  return ids;
}

void listPeer(store::Archive& archive, const std::string& name, const protocol::PublicKey& key) {
  archive.write([&](store::WriteTxn& txn) {
    const auto put = store::putPeer(txn, {name, "tcp://127.0.0.1:7420", key, {}, {}},
                                    store::IfNameListed::Refuse);
    ASSERT_TRUE(put.ok()) << put.error().message;
  });
}

/// The server's log lines, as `fieldsync serve` would print them; thread-safe.
class Log {
 public:
  ServerLog callback() {
    return [this](const std::string& line) {
      std::lock_guard lock(m_mutex);
      m_lines.push_back(line);
      m_changed.notify_all();
    };
  }
  /// The first line holding every one of parts, waiting up to wait for it.
  std::optional<std::string> find(const std::vector<std::string>& parts,
                                  std::chrono::milliseconds wait = ANSWER_WAIT) {
    std::unique_lock lock(m_mutex);
    std::optional<std::string> found;
    m_changed.wait_for(lock, wait, [&] {
      for (const auto& line : m_lines) {
        bool all = true;
        for (const auto& part : parts) all = all && line.find(part) != std::string::npos;
        if (all) {
          found = line;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  /// How many lines hold part.
  std::size_t count(const std::string& part) {
    std::lock_guard lock(m_mutex);
    return static_cast<std::size_t>(
        std::count_if(m_lines.begin(), m_lines.end(),
                      [&](const auto& l) { return l.find(part) != std::string::npos; }));
  }
  std::string all() {
    std::lock_guard lock(m_mutex);
    std::string text;
    for (const auto& line : m_lines) text += line + "\n";
    return text;
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<std::string> m_lines;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_server.putAll(clippings(1, 0, 40));
    m_good.putAll(clippings(2, 0, 30));
    listPeer(*m_server.archive, "good", m_goodKey.publicKey());
    listPeer(*m_server.archive, "hostile", m_hostileKey.publicKey());
  }
  void TearDown() override { stopServer(); }

  /// penalize off by default: these tests send one hostile input after another under one key,
  /// and each would get it refused (tests/node/hostile_test.cpp tests the refusal).
  void startServer(std::chrono::milliseconds idleTimeout = 10'000ms, bool penalize = false,
                   const std::function<void(ServerOptions&)>& adjust = {}) {
    ServerOptions options;
    options.listen = "tcp://127.0.0.1:*";
    options.penalize = penalize;
    options.transport = testLimits();
    options.transport.linger = 1000ms;  // its last words reach the peers when it stops
    options.idleTimeout = idleTimeout;
    if (adjust) adjust(options);
    m_running = std::make_unique<Server>(*m_server.archive, m_serverKey, options, m_log.callback());
    m_endpoint = m_running->endpoint();
    m_thread = std::thread([this] { m_running->run(); });
  }
  void stopServer() {
    if (!m_running) return;
    m_running->stop();
    m_thread.join();
    m_running.reset();
  }

  SyncOptions syncOptions() const {
    SyncOptions options;
    options.transport = testLimits();
    options.connectTimeout = 5000ms;
    options.idleTimeout = 10'000ms;
    return options;
  }
  ClientReport syncFrom(store::Archive& archive, const protocol::SecretKey& key) {
    return syncOnce(archive, key, m_endpoint, m_serverKey.publicKey(), "server", syncOptions());
  }
  /// A good client, given a clipping the server lacks, syncs: both end with the same ids.
  void expectServesAGoodClient() {
    m_good.putAll(clippings(2, 1000 + m_extra, 1001 + m_extra));
    ++m_extra;
    const auto report = syncFrom(*m_good.archive, m_goodKey);
    ASSERT_TRUE(report.ok) << report.failure << "\n" << m_log.all();
    EXPECT_TRUE(report.inStep);
    EXPECT_EQ(idsOf(*m_good.archive), idsOf(*m_server.archive));
  }

  /// A CURVE DEALER with the hostile (but listed) key, connected to the server.
  zmq::socket_t hostileSocket() {
    auto socket = makeClientSocket(m_context, m_hostileKey, m_serverKey.publicKey(), testLimits());
    connectEndpoint(socket, m_endpoint);
    return socket;
  }
  static void sendRaw(zmq::socket_t& socket, const Bytes& message) {
    ASSERT_TRUE(socket.send(zmq::buffer(message), zmq::send_flags::none)) << "link not up";
  }
  /// What the server answers, until a Failure, a message of the kind `until` names, or wait
  /// passes without a message.
  static std::vector<sync::Message> answers(zmq::socket_t& socket,
                                            std::chrono::milliseconds wait = ANSWER_WAIT,
                                            std::string_view until = "error") {
    std::vector<sync::Message> out;
    for (;;) {
      zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, wait) == 0) return out;
      zmq::message_t message;
      if (!socket.recv(message, zmq::recv_flags::dontwait)) continue;
      auto decoded =
          sync::decode({static_cast<const std::uint8_t*>(message.data()), message.size()});
      EXPECT_TRUE(decoded.ok()) << "the server sent something undecodable";
      if (!decoded) return out;
      out.push_back(std::move(*decoded));
      if (std::holds_alternative<sync::Failure>(out.back()) ||
          sync::messageName(out.back()) == until)
        return out;
    }
  }
  /// Hello and an empty round 1: the point where the server takes batches.
  static void openToBatches(zmq::socket_t& socket) {
    sync::Hello hello;
    hello.salt.fill(7);
    sendRaw(socket, sync::encode(hello));
    sendRaw(socket, sync::encode(sync::Reconcile{1, true, {}}));
  }

  /// Sends messages from a fresh hostile connection and expects: a Failure naming reason,
  /// a log line for the session naming it too, nothing stored, a good client served after.
  void expectRefused(const std::vector<Bytes>& messages, const std::string& reason,
                     bool afterOpening = false) {
    SCOPED_TRACE("expecting \"" + reason + "\"");
    const auto before = idsOf(*m_server.archive);
    auto socket = hostileSocket();
    if (afterOpening) openToBatches(socket);
    for (const auto& message : messages) sendRaw(socket, message);
    const auto got = answers(socket);
    ASSERT_FALSE(got.empty()) << "no answer\n" << m_log.all();
    const auto* failure = std::get_if<sync::Failure>(&got.back());
    ASSERT_NE(failure, nullptr) << "the last answer is a " << sync::messageName(got.back());
    EXPECT_NE(failure->reason.find(reason), std::string::npos) << failure->reason;
    EXPECT_TRUE(m_log.find({"peer hostile: failed", reason})) << m_log.all();
    EXPECT_EQ(idsOf(*m_server.archive), before);
    expectServesAGoodClient();
  }

  // The context first: the sockets made in it die before it.
  zmq::context_t m_context;
  TempArchive m_server, m_good;
  protocol::SecretKey m_serverKey = keyNumber(10);
  protocol::SecretKey m_goodKey = keyNumber(11);
  protocol::SecretKey m_hostileKey = keyNumber(12);
  protocol::SecretKey m_strangerKey = keyNumber(13);
  Log m_log;
  std::unique_ptr<Server> m_running;
  std::string m_endpoint;
  std::thread m_thread;
  int m_extra = 0;
};

TEST_F(ServerTest, AGoodClientConvergesWithTheServerBothWays) {
  startServer();
  EXPECT_TRUE(m_endpoint.starts_with("tcp://127.0.0.1:")) << m_endpoint;
  std::set<protocol::ObjectId> all = idsOf(*m_server.archive);
  for (const auto& id : idsOf(*m_good.archive)) all.insert(id);

  const auto report = syncFrom(*m_good.archive, m_goodKey);
  ASSERT_TRUE(report.ok) << report.failure << "\n" << m_log.all();
  EXPECT_TRUE(report.inStep);
  EXPECT_EQ(report.stats.objectsIn, 40u);
  EXPECT_EQ(report.stats.objectsOut, 30u);
  EXPECT_EQ(idsOf(*m_good.archive), all);
  EXPECT_EQ(idsOf(*m_server.archive), all);
  EXPECT_TRUE(m_log.find({"peer good: in 30 objects", "out 40 objects", "in step"})) << m_log.all();

  // Again: nothing to move, one round trip.
  const auto again = syncFrom(*m_good.archive, m_goodKey);
  ASSERT_TRUE(again.ok) << again.failure;
  EXPECT_EQ(again.stats.objectsIn + again.stats.objectsOut, 0u);
  EXPECT_EQ(again.stats.roundTrips(), 1u);
  EXPECT_EQ(idsOf(*m_server.archive), all);
}

TEST_F(ServerTest, GarbageAndUndecodableMessagesAreRefusedByName) {
  startServer();
  expectRefused({Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
                "undecodable message");
  Bytes cut = sync::encode(sync::Hello{});
  cut.resize(cut.size() / 2);
  expectRefused({cut}, "undecodable message");
  expectRefused({Bytes{}}, "undecodable message");
}

TEST_F(ServerTest, BadObjectsInABatchAreRefusedByNameAndNoneOfTheBatchIsStored) {
  startServer();
  const auto objects = clippings(9, 0, 3);
  auto batch = [](const std::vector<Bytes>& content, std::uint32_t number = 1) {
    std::vector<std::span<const std::uint8_t>> spans(content.begin(), content.end());
    return sync::encode(sync::packBatch(number, spans));
  };
  const Bytes good1 = bytesOf(objects[0]), good2 = bytesOf(objects[1]);

  Bytes forged = bytesOf(objects[2]);
  forged[forged.size() - 9] ^= 0x01;  // inside the signature, the last field
  expectRefused({batch({good1, good2, forged})}, "object 3: bad signature", true);

  // The payload changed after signing: its id changes, and the signature no longer holds.
  Bytes tampered = bytesOf(objects[2]);
  const std::string title = "Clipping 2 by 9";
  const auto at = std::search(tampered.begin(), tampered.end(), title.begin(), title.end());
  ASSERT_NE(at, tampered.end());
  *at = 'K';
  expectRefused({batch({good1, tampered})}, "object 2: bad signature", true);

  Bytes padded = bytesOf(objects[2]);
  padded.insert(padded.end(), 8, 0);  // a valid message with a trailing word: not canonical
  expectRefused({batch({good1, padded})}, "object 2: non-canonical", true);

  Bytes cutObject = bytesOf(objects[2]);
  cutObject.resize(cutObject.size() - 16);
  expectRefused({batch({good1, cutObject})}, "object 2: malformed", true);
}

TEST_F(ServerTest, OversizedAndTruncatedBatchesAreRefusedByName) {
  startServer();
  const auto objects = clippings(9, 0, 2);
  std::vector<std::span<const std::uint8_t>> spans{objects[0].bytes(), objects[1].bytes()};

  sync::Batch huge;
  huge.number = 1;
  huge.objects = 1;
  huge.rawBytes = 64u << 20;
  huge.compression = sync::Compression::Zstd;
  huge.content = {1, 2, 3};
  expectRefused({sync::encode(huge)}, "over the limit", true);

  sync::Batch many = sync::packBatch(1, spans);
  many.objects = 100'000;
  expectRefused({sync::encode(many)}, "over the limit", true);

  // The content ends inside the second object, and says so in rawBytes.
  sync::Batch cut;
  cut.number = 1;
  cut.objects = 2;
  for (const auto& span : spans) {
    cut.content.push_back(static_cast<std::uint8_t>(0x80 | (span.size() & 0x7f)));
    cut.content.push_back(static_cast<std::uint8_t>(span.size() >> 7));
    cut.content.insert(cut.content.end(), span.begin(), span.end());
  }
  ASSERT_LT(spans[1].size(), 1u << 14);
  cut.content.resize(cut.content.size() - 20);
  cut.rawBytes = static_cast<std::uint32_t>(cut.content.size());
  expectRefused({sync::encode(cut)}, "oversized or cut", true);

  // A compressed batch whose compressed content is cut short.
  sync::Batch repeated = sync::packBatch(1, {spans[0], spans[0], spans[0], spans[0]});
  ASSERT_EQ(repeated.compression, sync::Compression::Zstd);
  repeated.content.resize(repeated.content.size() / 2);
  expectRefused({sync::encode(repeated)}, "does not decompress", true);

  auto lying = sync::packBatch(1, spans);
  lying.objects = 1;
  expectRefused({sync::encode(lying)}, "more objects than it says", true);
}

// A message over the transport's bound never reaches the session: libzmq closes the link
// that carries it. Nothing is stored and the server goes on.
TEST_F(ServerTest, AMessageOverTheTransportLimitIsDroppedWithItsLink) {
  startServer();
  const auto before = idsOf(*m_server.archive);
  auto socket = hostileSocket();
  openToBatches(socket);
  const auto opened = answers(socket, ANSWER_WAIT, "done");  // the server's hello and done
  ASSERT_FALSE(opened.empty());
  ASSERT_TRUE(std::holds_alternative<sync::Done>(opened.back()));
  Bytes huge(static_cast<std::size_t>(testLimits().maxMessageBytes), 0x5a);
  sendRaw(socket, huge);
  for (const auto& answer : answers(socket, REFUSED_WAIT)) {
    EXPECT_FALSE(std::holds_alternative<sync::Ack>(answer));
  }
  EXPECT_EQ(idsOf(*m_server.archive), before);
  expectServesAGoodClient();
}

TEST_F(ServerTest, MessagesOutOfOrderAreRefusedByName) {
  startServer();
  const auto object = bytesOf(clippings(9, 0, 1)[0]);
  std::vector<std::span<const std::uint8_t>> spans{object};
  const Bytes batch1 = sync::encode(sync::packBatch(1, spans));

  expectRefused({batch1}, "expected hello, got batch");
  expectRefused({sync::encode(sync::Ack{1, {}})}, "expected hello, got ack");

  sync::Hello hello;
  hello.salt.fill(7);
  expectRefused({sync::encode(hello), sync::encode(sync::Reconcile{5, true, {}})},
                "round 5 out of turn");
  expectRefused({sync::encode(hello), sync::encode(hello)}, "a second hello");
  expectRefused({sync::encode(sync::Ack{7, {}})}, "ack for batch 7", true);
  expectRefused({sync::encode(sync::packBatch(2, spans))}, "batch 2 out of order", true);
}

TEST_F(ServerTest, AnUnlistedKeyIsRefusedAndLogged) {
  startServer();
  const auto before = idsOf(*m_server.archive);
  TempArchive stranger;
  stranger.putAll(clippings(13, 0, 5));
  auto options = syncOptions();
  const auto report = syncOnce(*stranger.archive, m_strangerKey, m_endpoint,
                               m_serverKey.publicKey(), "server", options);
  EXPECT_FALSE(report.ok);
  EXPECT_TRUE(report.refused) << report.failure;
  EXPECT_FALSE(report.unreachable);
  EXPECT_NE(report.failure.find("refused us"), std::string::npos) << report.failure;
  const auto curve = protocol::toHex(m_strangerKey.curveSecretKey().publicKey().bytes);
  EXPECT_TRUE(m_log.find({"refused a CURVE connection from 127.0.0.1", curve})) << m_log.all();
  EXPECT_EQ(idsOf(*m_server.archive), before);
  EXPECT_EQ(stranger.count(), 5u);
  expectServesAGoodClient();
}

TEST_F(ServerTest, AClientWithoutCurveGetsNothingAndTheServerGoesOn) {
  startServer();
  zmq::socket_t plain(m_context, zmq::socket_type::dealer);  // the NULL mechanism
  plain.set(zmq::sockopt::linger, 0);
  plain.set(zmq::sockopt::sndtimeo, 500);
  plain.connect(m_endpoint);
  sync::Hello hello;
  hello.salt.fill(7);
  (void)plain.send(zmq::buffer(sync::encode(hello)), zmq::send_flags::dontwait);  // queued
  zmq::pollitem_t item{plain.handle(), 0, ZMQ_POLLIN, 0};
  EXPECT_EQ(zmq::poll(&item, 1, REFUSED_WAIT), 0);
  EXPECT_FALSE(m_log.find({"peer "}, 0ms)) << m_log.all();  // no session was opened
  expectServesAGoodClient();
}

TEST_F(ServerTest, ASilentClientIsDroppedAfterTheIdleTimeoutWithoutBlockingOthers) {
  startServer(1000ms);
  auto silent = hostileSocket();
  sync::Hello hello;
  hello.salt.fill(7);
  sendRaw(silent, sync::encode(hello));
  // Others are served while this one says nothing (normally long before it is dropped).
  expectServesAGoodClient();

  const auto got = answers(silent);
  ASSERT_GE(got.size(), 2u) << m_log.all();
  EXPECT_TRUE(std::holds_alternative<sync::Hello>(got.front()));
  const auto* failure = std::get_if<sync::Failure>(&got.back());
  ASSERT_NE(failure, nullptr);
  EXPECT_NE(failure->reason.find("no message for"), std::string::npos) << failure->reason;
  EXPECT_TRUE(m_log.find({"peer hostile: failed", "no message for"})) << m_log.all();
  expectServesAGoodClient();
}

TEST_F(ServerTest, StopEndsOpenSessionsAndTellsTheirPeers) {
  startServer();
  auto open = hostileSocket();
  sync::Hello hello;
  hello.salt.fill(7);
  sendRaw(open, sync::encode(hello));
  ASSERT_FALSE(answers(open, ANSWER_WAIT, "hello").empty());
  // Read while the server winds down, as a client does: a DEALER that loses its link drops
  // what it has not read yet (ZMQ_IMMEDIATE).
  m_running->stop();
  const auto last = answers(open);
  ASSERT_FALSE(last.empty()) << m_log.all();
  const auto* failure = std::get_if<sync::Failure>(&last.back());
  ASSERT_NE(failure, nullptr);
  EXPECT_NE(failure->reason.find("shutting down"), std::string::npos) << failure->reason;
  EXPECT_TRUE(m_log.find({"peer hostile: failed", "the server shut down"})) << m_log.all();
}

// --- Hostile peers: penalties, bounds, gaps closed ------------------------------------------

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A raw TCP connection from source (a loopback address: 127.0.0.2 stands for another host)
/// to the server's port; -1 when it cannot be made. Closed by the caller.
int rawConnect(const std::string& endpoint, const char* source) {
  const auto port = static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

class HostileTest : public ServerTest {
 protected:
  void startPenalizing(std::chrono::milliseconds idleTimeout = 10'000ms) {
    startServer(idleTimeout, true);
  }
  std::optional<store::PeerRecord> stored(const std::string& name) {
    return store::findPeer(m_server.archive->beginRead(), name);
  }
  /// Waits (bounded) until the peer's stored state shows a refusal.
  bool waitRefused(const std::string& name) {
    for (int i = 0; i < 100; ++i) {
      if (auto peer = stored(name); peer && peer->state.refusedAt(unixNow())) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  /// The hostile key can no longer open a session: its sync is refused at the handshake.
  void expectHostileRefusedAtTheHandshake() {
    TempArchive mine;
    const auto report = syncFrom(*mine.archive, m_hostileKey);
    EXPECT_FALSE(report.ok);
    EXPECT_TRUE(report.refused) << report.failure;
    EXPECT_TRUE(m_log.find({"refused a CURVE connection", "is refused until"})) << m_log.all();
  }
};

// Scenario a: a listed peer floods garbage, valid frames out of turn and big messages as fast
// as it can. Its first violation ends its session, refuses it (stored, with the reason) and
// cuts its connection; a good peer is served during the flood; nothing of it is stored.
TEST_F(HostileTest, AFloodingPeerIsRefusedCutOffAndTheGoodPeerIsServedMeanwhile) {
  startPenalizing();
  const auto before = idsOf(*m_server.archive);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> sent{0};
  std::thread flood([&] {
    zmq::context_t context;
    auto socket = makeClientSocket(context, m_hostileKey, m_serverKey.publicKey(), testLimits());
    socket.set(zmq::sockopt::sndtimeo, 100);
    connectEndpoint(socket, m_endpoint);
    sync::Hello hello;
    hello.salt.fill(7);
    const std::vector<Bytes> messages = {
        sync::encode(hello), Bytes(64 * 1024, 0x5a), sync::encode(sync::Ack{9, {}}),
        Bytes{1, 2, 3},      sync::encode(hello),    Bytes(1 << 20, 0x11)};
    for (std::size_t i = 0; !stop && i < 200'000; ++i) {
      if (socket.send(zmq::buffer(messages[i % messages.size()]), zmq::send_flags::none)) ++sent;
    }
  });
  const bool refused = waitRefused("hostile");
  expectServesAGoodClient();
  stop = true;
  flood.join();
  ASSERT_TRUE(refused) << m_log.all();
  const auto peer = stored("hostile");
  EXPECT_FALSE(peer->state.refusedReason.empty());
  EXPECT_EQ(peer->state.refusals, 1u);
  EXPECT_GT(peer->state.refusedUntil, unixNow() + store::FIRST_REFUSAL - 60);
  EXPECT_TRUE(m_log.find({"peer hostile: refused until"})) << m_log.all();
  EXPECT_GT(sent.load(), 0u);
  std::set<protocol::ObjectId> expected = before;
  for (const auto& id : idsOf(*m_good.archive)) expected.insert(id);
  EXPECT_EQ(idsOf(*m_server.archive), expected);  // the good peer's, nothing else
  expectHostileRefusedAtTheHandshake();
  // The good peer is untouched by the other's penalty.
  EXPECT_FALSE(stored("good")->state.refusedAt(unixNow()));
}

// Issue 18.5: lock.mdb deleted under a running server, and a new one made by another opener (as
// a second command would): the server notices within its re-read of the peer list, stops
// writing and says why; everything it acknowledged is in the archive as the new opener sees it.
TEST_F(ServerTest, AServerWhoseLockFileIsReplacedStopsAndLosesNothingItAcknowledged) {
  ServerOptions options;
  options.listen = "tcp://127.0.0.1:*";
  options.transport = testLimits();
  options.peerListRefresh = 100ms;
  Server server(*m_server.archive, m_serverKey, options, m_log.callback());
  m_endpoint = server.endpoint();
  auto running = std::async(std::launch::async, [&] {
    try {
      server.run();
      return std::string("run() returned without an error");
    } catch (const Error& e) {
      return std::string(e.what());
    }
  });
  expectServesAGoodClient();
  std::filesystem::remove(m_server.options.dir / "lock.mdb");
  auto other = store::Archive::open({.dir = m_server.options.dir});
  const bool stopped = running.wait_for(20s) == std::future_status::ready;
  if (!stopped) server.stop();
  const std::string why = running.get();
  ASSERT_TRUE(stopped) << m_log.all();
  EXPECT_NE(why.find("lock.mdb was deleted or replaced"), std::string::npos) << why;
  EXPECT_EQ(idsOf(*other), idsOf(*m_good.archive));
}

// Issue 18.1: a listed peer sends Hello, then round-1 frames of 65,536 fingerprint ranges each
// (every one over a span the server holds nothing in, so each asks for an answer) that never
// say `last`. The reply the server builds grows with the round: past the fixed bound of a
// round it is refused like any other violation (stored, cut off), not served until it runs
// out of memory.
TEST_F(HostileTest, RoundOneFramesThatNeverEndAreRefusedAtTheRoundBound) {
  startPenalizing();
  auto socket = hostileSocket();
  sync::Hello hello;
  hello.salt.fill(7);
  sendRaw(socket, sync::encode(hello));
  std::size_t sent = 0;
  for (std::int64_t f = 0; f < 3; ++f) {  // 196,608 ranges: past the bound within the third
    if (!socket.send(zmq::buffer(fieldsync::testing::endlessRoundFrame(f)), zmq::send_flags::none))
      break;
    ++sent;
  }
  EXPECT_EQ(sent, 3u);
  // Decoding 196,608 ranges takes seconds in a sanitizer build: wait for the refusal itself
  // (answers returns at once when it comes).
  const auto got = answers(socket, 60'000ms);
  ASSERT_FALSE(got.empty()) << m_log.all();
  const auto* failure = std::get_if<sync::Failure>(&got.back());
  ASSERT_NE(failure, nullptr) << sync::messageName(got.back());
  EXPECT_NE(failure->reason.find("holds more than 131072 ranges"), std::string::npos)
      << failure->reason;
  ASSERT_TRUE(waitRefused("hostile")) << m_log.all();
  EXPECT_NE(stored("hostile")->state.refusedReason.find("holds more than"), std::string::npos)
      << stored("hostile")->state.refusedReason;
  expectServesAGoodClient();
  expectHostileRefusedAtTheHandshake();
}

// The same attack, reconnecting before each session reaches the bound: two frames per
// connection, again and again. What a replaced session's round held counts towards the next
// session's (the peer is refused within a few connections; before, never), and the frames a
// connection queued before its session was replaced are dropped unread: no session opens for
// them and nothing is logged (before, two log lines a frame).
TEST_F(HostileTest, AnEndlessRoundIsRefusedThoughThePeerReconnectsBeforeTheBound) {
  startPenalizing();
  sync::Hello hello;
  hello.salt.fill(7);
  bool refused = false;
  std::int64_t frame = 0;
  for (int connection = 0; connection < 8 && !refused; ++connection) {
    // The link does not come up, or no greeting comes: refused at the handshake already (the
    // Failure that said so was lost with the connection it came on); the stored refusal is
    // checked below.
    auto socket = hostileSocket();
    if (!socket.send(zmq::buffer(sync::encode(hello)), zmq::send_flags::none)) {
      refused = true;
      break;
    }
    const auto greeting = answers(socket, 30'000ms, "hello");
    if (greeting.empty() || std::holds_alternative<sync::Failure>(greeting.back())) {
      refused = true;
      break;
    }
    // The second send may find the connection cut already: refused at the first frame.
    for (int f = 0; f < 2; ++f)
      if (!socket.send(zmq::buffer(fieldsync::testing::endlessRoundFrame(frame++)),
                       zmq::send_flags::none))
        break;
    // A failure comes when the carried round passes the bound; the frames alone ask for none.
    const auto got = answers(socket, 2'000ms);
    refused = !got.empty() && std::holds_alternative<sync::Failure>(got.back());
  }
  ASSERT_TRUE(waitRefused("hostile")) << m_log.all();
  EXPECT_NE(stored("hostile")->state.refusedReason.find("left unfinished in its previous session"),
            std::string::npos)
      << stored("hostile")->state.refusedReason;
  EXPECT_FALSE(m_log.find({"expected hello, got reconcile"}, 0ms)) << m_log.all();
  expectServesAGoodClient();
  expectHostileRefusedAtTheHandshake();
}

// Replies that wait for a link's cap are bounded (ServerOptions::maxQueuedReplyBytes; 32 MiB in
// `serve`, 2 kB here): a peer on a capped link that asks for more than that ahead of what the
// cap lets leave ends its session as a violation and is refused, and what waited is dropped.
TEST_F(HostileTest, RepliesWaitingForALinksCapPastTheBoundEndTheSessionAndRefuseThePeer) {
  m_server.archive->write([&](store::WriteTxn& txn) {
    const auto changed = store::updatePeerSettings(
        txn, "hostile", [](store::PeerSettings& settings) { settings.rate = 100; });
    ASSERT_TRUE(changed.ok());
  });
  startServer(10'000ms, true, [](ServerOptions& options) { options.maxQueuedReplyBytes = 2000; });
  auto socket = hostileSocket();
  sync::Hello hello;
  hello.salt.fill(7);
  sendRaw(socket, sync::encode(hello));
  // Round 1 says "I have nothing anywhere": the answer is the server's 40 clippings, which at
  // 100 bytes a second would leave over minutes.
  protocol::Frame all{protocol::Bound::lowest(), {}};
  protocol::RangeEntry nothing;
  nothing.upper = protocol::Bound::end();
  nothing.mode = protocol::RangeMode::IdList;
  all.ranges.push_back(nothing);
  sendRaw(socket, sync::encode(sync::Reconcile{1, true, protocol::encodeFrame(all)}));
  const auto got = answers(socket, 30'000ms);
  ASSERT_FALSE(got.empty()) << m_log.all();
  const auto* failure = std::get_if<sync::Failure>(&got.back());
  ASSERT_NE(failure, nullptr) << sync::messageName(got.back());
  EXPECT_NE(failure->reason.find("more than 2k of replies ahead of its link's cap"),
            std::string::npos)
      << failure->reason;
  ASSERT_TRUE(waitRefused("hostile")) << m_log.all();
  expectServesAGoodClient();
  expectHostileRefusedAtTheHandshake();
}

// Scenario b: hundreds of TCP connections that never finish the handshake (silent, or a part
// of a greeting) from one address, and unlisted CURVE clients retrying from another: the
// server cuts connections over the per-address cap at once, refuses the strangers at ZAP, and
// serves the good peer meanwhile.
TEST_F(HostileTest, HandshakesThatNeverCompleteAreCappedPerAddressAndTheGoodPeerIsServed) {
  startPenalizing();
  const auto before = idsOf(*m_server.archive);
  std::vector<int> raw;
  const unsigned char partialGreeting[] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3};
  for (int i = 0; i < 300; ++i) {
    const int fd = rawConnect(m_endpoint, "127.0.0.2");
    ASSERT_GE(fd, 0) << "connection " << i;
    if (i % 2 == 1) (void)::send(fd, partialGreeting, sizeof partialGreeting, MSG_NOSIGNAL);
    raw.push_back(fd);
  }
  std::vector<zmq::socket_t> strangers;
  const auto port = m_endpoint.substr(m_endpoint.rfind(':') + 1);
  for (int i = 0; i < 20; ++i) {
    auto limits = testLimits();
    limits.reconnectIntervalMax = 100ms;  // retrying as fast as libzmq lets them
    strangers.push_back(makeClientSocket(m_context, keyNumber(static_cast<std::uint8_t>(40 + i)),
                                         m_serverKey.publicKey(), limits));
    connectEndpoint(strangers.back(), "tcp://127.0.0.3:0;127.0.0.1:" + port);
  }
  expectServesAGoodClient();
  EXPECT_TRUE(m_log.find({"connections from 127.0.0.2", "more than 32 open from one address"}))
      << m_log.all();
  EXPECT_TRUE(m_log.find({"refused a CURVE connection from 127.0.0.3", "is not a listed peer's"}))
      << m_log.all();
  // Twenty strangers retrying for the length of a sync: one line, not one per refusal (one
  // per address a minute; a busy machine may let a minute pass).
  EXPECT_LE(m_log.count("connection from 127.0.0.3"), 2u) << m_log.all();
  for (int fd : raw) ::close(fd);
  strangers.clear();
  expectServesAGoodClient();
  std::set<protocol::ObjectId> expected = before;
  for (const auto& id : idsOf(*m_good.archive)) expected.insert(id);
  EXPECT_EQ(idsOf(*m_server.archive), expected);
  // Strangers and raw connections have no key: nobody listed was refused for them.
  for (const auto& peer : store::listPeers(m_server.archive->beginRead()))
    EXPECT_FALSE(peer.state.refusedAt(unixNow())) << peer.name;
}

// Scenario c: ten thousand objects with bad signatures, in proper batches of 1,000. The first
// batch fails verification, none of it is stored, the peer is refused and cut off: the rest
// is never verified. The good peer is served meanwhile.
TEST_F(HostileTest, TenThousandObjectsWithBadSignaturesAreRefusedAndNoneIsStored) {
  startPenalizing();
  const auto before = idsOf(*m_server.archive);
  std::vector<Bytes> forged;
  for (const auto& object : clippings(9, 0, 1000)) {
    forged.push_back(bytesOf(object));
    forged.back()[forged.back().size() - 9] ^= 0x01;  // inside the signature
  }
  std::thread attack([&] {
    zmq::context_t context;
    auto socket = makeClientSocket(context, m_hostileKey, m_serverKey.publicKey(), testLimits());
    socket.set(zmq::sockopt::sndtimeo, 500);
    connectEndpoint(socket, m_endpoint);
    sync::Hello hello;
    hello.salt.fill(7);
    (void)socket.send(zmq::buffer(sync::encode(hello)), zmq::send_flags::none);
    (void)socket.send(zmq::buffer(sync::encode(sync::Reconcile{1, true, {}})),
                      zmq::send_flags::none);
    for (std::uint32_t number = 1; number <= 10; ++number) {
      std::vector<std::span<const std::uint8_t>> spans(forged.begin(), forged.end());
      if (!socket.send(zmq::buffer(sync::encode(sync::packBatch(number, spans))),
                       zmq::send_flags::none))
        break;  // cut off
    }
  });
  const bool refused = waitRefused("hostile");
  expectServesAGoodClient();
  attack.join();
  ASSERT_TRUE(refused) << m_log.all();
  EXPECT_NE(stored("hostile")->state.refusedReason.find("bad signature"), std::string::npos)
      << stored("hostile")->state.refusedReason;
  std::set<protocol::ObjectId> expected = before;
  for (const auto& id : idsOf(*m_good.archive)) expected.insert(id);
  EXPECT_EQ(idsOf(*m_server.archive), expected);
  expectHostileRefusedAtTheHandshake();
}

TEST_F(HostileTest, ARefusedPeerIsRefusedAtTheHandshakeUntilForgiven) {
  m_server.archive->write([&](store::WriteTxn& txn) {
    ASSERT_TRUE(store::refusePeer(txn, m_hostileKey.publicKey(), "garbage", unixNow()));
  });
  startPenalizing();
  expectHostileRefusedAtTheHandshake();
  std::optional<Expected<store::PeerRecord, store::PeerProblem>> forgiven;
  m_server.archive->write(
      [&](store::WriteTxn& txn) { forgiven.emplace(store::forgivePeer(txn, "hostile")); });
  ASSERT_TRUE(forgiven->ok());
  // The server re-reads the list every peerListRefresh (2 s): a sync within 10 s gets through.
  TempArchive mine;
  mine.putAll(clippings(12, 0, 2));
  ClientReport report;
  for (int i = 0; i < 10 && !report.ok; ++i) {
    report = syncFrom(*mine.archive, m_hostileKey);
    if (!report.ok) std::this_thread::sleep_for(1s);
  }
  EXPECT_TRUE(report.ok) << report.failure << "\n" << m_log.all();
}

TEST_F(HostileTest, RemovingAPeerEndsItsOpenSessionAndItsConnection) {
  startPenalizing();
  auto open = hostileSocket();
  sync::Hello hello;
  hello.salt.fill(7);
  sendRaw(open, sync::encode(hello));
  ASSERT_FALSE(answers(open, ANSWER_WAIT, "hello").empty());
  m_server.archive->write(
      [&](store::WriteTxn& txn) { EXPECT_TRUE(store::removePeer(txn, "hostile")); });
  EXPECT_TRUE(m_log.find({"peer hostile: failed", "no longer lists the peer"}, 10'000ms))
      << m_log.all();
  // Nothing it sends now opens a session (its connection is cut, a new one is refused).
  (void)open.send(zmq::buffer(sync::encode(hello)), zmq::send_flags::dontwait);
  for (const auto& answer : answers(open, REFUSED_WAIT))
    EXPECT_FALSE(std::holds_alternative<sync::Hello>(answer));
  expectServesAGoodClient();
}

TEST_F(HostileTest, AClientThatDiesIsDroppedWhenItsConnectionEndsNotAfterTheIdleTimeout) {
  startPenalizing(600'000ms);  // ten minutes: only the connection's end can drop it in time
  {
    zmq::context_t context;
    auto dying = makeClientSocket(context, m_hostileKey, m_serverKey.publicKey(), testLimits());
    connectEndpoint(dying, m_endpoint);
    sync::Hello hello;
    hello.salt.fill(7);
    sendRaw(dying, sync::encode(hello));
    ASSERT_FALSE(answers(dying, ANSWER_WAIT, "hello").empty());
  }  // the socket and its context close: the TCP connection ends, as when a process dies
  EXPECT_TRUE(m_log.find({"peer hostile: failed", "the link was cut"}, 10'000ms)) << m_log.all();
  EXPECT_FALSE(stored("hostile")->state.refusedAt(unixNow()));  // dying is no misbehaviour
  expectServesAGoodClient();
}

// A listed peer whose link came back mid-session sends the rest of its session on a new
// connection: that session fails, but it is no misbehaviour and nobody is refused for it.
TEST_F(HostileTest, AValidMessageOutOfTurnOnANewConnectionIsNotPunished) {
  startPenalizing();
  auto socket = hostileSocket();
  sendRaw(socket, sync::encode(sync::Ack{3, {}}));
  const auto got = answers(socket);
  ASSERT_FALSE(got.empty());
  EXPECT_TRUE(std::holds_alternative<sync::Failure>(got.back()));
  EXPECT_TRUE(m_log.find({"peer hostile: failed", "expected hello, got ack"})) << m_log.all();
  EXPECT_FALSE(stored("hostile")->state.refusedAt(unixNow()));
}

}  // namespace
}  // namespace fieldsync::node

namespace fieldsync::node {
namespace {

TEST_F(ServerTest, AKeptLinkCarriesSessionAfterSessionWithoutAHandshake) {
  startServer();
  KeptLink link(m_goodKey, m_serverKey.publicKey(), testLimits());
  const auto first = link.session(*m_good.archive, m_endpoint, "server", syncOptions());
  ASSERT_TRUE(first.ok) << first.failure << "\n" << m_log.all();
  EXPECT_TRUE(first.newLink);
  EXPECT_TRUE(link.up());

  // In step, nothing new: the opening the daemon plans (peer_link.h) on the open link.
  SyncOptions inStep = syncOptions();
  inStep.session.opening = protocol::Reconciler::Opening::InStep;
  const auto second = link.session(*m_good.archive, m_endpoint, "server", inStep);
  ASSERT_TRUE(second.ok) << second.failure << "\n" << m_log.all();
  EXPECT_FALSE(second.newLink);
  EXPECT_TRUE(second.inStep);
  EXPECT_EQ(second.stats.roundTrips(), 1u);
  std::cerr << "in-step session on a kept link: " << second.stats.bytesIn + second.stats.bytesOut
            << " bytes of messages\n";

  // New objects on either side travel on the same link.
  m_good.putAll(clippings(2, 500, 505));
  m_server.putAll(clippings(1, 500, 503));
  const auto third = link.session(*m_good.archive, m_endpoint, "server", syncOptions());
  ASSERT_TRUE(third.ok) << third.failure;
  EXPECT_FALSE(third.newLink);
  EXPECT_EQ(third.stats.objectsIn, 3u);
  EXPECT_EQ(third.stats.objectsOut, 5u);
  EXPECT_EQ(idsOf(*m_good.archive), idsOf(*m_server.archive));
}

TEST_F(ServerTest, AKeptLinkWhoseServerRestartedConnectsAnew) {
  startServer();
  KeptLink link(m_goodKey, m_serverKey.publicKey(), testLimits());
  ASSERT_TRUE(link.session(*m_good.archive, m_endpoint, "server", syncOptions()).ok);
  const std::string endpoint = m_endpoint;
  stopServer();
  // The same port again (a restart); the old connection is gone.
  ServerOptions options;
  options.listen = endpoint;
  options.transport = testLimits();
  options.penalize = false;
  m_running = std::make_unique<Server>(*m_server.archive, m_serverKey, options, m_log.callback());
  m_thread = std::thread([this] { m_running->run(); });
  m_good.putAll(clippings(2, 600, 601));
  ClientReport report;
  for (int attempt = 0; attempt < 3 && !report.ok; ++attempt)
    report = link.session(*m_good.archive, endpoint, "server", syncOptions());
  ASSERT_TRUE(report.ok) << report.failure << "\n" << m_log.all();
  EXPECT_EQ(idsOf(*m_good.archive), idsOf(*m_server.archive));
}

}  // namespace
}  // namespace fieldsync::node
