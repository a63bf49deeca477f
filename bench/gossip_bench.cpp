// Gossip (issue 5): how fast a network of daemons converges, in gossip intervals; how many of
// the objects nodes receive they already had; and what a backlog costs on a slow, cut link.
// A plain program printing tables; every node is a real daemon in this process, every link
// a TCP proxy (tests/support/gossip_network.h). Results and the command: docs/benchmarks.md.
//
//   gossip_bench [--nodes=5,10,20] [--graphs=line,random] [--objects=20] [--interval-ms=1000]
//                [--repeat=3] [--seed=N] [--dialers=all|even] [--log]
//   gossip_bench --backlog [--backlog-text=synthetic|fixture] [--backlog-count=1000]
//                [--backlog-batch-bytes=B] [--backlog-idle-ms=MS] [--backlog-min-backoff-ms=MS]
//                [--backlog-deadline-s=S]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "clippings.h"
#include "protocol/importers.h"
#include "protocol/sync.h"
#include "support/gossip_network.h"

namespace {
using fieldsync::bench::fixtureClippings;
using fieldsync::bench::fixtureCopies;
using fieldsync::bench::syntheticClippings;
namespace fs = std::filesystem;
using namespace fieldsync;
using namespace std::chrono_literals;
using testing::GossipNetwork;
using testing::NetworkOptions;
using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// --- Options ---------------------------------------------------------------------------------

struct Args {
  std::vector<std::size_t> nodes{5, 10, 20};
  std::size_t objects = 20;  // clippings each node imports
  std::chrono::milliseconds interval{1000};
  int repeat = 3;
  std::uint64_t seed = 20261127;
  bool backlog = false;
  std::string backlogText = "synthetic";
  std::size_t backlogCount = 1000;
  std::size_t backlogBatchBytes = 0;               // 0: the session's default
  std::chrono::milliseconds backlogIdle{0};        // 0: the default idle timeouts
  std::chrono::milliseconds backlogMinBackoff{0};  // 0: the daemon's default
  std::chrono::seconds backlogDeadline{1200};
  bool log = false;  // every daemon's log lines, timed
  std::vector<std::string> graphs{"line", "random"};
  /// "all": every node dials its peers, as shipped. "even": only even-numbered nodes dial,
  /// so on a line each edge has one dialer and no pair ever runs two sessions at once.
  std::string dialers = "all";
};

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--nodes") {
      args.nodes.clear();
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');) args.nodes.push_back(std::stoul(item));
    } else if (name == "--objects") {
      args.objects = std::stoul(value);
    } else if (name == "--interval-ms") {
      args.interval = std::chrono::milliseconds(std::stol(value));
    } else if (name == "--repeat") {
      args.repeat = std::stoi(value);
    } else if (name == "--seed") {
      args.seed = std::stoull(value);
    } else if (name == "--graphs") {
      args.graphs.clear();
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');) args.graphs.push_back(item);
    } else if (name == "--dialers") {
      args.dialers = value;
    } else if (name == "--log") {
      args.log = true;
    } else if (name == "--backlog") {
      args.backlog = true;
    } else if (name == "--backlog-text") {
      args.backlogText = value;
    } else if (name == "--backlog-count") {
      args.backlogCount = std::stoul(value);
    } else if (name == "--backlog-batch-bytes") {
      args.backlogBatchBytes = std::stoul(value);
    } else if (name == "--backlog-idle-ms") {
      args.backlogIdle = std::chrono::milliseconds(std::stol(value));
    } else if (name == "--backlog-min-backoff-ms") {
      args.backlogMinBackoff = std::chrono::milliseconds(std::stol(value));
    } else if (name == "--backlog-deadline-s") {
      args.backlogDeadline = std::chrono::seconds(std::stol(value));
    } else {
      std::fprintf(stderr, "unknown argument %s (see the top of bench/gossip_bench.cpp)\n",
                   arg.c_str());
      std::exit(2);
    }
  }
  return args;
}

// --- Convergence and duplicates --------------------------------------------------------------

/// How the objects come in: imported while the daemons run and are in step (each import is
/// pushed at once, as in the field), or already in every archive when the daemons start (the
/// first dials, at start, carry them; forwarding still pushes what a session brings in).
enum class Arrival { WhileRunning, BeforeStart };

struct Run {
  bool converged = false;
  double seconds = 0;
  testing::SessionTally::Totals tally;
};

