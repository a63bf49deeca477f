#pragma once
// Offline bundles: signed objects in a file, for a USB stick or an e-mail attachment.
//
//   header block   magic, format version, creation time, object count
//   frame blocks   objects, zstd-compressed in frames; each frame has its own lengths and
//                  checksum, so a damaged frame loses only its own objects
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

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/error.h"
#include "protocol/object.h"

namespace fieldsync::protocol {

inline constexpr std::uint32_t BUNDLE_VERSION = 1;

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
};

struct BundleWriterOptions {
  /// A frame is closed once its objects reach this many bytes: larger frames compress a
  /// little better, smaller ones lose less to one damaged byte (docs/benchmarks.md).
  std::size_t frameBytes = 1u << 20;
  int zstdLevel = 3;
};

/// Writes a bundle of exactly objectCount objects to sink, a frame at a time: memory stays
/// at about one frame. The header goes out on construction, the trailer on finish().
class BundleWriter {
 public:
  BundleWriter(Sink sink, std::int64_t createdAt, std::uint64_t objectCount,
               BundleWriterOptions options = {});
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
                                      std::int64_t createdAt, BundleWriterOptions options = {});

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
  std::uint64_t objectsRead() const;
  std::uint64_t bytesRead() const;

 private:
  struct Impl;
  explicit BundleReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace fieldsync::protocol
