#include "node/client.h"

#include <zmq.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "node/rate_limiter.h"

namespace fieldsync::node {

namespace {

using Clock = std::chrono::steady_clock;

/// The events of a socket's monitor that tell whether its link came up and was admitted, and
/// whether it dropped later: a DEALER reconnects by itself, so without the monitor a session
/// would wait out its timeouts on a link that is gone (or go on with a restarted peer).
class HandshakeMonitor {
 public:
  /// serial: a number not used before for a monitor in this context (inproc names are the
  /// context's, and a monitor's is released only as its socket closes).
  HandshakeMonitor(zmq::context_t& context, zmq::socket_t& socket, std::uint64_t serial) {
    m_endpoint = "inproc://fieldsync-monitor-" + std::to_string(serial);
    const int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                       ZMQ_EVENT_DISCONNECTED;
    if (zmq_socket_monitor(socket.handle(), m_endpoint.c_str(), events) != 0) {
      throw zmqError("zmq_socket_monitor", zmq::error_t());
    }
    m_socket = zmq::socket_t(context, zmq::socket_type::pair);
    m_socket.set(zmq::sockopt::linger, 0);
    m_socket.connect(m_endpoint);
  }
  zmq::socket_t& socket() { return m_socket; }
  /// The next event's number and its value (for auth failures, the ZAP status code).
  std::pair<std::uint16_t, std::uint32_t> read() {
    zmq::message_t head, address;
    if (!m_socket.recv(head, zmq::recv_flags::dontwait)) return {0, 0};
    if (head.more()) (void)m_socket.recv(address);
    std::uint16_t event = 0;
    std::uint32_t value = 0;
    if (head.size() >= 6) {
      std::memcpy(&event, head.data(), 2);
      std::memcpy(&value, static_cast<const char*>(head.data()) + 2, 4);
    }
    return {event, value};
  }
  /// Reads the events waiting; true when one says the link dropped.
  bool dropped() {
    bool dropped = false;
    for (auto event = read(); event.first != 0; event = read())
      dropped = dropped || event.first == ZMQ_EVENT_DISCONNECTED;
    return dropped;
  }

 private:
  std::string m_endpoint;
  zmq::socket_t m_socket;
};

}  // namespace

struct KeptLink::Impl {
  Impl(const protocol::SecretKey& ourKey, const protocol::PublicKey& theirKey,
       TransportLimits linkLimits)
      : identity(ourKey), serverKey(theirKey), limits(linkLimits) {}

  /// Closes the socket: the next session connects anew.
  void drop() {
    if (socket) zmq_socket_monitor(socket->handle(), nullptr, 0);
    monitor.reset();
    socket.reset();
    address.clear();
  }

