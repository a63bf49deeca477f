// protocol::minisignVerify with a fixed key on arbitrary input. Layout of an input: one byte
// n, then min(n, what is left) bytes of message, then the .minisig file text; so the seed
// corpus holds real signatures of short messages.
// Checks, besides the absence of crashes, leaks and undefined behaviour:
//  - a signature that verifies covers the message: changing one byte of it fails;
//  - whatever the message and trusted comment (here the input's signature text, long or short,
//    with CR, LF and NUL), minisignSign's output verifies;
//  - base64Decode is strict: what it accepts, base64Encode gives back byte for byte; and
//    base64Encode round-trips any bytes.

#include <algorithm>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "protocol/minisign.h"

using namespace fieldsync::protocol;

namespace {

// Longer than the longest trusted comment minisign reads (8192 bytes a line).
constexpr std::size_t LONG_COMMENT_BYTES = 8400;

void checkBase64(std::string_view line) {
  if (const auto decoded = base64Decode(line)) FUZZ_CHECK(base64Encode(*decoded) == line);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t messageBytes = std::min<std::size_t>(data[0], size - 1);
  const std::vector<std::uint8_t> message(data + 1, data + 1 + messageBytes);
  const std::string_view signatureFile =
      fuzz::textOf(data + 1 + messageBytes, size - 1 - messageBytes);
  const SecretKey& key = fuzz::fixedKey();
  const PublicKey publicKey = key.publicKey();

  const auto verified = minisignVerify(publicKey, message, signatureFile);
  if (verified) {
    std::vector<std::uint8_t> changed = message;
    if (changed.empty()) {
      changed.push_back(0);
    } else {
      changed[changed.size() / 2] ^= 0x01;
    }
    FUZZ_CHECK(!minisignVerify(publicKey, changed, signatureFile));
  } else {
    FUZZ_CHECK(!verified.error().empty());
  }

  // Every line of the file as base64, and the message through base64 and back.
  for (std::string_view rest = signatureFile; !rest.empty();) {
    const auto nl = rest.find('\n');
    checkBase64(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  const auto roundTrip = base64Decode(base64Encode(message));
  FUZZ_CHECK(roundTrip.has_value());
  FUZZ_CHECK(*roundTrip == message);

  // An odd-length message asks for an overlong comment, so the cut at a character boundary
  // runs too.
  std::string comment(signatureFile);
  if (messageBytes % 2 == 1 && !comment.empty())
    while (comment.size() < LONG_COMMENT_BYTES) comment += signatureFile;
  const std::string signature = minisignSign(key, message, comment);
  FUZZ_CHECK(minisignVerify(publicKey, message, signature).ok());
  return 0;
}
