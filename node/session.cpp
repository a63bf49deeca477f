#include "node/session.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "node/verifier.h"
#include "store/sync_index.h"

namespace fieldsync::node {

namespace sync = protocol::sync;
using protocol::Bound;
using protocol::SyncKey;

namespace {

std::uint64_t rankOf(const Bound& bound, const protocol::RangeIndex& index) {
  return bound.infinite ? index.size() : index.rank(bound.key);
}

}  // namespace

std::size_t batchBytesFor(std::uint64_t rate, std::size_t batchBytes) {
  if (rate == 0) return batchBytes;
  const std::uint64_t wanted = std::max<std::uint64_t>(rate * 2, MIN_CAPPED_BATCH_BYTES);
  return static_cast<std::size_t>(std::min<std::uint64_t>(wanted, batchBytes));
}

std::uint64_t burstFor(std::uint64_t rate) { return std::max<std::uint64_t>(rate / 4, 1024); }

std::uint64_t tighterLimit(std::uint64_t a, std::uint64_t b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return std::min(a, b);
}

Session::Session(store::Archive& archive, Role role, SessionOptions options)
    : m_archive(archive),
      m_role(role),
      m_options(std::move(options)),
      m_unlimitedBatchBytes(m_options.batchBytes),
      m_linkRate(m_options.rate),
      m_linkBudget(m_options.budget),
      m_state(role == Role::Initiator ? State::Start : State::AwaitHello),
      m_packer(m_options.compressionLevel) {
  m_options.batchBytes = batchBytesFor(m_linkRate, m_unlimitedBatchBytes);
  if (!m_options.verifier) m_options.verifier = parallelVerifier(0, m_options.limits.object);
  if (!m_options.tuning.horizon) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch());
    m_options.tuning.horizon = protocol::horizonFor(now.count());
  }
}

std::vector<Bytes> Session::start() {
  std::vector<Bytes> out;
  if (m_role != Role::Initiator || m_state != State::Start) return out;
  randombytes_buf(m_salt.data(), m_salt.size());
  m_reconciler.emplace(m_salt, m_options.tuning);
  std::vector<protocol::Frame> frames;
  {
    const auto txn = m_archive.beginRead();
    const store::ArchiveRangeIndex index(txn);
    frames = m_reconciler->initiate(index, m_options.opening);
  }
  const auto state = localState();
  m_localCountAtStart = state.count;
  send(hello(state), out);
  m_state = State::AwaitHello;
  bool needsAnswer = false;
  for (const auto& frame : frames) needsAnswer |= protocol::needsAnswer(frame);
  sendRound(std::move(frames), needsAnswer, out);
  return out;
}

Bytes Session::abort(const std::string& reason) {
  if (!over()) {
    m_state = State::Failed;
    m_failure = reason;
  }
  return sync::encode(sync::Failure{reason});
}

std::vector<Bytes> Session::receive(std::span<const std::uint8_t> bytes) {
  std::vector<Bytes> out;
  if (over()) return out;
  m_stats.bytesIn += bytes.size();
  auto message = sync::decode(bytes, m_options.limits);
  if (!message) {
    fail("undecodable message: " + message.error().detail, out);
    return out;
  }
  return handle(std::move(*message));
}

std::vector<Bytes> Session::handle(sync::Message message) {
  std::vector<Bytes> out;
  if (const auto* failure = std::get_if<sync::Failure>(&message)) {
    m_state = State::Failed;
    m_failure = "peer: " + failure->reason;
    return out;
  }
  if (m_state == State::AwaitHello && !std::holds_alternative<sync::Hello>(message)) {
    fail(std::string("expected hello, got ") + std::string(sync::messageName(message)), out);
    return out;
  }
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, sync::Hello>) {
          onHello(m, out);
        } else if constexpr (std::is_same_v<T, sync::Reconcile>) {
          onReconcile(m, out);
        } else if constexpr (std::is_same_v<T, sync::Batch>) {
          onBatch(m, out);
        } else if constexpr (std::is_same_v<T, sync::Ack>) {
          if (m.batch != m_acked + 1 || m.batch > m_stats.batchesOut) {
            fail("ack for batch " + std::to_string(m.batch) + ", expected " +
                     std::to_string(m_acked + 1),
                 out);
            return;
          }
          onAck(m);
        } else if constexpr (std::is_same_v<T, sync::Done>) {
          if (m_peerDone || !m_reconciled) {
            fail(m_peerDone ? "a second done" : "done before reconciliation ended", out);
            return;
          }
          onDone(m);
        }
      },
      message);
  if (!over()) pump(out);
  return out;
}

