// Sync over real archives and real links, each figure beside what bounds it in the same run.
// Results and the commands: docs/benchmarks.md ("Sync").
//
//   build/bench/sync_bench pull [objects=100000]   a fresh node pulls from a peer on loopback,
//                                                  beside bare CURVE and Ed25519 ceilings and
//                                                  the receiving side's cost step by step
//   build/bench/sync_bench wire [base=10000]       whole-session bytes on the wire and round
//                                                  trips for the d newest, beside `git fetch`
//   build/bench/sync_bench index [objects...]      reconciliation time over the store's index
//                                                  (default 100000; "index 100000 1000000")
//   build/bench/sync_bench all                     pull, wire, index 100000 (make bench)
//
// Clippings are synthetic: text drawn word by word from the fixture digest's vocabulary at
// its word frequencies and lengths (as bundle_bench), about 3.3 KB each and no two alike,
// because copies of the twelve fixture clippings compress far better than a real archive.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zdict.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "clippings.h"
#include "node/client.h"
#include "node/server.h"
#include "node/transport.h"
#include "protocol/importers.h"
#include "protocol/object.h"
#include "protocol/reconcile.h"
#include "protocol/sync.h"
#include "protocol/text.h"
#include "store/archive.h"
#include "store/ingest.h"
#include "store/peers.h"
#include "store/sync_index.h"

namespace {
using fieldsync::bench::fixtureClippings;
using fieldsync::bench::fixtureCopies;
using fieldsync::bench::syntheticClippings;
namespace fs = std::filesystem;
using namespace fieldsync;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;
using protocol::SyncKey;

constexpr std::int64_t BASE_TIME = 1'700'000'000;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}
double threadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}
double processCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}
void printLoad(const char* when) {
  double load[3] = {};
  if (getloadavg(load, 3) == 3)
    std::printf("[load average %s: %.2f %.2f %.2f]\n", when, load[0], load[1], load[2]);
  std::fflush(stdout);
}

