#include "store/sync_index.h"

#include <lmdb.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "store/lmdb.h"

namespace fieldsync::store {

namespace {

using lmdb::Cursor;
using protocol::ID_BYTES;
using protocol::RangeSum;
using protocol::SYNC_KEY_BYTES;
using protocol::SyncKey;

static_assert(std::is_same_v<MDB_dbi, unsigned>, "SyncTree keeps MDB_dbi as unsigned");

constexpr std::size_t TREE_KEY_BYTES = 1 + SYNC_KEY_BYTES;
constexpr std::size_t BLOCK_BYTES = 8 + ID_BYTES + 4;
constexpr unsigned MAX_LEVEL = 255;

using KeyBytes = std::array<std::uint8_t, SYNC_KEY_BYTES>;
using TreeKey = std::array<std::uint8_t, TREE_KEY_BYTES>;
using BlockBytes = std::array<std::uint8_t, BLOCK_BYTES>;

/// An entry of sync_index, copied out of the map.
struct Block {
  KeyBytes start{};  // all zero for the first block of a level
  RangeSum sum;      // of the items beneath it
  std::uint32_t children = 0;
};

[[noreturn]] void damaged(std::string_view what) {
  throw Error("the sync index (sync_index) is damaged: " + std::string(what));
}

TreeKey treeKey(unsigned level, const KeyBytes& start) {
  assert(level >= 1 && level <= MAX_LEVEL);
  TreeKey key{};
  key[0] = static_cast<std::uint8_t>(level);
  std::memcpy(key.data() + 1, start.data(), SYNC_KEY_BYTES);
  return key;
}

unsigned levelOf(const MDB_val& key) { return static_cast<const std::uint8_t*>(key.mv_data)[0]; }

Block decodeBlock(const MDB_val& key, const MDB_val& data) {
  if (key.mv_size != TREE_KEY_BYTES || data.mv_size != BLOCK_BYTES) damaged("entry size");
  const auto* k = static_cast<const std::uint8_t*>(key.mv_data);
  const auto* d = static_cast<const std::uint8_t*>(data.mv_data);
  Block block;
  std::memcpy(block.start.data(), k + 1, SYNC_KEY_BYTES);
  for (std::size_t i = 0; i < 8; ++i) block.sum.count = block.sum.count << 8 | d[i];
  std::memcpy(block.sum.sum.data(), d + 8, ID_BYTES);
  for (std::size_t i = 0; i < 4; ++i) block.children = block.children << 8 | d[8 + ID_BYTES + i];
  if (block.children == 0 || block.sum.count < block.children) damaged("block counts");
  return block;
}

BlockBytes encodeBlock(const Block& block) {
  BlockBytes out{};
  for (std::size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<std::uint8_t>(block.sum.count >> (56 - 8 * i));
  }
  std::memcpy(out.data() + 8, block.sum.sum.data(), ID_BYTES);
  for (std::size_t i = 0; i < 4; ++i) {
    out[8 + ID_BYTES + i] = static_cast<std::uint8_t>(block.children >> (24 - 8 * i));
  }
  return out;
}

void putBlock(const SyncTree& tree, unsigned level, const Block& block, unsigned flags,
              bool& mapFull) {
  const TreeKey k = treeKey(level, block.start);
  const BlockBytes bytes = encodeBlock(block);
  MDB_val key = lmdb::val(k);
  MDB_val data = lmdb::val(bytes);
  const int rc = ::mdb_put(tree.txn, tree.tree, &key, &data, flags);
  if (rc == MDB_MAP_FULL) mapFull = true;
  lmdb::check(rc, "mdb_put(sync_index)");
}

KeyBytes keyBytes(const MDB_val& key) {
  if (key.mv_size != SYNC_KEY_BYTES) damaged("a by_time key is not 40 bytes");
  KeyBytes out{};
  std::memcpy(out.data(), key.mv_data, SYNC_KEY_BYTES);
  return out;
}

/// Adds the id of a by_time key to sum.
void addId(RangeSum& sum, const MDB_val& key) {
  if (key.mv_size != SYNC_KEY_BYTES) damaged("a by_time key is not 40 bytes");
  protocol::ObjectId id;
  std::memcpy(id.bytes.data(), static_cast<const std::uint8_t*>(key.mv_data) + 8, ID_BYTES);
  sum.add(id);
}

int compare(const KeyBytes& a, const KeyBytes& b) {
  return std::memcmp(a.data(), b.data(), SYNC_KEY_BYTES);
}

/// The root: the one block of the top level. Empty for an empty tree.
struct Root {
  unsigned level = 0;
  Block block;
};

std::optional<Root> readRoot(Cursor& cursor) {
  MDB_val key{};
  MDB_val data{};
  if (!cursor.get(key, data, MDB_LAST)) return std::nullopt;
  Root root{levelOf(key), decodeBlock(key, data)};
  if (root.level == 0 || root.block.start != KeyBytes{}) damaged("no root block");
  return root;
}

/// Places cursor on the first child of block (a block of level >= 2) and returns it.
Block firstChild(Cursor& cursor, unsigned level, const Block& block) {
  const TreeKey start = treeKey(level - 1, block.start);
  MDB_val key = lmdb::val(start);
  MDB_val data{};
  if (!cursor.get(key, data, MDB_SET_KEY)) damaged("a block has no first child");
  return decodeBlock(key, data);
}

/// Moves cursor to the next child of a block of level >= 2; the caller counts the children.
Block nextChild(Cursor& cursor, unsigned level) {
  MDB_val key{};
  MDB_val data{};
  if (!cursor.get(key, data, MDB_NEXT) || levelOf(key) != level - 1) {
    damaged("a block has fewer children than it counts");
  }
  return decodeBlock(key, data);
}

/// Places cursor on the first item of a level-1 block.
MDB_val firstItem(Cursor& cursor, const Block& block) {
  MDB_val key = lmdb::val(block.start);
  if (!cursor.get(key, MDB_SET_RANGE)) damaged("a block has no items");
  return key;
}

MDB_val nextItem(Cursor& cursor) {
  MDB_val key{};
  if (!cursor.get(key, MDB_NEXT)) damaged("a block has fewer items than it counts");
  return key;
}

/// The level-1 block that holds the item of rank rank (< the root's count), and the sum of
/// the items before that block.
struct Leaf {
  Block block;
  RangeSum before;
};

Leaf descendToRank(Cursor& cursor, const Root& root, std::uint64_t rank) {
  Leaf leaf{root.block, {}};
  for (unsigned level = root.level; level > 1; --level) {
    const std::uint32_t children = leaf.block.children;
    Block child = firstChild(cursor, level, leaf.block);
    for (std::uint32_t seen = 1; rank - leaf.before.count >= child.sum.count; ++seen) {
      if (seen == children) damaged("a block counts more items than its children");
      leaf.before.add(child.sum);
      child = nextChild(cursor, level);
    }
    leaf.block = child;
  }
  return leaf;
}

/// Places items (a by_time cursor) on the item of rank rank (< the root's count); its key.
MDB_val seekRank(const SyncTree& tree, const Root& root, Cursor& items, std::uint64_t rank) {
  Cursor cursor(tree.txn, tree.tree, "sync_index");
  const Leaf leaf = descendToRank(cursor, root, rank);
  MDB_val key = firstItem(items, leaf.block);
  for (std::uint64_t i = leaf.before.count; i < rank; ++i) key = nextItem(items);
  return key;
}

/// The children of a block of level `level` as (start, sum) in order, read from the items
/// (level 1) or the blocks below.
std::vector<Block> childrenOf(const SyncTree& tree, unsigned level, const Block& block) {
  std::vector<Block> children;
  children.reserve(block.children);
  if (level == 1) {
    Cursor cursor(tree.txn, tree.byTime, "by_time");
    MDB_val key = firstItem(cursor, block);
    for (std::uint32_t i = 0; i < block.children; ++i) {
      if (i > 0) key = nextItem(cursor);
      Block& item = children.emplace_back();
      item.start = keyBytes(key);
      addId(item.sum, key);
      item.children = 1;
    }
  } else {
    Cursor cursor(tree.txn, tree.tree, "sync_index");
    children.push_back(firstChild(cursor, level, block));
    for (std::uint32_t i = 1; i < block.children; ++i) {
      children.push_back(nextChild(cursor, level));
    }
  }
  return children;
}

/// Puts the blocks of one level over `children` (the level below, in order), `fill` children
/// each, and returns them. The first starts at the all-zero key.
std::vector<Block> putLevel(const SyncTree& tree, unsigned level,
                            const std::vector<Block>& children, std::size_t fill, bool& mapFull) {
  std::vector<Block> blocks;
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (i % fill == 0) {
      Block& block = blocks.emplace_back();
      if (i > 0) block.start = children[i].start;
    }
    blocks.back().sum.add(children[i].sum);
    ++blocks.back().children;
  }
  // Levels are written from 1 up and each in key order: every key sorts last.
  for (const Block& block : blocks) putBlock(tree, level, block, MDB_APPEND, mapFull);
  return blocks;
}

}  // namespace

