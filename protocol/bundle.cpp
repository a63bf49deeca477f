#include "protocol/bundle.h"

#include <sodium.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string_view>

namespace fieldsync::protocol {
namespace {

// The layout, byte by byte, is docs/bundle.md. Every block is a zstd skippable frame
// (magic, content length) whose content starts with an 8-byte fieldsync marker.
constexpr std::uint32_t SKIPPABLE_MAGIC = 0x184D2A5F;
constexpr std::string_view HEADER_MARKER = "FSYNCBDL";
constexpr std::string_view FRAME_MARKER = "FSYNCFRM";
constexpr std::string_view TRAILER_MARKER = "FSYNCEND";
constexpr std::string_view HOLDINGS_MARKER = "FSYNCHLD";
constexpr std::size_t HEADER_BYTES = 56;
constexpr std::size_t FRAME_HEADER_BYTES = 48;
constexpr std::size_t TRAILER_BYTES = 64;
constexpr std::size_t PREFIX_BYTES = 16;        // skippable magic, length, marker
constexpr std::size_t CHECK_BYTES = 16;         // BLAKE2b-128 of a header or a frame
constexpr std::size_t HASH_BYTES = 32;          // BLAKE2b-256 in the trailer
constexpr std::size_t OBJECT_PREFIX_BYTES = 8;  // Cap'n Proto stream framing, one segment
constexpr std::size_t READ_CHUNK = 1u << 16;

constexpr std::size_t HOLDINGS_IDS_AT = 64;  // prefix, writer key, time, count; then the ids
constexpr std::size_t HOLDINGS_EMPTY_BYTES = HOLDINGS_IDS_AT + SIGNATURE_BYTES;
static_assert(sizeof(HeldId) == HELD_ID_BYTES);  // a vector of them is the ids' bytes

void ensureSodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw Error("sodium_init: libsodium could not be initialised");
}

void putU32(std::uint8_t* at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void putU64(std::uint8_t* at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint32_t getU32(const std::uint8_t* at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | at[i];
  return v;
}
std::uint64_t getU64(const std::uint8_t* at) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | at[i];
  return v;
}

/// The first 16 bytes of a block: skippable magic, content length, marker.
std::array<std::uint8_t, PREFIX_BYTES> blockPrefix(std::string_view marker, std::size_t total) {
  std::array<std::uint8_t, PREFIX_BYTES> p{};
  putU32(p.data(), SKIPPABLE_MAGIC);
  putU32(p.data() + 4, static_cast<std::uint32_t>(total - 8));
  std::memcpy(p.data() + 8, marker.data(), marker.size());
  return p;
}
const auto HEADER_PREFIX = blockPrefix(HEADER_MARKER, HEADER_BYTES);
const auto FRAME_PREFIX = blockPrefix(FRAME_MARKER, FRAME_HEADER_BYTES);
const auto TRAILER_PREFIX = blockPrefix(TRAILER_MARKER, TRAILER_BYTES);

bool startsWith(const std::uint8_t* at, const std::array<std::uint8_t, PREFIX_BYTES>& prefix) {
  return std::memcmp(at, prefix.data(), prefix.size()) == 0;
}

/// A holdings block starts here (its length, bytes 4 to 7, varies with its count of ids).
bool startsHoldings(const std::uint8_t* at) {
  return std::memcmp(at, HEADER_PREFIX.data(), 4) == 0 &&
         std::memcmp(at + 8, HOLDINGS_MARKER.data(), HOLDINGS_MARKER.size()) == 0;
}

/// A frame, holdings or trailer block starts here (the markers the reader resumes at).
bool startsBlock(const std::uint8_t* at) {
  return at[0] == HEADER_PREFIX[0] &&
         (startsWith(at, FRAME_PREFIX) || startsWith(at, TRAILER_PREFIX) || startsHoldings(at));
}

/// What a holdings block's signature covers: the domain tag, then the BLAKE2b-256 of the
/// block's bytes from the writer's key to the last id.
std::vector<std::uint8_t> holdingsMessage(std::span<const std::uint8_t> signedBytes) {
  std::vector<std::uint8_t> message(HOLDINGS_TAG.begin(), HOLDINGS_TAG.end());
  message.resize(HOLDINGS_TAG.size() + HASH_BYTES);
  crypto_generichash(message.data() + HOLDINGS_TAG.size(), HASH_BYTES, signedBytes.data(),
                     signedBytes.size(), nullptr, 0);
  return message;
}

/// BLAKE2b-128 of a and b, one after the other.
std::array<std::uint8_t, CHECK_BYTES> check(std::span<const std::uint8_t> a,
                                            std::span<const std::uint8_t> b = {}) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, CHECK_BYTES);
  crypto_generichash_update(&state, a.data(), a.size());
  crypto_generichash_update(&state, b.data(), b.size());
  std::array<std::uint8_t, CHECK_BYTES> out{};
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

std::size_t maxCompressedBytes(const BundleLimits& limits) {
  return ZSTD_compressBound(limits.maxFrameBytes);
}

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

std::string plural(std::uint64_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

}  // namespace

// --- Writer ------------------------------------------------------------------------------------

struct BundleWriter::Impl {
  Sink sink;
  BundleWriterOptions options;
  std::uint64_t announced = 0;
  std::uint64_t added = 0;
  std::uint32_t frames = 0;
  std::vector<std::uint8_t> content;  // the open frame, uncompressed
  std::uint32_t contentObjects = 0;
  std::vector<std::uint8_t> compressed;
  std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx{ZSTD_createCCtx()};
  crypto_generichash_state hash;  // every byte written, for the trailer
  bool finished = false;
  /// The holdings block, written before the trailer; empty: none (a version 1 bundle).
  std::vector<std::uint8_t> holdings;