class TempDir {
 public:
  TempDir()
      : m_path(fs::temp_directory_path() /
               ("fieldsync-sync-bench-" + std::to_string(std::random_device{}()))) {
    fs::create_directories(m_path);
  }
  ~TempDir() { fs::remove_all(m_path); }
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

// --- Clippings -------------------------------------------------------------------------------

/// A clipping as a text file, as a git repository of clippings would keep it.
std::string clippingFile(const protocol::Clipping& c) {
  std::string text = c.title + "\n" + c.source + "\n" + c.published + "\n" + c.url + "\n";
  for (const auto& t : c.tags) text += t + " ";
  text += "\n" + c.collection + "\n\n" + c.body + "\n";
  return text;
}

/// Signs and stores clippings at signedAt, 10,000 to a transaction.
void ingest(store::Archive& archive, const protocol::SecretKey& key,
            const std::vector<protocol::Clipping>& clippings, std::int64_t signedAt) {
  for (std::size_t at = 0; at < clippings.size(); at += 10'000) {
    const std::vector<protocol::Clipping> batch(
        clippings.begin() + static_cast<long>(at),
        clippings.begin() + static_cast<long>(std::min(clippings.size(), at + 10'000)));
    (void)store::ingestClippings(archive, key, batch, signedAt);
  }
}

void listPeer(store::Archive& archive, const std::string& name, const protocol::PublicKey& key) {
  archive.write([&](store::WriteTxn& txn) {
    auto put = store::putPeer(txn, {name, "tcp://127.0.0.1:7420", key, {}, {}},
                              store::IfNameListed::Replace);
    if (!put) throw std::runtime_error("putPeer: " + put.error().message);
  });
}

std::uint16_t portOf(const std::string& endpoint) {
  return static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

node::ServerOptions loopbackOptions() {
  node::ServerOptions options;
  options.listen = "tcp://127.0.0.1:*";
  return options;
}

/// A node::Server on its own thread, serving archive until destroyed.
class ServerThread {
 public:
  ServerThread(store::Archive& archive, const protocol::SecretKey& identity)
      : m_server(archive, identity, loopbackOptions(),
                 [this](const std::string& line) { m_lastLine = line; }),
        m_thread([this] {
          const double start = threadCpuSeconds();
          m_server.run();
          m_cpuSeconds = threadCpuSeconds() - start;
        }) {
    // Server::run() reads the peer list as it starts, so a client that connects before then
    // is refused (ZAP 400); give it time before anyone connects.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ~ServerThread() {
    m_server.stop();
    if (m_thread.joinable()) m_thread.join();
  }
  std::uint16_t port() const { return portOf(m_server.endpoint()); }
  /// Stops the server; its thread's CPU time and its last log line.
  std::pair<double, std::string> stop() {
    m_server.stop();
    if (m_thread.joinable()) m_thread.join();
    return {m_cpuSeconds, m_lastLine};
  }

 private:
  node::Server m_server;
  std::string m_lastLine;
  double m_cpuSeconds = 0;
  std::thread m_thread;  // last: starts when the server is ready
};

// --- Ceilings --------------------------------------------------------------------------------

/// Bare ZeroMQ CURVE throughput over loopback: a DEALER sends `messages` messages of 1 MiB to
/// a ROUTER (fieldsync's sockets and ZAP handler, separate contexts as two nodes have).
double curveMegabytesPerSecond(std::size_t messages) {
  constexpr std::size_t SIZE = 1u << 20;
  const auto serverKey = protocol::SecretKey::generate();
  const auto clientKey = protocol::SecretKey::generate();
  zmq::context_t serverContext;
  node::AllowList allow({clientKey.publicKey()});
  node::ZapHandler zap(serverContext, allow);
  zmq::socket_t server = node::makeServerSocket(serverContext, serverKey);
  const std::string endpoint = node::bindEndpoint(server, "tcp://127.0.0.1:*");
  std::atomic<bool> warm{false};
  Clock::time_point last;
  std::thread receiver([&] {
    for (std::size_t i = 0; i <= messages; ++i) {
      zmq::message_t id, payload;
      if (!server.recv(id) || !server.recv(payload)) throw std::runtime_error("recv timed out");
      if (i == 0) warm.store(true);
    }
    last = Clock::now();
  });
  zmq::context_t clientContext;
  zmq::socket_t client =
      node::makeClientSocket(clientContext, clientKey, serverKey.publicKey(), {});
  node::connectEndpoint(client, endpoint);
  Bytes block(SIZE);
  randombytes_buf(block.data(), block.size());
  (void)client.send(zmq::buffer(block), zmq::send_flags::none);  // waits for the handshake
  while (!warm.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
  const auto start = Clock::now();
  for (std::size_t i = 0; i < messages; ++i) {
    if (!client.send(zmq::buffer(block), zmq::send_flags::none))
      throw std::runtime_error("send timed out");
  }
  receiver.join();
  return static_cast<double>(messages * SIZE) / 1e6 /
         std::chrono::duration<double>(last - start).count();
}

/// Bare crypto_sign_verify_detached over 1,024 distinct signatures of 54-byte messages (the
/// size of SIG_TAG || id), on `threads` threads: verifications per second of wall time, all
/// threads together, and per second of one thread's CPU time.
struct Rate {
  double perWallSecond = 0;
  double perCpuSecond = 0;
};
Rate verifyRate(unsigned threads, std::size_t perThread) {
  const auto key = protocol::SecretKey::generate();
  const auto pk = key.publicKey();
  std::vector<std::array<std::uint8_t, 54>> messages(1024);
  std::vector<protocol::Signature> signatures;
  for (auto& m : messages) {
    randombytes_buf(m.data(), m.size());
    signatures.push_back(key.sign(m));
  }
  std::atomic<int> bad{0};
  std::vector<double> cpu(threads);
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const double cpu0 = threadCpuSeconds();
      for (std::size_t i = 0; i < perThread; ++i) {
        const std::size_t j = (i + t * 512) % messages.size();
        bad += crypto_sign_verify_detached(signatures[j].bytes.data(), messages[j].data(),
                                           messages[j].size(), pk.bytes.data()) != 0;
      }
      cpu[t] = threadCpuSeconds() - cpu0;
    });
  }
  for (auto& w : workers) w.join();
  if (bad) throw std::runtime_error("a signature did not verify");
  double cpuTotal = 0;
  for (double c : cpu) cpuTotal += c;
  return {static_cast<double>(perThread * threads) / secondsSince(start),
          static_cast<double>(perThread * threads) / cpuTotal};
}

/// Verifies a batch's objects on two threads (the BatchVerifier a node may pass).
std::vector<Expected<protocol::VerifiedObject, protocol::Rejection>> verifyOnTwoThreads(
    const std::vector<std::span<const std::uint8_t>>& objects) {
  std::vector<std::optional<Expected<protocol::VerifiedObject, protocol::Rejection>>> out(
      objects.size());
  auto verifyRange = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) out[i].emplace(protocol::verify(objects[i]));
  };
  std::thread other(verifyRange, objects.size() / 2, objects.size());
  verifyRange(0, objects.size() / 2);
  other.join();
  std::vector<Expected<protocol::VerifiedObject, protocol::Rejection>> result;
  result.reserve(out.size());
  for (auto& o : out) result.push_back(std::move(*o));
  return result;
}

// --- pull ------------------------------------------------------------------------------------

/// The receiving side's work on the same batches, step by step, as Session::onBatch does it
/// (decode, unpack, verify, commit, then the archive state for the ack), and the sending
/// side's (read and pack). Prints microseconds per object.
void breakdown(store::Archive& source, std::uint64_t storedBytes) {
  const auto sessionOptions = node::SessionOptions{};
  std::vector<Bytes> messages;
  double read = 0, pack = 0;
  std::uint64_t objects = 0;
  {
    const auto txn = source.beginRead();
    const store::ArchiveRangeIndex index(txn);
    objects = index.size();
    // As a session packs for a peer that reads a stream (every node since the stream came).
    protocol::sync::BatchPacker packer(sessionOptions.compressionLevel);
    packer.useStream();
    for (std::uint64_t from = 0; from < index.size();) {
      double start = threadCpuSeconds();
      std::vector<std::span<const std::uint8_t>> batch;
      std::size_t bytes = 0;
      const auto keys = index.keys(from, std::min(index.size(), from + 1024));
      for (const auto& key : keys) {
        const auto object = txn.get(key.id);
        batch.push_back(*object);
        bytes += object->size();
        ++from;
        if (bytes >= sessionOptions.batchBytes) break;
      }
      read += (threadCpuSeconds() - start);
      start = threadCpuSeconds();
      messages.push_back(protocol::sync::encode(
          packer.pack(static_cast<std::uint32_t>(messages.size() + 1), batch)));
      pack += (threadCpuSeconds() - start);
    }
  }
  TempDir dir;
  auto archive = store::Archive::open({.dir = dir.path(), .create = true});
  // A second archive takes the same objects four batches to a transaction: what larger
  // batches would save on the write path.
  TempDir dir4;
  auto archive4 = store::Archive::open({.dir = dir4.path(), .create = true});
  std::vector<protocol::VerifiedObject> pending4;
  TempDir dir1;
  auto archive1 = store::Archive::open({.dir = dir1.path(), .create = true});
  double commitOneByOne = 0;
  std::size_t batches4 = 0;
  double commit4 = 0;
  double decode = 0, unpack = 0, verify = 0, prepare = 0, commit = 0, commitWall = 0, state = 0;
  std::uint64_t wire = 0;
  protocol::sync::BatchUnpacker unpacker;
  for (const auto& message : messages) {
    wire += message.size();
    double start = threadCpuSeconds();
    auto decoded = protocol::sync::decode(message, sessionOptions.limits);
    const auto& batch = std::get<protocol::sync::Batch>(*decoded);
    decode += (threadCpuSeconds() - start);
    start = threadCpuSeconds();
    std::vector<std::uint8_t> storage;
    auto spans = unpacker.unpack(batch, sessionOptions.limits, storage);
    unpack += (threadCpuSeconds() - start);
    start = threadCpuSeconds();
    std::vector<protocol::VerifiedObject> verified;
    for (const auto& bytes : *spans) verified.push_back(protocol::verify(bytes).value());
    verify += (threadCpuSeconds() - start);
    // As a session does it: prepared beside the verification, then one putBatch (on the
    // committer's thread, store/committer.h).
    start = threadCpuSeconds();
    std::vector<store::PreparedObject> prepared;
    for (const auto& object : verified) prepared.emplace_back(object);
    prepare += (threadCpuSeconds() - start);
    start = threadCpuSeconds();
    const auto wallStart = Clock::now();
    archive->write([&](store::WriteTxn& txn) { (void)txn.putBatch(prepared); });
    commit += (threadCpuSeconds() - start);
    commitWall += secondsSince(wallStart);
    prepared.clear();
    // Before putBatch (2026-12-06): put() of one object after another, in the same run.
    start = threadCpuSeconds();
    archive1->write([&](store::WriteTxn& txn) {
      for (const auto& object : verified) (void)txn.putBatch(std::span(&object, 1));
    });
    commitOneByOne += threadCpuSeconds() - start;
    for (auto& object : verified) pending4.push_back(std::move(object));
    if (++batches4 % 4 == 0 || batches4 == messages.size()) {
      const double start4 = threadCpuSeconds();
      archive4->write([&](store::WriteTxn& txn) {
        (void)txn.putBatch(std::span<const protocol::VerifiedObject>(pending4));
      });
      commit4 += threadCpuSeconds() - start4;
      pending4.clear();
    }
    start = threadCpuSeconds();
    {
      const auto txn = archive->beginRead();
      const store::ArchiveRangeIndex index(txn);
      (void)protocol::sync::archiveState(index.sum(0, index.size()));
    }
    state += (threadCpuSeconds() - start);
  }
  const double n = static_cast<double>(objects);
  auto row = [&](const char* what, double seconds, const char* unit = "CPU") {
    std::printf("  %-52s %8.1f µs %-4s/object %9.0f objects/%s-s\n", what, seconds / n * 1e6, unit,
                n / seconds, unit);
  };
  std::printf(
      "\nwhere the time goes, the same %zu batches (%.1f MB on the wire, %.1f MB "
      "stored) replayed in one thread without sockets:\n",
      messages.size(), static_cast<double>(wire) / 1e6, static_cast<double>(storedBytes) / 1e6);
  std::printf(" sending side\n");
  row("read from LMDB (sync index keys, objects)", read);
  row("pack: zstd and Cap'n Proto encoding", pack);
  std::printf(" receiving side\n");
  row("decode the message (Cap'n Proto, aligned copy)", decode);
  row("unpack: zstd decompression", unpack);
  row("verify: protocol::verify of every object", verify);
  row("prepare: content hash and search terms", prepare);
  row("commit: putBatch, one transaction per batch", commit);
  row("  the same commit in wall time (fsync included)", commitWall, "wall");
  row("  prepare and commit, four batches to a transaction", commit4);
  row("  prepare and put one object after another (before)", commitOneByOne);
  row("archive state for the ack", state);
  row("receiving side in all", decode + unpack + verify + prepare + commit + state);
}

int runPull(std::size_t count) {
  std::printf("== pull: a fresh node pulls %zu clippings from a peer over loopback ==\n", count);
  printLoad("at the start");
  TempDir dir;
  const auto serverKey = protocol::SecretKey::generate();
  const auto clientKey = protocol::SecretKey::generate();
  auto source = store::Archive::open({.dir = dir.path() / "source", .create = true});
  auto built = Clock::now();
  {
    const auto clippings = syntheticClippings(count, 1);
    ingest(*source, serverKey, clippings, BASE_TIME);
  }
  listPeer(*source, "fresh", clientKey.publicKey());
  std::uint64_t storedBytes = 0;
  source->beginRead().forEach([&](const protocol::ObjectId&, std::span<const std::uint8_t> b) {
    storedBytes += b.size();
    return true;
  });
  const double n = static_cast<double>(count);
  const double averageObject = static_cast<double>(storedBytes) / n;
  std::printf("source archive: %zu objects, %.1f MB stored (%.0f B each), built in %.1f s\n", count,
              static_cast<double>(storedBytes) / 1e6, averageObject, secondsSince(built));

  // The pulls: as `fieldsync sync` does it (one verifying thread), then with a verifier that
  // spreads each batch over two threads.
  struct Pull {
    double wall = 0, clientCpu = 0, serverCpu = 0, processCpu = 0, wirePerObject = 0;
    node::SessionStats stats;
  };
  auto pull = [&](const char* name, node::BatchVerifier verifier) {
    const fs::path freshDir = dir.path() / name;
    auto fresh = store::Archive::open({.dir = freshDir, .create = true});
    listPeer(*fresh, "source", serverKey.publicKey());
    printLoad((std::string("before the pull, ") + name).c_str());
    node::SyncOptions options;
    options.session.verifier = std::move(verifier);
    Pull p;
    node::ClientReport report;
    std::string serverLine;
    {
      ServerThread server(*source, serverKey);
      const double cpu0 = processCpuSeconds(), thread0 = threadCpuSeconds();
      const auto start = Clock::now();
      report = node::syncOnce(*fresh, clientKey, "tcp://127.0.0.1:" + std::to_string(server.port()),
                              serverKey.publicKey(), "source", options);
      p.wall = secondsSince(start);
      p.clientCpu = threadCpuSeconds() - thread0;
      std::tie(p.serverCpu, serverLine) = server.stop();
      p.processCpu = processCpuSeconds() - cpu0;
    }
    const auto held = fresh->beginRead().count();
    if (!report.ok || held != count)
      throw std::runtime_error("pull failed: " + report.failure + " (" + std::to_string(held) +
                               " objects held)");
    p.stats = report.stats;
    p.wirePerObject = static_cast<double>(p.stats.bytesIn) / n;
    {  // Now the archives are equal: a second session should move nothing in one round trip.
      ServerThread server(*source, serverKey);
      const auto again =
          node::syncOnce(*fresh, clientKey, "tcp://127.0.0.1:" + std::to_string(server.port()),
                         serverKey.publicKey(), "source", options);
      std::printf(
          "%s, then a session of the equal archives: %s, %llu objects moved, session "
          "messages %llu B out + %llu B in (reconciliation frames %llu B), %u round "
          "trip(s)\n",
          name, again.ok && again.inStep ? "in step" : "NOT IN STEP",
          static_cast<unsigned long long>(again.stats.objectsIn + again.stats.objectsOut),
          static_cast<unsigned long long>(again.stats.bytesOut),
          static_cast<unsigned long long>(again.stats.bytesIn),
          static_cast<unsigned long long>(again.stats.reconcileBytesIn +
                                          again.stats.reconcileBytesOut),
          again.stats.roundTrips());
    }
    std::printf(
        "%s: %.2f s, %u batches, %u round trips, %.0f B/object on the wire (%.2fx "
        "smaller than stored)\n  CPU: client thread %.2f s, server thread %.2f s, "
        "whole process %.2f s (verifier and ZeroMQ I/O threads included)\n  server "
        "log: %s\n",
        name, p.wall, p.stats.batchesIn, p.stats.roundTrips(), p.wirePerObject,
        averageObject / p.wirePerObject, p.clientCpu, p.serverCpu, p.processCpu,
        serverLine.c_str());
    fresh.reset();
    fs::remove_all(freshDir);
    return p;
  };
  const Pull one = pull("one-verifier-thread", {});
  const Pull two = pull("two-verifier-threads", verifyOnTwoThreads);
  printLoad("after the pulls");

  // The ceilings, in the same run.
  const double curve = curveMegabytesPerSecond(256);
  const Rate verify1 = verifyRate(1, 20'000);
  const Rate verify2 = verifyRate(2, 20'000);
  printLoad("after the ceilings");
  std::printf("\n%-62s %10s %12s %12s\n", "", "MB/s", "objects/s", "per CPU-s");
  for (const auto* p : {&one, &two}) {
    std::printf("%-62s %10.1f %12.0f %12.0f\n",
                p == &one ? "fieldsync pull, 1 verifying thread (MB/s of stored bytes)"
                          : "fieldsync pull, 2 verifying threads",
                static_cast<double>(storedBytes) / 1e6 / p->wall, n / p->wall,
                p == &one ? n / p->clientCpu : NAN);
  }
  std::printf("%-62s %10.1f %12.0f\n", "bare CURVE, 1 MiB messages (objects at wire size)", curve,
              curve * 1e6 / one.wirePerObject);
  std::printf("%-62s %10s %12.0f\n", "  (objects at stored size)", "", curve * 1e6 / averageObject);
  std::printf("%-62s %10s %12.0f %12.0f\n", "bare Ed25519 verify, 1 thread", "",
              verify1.perWallSecond, verify1.perCpuSecond);
  std::printf("%-62s %10s %12.0f\n", "bare Ed25519 verify, 2 threads", "", verify2.perWallSecond);
  std::printf(
      "pull, 1 thread / bare verify, 1 thread: %.0f%% of wall rates, %.0f%% per CPU "
      "second of the receiving thread (target 70%% of the lower ceiling)\n",
      100.0 * n / one.wall / verify1.perWallSecond,
      100.0 * n / one.clientCpu / verify1.perCpuSecond);
  std::printf("pull, 2 threads / bare verify, 2 threads: %.0f%% of wall rates\n",
              100.0 * n / two.wall / verify2.perWallSecond);

  breakdown(*source, storedBytes);
  printLoad("at the end");
  return 0;
}

// --- wire ------------------------------------------------------------------------------------

/// What crossed a proxied TCP connection: payload bytes each way (no TCP/IP headers) and
/// the flights (runs of data in one direction, as the proxy read them).
struct WireCount {
  std::uint64_t up = 0;  // client to server
  std::uint64_t down = 0;
  std::uint32_t flights = 0;
  double seconds = 0;  // first byte to last
};

int listenLoopback(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(fd, 4) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length))
    throw std::runtime_error(std::string("listen: ") + std::strerror(errno));
  port = ntohs(address.sin_port);
  return fd;
}

int connectLoopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

/// Forwards one TCP connection to 127.0.0.1:upstream, counting what passes; each chunk is
/// held `delay` before it is passed on (a one-way latency), so a session's round trips show
/// in its duration. Ends when both sides have closed.
class CountingProxy {
 public:
  CountingProxy(std::uint16_t upstream, std::chrono::milliseconds delay)
      : m_upstream(upstream), m_delay(delay), m_listener(listenLoopback(m_port)) {
    m_thread = std::thread([this] { run(); });
  }
  ~CountingProxy() {
    if (m_thread.joinable()) m_thread.join();
    ::close(m_listener);
  }
  std::uint16_t port() const { return m_port; }
  WireCount finish() {
    if (m_thread.joinable()) m_thread.join();
    return m_count;
  }

