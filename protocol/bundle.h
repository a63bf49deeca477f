#pragma once
// Offline bundles: signed objects in a file, for a USB stick or an e-mail attachment.
//
//   header block   magic, format version, creation time, object count
//   frame blocks   objects, zstd-compressed in frames; each frame has its own lengths and
//                  checksum, so a damaged frame loses only its own objects
//   holdings block (version 2, optional) what the writer holds: its key, the time and the
//                  16-byte prefixes of every object id in its archive, signed by its key
//   trailer block  frame and object counts, BLAKE2b-256 of every byte before the hash
//
// Every block is a zstd skippable frame, and the objects inside a frame are Cap'n Proto
// messages in the standard stream framing, so `zstd -dc FILE | capnp decode ... SignedObject`
// dumps a whole bundle with stock tools. The byte layout is in docs/bundle.md.
//
// Pure code, no file I/O: the writer hands bytes to a Sink, the reader pulls them from a
// Source. The reader treats every byte as hostile: every length is bounded (BundleLimits),
// decompression never produces more than the frame declares and the limits allow, and damage
// is reported as a value with its position, never thrown. The reader checks structure only:
// what it returns are unverified bytes, to be passed to protocol::verify().
// Threads: a writer or reader is used by one thread at a time. Errors: a Source or Sink may
// throw (fieldsync::Error); that passes through. Broken preconditions of the writer throw
// std::logic_error (bugs, not input).

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/error.h"
#include "protocol/object.h"

namespace fieldsync::protocol {

/// The newest format version, read and written: a bundle with a holdings block.
inline constexpr std::uint32_t BUNDLE_VERSION = 2;
/// The first version, still read, and written for a bundle without a holdings block so that
/// readers of version 1 read it.
inline constexpr std::uint32_t BUNDLE_VERSION_1 = 1;

/// Where outside bytes go: called with each piece of the bundle, in order.
using Sink = std::function<void(std::span<const std::uint8_t>)>;
/// Where a bundle's bytes come from: fills the start of buffer, returns how many bytes it
/// wrote, 0 only at the end of the input.
using Source = std::function<std::size_t(std::span<std::uint8_t> buffer)>;

/// Bounds for reading a bundle; part of the interface, not a detail.
struct BundleLimits {
  std::uint64_t maxBundleBytes = std::uint64_t{64} << 30;  // the whole file
  std::uint64_t maxObjects = std::uint64_t{1} << 26;       // objects in the whole bundle
  std::uint32_t maxFrameBytes = 8u << 20;                  // one frame, decompressed
  std::uint32_t maxObjectsPerFrame = 1u << 16;
  Limits object;  // maxObjectBytes bounds each object
  /// Ids in a holdings block, 16 bytes each (2^24: 256 MiB).
  std::uint64_t maxHeldIds = std::uint64_t{1} << 24;
};

// --- Holdings: what a bundle's writer holds ------------------------------------------------
// A bundle may say what its writer held when it wrote it, so that the next bundle for that
// writer carries only what it lacks (a USB stick is a link). The claim is signed by the
// writer's key under a domain tag of its own, so a stick cannot speak for a node that did not
// write it. Layout: docs/bundle.md, "Holdings block".

inline constexpr std::string_view HOLDINGS_TAG = "fieldsync/bundle-holdings/v1";
inline constexpr std::size_t HELD_ID_BYTES = 16;
/// The first HELD_ID_BYTES bytes of an object id: how a holdings block names an object.
/// 128 bits: no two objects of one archive share one unless someone mined them to, and a
/// writer that did so would only deprive itself of an object.
using HeldId = std::array<std::uint8_t, HELD_ID_BYTES>;
[[nodiscard]] HeldId heldId(const ObjectId& id);

/// What a writer held at a time, as its holdings block says. Made by decodeHoldings, which
/// checks the writer's signature, and by tests.
struct Holdings {
  PublicKey writer;
  std::int64_t at = 0;      // unix seconds, by the writer's clock
  std::vector<HeldId> ids;  // strictly ascending
  /// Whether id's prefix is among ids (binary search).
  [[nodiscard]] bool holds(const ObjectId& id) const;
  bool operator==(const Holdings&) const = default;
};

/// Signs message with the writer's secret key: the store layer signs through this, so it never
/// sees the key.
using HoldingsSigner = std::function<Signature(std::span<const std::uint8_t> message)>;

/// The holdings block (its bytes as they go into a bundle) saying writer held ids at `at`;
/// ids are sorted and deduplicated here. sign must sign with writer's key. More than
/// BundleLimits{}.maxHeldIds ids, or a signature that writer's key does not verify, throw
/// std::logic_error (bugs, not input). Costs 128 + 16 bytes per id.
std::vector<std::uint8_t> encodeHoldings(const PublicKey& writer, std::int64_t at,
                                         std::vector<HeldId> ids, const HoldingsSigner& sign);

/// Checks a whole holdings block, from its first byte: the block's framing, the count against
/// maxHeldIds and the block's length (before anything is allocated), strictly ascending ids,
/// and the writer's signature. Refused: the reason, for a person.
[[nodiscard]] Expected<Holdings, std::string> decodeHoldings(
    std::span<const std::uint8_t> block, std::uint64_t maxHeldIds = BundleLimits{}.maxHeldIds);

struct BundleWriterOptions {
  /// A frame is closed once its objects reach this many bytes: larger frames compress a
  /// little better, smaller ones lose less to one damaged byte (docs/benchmarks.md).
  std::size_t frameBytes = 1u << 20;
  int zstdLevel = 3;
};

/// Writes a bundle of exactly objectCount objects to sink, a frame at a time: memory stays
/// at about one frame. The header goes out on construction, the trailer on finish().
/// holdings: a block from encodeHoldings, written before the trailer (a version 2 bundle);
/// empty: none (a version 1 bundle). A block that is not one throws std::logic_error.
class BundleWriter {
 public:
  BundleWriter(Sink sink, std::int64_t createdAt, std::uint64_t objectCount,
               BundleWriterOptions options = {}, std::vector<std::uint8_t> holdings = {});
  ~BundleWriter();
  BundleWriter(const BundleWriter&) = delete;
  BundleWriter& operator=(const BundleWriter&) = delete;