  void emit(std::span<const std::uint8_t> bytes) {
    crypto_generichash_update(&hash, bytes.data(), bytes.size());
    sink(bytes);
  }

  void flushFrame() {
    if (contentObjects == 0) return;
    compressed.resize(ZSTD_compressBound(content.size()));
    const std::size_t n = ZSTD_compress2(cctx.get(), compressed.data(), compressed.size(),
                                         content.data(), content.size());
    if (ZSTD_isError(n)) throw Error(std::string("ZSTD_compress2: ") + ZSTD_getErrorName(n));
    compressed.resize(n);

    std::array<std::uint8_t, FRAME_HEADER_BYTES> block{};
    std::memcpy(block.data(), FRAME_PREFIX.data(), PREFIX_BYTES);
    putU32(block.data() + 16, frames);
    putU32(block.data() + 20, contentObjects);
    putU32(block.data() + 24, static_cast<std::uint32_t>(compressed.size()));
    putU32(block.data() + 28, static_cast<std::uint32_t>(content.size()));
    const auto sum = check(std::span(block).first(32), compressed);
    std::memcpy(block.data() + 32, sum.data(), sum.size());
    emit(block);
    emit(compressed);
    ++frames;
    content.clear();
    contentObjects = 0;
  }
};

BundleWriter::BundleWriter(Sink sink, std::int64_t createdAt, std::uint64_t objectCount,
                           BundleWriterOptions options, std::vector<std::uint8_t> holdings)
    : m_impl(std::make_unique<Impl>()) {
  ensureSodium();
  Impl& w = *m_impl;
  w.sink = std::move(sink);
  w.options = options;
  w.announced = objectCount;
  if (!holdings.empty() &&
      (holdings.size() < HOLDINGS_EMPTY_BYTES || !startsHoldings(holdings.data()) ||
       std::uint64_t{getU32(holdings.data() + 4)} + 8 != holdings.size()))
    throw std::logic_error("BundleWriter: the holdings are not a block from encodeHoldings");
  w.holdings = std::move(holdings);
  if (!w.cctx) throw Error("ZSTD_createCCtx: out of memory");
  ZSTD_CCtx_setParameter(w.cctx.get(), ZSTD_c_compressionLevel, options.zstdLevel);
  ZSTD_CCtx_setParameter(w.cctx.get(), ZSTD_c_checksumFlag, 1);
  ZSTD_CCtx_setParameter(w.cctx.get(), ZSTD_c_contentSizeFlag, 1);
  crypto_generichash_init(&w.hash, nullptr, 0, HASH_BYTES);

  std::array<std::uint8_t, HEADER_BYTES> header{};
  std::memcpy(header.data(), HEADER_PREFIX.data(), PREFIX_BYTES);
  putU32(header.data() + 16, w.holdings.empty() ? BUNDLE_VERSION_1 : BUNDLE_VERSION);
  putU32(header.data() + 20, 0);  // flags
  putU64(header.data() + 24, static_cast<std::uint64_t>(createdAt));
  putU64(header.data() + 32, objectCount);
  const auto sum = check(std::span(header).first(40));
  std::memcpy(header.data() + 40, sum.data(), sum.size());
  w.emit(header);
}

BundleWriter::~BundleWriter() = default;

void BundleWriter::add(std::span<const std::uint8_t> signedObject) {
  Impl& w = *m_impl;
  if (w.finished) throw std::logic_error("BundleWriter::add after finish");
  if (w.added == w.announced)
    throw std::logic_error("BundleWriter::add: more objects than the " +
                           std::to_string(w.announced) + " announced");
  if (signedObject.size() % 8 != 0 || signedObject.size() > Limits{}.maxObjectBytes)
    throw std::logic_error("BundleWriter::add: not the bytes of a stored object");
  const std::size_t framed = OBJECT_PREFIX_BYTES + signedObject.size();
  if (!w.content.empty() && w.content.size() + framed > w.options.frameBytes) w.flushFrame();

  std::array<std::uint8_t, OBJECT_PREFIX_BYTES> prefix{};
  putU32(prefix.data(), 0);  // segment count - 1
  putU32(prefix.data() + 4, static_cast<std::uint32_t>(signedObject.size() / 8));
  w.content.insert(w.content.end(), prefix.begin(), prefix.end());
  w.content.insert(w.content.end(), signedObject.begin(), signedObject.end());
  ++w.contentObjects;
  ++w.added;
  if (w.content.size() >= w.options.frameBytes) w.flushFrame();
}

void BundleWriter::finish() {
  Impl& w = *m_impl;
  if (w.finished) throw std::logic_error("BundleWriter::finish called twice");
  if (w.added != w.announced)
    throw std::logic_error("BundleWriter::finish: " + std::to_string(w.added) + " objects of " +
                           std::to_string(w.announced) + " announced");
  w.flushFrame();
  if (!w.holdings.empty()) w.emit(w.holdings);
  std::array<std::uint8_t, TRAILER_BYTES> trailer{};
  std::memcpy(trailer.data(), TRAILER_PREFIX.data(), PREFIX_BYTES);
  putU32(trailer.data() + 16, w.frames);
  putU32(trailer.data() + 20, 0);  // reserved
  putU64(trailer.data() + 24, w.added);
  w.emit(std::span(trailer).first(32));
  crypto_generichash_final(&w.hash, trailer.data() + 32, HASH_BYTES);
  w.sink(std::span(trailer).subspan(32));
  w.finished = true;
}

std::vector<std::uint8_t> writeBundle(const std::vector<std::vector<std::uint8_t>>& objects,
                                      std::int64_t createdAt, BundleWriterOptions options,
                                      std::vector<std::uint8_t> holdings) {
  std::vector<std::uint8_t> out;
  BundleWriter writer(
      [&](std::span<const std::uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); },
      createdAt, objects.size(), options, std::move(holdings));
  for (const auto& o : objects) writer.add(o);
  writer.finish();
  return out;
}

