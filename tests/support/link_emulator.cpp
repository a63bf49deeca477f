#include "support/link_emulator.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <random>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace fieldsync::testing {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void throwErrno(const char* call) {
  throw std::system_error(errno, std::generic_category(), call);
}

/// Owns one file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      m_fd = std::exchange(other.m_fd, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  [[nodiscard]] int get() const { return m_fd; }
  [[nodiscard]] bool valid() const { return m_fd >= 0; }
  void reset() {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
  }
  /// Closes with a reset (RST) instead of a FIN: what a cut looks like to the peer.
  void abort() {
    if (m_fd < 0) return;
    linger option{};
    option.l_onoff = 1;
    option.l_linger = 0;
    ::setsockopt(m_fd, SOL_SOCKET, SO_LINGER, &option, sizeof option);
    reset();
  }

 private:
  int m_fd = -1;
};

void setNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throwErrno("fcntl(O_NONBLOCK)");
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

void setNoDelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

struct Target {
  sockaddr_storage address{};
  socklen_t length = 0;
};

Target resolve(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    throw std::invalid_argument("link emulator: cannot resolve " + host + ": " +
                                ::gai_strerror(rc));
  }
  Target target;
  std::memcpy(&target.address, found->ai_addr, found->ai_addrlen);
  target.length = found->ai_addrlen;
  ::freeaddrinfo(found);
  return target;
}

std::uint64_t defaultBurst(std::uint64_t bytesPerSecond, std::uint64_t burstBytes) {
  if (burstBytes != 0) return burstBytes;
  return std::max<std::uint64_t>(bytesPerSecond / 50, 1024);
}

int pollTimeout(std::optional<Clock::time_point> deadline, Clock::time_point now) {
  if (!deadline) return -1;
  if (*deadline <= now) return 0;
  // Round up so that the loop never wakes just before a deadline and spins on a 0 timeout.
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now).count();
  return static_cast<int>(std::min<long long>(wait, 60'000));
}

void earliest(std::optional<Clock::time_point>& deadline, Clock::time_point candidate) {
  if (!deadline || candidate < *deadline) deadline = candidate;
}

}  // namespace

/// What the controlling threads set and the link's thread applies. Guarded by Shared::mutex.
struct Link::Settings {
  Target target;
  std::chrono::milliseconds latency{0};
  std::uint64_t bytesPerSecond = 0;
  std::uint64_t burstBytes = 1024;
  bool bandwidthChanged = true;
  bool down = false;
  int partitions = 0;
  std::uint64_t cutRequests = 0;  // cut() calls so far
  std::chrono::milliseconds cutInterval{0};
  bool cutScheduleChanged = false;
  std::chrono::milliseconds randomCutMean{0};
  std::uint64_t randomCutSeed = 0;
  bool randomCutsChanged = false;
  bool resetCounters = false;
};

struct AtomicDirection {
  std::atomic<std::uint64_t> bytesForwarded{0};
  std::atomic<std::uint64_t> bufferedBytes{0};
  std::atomic<std::uint64_t> peakBufferedBytes{0};
};

/// What both sides of the link see: the settings, the handshake between a setter and the
/// thread, the wake pipe and the counters (written by the link's thread only).
struct Link::Shared {
  std::mutex mutex;
  std::condition_variable applied;
  Settings settings;
  std::uint64_t requested = 0;    // generation of the latest settings change
  std::uint64_t appliedUpTo = 0;  // generation the thread has applied
  bool stopping = false;
  Fd wakeRead, wakeWrite;

  AtomicDirection toTarget, fromTarget;
  std::atomic<std::uint64_t> connectionsAccepted{0}, connectionsRefused{0}, connectFailures{0},
      cuts{0}, connectionsCut{0}, openConnections{0};

  void wake() const {
    const char byte = 0;
    // A full pipe already holds a wake-up; nothing else can go wrong that matters here.
    [[maybe_unused]] const auto written = ::write(wakeWrite.get(), &byte, 1);
  }
};