Run convergeOnce(std::size_t n, bool line, Arrival arrival, const Args& args, std::uint64_t seed) {
  NetworkOptions options;
  node::DaemonOptions& daemon = options.daemon;
  daemon.interval = args.interval;
  daemon.watchInterval = args.interval / 10;  // shipped: 300 s and 1 s; pushes wait for it
  daemon.minBackoff = args.interval;
  daemon.maxBackoff = args.interval * 8;
  daemon.seed = seed;
  daemon.client.connectTimeout = 5s;
  daemon.client.idleTimeout = 10s;
  daemon.client.transport.linger = 100ms;
  daemon.server.idleTimeout = 10s;
  daemon.server.peerListRefresh = 200ms;
  const auto edges = line ? testing::lineGraph(n) : testing::randomConnectedGraph(n, n / 5, seed);
  if (args.dialers == "even") {
    options.perNode = [](std::size_t i, node::DaemonOptions& o) { o.dial = i % 2 == 0; };
  }
  const auto epoch = Clock::now();
  if (args.log) {
    options.log = [epoch](const std::string& text) {
      std::printf("  %7.3f %s\n", seconds(Clock::now() - epoch), text.c_str());
    };
  }
  GossipNetwork net(n, edges, options);

  Clock::time_point started;
  if (arrival == Arrival::BeforeStart) {
    for (std::size_t i = 0; i < n; ++i) net.importClippings(i, args.objects, 1000);
    started = Clock::now();
    net.startAll();
  } else {
    net.startAll();
    if (!net.waitForConvergence(60s)) throw std::runtime_error("empty archives never in step");
    std::this_thread::sleep_for(args.interval);  // the first dials are over
    net.tally().reset();
    started = Clock::now();
    for (std::size_t i = 0; i < n; ++i) net.importClippings(i, args.objects, 1000);
  }
  Run run;
  run.converged = static_cast<bool>(net.waitFor(
      [&] { return net.state(0).count == n * args.objects && net.converged(); }, 300s, 10ms));
  run.seconds = seconds(Clock::now() - started);
  std::this_thread::sleep_for(args.interval / 2);  // the last sessions report
  run.tally = net.tally().totals();                // before stopping cuts sessions short
  net.stopAll();
  return run;
}

void convergenceTable(const Args& args) {
  const double interval = static_cast<double>(args.interval.count()) / 1000.0;
  std::printf(
      "Convergence: every node imports %zu clippings (~1 kB); time until every archive\n"
      "fingerprint is equal. Interval %.2f s (jitter 0.2), watch %.2f s; median and\n"
      "worst of %d runs. Dialers: %s. Duplicates: duplicatesIn / (objectsIn + duplicatesIn) over "
      "every\n"
      "session report (both sides), all runs.\n\n",
      args.objects, interval, interval / 10, args.repeat, args.dialers.c_str());
  std::printf(
      "| nodes | graph | objects arrive | median s | worst s | median intervals | "
      "worst intervals | sessions (failed) | duplicates |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  for (std::size_t n : args.nodes) {
    for (const std::string& graph : args.graphs) {
      const bool line = graph == "line";
      for (Arrival arrival : {Arrival::WhileRunning, Arrival::BeforeStart}) {
        std::vector<double> times;
        testing::SessionTally::Totals sum;
        int failures = 0;
        for (int r = 0; r < args.repeat; ++r) {
          const Run run = convergeOnce(n, line, arrival, args, args.seed + 1000 * r + n);
          if (!run.converged) ++failures;
          times.push_back(run.seconds);
          sum.sessions += run.tally.sessions;
          sum.failed += run.tally.failed;
          sum.objectsIn += run.tally.objectsIn;
          sum.duplicatesIn += run.tally.duplicatesIn;
        }
        std::sort(times.begin(), times.end());
        const double median = times[times.size() / 2], worst = times.back();
        std::printf("| %zu | %s | %s | %.2f | %.2f | %.1f | %.1f | %llu (%llu) | %.1f%%%s |\n", n,
                    line ? "line" : "random",
                    arrival == Arrival::WhileRunning ? "while running (pushed)" : "before start",
                    median, worst, median / interval, worst / interval,
                    static_cast<unsigned long long>(sum.sessions),
                    static_cast<unsigned long long>(sum.failed), 100 * sum.duplicateShare(),
                    failures ? " NOT CONVERGED in some runs" : "");
        std::fflush(stdout);
      }
    }
  }
}

// --- A backlog over a satellite link ---------------------------------------------------------

/// The archive's objects in sync order (signedAt, then id), packed into batches as a session
/// packs them (node/session.h: at most batchBytes raw and batchObjects per batch, zstd level
/// 3, one packer for all): the sum of the compressed batch contents.
std::uint64_t packedBytes(const store::Archive& archive, std::size_t batchBytes,
                          std::size_t batchObjects, std::uint64_t& rawBytes) {
  const auto txn = archive.beginRead();
  const store::ArchiveRangeIndex index(txn);
  protocol::sync::BatchPacker packer(3);
  std::uint64_t packed = 0;
  rawBytes = 0;
  std::vector<std::span<const std::uint8_t>> batch;
  std::size_t batchRaw = 0;
  std::uint32_t number = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    packed += packer.pack(number++, batch).content.size();
    batch.clear();
    batchRaw = 0;
  };
  for (const auto& key : index.keys(0, index.size())) {
    const auto bytes = *txn.get(key.id);
    if (!batch.empty() && (batchRaw + bytes.size() > batchBytes || batch.size() >= batchObjects)) {
      flush();
    }
    batch.push_back(bytes);
    batchRaw += bytes.size();
    rawBytes += bytes.size();
  }
  flush();
  return packed;
}

