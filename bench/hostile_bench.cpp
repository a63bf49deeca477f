// Hostile peers against a real server: what the attack costs the server (memory, CPU) and
// what it costs a good peer (the latency of its syncs), scenario by scenario. Results and the
// command: docs/benchmarks.md ("Hostile peers").
//
//   build/bench/hostile_bench [seconds=10] [scenario...]
//
// Scenarios (default: all of them, in this order):
//   idle          no attack: the good peer's latency and the server's footprint alone
//   flood         a listed peer sends as fast as it can: Hello, 64 KiB and 1 MiB of garbage,
//                 an Ack out of turn, 3 bytes of garbage, again and again, reconnecting
//   flood-kept    the same against a server that does not refuse misbehaving peers
//                 (ServerOptions::penalize off): what the transport's bounds alone hold
//   handshakes    500 TCP connections from ten loopback addresses (127.0.0.2-11) that never
//                 finish the handshake (half silent, half a partial greeting), reopened as
//                 the server cuts them, plus 20 unlisted CURVE clients retrying every 100 ms
//   badsigs       a listed peer sends 10 batches of 1,000 objects with bad signatures per
//                 session, session after session
//   badsigs-kept  the same without refusals: every session verifies one batch of 1,000
//   rounds        a listed peer sends Hello, then round-1 reconcile frames of 65,536 fingerprint
//                 ranges each that never say `last` (issue 18.1), reconnecting when cut
//   rounds-kept   the same without refusals: every session is ended at the round bound
//
// The server runs in a child process (fork and exec of this program), so its memory (VmHWM, VmRSS
// from /proc/PID/status) and CPU time (utime + stime from /proc/PID/stat) are its own; attackers
// and the good peer run in this process. The good peer adds one clipping and syncs, again and
// again, during the attack. After each scenario the server's archive must hold exactly the
// server's and the good peer's objects: nothing from the attacker. Exit status 1 when it does
// not, or when a good peer's sync failed in a scenario with refusals on.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "clippings.h"
#include "node/client.h"
#include "node/server.h"
#include "node/transport.h"
#include "protocol/object.h"
#include "protocol/sync.h"
#include "store/archive.h"
#include "store/ingest.h"
#include "store/peers.h"
#include "support/endless_round.h"

namespace {
namespace fs = std::filesystem;
using namespace fieldsync;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;
namespace sync = protocol::sync;

constexpr std::int64_t BASE_TIME = 1'700'000'000;
constexpr std::size_t SERVER_OBJECTS = 2000;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class TempDir {
 public:
  TempDir()
      : m_path(fs::temp_directory_path() /
               ("fieldsync-hostile-bench-" + std::to_string(std::random_device{}()))) {
    fs::create_directories(m_path);
  }
  ~TempDir() { fs::remove_all(m_path); }
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

void listPeer(store::Archive& archive, const std::string& name, const protocol::PublicKey& key) {
  archive.write([&](store::WriteTxn& txn) {
    auto put = store::putPeer(txn, {name, "tcp://127.0.0.1:7420", key, {}, {}},
                              store::IfNameListed::Refuse);
    if (!put.ok()) throw std::runtime_error(put.error().message);
  });
}

std::set<protocol::ObjectId> idsOf(const store::Archive& archive) {
  std::set<protocol::ObjectId> ids;
  archive.beginRead().forEach([&](const protocol::ObjectId& id, auto) {
    ids.insert(id);
    return true;
  });
  return ids;
}

// --- The server in a child process -------------------------------------------------------------

/// Reads "Name:   123 kB" from /proc/PID/status, in kB.
long statusKb(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) == 0) return std::stol(line.substr(name.size() + 1));
  }
  return -1;
}
/// utime + stime of pid, in seconds.
double cpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::vector<std::string> f;
  for (std::string s; fields >> s;) f.push_back(s);
  // After the name: state is field 3; utime 14 and stime 15 (1-based) are f[11], f[12].
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return (std::stod(f.at(11)) + std::stod(f.at(12))) / ticks;
}
std::size_t openFds(pid_t pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != fs::directory_iterator(); ++it)
    ++n;
  return n;
}