// --- Holdings ----------------------------------------------------------------------------------

HeldId heldId(const ObjectId& id) {
  HeldId out{};
  std::memcpy(out.data(), id.bytes.data(), out.size());
  return out;
}

bool Holdings::holds(const ObjectId& id) const {
  return std::binary_search(ids.begin(), ids.end(), heldId(id));
}

std::vector<std::uint8_t> encodeHoldings(const PublicKey& writer, std::int64_t at,
                                         std::vector<HeldId> ids, const HoldingsSigner& sign) {
  ensureSodium();
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.size() > BundleLimits{}.maxHeldIds)
    throw std::logic_error("encodeHoldings: " + std::to_string(ids.size()) +
                           " ids, over the limit of " + std::to_string(BundleLimits{}.maxHeldIds));
  const std::size_t idBytes = ids.size() * HELD_ID_BYTES;
  std::vector<std::uint8_t> block(HOLDINGS_EMPTY_BYTES + idBytes);
  const auto prefix = blockPrefix(HOLDINGS_MARKER, block.size());
  std::memcpy(block.data(), prefix.data(), prefix.size());
  std::memcpy(block.data() + 16, writer.bytes.data(), writer.bytes.size());
  putU64(block.data() + 48, static_cast<std::uint64_t>(at));
  putU64(block.data() + 56, ids.size());
  if (idBytes != 0) std::memcpy(block.data() + HOLDINGS_IDS_AT, ids.data(), idBytes);
  const auto signedBytes = std::span(block).subspan(16, HOLDINGS_IDS_AT - 16 + idBytes);
  const auto message = holdingsMessage(signedBytes);
  const Signature signature = sign(message);
  if (!verifySignature(writer, message, signature))
    throw std::logic_error("encodeHoldings: the signature is not by the writer's key");
  std::memcpy(block.data() + HOLDINGS_IDS_AT + idBytes, signature.bytes.data(), SIGNATURE_BYTES);
  return block;
}