  const protocol::SecretKey& identity;
  protocol::PublicKey serverKey;
  TransportLimits limits;
  zmq::context_t context;  // first: outlives the socket and its monitor
  std::optional<zmq::socket_t> socket;
  std::optional<HandshakeMonitor> monitor;
  std::string address;         // where socket is connected and admitted; empty: not up
  std::uint64_t monitors = 0;  // made so far in context (each needs a name of its own)
};

KeptLink::KeptLink(const protocol::SecretKey& identity, const protocol::PublicKey& serverKey,
                   TransportLimits limits)
    : m_impl(std::make_unique<Impl>(identity, serverKey, limits)) {}

KeptLink::~KeptLink() = default;

bool KeptLink::up() {
  auto& impl = *m_impl;
  if (impl.address.empty()) return false;
  // A link whose connection dropped between sessions (heartbeats stopped, the peer restarted)
  // is made anew: ZeroMQ would reconnect by itself, but a new handshake must be seen through.
  if (impl.monitor->dropped()) impl.drop();
  return !impl.address.empty();
}

ClientReport KeptLink::session(store::Archive& archive, const std::string& address,
                               const std::string& peerName, const SyncOptions& options) {
  auto& impl = *m_impl;
  const auto& serverKey = impl.serverKey;
  ClientReport report;
  report.peer = peerName;
  report.key = serverKey;
  const auto started = Clock::now();
  auto finish = [&](bool ok, std::string failure = {}) {
    report.ok = ok;
    report.failure = std::move(failure);
    report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    // Only a session that ended well leaves the link open: after anything else, messages of
    // the old session could still be on their way.
    if (!ok) impl.drop();
    return report;
  };

  if (!up() || impl.address != address) {
    impl.drop();
    report.newLink = true;
    impl.socket.emplace(makeClientSocket(impl.context, impl.identity, serverKey, impl.limits));
    impl.monitor.emplace(impl.context, *impl.socket, ++impl.monitors);
    connectEndpoint(*impl.socket, address);

    // Wait for the link: admitted, refused, or nothing within the timeout.
    const auto deadline = started + options.connectTimeout;
    for (bool linked = false; !linked;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        report.unreachable = true;
        return finish(false, "cannot reach " + address + " within " +
                                 std::to_string(options.connectTimeout.count() / 1000) + " s");
      }
      zmq::pollitem_t item{impl.monitor->socket().handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, left);
      if (!(item.revents & ZMQ_POLLIN)) continue;
      const auto [event, value] = impl.monitor->read();
      if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        linked = true;
      } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        report.refused = true;
        return finish(false, address + " refused us (ZAP status " + std::to_string(value) +
                                 "): is this node's key listed as its peer?");
      } else if (event != 0 && event != ZMQ_EVENT_DISCONNECTED) {  // dropped: it reconnects
        report.refused = true;
        return finish(false, "the handshake with " + address +
                                 " failed: is it a fieldsync node with key " +
                                 serverKey.hex().substr(0, 8) + "...?");
      }
    }
    impl.address = address;
  }
  zmq::socket_t& socket = *impl.socket;
  HandshakeMonitor& monitor = *impl.monitor;

  SessionOptions sessionOptions = options.session;
  sessionOptions.commitInBackground = true;  // the loop below settles it
  Session session(archive, Session::Role::Initiator, std::move(sessionOptions));
  // Sends keep to the link's cap (ours, or the peer's once its Hello told it); reads are paced
  // to our own cap only, for a peer that would not keep to it.
  RateLimiter sending(session.linkRate(), burstFor(session.linkRate()));
  RateLimiter receiving(options.session.rate, burstFor(options.session.rate));
  auto cut = [&] { return Error("the link to " + address + " was cut", Action::Retry); };
  // Each wait watches the monitor too: a link that drops ends the session at once.
  auto sendAll = [&](std::vector<Bytes> messages) {
    if (sending.rate() != session.linkRate())
      sending.setRate(session.linkRate(), burstFor(session.linkRate()));
    for (auto& message : messages) {
      std::this_thread::sleep_for(sending.delayFor(message.size()));
      const auto stall = Clock::now() + options.transport.sendTimeout;
      while (!socket.send(zmq::buffer(message), zmq::send_flags::dontwait)) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(stall - Clock::now());
        if (left.count() <= 0) {
          throw Error("zmq_send: the link to " + address + " stalled", Action::Retry);
        }
        zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLOUT, 0},
                                   {monitor.socket().handle(), 0, ZMQ_POLLIN, 0}};
        zmq::poll(items, 2, left);
        if ((items[1].revents & ZMQ_POLLIN) && monitor.dropped()) throw cut();
      }
    }
  };
  try {
    sendAll(session.start());
    auto silence = Clock::now() + options.idleTimeout;
    while (!session.over()) {
      const bool committing = session.committing();
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(silence - Clock::now());
      // While batches commit in the background, look often: their acks leave as they end.
      if (committing) left = std::clamp(left, std::chrono::milliseconds(0), COMMIT_POLL);
      zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLIN, 0},
                                 {monitor.socket().handle(), 0, ZMQ_POLLIN, 0}};
      if (left.count() > 0) zmq::poll(items, 2, left);
      if (!(items[0].revents & ZMQ_POLLIN)) {  // what arrived before a drop is read first
        if ((items[1].revents & ZMQ_POLLIN) && monitor.dropped()) throw cut();
        if (committing) {  // the peer waits for acks: silent, not idle
          sendAll(session.settle(false));
          silence = Clock::now() + options.idleTimeout;
          continue;
        }
        if (Clock::now() < silence) continue;
        const std::string why = "no answer from " + address + " for " +
                                std::to_string(options.idleTimeout.count() / 1000) + " s";
        (void)socket.send(zmq::buffer(session.abort(why)), zmq::send_flags::dontwait);
        report.unreachable = true;
        break;
      }
      zmq::message_t message;
      if (!socket.recv(message, zmq::recv_flags::dontwait)) continue;
      std::this_thread::sleep_for(receiving.delayFor(message.size()));
      silence = Clock::now() + options.idleTimeout;
      sendAll(session.receive({static_cast<const std::uint8_t*>(message.data()), message.size()}));
      sendAll(session.settle(false));
      if (options.progress) {
        const auto& stats = session.stats();
        const std::uint64_t done = stats.objectsIn + stats.duplicatesIn;
        const auto expected = session.expectedIn();
        options.progress({done, expected ? std::max(done, *expected) : 0, stats.bytesIn});
      }
    }
  } catch (const Error& e) {
    if (e.action() != Action::Retry) throw;
    (void)session.abort(e.what());
    (void)session.settle(true);  // what arrived before the cut is stored, and counted
    report.unreachable = true;
    report.stats = session.stats();
    return finish(false, e.what());
  }
  (void)session.settle(true);  // a failed session's batches in flight are stored, and counted
  report.stats = session.stats();
  report.inStep = session.inStep();
  report.peerMisbehaved = session.peerMisbehaved();
  report.yielded = session.failure() == "peer: " + std::string(YIELD_REASON);
  if (session.failed()) return finish(false, session.failure());
  return finish(true);
}

