#include "store/verify.h"

#include <algorithm>
#include <thread>

namespace fieldsync::store {
namespace {

/// Objects handed to the workers at a time: enough to keep every core busy for a while,
/// few enough that the list of views stays small for any archive.
constexpr std::size_t WINDOW = 4096;

struct Stored {
  ObjectId id;
  std::span<const std::uint8_t> bytes;  // a view into the map, valid while the txn lives
};

/// Checks one stored object; the problem, if it does not hold.
std::optional<std::string> check(const Stored& object) {
  auto verified = protocol::verify(object.bytes);
  if (!verified) return verified.error().message();
  if (verified->id() != object.id)
    return "id mismatch: the stored bytes hash to " + verified->id().hex();
  return std::nullopt;
}

/// Checks a window of objects on up to `threads` threads, appending failures to summary.
void checkWindow(const std::vector<Stored>& window, unsigned threads, VerifySummary& summary) {
  std::vector<std::vector<VerifyFailure>> found(threads);
  auto work = [&](unsigned t) {
    for (std::size_t i = t; i < window.size(); i += threads)
      if (auto problem = check(window[i])) found[t].push_back({window[i].id, std::move(*problem)});
  };
  std::vector<std::jthread> workers;
  for (unsigned t = 1; t < threads; ++t) workers.emplace_back(work, t);
  work(0);
  workers.clear();  // joins
  for (auto& f : found)
    summary.failures.insert(summary.failures.end(), std::make_move_iterator(f.begin()),
                            std::make_move_iterator(f.end()));
  summary.checked += window.size();
}

void sortById(VerifySummary& summary) {
  std::sort(summary.failures.begin(), summary.failures.end(),
            [](const VerifyFailure& a, const VerifyFailure& b) { return a.id < b.id; });
}

}  // namespace

VerifySummary verifyAll(const Archive& archive, unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  VerifySummary summary;
  auto txn = archive.beginRead();  // MDB_NOTLS: its views may be read from other threads
  std::vector<Stored> window;
  window.reserve(WINDOW);
  txn.forEach([&](const ObjectId& id, std::span<const std::uint8_t> bytes) {
    window.push_back({id, bytes});
    if (window.size() == WINDOW) {
      checkWindow(window, threads, summary);
      window.clear();
    }
    return true;
  });
  checkWindow(window, threads, summary);
  sortById(summary);
  return summary;
}

VerifySummary verifyIds(const Archive& archive, const std::vector<ObjectId>& ids) {
  VerifySummary summary;
  auto txn = archive.beginRead();
  for (const auto& id : ids) {
    ++summary.checked;
    if (auto bytes = txn.get(id)) {
      if (auto problem = check({id, *bytes})) summary.failures.push_back({id, std::move(*problem)});
    } else {
      summary.failures.push_back({id, "not in the archive"});
    }
  }
  sortById(summary);
  return summary;
}

}  // namespace fieldsync::store