/// The link's thread and everything only it touches: the listener and the connections.
class Link::Worker {
 public:
  Worker(Shared& shared, Fd listener, std::size_t bufferLimit)
      : m_shared(shared), m_listener(std::move(listener)), m_bufferLimit(bufferLimit) {}

  ~Worker() { cutAll(false); }

  void run();

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point refilled;
  };

  struct Chunk {
    Clock::time_point release;
    std::vector<char> bytes;
    std::size_t offset = 0;
  };

  /// One direction of a connection.
  struct Pipe {
    std::deque<Chunk> queue;
    std::size_t buffered = 0;
    bool sourceEnded = false;  // read returned 0
    bool sinkShut = false;     // the end was passed on with shutdown(SHUT_WR)
    bool sinkBlocked = false;  // the last write would have blocked: wait for POLLOUT
    [[nodiscard]] bool done() const { return sinkShut; }
  };

  struct Connection {
    Fd client, server;
    bool connecting = true;
    bool failed = false;  // close both sides with a reset
    Pipe up;              // client -> server
    Pipe down;            // server -> client
  };

  struct Snapshot {
    std::chrono::milliseconds latency{0};
    std::uint64_t bytesPerSecond = 0;
    std::uint64_t burstBytes = 0;
    bool down = false;
    Target target;
  };

  void applySettings(Clock::time_point now);
  void cutAll(bool counted);
  void acceptAll();
  void readFrom(int source, Pipe& pipe, AtomicDirection& counters, Clock::time_point now,
                Connection& connection);
  void writeTo(int sink, Pipe& pipe, Bucket& bucket, AtomicDirection& counters,
               Clock::time_point now, Connection& connection);
  void finishConnect(Connection& connection);
  void close(Connection& connection);
  void refill(Bucket& bucket, Clock::time_point now) const;
  std::optional<Clock::time_point> nextDeadline(Clock::time_point now) const;
  void deadlineOf(const Pipe& pipe, const Bucket& bucket, Clock::time_point now,
                  std::optional<Clock::time_point>& deadline) const;
  void notePeak(AtomicDirection& counters, std::size_t buffered);

  Shared& m_shared;
  Fd m_listener;
  const std::size_t m_bufferLimit;
  std::vector<std::unique_ptr<Connection>> m_connections;
  Snapshot m_now;
  std::uint64_t m_cutRequestsSeen = 0;
  Bucket m_upBucket, m_downBucket;
  std::optional<Clock::time_point> m_nextScheduledCut;
  std::chrono::milliseconds m_cutInterval{0};
  std::optional<Clock::time_point> m_nextRandomCut;
  std::optional<Clock::time_point> m_listenerRestsUntil;
  std::mt19937_64 m_random;
  std::exponential_distribution<double> m_randomGap;
  std::vector<char> m_scratch = std::vector<char>(64 << 10);
};

