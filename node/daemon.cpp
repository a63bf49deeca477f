#include "node/daemon.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "node/dial_scheduler.h"

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

/// How soon to look again at a peer whose session with us runs already.
constexpr std::chrono::seconds PAIR_BUSY_RETRY{2};

ServerOptions withPairs(ServerOptions options, PairSessions& pairs) {
  options.pairs = &pairs;
  return options;
}

}  // namespace

Daemon::Daemon(store::Archive& archive, const protocol::SecretKey& identity, DaemonOptions options,
               ServerLog log)
    : m_archive(archive),
      m_identity(identity),
      m_options(std::move(options)),
      m_log(std::move(log)),
      m_server(archive, identity, withPairs(m_options.server, m_pairs), m_log) {}

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
  // The server stops on its own only for an error it cannot serve through (the archive's
  // lock file replaced): the node then stops, and run() throws it.
  std::exception_ptr serverFailed;
  std::thread serving([this, &serverFailed] {
    try {
      m_server.run();
    } catch (...) {
      serverFailed = std::current_exception();
      stop();
    }
  });
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
  if (serverFailed) std::rethrow_exception(serverFailed);
}

void Daemon::dialLoop() {
  DialScheduler::Options schedule;
  schedule.interval = m_options.interval;
  schedule.maxBackoff = m_options.maxBackoff;
  schedule.jitter = m_options.jitter;
  schedule.minBackoff = m_options.minBackoff;
  schedule.pushSpread = m_options.watchInterval;
  schedule.seed = m_options.seed
                      ? m_options.seed
                      : static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
  DialScheduler scheduler(schedule, m_archive.beginRead().lastSeq());
  // Where a peer can be reached: a learned address first (a beacon heard it on the LAN just
  // now), then the listed one; a peer with neither (listed for sticks only) is not dialed.
  auto addressesOf = [&](const store::PeerRecord& peer) {
    std::vector<std::string> addresses;
    if (m_options.learnedAddress) {
      if (auto learned = m_options.learnedAddress(peer.key); learned && *learned != peer.address)
        addresses.push_back(std::move(*learned));
    }
    if (!peer.address.empty()) addresses.push_back(peer.address);
    return addresses;
  };
  std::set<protocol::PublicKey> spentSaid;  // peers whose spent budget the log has told today
  auto sayBudgetSpent = [&](const store::PeerRecord& peer) {
    if (!spentSaid.insert(peer.key).second) return;
    const auto txn = m_archive.beginRead();
    const auto record = store::findPeerByKey(txn, peer.key);
    const auto line = record ? describeSpentBudget(txn, *record, unixNow()) : std::nullopt;
    m_log(LogLevel::Warn, "peer " + peer.name + ": " + line.value_or("budget spent"));
  };
  // A link per peer kept open between sessions, so that a session costs no handshake.
  std::map<protocol::PublicKey, std::unique_ptr<KeptLink>> links;

  for (;;) {
    {
      std::lock_guard lock(m_mutex);
      if (m_stop) return;
    }
    const auto now = Clock::now();
    // The peer list may change while we run: new peers are dialed at once.
    std::vector<store::PeerRecord> dialable;
    std::uint64_t lastSeq = 0;
    {
      const auto txn = m_archive.beginRead();
      lastSeq = txn.lastSeq();
      for (auto& peer : store::listPeers(txn))
        if (!addressesOf(peer).empty()) dialable.push_back(std::move(peer));
    }
    scheduler.update(dialable, lastSeq, now);
    std::erase_if(links, [&](const auto& link) {
      return std::none_of(dialable.begin(), dialable.end(),
                          [&](const auto& peer) { return peer.key == link.first; });
    });

    if (const auto next = scheduler.due(now)) {
      const auto& peer = *next;
      // A session with this peer runs already (it dialed us): ours would only repeat it.
      if (!m_pairs.beginDial(peer.key)) {
        scheduler.defer(peer.key, now + PAIR_BUSY_RETRY);
        continue;
      }
      Dialed dialed;
      try {
        m_log(LogLevel::Debug, "dialing peer " + peer.name);
        auto& link = links[peer.key];
        if (!link)
          link = std::make_unique<KeptLink>(m_identity, peer.key, m_options.client.transport);
        dialed = dialPeer(m_archive, m_identity, peer, addressesOf(peer), peer.key, peer.name,
                          m_options.client, m_options.server.penalize, unixNow, link.get());
      } catch (...) {
        m_pairs.endDial(peer.key);
        throw;
      }
      m_pairs.endDial(peer.key);
      const auto after = Clock::now();
      if (dialed.notRun) {
        // Paused, refused or out of budget: ask again when that ends (a pause is looked at
        // again every watchInterval: `resume` may end it early).
        const auto& refusal = *dialed.notRun;
        auto until = after + m_options.watchInterval;
        if (refusal.kind != SessionRefusal::Kind::Paused)
          until = std::max(until, after + std::chrono::seconds(refusal.until - unixNow()));
        if (refusal.kind == SessionRefusal::Kind::BudgetSpent) sayBudgetSpent(peer);
        scheduler.defer(peer.key, until);
        if (refusal.kind != SessionRefusal::Kind::Paused) {  // status shows when it resumes
          m_archive.write([&](store::WriteTxn& txn) {
            (void)store::updatePeerState(
                txn, peer.key, [&](store::PeerState& state) { state.nextAttempt = refusal.until; });
          });
        }
        continue;
      }
      spentSaid.erase(peer.key);  // a session ran: the budget had room again
      const ClientReport& report = dialed.report;
      if (report.yielded) {
        // The peer was dialing us at the same moment, and its session goes on.
        m_log(LogLevel::Debug, "peer " + peer.name + ": yielded to its own session");
        scheduler.defer(peer.key, after + PAIR_BUSY_RETRY);
        continue;
      }
      m_log(report.ok ? LogLevel::Info : LogLevel::Warn, "dialed " + formatReport(report));
      auto due = scheduler.settled(
          peer.key, report.ok, report.stats.objectsIn > 0 || report.stats.batchesAcked > 0, after);
      if (dialed.settled.refusal) {
        m_log(LogLevel::Warn, "peer " + peer.name + ": " + *dialed.settled.refusal);
        due = std::max(due, after + std::chrono::seconds(dialed.settled.refusedUntil - unixNow()));
        scheduler.defer(peer.key, due);
      }
      if (dialed.settled.budgetSpent) sayBudgetSpent(peer);
      if (m_options.onDialed) m_options.onDialed(report);
      const auto wait = std::chrono::duration_cast<std::chrono::seconds>(due - Clock::now());
      const std::int64_t nextAttempt = unixNow() + std::max<std::int64_t>(0, wait.count());
      m_archive.write([&](store::WriteTxn& txn) {
        (void)store::updatePeerState(
            txn, peer.key, [&](store::PeerState& state) { state.nextAttempt = nextAttempt; });
      });
      // What the session brought in is new to the other peers: the next turn sees the last
      // seq move and pushes it to them (not back to this peer, now in step up to it).
      continue;
    }
    // Sleep until the next peer is due or it is time to look for new objects.
    const auto until = std::min(now + m_options.watchInterval, scheduler.nextDue());
    std::unique_lock lock(m_mutex);
    m_wake.wait_until(lock, until, [this] { return m_stop; });
  }
}

}  // namespace fieldsync::node
