#pragma once
// A token bucket for one direction of one link: how long to wait before sending (or before
// asking for more) so that traffic keeps to a rate in bytes per second. It never sleeps: a
// caller reserves bytes and gets a delay, so a single-threaded server schedules the send on
// its timer instead of blocking the loop.
//
// The bucket holds at most `burst` bytes (default: one second's worth) and fills at `rate`
// bytes per second. A reservation takes its bytes at once and may leave the bucket in debt;
// the delay is how long the debt takes to refill, so reservations queue behind each other in
// the order made, and a message larger than the burst is allowed (it waits for its excess).
// Rate 0: unlimited, every delay is zero.
//
// Threads: none of its own; one RateLimiter is used by one thread at a time.
// Lifetime: the clock function is copied and must stay callable as long as the limiter.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace fieldsync::node {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  /// What the limiter asks for the time; tests pass a fake one.
  using Now = std::function<Clock::time_point()>;

  /// The highest rate (1 GB/s, store::MAX_PEER_RATE); more is taken as this.
  static constexpr std::uint64_t MAX_RATE = 1'000'000'000;
  /// The longest delay delayFor returns (a debt that would take longer is waited off first).
  static constexpr std::chrono::seconds MAX_DELAY{1'000'000'000};

  /// Limits to bytesPerSecond (0: unlimited; at most MAX_RATE). burst: the most bytes that go
  /// without delay after a quiet spell; 0 means one second's worth (bytesPerSecond). The
  /// bucket starts full.
  explicit RateLimiter(std::uint64_t bytesPerSecond, std::uint64_t burst = 0,
                       Now now = &Clock::now);

  /// Reserves bytes and returns how long to wait before sending them: zero when the bucket
  /// holds them, else the time until it has refilled the debt. Always succeeds; the caller
  /// must wait the delay (or count the bytes as sent late), never call again to "retry".
  [[nodiscard]] Clock::duration delayFor(std::size_t bytes);

  /// Changes the rate and burst (as the constructor), keeping reservations already made:
  /// the debt is carried over in bytes, the bucket's fill is capped at the new burst.
  void setRate(std::uint64_t bytesPerSecond, std::uint64_t burst = 0);

  std::uint64_t rate() const { return m_rate; }
  std::uint64_t burst() const { return m_burst; }

 private:
  /// Tokens now, in bytes: burst when full, negative when in debt. Moves m_at to now.
  void refill();

  Now m_now;
  std::uint64_t m_rate = 0;
  std::uint64_t m_burst = 0;
  // The bucket at m_at: m_tokens whole bytes plus m_fraction / m_rate of a byte
  // (0 <= m_fraction < m_rate), so refilling is exact whatever the rate and the clock's steps.
  Clock::time_point m_at;
  std::int64_t m_tokens = 0;
  std::uint64_t m_fraction = 0;
};

}  // namespace fieldsync::node