// --- Reading --------------------------------------------------------------------------------

ArchiveRangeIndex::ArchiveRangeIndex(const ReadTxn& txn) : m_tree(txn.syncTree()) {
  Cursor cursor(m_tree.txn, m_tree.tree, "sync_index");
  if (const auto root = readRoot(cursor)) {
    m_height = root->level;
    m_size = root->block.sum.count;
    m_total = root->block.sum;
    m_rootChildren = root->block.children;
  }
}

RangeSum ArchiveRangeIndex::prefix(std::uint64_t rank) const {
  assert(rank <= m_size);
  if (rank == 0) return {};
  if (rank == m_size) return m_total;
  Cursor cursor(m_tree.txn, m_tree.tree, "sync_index");
  Leaf leaf = descendToRank(cursor, Root{m_height, Block{{}, m_total, m_rootChildren}}, rank);
  Cursor items(m_tree.txn, m_tree.byTime, "by_time");
  MDB_val key = firstItem(items, leaf.block);
  RangeSum sum = leaf.before;
  for (std::uint64_t i = leaf.before.count; i < rank; ++i) {
    if (i > leaf.before.count) key = nextItem(items);
    addId(sum, key);
  }
  return sum;
}

RangeSum ArchiveRangeIndex::sum(std::uint64_t from, std::uint64_t to) const {
  assert(from <= to && to <= m_size);
  RangeSum out = prefix(to);
  out.subtract(prefix(from));
  return out;
}

