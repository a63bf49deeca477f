#pragma once
// Commits batches of verified objects on a thread of its own, so that whoever receives them
// (a sync session, a bundle import) verifies the next batch while the previous one is written
// and synced to disk. Batches are committed in the order given; batches that queue up while a
// commit runs go together in the next transaction (a group commit), so a fast link pays one
// fsync for several batches. A batch is reported committed only once its transaction is
// durable: a session acknowledges nothing before that (docs/protocol.md, "Batches").
//
// Threads: submit(), collect() and idle() are called by one owning thread; the committer's
// thread only writes the archive (Archive::write). Lifetime: the archive outlives the
// committer; the destructor finishes what was submitted (it is verified, and a peer may wait
// for its acks) and joins the thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "protocol/object.h"
#include "store/archive.h"

namespace fieldsync::store {

/// The PreparedObject of each of objects (content hash, search terms: a third of storing
/// them), in order, made on `threads` threads (0: every core). They refer to the objects,
/// which must outlive them.
std::vector<PreparedObject> prepareAll(std::span<const protocol::VerifiedObject> objects,
                                       unsigned threads = 0);

class Committer {
 public:
  /// What one batch's commit gave.
  struct Committed {
    std::uint32_t batch = 0;
    std::uint64_t stored = 0;          // PutOutcome::Stored
    std::uint64_t alreadyPresent = 0;  // PutOutcome::AlreadyPresent
    std::uint64_t retracted = 0;       // PutOutcome::Retracted
  };

  explicit Committer(Archive& archive);
  ~Committer();
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  /// Queues a verified batch for commit after those queued before it. prepared: the objects'
  /// PreparedObject in order (prepareAll), made by the caller beside its verification, so
  /// that the committer's thread does only the one step that cannot be shared: the write.
  /// They refer to objects, whose elements the move keeps where they are.
  void submit(std::uint32_t batch, std::vector<protocol::VerifiedObject> objects,
              std::vector<PreparedObject> prepared);
  /// The batches committed since the last call, in order; with wait, blocks until every batch
  /// submitted so far is committed. Rethrows (once) what a commit threw (fieldsync::Error:
  /// disk full, a damaged archive); nothing submitted after the failed batch is committed.
  std::vector<Committed> collect(bool wait);
  /// Every batch submitted is committed and collected.
  bool idle() const;

 private:
  struct Job {
    std::uint32_t batch;
    std::vector<protocol::VerifiedObject> objects;
    std::vector<PreparedObject> prepared;
  };
  void run();

  Archive& m_archive;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;  // to the thread: work or stop
  std::condition_variable m_done;  // to the owner: a commit ended
  std::deque<Job> m_queue;
  std::vector<Committed> m_committed;
  std::size_t m_inFlight = 0;  // submitted, not yet collected
  std::exception_ptr m_error;  // thrown by a commit, not yet collected
  bool m_failed = false;       // a commit failed: nothing more is written
  bool m_stop = false;
  std::jthread m_thread;  // last: it starts once the members above exist
};

}  // namespace fieldsync::store
