// The link emulator on real sockets over loopback. Timing checks are lower bounds with wide
// upper bounds: a loaded machine makes things slower, never faster than the emulated link.
#include "support/link_emulator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>
#include <vector>

namespace fieldsync::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto WAIT = 3000ms;  // what "soon" may take on a loaded machine

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : m_fd(fd) {}
  Socket(Socket&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  Socket& operator=(Socket&& other) noexcept {
    if (this != &other) {
      if (m_fd >= 0) ::close(m_fd);
      m_fd = std::exchange(other.m_fd, -1);
    }
    return *this;
  }
  ~Socket() {
    if (m_fd >= 0) ::close(m_fd);
  }
  [[nodiscard]] int get() const { return m_fd; }
  [[nodiscard]] bool valid() const { return m_fd >= 0; }

 private:
  int m_fd = -1;
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return address;
}

/// A listening socket on 127.0.0.1 with a kernel-chosen port.
Socket listenLoopback(std::uint16_t& port, int receiveBuffer = 0) {
  Socket listener(::socket(AF_INET, SOCK_STREAM, 0));
  if (receiveBuffer > 0) {
    ::setsockopt(listener.get(), SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof receiveBuffer);
  }
  sockaddr_in address = loopback(0);
  EXPECT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(::listen(listener.get(), 16), 0);
  socklen_t length = sizeof address;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return listener;
}

/// A blocking client socket whose reads and writes give up after WAIT; invalid if connect
/// failed.
Socket connectTo(std::uint16_t port) {
  Socket socket(::socket(AF_INET, SOCK_STREAM, 0));
  timeval timeout{};
  timeout.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(WAIT).count();
  ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(socket.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  const sockaddr_in address = loopback(port);
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return Socket();
  }
  return socket;
}

