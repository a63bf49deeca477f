#include "node/transport.h"

#include <zmq_addon.hpp>

#include <cerrno>
#include <cstring>
#include <iterator>

// A "draft" option in zmq.h, so hidden unless libzmq was built with drafts; the stable 4.3
// library accepts it all the same (tests/node/transport_test.cpp checks that it does).
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

namespace fieldsync::node {
namespace {

constexpr const char* ZAP_ENDPOINT = "inproc://zeromq.zap.01";
constexpr std::string_view ZAP_VERSION = "1.0";
// How often the ZAP thread looks at its stop flag between requests.
constexpr std::chrono::milliseconds ZAP_POLL{50};

using zap_enforce_domain_t = zmq::sockopt::integral_option<ZMQ_ZAP_ENFORCE_DOMAIN, int, true>;

/// socket.set(option, value), a failure named after the option.
template <typename Option, typename Value>
void setOption(zmq::socket_t& socket, Option option, const Value& value, std::string_view name) {
  try {
    socket.set(option, value);
  } catch (const zmq::error_t& e) {
    throw zmqError("zmq_setsockopt(" + std::string(name) + ")", e);
  }
}

int milliseconds(std::chrono::milliseconds duration) { return static_cast<int>(duration.count()); }

/// What both ends of a link share: bounds, heartbeats, timeouts.
void applyLimits(zmq::socket_t& socket, const TransportLimits& limits) {
  // ZMTP carries the TTL in deciseconds in 16 bits.
  if (limits.heartbeatTimeout > std::chrono::milliseconds(6'553'500))
    throw Error("TransportLimits: heartbeatTimeout is at most 6553 s");
  setOption(socket, zmq::sockopt::maxmsgsize, limits.maxMessageBytes, "ZMQ_MAXMSGSIZE");
  setOption(socket, zmq::sockopt::sndhwm, limits.sendHighWater, "ZMQ_SNDHWM");
  setOption(socket, zmq::sockopt::rcvhwm, limits.receiveHighWater, "ZMQ_RCVHWM");
  setOption(socket, zmq::sockopt::heartbeat_ivl, milliseconds(limits.heartbeatInterval),
            "ZMQ_HEARTBEAT_IVL");
  setOption(socket, zmq::sockopt::heartbeat_timeout, milliseconds(limits.heartbeatTimeout),
            "ZMQ_HEARTBEAT_TIMEOUT");
  setOption(socket, zmq::sockopt::heartbeat_ttl, milliseconds(limits.heartbeatTimeout),
            "ZMQ_HEARTBEAT_TTL");
  setOption(socket, zmq::sockopt::connect_timeout, milliseconds(limits.connectTimeout),
            "ZMQ_CONNECT_TIMEOUT");
  setOption(socket, zmq::sockopt::handshake_ivl, milliseconds(limits.handshakeTimeout),
            "ZMQ_HANDSHAKE_IVL");
  setOption(socket, zmq::sockopt::sndtimeo, milliseconds(limits.sendTimeout), "ZMQ_SNDTIMEO");
  setOption(socket, zmq::sockopt::rcvtimeo, milliseconds(limits.receiveTimeout), "ZMQ_RCVTIMEO");
  setOption(socket, zmq::sockopt::linger, milliseconds(limits.linger), "ZMQ_LINGER");
}

zmq::const_buffer keyBuffer(std::span<const std::uint8_t, protocol::CURVE_KEY_BYTES> key) {
  return zmq::const_buffer(key.data(), key.size());
}

zmq::socket_t makeSocket(zmq::context_t& context, zmq::socket_type type, std::string_view name) {
  try {
    return zmq::socket_t(context, type);
  } catch (const zmq::error_t& e) {
    throw zmqError("zmq_socket(" + std::string(name) + ")", e);
  }
}

std::string_view text(const zmq::message_t& frame) { return frame.to_string_view(); }

}  // namespace

// --- AllowList -------------------------------------------------------------------------------

void AllowList::replace(const std::vector<protocol::PublicKey>& keys,
                        const std::map<protocol::PublicKey, std::string>& refused) {
  std::map<protocol::CurvePublicKey, protocol::PublicKey> next;
  std::map<protocol::PublicKey, std::string> nextRefused;
  for (const auto& key : keys) {
    if (auto curve = protocol::toCurve(key)) {
      next.emplace(*curve, key);
      if (auto it = refused.find(key); it != refused.end()) nextRefused.emplace(key, it->second);
    }
  }
  std::lock_guard lock(m_mutex);
  m_keys = std::move(next);
  m_refused = std::move(nextRefused);
}

bool AllowList::refuse(const protocol::PublicKey& key, const std::string& why) {
  auto curve = protocol::toCurve(key);
  if (!curve) return false;
  std::lock_guard lock(m_mutex);
  if (!m_keys.contains(*curve)) return false;
  m_refused.insert_or_assign(key, why);
  return true;
}

std::optional<std::string> AllowList::refusal(const protocol::PublicKey& key) const {
  std::lock_guard lock(m_mutex);
  auto it = m_refused.find(key);
  if (it == m_refused.end()) return std::nullopt;
  return it->second;
}

bool AllowList::admits(const protocol::PublicKey& key) const {
  auto curve = protocol::toCurve(key);
  if (!curve) return false;
  std::lock_guard lock(m_mutex);
  return m_keys.contains(*curve) && !m_refused.contains(key);
}

void AllowList::add(const protocol::PublicKey& key) {
  auto curve = protocol::toCurve(key);
  if (!curve) return;
  std::lock_guard lock(m_mutex);
  m_keys.insert_or_assign(*curve, key);
}

void AllowList::remove(const protocol::PublicKey& key) {
  auto curve = protocol::toCurve(key);
  if (!curve) return;
  std::lock_guard lock(m_mutex);
  m_keys.erase(*curve);
  m_refused.erase(key);
}

std::optional<protocol::PublicKey> AllowList::find(const protocol::CurvePublicKey& curveKey) const {
  std::lock_guard lock(m_mutex);
  auto it = m_keys.find(curveKey);
  if (it == m_keys.end()) return std::nullopt;
  return it->second;
}

// --- ZapHandler ------------------------------------------------------------------------------

ZapHandler::ZapHandler(zmq::context_t& context, const AllowList& allow, ZapLog log)
    : m_allow(allow),
      m_log(std::move(log)),
      m_socket(makeSocket(context, zmq::socket_type::rep, "ZMQ_REP")) {
  setOption(m_socket, zmq::sockopt::linger, 0, "ZMQ_LINGER");
  setOption(m_socket, zmq::sockopt::rcvtimeo, milliseconds(ZAP_POLL), "ZMQ_RCVTIMEO");
  // Bound before the constructor returns, so a server made afterwards finds the handler.
  try {
    m_socket.bind(ZAP_ENDPOINT);
  } catch (const zmq::error_t& e) {
    throw zmqError(std::string("zmq_bind(") + ZAP_ENDPOINT + ")", e);
  }
  m_thread = std::thread([this] { run(); });
}

ZapHandler::~ZapHandler() {
  m_stop = true;
  m_thread.join();
}

void ZapHandler::run() {
  while (!m_stop) {
    std::vector<zmq::message_t> request;
    try {
      if (!zmq::recv_multipart(m_socket, std::back_inserter(request))) continue;  // timed out
      answer(request);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;  // the context is closing: no more handshakes to answer
      // Anything else concerns this request alone; REP is ready for the next one only after
      // a reply, which answer() sends first thing, so the loop goes on.
    }
  }
}

void ZapHandler::answer(std::vector<zmq::message_t>& request) {
  // Request (RFC 27): version, request id, domain, address, routing id, mechanism,
  // credentials... Reply: version, request id, status code, status text, user id, metadata.
  std::string status = "400", statusText, userId;
  ZapRefusal refusal;
  if (request.size() < 6 || text(request[0]) != ZAP_VERSION) {
    refusal.reason = "malformed ZAP request";
  } else {
    refusal.mechanism = std::string(text(request[5]));
    refusal.address = std::string(text(request[3]));
    if (text(request[2]) != ZAP_DOMAIN) {
      refusal.reason = "ZAP domain \"" + std::string(text(request[2])) + "\" is not fieldsync's";
    } else if (refusal.mechanism != "CURVE") {
      refusal.reason =
          "mechanism " + refusal.mechanism + " refused: fieldsync links are CURVE only";
    } else if (request.size() != 7 || request[6].size() != protocol::CURVE_KEY_BYTES) {
      refusal.reason = "malformed CURVE credentials";
    } else {
      protocol::CurvePublicKey curve;
      std::memcpy(curve.bytes.data(), request[6].data(), curve.bytes.size());
      auto peer = m_allow.find(curve);
      auto refused = peer ? m_allow.refusal(*peer) : std::nullopt;
      if (refused) {
        refusal.reason = "peer " + peer->hex().substr(0, 16) + "... is " + *refused;
      } else if (peer) {
        status = "200";
        statusText = "OK";
        userId = peer->hex();
      } else {
        refusal.reason = "CURVE key " + protocol::toHex(curve.bytes) + " is not a listed peer's";
      }
    }
  }
  if (status != "200") statusText = refusal.reason;

  const std::string requestId = request.size() > 1 ? std::string(text(request[1])) : "";
  std::array<zmq::const_buffer, 6> reply = {zmq::buffer(ZAP_VERSION), zmq::buffer(requestId),
                                            zmq::buffer(status),      zmq::buffer(statusText),
                                            zmq::buffer(userId),      zmq::const_buffer()};
  (void)zmq::send_multipart(m_socket, reply);

  if (status != "200" && m_log) {
    try {
      m_log(refusal);
    } catch (...) {  // NOLINT: a failing log must not stop the handler (see ZapLog)
    }
  }
}

// --- Sockets ---------------------------------------------------------------------------------

zmq::socket_t makeServerSocket(zmq::context_t& context, const protocol::SecretKey& identity,
                               const TransportLimits& limits) {
  auto socket = makeSocket(context, zmq::socket_type::router, "ZMQ_ROUTER");
  const auto secret = identity.curveSecretKey();
  const auto publicKey = secret.publicKey();
  setOption(socket, zmq::sockopt::curve_server, true, "ZMQ_CURVE_SERVER");
  setOption(socket, zmq::sockopt::curve_secretkey, keyBuffer(secret.bytes()),
            "ZMQ_CURVE_SECRETKEY");
  setOption(socket, zmq::sockopt::curve_publickey, keyBuffer(publicKey.bytes),
            "ZMQ_CURVE_PUBLICKEY");
  setOption(socket, zmq::sockopt::zap_domain, ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN");
  // Without this, libzmq lets every CURVE client in when no ZAP handler is bound (the
  // "Stonehouse" default): with it, a server without a handler admits nobody.
  setOption(socket, zap_enforce_domain_t{}, true, "ZMQ_ZAP_ENFORCE_DOMAIN");
  setOption(socket, zmq::sockopt::router_mandatory, true, "ZMQ_ROUTER_MANDATORY");
  applyLimits(socket, limits);
  setOption(socket, zmq::sockopt::rcvhwm, limits.serverReceiveHighWater, "ZMQ_RCVHWM");
  return socket;
}

zmq::socket_t makeClientSocket(zmq::context_t& context, const protocol::SecretKey& identity,
                               const protocol::PublicKey& server, const TransportLimits& limits) {
  const auto serverCurve = protocol::toCurve(server);
  if (!serverCurve)
    throw Error("makeClientSocket: server key " + server.hex() + " is not a usable Ed25519 key");
  auto socket = makeSocket(context, zmq::socket_type::dealer, "ZMQ_DEALER");
  const auto secret = identity.curveSecretKey();
  const auto publicKey = secret.publicKey();
  setOption(socket, zmq::sockopt::curve_serverkey, keyBuffer(serverCurve->bytes),
            "ZMQ_CURVE_SERVERKEY");
  setOption(socket, zmq::sockopt::curve_publickey, keyBuffer(publicKey.bytes),
            "ZMQ_CURVE_PUBLICKEY");
  setOption(socket, zmq::sockopt::curve_secretkey, keyBuffer(secret.bytes()),
            "ZMQ_CURVE_SECRETKEY");
  setOption(socket, zmq::sockopt::immediate, true, "ZMQ_IMMEDIATE");
  setOption(socket, zmq::sockopt::reconnect_ivl, milliseconds(limits.reconnectInterval),
            "ZMQ_RECONNECT_IVL");
  setOption(socket, zmq::sockopt::reconnect_ivl_max, milliseconds(limits.reconnectIntervalMax),
            "ZMQ_RECONNECT_IVL_MAX");
  applyLimits(socket, limits);
  return socket;
}

std::string bindEndpoint(zmq::socket_t& socket, const std::string& endpoint) {
  try {
    socket.bind(endpoint);
    return socket.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    throw zmqError("zmq_bind(" + endpoint + ")", e);
  }
}

void connectEndpoint(zmq::socket_t& socket, const std::string& endpoint) {
  try {
    socket.connect(endpoint);
  } catch (const zmq::error_t& e) {
    throw zmqError("zmq_connect(" + endpoint + ")", e);
  }
}

std::optional<protocol::PublicKey> peerOf(const zmq::message_t& message) {
  // zmq_msg_gets takes a non-const message; it only reads the metadata.
  const char* userId = zmq_msg_gets(const_cast<zmq_msg_t*>(message.handle()), "User-Id");
  if (userId == nullptr) return std::nullopt;
  return protocol::PublicKey::fromHex(userId);
}

Action zmqAction(int errnum) {
  switch (errnum) {
    case EAGAIN:
    case EINTR:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case ETIMEDOUT:
    case ENOTCONN:
    case EPIPE:
      return Action::Retry;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return Action::BackOff;
    default:
      return Action::Fail;
  }
}

Error zmqError(std::string_view call, const zmq::error_t& error) {
  return Error(std::string(call) + ": " + error.what(), zmqAction(error.num()));
}

}  // namespace fieldsync::node
