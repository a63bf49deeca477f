#pragma once
// The links between nodes: ZeroMQ sockets secured with CurveZMQ, their keys derived from the
// nodes' Ed25519 identities, and a ZAP handler that admits a client only when its key is a
// listed peer's. Sockets and security only: what travels over a link is the session's.
//
// A server is a ROUTER (makeServerSocket) in a context that runs a ZapHandler; a client is a
// DEALER (makeClientSocket). The server socket enforces its ZAP domain, so it fails closed: in
// a context without a running ZapHandler it admits nobody. A message on a server socket tells
// which peer sent it (peerOf), as the ZAP handler admitted it.
//
// Threads: a socket is used by one thread at a time (ZeroMQ's rule). A ZapHandler answers on
// a thread of its own; its AllowList may be changed from any thread while it runs, and a
// change applies to the connections made after it: an open connection stays open (the
// Server, node/server.h, ends those of keys no longer admitted).
// Lifetime: the zmq::context_t outlives every socket made in it and its ZapHandler: declare
// the context first. An AllowList outlives the ZapHandler that reads it.
// Errors: the functions here throw fieldsync::Error naming the failed call, with Action::Retry
// when the link is what failed. Sends and receives are cppzmq's own: one that would block past
// its timeout is an empty optional; one that fails throws zmq::error_t, which the session
// turns into fieldsync::Error with zmqError.

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/error.h"
#include "protocol/keys.h"