void Link::Worker::run() {
  std::vector<pollfd> fds;
  while (true) {
    const auto now = Clock::now();
    {
      std::lock_guard lock(m_shared.mutex);
      if (m_shared.stopping) return;
      applySettings(now);
    }
    m_shared.applied.notify_all();

    fds.clear();
    fds.push_back({m_shared.wakeRead.get(), POLLIN, 0});
    if (m_listenerRestsUntil && *m_listenerRestsUntil <= now) m_listenerRestsUntil.reset();
    fds.push_back({m_listenerRestsUntil ? -1 : m_listener.get(), POLLIN, 0});
    for (const auto& connection : m_connections) {
      // An fd with nothing to wait for is left out (fd -1): poll would still report its
      // POLLHUP, and the loop would spin on a peer that has gone while its buffer is full.
      short clientEvents = 0, serverEvents = 0;
      const bool up = connection->up.buffered < m_bufferLimit && !connection->up.sourceEnded;
      const bool down = connection->down.buffered < m_bufferLimit &&
                        !connection->down.sourceEnded && !connection->connecting;
      if (up) clientEvents |= POLLIN;
      if (connection->down.sinkBlocked) clientEvents |= POLLOUT;
      if (down) serverEvents |= POLLIN;
      if (connection->up.sinkBlocked || connection->connecting) serverEvents |= POLLOUT;
      fds.push_back({clientEvents ? connection->client.get() : -1, clientEvents, 0});
      fds.push_back({serverEvents ? connection->server.get() : -1, serverEvents, 0});
    }

    const int ready = ::poll(fds.data(), fds.size(), pollTimeout(nextDeadline(now), now));
    if (ready < 0) {
      if (errno == EINTR) continue;
      std::perror("link emulator: poll");
      std::abort();
    }
    if (fds[0].revents != 0) {
      char drain[64];
      while (::read(m_shared.wakeRead.get(), drain, sizeof drain) > 0) {
      }
    }

    const auto later = Clock::now();
    const std::size_t polled = (fds.size() - 2) / 2;
    for (std::size_t i = 0; i < m_connections.size(); ++i) {
      Connection& connection = *m_connections[i];
      if (i < polled) {
        const short client = fds[2 + 2 * i].revents;
        const short server = fds[3 + 2 * i].revents;
        if (connection.connecting && server != 0) finishConnect(connection);
        if (client & POLLOUT) connection.down.sinkBlocked = false;
        if (server & POLLOUT) connection.up.sinkBlocked = false;
        if (client & (POLLIN | POLLHUP | POLLERR)) {
          readFrom(connection.client.get(), connection.up, m_shared.toTarget, later, connection);
        }
        if (!connection.connecting && (server & (POLLIN | POLLHUP | POLLERR))) {
          readFrom(connection.server.get(), connection.down, m_shared.fromTarget, later,
                   connection);
        }
        // Errors on a socket we only wait to write to show up as a failed write below.
        if ((client | server) & (POLLHUP | POLLERR)) {
          connection.down.sinkBlocked = false;
          connection.up.sinkBlocked = false;
        }
      }
      if (!connection.connecting) {
        writeTo(connection.server.get(), connection.up, m_upBucket, m_shared.toTarget, later,
                connection);
        writeTo(connection.client.get(), connection.down, m_downBucket, m_shared.fromTarget, later,
                connection);
      }
    }
    std::erase_if(m_connections, [this](const std::unique_ptr<Connection>& connection) {
      if (connection->failed || (connection->up.done() && connection->down.done())) {
        close(*connection);
        return true;
      }
      return false;
    });
    if (fds[1].revents != 0) acceptAll();
  }
}