std::uint64_t ArchiveRangeIndex::rank(const SyncKey& key) const {
  if (m_size == 0) return 0;
  const KeyBytes bound = key.bytes();
  Cursor cursor(m_tree.txn, m_tree.tree, "sync_index");
  std::uint64_t below = 0;
  Block block{{}, m_total, m_rootChildren};
  for (unsigned level = m_height; level > 1; --level) {
    // The last child that starts at or before key holds it; the ones before it are below.
    Block child = firstChild(cursor, level, block);
    for (std::uint32_t seen = 1; seen < block.children; ++seen) {
      Block next = nextChild(cursor, level);
      if (compare(next.start, bound) > 0) break;
      below += child.sum.count;
      child = next;
    }
    block = child;
  }
  Cursor items(m_tree.txn, m_tree.byTime, "by_time");
  MDB_val item = firstItem(items, block);
  for (std::uint32_t i = 0; i < block.children; ++i) {
    if (i > 0) item = nextItem(items);
    if (compare(keyBytes(item), bound) >= 0) break;
    ++below;
  }
  return below;
}

SyncKey ArchiveRangeIndex::at(std::uint64_t rank) const {
  assert(rank < m_size);
  Cursor items(m_tree.txn, m_tree.byTime, "by_time");
  const Root root{m_height, Block{{}, m_total, m_rootChildren}};
  return SyncKey::fromBytes(keyBytes(seekRank(m_tree, root, items, rank)));
}

