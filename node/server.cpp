#include "node/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "node/rate_limiter.h"
#include "node/units.h"
#include "store/pause.h"
#include "store/peers.h"

namespace fieldsync::node {

namespace {

using Clock = std::chrono::steady_clock;

// Where the ROUTER's monitor publishes its events (inproc names are per context).
constexpr const char* MONITOR_ENDPOINT = "inproc://fieldsync.server.monitor";

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
  int fd = -1;  // the connection its last message came on (ZMQ_SRCFD)
  /// When that connection ended: the session ends once the messages it had sent are read.
  std::optional<Clock::time_point> linkGone;
  /// Its first message was a valid one other than Hello: what a client sends when its link
  /// came back mid-session (a new connection, so a new session here). It fails the session
  /// but is no misbehaviour.
  bool staleStart = false;
  /// The link's cap (node/peer_link.h): replies wait here until their bytes are paid for, on
  /// the send side at the link's rate, and behind the bytes of the message they answer at this
  /// node's own cap (which slows a peer that does not keep to the cap itself).
  RateLimiter sending{0};
  RateLimiter receiving{0};
  std::deque<std::pair<Clock::time_point, Bytes>> outbox;
  std::size_t outboxBytes = 0;
  /// It sent faster than its replies could leave, past ServerOptions::maxQueuedReplyBytes: a
  /// violation.
  bool overran = false;
};

// How long a session whose connection ended waits for the messages that connection delivered
// before it ended (they are queued with every other peer's, and read in turn).
constexpr std::chrono::seconds LINK_GONE_GRACE{2};

/// The routing ids of the connections whose sessions ended here, the latest MAX of them. What
/// such a connection still sends (frames it queued before its peer reconnected, or before its
/// session failed) is dropped unread unless it opens a new session with Hello: before, each
/// queued frame opened a session that failed at once, two log lines a frame, and a peer that
/// reconnected as fast as it could filled the log at 450 lines a second.
class EndedConnections {
 public:
  static constexpr std::size_t MAX = 4096;
  void add(const std::string& routingId) {
    if (!m_ids.insert(routingId).second) return;
    m_order.push_back(routingId);
    if (m_order.size() > MAX) {
      m_ids.erase(m_order.front());
      m_order.pop_front();
    }
  }
  bool contains(const std::string& routingId) const { return m_ids.contains(routingId); }

 private:
  std::set<std::string> m_ids;
  std::deque<std::string> m_order;  // oldest first
};

/// What a session of a peer left of a round it did not finish (Session::unfinishedRound), and
/// when: the peer's next session within CARRY_UNFINISHED_ROUND counts it towards the bound of
/// its first round, so that a peer cannot escape the round bound by ending sessions before it.
/// A peer whose link is cut mid-round (as links are) keeps well under the bound: a correct
/// round holds far fewer ranges than the bound (docs/protocol.md "Reconciliation").
struct CarriedRound {
  std::pair<std::size_t, std::size_t> held;  // ranges, short ids
  Clock::time_point at;
};
constexpr std::chrono::minutes CARRY_UNFINISHED_ROUND{10};

/// A connection's remote end as getpeername(2) tells it: "ip" and "ip:port".
struct Remote {
  std::string ip;
  std::string full;
  bool operator==(const Remote&) const = default;
};

std::optional<Remote> remoteOf(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) return std::nullopt;
  char text[INET6_ADDRSTRLEN] = {};
  unsigned port = 0;
  if (address.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    port = ntohs(in->sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto* in = reinterpret_cast<const sockaddr_in6*>(&address);
    ::inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof text);
    port = ntohs(in->sin6_port);
  } else {
    return std::nullopt;
  }
  return Remote{text, std::string(text) + ":" + std::to_string(port)};
}

/// At most one log line about refused handshakes per address every ZAP_LOG_EVERY: a stranger
/// or a refused peer retrying ten times a second must not fill the node's log. The line after a
/// quiet spell says how many were refused meanwhile. Called on the ZAP handler's thread.
class ZapLogLimiter {
 public:
  static constexpr std::chrono::seconds ZAP_LOG_EVERY{60};
  static constexpr std::size_t MAX_ADDRESSES = 4096;

