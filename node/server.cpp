#include "node/server.h"

#include <map>

#include "store/pause.h"
#include "store/peers.h"

namespace fieldsync::node {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Open {
  std::unique_ptr<Session> session;
  SessionReport report;
  Clock::time_point started;
  Clock::time_point lastHeard;
};

}  // namespace

struct Server::Impl {
  Impl(const protocol::SecretKey& identity, const TransportLimits& limits, ServerLog& log)
      : zap(context, allow,
            [&log](const ZapRefusal& refusal) {
              log("refused a " + refusal.mechanism + " connection from " + refusal.address + ": " +
                  refusal.reason);
            }),
        socket(makeServerSocket(context, identity, limits)) {}

  zmq::context_t context;  // first: outlives the handler and the socket
  AllowList allow;
  ZapHandler zap;
  zmq::socket_t socket;
  std::map<std::string, Open> sessions;  // by routing id
};

Server::Server(store::Archive& archive, const protocol::SecretKey& identity, ServerOptions options,
               ServerLog log)
    : m_archive(archive), m_options(std::move(options)), m_log(std::move(log)) {
  m_impl = std::make_unique<Impl>(identity, m_options.transport, m_log);
  // The ZAP handler answers from now on: give it the peer list before the socket listens, or
  // a listed peer that connects before run() is refused as a stranger (and backs off).
  std::vector<protocol::PublicKey> keys;
  for (const auto& peer : store::listPeers(m_archive.beginRead())) keys.push_back(peer.key);
  m_impl->allow.replace(keys);
  m_endpoint = bindEndpoint(m_impl->socket, m_options.listen);
}

Server::~Server() = default;

