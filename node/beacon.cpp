#include "node/beacon.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "protocol/beacon.h"
#include "store/peers.h"

namespace fieldsync::node {
namespace {

using Clock = std::chrono::steady_clock;

/// At most this many datagrams are read per wake-up, so a flood cannot hold off sending.
constexpr int MAX_DATAGRAMS_PER_WAKE = 64;
/// A nonce accepted this long ago can be forgotten: its beacon is stale everywhere by then (a
/// window and the skew on both sides), so forgetting it lets no replay through.
constexpr auto FORGET_AFTER = std::chrono::seconds(protocol::BEACON_WINDOW_SECONDS +
                                                   2 * protocol::BEACON_MAX_SKEW_SECONDS + 60);

std::string errnoText(std::string_view call, int errnum) {
  return std::string(call) + ": " + std::strerror(errnum);
}

Error systemError(std::string_view call) {
  const int errnum = errno;
  const Action action =
      errnum == EMFILE || errnum == ENFILE || errnum == ENOBUFS || errnum == ENOMEM
          ? Action::BackOff
          : Action::Fail;
  return Error(errnoText(call, errnum), action);
}

/// A file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(m_fd, other.m_fd);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const { return m_fd; }

 private:
  int m_fd = -1;
};

void enable(int fd, int level, int option, std::string_view name) {
  const int on = 1;
  if (::setsockopt(fd, level, option, &on, sizeof on) != 0)
    throw systemError("setsockopt(" + std::string(name) + ")");
}

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct Beacon::Impl {
  Impl(const protocol::SecretKey& identity, BeaconOptions wanted, ListedPeers peers,
       PeerSeen peerSeen, BeaconLog logLine)
      : curveKey(identity.curveSecretKey()),
        options(std::move(wanted)),
        listedPeers(std::move(peers)),
        onPeerSeen(std::move(peerSeen)),
        log(std::move(logLine)) {
    if (options.announce && options.announcePort == 0)
      throw Error("beacon: no TCP port to announce (port 0)");
    if (options.interval <= std::chrono::milliseconds::zero())
      throw Error("beacon: the interval must be positive");
    destination.sin_family = AF_INET;
    if (::inet_pton(AF_INET, options.broadcastAddress.c_str(), &destination.sin_addr) != 1)
      throw Error("beacon: not an IPv4 address: \"" + options.broadcastAddress + "\"");

    socket = Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (socket.get() < 0) throw systemError("socket(AF_INET, SOCK_DGRAM)");
    enable(socket.get(), SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR");
    enable(socket.get(), SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT");
    enable(socket.get(), SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST");
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_ANY);
    any.sin_port = htons(options.udpPort);
    if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0)
      throw systemError("bind(udp port " + std::to_string(options.udpPort) + ")");
    sockaddr_in bound{};
    socklen_t length = sizeof bound;
    if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&bound), &length) != 0)
      throw systemError("getsockname");
    port = ntohs(bound.sin_port);
    destination.sin_port = htons(port);

    int pipeEnds[2];
    if (::pipe2(pipeEnds, O_NONBLOCK | O_CLOEXEC) != 0) throw systemError("pipe2");
    wakeRead = Fd(pipeEnds[0]);
    wakeWrite = Fd(pipeEnds[1]);