namespace fieldsync::node {

/// What CurveZMQ adds to each message on the wire ("MESSAGE" command, nonce, flags, MAC).
inline constexpr std::size_t CURVE_MESSAGE_OVERHEAD = 33;

/// Bounds on every link, applied to both ends. The defaults suit a slow, lossy link (a
/// satellite terminal, a 2G modem) and a sync that sends objects in bounded batches.
struct TransportLimits {
  /// A larger message closes the connection that carries it (ZMQ_MAXMSGSIZE): no peer makes
  /// us buffer more. libzmq counts the message as it travels, encrypted, so the largest that
  /// passes is maxMessageBytes - CURVE_MESSAGE_OVERHEAD.
  std::int64_t maxMessageBytes = 8 << 20;
  /// Messages queued per connection each way (ZMQ_SNDHWM, ZMQ_RCVHWM): with maxMessageBytes,
  /// what one connection can hold of our memory (16 x 8 MiB each way).
  int sendHighWater = 16;
  int receiveHighWater = 16;
  /// A server's ZMQ_RCVHWM instead (its ROUTER socket, per connection): a listed peer may open
  /// connections one after another, each filled with messages before it is dropped, and what
  /// they queued stays in memory until the server reads it. At 16 the endless-round attack held
  /// 170 MB of queued frames this way (docs/reliability.md); at 2 a connection holds at most
  /// 2 messages, and a client's sends wait for the server to read (TCP's own backpressure).
  int serverReceiveHighWater = 2;
  /// A ping after this long without traffic (ZMQ_HEARTBEAT_IVL).
  std::chrono::milliseconds heartbeatInterval{10'000};
  /// No traffic for this long closes the connection, on our side (ZMQ_HEARTBEAT_TIMEOUT) and,
  /// through our pings, on the peer's (ZMQ_HEARTBEAT_TTL). At most 6553 s.
  std::chrono::milliseconds heartbeatTimeout{30'000};
  /// A TCP connect, and a handshake (greeting, CURVE, ZAP), must finish within these
  /// (ZMQ_CONNECT_TIMEOUT, ZMQ_HANDSHAKE_IVL).
  std::chrono::milliseconds connectTimeout{30'000};
  std::chrono::milliseconds handshakeTimeout{30'000};
  /// A blocking send or receive gives up after this (ZMQ_SNDTIMEO, ZMQ_RCVTIMEO) and returns
  /// an empty optional. A client's send waits for an admitted connection (ZMQ_IMMEDIATE).
  std::chrono::milliseconds sendTimeout{30'000};
  std::chrono::milliseconds receiveTimeout{30'000};
  /// A client reconnects after reconnectInterval, doubling the wait after each failure up to
  /// reconnectIntervalMax (ZMQ_RECONNECT_IVL, ZMQ_RECONNECT_IVL_MAX).
  std::chrono::milliseconds reconnectInterval{1'000};
  std::chrono::milliseconds reconnectIntervalMax{300'000};
  /// How long a closed socket still tries to deliver what it queued (ZMQ_LINGER); also how
  /// long closing the context can wait for it.
  std::chrono::milliseconds linger{1'000};
};

/// The ZAP domain of fieldsync's server sockets. The ZapHandler refuses every other.
inline constexpr std::string_view ZAP_DOMAIN = "fieldsync";

/// The Ed25519 keys of the peers a server admits. Thread-safe. Keys without a CurveZMQ form
/// (protocol::toCurve) cannot connect and are left out. A listed key may be refused for now
/// (a penalty, store/peers.h): the ZapHandler then refuses it with the refusal's text.
class AllowList {
 public:
  AllowList() = default;
  explicit AllowList(const std::vector<protocol::PublicKey>& keys) { replace(keys); }
  AllowList(const AllowList&) = delete;
  AllowList& operator=(const AllowList&) = delete;

  /// The list becomes keys (for example the keys of store::listPeers after a change), of which
  /// those in refused are refused with the text given ("refused until TIME: REASON").
  void replace(const std::vector<protocol::PublicKey>& keys,
               const std::map<protocol::PublicKey, std::string>& refused = {});
  void add(const protocol::PublicKey& key);
  void remove(const protocol::PublicKey& key);
  /// Refuses a listed key (until the next replace); false when key is not listed.
  bool refuse(const protocol::PublicKey& key, const std::string& why);
  /// The listed Ed25519 key whose CurveZMQ form is curveKey, refused or not.
  std::optional<protocol::PublicKey> find(const protocol::CurvePublicKey& curveKey) const;
  /// Why a listed key is refused; empty when it is admitted or not listed.
  std::optional<std::string> refusal(const protocol::PublicKey& key) const;
  /// key is listed and not refused: a session under it may go on.
  bool admits(const protocol::PublicKey& key) const;

 private:
  mutable std::mutex m_mutex;
  std::map<protocol::CurvePublicKey, protocol::PublicKey> m_keys;
  std::map<protocol::PublicKey, std::string> m_refused;
};

/// A connection the ZapHandler refused, for the node's log.
struct ZapRefusal {
  std::string mechanism;  // "CURVE", "NULL", "PLAIN", as the client asked
  std::string address;    // the client's IP address, as ZeroMQ gives it
  std::string reason;     // one sentence: "CURVE key 3f2a... is not a listed peer's"
};
/// Called on the handler's thread; must not block for long (the handshake waits) and should
/// not throw (what it throws is dropped).
using ZapLog = std::function<void(const ZapRefusal&)>;

/// Answers ZAP requests (RFC 27) for every socket of one context: 200 for a CURVE client
/// whose key is in the AllowList and not refused there, with the peer's Ed25519 key in hex as its
/// user id
/// ("User-Id" of its messages, see peerOf); 400 for everything else: an unlisted or refused key,
/// another ZAP domain, the NULL, PLAIN or any other mechanism, a malformed request.
class ZapHandler {
 public:
  /// Binds inproc://zeromq.zap.01 in context and starts answering; Error when the context
  /// has a handler already. allow is read at every request.
  ZapHandler(zmq::context_t& context, const AllowList& allow, ZapLog log = {});
  /// Stops the thread (within about 50 ms) and joins it.
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

 private:
  void run();
  void answer(std::vector<zmq::message_t>& request);

  const AllowList& m_allow;
  ZapLog m_log;
  zmq::socket_t m_socket;  // used by m_thread only, once it runs
  std::atomic<bool> m_stop{false};
  std::thread m_thread;  // last: starts when everything it uses is ready
};

/// A ROUTER for serving peers: CURVE server with identity's derived key, ZAP domain
/// ZAP_DOMAIN enforced (no admission without a ZapHandler), ZMQ_ROUTER_MANDATORY (a send to
/// a peer that is gone fails with EHOSTUNREACH instead of vanishing) and limits. Not bound.
zmq::socket_t makeServerSocket(zmq::context_t& context, const protocol::SecretKey& identity,
                               const TransportLimits& limits = {});

/// A DEALER for connecting to the server whose Ed25519 key is server: CURVE client with
/// identity's derived keys, the server's key derived, ZMQ_IMMEDIATE (messages wait for an
/// admitted connection, not in a queue to nowhere), reconnect intervals and limits. Not
/// connected. Error when server is not a usable key (protocol::toCurve).
zmq::socket_t makeClientSocket(zmq::context_t& context, const protocol::SecretKey& identity,
                               const protocol::PublicKey& server,
                               const TransportLimits& limits = {});

/// Binds socket to endpoint ("tcp://0.0.0.0:7200"; port "*" picks a free one) and returns the
/// endpoint bound (ZMQ_LAST_ENDPOINT: "tcp://0.0.0.0:41203").
std::string bindEndpoint(zmq::socket_t& socket, const std::string& endpoint);
/// Connects socket to endpoint ("tcp://192.0.2.7:7200"); the link itself comes up (and comes
/// back) in the background.
void connectEndpoint(zmq::socket_t& socket, const std::string& endpoint);

/// The peer that sent message, received on a server socket: the Ed25519 key the ZapHandler
/// admitted it as. Empty for a message that did not come through a ZapHandler's admission.
/// Ask a frame the peer sent: the routing id frame a ROUTER adds in front carries nothing.
std::optional<protocol::PublicKey> peerOf(const zmq::message_t& message);

/// What to do after a ZeroMQ failure with this errno: Retry when the link is what failed
/// (unreachable, refused, reset, timed out, interrupted), BackOff when the machine is short
/// of something (files, buffers, memory), else Fail.
Action zmqAction(int errnum);
/// error as fieldsync::Error: "<call>: <zmq_strerror>", with zmqAction's advice.
Error zmqError(std::string_view call, const zmq::error_t& error);

}  // namespace fieldsync::node
