#pragma once
// Durations and sizes as people type them on the command line and in config.toml (docs/cli.md,
// "Durations and sizes"), and back. Pure functions; no limits of any one command (callers check
// ranges).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fieldsync::node {

/// Seconds in a DURATION: a number with a unit s, m, h or d, or several run together largest
/// first ("1h30m"); a bare number is seconds. Empty when text is not one, or above 100 years.
[[nodiscard]] std::optional<std::int64_t> parseDuration(std::string_view text);

/// Bytes in a SIZE: a number, optionally followed by k (or K), M, G or T, which are powers of
/// 1000 as in networking (64k = 64000), and optionally by B ("5MB"). Empty when text is not
/// one, or above 2^63.
[[nodiscard]] std::optional<std::uint64_t> parseSize(std::string_view text);

/// seconds as parseDuration reads it back, in whole units: 300 -> "5m", 5400 -> "1h30m",
/// 0 -> "0s".
std::string formatDuration(std::int64_t seconds);

/// bytes as parseSize reads it back: with the largest unit that divides it ("8k", "5M"),
/// else the plain number ("1234").
std::string formatSize(std::uint64_t bytes);

}  // namespace fieldsync::node
