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
//
// Then future-dated objects (docs/decisions/0005-future-dated-objects.md): F = 100 objects
// signed about five years ahead of the clock, each shape run twice, without a horizon (as
// before 0005) and with each side's horizon at its clock plus a day:
//   future-both     both hold the F; the responder holds the d newest (present) objects
//   future-ahead    both hold the F; the initiator holds the d newest
//   future-one      only the responder holds the F, and the d newest
//   future-split    F/2 lacking on each side, and d scattered lacking on each side
//   slow-clock      future-both, the initiator's clock two years slow (horizon before all)
//   fast-clock      future-both, the initiator's clock ten years fast (the F look present)
// "opening" is round 1 alone; in-step is the opening a daemon uses between equal sessions.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
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

struct FutureCase {
  std::vector<SyncKey> initiator, responder;
  std::optional<std::int64_t> initiatorClock;  // empty: the common clock
};

/// The future-dated table; false when a result was wrong.
bool futureDated(const std::vector<SyncKey>& keys, std::size_t n, std::mt19937_64& rng,
                 const protocol::Salt& salt, const protocol::Tuning& base) {
  constexpr std::size_t F = 100;
  constexpr std::int64_t YEAR = 365 * 24 * 3600;
  const std::vector<SyncKey> all(keys.begin(), keys.begin() + static_cast<long>(n));
  const std::int64_t now = all.back().signedAt;  // the clock: just after the newest object
  std::vector<SyncKey> future;
  for (std::size_t i = 0; i < F; ++i) {
    SyncKey key{now + 5 * YEAR + static_cast<std::int64_t>(rng() % (3 * 24 * 3600)), {}};
    for (auto& byte : key.id.bytes) byte = static_cast<std::uint8_t>(rng());
    future.push_back(key);
  }
  std::sort(future.begin(), future.end());
  auto joined = [](std::vector<SyncKey> a, const std::vector<SyncKey>& b) {
    a.insert(a.end(), b.begin(), b.end());
    std::sort(a.begin(), a.end());
    return a;
  };

  std::printf(
      "\nfuture-dated: %zu objects signed ~5 years ahead beside %zu; before = no horizon,\n"
      "after = each side's horizon at its clock + 1 day; open = round 1 bytes\n",
      F, n);
  std::printf("%-13s %5s %8s | %6s %8s %5s | %6s %8s %5s\n", "shape", "d", "opening", "open",
              "bytes", "trips", "open", "bytes", "trips");
  bool allRight = true;
  for (const std::string_view shape :
       {"future-both", "future-ahead", "future-one", "future-split", "slow-clock", "fast-clock"}) {
    for (const std::size_t d : {0u, 1u, 10u, 100u}) {
      for (const auto opening :
           {protocol::Reconciler::Opening::Full, protocol::Reconciler::Opening::InStep}) {
        FutureCase c;
        const std::vector<SyncKey> newest(all.end() - static_cast<long>(d), all.end());
        if (shape == "future-both" || shape == "slow-clock" || shape == "fast-clock") {
          c.initiator = joined(without(all, newest), future);
          c.responder = joined(all, future);
          if (shape == "slow-clock") c.initiatorClock = now - 2 * YEAR;
          if (shape == "fast-clock") c.initiatorClock = now + 10 * YEAR;
        } else if (shape == "future-ahead") {
          c.initiator = joined(all, future);
          c.responder = joined(without(all, newest), future);
        } else if (shape == "future-one") {
          c.initiator = without(all, newest);
          c.responder = joined(all, future);
        } else {
          auto both = draw(all, d, rng);
          std::shuffle(both.begin(), both.end(), rng);
          const std::vector<SyncKey> futureA(future.begin(), future.begin() + F / 2);
          const std::vector<SyncKey> futureB(future.begin() + F / 2, future.end());
          std::vector<SyncKey> lackA(both.begin(), both.begin() + static_cast<long>(d / 2));
          std::vector<SyncKey> lackB(both.begin() + static_cast<long>(d / 2), both.end());
          std::sort(lackA.begin(), lackA.end());
          std::sort(lackB.begin(), lackB.end());
          c.initiator = joined(without(all, lackA), futureA);
          c.responder = joined(without(all, lackB), futureB);
        }
        std::vector<SyncKey> lackedByInitiator, lackedByResponder;
        std::set_difference(c.responder.begin(), c.responder.end(), c.initiator.begin(),
                            c.initiator.end(), std::back_inserter(lackedByInitiator));
        std::set_difference(c.initiator.begin(), c.initiator.end(), c.responder.begin(),
                            c.responder.end(), std::back_inserter(lackedByResponder));
        const protocol::VectorRangeIndex initiator(c.initiator);
        const protocol::VectorRangeIndex responder(c.responder);
        std::size_t figures[2][3] = {};
        for (int after = 0; after < 2; ++after) {
          protocol::Tuning initiatorTuning = base, responderTuning = base;
          if (after) {
            initiatorTuning.horizon = protocol::horizonFor(c.initiatorClock.value_or(now));
            responderTuning.horizon = protocol::horizonFor(now);
          }
          const auto stats = testing::reconcile(initiator, responder, salt, initiatorTuning, 64,
                                                opening, &responderTuning);
          if (stats.toInitiator != lackedByInitiator || stats.toResponder != lackedByResponder) {
            std::fprintf(stderr, "WRONG RESULT for %s d=%zu %s\n", std::string(shape).c_str(), d,
                         after ? "after" : "before");
            allRight = false;
          }
          figures[after][0] = stats.openingBytes;
          figures[after][1] = stats.bytes;
          figures[after][2] = stats.roundTrips();
        }
        std::printf(
            "%-13s %5zu %8s | %6zu %8zu %5zu | %6zu %8zu %5zu\n", std::string(shape).c_str(), d,
            opening == protocol::Reconciler::Opening::Full ? "full" : "in-step", figures[0][0],
            figures[0][1], figures[0][2], figures[1][0], figures[1][1], figures[1][2]);
        std::fflush(stdout);
      }
    }
  }
  return allRight;
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
  allRight = futureDated(keys, n, rng, salt, tuning) && allRight;
  return allRight ? 0 : 1;
}