/// The server's side: `hostile_bench --server DIR SEEDHEX PENALIZE LOG`, exec'd by
/// ServerProcess, so its memory is its own and not a copy of this process's. Prints the
/// endpoint on stdout, serves until SIGTERM.
int serverMain(char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // every thread: sigwait below takes it
  Bytes seed;
  const std::string hex = argv[3];
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    seed.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  const auto key = protocol::SecretKey::fromSeed(
      std::span<const std::uint8_t, protocol::SEED_BYTES>(seed.data(), protocol::SEED_BYTES));
  auto archive = store::Archive::open({.dir = argv[2]});
  std::ofstream out(argv[5]);
  node::ServerOptions options;
  options.listen = "tcp://127.0.0.1:*";
  options.penalize = std::string(argv[4]) == "1";
  node::Server server(*archive, key, options, [&](const std::string& line) {
    out << line << '\n';
    out.flush();
  });
  std::printf("%s\n", server.endpoint().c_str());
  std::fflush(stdout);
  std::thread serving([&] { server.run(); });
  int signal = 0;
  sigwait(&signals, &signal);
  server.stop();
  serving.join();
  return 0;
}

class ServerProcess {
 public:
  ServerProcess(const fs::path& archiveDir, const protocol::SecretKey& key, bool penalize,
                const fs::path& log) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    std::string seed;
    char digits[3];
    for (auto b : key.seed()) {
      std::snprintf(digits, sizeof digits, "%02x", b);
      seed += digits;
    }
    m_pid = ::fork();
    if (m_pid == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execl("/proc/self/exe", "hostile_bench", "--server", archiveDir.c_str(), seed.c_str(),
              penalize ? "1" : "0", log.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    ::close(fds[1]);
    char buffer[128] = {};
    std::size_t got = 0;
    while (got + 1 < sizeof buffer) {
      const auto n = ::read(fds[0], buffer + got, sizeof buffer - 1 - got);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
      if (std::memchr(buffer, '\n', got)) break;
    }
    ::close(fds[0]);
    m_endpoint = std::string(buffer, strnlen(buffer, sizeof buffer));
    if (!m_endpoint.empty() && m_endpoint.back() == '\n') m_endpoint.pop_back();
    if (m_endpoint.empty()) throw std::runtime_error("the server did not start");
  }
  ~ServerProcess() {
    ::kill(m_pid, SIGTERM);
    ::waitpid(m_pid, nullptr, 0);
  }
  pid_t pid() const { return m_pid; }
  const std::string& endpoint() const { return m_endpoint; }

 private:
  pid_t m_pid = -1;
  std::string m_endpoint;
};

// --- Attacks ---------------------------------------------------------------------------------

node::TransportLimits attackerLimits() {
  node::TransportLimits limits;
  limits.sendTimeout = 200ms;
  limits.receiveTimeout = 200ms;
  limits.reconnectInterval = 100ms;
  limits.reconnectIntervalMax = 100ms;
  limits.linger = 0ms;
  return limits;
}

struct AttackCount {
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> connections{0};
};

/// A listed peer that floods: a fresh connection whenever sends stop getting through.
void flood(const std::string& endpoint, const protocol::SecretKey& key,
           const protocol::PublicKey& server, std::atomic<bool>& stop, AttackCount& count) {
  sync::Hello hello;
  hello.salt.fill(7);
  const std::vector<Bytes> messages = {sync::encode(hello), Bytes(64 * 1024, 0x5a),
                                       sync::encode(sync::Ack{9, {}}), Bytes{1, 2, 3},
                                       Bytes(1 << 20, 0x11)};
  while (!stop) {
    zmq::context_t context;
    auto socket = node::makeClientSocket(context, key, server, attackerLimits());
    node::connectEndpoint(socket, endpoint);
    ++count.connections;
    int failed = 0;
    for (std::size_t i = 0; !stop && failed < 5; ++i) {
      const auto& m = messages[i % messages.size()];
      if (socket.send(zmq::buffer(m), zmq::send_flags::none)) {
        ++count.messages;
        count.bytes += m.size();
        failed = 0;
      } else {
        ++failed;
      }
    }
  }
}

/// A listed peer that sends batches of objects with bad signatures, session after session.
void badSignatures(const std::string& endpoint, const protocol::SecretKey& key,
                   const protocol::PublicKey& server, const std::vector<Bytes>& batches,
                   std::atomic<bool>& stop, AttackCount& count) {
  sync::Hello hello;
  hello.salt.fill(7);
  const Bytes opening = sync::encode(hello);
  const Bytes round = sync::encode(sync::Reconcile{1, true, {}});
  while (!stop) {
    zmq::context_t context;
    auto socket = node::makeClientSocket(context, key, server, attackerLimits());
    node::connectEndpoint(socket, endpoint);
    ++count.connections;
    if (!socket.send(zmq::buffer(opening), zmq::send_flags::none) ||
        !socket.send(zmq::buffer(round), zmq::send_flags::none))
      continue;
    for (const auto& batch : batches) {
      if (stop || !socket.send(zmq::buffer(batch), zmq::send_flags::none)) break;
      ++count.messages;
      count.bytes += batch.size();
    }
    // Read the answer (a Failure) or give up after a moment, then start over.
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, 500ms);
  }
}

