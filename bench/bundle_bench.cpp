// Offline bundles: size against the raw text (compression ratio), and export and import
// rates, with reading and verifying measured alone so the figures explain themselves.
// Results and the command: docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "clippings.h"
#include "protocol/bundle.h"
#include "protocol/importers.h"
#include "protocol/object.h"
#include "protocol/text.h"
#include "store/archive.h"
#include "store/bundle.h"
#include "store/ingest.h"

namespace {
using fieldsync::bench::fixtureClippings;
using fieldsync::bench::fixtureCopies;
using fieldsync::bench::syntheticClippings;
namespace fs = std::filesystem;
using namespace fieldsync;
using Bytes = std::vector<std::uint8_t>;

std::size_t rawTextBytes(const std::vector<protocol::Clipping>& clippings) {
  std::size_t total = 0;
  for (const auto& c : clippings) {
    total += c.title.size() + c.source.size() + c.published.size() + c.url.size() +
             c.language.size() + c.body.size() + c.collection.size();
    for (const auto& a : c.authors) total += a.size();
    for (const auto& t : c.tags) total += t.size();
  }
  return total;
}

class TempDir {
 public:
  TempDir()
      : m_path(fs::temp_directory_path() /
               ("fieldsync-bundle-bench-" + std::to_string(std::random_device{}()))) {}
  ~TempDir() { fs::remove_all(m_path); }
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

/// An archive holding clippings, signed by one key; built once per set.
struct Source {
  TempDir dir;
  std::unique_ptr<store::Archive> archive;
  std::size_t clippings = 0;
  std::size_t rawBytes = 0;
  std::size_t storedBytes = 0;
  double ingestSeconds = 0;  // `fieldsync import` of the same clippings, for comparison

  explicit Source(const std::vector<protocol::Clipping>& input) {
    archive = store::Archive::open({.dir = dir.path(), .create = true});
    auto key = protocol::SecretKey::generate();
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t at = 0; at < input.size(); at += 10000) {
      std::vector<protocol::Clipping> batch(
          input.begin() + static_cast<std::ptrdiff_t>(at),
          input.begin() + static_cast<std::ptrdiff_t>(std::min(input.size(), at + 10000)));
      (void)store::ingestClippings(*archive, key, batch, 1700000000);
    }
    ingestSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    clippings = input.size();
    rawBytes = rawTextBytes(input);
    archive->beginRead().forEach([&](const protocol::ObjectId&, std::span<const std::uint8_t> b) {
      storedBytes += b.size();
      return true;
    });
  }
};

Source& sourceFor(std::int64_t which) {
  static std::map<std::int64_t, std::unique_ptr<Source>> sources;
  auto& source = sources[which];
  if (!source)
    source = std::make_unique<Source>(
        which == 0 ? fixtureClippings() : syntheticClippings(static_cast<std::size_t>(which)));
  return *source;
}

Bytes exportAll(const Source& source, protocol::BundleWriterOptions options = {}) {
  Bytes out;
  auto summary = store::exportBundle(
      *source.archive, {},
      [&](std::span<const std::uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); },
      1700000000, options);
  if (!summary) throw std::runtime_error(summary.error());
  return out;
}

protocol::Source sourceOf(const Bytes& bytes) {
  std::size_t at = 0;
  return [&bytes, at](std::span<std::uint8_t> buffer) mutable {
    const std::size_t n = std::min(buffer.size(), bytes.size() - at);
    std::memcpy(buffer.data(), bytes.data() + at, n);
    at += n;
    return n;
  };
}

void sizeCounters(benchmark::State& state, const Source& source, const Bytes& bundle) {
  state.counters["clippings"] = static_cast<double>(source.clippings);
  state.counters["raw_MB"] = static_cast<double>(source.rawBytes) / 1e6;
  state.counters["stored_MB"] = static_cast<double>(source.storedBytes) / 1e6;
  state.counters["bundle_MB"] = static_cast<double>(bundle.size()) / 1e6;
  state.counters["raw/bundle"] =
      static_cast<double>(source.rawBytes) / static_cast<double>(bundle.size());
  state.counters["stored/bundle"] =
      static_cast<double>(source.storedBytes) / static_cast<double>(bundle.size());
}

// Arg: 0 for the fixture digest's twelve clippings, else that many synthetic ones.
// Second arg: frame size in KiB.

/// Writing the bundle from an LMDB archive to memory: read, frame, compress, hash.
void BM_BundleExport(benchmark::State& state) {
  const Source& source = sourceFor(state.range(0));
  protocol::BundleWriterOptions options;
  options.frameBytes = static_cast<std::size_t>(state.range(1)) << 10;
  Bytes bundle;
  for (auto _ : state) {
    bundle = exportAll(source, options);
    benchmark::DoNotOptimize(bundle.data());
  }
  sizeCounters(state, source, bundle);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(source.clippings));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(source.storedBytes));
}
BENCHMARK(BM_BundleExport)
    ->Args({0, 1024})
    ->Args({100000, 1024})
    ->Args({100000, 256})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

/// Reading alone: frames checked, decompressed and split into objects, nothing verified.
void BM_BundleRead(benchmark::State& state) {
  const Source& source = sourceFor(state.range(0));
  const Bytes bundle = exportAll(source);
  for (auto _ : state) {
    auto reader = protocol::BundleReader::open(bundle);
    std::size_t n = 0;
    while (auto item = reader->next()) n += item->ok();
    if (n != source.clippings) state.SkipWithError("objects lost");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(source.clippings));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(source.storedBytes));
}
BENCHMARK(BM_BundleRead)->Arg(100000)->Unit(benchmark::kMillisecond)->UseRealTime();

/// Reading and verifying every object on one thread, nothing stored: the verify share of
/// an import.
void BM_BundleReadAndVerify(benchmark::State& state) {
  const Source& source = sourceFor(state.range(0));
  const Bytes bundle = exportAll(source);
  for (auto _ : state) {
    auto reader = protocol::BundleReader::open(bundle);
    std::size_t n = 0;
    while (auto item = reader->next())
      n += item->ok() && protocol::verify(item->value().bytes).ok();
    if (n != source.clippings) state.SkipWithError("objects lost");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(source.clippings));
}
BENCHMARK(BM_BundleReadAndVerify)->Arg(100000)->Unit(benchmark::kMillisecond)->UseRealTime();

/// `bundle import`: read, verify every object (args: threads), store in batches (args: objects
/// per write transaction, one fsync each), into an empty archive.
void BM_BundleImport(benchmark::State& state) {
  const Source& source = sourceFor(state.range(0));
  const Bytes bundle = exportAll(source);
  store::ImportOptions options;
  options.threads = static_cast<unsigned>(state.range(1));
  options.batchObjects = static_cast<std::size_t>(state.range(2));
  for (auto _ : state) {
    state.PauseTiming();
    TempDir dir;
    auto archive = store::Archive::open({.dir = dir.path(), .create = true});
    state.ResumeTiming();
    auto report = store::importBundle(*archive, sourceOf(bundle), options);
    if (!report || report->stored != source.clippings) state.SkipWithError("not all stored");
    state.PauseTiming();
    archive.reset();
    state.ResumeTiming();
  }
  state.counters["ingest_per_s"] = static_cast<double>(source.clippings) / source.ingestSeconds;
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(source.clippings));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(source.storedBytes));
}
BENCHMARK(BM_BundleImport)
    ->Args({100000, 1, 1024})
    ->Args({100000, 2, 1024})
    ->Args({100000, 1, 8192})
    ->Args({100000, 2, 8192})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
