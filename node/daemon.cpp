#include "node/daemon.h"

#include <algorithm>
#include <map>
#include <random>
#include <thread>

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

/// What the dialer knows of one peer between sessions.
struct Dial {
  Clock::time_point due;
  unsigned failures = 0;
};

}  // namespace

Daemon::Daemon(store::Archive& archive, const protocol::SecretKey& identity, DaemonOptions options,
               ServerLog log)
    : m_archive(archive),
      m_identity(identity),
      m_options(std::move(options)),
      m_log(std::move(log)),
      m_server(archive, identity, m_options.server, m_log) {}

Daemon::~Daemon() = default;

void Daemon::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_server.stop();
  m_wake.notify_all();
}

void Daemon::run() {
  std::thread serving([this] { m_server.run(); });
  try {
    // A full disk or map (Error with Action::BackOff) stops this round of dialing, not the
    // node: the server goes on, and dialing starts again after a back-off, so the node
    // recovers by itself once there is room.
    while (m_options.dial) {
      try {
        dialLoop();
        break;
      } catch (const Error& e) {
        if (e.action() != Action::BackOff) throw;
        m_log(std::string("dialing paused: ") + e.what());
        std::unique_lock lock(m_mutex);
        if (m_wake.wait_for(lock, m_options.minBackoff, [this] { return m_stop; })) break;
      }
    }
    std::unique_lock lock(m_mutex);
    m_wake.wait(lock, [this] { return m_stop; });
  } catch (...) {
    m_server.stop();
    serving.join();
    throw;
  }
  serving.join();
}

void Daemon::dialLoop() {
  std::mt19937_64 rng(m_options.seed
                          ? m_options.seed
                          : static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()));
  auto jittered = [&](std::chrono::milliseconds base) {
    std::uniform_real_distribution<double> spread(1.0 - m_options.jitter, 1.0 + m_options.jitter);
    return std::chrono::duration_cast<Clock::duration>(base * spread(rng));
  };
  auto intervalOf = [&](const store::PeerRecord& peer) {
    return m_options.interval.value_or(std::chrono::seconds(peer.settings.interval));
  };
  auto backoff = [&](const store::PeerRecord& peer, unsigned failures) {
    const std::chrono::milliseconds cap =
        m_options.maxBackoff.value_or(std::chrono::seconds(peer.settings.maxBackoff));
    auto wait = m_options.minBackoff;
    for (unsigned i = 1; i < failures && wait < cap; ++i) wait *= 2;
    return jittered(std::min(wait, cap));
  };

  std::map<protocol::PublicKey, Dial> dials;
  std::uint64_t seenSeq = m_archive.beginRead().lastSeq();
  for (;;) {
    {
      std::lock_guard lock(m_mutex);
      if (m_stop) return;
    }
    const auto now = Clock::now();
    // The peer list may change while we run: new peers are dialed at once.
    const auto peers = store::listPeers(m_archive.beginRead());
    std::map<protocol::PublicKey, Dial> current;
    for (const auto& peer : peers) {
      auto it = dials.find(peer.key);
      current[peer.key] = it != dials.end() ? it->second : Dial{now, 0};
    }
    dials = std::move(current);

    // New objects here: push them now to each peer that answered last time and may lack them.
    const std::uint64_t lastSeq = m_archive.beginRead().lastSeq();
    if (lastSeq != seenSeq) {
      seenSeq = lastSeq;
      for (const auto& peer : peers) {
        Dial& dial = dials[peer.key];
        if (dial.failures == 0 && peer.state.inStepSeq < lastSeq)
          dial.due = std::min(dial.due, now);
      }
    }

    // Paused: no dials until the pause ends (it is checked again at every turn).
    if (store::pausedUntil(m_archive.beginRead(), unixNow())) {
      std::unique_lock lock(m_mutex);
      m_wake.wait_until(lock, now + m_options.watchInterval, [this] { return m_stop; });
      continue;
    }
    // A spent daily budget waits for the next UTC day.
    for (const auto& peer : peers) {
      if (store::budgetLeftToday(peer, unixNow()) == std::uint64_t{0}) {
        const auto wait = std::chrono::seconds(store::nextUtcDayStart(unixNow()) - unixNow());
        dials[peer.key].due = std::max(dials[peer.key].due, now + wait);
      }
    }

    // A refused peer (it sent something invalid: store::refuse) waits for its refusal to end.
    for (const auto& peer : peers) {
      if (peer.state.refusedAt(unixNow())) {
        const auto wait = std::chrono::seconds(peer.state.refusedUntil - unixNow());
        dials[peer.key].due = std::max(dials[peer.key].due, now + wait);
      }
    }

    // The peer due first, if it is due.
    const store::PeerRecord* next = nullptr;
    for (const auto& peer : peers) {
      if (!next || dials[peer.key].due < dials[next->key].due) next = &peer;
    }
    if (next && dials[next->key].due <= now) {
      m_log(LogLevel::Debug, "dialing peer " + next->name + " at " + next->address);
      ClientReport report =
          syncOnce(m_archive, m_identity, next->address, next->key, next->name, m_options.client);
      m_log(report.ok ? LogLevel::Info : LogLevel::Warn, "dialed " + formatReport(report));
      Dial& dial = dials[next->key];
      if (report.ok) {
        dial.failures = 0;
        dial.due = Clock::now() + jittered(intervalOf(*next));
      } else {
        // A session cut short after it stored objects made progress: the link works, between
        // cuts. Retry from the first back-off step rather than doubling, or a backlog on a link
        // cut every few minutes waits longer and longer between its pieces.
        dial.failures = report.stats.objectsIn > 0 ? 1 : dial.failures + 1;
        dial.due = Clock::now() + backoff(*next, dial.failures);
      }
      recordSession(m_archive, report, unixNow());
      // A peer that answered with something invalid is refused as it would be when it dials.
      if (m_options.server.penalize && report.peerMisbehaved) {
        const auto at = unixNow();
        m_archive.write([&](store::WriteTxn& txn) {
          (void)store::refusePeer(txn, next->key, report.failure, at);
        });
        if (const auto peer = store::findPeer(m_archive.beginRead(), next->name);
            peer && peer->state.refusedAt(at)) {
          m_log(LogLevel::Warn, "peer " + peer->name + ": " + store::describeRefusal(peer->state));
          dial.due = std::max(dial.due,
                              Clock::now() + std::chrono::seconds(peer->state.refusedUntil - at));
        }
      }
      if (m_options.onDialed) m_options.onDialed(report);
      const auto wait = std::chrono::duration_cast<std::chrono::seconds>(dial.due - Clock::now());
      const std::int64_t nextAttempt = unixNow() + wait.count();
      m_archive.write([&](store::WriteTxn& txn) {
        (void)store::updatePeerState(
            txn, next->key, [&](store::PeerState& state) { state.nextAttempt = nextAttempt; });
      });
      // What the session brought in is new to the other peers: the next turn sees the last
      // seq move and pushes it to them (not back to this peer, now in step up to it).
      continue;
    }
    // Sleep until the next peer is due or it is time to look for new objects.
    auto until = now + m_options.watchInterval;
    if (next) until = std::min(until, dials[next->key].due);
    std::unique_lock lock(m_mutex);
    m_wake.wait_until(lock, until, [this] { return m_stop; });
  }
}

}  // namespace fieldsync::node