std::vector<SyncKey> ArchiveRangeIndex::keys(std::uint64_t from, std::uint64_t to) const {
  assert(from <= to && to <= m_size);
  std::vector<SyncKey> out;
  if (from == to) return out;
  out.reserve(to - from);
  Cursor items(m_tree.txn, m_tree.byTime, "by_time");
  const Root root{m_height, Block{{}, m_total, m_rootChildren}};
  MDB_val key = seekRank(m_tree, root, items, from);
  for (std::uint64_t rank = from; rank < to; ++rank) {
    if (rank > from) key = nextItem(items);
    out.push_back(SyncKey::fromBytes(keyBytes(key)));
  }
  return out;
}

std::vector<std::uint64_t> ArchiveRangeIndex::blocksPerLevel() const {
  std::vector<std::uint64_t> blocks;
  Cursor cursor(m_tree.txn, m_tree.tree, "sync_index");
  MDB_val key{};
  for (bool ok = cursor.get(key, MDB_FIRST); ok; ok = cursor.get(key, MDB_NEXT)) {
    const unsigned level = levelOf(key);
    if (level == 0) damaged("an entry of level 0");
    if (blocks.size() < level) blocks.resize(level);
    ++blocks[level - 1];
  }
  return blocks;
}

// --- Writing --------------------------------------------------------------------------------

void ArchiveRangeIndex::insert(const SyncTree& tree, const SyncKey& key, std::size_t maxChildren,
                               bool& mapFull) {
  assert(maxChildren >= SYNC_INDEX_MIN_CHILDREN);
  Cursor cursor(tree.txn, tree.tree, "sync_index");  // sought again after every put
  const std::optional<Root> root = readRoot(cursor);
  if (!root) {
    Block first;
    first.sum.add(key.id);
    first.children = 1;
    putBlock(tree, 1, first, MDB_NOOVERWRITE, mapFull);
    return;
  }

  const KeyBytes bytes = key.bytes();
  bool split = false;  // the block below split in two: its parent has one more child
  for (unsigned level = 1; level <= root->level; ++level) {
    Block block;
    {
      // The last block of this level that starts at or before key holds it.
      MDB_val found{};
      MDB_val data{};
      if (!cursor.seekLastAtMost(found, treeKey(level, bytes)) || levelOf(found) != level ||
          !cursor.get(found, data, MDB_GET_CURRENT)) {
        damaged("a level has no first block");
      }
      block = decodeBlock(found, data);
    }
    block.sum.add(key.id);
    if (level == 1 || split) ++block.children;
    split = block.children > maxChildren;
    if (!split) {
      putBlock(tree, level, block, 0, mapFull);
      continue;
    }
    // Split in two halves: the second starts at the start of its first child.
    const std::vector<Block> children = childrenOf(tree, level, block);
    const std::uint32_t keep = block.children / 2;
    Block second;
    second.start = children[keep].start;
    for (std::size_t i = keep; i < children.size(); ++i) second.sum.add(children[i].sum);
    second.children = block.children - keep;
    block.sum.subtract(second.sum);
    block.children = keep;
    putBlock(tree, level, block, 0, mapFull);
    putBlock(tree, level, second, MDB_NOOVERWRITE, mapFull);
  }
  if (split) {
    // The root split: a new root over its two halves.
    if (root->level == MAX_LEVEL) throw Error("the sync index has too many levels");
    Block top;
    top.sum = root->block.sum;
    top.sum.add(key.id);
    top.children = 2;
    putBlock(tree, root->level + 1, top, MDB_NOOVERWRITE, mapFull);
  }
}

struct ArchiveRangeIndex::SortedInsert::Path {
  struct Step {
    Block block;
    std::optional<KeyBytes> next;  // the start of the next block of its level, if any
  };
  std::vector<Step> steps;  // level 1 first; empty: nothing held
  KeyBytes last{};          // the last key added
  bool dirty = false;       // steps differ from sync_index
};