void Session::onHello(const sync::Hello& hello, std::vector<Bytes>& out) {
  if (m_state != State::AwaitHello) {
    fail("a second hello", out);
    return;
  }
  if (hello.version != sync::PROTOCOL_VERSION) {
    fail("protocol version " + std::to_string(hello.version) +
             " is not spoken here (this node: " + std::to_string(sync::PROTOCOL_VERSION) +
             "; run the same fieldsync release on both nodes)",
         out);
    return;
  }
  m_peerState = hello.state;
  m_peerCountAtHello = hello.state.count;
  if (m_role == Role::Responder) {
    m_salt = hello.salt;
    m_reconciler.emplace(m_salt, m_options.tuning);
    const auto state = localState();
    m_localCountAtStart = state.count;
    send(this->hello(state), out);
  }
  // Both sides keep to the tighter of their limits, whichever set them.
  m_linkRate = tighterLimit(m_options.rate, hello.rate);
  m_linkBudget = tighterLimit(m_options.budget, hello.budget);
  if (m_options.streamBatches && (hello.features & sync::FEATURE_ZSTD_STREAM) != 0)
    m_packer.useStream();
  m_options.batchBytes = batchBytesFor(m_linkRate, m_unlimitedBatchBytes);
  m_state = State::Active;
}

void Session::onReconcile(const sync::Reconcile& reconcile, std::vector<Bytes>& out) {
  m_stats.reconcileBytesIn += reconcile.frame.size();
  // Frames of the peer's open round keep its number; a new round must be the peer's turn:
  // the one after a round of ours that needs an answer (or round 1, to a responder).
  const bool peersTurn = m_roundOpen
                             ? reconcile.round == m_round
                             : !m_reconciled && reconcile.round == m_round + 1 &&
                                   (m_round == 0 ? m_role == Role::Responder : m_awaitingRound);
  if (!peersTurn) {
    fail("reconciliation round " + std::to_string(reconcile.round) + " out of turn", out);
    return;
  }
  if (reconcile.round > m_options.maxRounds) {
    fail("more than " + std::to_string(m_options.maxRounds) + " reconciliation rounds", out);
    return;
  }
  if (!m_roundOpen) {
    m_round = reconcile.round;
    m_roundOpen = true;
    m_awaitingRound = false;
    m_roundEnd = Bound::lowest();
    // The peer's first round here counts what its previous session left unfinished.
    const bool first = !std::exchange(m_peerRoundBegan, true);
    m_roundRanges = first ? m_options.carriedRoundRanges : 0;
    m_roundIds = first ? m_options.carriedRoundIds : 0;
    m_carriedIntoRound = first && (m_roundRanges > 0 || m_roundIds > 0);
    ++m_stats.rounds;
  }
  if (!reconcile.frame.empty()) {
    auto frame = protocol::decodeFrame(reconcile.frame, m_options.frameLimits);
    if (!frame) {
      fail("bad reconciliation frame: " + frame.error().detail, out);
      return;
    }
    // The frames of a round cover increasing spans (a round is one pass over the key space,
    // cut into frames): a frame going back over the round would make the reply, and the work,
    // grow with every message instead of with the archive.
    if (frame->lower < m_roundEnd) {
      fail("reconciliation round " + std::to_string(m_round) +
               ": a frame that goes back over an earlier frame of the round",
           out);
      return;
    }
    m_roundEnd = frame->ranges.empty() ? frame->lower : frame->ranges.back().upper;
    // The reply to a round grows with the round's ranges and ids: bounded by this archive's
    // size or a fixed limit, whichever is larger, never by what the peer chooses to send.
    m_roundRanges += std::max<std::size_t>(frame->ranges.size(), 1);  // a frame costs one
    for (const auto& range : frame->ranges) m_roundIds += range.ids.size();
    const std::uint64_t held = m_localCountAtStart;
    const std::uint64_t maxRanges = std::max<std::uint64_t>(m_options.roundRanges, 2 * held);
    const std::uint64_t maxIds = std::max<std::uint64_t>(m_options.roundIds, 8 * held);
    if (m_roundRanges > maxRanges || m_roundIds > maxIds) {
      fail("reconciliation round " + std::to_string(m_round) + " holds more than " +
               (m_roundRanges > maxRanges ? std::to_string(maxRanges) + " ranges"
                                          : std::to_string(maxIds) + " ids") +
               " (the most a round may hold against this archive" +
               (m_carriedIntoRound
                    ? ", counting the round the peer left unfinished in its previous session)"
                    : ")"),
           out);
      return;
    }
    m_incomingNeedsAnswer |= protocol::needsAnswer(*frame);
    const auto txn = m_archive.beginRead();
    const store::ArchiveRangeIndex index(txn);
    m_reconciler->process(*frame, m_round, index, m_incoming);
  }
  if (!reconcile.last) return;
  m_roundOpen = false;
  protocol::Reply reply = std::exchange(m_incoming, {});
  queuePushes(reply);
  if (std::exchange(m_incomingNeedsAnswer, false)) {
    const bool needsAnswer = reply.needsAnswer();
    sendRound(std::move(reply.frames), needsAnswer, out);
  } else {
    m_reconciled = true;
  }
}