    thread = std::thread([this] { run(); });  // last: everything it uses is ready
  }

  ~Impl() {
    const char stop = 1;
    // A full pipe already holds a wake-up; the thread ends either way.
    [[maybe_unused]] const auto written = ::write(wakeWrite.get(), &stop, 1);
    thread.join();
  }

  void run() {
    auto nextSend = Clock::now();
    while (true) {
      auto now = Clock::now();
      if (now >= nextSend) {
        refreshPeers();
        send();
        nextSend = now + options.interval;
      }
      // At most a minute at a time, which poll's int of milliseconds always holds.
      const auto wait = std::clamp<std::int64_t>(
          std::chrono::ceil<std::chrono::milliseconds>(nextSend - now).count(), 0, 60'000);
      std::array<pollfd, 2> fds{{{socket.get(), POLLIN, 0}, {wakeRead.get(), POLLIN, 0}}};
      const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(wait));
      if (ready < 0 && errno != EINTR) {
        report(LogLevel::Error, errnoText("poll", errno));
        return;  // cannot happen with valid descriptors; do not spin
      }
      if (fds[1].revents != 0) return;
      if (fds[0].revents != 0) receive();
    }
  }

  /// Reads the listed peers again; derives the pair keys of new ones (an X25519 each) and
  /// forgets those of peers no longer listed. A key that is no usable point gets none.
  void refreshPeers() {
    if (!listedPeers) return;
    std::vector<protocol::PublicKey> keys;
    try {
      keys = listedPeers();
    } catch (const std::exception& e) {
      report(LogLevel::Error, std::string("beacon: reading the listed peers failed: ") + e.what() +
                                  " (the last list is kept)");
      return;
    }
    std::map<protocol::PublicKey, std::optional<protocol::BeaconPairKey>> derived;
    std::vector<protocol::BeaconPairKey> ordered;
    for (const auto& peer : keys) {
      if (derived.contains(peer)) continue;  // listed twice
      auto known = pairKeys.find(peer);
      auto pairKey = known != pairKeys.end() ? std::move(known->second)
                                             : protocol::BeaconPairKey::derive(curveKey, peer);
      if (pairKey) ordered.push_back(*pairKey);
      derived.emplace(peer, std::move(pairKey));
    }
    pairKeys = std::move(derived);
    listed = std::move(ordered);
    std::erase_if(lastCall, [&](const auto& entry) { return !pairKeys.contains(entry.first); });
  }

  void send() {
    if (!options.announce || listed.empty()) return;
    // Up to BEACON_TAG_SLOTS peers per beacon; more are named in turn, from where the last
    // beacon stopped.
    std::vector<protocol::BeaconPairKey> named;
    if (listed.size() <= protocol::BEACON_TAG_SLOTS) {
      named = listed;
    } else {
      for (std::size_t i = 0; i < protocol::BEACON_TAG_SLOTS; ++i)
        named.push_back(listed[(nextNamed + i) % listed.size()]);
      nextNamed = (nextNamed + protocol::BEACON_TAG_SLOTS) % listed.size();
    }
    const auto datagram = protocol::encodeBeacon(named, options.announcePort, unixNow());
    const auto sent = ::sendto(socket.get(), datagram.data(), datagram.size(), 0,
                               reinterpret_cast<const sockaddr*>(&destination), sizeof destination);
    const int failure = sent < 0 ? errno : 0;
    if (failure != lastSendFailure && failure != 0)
      report(LogLevel::Warn,
             "beacon: " + errnoText("sendto(" + options.broadcastAddress + ")", failure) +
                 " (will try again every interval)");
    else if (failure == 0 && lastSendFailure != 0)
      report(LogLevel::Info, "beacon: sending to " + options.broadcastAddress + " again");
    lastSendFailure = failure;
  }

  void receive() {
    std::array<std::uint8_t, MAX_BEACON_DATAGRAM> buffer;
    for (int i = 0; i < MAX_DATAGRAMS_PER_WAKE; ++i) {
      sockaddr_in from{};
      socklen_t fromLength = sizeof from;
      // MSG_TRUNC: the datagram's real length, so an oversized one is seen and dropped.
      const auto length = ::recvfrom(socket.get(), buffer.data(), buffer.size(), MSG_TRUNC,
                                     reinterpret_cast<sockaddr*>(&from), &fromLength);
      if (length < 0) return;  // EAGAIN: all read; anything else: try again at the next wake
      if (static_cast<std::size_t>(length) > buffer.size() || from.sin_family != AF_INET) continue;
      if (!onPeerSeen || listed.empty()) continue;
      const std::span<const std::uint8_t> bytes(buffer.data(), static_cast<std::size_t>(length));
      const auto now = unixNow();
      if (protocol::checkBeaconHeader(bytes, now) || !withinBudget()) continue;
      const auto beacon = protocol::decodeBeacon(bytes, listed, now);
      if (!beacon || !admit(*beacon)) continue;
      std::array<char, INET_ADDRSTRLEN> ip{};
      if (::inet_ntop(AF_INET, &from.sin_addr, ip.data(), ip.size()) == nullptr) continue;
      const std::string address =
          "tcp://" + std::string(ip.data()) + ":" + std::to_string(beacon->port);
      try {
        onPeerSeen(beacon->peer, address);
      } catch (const std::exception& e) {
        report(LogLevel::Error, "beacon: handling " + beacon->peer.hex() + " at " + address +
                                    " failed: " + e.what());
      }
    }
  }

  /// Whether one more datagram may have its tags checked: a token bucket of
  /// maxCheckedPerSecond a second, holding at most a second's worth.
  bool withinBudget() {
    const auto now = Clock::now();
    const double rate = static_cast<double>(options.maxCheckedPerSecond);
    const std::chrono::duration<double> elapsed = now - budgetRefilledAt;
    budget = std::min(rate, budget + elapsed.count() * rate);
    budgetRefilledAt = now;
    if (budget < 1.0) return false;
    budget -= 1.0;
    return true;
  }

  /// Whether a beacon of a listed peer goes to onPeerSeen: its nonce not seen before, and the
  /// peer's last call long enough ago. Remembers it.
  bool admit(const protocol::HeardBeacon& beacon) {
    const auto now = Clock::now();
    if (nonces.contains(beacon.nonce)) return false;  // a replay or a duplicate
    makeRoom(now);
    nonces.emplace(beacon.nonce, now);
    auto call = lastCall.find(beacon.peer);
    if (call != lastCall.end() && now - call->second < options.minCallbackInterval) return false;
    lastCall[beacon.peer] = now;
    return true;
  }

  void makeRoom(Clock::time_point now) {
    const std::size_t most = std::max<std::size_t>(options.maxTrackedNonces, 1);
    if (nonces.size() < most) return;
    std::erase_if(nonces, [&](const auto& entry) { return now - entry.second > FORGET_AFTER; });
    if (nonces.size() < most) return;
    nonces.erase(std::min_element(nonces.begin(), nonces.end(), [](const auto& a, const auto& b) {
      return a.second < b.second;
    }));
  }

  void report(LogLevel level, const std::string& line) {
    if (!log) return;
    try {
      log(level, line);
    } catch (...) {  // a log that fails has nowhere to report to
    }
  }

  const protocol::CurveSecretKey curveKey;  // the identity's, for the pair keys
  const BeaconOptions options;
  const ListedPeers listedPeers;
  const PeerSeen onPeerSeen;
  const BeaconLog log;
  sockaddr_in destination{};
  std::uint16_t port = 0;
  Fd socket;
  Fd wakeRead;
  Fd wakeWrite;
  // Used by the thread only.
  std::map<protocol::PublicKey, std::optional<protocol::BeaconPairKey>> pairKeys;
  std::vector<protocol::BeaconPairKey> listed;  // in the list's order, usable keys only
  std::size_t nextNamed = 0;                    // where the next beacon's peers start
  std::map<protocol::BeaconNonce, Clock::time_point> nonces;  // accepted, and when
  std::map<protocol::PublicKey, Clock::time_point> lastCall;
  double budget = static_cast<double>(options.maxCheckedPerSecond);  // starts full
  Clock::time_point budgetRefilledAt = Clock::now();
  int lastSendFailure = 0;
  std::thread thread;  // last: starts when everything it uses is ready
};

