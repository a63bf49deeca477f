#pragma once
// When the daemon dials each listed peer: the gossip schedule as pure code, with the clock
// passed in, so it is tested without sockets or waiting (tests/node/dial_scheduler_test.cpp).
//
//   - A peer newly listed is due at once; then again after its interval (with jitter, so
//     offices that start together do not dial together forever).
//   - A failed session backs off exponentially from minBackoff, capped at the peer's
//     maxBackoff; a success resets it, and a session cut after it moved objects (either way)
//     is tried again at once (retryAfterProgress), with the back-off from its first step
//     after that: on a link cut every half minute, waiting out a back-off wastes the link.
//   - New objects here (the archive's last seq moved) make every peer due at once (within
//     Options::pushSpread) that answered last time and may lack them (its in-step seq is older).
//   - A peer that may not have a session now (node/peer_link.h: pause, refusal, spent budget),
//     or that is in a session this node answered, is deferred: due no earlier than given.
// Whether a session may run, and with which options, is node/peer_link.h's to say; this only
// says when to ask.
// Threads: none; one user at a time. Lifetime: holds copies only.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "protocol/keys.h"
#include "store/peers.h"

namespace fieldsync::node {

class DialScheduler {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    /// Between sessions with a peer, and the cap of its back-off: each peer's own settings
    /// unless these override them (tests, benchmarks).
    std::optional<std::chrono::milliseconds> interval;
    std::optional<std::chrono::milliseconds> maxBackoff;
    double jitter = 0.2;                           // intervals vary by +- this share
    std::chrono::milliseconds minBackoff{10'000};  // after a first failure; doubles after each
    /// After a session that moved objects and was then cut: the link worked moments ago, so
    /// the next try comes this soon (at most minBackoff); a try that moves nothing backs off.
    std::chrono::milliseconds retryAfterProgress{1'000};
    std::uint64_t seed = 1;  // of the jitter
    /// New objects are pushed to each peer at a random moment within this much of their
    /// arrival, not all at the same instant: two neighbours that received an object together
    /// would otherwise both push it to a third at once (a duplicate delivery). 0: at once.
    std::chrono::milliseconds pushSpread{0};
  };

  /// lastSeq: the archive's last seq now; objects up to it are not "new".
  DialScheduler(Options options, std::uint64_t lastSeq);

  /// Takes in the peers that can be dialed now (listed with an address, or with one learned)
  /// and the archive's last seq: peers new to it are due at once, peers gone are forgotten, and
  /// a seq that moved makes due those that answered last time and may lack what arrived.
  void update(const std::vector<store::PeerRecord>& peers, std::uint64_t lastSeq,
              Clock::time_point now);
  /// The peer due first, when it is due at now; empty when none is.
  [[nodiscard]] std::optional<store::PeerRecord> due(Clock::time_point now) const;
  /// When the next peer falls due (or Clock::time_point::max() with no peer).
  [[nodiscard]] Clock::time_point nextDue() const;
  /// After a session dialed to key ended: ok or not, and whether it moved anything (stored
  /// objects, or had batches acknowledged: an office that only uploads makes progress too).
  /// Returns when the peer is due next.
  Clock::time_point settled(const protocol::PublicKey& key, bool ok, bool progressed,
                            Clock::time_point now);
  /// The peer is not to be dialed before until (a deferral never brings a dial forward).
  void defer(const protocol::PublicKey& key, Clock::time_point until);

 private:
  struct Peer {
    store::PeerRecord record;
    Clock::time_point due;
    unsigned failures = 0;
  };
  Clock::duration jittered(std::chrono::milliseconds base);

  Options m_options;
  std::uint64_t m_seenSeq;
  std::mt19937_64 m_rng;
  std::map<protocol::PublicKey, Peer> m_peers;
};

}  // namespace fieldsync::node