Expected<Holdings, std::string> decodeHoldings(std::span<const std::uint8_t> block,
                                               std::uint64_t maxHeldIds) {
  ensureSodium();
  if (block.size() < HOLDINGS_EMPTY_BYTES || !startsHoldings(block.data()))
    return std::string("not a holdings block");
  if (std::uint64_t{getU32(block.data() + 4)} + 8 != block.size())
    return "the block's length field says " + std::to_string(getU32(block.data() + 4) + 8ull) +
           " bytes, but it has " + std::to_string(block.size());
  const std::uint64_t count = getU64(block.data() + 56);
  if (count > maxHeldIds)
    return "the block lists " + std::to_string(count) + " ids, over the limit of " +
           std::to_string(maxHeldIds);
  if ((block.size() - HOLDINGS_EMPTY_BYTES) != count * HELD_ID_BYTES)
    return "the block lists " + std::to_string(count) + " ids but has room for " +
           std::to_string((block.size() - HOLDINGS_EMPTY_BYTES) / HELD_ID_BYTES) +
           ((block.size() - HOLDINGS_EMPTY_BYTES) % HELD_ID_BYTES ? " and a part" : "");
  const std::size_t idBytes = static_cast<std::size_t>(count) * HELD_ID_BYTES;
  Holdings out;
  std::memcpy(out.writer.bytes.data(), block.data() + 16, out.writer.bytes.size());
  out.at = static_cast<std::int64_t>(getU64(block.data() + 48));
  const std::uint8_t* ids = block.data() + HOLDINGS_IDS_AT;
  for (std::size_t i = HELD_ID_BYTES; i < idBytes; i += HELD_ID_BYTES)
    if (std::memcmp(ids + i - HELD_ID_BYTES, ids + i, HELD_ID_BYTES) >= 0)
      return "the ids are not in strictly ascending order (id " +
             std::to_string(i / HELD_ID_BYTES) + ")";
  Signature signature;
  std::memcpy(signature.bytes.data(), ids + idBytes, SIGNATURE_BYTES);
  if (!verifySignature(out.writer,
                       holdingsMessage(block.subspan(16, HOLDINGS_IDS_AT - 16 + idBytes)),
                       signature))
    return "the signature is not by the key " + out.writer.hex() +
           " the block names: forged, altered or damaged";
  out.ids.resize(static_cast<std::size_t>(count));
  if (idBytes != 0) std::memcpy(out.ids.data(), ids, idBytes);
  return out;
}

// --- Names -------------------------------------------------------------------------------------

std::string BundlePosition::describe() const {
  std::string s = "frame " + std::to_string(frame);
  if (index) return s + ", object " + std::to_string(*index);
  return s + " (byte " + std::to_string(offset) + ")";
}

std::string_view bundleDamageName(BundleDamage damage) {
  switch (damage) {
    case BundleDamage::NotABundle:
      return "not a bundle";
    case BundleDamage::UnsupportedVersion:
      return "unsupported version";
    case BundleDamage::BadHeader:
      return "damaged header";
    case BundleDamage::Truncated:
      return "truncated";
    case BundleDamage::DamagedFrame:
      return "damaged frame";
    case BundleDamage::MissingFrames:
      return "missing frames";
    case BundleDamage::Oversized:
      return "oversized";
    case BundleDamage::BadObjectFraming:
      return "bad object framing";
    case BundleDamage::InvalidObject:
      return "invalid object";
    case BundleDamage::CountMismatch:
      return "count mismatch";
    case BundleDamage::HashMismatch:
      return "hash mismatch";
    case BundleDamage::TrailingBytes:
      return "trailing bytes";
    case BundleDamage::BadHoldings:
      return "bad holdings";
  }
  return "unknown";
}

std::string BundleRejection::message() const {
  return position.describe() + ": " + std::string(bundleDamageName(damage)) + ": " + detail;
}

// --- Reader ------------------------------------------------------------------------------------

struct BundleReader::Impl {
  Source source;
  BundleLimits limits;
  BundleHeader header;

  // Input: buffer[pos, end) is not consumed yet; `consumed` is the file offset of buffer[pos].
  // Bytes are hashed as they are consumed, which is always in file order.
  std::vector<std::uint8_t> buffer;
  std::size_t pos = 0;
  std::uint64_t consumed = 0;
  std::uint64_t received = 0;
  bool eof = false;
  bool overLimit = false;
  crypto_generichash_state hash;
  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx{ZSTD_createDCtx()};

  // The frame being handed out, decompressed.
  std::vector<std::uint8_t> content;
  std::size_t contentPos = 0;
  bool inFrame = false;
  std::uint32_t frame = 0;
  std::uint32_t frameIndex = 0;
  std::uint32_t frameDeclared = 0;
  std::uint64_t frameOffset = 0;

  std::uint32_t nextFrame = 0;  // the number the next frame should have
  std::uint64_t objects = 0;
  bool done = false;
  bool intact = true;
  std::deque<BundleRejection> problems;
  std::optional<Holdings> holdings;
  bool holdingsSeen = false;

  /// Damage whose extent is known only at the next intact frame or the trailer.
  struct Lost {
    std::uint32_t firstFrame = 0;
    std::uint64_t offset = 0;
    BundleDamage damage = BundleDamage::DamagedFrame;
    std::string detail;
  };
  std::optional<Lost> lost;

  std::size_t available() const { return buffer.size() - pos; }
  const std::uint8_t* at(std::size_t offset = 0) const { return buffer.data() + pos + offset; }

