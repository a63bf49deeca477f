#pragma once
// Splitting work over every core: the one way the store and the node spread a batch's
// verification, preparation, signing and parsing over threads.
// Threads: runs work on up to `threads` threads at once (the caller's among them) and returns
// once every index is done; work must be safe to run on different indexes at once.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace fieldsync::store {

/// Runs work(i) for every i in [0, count) on up to `threads` threads (0: one per core), the
/// caller's and helpers, each taking the next `chunk` indexes in turn: a thread slowed by
/// another (a commit on the same cores) takes fewer. One chunk or less runs on the caller's
/// thread alone (a thread costs more than a few items). after(done) runs on the calling thread
/// only, after each chunk it ran (done: how many indexes every thread has finished). What work
/// throws stops every thread at its next chunk and is thrown again here (the first of them).
template <typename Work, typename After>
void onEveryCore(std::size_t count, Work&& work, After&& after, std::size_t threads = 0,
                 std::size_t chunk = 16) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> finished{0};
  std::mutex failedMutex;
  std::exception_ptr failed;
  auto run = [&](bool caller) {
    try {
      for (;;) {
        const std::size_t from = next.fetch_add(chunk);
        if (from >= count) return;
        const std::size_t to = std::min(count, from + chunk);
        for (std::size_t i = from; i < to; ++i) work(i);
        const std::size_t done = finished.fetch_add(to - from) + (to - from);
        if (caller) after(done);
      }
    } catch (...) {
      next = count;  // the others stop at their next chunk
      std::lock_guard lock(failedMutex);
      if (!failed) failed = std::current_exception();
    }
  };
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t chunks = (count + chunk - 1) / chunk;
  const std::size_t helpers = std::min(threads - 1, chunks > 0 ? chunks - 1 : 0);
  {
    std::vector<std::jthread> pool;
    pool.reserve(helpers);
    for (std::size_t t = 0; t < helpers; ++t) pool.emplace_back([&] { run(false); });
    run(true);
  }  // joined
  if (failed) std::rethrow_exception(failed);
}

/// fn(i) for every i in [0, count), spread as onEveryCore spreads them; the results in order
/// of i.
template <typename Fn>
auto mapOnEveryCore(std::size_t count, Fn&& fn, std::size_t threads = 0, std::size_t chunk = 16) {
  using Result = std::invoke_result_t<Fn&, std::size_t>;
  std::vector<std::optional<Result>> slots(count);
  onEveryCore(
      count, [&](std::size_t i) { slots[i].emplace(fn(i)); }, [](std::size_t) {}, threads, chunk);
  std::vector<Result> results;
  results.reserve(count);
  for (auto& slot : slots) results.push_back(std::move(*slot));
  return results;
}

}  // namespace fieldsync::store
