// The transport on real sockets over loopback: who gets in, who does not, and the bounds.
// Every wait is bounded; a test that "gets nothing" waits REFUSED_WAIT for it.
#include "node/transport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>

namespace fieldsync::node {
namespace {

using namespace std::chrono_literals;
using protocol::SecretKey;

constexpr auto ADMITTED_WAIT = 3000ms;  // a listed client's message normally takes milliseconds
constexpr auto REFUSED_WAIT = 1200ms;   // how long a refused client is given to get through

/// Limits that make the tests quick: short timeouts, quick reconnects, small messages.
TransportLimits testLimits() {
  TransportLimits limits;
  limits.maxMessageBytes = 64 << 10;
  limits.sendTimeout = 1000ms;
  limits.receiveTimeout = 1000ms;
  limits.handshakeTimeout = 2000ms;
  limits.reconnectInterval = 100ms;
  limits.reconnectIntervalMax = 200ms;
  limits.linger = 0ms;
  return limits;
}

/// The ZAP handler's refusals, as the node's log would get them.
class RefusalLog {
 public:
  ZapLog callback() {
    return [this](const ZapRefusal& refusal) {
      std::lock_guard lock(m_mutex);
      m_refusals.push_back(refusal);
      m_changed.notify_all();
    };
  }
  /// The first refusal, waiting up to ADMITTED_WAIT for one.
  std::optional<ZapRefusal> first() {
    std::unique_lock lock(m_mutex);
    if (!m_changed.wait_for(lock, ADMITTED_WAIT, [&] { return !m_refusals.empty(); }))
      return std::nullopt;
    return m_refusals.front();
  }
  std::size_t count() {
    std::lock_guard lock(m_mutex);
    return m_refusals.size();
  }
  bool refused(std::string_view mechanism) {
    std::lock_guard lock(m_mutex);
    return std::any_of(m_refusals.begin(), m_refusals.end(),
                       [&](const ZapRefusal& r) { return r.mechanism == mechanism; });
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<ZapRefusal> m_refusals;
};

/// A message received on a server socket: the routing id and the payload.
struct Received {
  zmq::message_t routingId;
  zmq::message_t payload;
};

/// The next message on a server socket within wait, if any.
std::optional<Received> receiveWithin(zmq::socket_t& server, std::chrono::milliseconds wait) {
  zmq::pollitem_t item{server.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, wait) == 0) return std::nullopt;
  Received received;
  if (!server.recv(received.routingId) || !server.recv(received.payload)) return std::nullopt;
  EXPECT_FALSE(received.payload.more());
  return received;
}

/// A client's send that waits for an admitted connection: false when none came in time.
bool sendFrom(zmq::socket_t& client, std::string_view text) {
  return client.send(zmq::buffer(text)).has_value();
}

class Transport : public ::testing::Test {
 protected:
  /// A PAIR socket that gets socket's events (ZeroMQ's monitor), at most events.
  zmq::socket_t monitor(zmq::socket_t& socket, int events) {
    const std::string endpoint = "inproc://monitor-" + std::to_string(m_monitors++);
    if (zmq_socket_monitor(socket.handle(), endpoint.c_str(), events) != 0) throw zmq::error_t();
    zmq::socket_t pair(m_context, zmq::socket_type::pair);
    pair.set(zmq::sockopt::linger, 0);
    pair.connect(endpoint);
    return pair;
  }
  /// True when the monitor reports event within ADMITTED_WAIT.
  static bool sawEvent(zmq::socket_t& monitor, int event) {
    const auto deadline = std::chrono::steady_clock::now() + ADMITTED_WAIT;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      zmq::pollitem_t item{monitor.handle(), 0, ZMQ_POLLIN, 0};
      if (left.count() <= 0 || zmq::poll(&item, 1, left) == 0) return false;
      zmq::message_t head, address;  // event (2 bytes) and value (4); the endpoint
      if (!monitor.recv(head) || !monitor.recv(address)) return false;
      std::uint16_t got = 0;
      std::memcpy(&got, head.data(), sizeof got);
      if (got == event) return true;
    }
  }

  /// A server bound to a free loopback port, its endpoint in m_endpoint.
  zmq::socket_t server(const TransportLimits& limits) {
    auto socket = makeServerSocket(m_context, m_serverKey, limits);
    m_endpoint = bindEndpoint(socket, "tcp://127.0.0.1:*");
    return socket;
  }
  zmq::socket_t client(const SecretKey& key, const TransportLimits& limits) {
    auto socket = makeClientSocket(m_context, key, m_serverKey.publicKey(), limits);
    connectEndpoint(socket, m_endpoint);
    return socket;
  }