ArchiveRangeIndex::SortedInsert::SortedInsert(const SyncTree& tree, std::size_t maxChildren,
                                              bool& mapFull)
    : m_tree(tree),
      m_maxChildren(maxChildren),
      m_mapFull(mapFull),
      m_path(std::make_unique<Path>()) {}

ArchiveRangeIndex::SortedInsert::~SortedInsert() = default;

void ArchiveRangeIndex::SortedInsert::add(const SyncKey& key) {
  Path& path = *m_path;
  const KeyBytes bytes = key.bytes();
  assert(path.steps.empty() || compare(path.last, bytes) < 0);
  path.last = bytes;
  if (!path.steps.empty()) {
    const Path::Step& leaf = path.steps.front();
    if (leaf.next && compare(bytes, *leaf.next) >= 0) finish();  // key is in a later block
  }
  if (path.steps.empty()) {
    // The blocks holding key, root first: the last of each level starting at or before it.
    Cursor cursor(m_tree.txn, m_tree.tree, "sync_index");
    if (const std::optional<Root> root = readRoot(cursor)) {
      path.steps.resize(root->level);
      for (unsigned level = root->level; level >= 1; --level) {
        MDB_val found{};
        MDB_val data{};
        if (!cursor.seekLastAtMost(found, treeKey(level, bytes)) || levelOf(found) != level ||
            !cursor.get(found, data, MDB_GET_CURRENT)) {
          damaged("a level has no first block");
        }
        Path::Step& step = path.steps[level - 1];
        step.block = decodeBlock(found, data);
        if (cursor.get(found, data, MDB_NEXT) && levelOf(found) == level) {
          if (found.mv_size != TREE_KEY_BYTES) damaged("entry size");
          step.next.emplace();
          std::memcpy(step.next->data(), static_cast<const std::uint8_t*>(found.mv_data) + 1,
                      SYNC_KEY_BYTES);
        }
      }
    }
  }
  if (!path.steps.empty()) {
    Path::Step& leaf = path.steps.front();
    if (leaf.block.children < m_maxChildren) {
      for (Path::Step& step : path.steps) step.block.sum.add(key.id);
      ++leaf.block.children;
      path.dirty = true;
      return;
    }
  }
  // A split or an empty tree: write what is held, insert as one.
  finish();
  insert(m_tree, key, m_maxChildren, m_mapFull);
}

void ArchiveRangeIndex::SortedInsert::finish() {
  Path& path = *m_path;
  if (path.dirty) {
    for (std::size_t i = 0; i < path.steps.size(); ++i) {
      putBlock(m_tree, static_cast<unsigned>(i + 1), path.steps[i].block, 0, m_mapFull);
    }
  }
  path.steps.clear();
  path.dirty = false;
}

namespace {

/// The block of level `level` that holds key (the last one starting at or before it).
Block holdingBlock(Cursor& cursor, unsigned level, const KeyBytes& key) {
  MDB_val found{};
  MDB_val data{};
  if (!cursor.seekLastAtMost(found, treeKey(level, key)) || levelOf(found) != level ||
      !cursor.get(found, data, MDB_GET_CURRENT)) {
    damaged("a level has no first block");
  }
  return decodeBlock(found, data);
}

void deleteBlock(const SyncTree& tree, unsigned level, const KeyBytes& start, bool& mapFull) {
  const TreeKey k = treeKey(level, start);
  MDB_val key = lmdb::val(k);
  const int rc = ::mdb_del(tree.txn, tree.tree, &key, nullptr);
  if (rc == MDB_NOTFOUND) damaged("a block to delete is missing");
  if (rc == MDB_MAP_FULL) mapFull = true;
  lmdb::check(rc, "mdb_del(sync_index)");
}

/// The start of the first block of level `level` after `after`; damaged when there is none.
KeyBytes nextStart(const SyncTree& tree, unsigned level, const KeyBytes& after) {
  Cursor cursor(tree.txn, tree.tree, "sync_index");
  const TreeKey k = treeKey(level, after);
  MDB_val key = lmdb::val(k);
  MDB_val data{};
  if (!cursor.get(key, data, MDB_SET_RANGE)) damaged("a block has no next sibling");
  if (key.mv_size == TREE_KEY_BYTES && std::memcmp(key.mv_data, k.data(), k.size()) == 0 &&
      !cursor.get(key, data, MDB_NEXT)) {
    damaged("a block has no next sibling");
  }
  if (levelOf(key) != level) damaged("a block has no next sibling");
  return decodeBlock(key, data).start;
}

/// The block of level `level` that starts at start.
Block blockAt(const SyncTree& tree, unsigned level, const KeyBytes& start) {
  const TreeKey k = treeKey(level, start);
  MDB_val key = lmdb::val(k);
  MDB_val data{};
  const int rc = ::mdb_get(tree.txn, tree.tree, &key, &data);
  if (rc == MDB_NOTFOUND) damaged("a block is missing");
  lmdb::check(rc, "mdb_get(sync_index)");
  return decodeBlock(key, data);
}

}  // namespace