std::optional<Socket> acceptWithin(const Socket& listener, std::chrono::milliseconds timeout) {
  pollfd entry{listener.get(), POLLIN, 0};
  if (::poll(&entry, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
  return Socket(::accept(listener.get(), nullptr, nullptr));
}

bool sendAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    data += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
}

bool receiveExact(int fd, char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t got = ::recv(fd, data, size, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    data += got;
    size -= static_cast<std::size_t>(got);
  }
  return true;
}

enum class ReadOutcome { Data, Closed, Nothing };  // Closed: EOF or a reset

ReadOutcome readWithin(int fd, std::chrono::milliseconds timeout) {
  pollfd entry{fd, POLLIN, 0};
  if (::poll(&entry, 1, static_cast<int>(timeout.count())) != 1) return ReadOutcome::Nothing;
  char byte;
  const ssize_t got = ::recv(fd, &byte, 1, MSG_DONTWAIT);
  if (got > 0) return ReadOutcome::Data;
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return ReadOutcome::Nothing;
  return ReadOutcome::Closed;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = WAIT) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::vector<char> randomBytes(std::size_t size, std::uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<char> bytes(size);
  for (char& byte : bytes) byte = static_cast<char>(random() & 0xff);
  return bytes;
}

/// Echoes every connection back, passing on half-close: an EOF read is answered with one.
class EchoServer {
 public:
  EchoServer() : m_listener(listenLoopback(m_port)) {
    m_acceptor = std::thread([this] { acceptLoop(); });
  }
  ~EchoServer() {
    m_stopping = true;
    m_acceptor.join();
    {
      std::lock_guard lock(m_mutex);
      for (const Socket& connection : m_connections) ::shutdown(connection.get(), SHUT_RDWR);
    }
    for (std::thread& echo : m_echoes) echo.join();
  }
  [[nodiscard]] std::uint16_t port() const { return m_port; }

 private:
  void acceptLoop() {
    while (!m_stopping) {
      std::optional<Socket> connection = acceptWithin(m_listener, 20ms);
      if (!connection || !connection->valid()) continue;
      std::lock_guard lock(m_mutex);
      const int fd = connection->get();
      m_connections.push_back(std::move(*connection));
      m_echoes.emplace_back([fd] {
        std::vector<char> buffer(16 << 10);
        while (true) {
          const ssize_t got = ::recv(fd, buffer.data(), buffer.size(), 0);
          if (got < 0 && errno == EINTR) continue;
          if (got <= 0) break;
          if (!sendAll(fd, buffer.data(), static_cast<std::size_t>(got))) break;
        }
        ::shutdown(fd, SHUT_WR);
      });
    }
  }

  std::uint16_t m_port = 0;
  Socket m_listener;
  std::atomic<bool> m_stopping{false};
  std::thread m_acceptor;
  std::mutex m_mutex;
  std::vector<Socket> m_connections;
  std::vector<std::thread> m_echoes;
};

/// Sends `message` through the port and expects it back within WAIT.
bool echoes(std::uint16_t port, const std::string& message = "ping") {
  Socket client = connectTo(port);
  if (!client.valid() || !sendAll(client.get(), message.data(), message.size())) return false;
  std::string back(message.size(), '\0');
  return receiveExact(client.get(), back.data(), back.size()) && back == message;
}

TEST(LinkEmulator, PassesBytesUnchangedBothWaysAndCountsThem) {
  EchoServer echo;
  LinkEmulator emulator;
  Link& link = emulator.addLink(echo.port());
  const std::vector<char> payload = randomBytes(4 << 20, 7);

  Socket client = connectTo(link.port());
  ASSERT_TRUE(client.valid());
  std::thread writer([&] {
    EXPECT_TRUE(sendAll(client.get(), payload.data(), payload.size()));
    ::shutdown(client.get(), SHUT_WR);  // the echo's EOF comes back through the link
  });
  std::vector<char> received;
  std::vector<char> buffer(64 << 10);
  while (true) {
    const ssize_t got = ::recv(client.get(), buffer.data(), buffer.size(), 0);
    if (got <= 0) {
      EXPECT_EQ(got, 0) << std::strerror(errno);
      break;
    }
    received.insert(received.end(), buffer.begin(), buffer.begin() + got);
  }
  writer.join();

  ASSERT_EQ(received.size(), payload.size());
  EXPECT_TRUE(received == payload);
  // The link counts a write once send() returns, which may be just after the peer read it.
  EXPECT_TRUE(eventually([&] { return link.counters().openConnections == 0; }));
  const LinkCounters counters = link.counters();
  EXPECT_EQ(counters.toTarget.bytesForwarded, payload.size());
  EXPECT_EQ(counters.fromTarget.bytesForwarded, payload.size());
  EXPECT_EQ(counters.toTarget.bufferedBytes, 0u);
  EXPECT_EQ(counters.connectionsAccepted, 1u);
  EXPECT_EQ(counters.cuts, 0u);

  link.resetCounters();
  EXPECT_EQ(link.counters().toTarget.bytesForwarded, 0u);
  EXPECT_EQ(link.counters().connectionsAccepted, 0u);
}

TEST(LinkEmulator, KeepsConcurrentConnectionsApart) {
  EchoServer echo;
  LinkEmulator emulator;
  Link& link = emulator.addLink(echo.port());
  std::vector<std::thread> clients;
  std::atomic<int> intact{0};
  for (std::uint32_t i = 0; i < 4; ++i) {
    clients.emplace_back([&, i] {
      const std::vector<char> payload = randomBytes(256 << 10, 100 + i);
      Socket client = connectTo(link.port());
      std::thread writer([&] { sendAll(client.get(), payload.data(), payload.size()); });
      std::vector<char> back(payload.size());
      const bool got = receiveExact(client.get(), back.data(), back.size());
      writer.join();
      if (got && back == payload) ++intact;
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(intact, 4);
  EXPECT_EQ(link.counters().connectionsAccepted, 4u);
  EXPECT_TRUE(eventually([&] {
    const LinkCounters counters = link.counters();
    return counters.toTarget.bytesForwarded == 4u * (256 << 10) &&
           counters.fromTarget.bytesForwarded == 4u * (256 << 10);
  }));
}

TEST(LinkEmulator, RoundTripTakesAtLeastTwiceTheOneWayLatency) {
  EchoServer echo;
  LinkEmulator emulator;
  LinkOptions options;
  options.targetPort = echo.port();
  options.latency = 100ms;
  Link& link = emulator.addLink(options);

  Socket client = connectTo(link.port());
  ASSERT_TRUE(client.valid());
  for (int round = 0; round < 3; ++round) {
    const auto start = Clock::now();
    char byte = static_cast<char>('a' + round);
    ASSERT_TRUE(sendAll(client.get(), &byte, 1));
    ASSERT_TRUE(receiveExact(client.get(), &byte, 1));
    EXPECT_EQ(byte, 'a' + round);
    const auto roundTrip = Clock::now() - start;
    EXPECT_GE(roundTrip, 200ms);
    EXPECT_LT(roundTrip, 2000ms);
  }

  link.setLatency(0ms);
  const auto start = Clock::now();
  char byte = 'z';
  ASSERT_TRUE(sendAll(client.get(), &byte, 1));
  ASSERT_TRUE(receiveExact(client.get(), &byte, 1));
  EXPECT_LT(Clock::now() - start, 190ms);  // anything under 2 x 100 ms shows it took effect
}

TEST(LinkEmulator, BandwidthCapMakesTransfersTakeAtLeastSizeOverRate) {
  EchoServer echo;
  LinkEmulator emulator;
  constexpr std::size_t SIZE = 100'000;
  constexpr std::uint64_t RATE = 100'000;  // bytes per second, each way
  constexpr std::uint64_t BURST = 4'000;
  LinkOptions options;
  options.targetPort = echo.port();
  options.bytesPerSecond = RATE;
  options.burstBytes = BURST;
  Link& link = emulator.addLink(options);
  const std::vector<char> payload = randomBytes(SIZE, 3);

  Socket client = connectTo(link.port());
  ASSERT_TRUE(client.valid());
  const auto start = Clock::now();
  std::thread writer([&] { EXPECT_TRUE(sendAll(client.get(), payload.data(), payload.size())); });
  std::vector<char> back(SIZE);
  EXPECT_TRUE(receiveExact(client.get(), back.data(), back.size()));
  const auto elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  writer.join();

  EXPECT_TRUE(back == payload);
  // Both directions run at RATE at once, so the echo takes about SIZE / RATE in all.
  const double expected = static_cast<double>(SIZE - BURST) / static_cast<double>(RATE);
  EXPECT_GE(elapsed, 0.95 * expected);
  EXPECT_LE(elapsed, 5.0 * static_cast<double>(SIZE) / static_cast<double>(RATE));
  EXPECT_TRUE(eventually([&] {
    const LinkCounters counters = link.counters();
    return counters.toTarget.bytesForwarded == SIZE && counters.fromTarget.bytesForwarded == SIZE;
  }));
}

TEST(LinkEmulator, CutClosesBothSidesAndLaterConnectionsWork) {
  std::uint16_t serverPort = 0;
  const Socket listener = listenLoopback(serverPort);
  LinkEmulator emulator;
  Link& link = emulator.addLink(serverPort);

  Socket client = connectTo(link.port());
  ASSERT_TRUE(client.valid());
  std::optional<Socket> server = acceptWithin(listener, WAIT);
  ASSERT_TRUE(server);
  ASSERT_TRUE(sendAll(client.get(), "x", 1));
  ASSERT_EQ(readWithin(server->get(), WAIT), ReadOutcome::Data);

  link.cut();
  EXPECT_EQ(readWithin(client.get(), WAIT), ReadOutcome::Closed);
  EXPECT_EQ(readWithin(server->get(), WAIT), ReadOutcome::Closed);
  EXPECT_EQ(link.counters().cuts, 1u);
  EXPECT_EQ(link.counters().connectionsCut, 1u);
  EXPECT_EQ(link.counters().openConnections, 0u);

  Socket again = connectTo(link.port());
  ASSERT_TRUE(again.valid());
  std::optional<Socket> serverAgain = acceptWithin(listener, WAIT);
  ASSERT_TRUE(serverAgain);
  ASSERT_TRUE(sendAll(again.get(), "y", 1));
  EXPECT_EQ(readWithin(serverAgain->get(), WAIT), ReadOutcome::Data);
  ASSERT_TRUE(sendAll(serverAgain->get(), "z", 1));
  EXPECT_EQ(readWithin(again.get(), WAIT), ReadOutcome::Data);
}

TEST(LinkEmulator, DownRefusesNewConnectionsAndUpRestoresThem) {
  std::uint16_t serverPort = 0;
  const Socket listener = listenLoopback(serverPort);
  LinkEmulator emulator;
  Link& link = emulator.addLink(serverPort);

  Socket open = connectTo(link.port());
  ASSERT_TRUE(acceptWithin(listener, WAIT));
  ASSERT_TRUE(eventually([&] { return link.counters().openConnections == 1; }));

  link.setDown(true);
  EXPECT_TRUE(link.isDown());
  EXPECT_EQ(readWithin(open.get(), WAIT), ReadOutcome::Closed);
  Socket refused = connectTo(link.port());
  if (refused.valid()) {  // the kernel may complete the handshake before the reset
    EXPECT_EQ(readWithin(refused.get(), WAIT), ReadOutcome::Closed);
  }
  EXPECT_FALSE(acceptWithin(listener, 300ms));  // nothing reached the target
  EXPECT_GE(link.counters().connectionsRefused, 1u);
  EXPECT_EQ(link.counters().connectionsCut, 1u);
  EXPECT_EQ(link.counters().cuts, 0u);  // going down is not a cut event

  link.setDown(false);
  EXPECT_FALSE(link.isDown());
  Socket restored = connectTo(link.port());
  ASSERT_TRUE(restored.valid());
  std::optional<Socket> server = acceptWithin(listener, WAIT);
  ASSERT_TRUE(server);
  ASSERT_TRUE(sendAll(restored.get(), "x", 1));
  EXPECT_EQ(readWithin(server->get(), WAIT), ReadOutcome::Data);
}

TEST(LinkEmulator, PartitionTakesLinksDownTogetherUntilHealed) {
  EchoServer echo;
  LinkEmulator emulator;
  Link& a = emulator.addLink(echo.port());
  Link& b = emulator.addLink(echo.port());
  Link& c = emulator.addLink(echo.port());

  emulator.partition("west", {&a, &b});
  EXPECT_TRUE(a.isDown());
  EXPECT_TRUE(b.isDown());
  EXPECT_FALSE(c.isDown());
  EXPECT_FALSE(echoes(a.port()));
  EXPECT_FALSE(echoes(b.port()));
  EXPECT_TRUE(echoes(c.port()));

  emulator.heal("west");
  EXPECT_TRUE(echoes(a.port()));
  EXPECT_TRUE(echoes(b.port()));
}

TEST(LinkEmulator, OverlappingPartitionsAndDownComposeUntilAllAreLifted) {
  EchoServer echo;
  LinkEmulator emulator;
  Link& a = emulator.addLink(echo.port());
  Link& b = emulator.addLink(echo.port());

  emulator.partition("one", {&a});
  emulator.partition("two", {&a, &b});
  emulator.heal("two");
  EXPECT_TRUE(a.isDown());  // "one" still holds it
  EXPECT_FALSE(b.isDown());

  a.setDown(true);
  emulator.heal();
  EXPECT_TRUE(a.isDown());  // down by its own setting
  a.setDown(false);
  EXPECT_FALSE(a.isDown());
  EXPECT_TRUE(echoes(a.port()));

  LinkEmulator other;
  Link& stranger = other.addLink(echo.port());
  EXPECT_THROW(emulator.partition("x", {&stranger}), std::invalid_argument);
}

TEST(LinkEmulator, CutScheduleCutsEveryIntervalUntilStopped) {
  EchoServer echo;
  LinkEmulator emulator;
  Link& link = emulator.addLink(echo.port());
  Socket client = connectTo(link.port());
  ASSERT_TRUE(echoes(link.port()));

  link.setCutSchedule(200ms);
  EXPECT_EQ(readWithin(client.get(), WAIT), ReadOutcome::Closed);
  std::this_thread::sleep_for(1000ms);
  const std::uint64_t cuts = link.counters().cuts;
  EXPECT_GE(cuts, 3u);  // five are due; a slow machine may run late, never early
  EXPECT_LE(cuts, 7u);

  link.setCutSchedule(0ms);
  link.resetCounters();
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(link.counters().cuts, 0u);
  EXPECT_TRUE(echoes(link.port()));
}

TEST(LinkEmulator, RandomCutsWithOneSeedHappenAsOftenOnTwoLinks) {
  EchoServer echo;
  LinkEmulator emulator;
  Link& a = emulator.addLink(echo.port());
  Link& b = emulator.addLink(echo.port());
  Socket client = connectTo(a.port());

  a.setRandomCuts(150ms, 42);
  b.setRandomCuts(150ms, 42);
  std::this_thread::sleep_for(1200ms);
  a.setRandomCuts(0ms, 0);
  b.setRandomCuts(0ms, 0);

  const std::uint64_t cutsA = a.counters().cuts;
  const std::uint64_t cutsB = b.counters().cuts;
  EXPECT_GE(cutsA, 2u);  // about eight are due
  EXPECT_LE(cutsA, 30u);
  // The same gaps over the same span: the counts differ only by cuts that fall within the
  // moments between the two links' starts and stops.
  EXPECT_LE(cutsA > cutsB ? cutsA - cutsB : cutsB - cutsA, 2u);
  EXPECT_EQ(readWithin(client.get(), WAIT), ReadOutcome::Closed);
}

TEST(LinkEmulator, StalledReceiverPushesBackInsteadOfGrowingTheBuffer) {
  constexpr std::size_t LIMIT = 64 << 10;
  std::uint16_t serverPort = 0;
  const Socket listener = listenLoopback(serverPort, 16 << 10);
  LinkEmulator emulator;
  LinkOptions options;
  options.targetPort = serverPort;
  options.bufferLimit = LIMIT;
  Link& link = emulator.addLink(options);

  Socket client = connectTo(link.port());
  ASSERT_TRUE(client.valid());
  std::optional<Socket> server = acceptWithin(listener, WAIT);
  ASSERT_TRUE(server);

  // Write without blocking until the writes stall for 300 ms: the receiver does not read.
  const std::vector<char> block = randomBytes(16 << 10, 9);
  std::size_t written = 0;
  const auto giveUp = Clock::now() + 5s;
  while (Clock::now() < giveUp && written < (256u << 20)) {
    const ssize_t sent = ::send(client.get(), block.data(), block.size(), MSG_DONTWAIT);
    if (sent > 0) {
      written += static_cast<std::size_t>(sent);
      continue;
    }
    ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) << std::strerror(errno);
    pollfd entry{client.get(), POLLOUT, 0};
    if (::poll(&entry, 1, 300) == 0) break;
  }
  ASSERT_LT(written, 256u << 20) << "the sender was never pushed back";
  ASSERT_LT(Clock::now(), giveUp) << "the sender was never pushed back";

  const LinkCounters stalled = link.counters();
  EXPECT_LE(stalled.toTarget.peakBufferedBytes, LIMIT);
  EXPECT_LE(stalled.toTarget.bufferedBytes, LIMIT);
  EXPECT_GT(stalled.toTarget.bufferedBytes, 0u);

  // Once the receiver reads, every byte arrives.
  std::vector<char> buffer(64 << 10);
  std::size_t received = 0;
  while (received < written) {
    const ssize_t got = ::recv(server->get(), buffer.data(), buffer.size(), 0);
    if (got <= 0) break;
    received += static_cast<std::size_t>(got);
  }
  EXPECT_EQ(received, written);
  EXPECT_TRUE(eventually([&] { return link.counters().toTarget.bytesForwarded == written; }));
  EXPECT_LE(link.counters().toTarget.peakBufferedBytes, LIMIT);
}

TEST(LinkEmulator, UnreachableTargetResetsTheClient) {
  std::uint16_t deadPort = 0;
  { const Socket closed = listenLoopback(deadPort); }
  LinkEmulator emulator;
  Link& link = emulator.addLink(deadPort);
  Socket client = connectTo(link.port());
  if (client.valid()) {
    EXPECT_EQ(readWithin(client.get(), WAIT), ReadOutcome::Closed);
  }
  EXPECT_TRUE(eventually([&] {
    const LinkCounters counters = link.counters();
    return counters.connectFailures == 1 && counters.openConnections == 0;
  }));
}

TEST(LinkEmulator, SetTargetSendsNewConnectionsElsewhere) {
  std::uint16_t firstPort = 0, secondPort = 0;
  const Socket first = listenLoopback(firstPort);
  const Socket second = listenLoopback(secondPort);
  LinkEmulator emulator;
  Link& link = emulator.addLink(firstPort);
  link.setTarget("127.0.0.1", secondPort);
  Socket client = connectTo(link.port());
  ASSERT_TRUE(client.valid());
  EXPECT_TRUE(acceptWithin(second, WAIT));
  EXPECT_FALSE(acceptWithin(first, 100ms));
}

TEST(LinkEmulator, DestroyingTheEmulatorClosesItsConnections) {
  EchoServer echo;
  Socket client;
  {
    LinkEmulator emulator;
    Link& link = emulator.addLink(echo.port());
    client = connectTo(link.port());
    ASSERT_TRUE(eventually([&] { return link.counters().openConnections == 1; }));
  }
  EXPECT_EQ(readWithin(client.get(), WAIT), ReadOutcome::Closed);
}

}  // namespace
}  // namespace fieldsync::testing