  // The context first: everything made in it dies before it.
  zmq::context_t m_context;
  const TransportLimits m_limits = testLimits();
  SecretKey m_serverKey = SecretKey::generate();
  SecretKey m_goma = SecretKey::generate();
  SecretKey m_bukavu = SecretKey::generate();
  AllowList m_allow{{m_goma.publicKey()}};
  RefusalLog m_log;
  std::string m_endpoint;
  int m_monitors = 0;
};

TEST_F(Transport, AListedClientExchangesMessagesAndTheServerSeesItsKey) {
  ZapHandler zap(m_context, m_allow, m_log.callback());
  auto srv = server(m_limits);
  EXPECT_TRUE(m_endpoint.starts_with("tcp://127.0.0.1:")) << m_endpoint;
  EXPECT_NE(m_endpoint, "tcp://127.0.0.1:*");
  auto cli = client(m_goma, m_limits);

  ASSERT_TRUE(sendFrom(cli, "hello"));
  auto received = receiveWithin(srv, ADMITTED_WAIT);
  ASSERT_TRUE(received);
  EXPECT_EQ(received->payload.to_string_view(), "hello");
  EXPECT_EQ(peerOf(received->payload), m_goma.publicKey());
  EXPECT_FALSE(peerOf(received->routingId));  // ROUTER's own frame: no metadata

  ASSERT_TRUE(srv.send(received->routingId, zmq::send_flags::sndmore));
  ASSERT_TRUE(srv.send(zmq::buffer(std::string_view("welcome"))));
  zmq::message_t reply;
  ASSERT_TRUE(cli.recv(reply));  // within receiveTimeout
  EXPECT_EQ(reply.to_string_view(), "welcome");
  EXPECT_EQ(m_log.count(), 0u);
}

TEST_F(Transport, AClientWhoseKeyIsNotListedGetsNothingAndIsLogged) {
  ZapHandler zap(m_context, m_allow, m_log.callback());
  auto srv = server(m_limits);
  auto cli = client(m_bukavu, m_limits);

  EXPECT_FALSE(sendFrom(cli, "hello"));  // no admitted connection within sendTimeout
  EXPECT_FALSE(receiveWithin(srv, REFUSED_WAIT));
  auto refusal = m_log.first();
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->mechanism, "CURVE");
  EXPECT_EQ(refusal->address, "127.0.0.1");
  EXPECT_NE(refusal->reason.find(protocol::toHex(m_bukavu.curveSecretKey().publicKey().bytes)),
            std::string::npos)
      << refusal->reason;
}

TEST_F(Transport, AClientWithoutCurveGetsNothing) {
  ZapHandler zap(m_context, m_allow, m_log.callback());
  auto srv = server(m_limits);
  zmq::socket_t plain(m_context, zmq::socket_type::dealer);  // the NULL mechanism
  plain.set(zmq::sockopt::linger, 0);
  plain.set(zmq::sockopt::immediate, true);
  plain.set(zmq::sockopt::sndtimeo, 1000);
  plain.connect(m_endpoint);

  EXPECT_FALSE(sendFrom(plain, "hello"));
  EXPECT_FALSE(receiveWithin(srv, REFUSED_WAIT));
}

// The client authenticates the server too: one that holds another key (an impostor at the
// peer's address) gets no message, even from a client it would admit.
TEST_F(Transport, AClientSendsNothingToAServerWithAnotherKeyThanListed) {
  ZapHandler zap(m_context, m_allow, m_log.callback());
  auto srv = server(m_limits);
  auto cli = makeClientSocket(m_context, m_goma, m_bukavu.publicKey(), m_limits);
  connectEndpoint(cli, m_endpoint);

  EXPECT_FALSE(sendFrom(cli, "hello"));
  EXPECT_FALSE(receiveWithin(srv, REFUSED_WAIT));
}

// The CURVE server refuses other mechanisms in the handshake, before any ZAP request. The
// handler refuses them too, for any socket of the context that would ask it: here servers
// that use the NULL and the PLAIN mechanisms in fieldsync's ZAP domain.
TEST_F(Transport, TheZapHandlerRefusesTheNullAndPlainMechanisms) {
  ZapHandler zap(m_context, m_allow, m_log.callback());
  for (const bool usePlain : {false, true}) {
    zmq::socket_t srv(m_context, zmq::socket_type::router);
    srv.set(zmq::sockopt::linger, 0);
    srv.set(zmq::sockopt::zap_domain, ZAP_DOMAIN);
    if (usePlain) srv.set(zmq::sockopt::plain_server, true);
    const auto endpoint = bindEndpoint(srv, "tcp://127.0.0.1:*");
    zmq::socket_t cli(m_context, zmq::socket_type::dealer);
    cli.set(zmq::sockopt::linger, 0);
    cli.set(zmq::sockopt::immediate, true);
    cli.set(zmq::sockopt::sndtimeo, 500);
    if (usePlain) {
      cli.set(zmq::sockopt::plain_username, "goma");
      cli.set(zmq::sockopt::plain_password, "secret");
    }
    cli.connect(endpoint);

    EXPECT_FALSE(sendFrom(cli, "hello"));
    EXPECT_FALSE(receiveWithin(srv, REFUSED_WAIT));
  }
  auto refusal = m_log.first();
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->mechanism, "NULL");
  EXPECT_NE(refusal->reason.find("CURVE only"), std::string::npos);
  EXPECT_TRUE(m_log.refused("PLAIN"));
}