  /// Adds one object: SignedObject bytes as stored (whole 8-byte words, at most
  /// Limits::maxObjectBytes). More objects than announced, or bytes that are not whole words
  /// or too large, throw std::logic_error.
  void add(std::span<const std::uint8_t> signedObject);
  /// Writes the last frame and the trailer. Throws std::logic_error unless exactly
  /// objectCount objects were added. Without finish() the bundle has no trailer and
  /// reads as truncated.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// A whole bundle in memory, for tests and small exports.
std::vector<std::uint8_t> writeBundle(const std::vector<std::vector<std::uint8_t>>& objects,
                                      std::int64_t createdAt, BundleWriterOptions options = {},
                                      std::vector<std::uint8_t> holdings = {});

struct BundleHeader {
  std::uint32_t version = 0;
  std::int64_t createdAt = 0;     // unix seconds, as the writer claims
  std::uint64_t objectCount = 0;  // as the writer claims
};

/// Where something is in a bundle. Frames count from 0 in file order, objects from 0 within
/// their frame; offset is the byte offset in the file of the frame block (or of the problem).
struct BundlePosition {
  std::uint32_t frame = 0;
  std::optional<std::uint32_t> index;  // the object within the frame; empty: the whole frame
  std::uint64_t offset = 0;
  /// "frame 3, object 17" or "frame 3 (byte 1048623)".
  std::string describe() const;
};

enum class BundleDamage {
  NotABundle,          // the file does not start with a bundle header
  UnsupportedVersion,  // a bundle of a format version this reader does not know
  BadHeader,           // the header's checksum or fields do not hold
  Truncated,           // the file ends before the trailer
  DamagedFrame,        // a frame's checksum, lengths or compressed data do not hold
  MissingFrames,       // frame numbers skip: frames were lost or removed
  Oversized,           // a length over BundleLimits
  BadObjectFraming,    // a frame's content does not split into objects
  InvalidObject,       // an object that protocol::verify() refuses (set by callers)
  CountMismatch,       // fewer or more objects than the header or trailer announce
  HashMismatch,        // the trailer's hash does not match the bytes before it
  TrailingBytes,       // bytes after the trailer
  BadHoldings,         // a holdings block that does not check (framing, bounds, signature)
};
std::string_view bundleDamageName(BundleDamage damage);

struct BundleRejection {
  BundlePosition position;
  BundleDamage damage = BundleDamage::DamagedFrame;
  std::string detail;           // for a person: "checksum mismatch; its 42 objects are lost"
  std::string message() const;  // "<position>: <damage>: <detail>"
};

/// One object as found in a bundle: unverified bytes.
struct BundleObject {
  BundlePosition position;
  std::vector<std::uint8_t> bytes;  // SignedObject bytes, to be passed to protocol::verify()
};

/// Reads a bundle from a Source, one object (or one problem) at a time. Damage loses only
/// what it touches: after a bad frame the reader resynchronises on the next frame's marker.
class BundleReader {
 public:
  /// Reads and checks the header. A refusal (NotABundle, UnsupportedVersion, BadHeader,
  /// Truncated, Oversized) means nothing in the file can be trusted to be a bundle.
  static Expected<BundleReader, BundleRejection> open(Source source, BundleLimits limits = {});
  /// A reader over bytes that outlive it.
  static Expected<BundleReader, BundleRejection> open(std::span<const std::uint8_t> bytes,
                                                      BundleLimits limits = {});
  BundleReader(BundleReader&&) noexcept;
  BundleReader& operator=(BundleReader&&) noexcept;
  ~BundleReader();

  const BundleHeader& header() const;
  /// The next object, or the next problem (a damaged frame, truncation, a bad hash...), in
  /// file order; empty at the end. Problems are reported once each and reading goes on.
  std::optional<Expected<BundleObject, BundleRejection>> next();
  /// After next() returned empty: true when nothing was lost or altered: every frame held,
  /// the trailer was there, its hash and the counts matched, nothing followed it.
  bool intact() const;
  /// After next() returned empty: what the writer held, when the bundle has a holdings block
  /// that checked, signature included (decodeHoldings); empty otherwise. A block that does not
  /// check is reported by next() (BadHoldings) and ignored.
  const std::optional<Holdings>& holdings() const;
  std::uint64_t objectsRead() const;
  std::uint64_t bytesRead() const;

 private:
  struct Impl;
  explicit BundleReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace fieldsync::protocol