/// A listed peer whose round 1 never ends: frames of 65,536 ranges, each over a span the server
/// holds nothing in, for ever (a fresh connection whenever sends stop getting through).
void endlessRound(const std::string& endpoint, const protocol::SecretKey& key,
                  const protocol::PublicKey& server, std::atomic<bool>& stop, AttackCount& count) {
  sync::Hello hello;
  hello.salt.fill(7);
  const Bytes opening = sync::encode(hello);
  std::vector<Bytes> frames;
  for (std::int64_t f = 0; f < 64; ++f) frames.push_back(fieldsync::testing::endlessRoundFrame(f));
  while (!stop) {
    zmq::context_t context;
    auto socket = node::makeClientSocket(context, key, server, attackerLimits());
    node::connectEndpoint(socket, endpoint);
    ++count.connections;
    if (!socket.send(zmq::buffer(opening), zmq::send_flags::none)) continue;
    for (const auto& frame : frames) {  // 64 frames: 4.2 million ranges, were they kept
      if (stop || !socket.send(zmq::buffer(frame), zmq::send_flags::none)) break;
      ++count.messages;
      count.bytes += frame.size();
    }
  }
}

int rawConnect(std::uint16_t port, const std::string& source) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
    ::close(fd);
    return -1;
  }
  (void)::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);  // in progress
  return fd;
}

/// 500 connections that never finish the handshake, reopened as the server cuts them.
void halfOpen(const std::string& endpoint, std::atomic<bool>& stop, AttackCount& count) {
  const auto port = static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  const unsigned char partial[] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3};
  std::vector<pollfd> fds(500, pollfd{-1, POLLIN, 0});
  while (!stop) {
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd >= 0) continue;
      fds[i].fd = rawConnect(port, "127.0.0." + std::to_string(2 + i % 10));
      if (fds[i].fd < 0) continue;
      ++count.connections;
      if (i % 2 == 1) {
        std::this_thread::sleep_for(1ms);  // let the connect finish
        if (::send(fds[i].fd, partial, sizeof partial, MSG_NOSIGNAL) > 0) ++count.messages;
      }
    }
    ::poll(fds.data(), fds.size(), 100);
    for (auto& p : fds) {
      if (p.fd >= 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
        char sink[256];
        if (::recv(p.fd, sink, sizeof sink, MSG_DONTWAIT) <= 0) {  // cut, or timed out
          ::close(p.fd);
          p.fd = -1;
        }
      }
      p.revents = 0;
    }
  }
  for (auto& p : fds)
    if (p.fd >= 0) ::close(p.fd);
}

/// Unlisted CURVE clients, each retrying every 100 ms.
void strangers(const std::string& endpoint, const protocol::PublicKey& server,
               std::atomic<bool>& stop, AttackCount& count) {
  zmq::context_t context;
  std::vector<protocol::SecretKey> keys;
  std::vector<zmq::socket_t> sockets;
  const auto port = endpoint.substr(endpoint.rfind(':') + 1);
  for (int i = 0; i < 20; ++i) {
    keys.push_back(protocol::SecretKey::generate());
    sockets.push_back(node::makeClientSocket(context, keys.back(), server, attackerLimits()));
    node::connectEndpoint(sockets.back(), "tcp://127.0.0.12:0;127.0.0.1:" + port);
    ++count.connections;
  }
  while (!stop) std::this_thread::sleep_for(50ms);
}

// --- A scenario ------------------------------------------------------------------------------

