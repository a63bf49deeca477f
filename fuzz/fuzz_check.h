#pragma once
// What the fuzz targets share: FUZZ_CHECK, which aborts with a message when an invariant fails
// (libFuzzer then saves the input as a crash), the fixed key the targets sign with, and the
// invariant every importer's output must hold.
// Threads: libFuzzer runs a target on one thread; fixedKey() is created on first use.

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string_view>

#include "protocol/importers.h"
#include "protocol/keys.h"
#include "protocol/object.h"
#include "protocol/text.h"

/// Aborts, naming the invariant and where it was checked, when condition is false. Unlike
/// assert(), it is never compiled out.
#define FUZZ_CHECK(condition)                                       \
  do {                                                              \
    if (!(condition)) ::fuzz::fail(#condition, __FILE__, __LINE__); \
  } while (false)

namespace fuzz {

[[noreturn]] inline void fail(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "\nFUZZ_CHECK failed: %s\n  at %s:%d\n", condition, file, line);
  std::fflush(stderr);
  std::abort();
}

inline std::string_view textOf(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// The docs/protocol.md test-vector key (seed 00 01 .. 1f): fixed, so every run signs alike.
/// Kept for the life of the process: the fuzzer calls the target millions of times.
inline const fieldsync::protocol::SecretKey& fixedKey() {
  static const fieldsync::protocol::SecretKey key = [] {
    std::array<std::uint8_t, fieldsync::protocol::SEED_BYTES> seed{};
    std::iota(seed.begin(), seed.end(), std::uint8_t{0});
    return fieldsync::protocol::SecretKey::fromSeed(seed);
  }();
  return key;
}

/// The passphrase fuzz_keyfile opens sealed files with; the seed corpus seals one with it.
inline constexpr std::string_view FIXED_PASSPHRASE = "correct horse battery staple";

/// signedAt of everything the targets sign: 2013-01-11T00:00:00Z, as in the test vector.
inline constexpr std::int64_t FIXED_SIGNED_AT = 1357862400;

/// The promise of importers.h: a parser returns clippings that are normalized and valid, or
/// an error whose line lies within the text. Normalized means a fixed point of
/// normalizeClipping that checkNormalClipping accepts; valid means sign() takes it and what
/// it signs verifies back to the same clipping.
inline void checkParseResult(const fieldsync::protocol::ParseResult& result,
                             std::string_view text) {
  using namespace fieldsync::protocol;
  if (!result) {
    FUZZ_CHECK(result.error().line <= splitLines(text).size() + 1);
    FUZZ_CHECK(!result.error().message.empty());
    return;
  }
  for (const Clipping& clipping : result.value()) {
    auto normal = normalizeClipping(clipping);
    FUZZ_CHECK(normal.ok());
    FUZZ_CHECK(normal.value() == clipping);
    FUZZ_CHECK(!checkNormalClipping(clipping).has_value());

    auto object = sign(Payload{{}, FIXED_SIGNED_AT, clipping}, fixedKey());
    FUZZ_CHECK(object.ok());
    auto verified = verify(object->bytes());
    FUZZ_CHECK(verified.ok());
    FUZZ_CHECK(verified->id() == object->id());
    FUZZ_CHECK(verified->payload() == object->payload());
    FUZZ_CHECK(verified->payload().clipping() != nullptr);
    FUZZ_CHECK(*verified->payload().clipping() == clipping);
  }
}

}  // namespace fuzz