// Runs under the lock: takes in what the setters changed, and runs the cuts that are due.
void Link::Worker::applySettings(Clock::time_point now) {
  Settings& settings = m_shared.settings;
  m_now.latency = settings.latency;
  m_now.target = settings.target;
  m_now.down = settings.down || settings.partitions > 0;
  if (settings.bandwidthChanged) {
    settings.bandwidthChanged = false;
    m_now.bytesPerSecond = settings.bytesPerSecond;
    m_now.burstBytes = settings.burstBytes;
    for (Bucket* bucket : {&m_upBucket, &m_downBucket}) {
      bucket->tokens = static_cast<double>(m_now.burstBytes);
      bucket->refilled = now;
    }
  }
  if (settings.cutScheduleChanged) {
    settings.cutScheduleChanged = false;
    m_cutInterval = settings.cutInterval;
    m_nextScheduledCut.reset();
    if (m_cutInterval.count() > 0) m_nextScheduledCut = now + m_cutInterval;
  }
  if (settings.randomCutsChanged) {
    settings.randomCutsChanged = false;
    m_nextRandomCut.reset();
    if (settings.randomCutMean.count() > 0) {
      m_random.seed(settings.randomCutSeed);
      m_randomGap = std::exponential_distribution<double>(
          1.0 / static_cast<double>(settings.randomCutMean.count()));
      m_nextRandomCut =
          now + std::chrono::microseconds(std::llround(m_randomGap(m_random) * 1000.0));
    }
  }

  while (m_cutRequestsSeen < settings.cutRequests) {
    ++m_cutRequestsSeen;
    cutAll(true);
  }
  if (m_nextScheduledCut && *m_nextScheduledCut <= now) {
    cutAll(true);
    // A late wake-up does not bunch up cuts: the next one is an interval after this one.
    *m_nextScheduledCut += m_cutInterval;
    if (*m_nextScheduledCut <= now) *m_nextScheduledCut = now + m_cutInterval;
  }
  // Random cuts keep to their drawn times, so a seed gives the same count over a duration.
  while (m_nextRandomCut && *m_nextRandomCut <= now) {
    cutAll(true);
    *m_nextRandomCut += std::chrono::microseconds(std::llround(m_randomGap(m_random) * 1000.0));
  }
  if (m_now.down) cutAll(false);

  if (settings.resetCounters) {
    settings.resetCounters = false;
    for (AtomicDirection* direction : {&m_shared.toTarget, &m_shared.fromTarget}) {
      direction->bytesForwarded = 0;
      direction->peakBufferedBytes = 0;
    }
    for (const auto& connection : m_connections) {
      notePeak(m_shared.toTarget, connection->up.buffered);
      notePeak(m_shared.fromTarget, connection->down.buffered);
    }
    for (auto* counter : {&m_shared.connectionsAccepted, &m_shared.connectionsRefused,
                          &m_shared.connectFailures, &m_shared.cuts, &m_shared.connectionsCut}) {
      *counter = 0;
    }
  }
  m_shared.appliedUpTo = m_shared.requested;
}

void Link::Worker::cutAll(bool counted) {
  if (counted) ++m_shared.cuts;
  for (const auto& connection : m_connections) {
    connection->failed = true;
    close(*connection);
    ++m_shared.connectionsCut;
  }
  m_connections.clear();
}

void Link::Worker::close(Connection& connection) {
  m_shared.toTarget.bufferedBytes -= connection.up.buffered;
  m_shared.fromTarget.bufferedBytes -= connection.down.buffered;
  connection.up = Pipe{};
  connection.down = Pipe{};
  if (connection.failed) {
    connection.client.abort();
    connection.server.abort();
  } else {
    connection.client.reset();
    connection.server.reset();
  }
  --m_shared.openConnections;
}

void Link::Worker::acceptAll() {
  while (true) {
    Fd client(::accept(m_listener.get(), nullptr, nullptr));
    if (!client.valid()) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // EAGAIN: nobody else waiting. Out of descriptors (EMFILE and the like): the peers wait
      // in the backlog and the listener rests a moment, or poll would report it ready at once.
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        m_listenerRestsUntil = Clock::now() + std::chrono::milliseconds(100);
      }
      return;
    }
    if (m_now.down) {
      ++m_shared.connectionsRefused;
      client.abort();
      continue;
    }
    ++m_shared.connectionsAccepted;
    auto connection = std::make_unique<Connection>();
    setNonBlocking(client.get());
    setNoDelay(client.get());
    connection->client = std::move(client);
    const auto& target = m_now.target;
    connection->server = Fd(::socket(target.address.ss_family, SOCK_STREAM, 0));
    ++m_shared.openConnections;
    if (!connection->server.valid()) {
      ++m_shared.connectFailures;
      connection->failed = true;
      close(*connection);
      continue;
    }
    setNonBlocking(connection->server.get());
    setNoDelay(connection->server.get());
    int rc;
    do {
      rc = ::connect(connection->server.get(), reinterpret_cast<const sockaddr*>(&target.address),
                     target.length);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
      connection->connecting = false;
    } else if (errno != EINPROGRESS) {
      ++m_shared.connectFailures;
      connection->failed = true;
      close(*connection);
      continue;
    }
    m_connections.push_back(std::move(connection));
  }
}

