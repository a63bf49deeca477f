#include "store/pause.h"

#include <cassert>
#include <charconv>
#include <string>

namespace fieldsync::store {
namespace {

constexpr std::string_view INDEFINITELY = "indefinitely";

/// The stored end of the pause (0: none); empty when the value is not one we write.
std::optional<std::int64_t> parseStored(std::string_view value) {
  if (value == INDEFINITELY) return PAUSED_INDEFINITELY;
  std::int64_t until = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), until);
  if (ec != std::errc() || end != value.data() + value.size() || until < 0) return std::nullopt;
  return until;
}

std::optional<std::int64_t> inForce(const std::optional<std::string>& stored, std::int64_t now) {
  if (!stored) return std::nullopt;
  auto until = parseStored(*stored);
  if (!until)
    throw Error("the archive's pause setting is damaged (meta " + std::string(META_PAUSED_UNTIL) +
                " = \"" + *stored + "\"): run `fieldsync resume` or `fieldsync pause` to set it");
  if (*until == 0 || *until <= now) return std::nullopt;
  return until;
}

}  // namespace

std::optional<std::int64_t> pausedUntil(const ReadTxn& txn, std::int64_t now) {
  return inForce(txn.getMeta(META_PAUSED_UNTIL), now);
}

std::optional<std::int64_t> pausedUntil(const WriteTxn& txn, std::int64_t now) {
  return inForce(txn.getMeta(META_PAUSED_UNTIL), now);
}

void pauseTraffic(WriteTxn& txn, std::int64_t until) {
  assert(until > 0);
  txn.setMeta(META_PAUSED_UNTIL,
              until == PAUSED_INDEFINITELY ? std::string(INDEFINITELY) : std::to_string(until));
}

std::optional<std::int64_t> resumeTraffic(WriteTxn& txn, std::int64_t now) {
  const auto stored = txn.getMeta(META_PAUSED_UNTIL);
  std::optional<std::int64_t> was;
  if (stored) {
    const auto until = parseStored(*stored);
    if (!until)
      was = PAUSED_INDEFINITELY;
    else if (*until != 0 && *until > now)
      was = until;
  }
  if (stored) txn.setMeta(META_PAUSED_UNTIL, "0");
  return was;
}

}  // namespace fieldsync::store