Beacon::Beacon(const protocol::SecretKey& identity, BeaconOptions options, ListedPeers listedPeers,
               PeerSeen onPeerSeen, BeaconLog log) {
  if (!options.enabled) return;
  m_impl = std::make_unique<Impl>(identity, std::move(options), std::move(listedPeers),
                                  std::move(onPeerSeen), std::move(log));
}

Beacon::~Beacon() = default;

std::uint16_t Beacon::udpPort() const { return m_impl ? m_impl->port : 0; }

bool announcesOnLan(std::string_view endpoint) {
  constexpr std::string_view SCHEME = "tcp://";
  if (!endpoint.starts_with(SCHEME)) return true;
  const auto colon = endpoint.rfind(':');
  if (colon < SCHEME.size()) return true;
  std::string host(endpoint.substr(SCHEME.size(), colon - SCHEME.size()));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::string lower = host;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "localhost") return false;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) != 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return false;
    return !(IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return true;
}

std::vector<protocol::PublicKey> listedPeerKeys(const store::Archive& archive) {
  std::vector<protocol::PublicKey> keys;
  for (const auto& peer : store::listPeers(archive.beginRead())) keys.push_back(peer.key);
  return keys;
}

LearnedAddresses::LearnedAddresses(std::chrono::milliseconds maxAge, std::size_t maxEntries)
    : m_maxAge(maxAge), m_maxEntries(std::max<std::size_t>(maxEntries, 1)) {}

bool LearnedAddresses::learn(const protocol::PublicKey& key, const std::string& address,
                             Clock::time_point now) {
  std::lock_guard lock(m_mutex);
  auto found = m_entries.find(key);
  if (found != m_entries.end()) {
    const bool news = found->second.address != address || now - found->second.learnedAt > m_maxAge;
    found->second = {address, now};
    return news;
  }
  if (m_entries.size() >= m_maxEntries) {
    std::erase_if(m_entries,
                  [&](const auto& entry) { return now - entry.second.learnedAt > m_maxAge; });
  }
  if (m_entries.size() >= m_maxEntries) {
    m_entries.erase(std::min_element(
        m_entries.begin(), m_entries.end(),
        [](const auto& a, const auto& b) { return a.second.learnedAt < b.second.learnedAt; }));
  }
  m_entries.emplace(key, Entry{address, now});
  return true;
}

std::optional<std::string> LearnedAddresses::find(const protocol::PublicKey& key,
                                                  Clock::time_point now) const {
  std::lock_guard lock(m_mutex);
  const auto found = m_entries.find(key);
  if (found == m_entries.end() || now - found->second.learnedAt > m_maxAge) return std::nullopt;
  return found->second.address;
}

std::size_t LearnedAddresses::size() const {
  std::lock_guard lock(m_mutex);
  return m_entries.size();
}

}  // namespace fieldsync::node