TEST_F(Transport, AServerWithoutAZapHandlerAdmitsNobody) {
  auto srv = server(m_limits);  // fail closed: ZMQ_ZAP_ENFORCE_DOMAIN
  EXPECT_EQ(srv.get(zmq::sockopt::integral_option<93, int>{}), 1);
  auto cli = client(m_goma, m_limits);

  EXPECT_FALSE(sendFrom(cli, "hello"));
  EXPECT_FALSE(receiveWithin(srv, REFUSED_WAIT));
}

// Why the option matters: with libzmq's default (0), a CURVE server in a context without a
// ZAP handler lets any client in, one whose key nobody listed. (Set before bind: a listener
// copies the socket's options when it is made.)
TEST_F(Transport, WithoutEnforcingTheDomainLibzmqWouldAdmitAnyCurveClient) {
  auto srv = makeServerSocket(m_context, m_serverKey, m_limits);
  srv.set(zmq::sockopt::integral_option<93, int>{}, 0);
  m_endpoint = bindEndpoint(srv, "tcp://127.0.0.1:*");
  auto cli = client(m_bukavu, m_limits);

  ASSERT_TRUE(sendFrom(cli, "hello"));
  auto received = receiveWithin(srv, ADMITTED_WAIT);
  ASSERT_TRUE(received);
  EXPECT_FALSE(peerOf(received->payload));  // admitted by nobody, so no user id
}

TEST_F(Transport, AMessageOverTheLimitClosesItsConnectionAndTheServerServesOthers) {
  ZapHandler zap(m_context, m_allow, m_log.callback());
  m_allow.add(m_bukavu.publicKey());
  auto srv = server(m_limits);
  auto disconnects = monitor(srv, ZMQ_EVENT_DISCONNECTED);
  auto big = client(m_goma, m_limits);
  auto small = client(m_bukavu, m_limits);

  // The largest message that passes is the limit less the CURVE framing.
  const auto largest = static_cast<std::size_t>(m_limits.maxMessageBytes) - CURVE_MESSAGE_OVERHEAD;
  ASSERT_TRUE(big.send(zmq::message_t(largest + 1), zmq::send_flags::none));
  EXPECT_TRUE(sawEvent(disconnects, ZMQ_EVENT_DISCONNECTED));
  EXPECT_FALSE(receiveWithin(srv, REFUSED_WAIT));

  ASSERT_TRUE(small.send(zmq::message_t(largest), zmq::send_flags::none));
  auto received = receiveWithin(srv, ADMITTED_WAIT);
  ASSERT_TRUE(received);
  EXPECT_EQ(received->payload.size(), largest);
  EXPECT_EQ(peerOf(received->payload), m_bukavu.publicKey());
}

TEST_F(Transport, PeersAddedOrRemovedWhileServingCountFromTheirNextConnection) {
  ZapHandler zap(m_context, m_allow, m_log.callback());
  auto srv = server(m_limits);
  {
    auto first = client(m_goma, m_limits);
    ASSERT_TRUE(sendFrom(first, "hello"));
    ASSERT_TRUE(receiveWithin(srv, ADMITTED_WAIT));

    m_allow.remove(m_goma.publicKey());
    // ZAP is asked once per connection: the open one stays open. A session that must drop a
    // removed peer at once checks peerOf() against the list itself.
    ASSERT_TRUE(sendFrom(first, "still here"));
    ASSERT_TRUE(receiveWithin(srv, ADMITTED_WAIT));
  }
  auto second = client(m_goma, m_limits);
  EXPECT_FALSE(sendFrom(second, "hello again"));
  EXPECT_FALSE(receiveWithin(srv, REFUSED_WAIT));
  ASSERT_TRUE(m_log.first());

  m_allow.add(m_bukavu.publicKey());
  auto third = client(m_bukavu, m_limits);
  ASSERT_TRUE(sendFrom(third, "new here"));
  auto received = receiveWithin(srv, ADMITTED_WAIT);
  ASSERT_TRUE(received);
  EXPECT_EQ(peerOf(received->payload), m_bukavu.publicKey());
}

