// Import and verify throughput, with the cost of each step measured alone in the same run so
// the figures explain themselves. Results and the command: docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <random>
#include <sstream>
#include <utility>

#include "clippings.h"
#include "protocol/importers.h"
#include "protocol/object.h"
#include "protocol/text.h"
#include "store/archive.h"
#include "store/ingest.h"
#include "store/provenance.h"
#include "store/sync_index.h"

namespace {
using fieldsync::bench::fixtureClippings;
using fieldsync::bench::fixtureCopies;
using fieldsync::bench::syntheticClippings;
namespace fs = std::filesystem;
using namespace fieldsync;

std::size_t averageBytes() {
  std::size_t total = 0;
  for (const auto& c : fixtureClippings())
    total += c.title.size() + c.body.size() + c.source.size();
  return total / fixtureClippings().size();
}

class TempDir {
 public:
  TempDir()
      : m_path(fs::temp_directory_path() /
               ("fieldsync-bench-" + std::to_string(std::random_device{}()))) {}
  ~TempDir() { fs::remove_all(m_path); }
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

// --- The parts -------------------------------------------------------------------------------

void BM_Ed25519Sign(benchmark::State& state) {
  auto key = protocol::SecretKey::generate();
  std::array<std::uint8_t, 54> message{};
  for (auto _ : state) benchmark::DoNotOptimize(key.sign(message));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Sign);

/// The yardstick for verify: libsodium alone, over 1024 different 54-byte messages (the size
/// of SIG_TAG || id) and their signatures, since verification time varies with the signature.
void BM_Ed25519VerifyBare(benchmark::State& state) {
  auto key = protocol::SecretKey::generate();
  auto pk = key.publicKey();
  std::vector<std::array<std::uint8_t, 54>> messages(1024);
  std::vector<protocol::Signature> signatures;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    randombytes_buf(messages[i].data(), messages[i].size());
    signatures.push_back(key.sign(messages[i]));
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& m = messages[i % messages.size()];
    benchmark::DoNotOptimize(crypto_sign_verify_detached(
        signatures[i % messages.size()].bytes.data(), m.data(), m.size(), pk.bytes.data()));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519VerifyBare);

void BM_EncodeAndHashPayload(benchmark::State& state) {
  const auto& clipping = fixtureClippings()[3];
  protocol::Payload payload{protocol::PublicKey{}, 1357862400, clipping};
  for (auto _ : state)
    benchmark::DoNotOptimize(protocol::objectId(protocol::encodePayload(payload)));
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes/clipping"] = static_cast<double>(averageBytes());
}
BENCHMARK(BM_EncodeAndHashPayload);

/// The clippings the per-object parts measure: range(0) 0 is fixture clipping 3, over and
/// over (warm in cache); 1 cycles through 256 synthetic clippings (bench/clippings.h), the
/// text sync_bench and bundle_bench move, as a receiver meets it.
std::vector<protocol::Clipping> partClippings(const benchmark::State& state) {
  if (state.range(0) == 0) return {fixtureClippings()[3]};
  return syntheticClippings(256);
}
void partArgs(benchmark::internal::Benchmark* b) { b->ArgName("synthetic")->Arg(0)->Arg(1); }

void BM_SearchTerms(benchmark::State& state) {
  std::vector<std::string> texts;
  std::size_t bytes = 0;
  for (const auto& c : partClippings(state)) {
    texts.push_back(c.title + "\n" + c.body);
    bytes += texts.back().size();
  }
  std::size_t i = 0;
  for (auto _ : state) {
    protocol::SearchTermList terms;  // as store::PreparedObject makes them
    protocol::appendSearchTerms(texts[i++ % texts.size()], terms);
    benchmark::DoNotOptimize(terms);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes/text"] = static_cast<double>(bytes) / static_cast<double>(texts.size());
}
BENCHMARK(BM_SearchTerms)->Apply(partArgs);

/// protocol::contentHash of a clipping: what PreparedObject computes besides the terms.
void BM_ContentHash(benchmark::State& state) {
  const auto clippings = partClippings(state);
  std::size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(protocol::contentHash(clippings[i++ % clippings.size()]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ContentHash)->Apply(partArgs);

void BM_SignClipping(benchmark::State& state) {
  auto key = protocol::SecretKey::generate();
  protocol::Payload payload{key.publicKey(), 1357862400, fixtureClippings()[3]};
  for (auto _ : state) benchmark::DoNotOptimize(protocol::sign(payload, key));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignClipping);

/// protocol::verify() of a clipping's object in memory (partClippings): decoding, canonical
/// checks, the id and the signature, without the store.
void BM_VerifyObject(benchmark::State& state) {
  auto key = protocol::SecretKey::generate();
  std::vector<std::vector<std::uint8_t>> objects;
  for (const auto& c : partClippings(state)) {
    auto object = protocol::sign({key.publicKey(), 1357862400, c}, key);
    objects.emplace_back(object->bytes().begin(), object->bytes().end());
  }
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(protocol::verify(objects[i++ % objects.size()]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyObject)->Apply(partArgs);

/// protocol::decode() alone: what verify() adds to the bare signature check.
void BM_DecodeObject(benchmark::State& state) {
  auto key = protocol::SecretKey::generate();
  auto object = protocol::sign({key.publicKey(), 1357862400, fixtureClippings()[3]}, key);
  std::vector<std::uint8_t> bytes(object->bytes().begin(), object->bytes().end());
  for (auto _ : state) benchmark::DoNotOptimize(protocol::decode(bytes));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeObject);

// --- The whole paths -------------------------------------------------------------------------

/// Import: sign, hash, store and index in durable batches of range(0) clippings, into an
/// archive that already holds what earlier iterations stored.
void BM_Import(benchmark::State& state) {
  TempDir dir;
  auto archive = store::Archive::open({.dir = dir.path(), .create = true});
  auto key = protocol::SecretKey::generate();
  const auto batch = static_cast<std::size_t>(state.range(0));
  std::size_t offset = 0;
  std::int64_t signedAt = 1700000000;
  for (auto _ : state) {
    state.PauseTiming();
    auto clippings = fixtureCopies(batch, offset);
    offset += batch;
    state.ResumeTiming();
    auto result = store::ingestClippings(*archive, key, clippings, signedAt++);
    if (result.stored.size() != batch) state.SkipWithError("not everything was stored");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["archive"] = static_cast<double>(archive->beginRead().count());
}
BENCHMARK(BM_Import)->Arg(12)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

/// store::PreparedObject of a clipping (partClippings): its content hash and distinct search
/// terms, the part of a put that runs outside the write transaction, on every core.
void BM_PrepareObject(benchmark::State& state) {
  auto key = protocol::SecretKey::generate();
  std::vector<protocol::VerifiedObject> objects;
  for (const auto& c : partClippings(state))
    objects.push_back(protocol::sign({key.publicKey(), 1357862400, c}, key).value());
  std::size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(store::PreparedObject(objects[i++ % objects.size()]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PrepareObject)->Apply(partArgs);

/// Bytes this process has handed to write(2) and pwrite(2) so far (/proc/self/io, wchar).
double bytesWritten() {
  std::ifstream io("/proc/self/io");
  std::string name;
  double value = 0;
  while (io >> name >> value) {
    if (name == "wchar:") return value;
  }
  return 0;
}

/// An archive filled to `fill` fixture-sized clippings (batches of 5,000), signed by key.
std::unique_ptr<store::Archive> filledArchive(const fs::path& dir, const protocol::SecretKey& key,
                                              std::size_t fill, std::uint32_t skipIndexes,
                                              std::int64_t& signedAt) {
  auto archive =
      store::Archive::open({.dir = dir, .create = true, .benchmarkSkipIndexes = skipIndexes});
  for (std::size_t done = 0; done < fill; done += 5000) {
    (void)store::ingestClippings(
        *archive, key, fixtureCopies(std::min<std::size_t>(5000, fill - done), done), signedAt++);
  }
  return archive;
}

/// The store's commit alone (no signing): 20 durable write()s of range(1) pre-signed
/// fixture-sized clippings each, into an archive first filled to range(0) objects (not
/// timed). range(2): 0 puts them one by one (WriteTxn::put), 1 in one WriteTxn::putBatch,
/// 2 in one putBatch of store::PreparedObject made beforehand (not timed: on other cores in
/// import; BM_PrepareObject measures it);
/// range(3): Options::benchmarkSkipIndexes, the indexes left out (BM_CommitWithout).
/// Counters per object: us_cpu and us_wall (the write() with its commit and fsync),
/// KiB_written (handed to write and pwrite); archive: objects at the end.
void BM_Commit(benchmark::State& state) {
  TempDir dir;
  auto key = protocol::SecretKey::generate();
  const auto fill = static_cast<std::size_t>(state.range(0));
  const auto batch = static_cast<std::size_t>(state.range(1));
  const auto mode = state.range(2);
  std::int64_t signedAt = 1700000000;
  auto archive =
      filledArchive(dir.path(), key, fill, static_cast<std::uint32_t>(state.range(3)), signedAt);
  std::size_t offset = fill;
  double cpu = 0, wall = 0, written = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<protocol::VerifiedObject> objects;
    objects.reserve(batch);
    for (auto& clipping : fixtureCopies(batch, offset)) {
      objects.push_back(
          protocol::sign({key.publicKey(), signedAt, std::move(clipping)}, key).value());
    }
    offset += batch;
    ++signedAt;
    std::vector<store::PreparedObject> prepared;
    if (mode == 2) {
      for (const auto& object : objects) prepared.emplace_back(object);
    }
    state.ResumeTiming();
    const double writtenBefore = bytesWritten();
    const auto wallStart = std::chrono::steady_clock::now();
    const std::clock_t cpuStart = std::clock();
    archive->write([&](store::WriteTxn& txn) {
      if (mode == 2) {
        (void)txn.putBatch(prepared);
      } else if (mode == 1) {
        (void)txn.putBatch(objects);
      } else {
        for (const auto& object : objects) (void)txn.put(object);
      }
    });
    cpu += static_cast<double>(std::clock() - cpuStart) / CLOCKS_PER_SEC;
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - wallStart).count();
    written += bytesWritten() - writtenBefore;
  }
  const double n = static_cast<double>(state.iterations() * state.range(1));
  state.SetItemsProcessed(state.iterations() * state.range(1));
  state.counters["us_cpu"] = cpu / n * 1e6;
  state.counters["us_wall"] = wall / n * 1e6;
  state.counters["KiB_written"] = written / n / 1024;
  state.counters["archive"] = static_cast<double>(archive->beginRead().count());
}
BENCHMARK(BM_Commit)
    ->ArgNames({"fill", "batch", "mode", "skip"})
    ->Args({100000, 1000, 0, 0})
    ->Args({100000, 1000, 1, 0})
    ->Args({100000, 1000, 2, 0})
    ->Args({100000, 4000, 2, 0})
    ->Iterations(20)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

/// Each index's share of the commit: BM_Commit with prepared objects (mode 2) at 100k objects,
/// leaving out one index at a time (skip: store::SkipIndex; 255 leaves out all of them but
/// objects).
void BM_CommitWithout(benchmark::State& state) { BM_Commit(state); }
BENCHMARK(BM_CommitWithout)
    ->ArgNames({"fill", "batch", "mode", "skip"})
    ->ArgsProduct({{100000},
                   {1000},
                   {2},
                   {0, store::SKIP_SYNC_INDEX, store::SKIP_BY_TIME | store::SKIP_SYNC_INDEX,
                    store::SKIP_BY_PUBLISHED, store::SKIP_BY_TAG, store::SKIP_BY_SIGNER,
                    store::SKIP_BY_CONTENT, store::SKIP_BY_SEQ, store::SKIP_FULL_TEXT, 255}})
    ->Iterations(20)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

/// Import as the archive grows: fixture-sized clippings in batches of range(1), as
/// store::importFiles stores them (signClippings on every core while the batch before is
/// stored by storeSigned on another thread, one durable transaction a batch), from an empty
/// archive to range(0) objects. Counters: the rate (clippings/s, wall) of each tenth of
/// the way (w01 = the first tenth ... w10 = the last), MB of data.mdb at the end.
void BM_ImportGrowth(benchmark::State& state) {
  const auto total = static_cast<std::size_t>(state.range(0));
  const auto batch = static_cast<std::size_t>(state.range(1));
  for (auto _ : state) {
    TempDir dir;
    auto archive = store::Archive::open({.dir = dir.path(), .create = true});
    auto key = protocol::SecretKey::generate();
    std::int64_t signedAt = 1700000000;
    const std::size_t window = total / 10;
    double windowSeconds = 0;
    std::future<store::IngestResult> storing;  // the batch before, as import stores it
    auto stored = [&](std::size_t expected) {
      if (storing.valid() && storing.get().stored.size() != expected) {
        state.SkipWithError("not all stored");
      }
    };
    std::size_t previous = 0;
    for (std::size_t done = 0; done < total; done += batch) {
      auto clippings = fixtureCopies(std::min(batch, total - done), done);
      const auto start = std::chrono::steady_clock::now();
      auto signedBatch = store::signClippings(*archive, key, clippings, signedAt++);
      stored(previous);
      storing = std::async(std::launch::async, [&, b = std::move(signedBatch)]() mutable {
        return store::storeSigned(*archive, std::move(b));
      });
      previous = clippings.size();
      const std::size_t now = done + clippings.size();
      if (now == total) stored(previous);
      windowSeconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (now % window == 0 || now == total) {
        char name[8];
        std::snprintf(name, sizeof name, "w%02zu", (now + window - 1) / window);
        state.counters[name] = static_cast<double>(window) / windowSeconds;
        windowSeconds = 0;
      }
    }
    state.counters["data_MB"] =
        static_cast<double>(fs::file_size(dir.path() / "data.mdb")) / (1 << 20);
  }
}
BENCHMARK(BM_ImportGrowth)
    ->ArgNames({"objects", "batch"})
    ->Args({100000, 1000})
    ->Args({1000000, 1000})
    ->Args({1000000, 4000})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

/// `fieldsync verify --all`: bytes, id and signature plus provenance (trust path, releases)
/// of range(0) objects signed by a coordinator anchor, on range(1) threads.
void BM_VerifyProvenance(benchmark::State& state) {
  TempDir dir;
  auto archive = store::Archive::open({.dir = dir.path(), .create = true});
  auto key = protocol::SecretKey::generate();
  archive->write([&](store::WriteTxn& txn) {
    txn.setAnchor({key.publicKey(), protocol::Role::Coordinator, "bench"});
  });
  const auto n = static_cast<std::size_t>(state.range(0));
  for (std::size_t done = 0; done < n; done += 1000)
    (void)store::ingestClippings(
        *archive, key, fixtureCopies(std::min<std::size_t>(1000, n - done), done), 1700000000);
  const auto trust = [&] {
    auto txn = archive->beginRead();
    return store::loadTrust(txn);
  }();
  for (auto _ : state) {
    std::size_t valid = 0;
    store::verifyEveryObject(
        *archive, trust,
        [&](store::ObjectReport&& r) {
          valid += r.verdict() == store::ObjectReport::Verdict::Valid;
        },
        static_cast<unsigned>(state.range(1)));
    if (valid != n) state.SkipWithError("verification failed");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_VerifyProvenance)
    ->Args({10000, 1})
    ->Args({10000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// --- The sync index ---------------------------------------------------------------------------

/// An archive of `objects` tiny clippings (a number as title) in batches of 10,000 signed at
/// one time each, as imports sign them, with sync index blocks of at most maxChildren. Built
/// once per process and shape, in a temp dir removed at exit.
struct SyncArchive {
  static constexpr std::int64_t FIRST_TIME = 1700000000;
  static constexpr std::size_t BATCH = 10000;

  SyncArchive(std::size_t objects, std::size_t maxChildren) {
    store::Options options{.dir = dir.path(), .create = true};
    options.syncIndexMaxChildren = maxChildren;
    archive = store::Archive::open(options);
    auto key = protocol::SecretKey::generate();
    for (std::size_t done = 0; done < objects; done += BATCH) {
      std::vector<protocol::VerifiedObject> batch;
      for (std::size_t i = done; i < std::min(objects, done + BATCH); ++i) {
        protocol::Clipping c;
        c.title = std::to_string(i);
        batch.push_back(std::move(
            protocol::sign({key.publicKey(), FIRST_TIME + static_cast<std::int64_t>(done / BATCH),
                            std::move(c)},
                           key)
                .value()));
      }
      archive->write([&](store::WriteTxn& txn) {
        for (const auto& object : batch) (void)txn.put(object);
      });
    }
    batches = static_cast<std::int64_t>((objects + BATCH - 1) / BATCH);
  }

  static const SyncArchive& get(std::size_t objects, std::size_t maxChildren) {
    static std::map<std::pair<std::size_t, std::size_t>, std::unique_ptr<SyncArchive>> built;
    auto& slot = built[{objects, maxChildren}];
    if (!slot) slot = std::make_unique<SyncArchive>(objects, maxChildren);
    return *slot;
  }

  TempDir dir;  // outlives the archive
  std::unique_ptr<store::Archive> archive;
  std::int64_t batches = 0;
};

/// The write side: put batches of 10,000 tiny clippings (signed beforehand, untimed) into an
/// archive growing to 100k, with sync index blocks of at most range(0) children. Tiny
/// objects leave little else to do, so the index's share shows between block sizes.
void BM_SyncIndexPutTiny(benchmark::State& state) {
  TempDir dir;
  store::Options options{.dir = dir.path(), .create = true};
  options.syncIndexMaxChildren = static_cast<std::size_t>(state.range(0));
  auto archive = store::Archive::open(options);
  auto key = protocol::SecretKey::generate();
  std::size_t made = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<protocol::VerifiedObject> batch;
    for (std::size_t i = 0; i < SyncArchive::BATCH; ++i, ++made) {
      protocol::Clipping c;
      c.title = std::to_string(made);
      batch.push_back(
          protocol::sign({key.publicKey(), SyncArchive::FIRST_TIME + state.iterations(), c}, key)
              .value());
    }
    state.ResumeTiming();
    archive->write([&](store::WriteTxn& txn) {
      for (const auto& object : batch) (void)txn.put(object);
    });
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(SyncArchive::BATCH));
}
BENCHMARK(BM_SyncIndexPutTiny)
    ->Arg(16)
    ->Arg(32)
    ->Arg(128)
    ->Iterations(10)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

/// Reports the tree's shape beside the figures.
void setShapeCounters(benchmark::State& state, const store::ArchiveRangeIndex& index) {
  const auto blocks = index.blocksPerLevel();
  state.counters["levels"] = static_cast<double>(blocks.size());
  state.counters["objects"] = static_cast<double>(index.size());
}

/// rank() of keys absent from the archive, spread over it: random ids at the batches' times.
void BM_SyncIndexRank(benchmark::State& state) {
  const auto& sync = SyncArchive::get(static_cast<std::size_t>(state.range(0)),
                                      static_cast<std::size_t>(state.range(1)));
  const auto txn = sync.archive->beginRead();
  const store::ArchiveRangeIndex index(txn);
  std::mt19937_64 rng(1);
  std::vector<protocol::SyncKey> keys(4096);
  for (auto& key : keys) {
    key.signedAt = SyncArchive::FIRST_TIME + static_cast<std::int64_t>(rng() % sync.batches);
    for (auto& b : key.id.bytes) b = static_cast<std::uint8_t>(rng());
  }
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(index.rank(keys[i++ % keys.size()]));
  state.SetItemsProcessed(state.iterations());
  setShapeCounters(state, index);
}

/// at() of random ranks.
void BM_SyncIndexAt(benchmark::State& state) {
  const auto& sync = SyncArchive::get(static_cast<std::size_t>(state.range(0)),
                                      static_cast<std::size_t>(state.range(1)));
  const auto txn = sync.archive->beginRead();
  const store::ArchiveRangeIndex index(txn);
  std::mt19937_64 rng(2);
  for (auto _ : state) benchmark::DoNotOptimize(index.at(rng() % index.size()));
  state.SetItemsProcessed(state.iterations());
  setShapeCounters(state, index);
}

/// sum() of random ranges [from, to): two descents, whatever the length of the range.
void BM_SyncIndexSum(benchmark::State& state) {
  const auto& sync = SyncArchive::get(static_cast<std::size_t>(state.range(0)),
                                      static_cast<std::size_t>(state.range(1)));
  const auto txn = sync.archive->beginRead();
  const store::ArchiveRangeIndex index(txn);
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    std::uint64_t from = rng() % (index.size() + 1);
    std::uint64_t to = rng() % (index.size() + 1);
    if (from > to) std::swap(from, to);
    benchmark::DoNotOptimize(index.sum(from, to));
  }
  state.SetItemsProcessed(state.iterations());
  setShapeCounters(state, index);
}

// Archives of 100k and 1M objects with the default block size (Options::syncIndexMaxChildren);
// the other block sizes at 100k are the measurements that chose it (docs/benchmarks.md).
void syncIndexShapes(benchmark::internal::Benchmark* b) {
  b->Args({100000, 32})->Args({1000000, 32});
}
void syncIndexBlockSizes(benchmark::internal::Benchmark* b) {
  for (const std::int64_t maxChildren : {16, 64, 128, 256}) b->Args({100000, maxChildren});
}
BENCHMARK(BM_SyncIndexRank)->Apply(syncIndexShapes)->Apply(syncIndexBlockSizes);
BENCHMARK(BM_SyncIndexAt)->Apply(syncIndexShapes)->Apply(syncIndexBlockSizes);
BENCHMARK(BM_SyncIndexSum)->Apply(syncIndexShapes)->Apply(syncIndexBlockSizes);

}  // namespace

// --- Removal and scrub -----------------------------------------------------------------------

/// A 10,000-clipping archive (fixture copies, imported in batches of 1,000), made once and
/// copied for each run so every run removes from the same archive.
const fs::path& removalTemplate() {
  static TempDir dir;
  static const bool made = [] {
    auto archive = store::Archive::open({.dir = dir.path(), .create = true});
    auto key = protocol::SecretKey::generate();
    for (std::size_t batch = 0; batch < 10; ++batch) {
      (void)store::ingestClippings(*archive, key, fixtureCopies(1000, batch * 1000),
                                   1700000000 + static_cast<std::int64_t>(batch));
    }
    return true;
  }();
  (void)made;
  return dir.path();
}

/// WriteTxn::remove of range(0) clippings spread over a 10,000-clipping archive in one
/// write(), and the scrub that write() runs after its commit. Counters: remove_us (per
/// clipping, the batch alone), commit_ms and scrub_ms (the rest of write()), archive_MB.
void BM_RemoveAndScrub(benchmark::State& state) {
  const auto removals = static_cast<std::size_t>(state.range(0));
  double removeUs = 0;
  double commitAndScrubMs = 0;
  double scrubMs = 0;
  double bytesZeroed = 0;
  for (auto _ : state) {
    TempDir dir;
    fs::copy(removalTemplate(), dir.path());
    auto archive = store::Archive::open({.dir = dir.path()});
    std::vector<protocol::ObjectId> ids;
    {
      const auto all = archive->beginRead().since(0);
      for (std::size_t i = 0; i < removals; ++i) ids.push_back(all[i * all.size() / removals].id);
    }
    using Clock = std::chrono::steady_clock;
    Clock::time_point batchEnd;
    const auto start = Clock::now();
    archive->write([&](store::WriteTxn& txn) {
      for (const auto& id : ids) (void)txn.remove(id);
      batchEnd = Clock::now();
    });
    const auto end = Clock::now();
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
    removeUs += std::chrono::duration<double, std::micro>(batchEnd - start).count() /
                static_cast<double>(removals);
    commitAndScrubMs += std::chrono::duration<double, std::milli>(end - batchEnd).count();
    bytesZeroed += static_cast<double>(archive->scrubStats().bytesZeroed);
    if (archive->scrubStats().pending) state.SkipWithError("the scrub did not complete");
    // A write that removes nothing and owes no scrub: its commit alone, to subtract.
    const auto plainStart = Clock::now();
    archive->write([](store::WriteTxn& txn) { txn.setMeta("bench", "x"); });
    scrubMs += std::chrono::duration<double, std::milli>(end - batchEnd).count() -
               std::chrono::duration<double, std::milli>(Clock::now() - plainStart).count();
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["remove_us"] = removeUs / n;
  state.counters["commit_scrub_ms"] = commitAndScrubMs / n;
  state.counters["scrub_ms"] = scrubMs / n;
  state.counters["zeroed_MB"] = bytesZeroed / n / (1 << 20);
  state.counters["archive_MB"] =
      static_cast<double>(fs::file_size(removalTemplate() / "data.mdb")) / (1 << 20);
}
BENCHMARK(BM_RemoveAndScrub)
    ->Arg(1)
    ->Arg(1000)
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