ClientReport syncOnce(store::Archive& archive, const protocol::SecretKey& identity,
                      const std::string& address, const protocol::PublicKey& serverKey,
                      const std::string& peerName, const SyncOptions& options) {
  KeptLink link(identity, serverKey, options.transport);
  return link.session(archive, address, peerName, options);
}

Dialed dialPeer(store::Archive& archive, const protocol::SecretKey& identity,
                const std::optional<store::PeerRecord>& peer,
                const std::vector<std::string>& addresses, const protocol::PublicKey& key,
                const std::string& name, SyncOptions options, bool penalize,
                const std::function<std::int64_t()>& unixNow, KeptLink* link) {
  Dialed dialed;
  auto plan = planSession(archive.beginRead(), peer, Session::Role::Initiator,
                          std::move(options.session), unixNow());
  if (plan.refusal) {
    dialed.notRun = std::move(plan.refusal);
    return dialed;
  }
  options.session = std::move(plan.session);
  if (addresses.empty()) {
    dialed.report.peer = name;
    dialed.report.key = key;
    dialed.report.unreachable = true;
    dialed.report.failure = "no address is known for peer " + name +
                            " (listed for sticks only, and not heard on the LAN)";
  }
  for (const auto& address : addresses) {
    dialed.report = link ? link->session(archive, address, name, options)
                         : syncOnce(archive, identity, address, key, name, options);
    if (!dialed.report.unreachable || dialed.report.stats.bytesIn > 0) break;
  }
  if (dialed.report.yielded) return dialed;  // nothing happened: nothing to record
  dialed.settled =
      settleSession(archive, dialed.report, dialed.report.peerMisbehaved, penalize, unixNow());
  return dialed;
}

}  // namespace fieldsync::node