void Link::Worker::finishConnect(Connection& connection) {
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(connection.server.get(), SOL_SOCKET, SO_ERROR, &error, &length) < 0) {
    error = errno;
  }
  if (error == EINPROGRESS || error == EALREADY) return;
  if (error != 0) {
    ++m_shared.connectFailures;
    connection.failed = true;
    return;
  }
  connection.connecting = false;
}

void Link::Worker::notePeak(AtomicDirection& counters, std::size_t buffered) {
  if (buffered > counters.peakBufferedBytes.load(std::memory_order_relaxed)) {
    counters.peakBufferedBytes = buffered;
  }
}

void Link::Worker::readFrom(int source, Pipe& pipe, AtomicDirection& counters,
                            Clock::time_point now, Connection& connection) {
  while (!connection.failed && !pipe.sourceEnded && pipe.buffered < m_bufferLimit) {
    const std::size_t room = std::min(m_scratch.size(), m_bufferLimit - pipe.buffered);
    const ssize_t got = ::recv(source, m_scratch.data(), room, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      connection.failed = true;  // a reset from one side is passed on to the other
      return;
    }
    if (got == 0) {
      pipe.sourceEnded = true;
      return;
    }
    const auto size = static_cast<std::size_t>(got);
    pipe.queue.push_back(
        Chunk{now + m_now.latency, std::vector<char>(m_scratch.begin(), m_scratch.begin() + got)});
    pipe.buffered += size;
    counters.bufferedBytes += size;
    notePeak(counters, pipe.buffered);
  }
}

void Link::Worker::refill(Bucket& bucket, Clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
  bucket.refilled = now;
  bucket.tokens = std::min(static_cast<double>(m_now.burstBytes),
                           bucket.tokens + elapsed * static_cast<double>(m_now.bytesPerSecond));
}

void Link::Worker::writeTo(int sink, Pipe& pipe, Bucket& bucket, AtomicDirection& counters,
                           Clock::time_point now, Connection& connection) {
  const bool capped = m_now.bytesPerSecond > 0;
  while (!connection.failed && !pipe.sinkBlocked && !pipe.queue.empty()) {
    Chunk& chunk = pipe.queue.front();
    if (chunk.release > now) return;
    std::size_t size = chunk.bytes.size() - chunk.offset;
    if (capped) {
      refill(bucket, now);
      size = std::min(size, static_cast<std::size_t>(bucket.tokens));
      if (size == 0) return;
    }
    const ssize_t sent = ::send(sink, chunk.bytes.data() + chunk.offset, size, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pipe.sinkBlocked = true;
        return;
      }
      connection.failed = true;
      return;
    }
    const auto written = static_cast<std::size_t>(sent);
    if (capped) bucket.tokens -= static_cast<double>(written);
    chunk.offset += written;
    pipe.buffered -= written;
    counters.bufferedBytes -= written;
    counters.bytesForwarded += written;
    if (chunk.offset == chunk.bytes.size()) pipe.queue.pop_front();
  }
  if (!connection.failed && pipe.queue.empty() && pipe.sourceEnded && !pipe.sinkShut) {
    // Half-close: the sender has finished, so the receiver reads EOF once the bytes are out.
    ::shutdown(sink, SHUT_WR);
    pipe.sinkShut = true;
  }
}

