// Reconciliation cost: bytes and round trips to find the difference between two archives,
// beside the minimum (the differing ids, 32 bytes each) and beside sending every id.
// Pure reconciliation over in-memory sets (tests/support/reconcile_driver.h); the same code
// runs over the store's index in a session (sync_bench measures that). Results and command:
// docs/benchmarks.md ("Sync").
//
//   build/bench/reconcile_bench [objects=100000] [seed=1] [leafItems]
//
// Shapes of the difference d:
//   newest          the responder holds the d newest objects, which the initiator lacks
//   newest-ahead    the initiator holds the d newest, which the responder lacks
//   scattered       d drawn at random from all, lacking on the initiator's side
//   scattered-both  d/2 drawn at random lacking on each side (d - d/2 on the responder's)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>

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

std::vector<SyncKey> without(const std::vector<SyncKey>& all, const std::vector<SyncKey>& gone) {
  std::vector<SyncKey> out;
  std::set_difference(all.begin(), all.end(), gone.begin(), gone.end(), std::back_inserter(out));
  return out;
}

/// count keys of all drawn at random, sorted.
std::vector<SyncKey> draw(const std::vector<SyncKey>& all, std::size_t count,
                          std::mt19937_64& rng) {
  std::vector<SyncKey> out;
  std::sample(all.begin(), all.end(), std::back_inserter(out), static_cast<long>(count), rng);
  return out;  // std::sample keeps the input order: sorted
}

std::string ratio(double value, double of) {
  if (of == 0) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value / of);
  return text;
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

  std::printf(
      "objects %zu (the larger side), seed %llu; bytes = reconciliation frames both ways;\n"
      "minimum = d x 32; every id = objects x 32; ms = wall time of the whole exchange\n",
      n, static_cast<unsigned long long>(seed));
  std::printf("%-14s %6s %10s %6s %6s %10s %7s %11s %8s %9s\n", "shape", "d", "bytes", "trips",
              "frames", "minimum", "x min", "every id", "x every", "ms");
  bool allRight = true;
  for (const std::string_view shape : {"newest", "newest-ahead", "scattered", "scattered-both"}) {
    for (const std::size_t d : {0u, 1u, 10u, 100u, 1000u, 10000u}) {
      // The larger side holds n objects: the first n keys; the d that differ are among them.
      const std::vector<SyncKey> all(keys.begin(), keys.begin() + static_cast<long>(n));
      std::vector<SyncKey> lackedByInitiator, lackedByResponder;
      if (shape == "newest" || shape == "newest-ahead") {
        std::vector<SyncKey> newest(all.end() - static_cast<long>(d), all.end());
        (shape == "newest" ? lackedByInitiator : lackedByResponder) = std::move(newest);
      } else if (shape == "scattered") {
        lackedByInitiator = draw(all, d, rng);
      } else {
        auto both = draw(all, d, rng);
        std::shuffle(both.begin(), both.end(), rng);
        lackedByInitiator.assign(both.begin(), both.begin() + static_cast<long>(d / 2));
        lackedByResponder.assign(both.begin() + static_cast<long>(d / 2), both.end());
        std::sort(lackedByInitiator.begin(), lackedByInitiator.end());
        std::sort(lackedByResponder.begin(), lackedByResponder.end());
      }
      const protocol::VectorRangeIndex initiator(without(all, lackedByInitiator));
      const protocol::VectorRangeIndex responder(without(all, lackedByResponder));
      initiator.sum(0, 0);  // build the prefix sums outside the timing
      responder.sum(0, 0);
      const auto start = std::chrono::steady_clock::now();
      const auto stats = testing::reconcile(initiator, responder, salt, tuning);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      if (stats.toInitiator != lackedByInitiator || stats.toResponder != lackedByResponder) {
        std::fprintf(stderr, "WRONG RESULT for %s d=%zu\n", std::string(shape).c_str(), d);
        allRight = false;
      }
      const double minimum = 32.0 * static_cast<double>(d);
      const double everyId = 32.0 * static_cast<double>(n);
      const auto bytes = static_cast<double>(stats.bytes);
      std::printf("%-14s %6zu %10zu %6zu %6zu %10.0f %7s %11.0f %8s %9.1f\n",
                  std::string(shape).c_str(), d, stats.bytes, stats.roundTrips(), stats.frames,
                  minimum, ratio(bytes, minimum).c_str(), everyId, ratio(bytes, everyId).c_str(),
                  ms);
      std::fflush(stdout);
    }
  }
  return allRight ? 0 : 1;
}