  explicit ZapLogLimiter(ServerLog& log) : m_log(log) {}
  void operator()(const ZapRefusal& refusal) {
    std::string line = "refused a " + refusal.mechanism + " connection from " + refusal.address +
                       ": " + refusal.reason;
    {
      std::lock_guard lock(m_mutex);
      const auto now = Clock::now();
      if (m_seen.size() >= MAX_ADDRESSES) {
        std::erase_if(
            m_seen, [&](const auto& entry) { return now - entry.second.logged >= ZAP_LOG_EVERY; });
      }
      auto [it, added] = m_seen.try_emplace(refusal.address);
      Seen& seen = it->second;
      if (!added && now - seen.logged < ZAP_LOG_EVERY) {
        ++seen.suppressed;
        return;
      }
      if (seen.suppressed > 0)
        line += " (and " + std::to_string(seen.suppressed) + " more refused from " +
                refusal.address + " since the last such line)";
      seen.logged = now;
      seen.suppressed = 0;
    }
    m_log(LogLevel::Warn, line);
  }

 private:
  struct Seen {
    Clock::time_point logged;
    std::size_t suppressed = 0;
  };
  ServerLog& m_log;
  std::mutex m_mutex;
  std::map<std::string, Seen> m_seen;  // by address; at most MAX_ADDRESSES after pruning
};

}  // namespace