void Link::Worker::deadlineOf(const Pipe& pipe, const Bucket& bucket, Clock::time_point now,
                              std::optional<Clock::time_point>& deadline) const {
  if (pipe.sinkBlocked || pipe.queue.empty()) return;
  const Chunk& chunk = pipe.queue.front();
  if (chunk.release > now) {
    earliest(deadline, chunk.release);
    return;
  }
  if (m_now.bytesPerSecond == 0) {
    earliest(deadline, now);  // due since the last write pass: write it at once
    return;
  }
  // Wait until a worthwhile write fits: the rest of the chunk or a full bucket.
  const double wanted = static_cast<double>(
      std::min<std::uint64_t>(chunk.bytes.size() - chunk.offset, m_now.burstBytes));
  Bucket projected = bucket;
  refill(projected, now);
  const double missing = wanted - projected.tokens;
  if (missing <= 0) {
    earliest(deadline, now);
    return;
  }
  const double seconds = missing / static_cast<double>(m_now.bytesPerSecond);
  earliest(deadline,
           now + std::chrono::ceil<Clock::duration>(std::chrono::duration<double>(seconds)));
}

std::optional<Clock::time_point> Link::Worker::nextDeadline(Clock::time_point now) const {
  std::optional<Clock::time_point> deadline;
  if (m_nextScheduledCut) earliest(deadline, *m_nextScheduledCut);
  if (m_nextRandomCut) earliest(deadline, *m_nextRandomCut);
  if (m_listenerRestsUntil) earliest(deadline, *m_listenerRestsUntil);
  for (const auto& connection : m_connections) {
    if (connection->connecting) continue;
    deadlineOf(connection->up, m_upBucket, now, deadline);
    deadlineOf(connection->down, m_downBucket, now, deadline);
  }
  return deadline;
}

// --- Link ---------------------------------------------------------------------------------

Link::Link(const LinkOptions& options) : m_shared(std::make_unique<Shared>()) {
  if (options.bufferLimit == 0) {
    throw std::invalid_argument("link emulator: bufferLimit must be positive");
  }
  Settings& settings = m_shared->settings;
  settings.target = resolve(options.targetHost, options.targetPort);
  settings.latency = options.latency;
  settings.bytesPerSecond = options.bytesPerSecond;
  settings.burstBytes = defaultBurst(options.bytesPerSecond, options.burstBytes);

  int pipeFds[2];
  if (::pipe(pipeFds) < 0) throwErrno("pipe");
  m_shared->wakeRead = Fd(pipeFds[0]);
  m_shared->wakeWrite = Fd(pipeFds[1]);
  setNonBlocking(pipeFds[0]);
  setNonBlocking(pipeFds[1]);

  Fd listener(::socket(AF_INET, SOCK_STREAM, 0));
  if (!listener.valid()) throwErrno("socket");
  const int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
    throwErrno("bind");
  }
  if (::listen(listener.get(), 128) < 0) throwErrno("listen");
  socklen_t length = sizeof address;
  if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    throwErrno("getsockname");
  }
  m_port = ntohs(address.sin_port);
  setNonBlocking(listener.get());

  m_worker = std::make_unique<Worker>(*m_shared, std::move(listener), options.bufferLimit);
  m_thread = std::thread([this] { m_worker->run(); });
}

Link::~Link() {
  {
    std::lock_guard lock(m_shared->mutex);
    m_shared->stopping = true;
  }
  m_shared->wake();
  m_thread.join();
  m_worker.reset();  // resets the open connections
}

template <typename Change>
void Link::update(Change&& change) {
  std::unique_lock lock(m_shared->mutex);
  change(m_shared->settings);
  const std::uint64_t generation = ++m_shared->requested;
  m_shared->wake();
  m_shared->applied.wait(lock, [&] { return m_shared->appliedUpTo >= generation; });
}

void Link::setTarget(const std::string& host, std::uint16_t port) {
  Target target = resolve(host, port);
  update([&](Settings& settings) { settings.target = target; });
}

void Link::setLatency(std::chrono::milliseconds oneWay) {
  update([&](Settings& settings) { settings.latency = std::max(oneWay, {}); });
}

