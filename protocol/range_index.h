#pragma once
// The ordered set that reconciliation walks: every object as a SyncKey (signedAt, id), with
// the count and the sum of the ids of any range of it.
//
// Reconciliation (protocol/reconcile.h) reads a RangeIndex and nothing else, so it is the
// same pure code against the archive (store/sync_index.h, an aggregate tree in LMDB) and
// against VectorRangeIndex (memory: tests, benchmarks, the reference for differential tests).
// Ranges are given by rank, 0-based in SyncKey order, [from, to).
//
// RangeSum is additive: the sum of a range is the ids read as 256-bit little-endian integers
// added mod 2^256, with the count beside it. So a store can keep sums per block and add or
// subtract them instead of reading every id; reconciliation hashes a RangeSum into a short
// fingerprint (docs/protocol.md, "Fingerprints").
//
// Future-dated objects (docs/decisions/0005-future-dated-objects.md): signedAt is the signer's
// clock, so an object can claim a time far ahead. The key stays what it is (both sides must
// order alike); a node only treats the keys beyond its horizon, its clock plus
// FUTURE_TOLERANCE_SECONDS, as a tail apart from the rest, never as "the newest".
// Threads: a RangeIndex is used by one thread at a time; RangeSum and SyncKey are values.

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "protocol/object.h"

namespace fieldsync::protocol {

inline constexpr std::size_t SYNC_KEY_BYTES = 8 + ID_BYTES;

/// A position in sync order: signedAt, then id bytes.
struct SyncKey {
  std::int64_t signedAt = 0;
  ObjectId id;

  auto operator<=>(const SyncKey&) const = default;
  /// 8 bytes big-endian offset-binary signedAt || id: byte order is key order (as by_time).
  std::array<std::uint8_t, SYNC_KEY_BYTES> bytes() const;
  static SyncKey fromBytes(std::span<const std::uint8_t, SYNC_KEY_BYTES> bytes);
};

/// Count and sum (mod 2^256) of the ids of a set of objects.
struct RangeSum {
  std::uint64_t count = 0;
  std::array<std::uint8_t, ID_BYTES> sum{};

  void add(const ObjectId& id);
  void add(const RangeSum& other);
  /// this - other; other must be a subset's sum for the count to stay meaningful.
  void subtract(const RangeSum& other);
  bool operator==(const RangeSum&) const = default;
};

/// Objects signed more than this ahead of a node's clock are future-dated: one day covers
/// clocks that drift and clocks set to local time as if it were UTC.
inline constexpr std::int64_t FUTURE_TOLERANCE_SECONDS = 24 * 60 * 60;

/// The horizon of a node whose clock reads now: the latest signedAt that is not future-dated,
/// now + FUTURE_TOLERANCE_SECONDS (INT64_MAX when that overflows).
std::int64_t horizonFor(std::int64_t now);
/// True when signedAt lies beyond horizon.
inline bool futureDated(std::int64_t signedAt, std::int64_t horizon) { return signedAt > horizon; }
/// The least key beyond horizon, (horizon + 1, zero id): the keys at or above it are the
/// future-dated tail. Empty when horizon is INT64_MAX (no key can lie beyond it).
std::optional<SyncKey> tailStart(std::int64_t horizon);

class RangeIndex {
 public:
  virtual ~RangeIndex() = default;
  virtual std::uint64_t size() const = 0;
  /// The number of items whose key is less than key.
  virtual std::uint64_t rank(const SyncKey& key) const = 0;
  /// The key of the item at rank. Precondition: rank < size().
  virtual SyncKey at(std::uint64_t rank) const = 0;
  /// The sum of the items with rank in [from, to). Precondition: from <= to <= size().
  virtual RangeSum sum(std::uint64_t from, std::uint64_t to) const = 0;
  /// The keys of the items with rank in [from, to), in order. The caller keeps to - from small.
  virtual std::vector<SyncKey> keys(std::uint64_t from, std::uint64_t to) const = 0;
};

/// The number of items not beyond horizon: ranks [0, result) are not future-dated, ranks
/// [result, size()) are.
std::uint64_t tailRank(const RangeIndex& index, std::int64_t horizon);
/// The keys beyond horizon, in order: the future-dated objects. Reads each of them.
std::vector<SyncKey> tailKeys(const RangeIndex& index, std::int64_t horizon);

/// A RangeIndex in memory: a sorted vector with prefix sums. Inserting is O(n); for tests,
/// benchmarks and as the reference the store's index is checked against.
class VectorRangeIndex final : public RangeIndex {
 public:
  VectorRangeIndex() = default;
  explicit VectorRangeIndex(std::vector<SyncKey> keys);  // any order; duplicates dropped
  /// Adds key; false when it was already present.
  bool insert(const SyncKey& key);
  bool contains(const SyncKey& key) const;

  std::uint64_t size() const override { return m_keys.size(); }
  std::uint64_t rank(const SyncKey& key) const override;
  SyncKey at(std::uint64_t rank) const override { return m_keys[rank]; }
  RangeSum sum(std::uint64_t from, std::uint64_t to) const override;
  std::vector<SyncKey> keys(std::uint64_t from, std::uint64_t to) const override;

 private:
  void rebuildPrefix() const;
  std::vector<SyncKey> m_keys;
  mutable std::vector<RangeSum> m_prefix;  // m_prefix[i] = sum of the first i keys; lazily rebuilt
  mutable bool m_prefixValid = false;
};

}  // namespace fieldsync::protocol
