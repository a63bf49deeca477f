#include "node/beacon.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
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
/// A key unheard for this long can be forgotten: any beacon it sent is stale by then, so
/// forgetting its newest sentAt lets no replay through.
constexpr auto FORGET_AFTER = std::chrono::seconds(2 * protocol::BEACON_MAX_SKEW_SECONDS);

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
  Impl(const protocol::SecretKey& identity, BeaconOptions wanted, PeerSeen peerSeen,
       BeaconLog logLine)
      : key(protocol::SecretKey::fromSeed(identity.seed())),
        publicKey(key.publicKey()),
        options(std::move(wanted)),
        onPeerSeen(std::move(peerSeen)),
        log(std::move(logLine)) {
    if (options.announcePort == 0) throw Error("beacon: no TCP port to announce (port 0)");
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

  void send() {
    const auto datagram = protocol::encodeBeacon(key, options.announcePort, unixNow());
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
      const auto beacon = protocol::decodeBeacon(
          std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(length)),
          unixNow());
      if (!beacon || beacon->key == publicKey || !onPeerSeen) continue;
      if (!admit(*beacon)) continue;
      std::array<char, INET_ADDRSTRLEN> ip{};
      if (::inet_ntop(AF_INET, &from.sin_addr, ip.data(), ip.size()) == nullptr) continue;
      const std::string address =
          "tcp://" + std::string(ip.data()) + ":" + std::to_string(beacon->port);
      try {
        onPeerSeen(beacon->key, address);
      } catch (const std::exception& e) {
        report(LogLevel::Error,
               "beacon: handling " + beacon->key.hex() + " at " + address + " failed: " + e.what());
      }
    }
  }

  /// Whether a valid beacon of another key goes to onPeerSeen: newer than the last one of its
  /// key, and the key's last call long enough ago. Remembers it.
  bool admit(const protocol::Beacon& beacon) {
    const auto now = Clock::now();
    auto seen = keys.find(beacon.key);
    if (seen == keys.end()) {
      makeRoom(now);
      keys.emplace(beacon.key, Seen{beacon.sentAt, now, now});
      return true;
    }
    if (beacon.sentAt <= seen->second.newestSentAt) return false;  // a replay or a duplicate
    seen->second.newestSentAt = beacon.sentAt;
    seen->second.lastHeard = now;
    if (now - seen->second.lastCall < options.minCallbackInterval) return false;
    seen->second.lastCall = now;
    return true;
  }

  void makeRoom(Clock::time_point now) {
    if (keys.size() < std::max<std::size_t>(options.maxTrackedKeys, 1)) return;
    std::erase_if(keys,
                  [&](const auto& entry) { return now - entry.second.lastHeard > FORGET_AFTER; });
    if (keys.size() < std::max<std::size_t>(options.maxTrackedKeys, 1)) return;
    keys.erase(std::min_element(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
      return a.second.lastHeard < b.second.lastHeard;
    }));
  }

  void report(LogLevel level, const std::string& line) {
    if (!log) return;
    try {
      log(level, line);
    } catch (...) {  // a log that fails has nowhere to report to
    }
  }

  struct Seen {
    std::int64_t newestSentAt;
    Clock::time_point lastHeard;
    Clock::time_point lastCall;
  };

  const protocol::SecretKey key;  // a copy: signed with on this thread only
  const protocol::PublicKey publicKey;
  const BeaconOptions options;
  const PeerSeen onPeerSeen;
  const BeaconLog log;
  sockaddr_in destination{};
  std::uint16_t port = 0;
  Fd socket;
  Fd wakeRead;
  Fd wakeWrite;
  // Used by the thread only.
  std::map<protocol::PublicKey, Seen> keys;
  int lastSendFailure = 0;
  std::thread thread;  // last: starts when everything it uses is ready
};

Beacon::Beacon(const protocol::SecretKey& identity, BeaconOptions options, PeerSeen onPeerSeen,
               BeaconLog log) {
  if (!options.enabled) return;
  m_impl =
      std::make_unique<Impl>(identity, std::move(options), std::move(onPeerSeen), std::move(log));
}

Beacon::~Beacon() = default;

std::uint16_t Beacon::udpPort() const { return m_impl ? m_impl->port : 0; }

bool updateListedPeerAddress(store::Archive& archive, const protocol::PublicKey& key,
                             const std::string& address) {
  std::optional<store::PeerRecord> peer;
  {
    const auto txn = archive.beginRead();  // ended before write(), as Archive requires
    peer = store::findPeerByKey(txn, key);
  }
  if (!peer || peer->address == address) return false;
  bool changed = false;
  archive.write([&](store::WriteTxn& txn) {
    changed = false;
    store::PeerRecord record = *peer;
    record.address = address;
    // Read again inside the batch: the peer may have been removed or have synced since the read
    // above. updatePeerState rereads it under the write lock (and rewrites it as it is); its
    // current state goes into the record. Renamed meanwhile: putPeer refuses (KeyTaken).
    if (!store::updatePeerState(txn, key, [&](store::PeerState& state) { record.state = state; }))
      return;
    changed = store::putPeer(txn, record, store::IfNameListed::Replace).ok();
  });
  return changed;
}

}  // namespace fieldsync::node
