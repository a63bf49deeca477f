#include "node/rate_limiter.h"

#include <algorithm>

namespace fieldsync::node {
namespace {

constexpr std::int64_t NANO = 1'000'000'000;               // nano-bytes per byte, ns per second
constexpr std::int64_t MAX_LEVEL = std::int64_t{1} << 61;  // bucket size and debt, in bytes

std::uint64_t chooseBurst(std::uint64_t rate, std::uint64_t burst) {
  const std::uint64_t chosen = burst != 0 ? burst : std::max<std::uint64_t>(rate, 1);
  return std::min<std::uint64_t>(chosen, static_cast<std::uint64_t>(MAX_LEVEL));
}

}  // namespace

RateLimiter::RateLimiter(std::uint64_t bytesPerSecond, std::uint64_t burst, Now now)
    : m_now(std::move(now)) {
  m_at = m_now();
  setRate(bytesPerSecond, burst);
}

void RateLimiter::setRate(std::uint64_t bytesPerSecond, std::uint64_t burst) {
  const bool wasUnlimited = m_rate == 0;
  refill();
  m_rate = std::min(bytesPerSecond, MAX_RATE);
  m_burst = chooseBurst(m_rate, burst);
  const auto top = static_cast<std::int64_t>(m_burst);
  if (wasUnlimited || m_tokens >= top) {
    m_tokens = top;
    m_fraction = 0;
  }
}

void RateLimiter::refill() {
  const Clock::time_point now = m_now();
  if (m_rate == 0 || now <= m_at) {
    m_at = std::max(m_at, now);
    return;
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - m_at).count();
  m_at = now;
  const auto top = static_cast<std::int64_t>(m_burst);
  if (m_tokens >= top) return;
  const auto rate = static_cast<std::int64_t>(m_rate);
  const std::int64_t seconds = elapsed / NANO;
  // Enough time to fill the bucket? Both levels are within 2^61 of zero, so nothing
  // overflows: seconds * rate <= missing < 2^62 below.
  const std::int64_t missing = top - m_tokens;
  if (seconds > missing / rate) {
    m_tokens = top;
    m_fraction = 0;
    return;
  }
  // seconds * rate <= missing + rate fits; the rest is below 10^18 + 10^9.
  const std::int64_t nanoBytes = (elapsed % NANO) * rate + static_cast<std::int64_t>(m_fraction);
  m_tokens += seconds * rate + nanoBytes / NANO;
  m_fraction = static_cast<std::uint64_t>(nanoBytes % NANO);
  if (m_tokens >= top) {
    m_tokens = top;
    m_fraction = 0;
  }
}

RateLimiter::Clock::duration RateLimiter::delayFor(std::size_t bytes) {
  if (m_rate == 0) return Clock::duration::zero();
  refill();
  const auto take = static_cast<std::int64_t>(std::min<std::uint64_t>(bytes, MAX_LEVEL));
  m_tokens = std::max(m_tokens - take, -MAX_LEVEL);
  if (m_tokens >= 0) return Clock::duration::zero();
  // The debt is -m_tokens bytes less m_fraction nano-bytes; it refills at m_rate bytes a
  // second. Whole seconds first, so nothing overflows: rem * 10^9 < 10^18.
  const auto rate = static_cast<std::int64_t>(m_rate);
  const std::int64_t debt = -m_tokens;
  const std::int64_t seconds = debt / rate;
  const std::int64_t rest = (debt % rate) * NANO - static_cast<std::int64_t>(m_fraction);
  if (seconds >= MAX_DELAY.count()) return MAX_DELAY;
  const std::int64_t restNs = rest > 0 ? (rest + rate - 1) / rate : -(-rest / rate);
  const std::chrono::nanoseconds delay{seconds * NANO + restNs};
  return std::chrono::ceil<Clock::duration>(delay);
}

}  // namespace fieldsync::node