void ArchiveRangeIndex::erase(const SyncTree& tree, const SyncKey& key, bool& mapFull) {
  Cursor cursor(tree.txn, tree.tree, "sync_index");
  const std::optional<Root> root = readRoot(cursor);
  if (!root) damaged("an item to remove has no block");
  const unsigned height = root->level;
  const KeyBytes bytes = key.bytes();
  RangeSum item;
  item.add(key.id);

  // The block of every level that holds the item (path[level]), the item taken out of each.
  // Levels 1..emptied are left without items: a chain of only children, one start.
  std::vector<Block> path(height + 1);
  unsigned emptied = 0;
  for (unsigned level = 1; level <= height; ++level) {
    Block& block = path[level];
    block = level == height ? root->block : holdingBlock(cursor, level, bytes);
    if (block.sum.count == 0) damaged("an item to remove has an empty block");
    block.sum.subtract(item);
    if (level == 1 || emptied == level - 1) --block.children;
    if (block.sum.count == 0) {
      if (block.children != 0 || emptied != level - 1) damaged("block counts");
      if (level > 1 && block.start != path[1].start) damaged("an only child's start");
      emptied = level;
    } else if (block.sum.count < block.children) {
      damaged("block counts");
    }
  }
  if (emptied == height) {  // the last item: no tree at all
    const int rc = ::mdb_drop(tree.txn, tree.tree, 0);
    if (rc == MDB_MAP_FULL) mapFull = true;
    lmdb::check(rc, "mdb_drop(sync_index)");
    return;
  }

  for (unsigned level = emptied + 1; level <= height; ++level) {
    putBlock(tree, level, path[level], 0, mapFull);
  }
  if (emptied == 0) return;
  const KeyBytes start = path[1].start;
  for (unsigned level = 1; level <= emptied; ++level) deleteBlock(tree, level, start, mapFull);
  if (start == KeyBytes{}) {
    // The chain began its levels. The parent (first of its level) kept other children; the
    // first of them starts at next, and so do its first children down to level 1: they take
    // the all-zero start, so every level begins there again.
    const KeyBytes next = nextStart(tree, emptied, start);
    for (unsigned level = 1; level <= emptied; ++level) {
      Block moved = blockAt(tree, level, next);
      deleteBlock(tree, level, next, mapFull);
      moved.start = KeyBytes{};
      putBlock(tree, level, moved, MDB_NOOVERWRITE, mapFull);
    }
    return;
  }
  // The blocks above that started with the chain now start with their new first child, the
  // next block of the chain's top level (the parent kept other children).
  if (path[emptied + 1].start != start) return;
  const KeyBytes next = nextStart(tree, emptied, start);
  for (unsigned level = emptied + 1; level <= height && path[level].start == start; ++level) {
    deleteBlock(tree, level, start, mapFull);
    Block moved = path[level];
    moved.start = next;
    putBlock(tree, level, moved, MDB_NOOVERWRITE, mapFull);
  }
}