TEST_F(Transport, ZeroMqFailuresAreErrorsNamingTheCallAndWhatToDo) {
  ZapHandler zap(m_context, m_allow);
  try {
    ZapHandler second(m_context, m_allow);
    ADD_FAILURE() << "a second ZAP handler in one context";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("zmq_bind(inproc://zeromq.zap.01)"), std::string::npos);
  }

  auto srv = server(m_limits);
  try {
    connectEndpoint(srv, "tcp://nowhere");
    ADD_FAILURE() << "connected to an endpoint without a port";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("zmq_connect(tcp://nowhere)"), std::string::npos);
    EXPECT_EQ(e.action(), Action::Fail);
  }

  // ZMQ_ROUTER_MANDATORY: a reply to a peer that is gone fails, and says try again later.
  try {
    (void)srv.send(zmq::buffer(std::string_view("gone")), zmq::send_flags::sndmore);
    ADD_FAILURE() << "sent to an unknown peer";
  } catch (const zmq::error_t& e) {
    EXPECT_EQ(e.num(), EHOSTUNREACH);
    EXPECT_EQ(zmqError("zmq_send", e).action(), Action::Retry);
  }
  EXPECT_EQ(zmqAction(ETIMEDOUT), Action::Retry);
  EXPECT_EQ(zmqAction(EMFILE), Action::BackOff);

  protocol::PublicKey notAKey;
  EXPECT_THROW((void)makeClientSocket(m_context, m_goma, notAKey, m_limits), Error);
}

TEST_F(Transport, ARefusedKeyIsRefusedAtTheHandshakeWithTheRefusalLogged) {
  ZapHandler zap(m_context, m_allow, m_log.callback());
  ASSERT_TRUE(m_allow.refuse(m_goma.publicKey(), "refused until 2026-11-28T02:00:00Z: garbage"));
  auto srv = server(m_limits);
  auto cli = client(m_goma, m_limits);
  EXPECT_FALSE(sendFrom(cli, "hello"));
  EXPECT_FALSE(receiveWithin(srv, REFUSED_WAIT));
  auto refusal = m_log.first();
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->reason.find("is refused until 2026-11-28T02:00:00Z: garbage"),
            std::string::npos)
      << refusal->reason;
}

TEST(AllowList, ARefusedKeyIsListedButNotAdmittedUntilTheListIsReplaced) {
  auto goma = SecretKey::generate();
  auto bukavu = SecretKey::generate();
  AllowList allow;
  EXPECT_FALSE(allow.refuse(goma.publicKey(), "not listed"));  // only listed keys
  allow.replace({goma.publicKey(), bukavu.publicKey()}, {{goma.publicKey(), "refused until X"}});
  EXPECT_EQ(allow.find(goma.curveSecretKey().publicKey()), goma.publicKey());
  EXPECT_FALSE(allow.admits(goma.publicKey()));
  EXPECT_EQ(allow.refusal(goma.publicKey()), "refused until X");
  EXPECT_TRUE(allow.admits(bukavu.publicKey()));
  EXPECT_FALSE(allow.refusal(bukavu.publicKey()));
  EXPECT_TRUE(allow.refuse(bukavu.publicKey(), "refused until Y"));
  EXPECT_FALSE(allow.admits(bukavu.publicKey()));
  allow.replace({goma.publicKey(), bukavu.publicKey()});  // the refusals ended
  EXPECT_TRUE(allow.admits(goma.publicKey()));
  EXPECT_TRUE(allow.admits(bukavu.publicKey()));
  allow.refuse(goma.publicKey(), "again");
  allow.remove(goma.publicKey());
  EXPECT_FALSE(allow.admits(goma.publicKey()));
  EXPECT_FALSE(allow.refusal(goma.publicKey()));
}

TEST(AllowList, FindsListedKeysByTheirCurveForm) {
  auto goma = SecretKey::generate();
  auto bukavu = SecretKey::generate();
  AllowList allow;
  const auto gomaCurve = goma.curveSecretKey().publicKey();
  EXPECT_FALSE(allow.find(gomaCurve));
  allow.replace({goma.publicKey(), bukavu.publicKey(), protocol::PublicKey{}});
  EXPECT_EQ(allow.find(gomaCurve), goma.publicKey());
  allow.remove(goma.publicKey());
  EXPECT_FALSE(allow.find(gomaCurve));
  EXPECT_EQ(allow.find(bukavu.curveSecretKey().publicKey()), bukavu.publicKey());
}

}  // namespace
}  // namespace fieldsync::node
