#pragma once
// One sync session with one peer, as a state machine: it takes the peer's messages as bytes
// and returns the messages to send, reading and writing the archive. No sockets: the
// transport (node/transport.h) moves the bytes, so sessions are tested and fuzzed without
// them. docs/protocol.md ("Sync sessions") is the specification.
//
//   initiator                                   responder
//   Hello, round 1 ------------------------->
//                  <------------------------- Hello, round 2, batches
//   round 3, batches, acks ------------------>
//                  ...                          (rounds alternate until one needs no answer)
//   Done ------------------------------------> Done
//
// Objects the peer lacks stream in batches (at most `window` unacknowledged) as soon as
// reconciliation finds them. A received batch is unpacked, every object verified (id,
// signature, canonical form), and the whole batch committed in one transaction before its
// Ack is sent; one bad object refuses the whole batch and ends the session. Each side sends
// Done once reconciliation is over and its last batch is out; the session is finished when
// both have sent Done and every batch is acknowledged.
//
// Failures: anything a peer sends that breaks the rules (undecodable bytes, a bad object, a
// message out of turn) ends the session: receive() returns a final Failure message for the
// peer and failed() tells why. Environment failures (LMDB) throw fieldsync::Error.
// Threads: a Session is used by one thread at a time; it opens short read transactions for
// each message and never holds one between calls, so the archive can grow meanwhile.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/reconcile.h"
#include "protocol/sync.h"
#include "store/archive.h"
#include "store/committer.h"

namespace fieldsync::node {

using Bytes = std::vector<std::uint8_t>;

/// Verifies a batch's objects, each as protocol::verify does; the default spreads the work
/// over every core (node/verifier.h).
using BatchVerifier =
    std::function<std::vector<Expected<protocol::VerifiedObject, protocol::Rejection>>(
        const std::vector<std::span<const std::uint8_t>>&)>;

struct SessionOptions {
  std::size_t batchBytes = 1u << 20;  // raw bytes per batch (a larger single object goes alone)
  std::size_t batchObjects = 1024;
  std::uint32_t window = 4;  // batches sent and not yet acknowledged
  std::uint32_t maxRounds = 64;
  /// This side's limits for the link (its settings for the peer: node/peer_link.h), told to
  /// the peer in Hello. rate: bytes per second each way, 0 for no cap; budget: bytes both ways
  /// this session may move, 0 for no limit. The session keeps to the smaller non-zero value of
  /// its own and the peer's: batches are sized to the rate (batchBytesFor, from batchBytes),
  /// the transport paces sends to linkRate(), and no batch is sent that would take the
  /// session's bytes past the budget (the session then ends without pushing the rest).
  std::uint64_t rate = 0;
  std::uint64_t budget = 0;
  int compressionLevel = 3;  // zstd; 1 is faster, higher packs a metered link tighter
  /// Offers (Hello::features) and, with a peer that offers it too, sends batches as one zstd
  /// stream per direction (protocol::sync::BatchPacker::useStream). Off: one zstd frame per
  /// batch, as nodes before the stream did.
  bool streamBatches = true;
  /// The initiator's opening (protocol::Reconciler::Opening): InStep when nothing arrived
  /// here since the last session with this peer found both archives equal.
  protocol::Reconciler::Opening opening = protocol::Reconciler::Opening::Full;
  /// tuning.horizon unset: the session sets it from the system clock when it is made
  /// (protocol::horizonFor), so future-dated objects form a tail of their own
  /// (docs/decisions/0005-future-dated-objects.md). Set it to run as a node with another clock.
  protocol::Tuning tuning;
  protocol::sync::MessageLimits limits;
  protocol::FrameLimits frameLimits;
  /// What one round of the peer may hold in all its frames: ranges and short ids. The reply
  /// built for a round grows with what the round holds, so a round over these is refused as a
  /// violation (the peer is blamed). Each is at least the fixed value here, or, for a large
  /// archive, a multiple of this archive's object count (a legitimate round splits ranges of
  /// this archive or lists the peer's ids in them): the session's memory is bounded by the
  /// archive or a fixed limit, never by how much the peer sends.
  std::size_t roundRanges = 1u << 17;
  std::size_t roundIds = 1u << 21;
  /// What the peer's round held when its previous session here ended before the round did
  /// (Session::unfinishedRound, kept by the server for a while): it counts towards this
  /// session's first round of the peer, so that ending a session before the bound does not reset
  /// it. A peer that streamed frames and reconnected each time before the third was never
  /// refused, and kept the server decoding frames of 65,536 ranges for as long as it liked.
  std::size_t carriedRoundRanges = 0;
  std::size_t carriedRoundIds = 0;
  BatchVerifier verifier;  // empty: parallelVerifier over every core
  /// Commits received batches on a thread of their own (store/committer.h): the next batch is
  /// verified while the last one is written, and batches that arrive meanwhile share one
  /// transaction. Acks then leave from settle(), which the driver must call: after each
  /// receive() and whenever committing() and no message is waiting. Off: each batch is
  /// committed within receive() and acknowledged in its reply.
  bool commitInBackground = false;
  /// Called with the ids of each batch this side sent, once the peer acknowledged it (so the
  /// peer has committed them), in the order sent. For tests and tools that must know what a
  /// peer holds for sure (tests/cli/crash_test.cpp); empty: the ids are not kept.
  std::function<void(const std::vector<protocol::ObjectId>&)> onAcknowledged;
};

struct SessionStats {
  std::uint64_t objectsIn = 0;     // received and stored
  std::uint64_t duplicatesIn = 0;  // received, already held
  std::uint64_t objectsOut = 0;    // sent
  std::uint64_t bytesIn = 0;       // message bytes, as given to receive()
  std::uint64_t bytesOut = 0;
  std::uint64_t reconcileBytesIn = 0;  // of which reconciliation frames
  std::uint64_t reconcileBytesOut = 0;
  std::uint32_t rounds = 0;  // reconciliation rounds, both ways
  std::uint32_t batchesIn = 0;
  std::uint32_t batchesOut = 0;
  std::uint32_t batchesAcked = 0;  // of batchesOut: the peer has committed them
  /// The session's budget is spent as far as whole batches go: this side left objects unsent
  /// because the next batch would have overrun it, or the session ended with too little left
  /// for another batch (the peer may have stopped for that reason).
  bool budgetSpent = false;
  /// Trips of reconciliation: rounds / 2, rounded up. Batches stream behind the rounds.
  std::uint32_t roundTrips() const { return (rounds + 1) / 2; }
};

/// The batch size for a link capped at `rate` bytes per second (0: no cap): two seconds' worth,
/// a balance between compression (zstd packs each batch alone: smaller batches cost more
/// bytes) and smoothness (a batch leaves whole, so over a window of ten seconds a link may
/// carry one batch more than the cap) and what a cut loses; at most batchBytes, at least
/// MIN_CAPPED_BATCH_BYTES (a batch holds at least one object whatever its size).
inline constexpr std::size_t MIN_CAPPED_BATCH_BYTES = 4096;
/// What a batch message adds to its objects at most: Cap'n Proto framing and fields.
inline constexpr std::size_t BATCH_MESSAGE_OVERHEAD = 256;
std::size_t batchBytesFor(std::uint64_t rate, std::size_t batchBytes);
/// The burst a paced link allows after a quiet spell (node/rate_limiter.h): a quarter second of
/// it, at least 1 KiB.
std::uint64_t burstFor(std::uint64_t rate);
/// How often a driver looks for ended commits while a session commits in the background
/// (SessionOptions::commitInBackground): an ack leaves at most this late.
inline constexpr std::chrono::milliseconds COMMIT_POLL{1};
/// The smaller non-zero of two limits (0: no limit).
std::uint64_t tighterLimit(std::uint64_t a, std::uint64_t b);

class Session {
 public:
  enum class Role { Initiator, Responder };

