#pragma once
// A TCP proxy for tests and benchmarks that behaves like a bad field link: it adds one-way
// latency, caps bandwidth, cuts connections on demand, on a schedule or at random, and takes
// links down alone or in named partitions. Tests drive it from code; benchmarks read its
// counters to measure bytes on the wire. Plain POSIX sockets and threads; it knows nothing of
// fieldsync, so any test or benchmark can put it between two processes or two sockets.
//
// Each Link listens on 127.0.0.1, on a port the kernel picks (port()), and forwards every
// connection it accepts to its target, both ways, byte for byte, half-close included.
//
// Threads: each Link runs one thread (a poll() loop over its connections, with timers for
// delayed bytes and token refills). Every public function may be called from any thread.
// A setter returns once the link's thread has taken the change in: after cut() or setDown(true)
// returns, the link's connections are closed; after setLatency() returns, bytes read from then
// on get the new delay (bytes already buffered keep theirs).
// Lifetime: a Link starts its thread in its constructor and stops and joins it in its
// destructor, closing every connection (peers see a reset). Links made by LinkEmulator live
// as long as the emulator; the references it hands out die with it. No global state.
// Memory: a connection buffers at most LinkOptions::bufferLimit bytes per direction; when that
// is full the link stops reading from the sender, so TCP pushes back on it.
// Errors: setup failures (socket, bind, listen, resolving the target) throw std::system_error
// or std::invalid_argument. Failures of a forwarded connection are the peers' to see: the
// connection is closed with a reset on both sides, as a dropped link would look.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fieldsync::testing {

struct LinkOptions {
  /// Where accepted connections are forwarded: a numeric address or a host name, resolved
  /// once when the link is made (and again by setTarget()).
  std::string targetHost = "127.0.0.1";
  std::uint16_t targetPort = 0;
  /// Delay of every chunk in each direction (a 600 ms round trip is 300 ms here).
  std::chrono::milliseconds latency{0};
  /// Bytes per second in each direction, shared by the link's connections; 0 is unlimited.
  /// Bytes wait out their latency, then leave at this rate: N bytes take latency + N / rate.
  std::uint64_t bytesPerSecond = 0;
  /// Token bucket depth: how many bytes may leave at once after a quiet spell. 0 picks
  /// max(bytesPerSecond / 50, 1024).
  std::uint64_t burstBytes = 0;
  /// At most this many bytes held per connection and direction (delayed or rate-limited);
  /// beyond it the sender is pushed back. The kernel's socket buffers come on top, so a sender
  /// may get a few MiB ahead of the far end; a small limit (16 KiB) makes a slow link's queue
  /// more like a modem's.
  std::size_t bufferLimit = std::size_t{1} << 20;
};

/// Counters of one direction of a link, summed over its connections.
struct DirectionCounters {
  std::uint64_t bytesForwarded = 0;     // written to the receiving side
  std::uint64_t bufferedBytes = 0;      // held by the link now (a gauge; reset leaves it)
  std::uint64_t peakBufferedBytes = 0;  // the most one connection held at once, <= bufferLimit
};

struct LinkCounters {
  DirectionCounters toTarget;             // from the connecting side to the target
  DirectionCounters fromTarget;           // from the target back
  std::uint64_t connectionsAccepted = 0;  // accepted while up (and forwarded or tried)
  std::uint64_t connectionsRefused = 0;   // accepted while down and reset at once
  std::uint64_t connectFailures = 0;      // the target refused or was unreachable
  std::uint64_t cuts = 0;                 // cut events: cut(), the schedule, random cuts
  std::uint64_t connectionsCut = 0;       // connections closed by cuts, setDown(true) or partitions
  std::uint64_t openConnections = 0;      // a gauge; reset leaves it
};