void ArchiveRangeIndex::checkLayout() const {
  Cursor cursor(m_tree.txn, m_tree.tree, "sync_index");
  std::vector<std::vector<Block>> levels;  // levels[0]: level 1
  MDB_val key{};
  MDB_val data{};
  for (bool ok = cursor.get(key, data, MDB_FIRST); ok; ok = cursor.get(key, data, MDB_NEXT)) {
    const unsigned level = levelOf(key);
    if (level == 0 || level > levels.size() + 1) damaged("a level is skipped");
    if (level > levels.size()) levels.emplace_back();
    levels[level - 1].push_back(decodeBlock(key, data));
  }
  std::vector<Block> items;
  {
    Cursor byTime(m_tree.txn, m_tree.byTime, "by_time");
    for (bool ok = byTime.get(key, MDB_FIRST); ok; ok = byTime.get(key, MDB_NEXT)) {
      Block& it = items.emplace_back();
      it.start = keyBytes(key);
      addId(it.sum, key);
      it.children = 1;
    }
  }
  if (levels.empty()) {
    if (!items.empty()) damaged("items without blocks");
    return;
  }
  if (levels.back().size() != 1) damaged("the top level has more than one block");
  const std::vector<Block>* below = &items;
  for (std::size_t l = 0; l < levels.size(); ++l) {
    const std::vector<Block>& blocks = levels[l];
    std::size_t child = 0;
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      const Block& block = blocks[b];
      if (b == 0 ? block.start != KeyBytes{} : compare(block.start, blocks[b - 1].start) <= 0) {
        damaged("block starts out of order");
      }
      // Level 1 starts may name items since removed; the levels above start with a child.
      if (l > 0 && (child == below->size() || (*below)[child].start != block.start)) {
        damaged("a block does not start with its first child");
      }
      RangeSum sum;
      std::uint32_t children = 0;
      while (child < below->size() &&
             (b + 1 == blocks.size() || compare((*below)[child].start, blocks[b + 1].start) < 0)) {
        sum.add((*below)[child].sum);
        ++children;
        ++child;
      }
      if (children != block.children || !(sum == block.sum)) damaged("a block's counts or sum");
    }
    if (child != below->size()) damaged("children beyond the last block");
    below = &blocks;
  }
  if (m_size != levels.back().front().sum.count) damaged("the root's count");
}

void ArchiveRangeIndex::rebuild(const SyncTree& tree, std::size_t maxChildren, bool& mapFull) {
  assert(maxChildren >= SYNC_INDEX_MIN_CHILDREN);
  const int rc = ::mdb_drop(tree.txn, tree.tree, 0);
  if (rc == MDB_MAP_FULL) mapFull = true;
  lmdb::check(rc, "mdb_drop(sync_index)");

  // Three quarters full: room to grow before the first splits, and few levels. Level 1 is
  // made while walking by_time; the levels above, smaller by fill each, from the one below.
  const std::size_t fill = std::max<std::size_t>(2, maxChildren * 3 / 4);
  std::vector<Block> level;
  {
    Cursor cursor(tree.txn, tree.byTime, "by_time");
    MDB_val key{};
    for (bool ok = cursor.get(key, MDB_FIRST); ok; ok = cursor.get(key, MDB_NEXT)) {
      if (level.empty() || level.back().children == fill) {
        if (!level.empty()) putBlock(tree, 1, level.back(), MDB_APPEND, mapFull);
        Block& block = level.emplace_back();
        if (level.size() > 1) block.start = keyBytes(key);
      }
      addId(level.back().sum, key);
      ++level.back().children;
    }
  }
  if (level.empty()) return;
  putBlock(tree, 1, level.back(), MDB_APPEND, mapFull);
  for (unsigned n = 2; level.size() > 1; ++n) {
    if (n > MAX_LEVEL) throw Error("the sync index has too many levels");
    level = putLevel(tree, n, level, fill, mapFull);
  }
}

}  // namespace fieldsync::store
