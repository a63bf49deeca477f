#include "node/units.h"

#include <array>
#include <cctype>
#include <utility>

namespace fieldsync::node {
namespace {

constexpr std::int64_t MAX_DURATION = 100LL * 366 * 86400;
constexpr std::uint64_t MAX_SIZE = std::uint64_t{1} << 63;

/// Leading decimal digits of text, consumed; empty when there are none or they overflow.
std::optional<std::uint64_t> takeNumber(std::string_view& text) {
  std::size_t i = 0;
  std::uint64_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) return std::nullopt;
  text.remove_prefix(i);
  return value;
}

constexpr std::array<std::pair<char, std::int64_t>, 4> DURATION_UNITS{
    {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}};

}  // namespace

std::optional<std::int64_t> parseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string_view rest = text;
  auto number = takeNumber(rest);
  if (number && rest.empty()) {  // a bare number: seconds
    if (*number > static_cast<std::uint64_t>(MAX_DURATION)) return std::nullopt;
    return static_cast<std::int64_t>(*number);
  }
  rest = text;
  std::int64_t total = 0;
  std::size_t nextUnit = 0;  // units must come largest first, each once
  while (!rest.empty()) {
    number = takeNumber(rest);
    if (!number || rest.empty()) return std::nullopt;
    std::size_t u = nextUnit;
    while (u < DURATION_UNITS.size() && DURATION_UNITS[u].first != rest.front()) ++u;
    if (u == DURATION_UNITS.size()) return std::nullopt;
    rest.remove_prefix(1);
    nextUnit = u + 1;
    const auto unit = static_cast<std::uint64_t>(DURATION_UNITS[u].second);
    if (*number > static_cast<std::uint64_t>(MAX_DURATION) / unit) return std::nullopt;
    total += static_cast<std::int64_t>(*number * unit);
    if (total > MAX_DURATION) return std::nullopt;
  }
  return total;
}

std::optional<std::uint64_t> parseSize(std::string_view text) {
  std::string_view rest = text;
  auto number = takeNumber(rest);
  if (!number) return std::nullopt;
  std::uint64_t unit = 1;
  if (!rest.empty()) {
    switch (rest.front()) {
      case 'k':
      case 'K':
        unit = 1'000;
        break;
      case 'M':
        unit = 1'000'000;
        break;
      case 'G':
        unit = 1'000'000'000;
        break;
      case 'T':
        unit = 1'000'000'000'000;
        break;
      default:
        break;
    }
    if (unit != 1) rest.remove_prefix(1);
  }
  if (rest == "B") rest.remove_prefix(1);
  if (!rest.empty() || *number > MAX_SIZE / unit) return std::nullopt;
  return *number * unit;
}

std::string formatDuration(std::int64_t seconds) {
  if (seconds <= 0) return std::to_string(seconds) + "s";
  std::string out;
  for (auto [unit, size] : DURATION_UNITS) {
    if (seconds >= size) {
      out += std::to_string(seconds / size) + unit;
      seconds %= size;
    }
  }
  return out;
}

std::string formatSize(std::uint64_t bytes) {
  constexpr std::array<std::pair<char, std::uint64_t>, 4> UNITS{
      {{'T', 1'000'000'000'000}, {'G', 1'000'000'000}, {'M', 1'000'000}, {'k', 1'000}}};
  if (bytes != 0)
    for (auto [unit, size] : UNITS)
      if (bytes % size == 0) return std::to_string(bytes / size) + unit;
  return std::to_string(bytes);
}

}  // namespace fieldsync::node