  /// Pulls from the source until n bytes are available or the input ends.
  void fill(std::size_t n) {
    while (available() < n && !eof) {
      if (pos > 0) {
        buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(pos));
        pos = 0;
      }
      const std::size_t want = std::max(READ_CHUNK, n - available());
      const std::size_t old = buffer.size();
      buffer.resize(old + want);
      const std::size_t got = source(std::span(buffer).subspan(old, want));
      buffer.resize(old + std::min(got, want));
      received += std::min(got, want);
      if (got == 0) eof = true;
      if (received > limits.maxBundleBytes) {  // what lies past the limit is never read
        buffer.resize(buffer.size() - static_cast<std::size_t>(received - limits.maxBundleBytes));
        received = limits.maxBundleBytes;
        overLimit = true;
        eof = true;
      }
    }
  }

  void consume(std::size_t n) {
    crypto_generichash_update(&hash, at(), n);
    pos += n;
    consumed += n;
  }

  void report(BundlePosition position, BundleDamage damage, std::string detail) {
    intact = false;
    problems.push_back({position, damage, std::move(detail)});
  }

  BundlePosition here() const { return {nextFrame, std::nullopt, consumed}; }

  void startLost(BundleDamage damage, std::string detail) {
    intact = false;
    if (!lost) lost = Lost{nextFrame, consumed, damage, std::move(detail)};
  }

  /// Reports the pending damage, now that the next intact frame (or the end) is known.
  void settleLost(std::optional<std::uint32_t> nextIntact) {
    if (!lost) return;
    std::string extent;
    if (!nextIntact) {
      extent = "every frame from here to the end is lost";
    } else if (*nextIntact <= lost->firstFrame + 1) {
      extent = "its objects are lost";
    } else {
      extent = "frames " + std::to_string(lost->firstFrame) + " to " +
               std::to_string(*nextIntact - 1) + " are lost";
    }
    report({lost->firstFrame, std::nullopt, lost->offset}, lost->damage,
           lost->detail + "; " + extent + ", reading resumes at the next intact frame");
    lost.reset();
    if (nextIntact) nextFrame = std::max(nextFrame, *nextIntact);
  }

  void endOfInput() {
    settleLost(std::nullopt);
    if (overLimit) {
      report(here(), BundleDamage::Oversized,
             "the file is larger than the limit of " + std::to_string(limits.maxBundleBytes) +
                 " bytes; reading stopped");
    } else {
      report(here(), BundleDamage::Truncated,
             "the file ends after " + plural(nextFrame, "frame") +
                 " without a trailer: it was cut short, objects after byte " +
                 std::to_string(consumed) + " are missing");
    }
    done = true;
  }

  /// Skips to the next frame, holdings or trailer marker (or the end), consuming what lies
  /// between.
  void skipToMarker() {
    for (;;) {
      fill(PREFIX_BYTES);
      const std::size_t n = available();
      if (n < PREFIX_BYTES) {
        consume(n);
        return;
      }
      for (std::size_t i = 0; i + PREFIX_BYTES <= n; ++i) {
        if (startsBlock(at(i))) {
          consume(i);
          return;
        }
      }
      consume(n - (PREFIX_BYTES - 1));
    }
  }

  /// True when a block's marker starts after the current byte in what is buffered
  /// (at the end of the input: in the rest of the file).
  bool markerAhead() const {
    for (std::size_t i = 1; i + PREFIX_BYTES <= available(); ++i)
      if (startsBlock(at(i))) return true;
    return false;
  }

  /// Reads the block at the current offset: a frame, the trailer, or damage.
  void step() {
    fill(PREFIX_BYTES);
    if (available() == 0) return endOfInput();
    if (available() >= PREFIX_BYTES && startsWith(at(), FRAME_PREFIX)) return readFrame();
    if (available() >= PREFIX_BYTES && startsWith(at(), TRAILER_PREFIX)) return readTrailer();
    if (available() >= PREFIX_BYTES && startsHoldings(at())) return readHoldings();
    if (available() < PREFIX_BYTES) {  // the input ends in a block's first bytes
      consume(available());
      return endOfInput();
    }
    startLost(BundleDamage::DamagedFrame, "no frame starts at byte " + std::to_string(consumed));
    skipToMarker();
  }

  void readFrame() {
    const std::uint64_t offset = consumed;
    fill(FRAME_HEADER_BYTES);
    if (available() < FRAME_HEADER_BYTES) {
      consume(available());
      return endOfInput();
    }
    const std::uint32_t number = getU32(at(16));
    const std::uint32_t count = getU32(at(20));
    const std::uint32_t compressedBytes = getU32(at(24));
    const std::uint32_t contentBytes = getU32(at(28));
    if (compressedBytes > maxCompressedBytes(limits) || contentBytes > limits.maxFrameBytes ||
        count > limits.maxObjectsPerFrame) {
      // A damaged length looks the same as a hostile one; either way nothing is read on trust.
      startLost(BundleDamage::Oversized,
                "the frame at byte " + std::to_string(offset) + " declares " +
                    std::to_string(contentBytes) + " bytes (" + std::to_string(compressedBytes) +
                    " compressed) and " + plural(count, "object") + ", over the limits of " +
                    std::to_string(limits.maxFrameBytes) + " bytes and " +
                    std::to_string(limits.maxObjectsPerFrame) + " objects");
      consume(1);
      return skipToMarker();
    }
    fill(FRAME_HEADER_BYTES + compressedBytes);
    if (available() < FRAME_HEADER_BYTES + compressedBytes && overLimit) {
      consume(available());
      return endOfInput();
    }
    if (available() < FRAME_HEADER_BYTES + compressedBytes && markerAhead()) {
      // A damaged length, not a cut: another block follows within the file.
      startLost(BundleDamage::DamagedFrame, "the frame at byte " + std::to_string(offset) +
                                                " claims more bytes than lie before the next "
                                                "frame");
      consume(1);
      return skipToMarker();
    }
    if (available() < FRAME_HEADER_BYTES + compressedBytes) {
      settleLost(std::nullopt);
      report({nextFrame, std::nullopt, offset}, BundleDamage::Truncated,
             "the file ends inside frame " + std::to_string(nextFrame) + " (" +
                 std::to_string(available()) + " of its " +
                 std::to_string(FRAME_HEADER_BYTES + compressedBytes) +
                 " bytes are there): it was cut short, its objects and any after it are missing");
      consume(available());
      done = true;
      return;
    }
    const auto sum = check(std::span(at(), 32), std::span(at(FRAME_HEADER_BYTES), compressedBytes));
    if (std::memcmp(sum.data(), at(32), CHECK_BYTES) != 0) {
      startLost(BundleDamage::DamagedFrame,
                "checksum mismatch in the frame at byte " + std::to_string(offset));
      consume(1);
      return skipToMarker();
    }
    if (number < nextFrame || number == UINT32_MAX) {
      startLost(BundleDamage::DamagedFrame, "frame numbered " + std::to_string(number) +
                                                " where frame " + std::to_string(nextFrame) +
                                                " was expected (out of order or repeated)");
      consume(FRAME_HEADER_BYTES + compressedBytes);
      return;
    }
    if (lost) {
      settleLost(number);
    } else if (number > nextFrame) {
      report(here(), BundleDamage::MissingFrames,
             "frames " + std::to_string(nextFrame) + " to " + std::to_string(number - 1) +
                 " are not in the file: their objects are missing");
    }
    nextFrame = number + 1;

    // Decompress into exactly the declared size: zstd cannot write more than that.
    const std::uint8_t* data = at(FRAME_HEADER_BYTES);
    std::string zstdProblem;
    const unsigned long long declared = ZSTD_getFrameContentSize(data, compressedBytes);
    const std::size_t frameSize = ZSTD_findFrameCompressedSize(data, compressedBytes);
    content.resize(contentBytes);
    if (declared != contentBytes) {
      zstdProblem =
          "the zstd frame does not declare the frame's " + std::to_string(contentBytes) + " bytes";
    } else if (ZSTD_isError(frameSize) || frameSize != compressedBytes) {
      zstdProblem = "the compressed bytes are not exactly one zstd frame";
    } else {
      const std::size_t n =
          ZSTD_decompressDCtx(dctx.get(), content.data(), content.size(), data, compressedBytes);
      if (ZSTD_isError(n)) {
        zstdProblem = std::string("zstd: ") + ZSTD_getErrorName(n);
      } else if (n != contentBytes) {
        zstdProblem = "decompressed to " + std::to_string(n) + " bytes, not the declared " +
                      std::to_string(contentBytes);
      }
    }
    consume(FRAME_HEADER_BYTES + compressedBytes);
    if (!zstdProblem.empty()) {
      report({number, std::nullopt, offset}, BundleDamage::DamagedFrame,
             zstdProblem + "; its " + plural(count, "object") + " are lost");
      return;
    }
    inFrame = true;
    contentPos = 0;
    frame = number;
    frameIndex = 0;
    frameDeclared = count;
    frameOffset = offset;
  }

  /// The next object of the open frame, a problem with it, or empty when the frame is done.
  std::optional<Expected<BundleObject, BundleRejection>> fromFrame() {
    auto stop = [&](BundleDamage damage,
                    std::string detail) -> std::optional<Expected<BundleObject, BundleRejection>> {
      inFrame = false;
      intact = false;
      return BundleRejection{{frame, frameIndex, frameOffset}, damage, std::move(detail)};
    };
    const std::size_t left = content.size() - contentPos;
    if (left == 0) {
      inFrame = false;
      if (frameIndex != frameDeclared)
        return stop(BundleDamage::BadObjectFraming, "the frame declares " +
                                                        plural(frameDeclared, "object") +
                                                        " but holds " + std::to_string(frameIndex));
      return std::nullopt;
    }
    if (frameIndex >= frameDeclared)
      return stop(BundleDamage::BadObjectFraming, "the frame holds more than the " +
                                                      plural(frameDeclared, "object") +
                                                      " it declares; the rest of it is skipped");
    if (objects >= limits.maxObjects)
      return stop(BundleDamage::Oversized, "more than " + std::to_string(limits.maxObjects) +
                                               " objects; the rest is skipped");
    if (left < OBJECT_PREFIX_BYTES)
      return stop(BundleDamage::BadObjectFraming,
                  "the frame ends inside an object's length; the rest of the frame is skipped");
    const std::uint8_t* p = content.data() + contentPos;
    if (getU32(p) != 0)
      return stop(BundleDamage::BadObjectFraming,
                  "not a single-segment Cap'n Proto message; the rest of the frame is skipped");
    const std::uint64_t bytes = std::uint64_t{getU32(p + 4)} * 8;
    if (bytes > limits.object.maxObjectBytes)
      return stop(BundleDamage::Oversized, "an object of " + std::to_string(bytes) +
                                               " bytes, over the limit of " +
                                               std::to_string(limits.object.maxObjectBytes) +
                                               "; the rest of the frame is skipped");
    if (bytes > left - OBJECT_PREFIX_BYTES)
      return stop(BundleDamage::BadObjectFraming,
                  "an object runs past the end of its frame; the rest of the frame is skipped");
    BundleObject object{
        {frame, frameIndex, frameOffset},
        std::vector<std::uint8_t>(p + OBJECT_PREFIX_BYTES, p + OBJECT_PREFIX_BYTES + bytes)};
    contentPos += OBJECT_PREFIX_BYTES + bytes;
    ++frameIndex;
    ++objects;
    return object;
  }

  /// Reads a holdings block whole, into memory that grows with the bytes actually there (never
  /// with what a length claims), then checks it with decodeHoldings. A block that does not
  /// check is reported and ignored; the objects are not affected.
  void readHoldings() {
    const std::uint64_t offset = consumed;
    const BundlePosition position{nextFrame, std::nullopt, offset};
    const std::uint64_t total = std::uint64_t{getU32(at(4))} + 8;
    auto skip = [&](std::string detail) {
      report(position, BundleDamage::BadHoldings, std::move(detail) + "; the block is ignored");
      consume(1);
      skipToMarker();
    };
    if (header.version == BUNDLE_VERSION_1)
      return skip("a holdings block in a version 1 bundle, which has none");
    if (holdingsSeen) return skip("a second holdings block");
    holdingsSeen = true;
    if (total < HOLDINGS_EMPTY_BYTES ||
        total > HOLDINGS_EMPTY_BYTES + limits.maxHeldIds * HELD_ID_BYTES)
      return skip("the holdings block at byte " + std::to_string(offset) + " declares " +
                  std::to_string(total) + " bytes, outside " +
                  std::to_string(HOLDINGS_EMPTY_BYTES) + " to " +
                  std::to_string(HOLDINGS_EMPTY_BYTES + limits.maxHeldIds * HELD_ID_BYTES) +
                  " (at most " + std::to_string(limits.maxHeldIds) + " ids)");
    std::vector<std::uint8_t> block;
    while (block.size() < total) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(total - block.size(), READ_CHUNK));
      fill(want);
      const std::size_t n = std::min(want, available());
      if (n == 0) {
        report(position, BundleDamage::Truncated,
               "the file ends inside the holdings block (" + std::to_string(block.size()) +
                   " of its " + std::to_string(total) +
                   " bytes are there): it was cut short, the trailer is missing");
        done = true;
        return;
      }
      block.insert(block.end(), at(), at() + n);
      consume(n);
    }
    auto decoded = decodeHoldings(block, limits.maxHeldIds);
    if (!decoded) {
      report(position, BundleDamage::BadHoldings,
             "the holdings block at byte " + std::to_string(offset) + ": " + decoded.error() +
                 "; the block is ignored");
      return;
    }
    holdings = std::move(decoded.value());
  }

  void readTrailer() {
    fill(TRAILER_BYTES);
    if (available() < TRAILER_BYTES) {
      consume(available());
      return endOfInput();
    }
    const std::uint32_t frames = getU32(at(16));
    const std::uint32_t reserved = getU32(at(20));
    const std::uint64_t count = getU64(at(24));
    settleLost(frames >= nextFrame ? std::optional(frames) : std::nullopt);
    const bool wholeSoFar = intact;
    if (wholeSoFar && frames > nextFrame) {
      report(here(), BundleDamage::MissingFrames,
             "the trailer counts " + plural(frames, "frame") + " but the file holds " +
                 std::to_string(nextFrame) + ": the objects of the others are missing");
    }
    consume(32);
    std::array<std::uint8_t, HASH_BYTES> sum{};
    crypto_generichash_final(&hash, sum.data(), sum.size());
    const bool hashHolds = std::memcmp(sum.data(), at(), HASH_BYTES) == 0;
    pos += HASH_BYTES;
    consumed += HASH_BYTES;
    const BundlePosition trailer{nextFrame, std::nullopt, consumed - TRAILER_BYTES};
    // After damage the hash cannot hold; saying so again would only repeat it.
    if (!hashHolds && wholeSoFar) {
      report(trailer, BundleDamage::HashMismatch,
             "the trailer's BLAKE2b hash does not match the bytes before it: the header or the "
             "trailer was damaged or altered");
    } else if (reserved != 0 && wholeSoFar) {
      report(trailer, BundleDamage::BadHeader, "the trailer's reserved field is not zero");
    }
    if (wholeSoFar && (count != objects || header.objectCount != objects)) {
      report(trailer, BundleDamage::CountMismatch,
             "the header announces " + plural(header.objectCount, "object") + " and the trailer " +
                 std::to_string(count) + ", but the frames hold " + std::to_string(objects));
    }
    fill(1);
    if (available() > 0) {
      report({nextFrame, std::nullopt, consumed}, BundleDamage::TrailingBytes,
             "bytes follow the trailer at byte " + std::to_string(consumed) +
                 ": something was appended to the bundle");
    }
    done = true;
  }
};

