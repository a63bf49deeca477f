#pragma once
// Sync session messages (schema/sync.capnp) as C++ values, their encoding, and the batch
// content codec. Pure code: the session logic is in node/session.h, the sockets in
// node/transport.h. Every decoder takes untrusted bytes and bounds what it reads.
// Threads: pure functions.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "protocol/error.h"
#include "protocol/object.h"
#include "protocol/range_index.h"
#include "protocol/reconcile.h"

namespace fieldsync::protocol::sync {

/// 2: objects may be retractions and release parts, which a version-1 node cannot read; the
/// two do not sync (each says which version the other speaks) rather than refuse batches.
/// 3: objects may be annotations, which a version-2 node cannot read (it would refuse every
/// batch holding one as an unknown kind); the two do not sync, as above.
inline constexpr std::uint32_t PROTOCOL_VERSION = 3;
inline constexpr std::string_view ARCHIVE_FINGERPRINT_TAG = "fieldsync/archive-fingerprint/v1";

/// A whole archive: two archives holding the same objects have the same state.
struct ArchiveState {
  std::uint64_t count = 0;
  Digest fingerprint;  // BLAKE2b-256(tag || count (8 bytes LE) || id sum), unsalted
  bool operator==(const ArchiveState&) const = default;
};
ArchiveState archiveState(const RangeSum& everything);

/// Hello::features bits: what a node can do beyond its version. Bits a node does not know are
/// ignored; a node that predates the field sends none.
inline constexpr std::uint32_t FEATURE_ZSTD_STREAM = 1;  // reads Compression::ZstdStream batches
/// The window of a batch stream (Compression::ZstdStream): 2^20 bytes, which bounds what a
/// receiver keeps per session; a stream that asks for more is refused.
inline constexpr int STREAM_WINDOW_LOG = 20;

struct Hello {
  std::uint32_t version = PROTOCOL_VERSION;
  Salt salt{};  // from the initiator; zero from the responder
  ArchiveState state;
  std::uint32_t rate = 0;      // bytes per second each way the sender allows; 0: no cap
  std::uint64_t budget = 0;    // bytes both ways the sender allows this session; 0: no limit
  std::uint32_t features = 0;  // FEATURE_* bits
};
struct Reconcile {
  std::uint32_t round = 0;
  bool last = false;
  std::vector<std::uint8_t> frame;  // empty for a round with no ranges
};
/// Zstd: one frame per batch. ZstdStream: the batch continues the session's stream in its
/// direction (BatchPacker::useStream, BatchUnpacker).
enum class Compression : std::uint8_t { None, Zstd, ZstdStream };
struct Batch {
  std::uint32_t number = 0;
  std::uint32_t objects = 0;
  std::uint32_t rawBytes = 0;
  Compression compression = Compression::None;
  std::vector<std::uint8_t> content;
};
struct Ack {
  std::uint32_t batch = 0;
  ArchiveState state;
};
struct Done {
  ArchiveState state;
};
struct Failure {
  std::string reason;
};
using Message = std::variant<Hello, Reconcile, Batch, Ack, Done, Failure>;
std::string_view messageName(const Message& message);

/// Bounds on what a peer may send.
struct MessageLimits {
  std::size_t maxMessageBytes = 8u << 20;
  std::size_t maxBatchRawBytes = 8u << 20;  // decompressed content of one batch
  std::size_t maxBatchObjects = 4096;
  std::size_t maxFailureChars = 1024;
  Limits object;  // each object in a batch
};

std::vector<std::uint8_t> encode(const Message& message);

/// Why a peer's bytes were refused; ends the session.
struct MessageProblem {
  std::string detail;
};

/// Decodes one message. The bytes may sit anywhere in memory: they are copied to an aligned
/// buffer when needed, since Cap'n Proto reads words.
Expected<Message, MessageProblem> decode(std::span<const std::uint8_t> bytes,
                                         const MessageLimits& limits = {});

/// Packs objects (SignedObject bytes) into batches, compressed with zstd (at `level`) when
/// that makes them smaller. Keeps one compression context for all its batches.
class BatchPacker {
 public:
  explicit BatchPacker(int level = 3);
  ~BatchPacker();
  BatchPacker(const BatchPacker&) = delete;
  BatchPacker& operator=(const BatchPacker&) = delete;
  /// From the next batch on, every batch continues one zstd stream (Compression::ZstdStream),
  /// flushed at the end of each batch: a small batch compresses as well as a large one, since
  /// the objects before it (up to the stream's window) serve as its dictionary. Only for a peer
  /// whose Hello has FEATURE_ZSTD_STREAM, before the first batch to it.
  void useStream();
  bool streaming() const { return m_streaming; }
  Batch pack(std::uint32_t number, const std::vector<std::span<const std::uint8_t>>& objects);

 private:
  struct Context;
  std::unique_ptr<Context> m_context;
  int m_level;
  bool m_streaming = false;
};

/// What a stream batch's content may add to its raw bytes at most (zstd's block headers and
/// the flush), for budgets that must hold whatever the compression gives.
std::size_t streamOverhead(std::size_t rawBytes);

/// One batch with a packer of its own, for tests.
Batch packBatch(std::uint32_t number, const std::vector<std::span<const std::uint8_t>>& objects);

/// The objects of a batch, each still to be verified. Refuses a batch whose content does not
/// decompress to exactly rawBytes, exceeds the limits, or does not hold `objects` objects, and
/// a ZstdStream batch (it needs the session's BatchUnpacker).
Expected<std::vector<std::span<const std::uint8_t>>, MessageProblem> unpackBatch(
    const Batch& batch, const MessageLimits& limits, std::vector<std::uint8_t>& storage);

/// Unpacks one direction's batches of a session, in order, as unpackBatch does, and keeps the
/// zstd stream that ZstdStream batches continue. Memory: the stream's window (at most
/// 2^STREAM_WINDOW_LOG bytes) once a stream batch arrived.
class BatchUnpacker {
 public:
  BatchUnpacker();
  ~BatchUnpacker();
  BatchUnpacker(const BatchUnpacker&) = delete;
  BatchUnpacker& operator=(const BatchUnpacker&) = delete;
  Expected<std::vector<std::span<const std::uint8_t>>, MessageProblem> unpack(
      const Batch& batch, const MessageLimits& limits, std::vector<std::uint8_t>& storage);

 private:
  struct Context;
  std::unique_ptr<Context> m_context;
  bool m_broken = false;  // a stream batch failed: the stream cannot go on
};

}  // namespace fieldsync::protocol::sync
