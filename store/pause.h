#pragma once
// A pause of all traffic with peers (`fieldsync pause`, `fieldsync resume`): until a unix time,
// or until resumed. Kept in the archive's meta under META_PAUSED_UNTIL, so it holds across
// restarts and reaches a running daemon from another process; the daemon reads it (cheap: one
// meta lookup) before each session and at least every few seconds while it is connected.
// A timed pause ends by itself: readers compare with the time they are given, nothing has to
// clear it.
//
// Threads and lifetime: as the archive's transactions (store/archive.h); values are copies.
// Errors: "not paused" is an empty optional; a damaged stored value and LMDB failures throw
// fieldsync::Error.

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "store/archive.h"

namespace fieldsync::store {

/// The meta key; the value is the end of the pause in decimal unix seconds, "indefinitely",
/// or "0" for none (also what an absent key means).
inline constexpr std::string_view META_PAUSED_UNTIL = "traffic.pausedUntil";

/// The end of a pause that only `resume` ends.
inline constexpr std::int64_t PAUSED_INDEFINITELY = std::numeric_limits<std::int64_t>::max();

/// When the pause in force at now ends: unix seconds, or PAUSED_INDEFINITELY. Empty when
/// traffic may flow: no pause, or a timed pause whose end is at or before now.
[[nodiscard]] std::optional<std::int64_t> pausedUntil(const ReadTxn& txn, std::int64_t now);
[[nodiscard]] std::optional<std::int64_t> pausedUntil(const WriteTxn& txn, std::int64_t now);

/// Pauses all traffic until the unix time until (PAUSED_INDEFINITELY: until resumed); replaces
/// any pause in force, so the latest word wins. until must be positive.
void pauseTraffic(WriteTxn& txn, std::int64_t until);

/// Ends any pause. Returns the pause that was in force at now (as pausedUntil), empty when
/// traffic was flowing already; a damaged stored value counts as a pause in force without end
/// and is cleared too.
std::optional<std::int64_t> resumeTraffic(WriteTxn& txn, std::int64_t now);

}  // namespace fieldsync::store