void Link::setBandwidth(std::uint64_t bytesPerSecond, std::uint64_t burstBytes) {
  update([&](Settings& settings) {
    settings.bytesPerSecond = bytesPerSecond;
    settings.burstBytes = defaultBurst(bytesPerSecond, burstBytes);
    settings.bandwidthChanged = true;
  });
}

void Link::cut() {
  update([](Settings& settings) { ++settings.cutRequests; });
}

void Link::setDown(bool down) {
  update([&](Settings& settings) { settings.down = down; });
}

bool Link::isDown() const {
  std::lock_guard lock(m_shared->mutex);
  return m_shared->settings.down || m_shared->settings.partitions > 0;
}

void Link::setPartitioned(int delta) {
  update([&](Settings& settings) { settings.partitions += delta; });
}

void Link::setCutSchedule(std::chrono::milliseconds interval) {
  update([&](Settings& settings) {
    settings.cutInterval = std::max(interval, {});
    settings.cutScheduleChanged = true;
  });
}

void Link::setRandomCuts(std::chrono::milliseconds meanInterval, std::uint64_t seed) {
  update([&](Settings& settings) {
    settings.randomCutMean = std::max(meanInterval, {});
    settings.randomCutSeed = seed;
    settings.randomCutsChanged = true;
  });
}

LinkCounters Link::counters() const {
  const Shared& shared = *m_shared;
  const auto direction = [](const AtomicDirection& from) {
    return DirectionCounters{from.bytesForwarded.load(), from.bufferedBytes.load(),
                             from.peakBufferedBytes.load()};
  };
  LinkCounters counters;
  counters.toTarget = direction(shared.toTarget);
  counters.fromTarget = direction(shared.fromTarget);
  counters.connectionsAccepted = shared.connectionsAccepted;
  counters.connectionsRefused = shared.connectionsRefused;
  counters.connectFailures = shared.connectFailures;
  counters.cuts = shared.cuts;
  counters.connectionsCut = shared.connectionsCut;
  counters.openConnections = shared.openConnections;
  return counters;
}

void Link::resetCounters() {
  update([](Settings& settings) { settings.resetCounters = true; });
}

// --- LinkEmulator -------------------------------------------------------------------------

LinkEmulator::~LinkEmulator() = default;

Link& LinkEmulator::addLink(const LinkOptions& options) {
  auto link = std::make_unique<Link>(options);
  std::lock_guard lock(m_mutex);
  m_links.push_back(std::move(link));
  return *m_links.back();
}

Link& LinkEmulator::addLink(std::uint16_t targetPort) {
  LinkOptions options;
  options.targetPort = targetPort;
  return addLink(options);
}

void LinkEmulator::partition(const std::string& name, const std::vector<Link*>& links) {
  std::lock_guard lock(m_mutex);
  for (Link* link : links) {
    const bool ours = std::any_of(m_links.begin(), m_links.end(),
                                  [link](const auto& owned) { return owned.get() == link; });
    if (!ours) throw std::invalid_argument("link emulator: partition of a link not made here");
  }
  // Take the new set down before healing the old one, so a link in both never comes up.
  for (Link* link : links) link->setPartitioned(+1);
  const auto old = m_partitions.find(name);
  if (old != m_partitions.end()) {
    for (Link* link : old->second) link->setPartitioned(-1);
  }
  m_partitions[name] = links;
}

void LinkEmulator::heal(const std::string& name) {
  std::lock_guard lock(m_mutex);
  const auto found = m_partitions.find(name);
  if (found == m_partitions.end()) return;
  for (Link* link : found->second) link->setPartitioned(-1);
  m_partitions.erase(found);
}

void LinkEmulator::heal() {
  std::lock_guard lock(m_mutex);
  for (const auto& [name, links] : m_partitions) {
    for (Link* link : links) link->setPartitioned(-1);
  }
  m_partitions.clear();
}

}  // namespace fieldsync::testing