/// One emulated link: a listening port on loopback forwarding to one target.
class Link {
 public:
  /// Binds 127.0.0.1:0, resolves the target and starts the link's thread.
  /// Throws std::system_error if a socket cannot be made, std::invalid_argument if the target
  /// does not resolve or the options make no sense (bufferLimit 0).
  explicit Link(const LinkOptions& options);
  ~Link();  // stops the thread, resets every open connection
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  /// The port this link listens on, on 127.0.0.1.
  [[nodiscard]] std::uint16_t port() const { return m_port; }

  /// Forward connections accepted from now on to another target (a node restarted on a new
  /// port). Open connections keep their target. Throws std::invalid_argument if it does not
  /// resolve.
  void setTarget(const std::string& host, std::uint16_t port);
  /// One-way delay for bytes read from now on, both directions.
  void setLatency(std::chrono::milliseconds oneWay);
  /// Bandwidth cap per direction; 0 is unlimited; burstBytes 0 picks the default (see
  /// LinkOptions). The bucket starts full.
  void setBandwidth(std::uint64_t bytesPerSecond, std::uint64_t burstBytes = 0);

  /// Closes every open connection of the link now, with a reset to both peers; buffered bytes
  /// are dropped. New connections work as before. Counts one cut.
  void cut();
  /// Down: open connections are cut and new ones are accepted and reset at once (the peer's
  /// connect() may succeed, then it reads a reset or EOF), until setDown(false). Independent
  /// of partitions: the link carries traffic only when it is up and in no partition.
  void setDown(bool down);
  [[nodiscard]] bool isDown() const;  // down by setDown() or by a partition

  /// Cut every `interval` from now on (first cut one interval from now); 0 stops it.
  void setCutSchedule(std::chrono::milliseconds interval);
  /// Random cuts, the gaps between them exponentially distributed with the given mean, drawn
  /// from a generator seeded with `seed`, starting now: the same seed gives the same gaps.
  /// A mean of 0 stops them.
  void setRandomCuts(std::chrono::milliseconds meanInterval, std::uint64_t seed);

  /// A snapshot. The link's thread counts a byte when send() returns, which may be a moment
  /// after the peer has read it, so wait for counters to settle rather than read them the
  /// instant a peer has its bytes. What a setter does (cut(), setDown()) is counted before it
  /// returns.
  [[nodiscard]] LinkCounters counters() const;
  /// Zeroes the totals; the gauges (bufferedBytes, openConnections) stay, and the peaks
  /// restart from what connections hold now.
  void resetCounters();

 private:
  friend class LinkEmulator;
  void setPartitioned(int delta);  // partitions hold a link down while any includes it

  struct Settings;
  struct Shared;
  class Worker;

  // Changes the settings under the lock, wakes the thread and waits until it has applied them.
  template <typename Change>
  void update(Change&& change);

  std::uint16_t m_port = 0;
  std::unique_ptr<Shared> m_shared;
  std::unique_ptr<Worker> m_worker;
  std::thread m_thread;
};

/// A set of links and the partitions between them.
class LinkEmulator {
 public:
  LinkEmulator() = default;
  ~LinkEmulator();  // stops every link
  LinkEmulator(const LinkEmulator&) = delete;
  LinkEmulator& operator=(const LinkEmulator&) = delete;

  /// A new link forwarding to options.targetHost:targetPort. The reference lives as long as
  /// the emulator. Throws as Link's constructor does.
  Link& addLink(const LinkOptions& options);
  Link& addLink(std::uint16_t targetPort);  // to 127.0.0.1, no impairment

  /// Takes the links down together under `name` (cutting their connections) until
  /// heal(name). Partitions may overlap; a link stays down while any partition holds it or
  /// setDown(true) does. Partitioning under a name in use heals the old set first. The links
  /// must belong to this emulator.
  void partition(const std::string& name, const std::vector<Link*>& links);
  /// Ends the named partition; unknown names are ignored.
  void heal(const std::string& name);
  /// Ends every partition.
  void heal();

 private:
  std::vector<std::unique_ptr<Link>> m_links;
  std::mutex m_mutex;  // guards m_links and m_partitions
  std::map<std::string, std::vector<Link*>> m_partitions;
};

}  // namespace fieldsync::testing