void Server::run() {
  auto& impl = *m_impl;
  auto refreshPeers = [&] {
    std::vector<protocol::PublicKey> keys;
    for (const auto& peer : store::listPeers(m_archive.beginRead())) keys.push_back(peer.key);
    impl.allow.replace(keys);
  };
  auto sendTo = [&](const std::string& routingId, const Bytes& message) {
    // ROUTER_MANDATORY: a peer that is gone or not reading fails the send; never blocks.
    try {
      return impl.socket
                 .send(zmq::buffer(routingId), zmq::send_flags::sndmore | zmq::send_flags::dontwait)
                 .has_value() &&
             impl.socket.send(zmq::buffer(message), zmq::send_flags::dontwait).has_value();
    } catch (const zmq::error_t&) {
      return false;
    }
  };
  auto close = [&](std::map<std::string, Open>::iterator it) {
    Open& open = it->second;
    open.report.stats = open.session->stats();
    open.report.ok = open.session->finished();
    open.report.inStep = open.session->inStep();
    if (!open.report.ok && open.report.failure.empty())
      open.report.failure = open.session->failure();
    open.report.seconds = std::chrono::duration<double>(Clock::now() - open.started).count();
    m_log(formatReport(open.report));
    try {
      recordSession(m_archive, open.report, unixNow());
    } catch (const Error& e) {
      // A full disk (or map) must not stop the server: the peer state waits for the next
      // session, and serving goes on.
      m_log("could not record the session with peer " + open.report.peer + ": " + e.what());
    }
    if (m_options.onSession) m_options.onSession(open.report);
    impl.sessions.erase(it);
  };

  // A pause (`fieldsync pause`) stops all traffic: sessions under way end, new ones are refused.
  std::optional<std::int64_t> paused;
  auto refreshPause = [&] {
    paused = store::pausedUntil(m_archive.beginRead(), unixNow());
    if (!paused) return;
    const std::string why = "traffic is paused on this node";
    for (auto it = impl.sessions.begin(); it != impl.sessions.end();) {
      auto next = std::next(it);
      sendTo(it->first, it->second.session->abort(why));
      it->second.report.failure = why;
      close(it);
      it = next;
    }
  };
  refreshPeers();
  refreshPause();
  auto nextRefresh = Clock::now() + m_options.peerListRefresh;
  while (!m_stop.load()) {
    zmq::pollitem_t item{impl.socket.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(200));
    const auto now = Clock::now();
    if (now >= nextRefresh) {
      refreshPeers();
      refreshPause();
      nextRefresh = now + m_options.peerListRefresh;
    }
    for (auto it = impl.sessions.begin(); it != impl.sessions.end();) {
      auto next = std::next(it);
      if (now - it->second.lastHeard > m_options.idleTimeout) {
        const std::string why =
            "no message for " + std::to_string(m_options.idleTimeout.count() / 1000) + " s";
        sendTo(it->first, it->second.session->abort(why));
        it->second.report.failure = why;
        close(it);
      }
      it = next;
    }
    if (!(item.revents & ZMQ_POLLIN)) continue;

    // A ROUTER hands each message as [routing id][payload]; a DEALER peer sends one frame.
    zmq::message_t id, payload;
    if (!impl.socket.recv(id, zmq::recv_flags::dontwait)) continue;
    if (!id.more()) continue;
    (void)impl.socket.recv(payload, zmq::recv_flags::dontwait);
    for (bool more = payload.more(); more;) {  // not our framing: drain it
      zmq::message_t extra;
      if (!impl.socket.recv(extra, zmq::recv_flags::dontwait)) break;
      more = extra.more();
    }
    const std::string routingId(static_cast<const char*>(id.data()), id.size());
    auto it = impl.sessions.find(routingId);
    if (it == impl.sessions.end()) {
      if (impl.sessions.size() >= m_options.maxSessions) {
        sendTo(routingId, protocol::sync::encode(protocol::sync::Failure{"busy: try again later"}));
        continue;
      }
      if (paused) {
        sendTo(routingId,
               protocol::sync::encode(protocol::sync::Failure{"traffic is paused on this node"}));
        continue;
      }
      if (const auto key = peerOf(payload)) {
        const auto peer = store::findPeerByKey(m_archive.beginRead(), *key);
        if (peer && store::budgetLeftToday(*peer, unixNow()) == std::uint64_t{0}) {
          sendTo(routingId, protocol::sync::encode(protocol::sync::Failure{
                                "today's byte budget for this link is spent"}));
          continue;
        }
      }
      Open open;
      open.started = now;
      open.report.key = peerOf(payload);
      SessionOptions sessionOptions = m_options.session;
      if (open.report.key) {
        const auto peer = store::findPeerByKey(m_archive.beginRead(), *open.report.key);
        open.report.peer = peer ? peer->name : open.report.key->hex().substr(0, 8);
        if (peer) sessionOptions.batchBytes = batchBytesFor(peer->settings.rate, sessionOptions);
      } else {
        open.report.peer = "unknown";
      }
      open.session = std::make_unique<Session>(m_archive, Session::Role::Responder, sessionOptions);
      // A peer that reconnects (its link was cut) starts over: its old session is closed.
      for (auto old = impl.sessions.begin(); old != impl.sessions.end(); ++old) {
        if (open.report.key && old->second.report.key == open.report.key) {
          old->second.session->abort("the peer reconnected");
          old->second.report.failure = "the link was cut; the peer reconnected";
          close(old);
          break;
        }
      }
      it = impl.sessions.emplace(routingId, std::move(open)).first;
    }
    Open& open = it->second;
    open.lastHeard = now;
    std::vector<Bytes> replies;
    try {
      replies =
          open.session->receive({static_cast<const std::uint8_t*>(payload.data()), payload.size()});
    } catch (const Error& e) {
      // The archive failed us (disk full, ...): end this session, tell the peer, go on.
      replies = {open.session->abort(std::string("this node cannot store now: ") + e.what())};
      open.report.failure = e.what();
    }
    bool sent = true;
    for (const auto& reply : replies) sent = sent && sendTo(routingId, reply);
    if (!sent && !open.session->over()) {
      open.session->abort("the peer stopped reading");
      open.report.failure = "the peer stopped reading";
    }
    if (open.session->over()) close(it);
  }
  for (auto it = impl.sessions.begin(); it != impl.sessions.end();) {
    auto next = std::next(it);
    sendTo(it->first, it->second.session->abort("the server is shutting down"));
    it->second.report.failure = "the server shut down";
    close(it);
    it = next;
  }
}

}  // namespace fieldsync::node