void Session::sendRound(std::vector<protocol::Frame> frames, bool needsAnswer,
                        std::vector<Bytes>& out) {
  ++m_round;
  ++m_stats.rounds;
  auto encoded = protocol::encodeFrames(frames, m_options.tuning.maxFrameBytes);
  if (frames.empty()) encoded.clear();
  if (encoded.empty()) {
    send(sync::Reconcile{m_round, true, {}}, out);
  }
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    m_stats.reconcileBytesOut += encoded[i].size();
    send(sync::Reconcile{m_round, i + 1 == encoded.size(), std::move(encoded[i])}, out);
  }
  m_awaitingRound = needsAnswer;
  if (!needsAnswer) m_reconciled = true;
}

void Session::queuePushes(const protocol::Reply& reply) {
  if (!reply.pushRanges.empty()) {
    const auto txn = m_archive.beginRead();
    const store::ArchiveRangeIndex index(txn);
    for (const auto& range : reply.pushRanges) {
      const std::uint64_t from = rankOf(range.lower, index);
      m_pushTotal += std::max(from, rankOf(range.upper, index)) - from;
    }
  }
  m_pushTotal += reply.pushKeys.size();
  for (const auto& range : reply.pushRanges) m_pushes.push_back(Push{range.lower, range.upper});
  m_pushKeys.insert(m_pushKeys.end(), reply.pushKeys.begin(), reply.pushKeys.end());
  std::sort(m_pushKeys.begin(), m_pushKeys.end());
  m_pushKeys.erase(std::unique(m_pushKeys.begin(), m_pushKeys.end()), m_pushKeys.end());
}