 private:
  void run() {
    pollfd accepting{m_listener, POLLIN, 0};
    if (::poll(&accepting, 1, 60'000) != 1) return;
    const int fds[2] = {::accept(m_listener, nullptr, nullptr), connectLoopback(m_upstream)};
    const int one = 1;
    for (const int fd : fds) ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct Chunk {
      Clock::time_point due;
      Bytes bytes;
    };
    std::deque<Chunk> queued[2];  // read from fds[i], to write to fds[1 - i]
    bool reading[2] = {fds[0] >= 0, fds[1] >= 0}, shut[2] = {false, false};
    int last = -1;
    Clock::time_point first, end;
    std::vector<std::uint8_t> buffer(1 << 16);
    for (;;) {
      const auto now = Clock::now();
      int timeout = -1;
      for (int i = 0; i < 2; ++i) {
        while (!queued[i].empty() && queued[i].front().due <= now) {
          const Bytes& b = queued[i].front().bytes;
          for (std::size_t sent = 0; sent < b.size();) {
            const auto n = ::send(fds[1 - i], b.data() + sent, b.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
          }
          queued[i].pop_front();
        }
        if (!queued[i].empty()) {
          const auto wait =
              std::chrono::ceil<std::chrono::milliseconds>(queued[i].front().due - now);
          timeout = timeout < 0 ? static_cast<int>(wait.count())
                                : std::min(timeout, static_cast<int>(wait.count()));
        } else if (!reading[i] && !shut[i]) {
          ::shutdown(fds[1 - i], SHUT_WR);
          shut[i] = true;
        }
      }
      if (shut[0] && shut[1]) break;
      pollfd polled[2] = {{fds[0], static_cast<short>(reading[0] ? POLLIN : 0), 0},
                          {fds[1], static_cast<short>(reading[1] ? POLLIN : 0), 0}};
      // One side closed: give the other 5 s to follow.
      if (!reading[0] || !reading[1]) timeout = timeout < 0 ? 5000 : std::min(timeout, 5000);
      if (::poll(polled, 2, timeout) == 0 && queued[0].empty() && queued[1].empty() &&
          (!reading[0] || !reading[1]))
        break;
      for (int i = 0; i < 2; ++i) {
        if (!(polled[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const auto n = ::recv(fds[i], buffer.data(), buffer.size(), 0);
        if (n <= 0) {
          reading[i] = false;
          continue;
        }
        const auto at = Clock::now();
        if (last < 0) first = at;
        end = at;
        (i == 0 ? m_count.up : m_count.down) += static_cast<std::uint64_t>(n);
        if (last != i) ++m_count.flights;
        last = i;
        queued[i].push_back({at + m_delay, Bytes(buffer.begin(), buffer.begin() + n)});
      }
    }
    m_count.seconds = std::chrono::duration<double>(end - first).count();
    for (const int fd : fds)
      if (fd >= 0) ::close(fd);
  }

  std::uint16_t m_upstream;
  std::chrono::milliseconds m_delay;
  std::uint16_t m_port = 0;
  int m_listener;
  WireCount m_count;
  std::thread m_thread;
};

int shell(const std::vector<std::string>& argv, const fs::path& cwd,
          const char* quietTo = nullptr) {
  std::string command = "cd '" + cwd.string() + "' &&";
  for (const auto& a : argv) command += " '" + a + "'";
  if (quietTo) command += std::string(" >") + quietTo + " 2>&1";
  return std::system(command.c_str());
}

/// A git daemon serving root over git:// on 127.0.0.1 (every repository, --export-all),
/// stopped by its pid.
class GitDaemon {
 public:
  explicit GitDaemon(const fs::path& root) {
    int probe = listenLoopback(m_port);  // a free port, released for the daemon
    ::close(probe);
    const std::string base = "--base-path=" + root.string();
    const std::string port = "--port=" + std::to_string(m_port);
    m_pid = ::fork();
    if (m_pid == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 2);
      ::execlp("git", "git", "daemon", "--export-all", "--reuseaddr", "--listen=127.0.0.1",
               base.c_str(), port.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    for (int i = 0; i < 200; ++i) {  // up within 10 s
      const int fd = connectLoopback(m_port);
      if (fd >= 0) {
        ::close(fd);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("git daemon did not start");
  }
  ~GitDaemon() {
    ::kill(m_pid, SIGTERM);
    ::waitpid(m_pid, nullptr, 0);
  }
  std::uint16_t port() const { return m_port; }

 private:
  std::uint16_t m_port = 0;
  pid_t m_pid = -1;
};

/// The link alone: a CURVE handshake through a proxy and one one-byte message, then close.
WireCount curveLinkAlone(std::chrono::milliseconds delay, double& seconds) {
  const auto serverKey = protocol::SecretKey::generate();
  const auto clientKey = protocol::SecretKey::generate();
  zmq::context_t serverContext;
  node::AllowList allow({clientKey.publicKey()});
  node::ZapHandler zap(serverContext, allow);
  zmq::socket_t server = node::makeServerSocket(serverContext, serverKey);
  CountingProxy proxy(portOf(node::bindEndpoint(server, "tcp://127.0.0.1:*")), delay);
  const auto start = Clock::now();
  {
    zmq::context_t clientContext;
    zmq::socket_t client =
        node::makeClientSocket(clientContext, clientKey, serverKey.publicKey(), {});
    node::connectEndpoint(client, "tcp://127.0.0.1:" + std::to_string(proxy.port()));
    (void)client.send(zmq::str_buffer("x"), zmq::send_flags::none);
    zmq::message_t id, payload;
    if (!server.recv(id) || !server.recv(payload)) throw std::runtime_error("recv timed out");
    seconds = secondsSince(start);
  }
  return proxy.finish();
}

struct WireRow {
  WireCount count;
  double delayedSeconds = 0;
  std::uint32_t sessionTrips = 0;  // fieldsync: from the session's stats
  std::uint64_t sessionBytes = 0;  // fieldsync: message bytes both ways, from the stats
};

int runWire(std::size_t baseCount) {
  constexpr std::int64_t NEW_TIME = BASE_TIME + 86'400;
  constexpr std::chrono::milliseconds DELAY{100};  // one way: a round trip is 200 ms
  const std::vector<std::size_t> ds = {0, 1, 10, 100};
  std::printf("\n== wire: whole sessions for the d newest clippings, beside git fetch ==\n");
  printLoad("at the start");
  TempDir dir;
  const auto base = syntheticClippings(baseCount, 2);
  const auto fresh = syntheticClippings(ds.back(), 3);
  std::uint64_t rawNew[4] = {};
  for (std::size_t i = 0; i < ds.size(); ++i)
    for (std::size_t j = 0; j < ds[i]; ++j) rawNew[i] += clippingFile(fresh[j]).size();

  // fieldsync: the base archive, copied for each side and each run.
  const auto serverKey = protocol::SecretKey::generate();
  const auto clientKey = protocol::SecretKey::generate();
  const fs::path baseDir = dir.path() / "base";
  {
    auto archive = store::Archive::open({.dir = baseDir, .create = true});
    ingest(*archive, serverKey, base, BASE_TIME);
  }
  auto fieldsyncRun = [&](std::size_t d, std::chrono::milliseconds delay) {
    const fs::path serverDir = dir.path() / "server", clientDir = dir.path() / "client";
    fs::remove_all(serverDir);
    fs::remove_all(clientDir);
    fs::copy(baseDir, serverDir, fs::copy_options::recursive);
    fs::copy(baseDir, clientDir, fs::copy_options::recursive);
    auto serverArchive = store::Archive::open({.dir = serverDir});
    auto clientArchive = store::Archive::open({.dir = clientDir});
    ingest(*serverArchive, serverKey, {fresh.begin(), fresh.begin() + static_cast<long>(d)},
           NEW_TIME);
    listPeer(*serverArchive, "client", clientKey.publicKey());
    listPeer(*clientArchive, "server", serverKey.publicKey());
    WireRow row;
    ServerThread server(*serverArchive, serverKey);
    CountingProxy proxy(server.port(), delay);
    const auto start = Clock::now();
    const auto report =
        node::syncOnce(*clientArchive, clientKey, "tcp://127.0.0.1:" + std::to_string(proxy.port()),
                       serverKey.publicKey(), "server");
    row.delayedSeconds = secondsSince(start);
    row.count = proxy.finish();
    row.sessionTrips = report.stats.roundTrips();
    row.sessionBytes = report.stats.bytesIn + report.stats.bytesOut;
    if (!report.ok || report.stats.objectsIn != d)
      throw std::runtime_error("fieldsync session failed: " + report.failure);
    return row;
  };

  // git: one file per clipping, 100 to a folder; the client a copy of a fetch of the base.
  const fs::path work = dir.path() / "git" / "work";
  fs::create_directories(work);
  const std::string log = (dir.path() / "git.log").string();
  const std::vector<std::string> git = {
      "git", "-c", "user.name=bench", "-c", "user.email=bench@example.org", "-c", "gc.auto=0"};
  auto gitDo = [&](std::vector<std::string> args, const fs::path& in) {
    std::vector<std::string> all = git;
    all.insert(all.end(), args.begin(), args.end());
    if (shell(all, in, log.c_str()) != 0) {
      std::ifstream logFile(log);
      std::stringstream text;
      text << logFile.rdbuf();
      throw std::runtime_error("git " + args.front() + " failed: " + text.str());
    }
  };
  gitDo({"init", "-q", "-b", "main"}, work);
  for (std::size_t i = 0; i < base.size(); ++i) {
    const fs::path folder = work / "clippings" / std::to_string(i / 100);
    fs::create_directories(folder);
    std::ofstream(folder / (std::to_string(i) + ".txt")) << clippingFile(base[i]);
  }
  gitDo({"add", "-A"}, work);
  gitDo({"commit", "-q", "-m", "base"}, work);
  gitDo({"gc", "-q"}, work);
  for (std::size_t d : ds) {
    gitDo({"checkout", "-q", "-B", "d" + std::to_string(d), "main"}, work);
    for (std::size_t j = 0; j < d; ++j) {
      const fs::path folder = work / "clippings" / "new";
      fs::create_directories(folder);
      std::ofstream(folder / (std::to_string(j) + ".txt")) << clippingFile(fresh[j]);
    }
    if (d) gitDo({"add", "-A"}, work);
    gitDo({"commit", "-q", "--allow-empty", "-m", "new " + std::to_string(d)}, work);
    if (d == 0) gitDo({"reset", "-q", "--hard", "main"}, work);  // d0 is the base itself
  }
  const fs::path pristine = dir.path() / "git" / "client0";
  fs::create_directories(pristine);
  gitDo({"init", "-q", "-b", "main"}, pristine);
  gitDo({"fetch", "-q", work.string(), "main:refs/remotes/origin/main"}, pristine);
  GitDaemon daemon(dir.path() / "git");
  auto gitRun = [&](std::size_t d, std::chrono::milliseconds delay) {
    const fs::path client = dir.path() / "git" / "client";
    fs::remove_all(client);
    fs::copy(pristine, client, fs::copy_options::recursive);
    WireRow row;
    CountingProxy proxy(daemon.port(), delay);
    const auto start = Clock::now();
    gitDo({"-c", "protocol.version=2", "fetch", "-q",
           "git://127.0.0.1:" + std::to_string(proxy.port()) + "/work",
           "d" + std::to_string(d) + ":refs/remotes/origin/main"},
          client);
    row.delayedSeconds = secondsSince(start);
    row.count = proxy.finish();
    return row;
  };

  std::printf(
      "base: %zu clippings on both sides; the d newest (%.0f B of text each on "
      "average) only on the server's\n",
      baseCount, static_cast<double>(rawNew[3]) / 100.0);
  std::printf(
      "bytes = TCP payload through the proxy, both ways; trips = (time with %lld ms "
      "each way - time without) / %lld ms\n",
      static_cast<long long>(DELAY.count()), static_cast<long long>(2 * DELAY.count()));
  std::printf("%-10s %4s %10s %9s %9s %9s %8s %8s %7s %9s %6s\n", "tool", "d", "raw text", "up",
              "down", "total", "x raw", "flights", "trips", "messages", "rounds");
  for (std::size_t i = 0; i < ds.size(); ++i) {
    const std::size_t d = ds[i];
    for (const char* tool : {"fieldsync", "git"}) {
      const bool ours = std::string_view(tool) == "fieldsync";
      const WireRow plain = ours ? fieldsyncRun(d, {}) : gitRun(d, {});
      const WireRow delayed = ours ? fieldsyncRun(d, DELAY) : gitRun(d, DELAY);
      const double trips = (delayed.delayedSeconds - plain.delayedSeconds) /
                           (2.0 * static_cast<double>(DELAY.count()) / 1000.0);
      const auto total = plain.count.up + plain.count.down;
      std::printf(
          "%-10s %4zu %10llu %9llu %9llu %9llu %8s %8u %7.1f %9s %6s\n", tool, d,
          static_cast<unsigned long long>(rawNew[i]),
          static_cast<unsigned long long>(plain.count.up),
          static_cast<unsigned long long>(plain.count.down), static_cast<unsigned long long>(total),
          d ? std::to_string(static_cast<double>(total) / static_cast<double>(rawNew[i]))
                  .substr(0, 4)
                  .c_str()
            : "-",
          plain.count.flights, trips, ours ? std::to_string(plain.sessionBytes).c_str() : "-",
          ours ? std::to_string(plain.sessionTrips).c_str() : "-");
      std::fflush(stdout);
    }
  }
  double plainSeconds = 0, delayedSeconds = 0;
  const WireCount link = curveLinkAlone({}, plainSeconds);
  (void)curveLinkAlone(DELAY, delayedSeconds);
  std::printf(
      "%-10s %4s %10s %9llu %9llu %9llu %8s %8u %7.1f\n", "CURVE link", "-", "-",
      static_cast<unsigned long long>(link.up), static_cast<unsigned long long>(link.down),
      static_cast<unsigned long long>(link.up + link.down), "-", link.flights,
      (delayedSeconds - plainSeconds) / (2.0 * static_cast<double>(DELAY.count()) / 1000.0));
  std::printf(
      "(CURVE link: the handshake of a fieldsync link and one 1-byte message, no session;\n"
      " messages: fieldsync's session messages both ways, from its stats; rounds: its\n"
      " reconciliation round trips)\n");
  printLoad("at the end");
  return 0;
}

// --- index -----------------------------------------------------------------------------------

/// An archive of n tiny clippings (a number as title), eight to a second of signedAt, signed
/// on two threads and stored 10,000 to a transaction.
std::unique_ptr<store::Archive> tinyArchive(const fs::path& dir, std::size_t n) {
  auto archive = store::Archive::open({.dir = dir, .create = true});
  const auto key = protocol::SecretKey::generate();
  constexpr std::size_t BATCH = 10'000;
  for (std::size_t done = 0; done < n; done += BATCH) {
    const std::size_t size = std::min(BATCH, n - done);
    std::vector<std::optional<protocol::VerifiedObject>> batch(size);
    auto signRange = [&](std::size_t from, std::size_t to) {
      for (std::size_t i = from; i < to; ++i) {
        protocol::Clipping c;
        c.title = std::to_string(done + i);
        batch[i] =
            protocol::sign({key.publicKey(), BASE_TIME + static_cast<std::int64_t>((done + i) / 8),
                            std::move(c)},
                           key)
                .value();
      }
    };
    std::thread other(signRange, size / 2, size);
    signRange(0, size / 2);
    other.join();
    archive->write([&](store::WriteTxn& txn) {
      for (const auto& object : batch) (void)txn.put(*object);
    });
  }
  return archive;
}

/// Times reconciliation where one side is the archive (through a fresh read transaction and
/// ArchiveRangeIndex per call, as a session makes them) and the other an in-memory index.
struct IndexTiming {
  double initiateMs = 0;     // the archive's initiate(), when it initiates
  double archiveCpuMs = 0;   // every archive-side call, thread CPU time
  double archiveWallMs = 0;  // the same, wall time
  double slowestCallMs = 0;  // the slowest single archive-side call (wall)
  std::size_t calls = 0;     // archive-side frames processed (and initiate)
  std::size_t trips = 0;
  std::size_t bytes = 0;
};

IndexTiming timeExchange(const store::Archive& archive, const protocol::RangeIndex& memory,
                         bool archiveInitiates, const protocol::Salt& salt) {
  const protocol::Tuning tuning;
  const protocol::Reconciler reconciler(salt, tuning);
  IndexTiming t;
  auto onArchive = [&](auto&& work) {
    const double cpu0 = threadCpuSeconds();
    const auto start = Clock::now();
    const auto txn = archive.beginRead();
    const store::ArchiveRangeIndex index(txn);
    work(index);
    const double wall = secondsSince(start) * 1e3;
    t.archiveCpuMs += (threadCpuSeconds() - cpu0) * 1e3;
    t.archiveWallMs += wall;
    t.slowestCallMs = std::max(t.slowestCallMs, wall);
    ++t.calls;
    return wall;
  };
  std::vector<protocol::Frame> outgoing;
  if (archiveInitiates) {
    t.initiateMs = onArchive([&](const auto& index) { outgoing = reconciler.initiate(index); });
  } else {
    outgoing = reconciler.initiate(memory);
  }
  bool fromInitiator = true;
  std::size_t messages = 0;
  for (std::uint32_t round = 1; messages < 64; ++round) {
    ++messages;
    const bool toArchive = fromInitiator != archiveInitiates;
    protocol::Reply reply;
    bool needsAnswer = false;
    for (const auto& bytes : protocol::encodeFrames(outgoing, tuning.maxFrameBytes)) {
      t.bytes += bytes.size();
      auto frame = protocol::decodeFrame(bytes).value();
      needsAnswer |= protocol::needsAnswer(frame);
      if (toArchive) {
        onArchive([&](const auto& index) { reconciler.process(frame, round, index, reply); });
      } else {
        reconciler.process(frame, round, memory, reply);
      }
    }
    if (!needsAnswer) break;
    outgoing = std::move(reply.frames);
    fromInitiator = !fromInitiator;
  }
  t.trips = (messages + 1) / 2;
  return t;
}

int runIndex(const std::vector<std::size_t>& sizes) {
  std::printf("\n== index: reconciliation over the store's index (LMDB), one side in memory ==\n");
  std::printf(
      "archive-side time per exchange: every initiate()/process() on the archive, each "
      "with its own read transaction and ArchiveRangeIndex (pages in cache)\n");
  std::printf("%8s %-14s %6s %-9s %6s %9s %10s %10s %9s %6s %6s\n", "objects", "shape", "d",
              "archive", "trips", "bytes", "cpu ms", "wall ms", "slowest", "calls", "init");
  std::mt19937_64 rng(4);
  protocol::Salt salt{};
  for (auto& byte : salt) byte = static_cast<std::uint8_t>(rng());
  for (const std::size_t n : sizes) {
    printLoad(("before building " + std::to_string(n)).c_str());
    TempDir dir;
    const auto start = Clock::now();
    const auto archive = tinyArchive(dir.path(), n);
    std::vector<SyncKey> all;
    {
      const auto txn = archive->beginRead();
      const store::ArchiveRangeIndex index(txn);
      all = index.keys(0, index.size());
    }
    std::printf("[%zu tiny objects signed and stored in %.1f s]\n", n, secondsSince(start));
    printLoad("after building");
    const std::int64_t newest = all.back().signedAt;
    auto madeUp = [&](std::size_t count, bool newer) {  // keys no archive holds
      std::vector<SyncKey> keys(count);
      for (auto& key : keys) {
        key.signedAt = newer ? newest + 1 + static_cast<std::int64_t>(rng() % 600)
                             : BASE_TIME + static_cast<std::int64_t>(rng() % (n / 8));
        randombytes_buf(key.id.bytes.data(), key.id.bytes.size());
      }
      return keys;
    };
    for (const std::string_view shape : {"newest", "newest-ahead", "scattered", "scattered-both"}) {
      for (const std::size_t d : {0u, 100u, 1000u}) {
        for (const bool archiveInitiates : {false, true}) {
          // The in-memory side is the archive's keys, less what it lacks, plus what the
          // archive lacks (made-up keys).
          const bool initiatorLacks = shape == "newest" || shape == "scattered";
          const bool memoryLacks = initiatorLacks != archiveInitiates;
          std::vector<SyncKey> memory = all;
          std::vector<SyncKey> lacking, extra;
          if (shape == "scattered-both") {
            std::sample(all.begin(), all.end(), std::back_inserter(lacking),
                        static_cast<long>(d / 2), rng);
            extra = madeUp(d - d / 2, false);
          } else if (memoryLacks) {
            if (shape == "scattered")
              std::sample(all.begin(), all.end(), std::back_inserter(lacking), static_cast<long>(d),
                          rng);
            else
              lacking.assign(all.end() - static_cast<long>(d), all.end());
          } else {
            extra = madeUp(d, shape != "scattered");
          }
          std::vector<SyncKey> kept;
          std::set_difference(memory.begin(), memory.end(), lacking.begin(), lacking.end(),
                              std::back_inserter(kept));
          kept.insert(kept.end(), extra.begin(), extra.end());
          const protocol::VectorRangeIndex other(std::move(kept));
          other.sum(0, 0);
          const auto t = timeExchange(*archive, other, archiveInitiates, salt);
          std::printf("%8zu %-14s %6zu %-9s %6zu %9zu %10.2f %10.2f %9.2f %6zu %6s\n", n,
                      std::string(shape).c_str(), d, archiveInitiates ? "initiator" : "responder",
                      t.trips, t.bytes, t.archiveCpuMs, t.archiveWallMs, t.slowestCallMs, t.calls,
                      archiveInitiates ? std::to_string(t.initiateMs).substr(0, 5).c_str() : "-");
          std::fflush(stdout);
        }
      }
    }
  }
  return 0;
}

/// The sender's packing, batch by batch as a session does it, at several zstd levels: a frame
/// per batch (as before the stream, and for a peer that reads no stream) against one stream per
/// session, at a fast link's batches (1 MiB) and a slow one's (16 KiB: two seconds at 8 kB/s),
/// and beside them a frame per batch with a dictionary trained on other clippings. CPU per
/// object to pack and to unpack, bytes per object on the wire.
int runPack(std::size_t count) {
  std::printf("== pack: %zu synthetic clippings, batch by batch ==\n", count);
  const auto key = protocol::SecretKey::generate();
  std::vector<std::vector<std::uint8_t>> objects;
  for (const auto& clipping : syntheticClippings(count, 4)) {
    const auto signedObject = protocol::sign({key.publicKey(), BASE_TIME, clipping}, key).value();
    objects.emplace_back(signedObject.bytes().begin(), signedObject.bytes().end());
  }
  std::uint64_t stored = 0;
  for (const auto& object : objects) stored += object.size();
  const auto n = static_cast<double>(objects.size());
  // A dictionary of 110 kB trained on 2,000 other clippings (what a release could ship).
  std::vector<std::uint8_t> dictionary(110 * 1024);
  {
    std::vector<std::uint8_t> samples;
    std::vector<std::size_t> sizes;
    for (const auto& clipping : syntheticClippings(2000, 5)) {
      const auto signedObject = protocol::sign({key.publicKey(), BASE_TIME, clipping}, key).value();
      const auto bytes = signedObject.bytes();
      samples.insert(samples.end(), bytes.begin(), bytes.end());
      sizes.push_back(bytes.size());
    }
    const std::size_t size =
        ZDICT_trainFromBuffer(dictionary.data(), dictionary.size(), samples.data(), sizes.data(),
                              static_cast<unsigned>(sizes.size()));
    if (ZDICT_isError(size)) throw std::runtime_error("zstd could not train a dictionary");
    dictionary.resize(size);
  }
  std::printf("%zu objects, %.1f MB stored (%.0f B each); dictionary %zu B\n\n", objects.size(),
              static_cast<double>(stored) / 1e6, static_cast<double>(stored) / n,
              dictionary.size());
  std::printf("%-12s %5s %6s %14s %14s %14s\n", "mode", "level", "batch", "B/object", "pack us/obj",
              "unpack us/obj");
  enum class Mode { Frame, Stream, Dictionary };
  for (const std::size_t batchBytes : {std::size_t{1} << 20, std::size_t{16} << 10}) {
    for (const Mode mode : {Mode::Frame, Mode::Stream, Mode::Dictionary}) {
      for (const int level : {1, 2, 3, 5, 7}) {
        protocol::sync::BatchPacker packer(level);
        if (mode == Mode::Stream) packer.useStream();
        ZSTD_CCtx* cctx = ZSTD_createCCtx();
        ZSTD_DCtx* dctx = ZSTD_createDCtx();
        ZSTD_CDict* cdict = ZSTD_createCDict(dictionary.data(), dictionary.size(), level);
        ZSTD_DDict* ddict = ZSTD_createDDict(dictionary.data(), dictionary.size());
        std::vector<Bytes> messages;
        std::vector<std::size_t> raws;
        double pack = 0;
        for (std::size_t from = 0; from < objects.size();) {
          std::vector<std::span<const std::uint8_t>> batch;
          std::size_t bytes = 0;
          while (from < objects.size() && (batch.empty() || bytes < batchBytes)) {
            batch.emplace_back(objects[from]);
            bytes += objects[from++].size();
          }
          const double start = threadCpuSeconds();
          const auto number = static_cast<std::uint32_t>(messages.size() + 1);
          protocol::sync::Batch packed;
          if (mode == Mode::Dictionary) {
            // The batch's objects end to end (without the batch's varint lengths, 2 bytes an
            // object), compressed as one frame with the dictionary.
            std::vector<std::uint8_t> raw;
            for (const auto& object : batch) raw.insert(raw.end(), object.begin(), object.end());
            std::vector<std::uint8_t> out(ZSTD_compressBound(raw.size()));
            out.resize(ZSTD_compress_usingCDict(cctx, out.data(), out.size(), raw.data(),
                                                raw.size(), cdict));
            packed = {number, static_cast<std::uint32_t>(batch.size()),
                      static_cast<std::uint32_t>(raw.size()), protocol::sync::Compression::Zstd,
                      std::move(out)};
            raws.push_back(raw.size());
          } else {
            packed = packer.pack(number, batch);
          }
          messages.push_back(protocol::sync::encode(packed));
          pack += threadCpuSeconds() - start;
        }
        std::uint64_t wire = 0;
        for (const auto& message : messages) wire += message.size();
        protocol::sync::BatchUnpacker unpacker;
        const double start = threadCpuSeconds();
        for (std::size_t i = 0; i < messages.size(); ++i) {
          const auto batch = std::get<protocol::sync::Batch>(*protocol::sync::decode(messages[i]));
          std::vector<std::uint8_t> storage;
          if (mode == Mode::Dictionary) {
            storage.resize(raws[i]);
            ZSTD_decompress_usingDDict(dctx, storage.data(), storage.size(), batch.content.data(),
                                       batch.content.size(), ddict);
          } else if (!unpacker.unpack(batch, {}, storage)) {
            throw std::runtime_error("a packed batch does not unpack");
          }
        }
        const double unpack = threadCpuSeconds() - start;
        ZSTD_freeCCtx(cctx);
        ZSTD_freeDCtx(dctx);
        ZSTD_freeCDict(cdict);
        ZSTD_freeDDict(ddict);
        const char* name = mode == Mode::Frame    ? "frame"
                           : mode == Mode::Stream ? "stream"
                                                  : "frame+dict";
        std::printf("%-12s %5d %5zuK %14.0f %14.1f %14.1f\n", name, level, batchBytes >> 10,
                    static_cast<double>(wire) / n, pack * 1e6 / n, unpack * 1e6 / n);
      }
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  const std::string what = argc > 1 ? argv[1] : "all";
  auto number = [&](int i, std::size_t fallback) {
    return argc > i ? static_cast<std::size_t>(std::strtoull(argv[i], nullptr, 10)) : fallback;
  };
  try {
    if (what == "pull") return runPull(number(2, 100'000));
    if (what == "wire") return runWire(number(2, 10'000));
    if (what == "pack") return runPack(number(2, 20'000));
    if (what == "index") {
      std::vector<std::size_t> sizes;
      for (int i = 2; i < argc; ++i) sizes.push_back(number(i, 0));
      if (sizes.empty()) sizes = {100'000};
      return runIndex(sizes);
    }
    if (what == "all") {
      int failed = runPull(100'000);
      failed |= runWire(10'000);
      failed |= runIndex({100'000});
      return failed;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sync_bench: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: sync_bench [pull [N] | wire [BASE] | index [N...] | pack [N] | all]\n");
  return 2;
}