void backlog(const Args& args) {
  // Node 0, the hub, holds the backlog and only answers; node 1, the office, dials it. One
  // emulated link each way of the edge, but only the office's (1 -> 0) carries sessions.
  NetworkOptions options;
  node::DaemonOptions& daemon = options.daemon;  // shipped defaults, but for what is asked
  if (args.backlogBatchBytes) {
    daemon.client.session.batchBytes = args.backlogBatchBytes;
    daemon.server.session.batchBytes = args.backlogBatchBytes;
  }
  if (args.backlogIdle.count()) {
    daemon.client.idleTimeout = args.backlogIdle;
    daemon.server.idleTimeout = args.backlogIdle;
  }
  if (args.backlogMinBackoff.count()) daemon.minBackoff = args.backlogMinBackoff;
  daemon.seed = args.seed;
  options.perNode = [](std::size_t i, node::DaemonOptions& o) { o.dial = i == 1; };
  options.link.latency = 300ms;
  options.link.bytesPerSecond = 8000;
  options.log = [](const std::string& line) {
    std::printf("  [%s] %s\n", "log", line.c_str());
    std::fflush(stdout);
  };
  GossipNetwork net(2, {{0, 1}}, options);

  const auto clippings = args.backlogText == "fixture" ? fixtureCopies(args.backlogCount)
                                                       : syntheticClippings(args.backlogCount);
  for (std::size_t done = 0; done < clippings.size(); done += 500) {
    const std::vector<protocol::Clipping> part(
        clippings.begin() + static_cast<std::ptrdiff_t>(done),
        clippings.begin() + static_cast<std::ptrdiff_t>(std::min(done + 500, clippings.size())));
    (void)store::ingestClippings(net.archive(0), net.node(0).author, part, 1'700'000'000);
  }
  const node::SessionOptions session = daemon.client.session;
  std::uint64_t raw = 0, rawDefault = 0;
  const std::uint64_t packed =
      packedBytes(net.archive(0), session.batchBytes, session.batchObjects, raw);
  const std::uint64_t packedDefault = packedBytes(net.archive(0), node::SessionOptions{}.batchBytes,
                                                  node::SessionOptions{}.batchObjects, rawDefault);
  std::printf(
      "Backlog: %zu %s clippings, %llu B of objects; zstd 3 in the run's batches (%zu B "
      "raw each): %llu B; in default batches (1 MiB): %llu B\n",
      clippings.size(), args.backlogText.c_str(), static_cast<unsigned long long>(raw),
      session.batchBytes, static_cast<unsigned long long>(packed),
      static_cast<unsigned long long>(packedDefault));
  std::printf(
      "Link: 8000 B/s each way, 300 ms one way, a cut every 30 s. Idle timeout %.0f s, "
      "min back-off %.0f s.\n",
      std::chrono::duration<double>(daemon.client.idleTimeout).count(),
      std::chrono::duration<double>(daemon.minBackoff).count());
  std::fflush(stdout);

  for (auto* link : net.allLinks()) link->setCutSchedule(30s);
  const auto started = Clock::now();
  net.startAll();
  std::uint64_t lastCount = 0;
  const auto arrived = net.waitFor(
      [&] {
        const auto count = net.state(1).count;
        if (count != lastCount) {
          std::printf("  %6.1f s: office holds %llu\n", seconds(Clock::now() - started),
                      static_cast<unsigned long long>(count));
          std::fflush(stdout);
          lastCount = count;
        }
        return count == clippings.size();
      },
      args.backlogDeadline, 100ms);
  const double took = seconds(Clock::now() - started);
  std::this_thread::sleep_for(2s);  // counters settle
  const auto counters = net.link(1, 0)->counters();
  const auto back = net.link(0, 1)->counters();  // the hub never dials: should stay 0
  net.stopAll();
  const auto tally = net.tally().totals();
  const std::uint64_t wire = counters.toTarget.bytesForwarded + counters.fromTarget.bytesForwarded +
                             back.toTarget.bytesForwarded + back.fromTarget.bytesForwarded;
  std::printf(
      "\n| clippings | arrived | time | cuts | session ends (failed) | wire bytes "
      "(hub -> office, office -> hub) | wire / zstd (run's batches) | wire / zstd "
      "(1 MiB batches) |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
  std::printf(
      "| %zu %s | %llu%s | %.0f s | %llu | %llu (%llu) | %llu (%llu, %llu) | %.2f | %.2f |\n",
      clippings.size(), args.backlogText.c_str(),
      static_cast<unsigned long long>(net.state(1).count), arrived ? "" : " (deadline)", took,
      static_cast<unsigned long long>(counters.cuts),
      static_cast<unsigned long long>(tally.sessions),
      static_cast<unsigned long long>(tally.failed), static_cast<unsigned long long>(wire),
      static_cast<unsigned long long>(counters.fromTarget.bytesForwarded),
      static_cast<unsigned long long>(counters.toTarget.bytesForwarded),
      static_cast<double>(wire) / static_cast<double>(packed),
      static_cast<double>(wire) / static_cast<double>(packedDefault));
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  if (args.backlog) {
    backlog(args);
  } else {
    convergenceTable(args);
  }
  return 0;
}