std::optional<sync::Batch> Session::nextBatch(std::optional<std::size_t> room) {
  if (m_pushes.empty() && m_pushKeys.empty()) return std::nullopt;
  const auto txn = m_archive.beginRead();
  const store::ArchiveRangeIndex index(txn);
  std::vector<std::span<const std::uint8_t>> objects;
  std::size_t bytes = 0;
  auto full = [&] {
    return objects.size() >= m_options.batchObjects || bytes >= m_options.batchBytes;
  };
  std::vector<protocol::ObjectId> ids;
  bool overBudget = false;  // the next object would not fit in room
  auto take = [&](const SyncKey& key) {
    const auto object = txn.get(key.id);
    if (!object) return true;  // not held (cannot happen: pushes come from this archive)
    if (room && bytes + object->size() > *room) {
      overBudget = true;
      return false;
    }
    objects.push_back(*object);
    bytes += object->size();
    if (m_options.onAcknowledged) ids.push_back(key.id);
    return true;
  };
  while (!m_pushKeys.empty() && !full() && !overBudget) {
    if (!take(m_pushKeys.back())) break;
    m_pushKeys.pop_back();
  }
  while (!m_pushes.empty() && !full() && !overBudget) {
    Push& push = m_pushes.front();
    const std::uint64_t from = rankOf(push.lower, index);
    const std::uint64_t to = std::max(from, rankOf(push.upper, index));
    const std::uint64_t space = m_options.batchObjects - objects.size();
    const auto keys = index.keys(from, std::min(to, from + space));
    std::size_t taken = 0;
    while (taken < keys.size() && !full() && take(keys[taken])) ++taken;
    if (from + taken >= to) {
      m_pushes.pop_front();
    } else {
      push.lower = Bound{taken < keys.size() ? keys[taken] : index.at(from + taken), false};
    }
  }
  if (objects.empty()) return std::nullopt;
  if (m_options.onAcknowledged) m_unacked.push_back(std::move(ids));
  m_stats.objectsOut += objects.size();
  return m_packer.pack(++m_stats.batchesOut, objects);
}

void Session::pump(std::vector<Bytes>& out) {
  if (m_state != State::Active) return;
  while (m_stats.batchesOut - m_acked < m_options.window) {
    // With a budget, a batch holds only what fits in what is left of it (a batch message costs
    // at most its objects and BATCH_MESSAGE_OVERHEAD: zstd is used only when it packs smaller);
    // once the next object does not fit, nothing more is pushed.
    std::optional<std::size_t> room;
    if (m_linkBudget != 0) {
      const std::uint64_t used = m_stats.bytesIn + m_stats.bytesOut + BATCH_MESSAGE_OVERHEAD;
      room = static_cast<std::size_t>(used < m_linkBudget ? m_linkBudget - used : 0);
      // A stream batch goes compressed whatever it gives: room for zstd's worst case.
      if (m_packer.streaming()) *room -= std::min(*room, sync::streamOverhead(*room));
    }
    auto batch = nextBatch(room);
    if (!batch) {
      if (room && !(m_pushes.empty() && m_pushKeys.empty())) {
        m_stats.budgetSpent = true;
        m_pushes.clear();
        m_pushKeys.clear();
      }
      break;
    }
    send(*batch, out);
  }
  // Done and the end wait for every received batch to be committed: Done carries the state.
  if (committing()) return;
  if (!m_doneSent && m_reconciled && m_pushes.empty() && m_pushKeys.empty()) {
    m_doneSent = true;
    send(sync::Done{localState()}, out);
  }
  if (m_doneSent && m_peerDone && m_acked == m_stats.batchesOut) {
    m_state = State::Finished;
    m_inStep = m_peerState && *m_peerState == localState();
    // Not in step, with less left than a batch: the peer stopped at the budget (this side
    // says so itself above).
    if (m_linkBudget != 0 && !m_inStep &&
        m_stats.bytesIn + m_stats.bytesOut + m_options.batchBytes > m_linkBudget)
      m_stats.budgetSpent = true;
  }
}

