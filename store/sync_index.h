#pragma once
// The archive in sync order, as the protocol::RangeIndex that reconciliation reads: the count
// and id sum of any range of ranks, and ranks and keys, without scanning the range.
//
// Layout: one database, sync_index, holds an aggregate tree over by_time (level 0, the items).
//   key   level (1 byte, from 1) || start (a SyncKey's 40 bytes: signedAt BE offset-binary || id)
//   value count (8 bytes BE) || id sum (32 bytes, protocol::RangeSum's) || children (4 bytes BE)
// An entry of level i is a block: its children are the entries of level i - 1 (the by_time
// items for i = 1) from its start up to the next start of level i, and it holds the count and
// sum of the items beneath it. Every block starts at the key of its first child, except the
// first block of each level, which starts at the all-zero key so that every item has a block.
// The top level holds one block, the root, whose count is the archive's. A block that reaches
// Options::syncIndexMaxChildren + 1 children splits into two halves, which adds a child to
// its parent; the root splitting adds a level. So every block has at most maxChildren
// children and the tree has about log(size) / log(maxChildren / 2..maxChildren) levels.
//
// Cost: rank(), at() and sum() read one block per level and at most maxChildren children of
// it, O(maxChildren x levels), whatever the size of the archive or of the range; keys(from,
// to) adds to - from steps. Insertion (WriteTxn::put) updates one block per level, and a
// split reads the children of the block that splits. Removal (WriteTxn::remove) updates one
// block per level too; a block it empties is deleted, and the blocks that started where it
// did are moved to the start of the next one (at most one entry per level each way). The choice of
// maxChildren is measured by BM_SyncIndex* in bench/archive_bench.cpp (figures:
// docs/architecture.md, "Sync index").
//
// Threads: as the ReadTxn it reads: one thread at a time.
// Lifetime: an ArchiveRangeIndex reads through the ReadTxn it was made from and must not
// outlive it (nor be used after it is moved from); it sees that transaction's snapshot.
// Errors: LMDB failures and a damaged tree throw fieldsync::Error.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "protocol/range_index.h"
#include "store/archive.h"

namespace fieldsync::store {

/// The least Options::syncIndexMaxChildren: a block must split into halves of two or more.
inline constexpr std::size_t SYNC_INDEX_MIN_CHILDREN = 4;

/// Where the tree lives within one transaction. Made by archive.cpp (the database handles
/// are its own); MDB_dbi is an unsigned int.
struct SyncTree {
  MDB_txn* txn = nullptr;
  unsigned byTime = 0;  // the items: by_time
  unsigned tree = 0;    // the blocks: sync_index
};

class ArchiveRangeIndex final : public protocol::RangeIndex {
 public:
  /// The index of txn's snapshot. Throws Error for an archive that has none yet (schema 1
  /// opened read-only: Archive::open builds the index when it opens such an archive writable).
  explicit ArchiveRangeIndex(const ReadTxn& txn);

  std::uint64_t size() const override { return m_size; }
  std::uint64_t rank(const protocol::SyncKey& key) const override;
  protocol::SyncKey at(std::uint64_t rank) const override;
  protocol::RangeSum sum(std::uint64_t from, std::uint64_t to) const override;
  std::vector<protocol::SyncKey> keys(std::uint64_t from, std::uint64_t to) const override;

  /// The number of blocks of each level, level 1 first; empty for an empty archive. Reads
  /// every block: for tests and benchmarks.
  std::vector<std::uint64_t> blocksPerLevel() const;
  /// Reads every block and item and throws Error naming the first broken rule of the layout
  /// above (starts, children, counts, sums against by_time). For tests: O(size).
  void checkLayout() const;

 private:
  friend class WriteTxn;
  friend class Archive;
  /// Adds key, whose item was just put in by_time, to the block of every level that holds
  /// it, splitting blocks that pass maxChildren. Sets mapFull on MDB_MAP_FULL.
  static void insert(const SyncTree& tree, const protocol::SyncKey& key, std::size_t maxChildren,
                     bool& mapFull);
  /// insert() of keys in ascending order, each added just after its item is put in by_time
  /// (a split reads the items). The blocks holding a run of keys that fall in one level-1
  /// block without splitting it are read once, updated in memory and written once: a batch
  /// of new objects, whose keys sort together, costs a few reads and writes per block instead
  /// of one per level and key. finish() writes what is held; until then sync_index is stale.
  class SortedInsert {
   public:
    SortedInsert(const SyncTree& tree, std::size_t maxChildren, bool& mapFull);
    SortedInsert(const SortedInsert&) = delete;
    SortedInsert& operator=(const SortedInsert&) = delete;
    ~SortedInsert();  // writes nothing: call finish()
    void add(const protocol::SyncKey& key);
    void finish();

   private:
    struct Path;  // the blocks holding the last key, level 1 first, and where the next begin
    SyncTree m_tree;
    std::size_t m_maxChildren;
    bool& m_mapFull;
    std::unique_ptr<Path> m_path;
  };

  /// Takes key, whose item was just deleted from by_time, out of the block of every level
  /// that held it. A block left without items goes; where it started its level or its
  /// parent, the next block takes its start, so the layout above holds again. Blocks never
  /// merge: removal leaves them smaller, never wrong. Sets mapFull on MDB_MAP_FULL.
  static void erase(const SyncTree& tree, const protocol::SyncKey& key, bool& mapFull);
  /// Empties sync_index and builds it again from by_time, blocks three quarters full.
  static void rebuild(const SyncTree& tree, std::size_t maxChildren, bool& mapFull);

  /// The sum of the items of rank < rank.
  protocol::RangeSum prefix(std::uint64_t rank) const;

  SyncTree m_tree;
  unsigned m_height = 0;  // the root's level; 0 for an empty archive
  std::uint64_t m_size = 0;
  protocol::RangeSum m_total;  // the root's sum
  std::uint32_t m_rootChildren = 0;
};

}  // namespace fieldsync::store
