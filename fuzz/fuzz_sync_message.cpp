// protocol::wire::decode on arbitrary bytes, as a peer would send them over a sync link
// (hello, reconcile, batch, ack, done, error). Checks, besides the absence of crashes, leaks and
// undefined behaviour:
//  - the limits hold: a message over maxMessageBytes is refused, an error's reason is at most
//    maxFailureChars and has no control characters (it goes into a log line), a reconcile
//    frame or a batch's content is no longer than the message;
//  - decoding does not depend on the alignment of the bytes (a ZeroMQ frame sits anywhere);
//  - what decodes re-encodes canonically: encode() of the decoded message decodes again, and
//    encoding that gives the same bytes (one value, one encoding);
//  - the message's payload goes on to its own decoder without harm (decodeFrame for a
//    reconcile, unpackBatch for a batch), as the session would hand it on.

#include <cstring>
#include <span>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "protocol/sync.h"

using namespace fieldsync::protocol;
namespace wire = fieldsync::protocol::sync;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const wire::MessageLimits limits;
  const auto decoded = wire::decode(bytes, limits);

  std::vector<std::uint8_t> shifted(size + 1);
  if (size > 0) std::memcpy(shifted.data() + 1, data, size);
  const auto unaligned = wire::decode(std::span<const std::uint8_t>(shifted.data() + 1, size));
  FUZZ_CHECK(unaligned.ok() == decoded.ok());

  if (!decoded) {
    FUZZ_CHECK(!decoded.error().detail.empty());
    return 0;
  }
  FUZZ_CHECK(size <= limits.maxMessageBytes);
  FUZZ_CHECK(size % 8 == 0);
  const wire::Message& message = *decoded;
  FUZZ_CHECK(!wire::messageName(message).empty());
  FUZZ_CHECK(unaligned->index() == message.index());

  wire::MessageLimits tighter = limits;
  tighter.maxMessageBytes = size - 1;
  FUZZ_CHECK(!wire::decode(bytes, tighter));

  const std::vector<std::uint8_t> encoded = wire::encode(message);
  FUZZ_CHECK(encoded.size() % 8 == 0);
  FUZZ_CHECK(wire::encode(*unaligned) == encoded);
  const auto again = wire::decode(encoded, limits);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->index() == message.index());
  FUZZ_CHECK(wire::encode(*again) == encoded);

  if (const auto* failure = std::get_if<wire::Failure>(&message)) {
    FUZZ_CHECK(failure->reason.size() <= limits.maxFailureChars);
    for (const char c : failure->reason) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20);
  } else if (const auto* reconcile = std::get_if<wire::Reconcile>(&message)) {
    FUZZ_CHECK(reconcile->frame.size() <= size);
    const auto frame = decodeFrame(reconcile->frame);
    if (frame) {
      const auto reread = decodeFrame(encodeFrame(*frame));
      FUZZ_CHECK(reread.ok());
      FUZZ_CHECK(*reread == *frame);
    }
  } else if (const auto* batch = std::get_if<wire::Batch>(&message)) {
    FUZZ_CHECK(batch->content.size() <= size);
    wire::MessageLimits small = limits;  // so a declared size cannot cost megabytes a run
    small.maxBatchRawBytes = 1u << 16;
    std::vector<std::uint8_t> storage;
    const auto objects = wire::unpackBatch(*batch, small, storage);
    if (objects) {
      FUZZ_CHECK(objects->size() == batch->objects);
      FUZZ_CHECK(storage.size() <= small.maxBatchRawBytes);
    }
  }
  return 0;
}