struct Figures {
  std::string scenario;
  double seconds = 0;
  double cpu = 0;      // server CPU seconds during the attack
  long rssBefore = 0;  // kB, after the warm-up syncs
  long hwmBefore = 0;
  long rssAfter = 0;  // kB, at the end of the attack
  long hwmAfter = 0;
  std::size_t fdsMax = 0;         // the server's open descriptors, most seen
  std::vector<double> latencies;  // good peer syncs during the attack, seconds
  int goodFailed = 0;
  std::uint64_t attackMessages = 0, attackBytes = 0, attackConnections = 0;
  bool nothingInvalid = false;
  std::string refused;  // the attacker's stored refusal, if any
  std::size_t logLines = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

Figures run(const std::string& scenario, double seconds) {
  TempDir dir;
  const auto serverKey = protocol::SecretKey::generate();
  const auto goodKey = protocol::SecretKey::generate();
  const auto hostileKey = protocol::SecretKey::generate();
  const fs::path serverDir = dir.path() / "server", goodDir = dir.path() / "good";
  {
    auto server = store::Archive::open({.dir = serverDir, .create = true});
    (void)store::ingestClippings(*server, serverKey, bench::syntheticClippings(SERVER_OBJECTS),
                                 BASE_TIME);
    listPeer(*server, "good", goodKey.publicKey());
    listPeer(*server, "hostile", hostileKey.publicKey());
  }
  auto good = store::Archive::open({.dir = goodDir, .create = true});
  const bool penalize = scenario.find("-kept") == std::string::npos;

  // Bad batches, made before the server starts (signing is the attacker's cost, not its).
  std::vector<Bytes> badBatches;
  if (scenario.rfind("badsigs", 0) == 0) {
    std::vector<Bytes> forged;
    std::size_t n = 0;
    for (const auto& c : bench::syntheticClippings(1000, 77)) {
      auto object =
          protocol::sign({hostileKey.publicKey(), BASE_TIME + static_cast<std::int64_t>(n++), c},
                         hostileKey)
              .value();
      forged.emplace_back(object.bytes().begin(), object.bytes().end());
      forged.back()[forged.back().size() - 9] ^= 0x01;
    }
    std::vector<std::span<const std::uint8_t>> spans(forged.begin(), forged.end());
    for (std::uint32_t b = 1; b <= 10; ++b)
      badBatches.push_back(sync::encode(sync::packBatch(b, spans)));
  }

  Figures f;
  f.scenario = scenario;
  const fs::path log = dir.path() / "server.log";
  std::set<protocol::ObjectId> goodIds;
  {
    ServerProcess server(serverDir, serverKey, penalize, log);
    node::SyncOptions syncOptions;
    syncOptions.connectTimeout = 10s;
    syncOptions.idleTimeout = 30s;
    int added = 0;
    auto goodSync = [&] {
      (void)store::ingestClippings(
          *good, goodKey, {bench::syntheticClippings(1, 1000 + static_cast<unsigned>(added))},
          BASE_TIME + 100'000 + added);
      ++added;
      const auto start = Clock::now();
      const auto report = node::syncOnce(*good, goodKey, server.endpoint(), serverKey.publicKey(),
                                         "server", syncOptions);
      return std::pair{report.ok, secondsSince(start)};
    };
    (void)goodSync();  // warm up: the good peer pulls the server's archive
    (void)goodSync();
    f.rssBefore = statusKb(server.pid(), "VmRSS");
    f.hwmBefore = statusKb(server.pid(), "VmHWM");
    f.fdsMax = openFds(server.pid());
    const double cpuBefore = cpuSeconds(server.pid());

    std::atomic<bool> stop{false};
    AttackCount count;
    std::vector<std::thread> attackers;
    if (scenario.rfind("flood", 0) == 0) {
      attackers.emplace_back(flood, server.endpoint(), std::cref(hostileKey), serverKey.publicKey(),
                             std::ref(stop), std::ref(count));
    } else if (scenario.rfind("rounds", 0) == 0) {
      attackers.emplace_back(endlessRound, server.endpoint(), std::cref(hostileKey),
                             serverKey.publicKey(), std::ref(stop), std::ref(count));
    } else if (scenario == "handshakes") {
      attackers.emplace_back(halfOpen, server.endpoint(), std::ref(stop), std::ref(count));
      attackers.emplace_back(strangers, server.endpoint(), serverKey.publicKey(), std::ref(stop),
                             std::ref(count));
    } else if (scenario.rfind("badsigs", 0) == 0) {
      attackers.emplace_back(badSignatures, server.endpoint(), std::cref(hostileKey),
                             serverKey.publicKey(), std::cref(badBatches), std::ref(stop),
                             std::ref(count));
    }
    const auto start = Clock::now();
    std::this_thread::sleep_for(500ms);  // the attack under way
    while (secondsSince(start) < seconds) {
      const auto [ok, latency] = goodSync();
      if (ok)
        f.latencies.push_back(latency);
      else
        ++f.goodFailed;
      f.fdsMax = std::max(f.fdsMax, openFds(server.pid()));
      std::this_thread::sleep_for(200ms);
    }
    f.seconds = secondsSince(start);
    f.cpu = cpuSeconds(server.pid()) - cpuBefore;
    f.rssAfter = statusKb(server.pid(), "VmRSS");
    f.hwmAfter = statusKb(server.pid(), "VmHWM");
    stop = true;
    for (auto& t : attackers) t.join();
    f.attackMessages = count.messages;
    f.attackBytes = count.bytes;
    f.attackConnections = count.connections;
    goodIds = idsOf(*good);
  }
  auto archive = store::Archive::open({.dir = serverDir});
  f.nothingInvalid = idsOf(*archive) == goodIds;  // the good peer holds all the server's too
  if (auto peer = store::findPeer(archive->beginRead(), "hostile");
      peer && peer->state.refusedUntil)
    f.refused = store::describeRefusal(peer->state);
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) ++f.logLines;
  return f;
}

double mb(long kb) { return static_cast<double>(kb) / 1024.0; }

void print(const Figures& f) {
  std::printf(
      "%-12s %5.1f s  server CPU %5.2f s (%3.0f%% of a core)  RSS %6.1f -> %6.1f MB  HWM %6.1f -> "
      "%6.1f MB  fds <= %zu\n"
      "             RSS above idle: %.1f MB at the end, %.1f MB at most (target < 64 MB)\n",
      f.scenario.c_str(), f.seconds, f.cpu, 100 * f.cpu / f.seconds, mb(f.rssBefore),
      mb(f.rssAfter), mb(f.hwmBefore), mb(f.hwmAfter), f.fdsMax, mb(f.rssAfter - f.rssBefore),
      mb(std::max(f.hwmAfter, f.rssBefore) - f.rssBefore));
  std::printf(
      "             good peer: %zu syncs ok, %d failed, latency median %.3f s, max %.3f s\n",
      f.latencies.size(), f.goodFailed, percentile(f.latencies, 0.5),
      f.latencies.empty() ? 0.0 : *std::max_element(f.latencies.begin(), f.latencies.end()));
  std::printf(
      "             attacker: %llu connections, %llu messages, %.1f MB sent; server log %zu lines; "
      "%s\n",
      static_cast<unsigned long long>(f.attackConnections),
      static_cast<unsigned long long>(f.attackMessages), static_cast<double>(f.attackBytes) / 1e6,
      f.logLines, f.nothingInvalid ? "nothing invalid stored" : "STORED SOMETHING UNEXPECTED");
  if (!f.refused.empty()) std::printf("             attacker %s\n", f.refused.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 6 && std::string(argv[1]) == "--server") return serverMain(argv);
  double seconds = 10;
  std::vector<std::string> scenarios;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!arg.empty() && std::isdigit(static_cast<unsigned char>(arg[0]))) {
      seconds = std::stod(arg);
    } else {
      scenarios.push_back(arg);
    }
  }
  if (scenarios.empty())
    scenarios = {"idle",    "flood",        "flood-kept", "handshakes",
                 "badsigs", "badsigs-kept", "rounds",     "rounds-kept"};
  ::signal(SIGPIPE, SIG_IGN);
  double load[3] = {};
  if (getloadavg(load, 3) == 3)
    std::printf("[load average at start: %.2f %.2f %.2f; %u cores]\n", load[0], load[1], load[2],
                std::thread::hardware_concurrency());
  bool allClean = true;
  for (const auto& scenario : scenarios) {
    const auto f = run(scenario, seconds);
    print(f);
    // The -kept scenarios show what refusals spare the server; a good peer may time out there.
    const bool kept = scenario.find("-kept") != std::string::npos;
    allClean = allClean && f.nothingInvalid && (kept || f.goodFailed == 0);
  }
  if (getloadavg(load, 3) == 3)
    std::printf("[load average at end: %.2f %.2f %.2f]\n", load[0], load[1], load[2]);
  return allClean ? 0 : 1;
}