  Session(store::Archive& archive, Role role, SessionOptions options = {});

  /// The initiator's opening messages: Hello and round 1. Empty for a responder.
  std::vector<Bytes> start();
  /// Handles one message from the peer; returns what to send, in order.
  std::vector<Bytes> receive(std::span<const std::uint8_t> message);
  /// Ends the session from this side (a timeout, a shutdown): the Failure message to send.
  Bytes abort(const std::string& reason);
  /// With commitInBackground: the acks of the batches committed since the last call, and what
  /// follows from them (Done, the end). wait: until every batch received is committed. Throws
  /// what the commit threw (fieldsync::Error), as receive() does when it commits itself.
  std::vector<Bytes> settle(bool wait);
  /// Batches received are not all committed and acknowledged yet (commitInBackground).
  bool committing() const;

  bool finished() const { return m_state == State::Finished; }
  bool failed() const { return m_state == State::Failed; }
  bool over() const { return finished() || failed(); }
  /// Why the session failed ("peer: ..." when the peer ended it).
  const std::string& failure() const { return m_failure; }
  /// The session failed because the peer broke the rules (sent something invalid), as
  /// opposed to the peer ending it or this side giving up.
  bool peerMisbehaved() const { return failed() && m_misbehaved; }
  /// After finished(): both archives held the same objects at the end.
  bool inStep() const { return m_inStep; }
  const SessionStats& stats() const { return m_stats; }
  /// Objects the peer is expected to send in all (received ones included), known once
  /// reconciliation is over: the peer's count at its Hello, less the objects both hold (this
  /// archive's count at the start less what reconciliation found to push). An estimate when
  /// either archive changes meanwhile; empty before.
  std::optional<std::uint64_t> expectedIn() const;
  /// The cap both sides keep to on this link, bytes per second each way (0: none): this side's
  /// until the peer's Hello arrives, then the smaller non-zero of both.
  std::uint64_t linkRate() const { return m_linkRate; }
  /// What to carry to the peer's next session (SessionOptions::carriedRoundRanges): the
  /// ranges and short ids of the peer's open round (frames arrived, the last one not yet),
  /// carried ones included; what this session was given when no round of the peer began here;
  /// zeros once one of its rounds ended.
  std::pair<std::size_t, std::size_t> unfinishedRound() const {
    if (m_roundOpen) return {m_roundRanges, m_roundIds};
    if (!m_peerRoundBegan) return {m_options.carriedRoundRanges, m_options.carriedRoundIds};
    return {};
  }
  /// The peer's archive as it last reported it.
  const std::optional<protocol::sync::ArchiveState>& peerState() const { return m_peerState; }

