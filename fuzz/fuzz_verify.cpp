// protocol::verify and protocol::decode on arbitrary bytes, as a peer or a damaged disk would
// hand them over. Checks, besides the absence of crashes, leaks and undefined behaviour:
//  - verify refuses what decode refuses, for the same reason, and otherwise at most with
//    BadSignature; when it accepts, decode gives the same id, payload and signature;
//  - decoding does not depend on the alignment of the bytes (an LMDB value or a network frame
//    may sit anywhere);
//  - canonical form is unique: re-encoding a decoded payload gives bytes with the same id, and
//    the object's bytes are exactly the canonical SignedObject of that payload and signature
//    (anything else would give one id several encodings: stored bytes that differ between
//    nodes, padding an attacker can fill without the key);
//  - a decoded body passes checkBody, a decoded clipping is normalized, and sign() accepts
//    every decoded payload, whose signed bytes then verify.

#include <capnp/message.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "schema/fieldsync.capnp.h"

using namespace fieldsync::protocol;

namespace {

/// The canonical SignedObject bytes of a payload's canonical bytes and a signature, written
/// here with the schema rather than by sign(), which only signs with a key we hold.
std::vector<std::uint8_t> canonicalObject(std::span<const std::uint8_t> payload,
                                          const Signature& signature) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<fieldsync::schema::SignedObject>();
  root.setPayload({payload.data(), payload.size()});
  root.setSignature({signature.bytes.data(), signature.bytes.size()});
  const kj::Array<capnp::word> words = capnp::canonicalize(root.asReader());
  const auto bytes = words.asBytes();
  return {bytes.begin(), bytes.end()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const auto decoded = decode(bytes);
  const auto verified = verify(bytes);

  if (!decoded) {
    FUZZ_CHECK(!verified);
    FUZZ_CHECK(verified.error().reason == decoded.error().reason);
  } else if (!verified) {
    FUZZ_CHECK(verified.error().reason == Reason::BadSignature);
  } else {
    FUZZ_CHECK(verified->id() == decoded->id);
    FUZZ_CHECK(verified->payload() == decoded->payload);
    FUZZ_CHECK(verified->signature() == decoded->signature);
    FUZZ_CHECK(std::ranges::equal(verified->bytes(), bytes));
  }

  // The same bytes one past an 8-byte boundary: libFuzzer's own buffer is aligned.
  std::vector<std::uint8_t> shifted(size + 1);
  if (size > 0) std::memcpy(shifted.data() + 1, data, size);
  const auto unaligned = decode(std::span<const std::uint8_t>(shifted.data() + 1, size));
  FUZZ_CHECK(unaligned.ok() == decoded.ok());
  if (!decoded) {
    FUZZ_CHECK(unaligned.error().reason == decoded.error().reason);
    return 0;
  }
  FUZZ_CHECK(unaligned->id == decoded->id);
  FUZZ_CHECK(unaligned->payload == decoded->payload);

  const Payload& payload = decoded->payload;
  FUZZ_CHECK(checkBody(payload.body).ok());
  const std::vector<std::uint8_t> canonicalPayload = encodePayload(payload);
  FUZZ_CHECK(objectId(canonicalPayload) == decoded->id);
  FUZZ_CHECK(std::ranges::equal(canonicalObject(canonicalPayload, decoded->signature), bytes));
  if (const Clipping* clipping = payload.clipping()) {
    FUZZ_CHECK(!checkNormalClipping(*clipping).has_value());
    auto normal = normalizeClipping(*clipping);
    FUZZ_CHECK(normal.ok());
    FUZZ_CHECK(normal.value() == *clipping);
  }

  auto resigned = sign(payload, fuzz::fixedKey());
  FUZZ_CHECK(resigned.ok());
  auto again = verify(resigned->bytes());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->id() == resigned->id());
  FUZZ_CHECK(again->payload().body == payload.body);
  FUZZ_CHECK(again->payload().signedAt == payload.signedAt);
  return 0;
}
