#pragma once
// Splitting work over every core: the one way the store and the node spread a batch's
// verification and preparation over threads.
// Threads: runs work on up to `threads` threads at once (the caller's among them) and returns
// once every part is done; work must be safe to run on disjoint ranges at once.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace fieldsync::store {

/// Calls work(first, last) on contiguous ranges that cover [0, count), one range a thread, on
/// at most `threads` threads (0: one per core) and never on fewer than minEach items a thread
/// (small batches are not worth a thread). The caller's thread takes the first range.
template <typename Work>
void forEachPart(std::size_t count, Work&& work, std::size_t threads = 0,
                 std::size_t minEach = 16) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t parts = std::min(threads, std::max<std::size_t>(1, count / minEach));
  std::vector<std::jthread> helpers;
  for (std::size_t part = 1; part < parts; ++part) {
    helpers.emplace_back(work, count * part / parts, count * (part + 1) / parts);
  }
  work(std::size_t{0}, count / parts);
}  // joins the helpers

/// fn(i) for every i in [0, count), split over threads as forEachPart splits them; the
/// results in order of i.
template <typename Fn>
auto mapEachPart(std::size_t count, Fn&& fn, std::size_t threads = 0, std::size_t minEach = 16) {
  using Result = std::invoke_result_t<Fn&, std::size_t>;
  std::vector<std::optional<Result>> slots(count);
  forEachPart(
      count,
      [&](std::size_t first, std::size_t last) {
        for (std::size_t i = first; i < last; ++i) slots[i].emplace(fn(i));
      },
      threads, minEach);
  std::vector<Result> results;
  results.reserve(count);
  for (auto& slot : slots) results.push_back(std::move(*slot));
  return results;
}

}  // namespace fieldsync::store