void Session::onBatch(const sync::Batch& batch, std::vector<Bytes>& out) {
  if (batch.number != m_stats.batchesIn + 1) {
    fail("batch " + std::to_string(batch.number) + " out of order (expected " +
             std::to_string(m_stats.batchesIn + 1) + ")",
         out);
    return;
  }
  if (batch.compression == sync::Compression::ZstdStream && !m_options.streamBatches) {
    fail("batch " + std::to_string(batch.number) + " is a stream batch, and this node offered none",
         out);
    return;
  }
  std::vector<std::uint8_t> storage;
  auto objects = m_unpacker.unpack(batch, m_options.limits, storage);
  if (!objects) {
    fail("batch " + std::to_string(batch.number) + ": " + objects.error().detail, out);
    return;
  }
  auto verified = m_options.verifier(*objects);
  for (std::size_t i = 0; i < verified.size(); ++i) {
    if (!verified[i]) {
      fail("batch " + std::to_string(batch.number) + ", object " + std::to_string(i + 1) + ": " +
               verified[i].error().message(),
           out);
      return;
    }
  }
  if (m_options.commitInBackground) {
    std::vector<protocol::VerifiedObject> ready;
    ready.reserve(verified.size());
    for (auto& object : verified) ready.push_back(std::move(*object));
    if (!m_committer) m_committer = std::make_unique<store::Committer>(m_archive);
    // A peer that sends past its window would queue without bound: wait for the commits.
    if (m_stats.batchesIn - m_batchesCommitted >= m_options.window) {
      for (const auto& committed : m_committer->collect(true)) acknowledge(committed, out);
    }
    ++m_stats.batchesIn;
    // Prepared here, on every core beside the verification, so that the committer's thread
    // only writes: the one step that cannot be shared.
    std::vector<store::PreparedObject> prepared = store::prepareAll(ready);
    m_committer->submit(batch.number, std::move(ready), std::move(prepared));
    for (const auto& committed : m_committer->collect(false)) acknowledge(committed, out);
    return;
  }
  std::uint64_t stored = 0;
  m_archive.write([&](store::WriteTxn& txn) {
    stored = 0;
    for (const auto& object : verified) {
      if (txn.put(*object) == store::PutOutcome::Stored) ++stored;
    }
  });
  ++m_stats.batchesIn;
  acknowledge({batch.number, stored, verified.size() - stored, 0}, out);
}

void Session::acknowledge(const store::Committer::Committed& committed, std::vector<Bytes>& out) {
  count(committed);
  send(sync::Ack{committed.batch, localState()}, out);
}

void Session::count(const store::Committer::Committed& committed) {
  ++m_batchesCommitted;
  m_stats.objectsIn += committed.stored;
  m_stats.duplicatesIn += committed.alreadyPresent + committed.retracted;
}

std::vector<Bytes> Session::settle(bool wait) {
  std::vector<Bytes> out;
  if (!m_committer) return out;
  for (const auto& committed : m_committer->collect(wait)) {
    if (over()) {  // stored all the same; nobody to tell
      count(committed);
    } else {
      acknowledge(committed, out);
    }
  }
  if (!over()) pump(out);
  return out;
}

bool Session::committing() const { return m_committer && !m_committer->idle(); }

void Session::onAck(const sync::Ack& ack) {
  m_acked = ack.batch;
  m_stats.batchesAcked = m_acked;
  if (m_options.onAcknowledged && !m_unacked.empty()) {  // acks come one by one, in order
    m_options.onAcknowledged(m_unacked.front());
    m_unacked.pop_front();
  }
  m_peerState = ack.state;
}

void Session::onDone(const sync::Done& done) {
  m_peerDone = true;
  m_peerState = done.state;
}

std::optional<std::uint64_t> Session::expectedIn() const {
  if (!m_reconciled || !m_peerCountAtHello) return std::nullopt;
  const std::uint64_t common =
      m_localCountAtStart - std::min(m_pushTotal, m_localCountAtStart);  // both held
  return *m_peerCountAtHello - std::min(common, *m_peerCountAtHello);
}

sync::Hello Session::hello(const sync::ArchiveState& state) const {
  sync::Hello hello{sync::PROTOCOL_VERSION, m_role == Role::Initiator ? m_salt : protocol::Salt{},
                    state};
  hello.rate = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(m_options.rate, std::numeric_limits<std::uint32_t>::max()));
  hello.budget = m_options.budget;
  if (m_options.streamBatches) hello.features |= sync::FEATURE_ZSTD_STREAM;
  return hello;
}

sync::ArchiveState Session::localState() const {
  const auto txn = m_archive.beginRead();
  const store::ArchiveRangeIndex index(txn);
  return sync::archiveState(index.sum(0, index.size()));
}

void Session::send(const sync::Message& message, std::vector<Bytes>& out) {
  out.push_back(sync::encode(message));
  m_stats.bytesOut += out.back().size();
}

void Session::fail(const std::string& reason, std::vector<Bytes>& out) {
  m_state = State::Failed;
  m_misbehaved = true;
  m_failure = reason;
  send(sync::Failure{reason}, out);
}

}  // namespace fieldsync::node
