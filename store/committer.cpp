#include "store/committer.h"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <utility>

#include "store/parallel.h"

namespace fieldsync::store {

Committer::Committer(Archive& archive) : m_archive(archive), m_thread([this] { run(); }) {}

Committer::~Committer() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_one();
  // m_thread joins as the last member goes, after run() drained the queue.
}

void Committer::submit(std::uint32_t batch, std::vector<protocol::VerifiedObject> objects,
                       std::vector<PreparedObject> prepared) {
  assert(prepared.size() == objects.size());
  {
    std::lock_guard lock(m_mutex);
    m_queue.push_back(Job{batch, std::move(objects), std::move(prepared)});
    ++m_inFlight;
  }
  m_wake.notify_one();
}

std::vector<Committer::Committed> Committer::collect(bool wait) {
  std::unique_lock lock(m_mutex);
  if (wait) {
    m_done.wait(lock, [&] { return m_error || m_committed.size() == m_inFlight; });
  }
  if (m_error) {
    m_inFlight = 0;
    m_committed.clear();
    std::rethrow_exception(std::exchange(m_error, nullptr));
  }
  m_inFlight -= m_committed.size();
  return std::exchange(m_committed, {});
}

bool Committer::idle() const {
  std::lock_guard lock(m_mutex);
  return m_inFlight == 0 && !m_error;
}

std::vector<PreparedObject> prepareAll(std::span<const protocol::VerifiedObject> objects,
                                       unsigned threads) {
  return mapOnEveryCore(
      objects.size(), [&](std::size_t i) { return PreparedObject(objects[i]); }, threads, 64);
}

void Committer::run() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_wake.wait(lock, [&] { return m_stop || !m_queue.empty(); });
    if (m_queue.empty()) return;  // stopped, and nothing left
    // Everything queued goes in one transaction: the peer's window bounds it.
    std::deque<Job> jobs = std::exchange(m_queue, {});
    const bool failed = m_failed;
    lock.unlock();
    std::vector<Committed> results;
    std::exception_ptr error;
    if (!failed) {  // after a failure nothing more is written: the session is over
      try {
        std::vector<PreparedObject> prepared;
        for (Job& job : jobs) {
          std::move(job.prepared.begin(), job.prepared.end(), std::back_inserter(prepared));
        }
        m_archive.write([&](WriteTxn& txn) {
          const std::vector<PutOutcome> outcomes = txn.putBatch(prepared);
          results.clear();  // the batch may run again after the map grows
          std::size_t next = 0;
          for (const Job& job : jobs) {
            Committed& done = results.emplace_back(Committed{job.batch, 0, 0, 0});
            for (std::size_t i = 0; i < job.objects.size(); ++i) {
              switch (outcomes[next++]) {
                case PutOutcome::Stored:
                  ++done.stored;
                  break;
                case PutOutcome::AlreadyPresent:
                  ++done.alreadyPresent;
                  break;
                case PutOutcome::Retracted:
                  ++done.retracted;
                  break;
              }
            }
          }
        });
      } catch (...) {
        error = std::current_exception();
      }
    }
    jobs.clear();  // the objects' memory goes before the lock is taken again
    lock.lock();
    if (error) {
      m_error = error;
      m_failed = true;
    }
    if (!failed && !error) {
      m_committed.insert(m_committed.end(), results.begin(), results.end());
    }
    m_done.notify_all();
  }
}

}  // namespace fieldsync::store
