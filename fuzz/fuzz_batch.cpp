// protocol::wire::unpackBatch (and BatchUnpacker, for stream batches) on arbitrary batches, as
// a peer would send them: the fields a Batch message declares and its content, with small
// limits so the fuzzer reaches them. Input: byte 0 (bit 0: zstd; bit 1: the rest is raw content
// that the target compresses itself, so the fuzzer reaches the parsing behind a valid zstd
// frame; bit 2: a stream batch, ZstdStream, compressed as a session's stream when bit 1 is
// set, else the rest as stream content), bytes 1-2 the declared object
// count (big-endian), bytes 3-5 the declared raw size (big-endian; with bit 1, the real size
// plus this value taken as a signed 24-bit skew), then the content. Checks, besides the
// absence of crashes, leaks and undefined behaviour:
//  - the bounds hold whatever the batch declares (a zstd bomb included): what is decompressed
//    is never more than maxBatchRawBytes, there are never more objects than maxBatchObjects,
//    and none is over maxObjectBytes;
//  - an accepted batch holds exactly what it declares: `objects` objects, decompressing to
//    exactly rawBytes, which are the objects, each after its varint length, end to end;
//  - unpacking does not depend on the packer: the accepted objects, packed again by
//    BatchPacker (compressed or not, as it chooses), unpack to the same objects.

#include <zstd.h>

#include <algorithm>
#include <span>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "protocol/sync.h"

using namespace fieldsync::protocol;
namespace wire = fieldsync::protocol::sync;

namespace {

std::vector<std::uint8_t> varint(std::uint64_t value) {
  std::vector<std::uint8_t> out;
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
  return out;
}

std::vector<std::vector<std::uint8_t>> copies(
    const std::vector<std::span<const std::uint8_t>>& in) {
  std::vector<std::vector<std::uint8_t>> out;
  for (const auto& object : in) out.emplace_back(object.begin(), object.end());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 6) return 0;
  wire::MessageLimits limits;
  limits.maxBatchRawBytes = 1u << 16;
  limits.maxBatchObjects = 64;
  limits.object.maxObjectBytes = 4096;

  wire::Batch batch;
  batch.number = 1;
  batch.objects = static_cast<std::uint32_t>(data[1] << 8 | data[2]);
  const std::uint32_t declared = static_cast<std::uint32_t>(data[3] << 16 | data[4] << 8 | data[5]);
  const std::span<const std::uint8_t> rest(data + 6, size - 6);
  batch.compression = (data[0] & 1) ? wire::Compression::Zstd : wire::Compression::None;
  const bool stream = (data[0] & 4) != 0;
  if (stream) batch.compression = wire::Compression::ZstdStream;
  if ((data[0] & 2) && stream) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    FUZZ_CHECK(cctx != nullptr);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, wire::STREAM_WINDOW_LOG);
    std::vector<std::uint8_t> packed(ZSTD_compressBound(rest.size()) + 64);
    ZSTD_inBuffer in{rest.data(), rest.size(), 0};
    ZSTD_outBuffer out{packed.data(), packed.size(), 0};
    FUZZ_CHECK(ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_flush) == 0);
    ZSTD_freeCCtx(cctx);
    packed.resize(out.pos);
    batch.content = std::move(packed);
    const auto skew = static_cast<std::int32_t>(declared << 8) >> 8;  // sign-extend 24 bits
    batch.rawBytes = static_cast<std::uint32_t>(static_cast<std::int64_t>(rest.size()) + skew);
  } else if ((data[0] & 2) && batch.compression == wire::Compression::Zstd) {
    std::vector<std::uint8_t> packed(ZSTD_compressBound(rest.size()));
    const std::size_t n = ZSTD_compress(packed.data(), packed.size(), rest.data(), rest.size(), 1);
    FUZZ_CHECK(!ZSTD_isError(n));
    packed.resize(n);
    batch.content = std::move(packed);
    const auto skew = static_cast<std::int32_t>(declared << 8) >> 8;  // sign-extend 24 bits
    batch.rawBytes = static_cast<std::uint32_t>(static_cast<std::int64_t>(rest.size()) + skew);
  } else {
    batch.content.assign(rest.begin(), rest.end());
    batch.rawBytes = declared;
  }

  std::vector<std::uint8_t> storage;
  wire::BatchUnpacker unpacker;
  const auto unpacked =
      stream ? unpacker.unpack(batch, limits, storage) : wire::unpackBatch(batch, limits, storage);
  FUZZ_CHECK(storage.size() <= limits.maxBatchRawBytes);
  if (!unpacked) {
    FUZZ_CHECK(!unpacked.error().detail.empty());
    return 0;
  }
  const auto& objects = *unpacked;
  FUZZ_CHECK(objects.size() == batch.objects);
  FUZZ_CHECK(objects.size() <= limits.maxBatchObjects);
  FUZZ_CHECK(batch.rawBytes <= limits.maxBatchRawBytes);
  std::vector<std::uint8_t> raw;
  for (const auto& object : objects) {
    FUZZ_CHECK(object.size() <= limits.object.maxObjectBytes);
    const auto length = varint(object.size());
    raw.insert(raw.end(), length.begin(), length.end());
    raw.insert(raw.end(), object.begin(), object.end());
  }
  // Lengths may be written with redundant varint bytes (0x80 0x00 for 0), so the raw bytes are
  // at least, not exactly, the canonical form; the count of bytes is exact.
  FUZZ_CHECK(raw.size() <= batch.rawBytes);
  if (batch.compression == wire::Compression::None) {
    FUZZ_CHECK(storage.empty());  // read in place
    for (const auto& object : objects) {
      FUZZ_CHECK(object.data() >= batch.content.data());
      FUZZ_CHECK(object.data() + object.size() <= batch.content.data() + batch.content.size());
    }
  } else {
    FUZZ_CHECK(storage.size() == batch.rawBytes);
  }

  const auto repacked = wire::packBatch(2, objects);
  FUZZ_CHECK(repacked.objects == batch.objects);
  FUZZ_CHECK(repacked.rawBytes == raw.size());
  std::vector<std::uint8_t> again;
  const auto reread = wire::unpackBatch(repacked, limits, again);
  FUZZ_CHECK(reread.ok());
  FUZZ_CHECK(copies(*reread) == copies(objects));
  return 0;
}