 private:
  enum class State { Start, AwaitHello, Active, Finished, Failed };
  struct Push {
    protocol::Bound lower;  // next key to send from
    protocol::Bound upper;
  };

  std::vector<Bytes> handle(protocol::sync::Message message);
  void onHello(const protocol::sync::Hello& hello, std::vector<Bytes>& out);
  void onReconcile(const protocol::sync::Reconcile& reconcile, std::vector<Bytes>& out);
  void onBatch(const protocol::sync::Batch& batch, std::vector<Bytes>& out);
  /// Counts what a committed batch stored and acknowledges it.
  void acknowledge(const store::Committer::Committed& committed, std::vector<Bytes>& out);
  void count(const store::Committer::Committed& committed);
  void onAck(const protocol::sync::Ack& ack);
  void onDone(const protocol::sync::Done& done);
  /// Sends our reply round for the frames gathered from the peer's round.
  void sendRound(std::vector<protocol::Frame> frames, bool needsAnswer, std::vector<Bytes>& out);
  /// Queues what reconciliation found to push.
  void queuePushes(const protocol::Reply& reply);
  /// Sends batches while the window allows, then Done when all is out; checks the end.
  void pump(std::vector<Bytes>& out);
  /// The next batch of what is to push; room: the most bytes of objects it may hold, the
  /// first included (a budget), else batchBytes with at least one object.
  std::optional<protocol::sync::Batch> nextBatch(std::optional<std::size_t> room);
  protocol::sync::ArchiveState localState() const;
  /// This side's Hello, with its archive's state and its limits.
  protocol::sync::Hello hello(const protocol::sync::ArchiveState& state) const;
  void send(const protocol::sync::Message& message, std::vector<Bytes>& out);
  /// Ends the session for a peer's fault: a Failure message for it.
  void fail(const std::string& reason, std::vector<Bytes>& out);

  store::Archive& m_archive;
  Role m_role;
  SessionOptions m_options;
  std::size_t m_unlimitedBatchBytes;  // options.batchBytes as given, before any cap
  std::uint64_t m_linkRate = 0;
  std::uint64_t m_linkBudget = 0;
  State m_state;
  protocol::Salt m_salt{};
  std::optional<protocol::Reconciler> m_reconciler;
  protocol::sync::BatchPacker m_packer;
  protocol::sync::BatchUnpacker m_unpacker;
  std::unique_ptr<store::Committer> m_committer;  // commitInBackground, from the first batch
  std::uint32_t m_batchesCommitted = 0;  // of m_stats.batchesIn

  // Reconciliation.
  std::uint32_t m_round = 0;     // the last round sent or received
  bool m_awaitingRound = false;  // we sent a round that needs an answer
  bool m_reconciled = false;
  protocol::Reply m_incoming;  // our reply to the peer's round, gathered frame by frame
  bool m_incomingNeedsAnswer = false;
  bool m_roundOpen = false;         // receiving the frames of the peer's round m_round
  bool m_peerRoundBegan = false;    // a round of the peer began here (the carry is used up)
  bool m_carriedIntoRound = false;  // the open round counts a carry
  /// Where the open round's frames so far end: the next frame must start there or later, so a
  /// round costs at most one pass over the archive however many frames the peer sends.
  protocol::Bound m_roundEnd = protocol::Bound::lowest();
  std::size_t m_roundRanges = 0;  // ranges and short ids in the open round's frames so far
  std::size_t m_roundIds = 0;

  // Objects.
  std::deque<Push> m_pushes;
  std::vector<protocol::SyncKey> m_pushKeys;  // single keys still to send
  std::uint32_t m_acked = 0;
  std::deque<std::vector<protocol::ObjectId>> m_unacked;  // ids per batch, for onAcknowledged
  bool m_doneSent = false;
  bool m_peerDone = false;

  SessionStats m_stats;
  // For expectedIn(): the counts at the start and what reconciliation found to push.
  std::uint64_t m_localCountAtStart = 0;
  std::optional<std::uint64_t> m_peerCountAtHello;
  std::uint64_t m_pushTotal = 0;
  std::optional<protocol::sync::ArchiveState> m_peerState;
  bool m_inStep = false;
  std::string m_failure;
  bool m_misbehaved = false;
};

}  // namespace fieldsync::node
