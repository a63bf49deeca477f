// Reconciliation cost: bytes and round trips to find the difference between two archives,
// beside the minimum (the differing ids, 32 bytes each) and beside sending every id.
// Pure reconciliation over in-memory sets (tests/support/reconcile_driver.h); the same code
// runs over the store's index in a session. Results and command: docs/benchmarks.md.
//
//   build/bench/reconcile_bench [objects=100000] [seed=1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "protocol/reconcile.h"
#include "support/reconcile_driver.h"

namespace {
using namespace fieldsync;
using protocol::SyncKey;

/// n keys in batches sharing a signedAt (imports sign a batch at one time), a few seconds
/// to hours apart.
std::vector<SyncKey> archiveKeys(std::mt19937_64& rng, std::size_t n) {
  std::vector<SyncKey> keys;
  keys.reserve(n);
  std::int64_t at = 1'700'000'000;
  while (keys.size() < n) {
    const std::size_t batch = 1 + rng() % 24;
    for (std::size_t i = 0; i < batch && keys.size() < n; ++i) {
      SyncKey key{at, {}};
      for (auto& byte : key.id.bytes) byte = static_cast<std::uint8_t>(rng());
      keys.push_back(key);
    }
    at += 1 + static_cast<std::int64_t>(rng() % 3600);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100'000;
  const std::uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
  protocol::Tuning tuning;
  if (argc > 3) tuning.leafItems = std::strtoull(argv[3], nullptr, 10);
  std::mt19937_64 rng(seed);
  const auto keys = archiveKeys(rng, n + 10'000);
  protocol::Salt salt{};
  for (auto& byte : salt) byte = static_cast<std::uint8_t>(rng());

  std::printf("objects %zu, seed %llu; bytes = reconciliation frames both ways\n", n,
              static_cast<unsigned long long>(seed));
  std::printf("%-9s %6s %10s %6s %10s %8s %10s %9s %9s\n", "shape", "d", "bytes", "trips",
              "minimum", "x min", "every id", "x every", "ms");
  for (const char* shape : {"newest", "scattered"}) {
    for (std::size_t d : {0u, 1u, 10u, 100u, 1000u, 10000u}) {
      // The responder holds n + d objects, the initiator n: the d it lacks are the newest or
      // drawn at random from all n + d.
      std::vector<SyncKey> all(keys.begin(), keys.begin() + static_cast<long>(n + d));
      std::vector<SyncKey> missing;
      if (std::string_view(shape) == "newest") {
        missing.assign(all.end() - static_cast<long>(d), all.end());
      } else {
        std::vector<SyncKey> shuffled = all;
        std::shuffle(shuffled.begin(), shuffled.end(), rng);
        missing.assign(shuffled.begin(), shuffled.begin() + static_cast<long>(d));
        std::sort(missing.begin(), missing.end());
      }
      std::vector<SyncKey> initiatorKeys;
      std::set_difference(all.begin(), all.end(), missing.begin(), missing.end(),
                          std::back_inserter(initiatorKeys));
      const protocol::VectorRangeIndex initiator(initiatorKeys), responder(all);
      initiator.sum(0, 0);  // build the prefix sums outside the timing
      responder.sum(0, 0);
      const auto start = std::chrono::steady_clock::now();
      const auto stats = testing::reconcile(initiator, responder, salt, tuning);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      if (stats.toInitiator != missing || !stats.toResponder.empty()) {
        std::fprintf(stderr, "WRONG RESULT for %s d=%zu\n", shape, d);
        return 1;
      }
      const double minimum = 32.0 * static_cast<double>(d);
      const double everyId = 32.0 * static_cast<double>(n);
      std::printf(
          "%-9s %6zu %10zu %6zu %10.0f %8s %10.0f %9.3f %9.1f\n", shape, d, stats.bytes,
          stats.roundTrips(), minimum,
          d ? std::to_string(static_cast<double>(stats.bytes) / minimum).substr(0, 5).c_str() : "-",
          everyId, static_cast<double>(stats.bytes) / everyId, ms);
    }
  }
}