struct Server::Impl {
  Impl(const protocol::SecretKey& identity, const TransportLimits& limits, ServerLog& log)
      : self(identity.publicKey()),
        zapLog(log),
        zap(context, allow, [this](const ZapRefusal& refusal) { zapLog(refusal); }),
        socket(makeServerSocket(context, identity, limits)),
        monitor(context, zmq::socket_type::pair) {
    // Before bind, so that every accepted connection is seen. The monitor's own queue is
    // libzmq's (1000 events); a lost event is made good by checking descriptors (see cut).
    if (zmq_socket_monitor(socket.handle(), MONITOR_ENDPOINT,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0)
      throw zmqError("zmq_socket_monitor", zmq::error_t());
    monitor.set(zmq::sockopt::linger, 0);
    monitor.connect(MONITOR_ENDPOINT);
  }
  ~Impl() { zmq_socket_monitor(socket.handle(), nullptr, 0); }

  protocol::PublicKey self;
  zmq::context_t context;  // outlives the handler and the sockets
  AllowList allow;
  ZapLogLimiter zapLog;  // before the handler that calls it
  ZapHandler zap;
  zmq::socket_t socket;
  zmq::socket_t monitor;                         // ZMQ_EVENT_ACCEPTED and _DISCONNECTED of socket
  std::map<std::string, Open> sessions;          // by routing id
  std::map<int, Remote> connections;             // open, by descriptor, as accepted
  std::map<std::string, std::size_t> cutForCap;  // by IP, since the last log line about it
  EndedConnections ended;
  std::map<protocol::PublicKey, CarriedRound> carried;  // by listed peer
};

Server::Server(store::Archive& archive, const protocol::SecretKey& identity, ServerOptions options,
               ServerLog log)
    : m_archive(archive), m_options(std::move(options)), m_log(std::move(log)) {
  m_impl = std::make_unique<Impl>(identity, m_options.transport, m_log);
  // The ZAP handler answers from now on: give it the peer list before the socket listens, or
  // a listed peer that connects before run() is refused as a stranger (and backs off).
  std::vector<protocol::PublicKey> keys;
  std::map<protocol::PublicKey, std::string> refused;
  const std::int64_t now = unixNow();
  for (const auto& peer : store::listPeers(m_archive.beginRead())) {
    keys.push_back(peer.key);
    if (peer.state.refusedAt(now)) refused.emplace(peer.key, store::describeRefusal(peer.state));
  }
  m_impl->allow.replace(keys, refused);
  m_endpoint = bindEndpoint(m_impl->socket, m_options.listen);
}

Server::~Server() = default;

void Server::run() {
  auto& impl = *m_impl;
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
  // Ends the connection on descriptor fd, if it is still the one accepted there: shutdown(2)
  // makes libzmq see it end and close it (the descriptor is libzmq's to close). A descriptor
  // whose remote end changed was closed and reused meanwhile: it is left alone.
  auto cut = [&](int fd) {
    auto it = impl.connections.find(fd);
    if (it == impl.connections.end()) return;
    if (remoteOf(fd) == it->second) ::shutdown(fd, SHUT_RDWR);
    impl.connections.erase(it);
  };
  auto close = [&](std::map<std::string, Open>::iterator it) {
    Open& open = it->second;
    try {
      (void)open.session->settle(true);  // what it received is committed, and counted
    } catch (const Error& e) {
      if (open.report.failure.empty()) open.report.failure = e.what();
    }
    open.report.stats = open.session->stats();
    open.report.ok = open.session->finished();
    open.report.inStep = open.session->inStep();
    if (!open.report.ok && open.report.failure.empty())
      open.report.failure = open.session->failure();
    open.report.seconds = std::chrono::duration<double>(Clock::now() - open.started).count();
    m_log(open.report.ok ? LogLevel::Info : LogLevel::Warn, formatReport(open.report));
    if (m_options.pairs && open.report.key) m_options.pairs->endAnswer(*open.report.key);
    const std::int64_t now = unixNow();
    // A full disk (or map) must not stop the server: the peer state waits for the next
    // session, and serving goes on.
    try {
      // Only the peer's own session, under the key CURVE authenticated, can get it refused.
      const bool misbehaved = (open.session->peerMisbehaved() || open.overran) && !open.staleStart;
      const Settlement settled =
          settleSession(m_archive, open.report, misbehaved, m_options.penalize, now);
      if (settled.refusal) {
        if (impl.allow.refuse(*open.report.key, *settled.refusal))
          m_log(LogLevel::Warn, "peer " + open.report.peer + ": " + *settled.refusal);
        cut(open.fd);
      }
      if (settled.budgetSpent) {
        const auto txn = m_archive.beginRead();
        if (const auto peer = store::findPeerByKey(txn, *open.report.key))
          m_log(LogLevel::Warn, "peer " + peer->name + ": " +
                                    describeSpentBudget(txn, *peer, now).value_or("budget spent"));
      }
    } catch (const Error& e) {
      m_log("could not record the session with peer " + open.report.peer + ": " + e.what());
    }
    if (m_options.onSession) m_options.onSession(open.report);
    if (open.report.key) {
      const auto held = open.session->unfinishedRound();
      if (held.first > 0 || held.second > 0)
        impl.carried[*open.report.key] = CarriedRound{held, Clock::now()};
    }
    impl.ended.add(it->first);
    impl.sessions.erase(it);
  };
  // Marks the sessions whose connection is fd: the peer went away. What it sent before is
  // still queued on the socket (a client sends Done and closes), so they end only once it
  // is read (closeGone).
  auto linkCut = [&](int fd) {
    for (auto& [routingId, open] : impl.sessions)
      if (open.fd == fd && !open.linkGone) open.linkGone = Clock::now();
  };
  auto closeGone = [&](bool pending) {
    const auto now = Clock::now();
    for (auto it = impl.sessions.begin(); it != impl.sessions.end();) {
      auto next = std::next(it);
      const auto& gone = it->second.linkGone;
      if (gone && (!pending || now - *gone > LINK_GONE_GRACE)) {
        it->second.session->abort("the link was cut");
        it->second.report.failure = "the link was cut";
        close(it);
      }
      it = next;
    }
  };
  // Sends what is due in a session's outbox; false when the peer stopped reading (the session
  // is then aborted).
  auto flush = [&](std::map<std::string, Open>::iterator it, Clock::time_point now) {
    Open& open = it->second;
    while (!open.outbox.empty() && open.outbox.front().first <= now) {
      if (!sendTo(it->first, open.outbox.front().second)) {
        open.outbox.clear();
        open.outboxBytes = 0;
        if (!open.session->over()) {
          open.session->abort("the peer stopped reading");
          open.report.failure = "the peer stopped reading";
        }
        return false;
      }
      open.outboxBytes -= open.outbox.front().second.size();
      open.outbox.pop_front();
    }
    return true;
  };
  // A session that is over closes once its last messages have left.
  auto closeIfSent = [&](std::map<std::string, Open>::iterator it) {
    if (it->second.session->over() && it->second.outbox.empty()) close(it);
  };
  auto onAccepted = [&](int fd) {
    auto remote = remoteOf(fd);
    if (!remote) return;
    impl.connections[fd] = *remote;
    if (m_options.maxConnectionsPerAddress == 0) return;
    std::size_t fromThere = 0;
    for (auto it = impl.connections.begin(); it != impl.connections.end();) {
      // An entry whose descriptor no longer shows its remote end missed its event: drop it.
      if (it->second.ip == remote->ip && remoteOf(it->first) != it->second) {
        it = impl.connections.erase(it);
        continue;
      }
      if (it->second.ip == remote->ip) ++fromThere;
      ++it;
    }
    if (fromThere > m_options.maxConnectionsPerAddress) {
      ++impl.cutForCap[remote->ip];
      cut(fd);
    }
  };
  auto drainMonitor = [&] {
    for (;;) {
      zmq::message_t event, address;
      if (!impl.monitor.recv(event, zmq::recv_flags::dontwait)) return;
      if (event.more()) (void)impl.monitor.recv(address, zmq::recv_flags::dontwait);
      if (event.size() < 6) continue;
      std::uint16_t kind = 0;
      std::uint32_t value = 0;
      std::memcpy(&kind, event.data(), sizeof kind);
      std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof value);
      const int fd = static_cast<int>(value);
      if (kind == ZMQ_EVENT_ACCEPTED) {
        onAccepted(fd);
      } else if (kind == ZMQ_EVENT_DISCONNECTED) {
        impl.connections.erase(fd);
        linkCut(fd);
      }
    }
  };
  // Re-reads the list: sessions of peers removed or refused since end, with their connections.
  auto refreshPeers = [&] {
    std::vector<protocol::PublicKey> keys;
    std::map<protocol::PublicKey, std::string> refused;
    const std::int64_t now = unixNow();
    for (const auto& peer : store::listPeers(m_archive.beginRead())) {
      keys.push_back(peer.key);
      if (peer.state.refusedAt(now)) refused.emplace(peer.key, store::describeRefusal(peer.state));
    }
    impl.allow.replace(keys, refused);
    for (auto it = impl.sessions.begin(); it != impl.sessions.end();) {
      auto next = std::next(it);
      const auto& key = it->second.report.key;
      if (key && !impl.allow.admits(*key)) {
        const auto why = impl.allow.refusal(*key).value_or("this node no longer lists the peer");
        sendTo(it->first, it->second.session->abort(why));
        it->second.report.failure = why;
        const int fd = it->second.fd;
        close(it);
        cut(fd);
      }
      it = next;
    }
    for (const auto& [ip, count] : impl.cutForCap)
      m_log(LogLevel::Warn, "cut " + std::to_string(count) + " connection" +
                                (count == 1 ? "" : "s") + " from " + ip + ": more than " +
                                std::to_string(m_options.maxConnectionsPerAddress) +
                                " open from one address");
    impl.cutForCap.clear();
  };