BundleReader::BundleReader(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
BundleReader::BundleReader(BundleReader&&) noexcept = default;
BundleReader& BundleReader::operator=(BundleReader&&) noexcept = default;
BundleReader::~BundleReader() = default;

Expected<BundleReader, BundleRejection> BundleReader::open(Source source, BundleLimits limits) {
  ensureSodium();
  auto impl = std::make_unique<Impl>();
  Impl& r = *impl;
  r.source = std::move(source);
  r.limits = limits;
  if (!r.dctx) throw Error("ZSTD_createDCtx: out of memory");
  ZSTD_DCtx_setParameter(r.dctx.get(), ZSTD_d_windowLogMax, 23);
  crypto_generichash_init(&r.hash, nullptr, 0, HASH_BYTES);

  auto refuse = [&](BundleDamage damage, std::string detail) {
    return BundleRejection{{0, std::nullopt, 0}, damage, std::move(detail)};
  };
  r.fill(HEADER_BYTES);
  const std::size_t n = r.available();
  if (n == 0) return refuse(BundleDamage::NotABundle, "the file is empty");
  if (std::memcmp(r.at(), HEADER_PREFIX.data(), std::min(n, PREFIX_BYTES)) != 0)
    return refuse(BundleDamage::NotABundle,
                  "not a fieldsync bundle: the file does not start with a bundle header");
  if (n < HEADER_BYTES)
    return refuse(BundleDamage::Truncated, "the file ends inside the bundle header (" +
                                               std::to_string(n) + " of " +
                                               std::to_string(HEADER_BYTES) + " bytes)");
  const std::uint32_t version = getU32(r.at(16));
  const std::uint32_t flags = getU32(r.at(20));
  const auto sum = check(std::span(r.at(), 40));
  if (std::memcmp(sum.data(), r.at(40), CHECK_BYTES) != 0) {
    // The frames carry their own checks: a damaged header loses only its own fields.
    r.report({0, std::nullopt, 0}, BundleDamage::BadHeader,
             "the header's checksum does not match: its creation time and object count are "
             "unknown; the frames are read on their own checks");
  } else if ((version != BUNDLE_VERSION_1 && version != BUNDLE_VERSION) || flags != 0) {
    return refuse(BundleDamage::UnsupportedVersion,
                  "format version " + std::to_string(version) + (flags ? " with flags" : "") +
                      "; this fieldsync reads versions " + std::to_string(BUNDLE_VERSION_1) +
                      " and " + std::to_string(BUNDLE_VERSION));
  } else {
    r.header = {version, static_cast<std::int64_t>(getU64(r.at(24))), getU64(r.at(32))};
    if (r.header.objectCount > limits.maxObjects)
      return refuse(BundleDamage::Oversized,
                    "the header announces " + std::to_string(r.header.objectCount) +
                        " objects, over the limit of " + std::to_string(limits.maxObjects));
  }
  r.consume(HEADER_BYTES);
  return BundleReader(std::move(impl));
}

Expected<BundleReader, BundleRejection> BundleReader::open(std::span<const std::uint8_t> bytes,
                                                           BundleLimits limits) {
  std::size_t offset = 0;
  return open(
      [bytes, offset](std::span<std::uint8_t> buffer) mutable {
        const std::size_t n = std::min(buffer.size(), bytes.size() - offset);
        if (n > 0)
          std::memcpy(buffer.data(), bytes.data() + offset, n);  // empty: data() may be null
        offset += n;
        return n;
      },
      limits);
}

const BundleHeader& BundleReader::header() const { return m_impl->header; }

std::optional<Expected<BundleObject, BundleRejection>> BundleReader::next() {
  Impl& r = *m_impl;
  for (;;) {
    if (!r.problems.empty()) {
      BundleRejection problem = std::move(r.problems.front());
      r.problems.pop_front();
      return problem;
    }
    if (r.inFrame) {
      if (auto item = r.fromFrame()) return item;
      continue;
    }
    if (r.done) return std::nullopt;
    r.step();
  }
}

bool BundleReader::intact() const { return m_impl->done && m_impl->intact; }
const std::optional<Holdings>& BundleReader::holdings() const { return m_impl->holdings; }
std::uint64_t BundleReader::objectsRead() const { return m_impl->objects; }
std::uint64_t BundleReader::bytesRead() const { return m_impl->consumed; }

}  // namespace fieldsync::protocol
