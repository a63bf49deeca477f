// protocol::decodeKeyFile on arbitrary text, without a passphrase and with a fixed one.
// Checks, besides the absence of crashes, leaks and undefined behaviour:
//  - a file keyFileIsSealed() calls plain never asks for a passphrase, and one it calls sealed
//    never opens without one;
//  - a passphrase changes nothing for a file that opens without one, and a file malformed
//    without a passphrase stays malformed with one;
//  - a decoded key writes out (encodeKeyFile) to a file that decodes to the same key.
//
// Argon2id cost. A sealed file names its own Argon2id limits, and decodeKeyFile honours up to
// opslimit 16 and memlimit 1 GiB: with a passphrase, one such input costs seconds and a
// gigabyte, and the fuzzer would crawl or die of memory. Without a passphrase the decoder
// stops before Argon2id (PassphraseRequired), so that call runs on every input and covers all
// the parsing and the limit checks. The call with the passphrase runs only when every
// "opslimit: " and "memlimit: " line of the text asks for at most libsodium's minimum (1 pass,
// 8 KiB: microseconds). The text is read here rather than trusting keyFileIsSealed(), which
// says whether a file is sealed, not what opening it costs; and every such line counts, not
// only the one the decoder picks, so no rule of the decoder's for repeated or odd lines can
// let a fuzzer-made file make Argon2id expensive. The seed corpus holds a file sealed at the
// minimum, so the path that opens a sealed key is covered too.

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "fuzz/fuzz_check.h"

using namespace fieldsync::protocol;

namespace {

template <typename T>
bool isNumberAtMost(std::string_view text, T most) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && value <= most;
}

/// True when no line of text asks Argon2id for more than libsodium's minimum cost.
bool argonCostIsMinimal(std::string_view text) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with("opslimit: ") &&
        !isNumberAtMost<unsigned long long>(line.substr(10), crypto_pwhash_OPSLIMIT_MIN))
      return false;
    if (line.starts_with("memlimit: ") &&
        !isNumberAtMost<std::size_t>(line.substr(10), crypto_pwhash_MEMLIMIT_MIN))
      return false;
  }
  return true;
}

bool sameKey(const SecretKey& a, const SecretKey& b) {
  return a.publicKey() == b.publicKey() && std::ranges::equal(a.seed(), b.seed());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::textOf(data, size);
  const bool sealed = keyFileIsSealed(text);
  const auto plain = decodeKeyFile(text, std::nullopt);

  if (!plain) {
    FUZZ_CHECK(plain.error() != KeyFileProblem::WrongPassphrase);
    if (!sealed) FUZZ_CHECK(plain.error() == KeyFileProblem::Malformed);
  } else {
    FUZZ_CHECK(!sealed);
    const auto rewritten = decodeKeyFile(encodeKeyFile(*plain, std::nullopt), std::nullopt);
    FUZZ_CHECK(rewritten.ok());
    FUZZ_CHECK(sameKey(*rewritten, *plain));
  }

  if (!argonCostIsMinimal(text)) return 0;
  const auto withPassphrase = decodeKeyFile(text, fuzz::FIXED_PASSPHRASE);
  if (plain) {
    FUZZ_CHECK(withPassphrase.ok());
    FUZZ_CHECK(sameKey(*withPassphrase, *plain));
  } else if (plain.error() == KeyFileProblem::Malformed) {
    FUZZ_CHECK(!withPassphrase);
    FUZZ_CHECK(withPassphrase.error() == KeyFileProblem::Malformed);
  } else if (!withPassphrase) {
    FUZZ_CHECK(withPassphrase.error() != KeyFileProblem::PassphraseRequired);
  }
  return 0;
}