  // A pause (`fieldsync pause`) stops all traffic: sessions under way end, new ones are refused.
  auto refreshPause = [&] {
    if (!store::pausedUntil(m_archive.beginRead(), unixNow())) return;
    const std::string why = "traffic is paused on this node";
    for (auto it = impl.sessions.begin(); it != impl.sessions.end();) {
      auto next = std::next(it);
      sendTo(it->first, it->second.session->abort(why));
      it->second.report.failure = why;
      close(it);
      it = next;
    }
  };
  // The archive's lock file replaced under us (store::Archive::checkLock): this node must not
  // write again. Serving stops, and run() throws the reason once every session is told.
  std::optional<std::string> fatal;
  auto lockLost = [&] {
    try {
      m_archive.checkLock();
      return false;
    } catch (const Error& e) {
      fatal = e.what();
      return true;
    }
  };
  // The archive failed a session's write (disk full, ...): it ends, the peer is told, serving
  // goes on.
  auto failedToStore = [&](Open& open, const Error& e) {
    open.report.failure = e.what();
    (void)lockLost();
    return open.session->abort(std::string("this node cannot store now: ") + e.what());
  };
  // Queues a session's replies; they leave once their bytes are paid for (at once on a link
  // with no cap), and no earlier than `read` from now (this node's own cap on what it reads).
  auto deliver = [&](std::map<std::string, Open>::iterator it, std::vector<Bytes> replies,
                     Clock::time_point now, Clock::duration read) {
    Open& open = it->second;
    const auto linkRate = open.session->linkRate();
    if (open.sending.rate() != linkRate) open.sending.setRate(linkRate, burstFor(linkRate));
    for (auto& reply : replies) {
      auto at = now + std::max(read, open.sending.delayFor(reply.size()));
      if (!open.outbox.empty()) at = std::max(at, open.outbox.back().first);
      open.outboxBytes += reply.size();
      open.outbox.emplace_back(at, std::move(reply));
    }
    // What is due leaves now; what is left waits for the link's cap.
    bool sent = flush(it, now);
    if (sent && open.outboxBytes > m_options.maxQueuedReplyBytes && !open.session->over()) {
      // Replies wait for the link's cap and the peer sends on regardless: what waits would
      // grow with what it sends. Drop them, end the session and blame the peer.
      const std::string why = "the peer asked for more than " +
                              formatSize(m_options.maxQueuedReplyBytes) +
                              " of replies ahead of its link's cap";
      open.outbox.clear();
      open.outboxBytes = 0;
      open.overran = true;
      open.report.failure = why;
      open.outbox.emplace_back(now, open.session->abort(why));
      open.outboxBytes = open.outbox.back().second.size();
      sent = flush(it, now);
    }
    if (!sent || open.session->over()) closeIfSent(it);
  };
  refreshPeers();
  refreshPause();
  auto nextRefresh = Clock::now() + m_options.peerListRefresh;
  while (!m_stop.load() && !fatal) {
    std::array<zmq::pollitem_t, 2> items{zmq::pollitem_t{impl.socket.handle(), 0, ZMQ_POLLIN, 0},
                                         zmq::pollitem_t{impl.monitor.handle(), 0, ZMQ_POLLIN, 0}};
    auto wait = std::chrono::milliseconds(200);
    for (const auto& [routingId, open] : impl.sessions) {
      // Acks leave as their batches' commits end (Session::settle): look often meanwhile.
      if (open.session->committing()) wait = std::min(wait, COMMIT_POLL);
      if (open.outbox.empty()) continue;
      const auto due =
          std::chrono::ceil<std::chrono::milliseconds>(open.outbox.front().first - Clock::now());
      wait = std::clamp(due, std::chrono::milliseconds(0), wait);
    }
    zmq::poll(items.data(), items.size(), wait);
    // Connections first: a session whose link ended is over once what it sent is read. The
    // socket's events are asked after the monitor's: a message the link delivered before it
    // ended shows there by then.
    drainMonitor();
    const bool pending = (impl.socket.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0;
    closeGone(pending);
    const auto now = Clock::now();
    if (now >= nextRefresh) {
      if (lockLost()) break;
      refreshPeers();
      refreshPause();
      nextRefresh = now + m_options.peerListRefresh;
    }
    for (auto it = impl.sessions.begin(); it != impl.sessions.end();) {
      auto next = std::next(it);
      if (!it->second.outbox.empty()) {
        (void)flush(it, now);
        closeIfSent(it);
      }
      it = next;
    }
    for (auto it = impl.sessions.begin(); it != impl.sessions.end();) {
      auto next = std::next(it);
      if (it->second.session->committing()) {
        std::vector<Bytes> acks;
        try {
          acks = it->second.session->settle(false);
        } catch (const Error& e) {
          acks = {failedToStore(it->second, e)};
        }
        // A peer waiting for its acks is silent, not idle.
        it->second.lastHeard = now;
        if (!acks.empty()) deliver(it, std::move(acks), now, {});
      }
      it = next;
    }
    for (auto it = impl.sessions.begin(); it != impl.sessions.end();) {
      auto next = std::next(it);
      // A session waiting out its cap is not idle: its replies are due.
      if (it->second.outbox.empty() && now - it->second.lastHeard > m_options.idleTimeout) {
        const std::string why =
            "no message for " + std::to_string(m_options.idleTimeout.count() / 1000) + " s";
        sendTo(it->first, it->second.session->abort(why));
        it->second.report.failure = why;
        close(it);
      }
      it = next;
    }
    if (!pending) continue;

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
    const int fd = payload.get(ZMQ_SRCFD);
    const std::string routingId(static_cast<const char*>(id.data()), id.size());
    const auto key = peerOf(payload);
    auto it = impl.sessions.find(routingId);
    if (it == impl.sessions.end()) {
      // Refused or removed since its handshake (or messages it queued before its session
      // broke the rules): no session; the connection goes.
      if (!key || !impl.allow.admits(*key)) {
        cut(fd);
        continue;
      }
      const auto first = protocol::sync::decode(
          {static_cast<const std::uint8_t*>(payload.data()), payload.size()});
      const bool hello = first.ok() && std::holds_alternative<protocol::sync::Hello>(*first);
      if (!hello && impl.ended.contains(routingId)) continue;
      if (impl.sessions.size() >= m_options.maxSessions) {
        m_log(LogLevel::Warn, "refused a session: " + std::to_string(impl.sessions.size()) +
                                  " sessions open already (busy)");
        sendTo(routingId, protocol::sync::encode(protocol::sync::Failure{"busy: try again later"}));
        continue;
      }
      // What a session with this peer means now (paused, refused, budget, cap): peer_link.h.
      std::optional<store::PeerRecord> peer;
      SessionPlan plan;
      {
        const auto txn = m_archive.beginRead();
        peer = store::findPeerByKey(txn, *key);
        plan = planSession(txn, peer, Session::Role::Responder, m_options.session, unixNow());
      }
      if (plan.refusal) {
        sendTo(routingId, protocol::sync::encode(protocol::sync::Failure{plan.refusal->message}));
        continue;
      }
      // Both ends dialed at once, and ours goes on: the peer's yields.
      if (m_options.pairs && !m_options.pairs->mayAnswer(impl.self, *key)) {
        sendTo(routingId,
               protocol::sync::encode(protocol::sync::Failure{std::string(YIELD_REASON)}));
        continue;
      }
      Open open;
      open.started = now;
      open.staleStart = first.ok() && !hello;
      open.report.key = key;
      open.report.peer = peer ? peer->name : key->hex().substr(0, 8);
      open.receiving.setRate(plan.session.rate, burstFor(plan.session.rate));
      // A peer that reconnects (its link was cut) starts over: its old session is closed.
      for (auto old = impl.sessions.begin(); old != impl.sessions.end(); ++old) {
        if (old->second.report.key == open.report.key) {
          old->second.session->abort("the peer reconnected");
          old->second.report.failure = "the link was cut; the peer reconnected";
          close(old);
          break;
        }
      }
      // What a recent session of the peer left of an unfinished round counts in this one.
      if (auto carried = impl.carried.find(*key); carried != impl.carried.end()) {
        if (now - carried->second.at < CARRY_UNFINISHED_ROUND)
          std::tie(plan.session.carriedRoundRanges, plan.session.carriedRoundIds) =
              carried->second.held;
        impl.carried.erase(carried);
      }
      // The loop settles it (Session::settle): batches commit while the next is verified.
      plan.session.commitInBackground = true;
      open.session =
          std::make_unique<Session>(m_archive, Session::Role::Responder, std::move(plan.session));
      if (m_options.pairs) m_options.pairs->beginAnswer(*key);
      m_log(LogLevel::Debug, "peer " + open.report.peer + ": session opened");
      it = impl.sessions.emplace(routingId, std::move(open)).first;
    }
    Open& open = it->second;
    open.lastHeard = now;
    open.fd = fd;
    std::vector<Bytes> replies;
    try {
      replies =
          open.session->receive({static_cast<const std::uint8_t*>(payload.data()), payload.size()});
      for (auto& ack : open.session->settle(false)) replies.push_back(std::move(ack));
    } catch (const Error& e) {
      replies = {failedToStore(open, e)};
    }
    deliver(it, std::move(replies), now, open.receiving.delayFor(payload.size()));
  }
  for (auto it = impl.sessions.begin(); it != impl.sessions.end();) {
    auto next = std::next(it);
    sendTo(it->first, it->second.session->abort(fatal ? "this node stopped: it cannot write safely"
                                                      : "the server is shutting down"));
    it->second.report.failure = fatal ? "the server stopped: " + *fatal : "the server shut down";
    close(it);
    it = next;
  }
  if (fatal) throw Error(*fatal);
}

}  // namespace fieldsync::node
