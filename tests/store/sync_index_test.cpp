// ArchiveRangeIndex (the aggregate tree in sync_index) against protocol::VectorRangeIndex, the
// plain reference, on real LMDB archives: random batches, map growth, aborted batches, and the
// migration of a schema-1 archive.
#include "store/sync_index.h"

#include <gtest/gtest.h>
#include <lmdb.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/range_index.h"
#include "tests/store/store_fixture.h"

namespace fieldsync::store {
namespace {

using protocol::RangeSum;
using protocol::SyncKey;
using protocol::VectorRangeIndex;
using protocol::VerifiedObject;
using testing::clipping;
using testing::keyNumber;
using testing::signBody;
using testing::TempArchive;

Options maxChildren(std::size_t n) {
  Options options;
  options.syncIndexMaxChildren = n;
  return options;
}

SyncKey syncKeyOf(const VerifiedObject& object) { return {object.payload().signedAt, object.id()}; }

/// count clippings signed at signedAt, distinct by their titles (tag makes runs distinct).
std::vector<VerifiedObject> clippingsAt(std::int64_t signedAt, std::size_t count,
                                        const std::string& tag) {
  const auto key = keyNumber(1);
  std::vector<VerifiedObject> out;
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(signBody(key, clipping(tag + " " + std::to_string(i)), signedAt));
  }
  return out;
}

/// Stores objects in one WriteTxn::putBatch (the sync index takes their keys in order, a run
/// per block at once).
void putAll(TempArchive& t, VectorRangeIndex& reference,
            const std::vector<VerifiedObject>& objects) {
  t.archive->write([&](WriteTxn& txn) {
    for (const PutOutcome outcome : txn.putBatch(objects)) {
      EXPECT_EQ(outcome, PutOutcome::Stored);
    }
  });
  for (const auto& object : objects) reference.insert(syncKeyOf(object));
}

/// Every answer of index equals reference's for rank in [0, size] and keys around each key.
void expectSameEverywhere(const ArchiveRangeIndex& index, const VectorRangeIndex& reference) {
  const std::uint64_t n = reference.size();
  ASSERT_EQ(index.size(), n);
  for (std::uint64_t r = 0; r <= n; ++r) {
    ASSERT_EQ(index.sum(0, r), reference.sum(0, r)) << "prefix " << r;
    if (r < n) {
      const SyncKey key = reference.at(r);
      ASSERT_EQ(index.at(r), key) << "rank " << r;
      ASSERT_EQ(index.rank(key), r);
      SyncKey after = key;  // absent: between this key and the next
      after.id.bytes.back() ^= 1;
      ASSERT_EQ(index.rank(after), reference.rank(after));
    }
  }
  ASSERT_EQ(index.keys(0, n), reference.keys(0, n));
}

TEST(ArchiveRangeIndex, EmptyArchiveHasAnEmptyIndex) {
  TempArchive t;
  const ReadTxn txn = t.archive->beginRead();
  const ArchiveRangeIndex index(txn);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.rank(SyncKey{}), 0u);
  EXPECT_EQ(index.rank(SyncKey{1700000000, {}}), 0u);
  EXPECT_EQ(index.sum(0, 0), RangeSum{});
  EXPECT_TRUE(index.keys(0, 0).empty());
  EXPECT_TRUE(index.blocksPerLevel().empty());
}

TEST(ArchiveRangeIndex, EveryKindOfObjectIsCountedOnce) {
  TempArchive t;
  const auto coordinator = keyNumber(2);
  const auto article = signBody(keyNumber(1), clipping("Gao"), 100);
  const auto release =
      signBody(coordinator, protocol::Release{"weekly", 1, std::nullopt, {article.id()}, ""}, 90);
  const auto cert =
      signBody(coordinator,
               protocol::KeyCert{keyNumber(3).publicKey(), protocol::Role::Field, "Goma", 0}, 110);
  const auto revocation =
      signBody(coordinator, protocol::Revocation{keyNumber(4).publicKey(), 50, "lost"}, 100);
  VectorRangeIndex reference;
  putAll(t, reference, {article, release, cert, revocation});
  t.archive->write([&](WriteTxn& txn) { EXPECT_EQ(txn.put(article), PutOutcome::AlreadyPresent); });

  const ReadTxn txn = t.archive->beginRead();
  const ArchiveRangeIndex index(txn);
  EXPECT_EQ(index.size(), 4u);
  expectSameEverywhere(index, reference);
}

// The main check: thousands of objects over many batches, as imports and syncs bring them:
// whole batches signed at one time, stragglers from the past landing before what is stored,
// times far apart (negative, far future), keys sharing a time with stored ones. Blocks are
// kept small so that every level splits many times.
TEST(ArchiveRangeIndex, MatchesTheReferenceOverRandomBatches) {
  std::uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("FIELDSYNC_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::cout << "FIELDSYNC_SEED=" << seed << "\n";
  SCOPED_TRACE("FIELDSYNC_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto below = [&](std::uint64_t n) { return n == 0 ? 0 : rng() % n; };

  const std::size_t fanout = 4 + below(5);  // 4 to 8
  std::cout << "syncIndexMaxChildren=" << fanout << "\n";
  TempArchive t(maxChildren(fanout));
  VectorRangeIndex reference;
  const auto office = keyNumber(1);
  const auto partner = keyNumber(2);

  std::int64_t now = 1357862400;
  std::vector<std::int64_t> timesUsed;
  std::size_t made = 0;
  auto randomTime = [&]() -> std::int64_t {
    switch (below(6)) {
      case 0:  // a time already used: ties with stored keys, ordered by id
        if (!timesUsed.empty()) return timesUsed[below(timesUsed.size())];
        [[fallthrough]];
      case 1:  // the past: before much of what is stored
        return now - static_cast<std::int64_t>(below(86400 * 365));
      case 2:  // far apart
        return below(2) == 0 ? -static_cast<std::int64_t>(below(1ull << 40))
                             : std::int64_t{1} << 40 | static_cast<std::int64_t>(below(1000));
      default:  // a new import, after everything
        return now += 1 + static_cast<std::int64_t>(below(3600));
    }
  };

  for (int batch = 0; batch < 45; ++batch) {
    // Most batches are one import: every object signed at one time. The others mix times.
    const bool oneTime = below(4) != 0;
    const std::int64_t batchTime = randomTime();
    const std::size_t count = below(8) == 0 ? 1 + below(3) : 20 + below(150);
    std::vector<VerifiedObject> objects;
    for (std::size_t i = 0; i < count; ++i) {
      const std::int64_t at = oneTime ? batchTime : randomTime();
      timesUsed.push_back(at);
      objects.push_back(signBody(below(3) == 0 ? partner : office,
                                 clipping("clipping " + std::to_string(made++)), at));
    }
    putAll(t, reference, objects);

    const ReadTxn txn = t.archive->beginRead();
    const ArchiveRangeIndex index(txn);
    const std::uint64_t n = reference.size();
    ASSERT_EQ(index.size(), n) << "batch " << batch;
    SCOPED_TRACE("batch " + std::to_string(batch) + ", " + std::to_string(n) + " objects");

    // Ranks of present keys, of absent keys beside them and at the ends of the key space.
    for (int q = 0; q < 100; ++q) {
      const SyncKey present = reference.at(below(n));
      ASSERT_EQ(index.rank(present), reference.rank(present));
      SyncKey absent = present;
      absent.id.bytes[below(protocol::ID_BYTES)] ^= static_cast<std::uint8_t>(1 + below(255));
      if (below(3) == 0) absent.signedAt += below(2) == 0 ? 1 : -1;
      ASSERT_EQ(index.rank(absent), reference.rank(absent));
    }
    SyncKey last;
    last.signedAt = std::numeric_limits<std::int64_t>::max();
    last.id.bytes.fill(0xff);
    for (const SyncKey& edge : {SyncKey{std::numeric_limits<std::int64_t>::min(), {}}, SyncKey{},
                                SyncKey{now, {}}, last}) {
      ASSERT_EQ(index.rank(edge), reference.rank(edge));
    }

    // Keys by rank, sums and key lists of random ranges and of the edge ranges.
    for (const std::uint64_t r : {std::uint64_t{0}, n - 1, below(n), below(n)}) {
      ASSERT_EQ(index.at(r), reference.at(r)) << "rank " << r;
    }
    for (int q = 0; q < 150; ++q) {
      std::uint64_t a = below(n + 1);
      std::uint64_t b = below(4) == 0 ? std::min(n, a + below(2 * fanout)) : below(n + 1);
      if (a > b) std::swap(a, b);
      ASSERT_EQ(index.sum(a, b), reference.sum(a, b)) << "[" << a << ", " << b << ")";
      if (b - a <= 40) {
        ASSERT_EQ(index.keys(a, b), reference.keys(a, b));
      }
    }
    for (const auto& [a, b] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{
             {0, 0}, {0, 1}, {0, n}, {n, n}, {n - 1, n}, {1, n}, {n / 2, n / 2 + 1}}) {
      ASSERT_EQ(index.sum(a, b), reference.sum(a, b)) << "[" << a << ", " << b << ")";
      ASSERT_EQ(index.keys(a, std::min(b, a + 40)), reference.keys(a, std::min(b, a + 40)));
    }
    if (batch % 15 == 14) expectSameEverywhere(index, reference);
  }

  const ReadTxn txn = t.archive->beginRead();
  const ArchiveRangeIndex index(txn);
  const std::vector<std::uint64_t> blocks = index.blocksPerLevel();
  std::cout << reference.size() << " objects, blocks per level:";
  for (const std::uint64_t b : blocks) std::cout << " " << b;
  std::cout << "\n";
  EXPECT_GE(blocks.size(), 4u) << "small blocks should have split at several levels";
  EXPECT_EQ(blocks.back(), 1u) << "one root";
}

TEST(ArchiveRangeIndex, MapGrowthRerunsOfABatchCountEachObjectOnce) {
  Options options = maxChildren(4);
  options.initialMapBytes = 64u << 10;  // far too small: the batch is rerun several times
  TempArchive t(options);
  const auto objects = clippingsAt(1700000000, 600, "grown");
  int runs = 0;
  t.archive->write([&](WriteTxn& txn) {
    ++runs;
    for (const auto& object : objects) ASSERT_EQ(txn.put(object), PutOutcome::Stored);
  });
  EXPECT_GE(runs, 3);
  VectorRangeIndex reference;
  for (const auto& object : objects) reference.insert(syncKeyOf(object));

  const ReadTxn txn = t.archive->beginRead();
  expectSameEverywhere(ArchiveRangeIndex(txn), reference);
}

TEST(ArchiveRangeIndex, AnAbortedBatchLeavesTheIndexUnchanged) {
  TempArchive t(maxChildren(4));
  VectorRangeIndex reference;
  putAll(t, reference, clippingsAt(200, 50, "kept"));
  const auto dropped = clippingsAt(100, 80, "dropped");  // would split blocks at every level
  EXPECT_THROW(t.archive->write([&](WriteTxn& txn) {
    for (const auto& object : dropped) (void)txn.put(object);
    throw std::runtime_error("the batch fails");
  }),
               std::runtime_error);

  const ReadTxn txn = t.archive->beginRead();
  expectSameEverywhere(ArchiveRangeIndex(txn), reference);
}

TEST(ArchiveRangeIndex, ReopeningWithAnotherBlockSizeKeepsTheIndexExact) {
  TempArchive t(maxChildren(4));
  VectorRangeIndex reference;
  putAll(t, reference, clippingsAt(300, 200, "small blocks"));
  t.reopen(maxChildren(64));
  putAll(t, reference, clippingsAt(300, 200, "large blocks"));
  putAll(t, reference, clippingsAt(100, 50, "earlier"));
  t.reopen(maxChildren(5));
  putAll(t, reference, clippingsAt(200, 300, "small again"));

  const ReadTxn txn = t.archive->beginRead();
  expectSameEverywhere(ArchiveRangeIndex(txn), reference);
}

TEST(ArchiveRangeIndex, TooSmallABlockSizeIsRefused) {
  testing::TempDir dir;
  Options options = maxChildren(SYNC_INDEX_MIN_CHILDREN - 1);
  options.dir = dir.path() / "archive";
  options.create = true;
  EXPECT_THROW((void)Archive::open(options), std::invalid_argument);
}

// --- Schema 1 -> 2 --------------------------------------------------------------------------

/// A schema-1 archive of 1,000 objects (several levels at maxChildren 4) and its reference.
struct Schema1Archive {
  explicit Schema1Archive(bool leaveEmptyDatabase = false) : t(maxChildren(4)) {
    putAll(t, reference, clippingsAt(500, 400, "first import"));
    putAll(t, reference, clippingsAt(100, 300, "older"));
    putAll(t, reference, clippingsAt(900, 300, "newer"));
    t.archive.reset();
    testing::downgradeSchema(t.dir.path() / "archive", "sync_index", "1", leaveEmptyDatabase);
  }
  TempArchive t;
  VectorRangeIndex reference;
};

TEST(ArchiveRangeIndex, OpeningASchema1ArchiveWritableBuildsTheIndex) {
  Schema1Archive old;
  old.t.reopen();
  {
    const ReadTxn txn = old.t.archive->beginRead();
    EXPECT_EQ(txn.getMeta("schema"), std::to_string(SCHEMA_VERSION));
    const ArchiveRangeIndex index(txn);
    expectSameEverywhere(index, old.reference);
    EXPECT_GE(index.blocksPerLevel().size(), 4u);
  }
  // The built tree, three quarters full, takes new objects as one built by inserts does.
  putAll(old.t, old.reference, clippingsAt(700, 300, "after the migration"));
  old.t.reopen();
  const ReadTxn txn = old.t.archive->beginRead();
  expectSameEverywhere(ArchiveRangeIndex(txn), old.reference);
}

TEST(ArchiveRangeIndex, ASchema1ArchiveOpenedReadOnlyReadsButHasNoIndex) {
  // Without sync_index, and with the empty one that a migration which did not commit leaves.
  for (const bool leaveEmptyDatabase : {false, true}) {
    Schema1Archive old(leaveEmptyDatabase);
    Options options = old.t.options;
    options.readOnly = true;
    old.t.reopen(options);
    const ReadTxn txn = old.t.archive->beginRead();
    EXPECT_EQ(txn.count(), 1000u);
    EXPECT_EQ(txn.getMeta("schema"), "1");
    try {
      const ArchiveRangeIndex index(txn);
      ADD_FAILURE() << "expected fieldsync::Error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("open it once writable"), std::string::npos) << e.what();
    }
  }
}

TEST(ArchiveRangeIndex, AMigrationThatDidNotCommitIsRunAgain) {
  Schema1Archive old(/*leaveEmptyDatabase=*/true);
  old.t.reopen();
  const ReadTxn txn = old.t.archive->beginRead();
  EXPECT_EQ(txn.getMeta("schema"), std::to_string(SCHEMA_VERSION));
  expectSameEverywhere(ArchiveRangeIndex(txn), old.reference);
}

}  // namespace
}  // namespace fieldsync::store

namespace fieldsync::store {
namespace {

VectorRangeIndex referenceOf(const std::set<SyncKey>& keys) {
  VectorRangeIndex reference;
  for (const SyncKey& key : keys) reference.insert(key);
  return reference;
}

void expectLayoutAndAnswers(TempArchive& t, const std::set<SyncKey>& keys) {
  const ReadTxn txn = t.archive->beginRead();
  const ArchiveRangeIndex index(txn);
  ASSERT_NO_THROW(index.checkLayout());
  expectSameEverywhere(index, referenceOf(keys));
}

// Removal in random order, one object or several a batch, with blocks of 4 to 6 children:
// blocks that empty (the first of a level, the first child of a parent, a whole chain) are
// all reached, and after each batch the tree keeps its layout and equals the reference.
TEST(ArchiveRangeIndex, RemovalKeepsTheLayoutAndEqualsTheReference) {
  std::uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("FIELDSYNC_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::cout << "FIELDSYNC_SEED=" << seed << "\n";
  SCOPED_TRACE("FIELDSYNC_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  TempArchive t(maxChildren(4 + rng() % 3));
  const auto office = keyNumber(1);
  std::vector<VerifiedObject> objects;
  for (int i = 0; i < 90; ++i) {
    objects.push_back(
        signBody(office, clipping("item " + std::to_string(i)), 1000 + std::int64_t(rng() % 40)));
  }
  std::set<SyncKey> keys;
  for (std::size_t from = 0; from < objects.size(); from += 30) {
    t.putAll({objects.begin() + from, objects.begin() + from + 30});
  }
  for (const auto& object : objects) keys.insert(syncKeyOf(object));
  expectLayoutAndAnswers(t, keys);

  std::vector<std::size_t> order(objects.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  // Take the lowest key early too: it empties first blocks.
  std::swap(order[1], *std::min_element(order.begin() + 1, order.end(), [&](auto a, auto b) {
              return syncKeyOf(objects[a]) < syncKeyOf(objects[b]);
            }));
  for (std::size_t at = 0; at < order.size();) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % 3, order.size() - at);
    t.archive->write([&](WriteTxn& txn) {
      for (std::size_t i = at; i < at + n; ++i) EXPECT_TRUE(txn.remove(objects[order[i]].id()));
    });
    for (std::size_t i = at; i < at + n; ++i) keys.erase(syncKeyOf(objects[order[i]]));
    at += n;
    expectLayoutAndAnswers(t, keys);
    if (HasFatalFailure()) return;
  }
  EXPECT_TRUE(t.archive->beginRead().count() == 0);
  {
    const ReadTxn txn = t.archive->beginRead();
    EXPECT_TRUE(ArchiveRangeIndex(txn).blocksPerLevel().empty());
  }
  // And the emptied tree grows again.
  t.putAll({objects.begin(), objects.begin() + 20});
  for (std::size_t i = 0; i < 20; ++i) keys.insert(syncKeyOf(objects[i]));
  expectLayoutAndAnswers(t, keys);
}

// Interleaved puts and removes keep the tree exact: removal leaves underfull blocks and
// starts that name removed items, and later splits must still be right.
TEST(ArchiveRangeIndex, PutsAfterRemovalsKeepTheLayout) {
  std::mt19937_64 rng(7);
  TempArchive t(maxChildren(4));
  const auto office = keyNumber(1);
  std::vector<VerifiedObject> live;
  std::set<SyncKey> keys;
  for (int round = 0; round < 12; ++round) {
    std::vector<VerifiedObject> fresh;
    for (int i = 0; i < 8; ++i) {
      fresh.push_back(signBody(office,
                               clipping("r" + std::to_string(round) + " " + std::to_string(i)),
                               1000 + std::int64_t(rng() % 30)));
    }
    t.archive->write([&](WriteTxn& txn) {
      for (const auto& object : fresh) (void)txn.put(object);
      for (int i = 0; i < 5 && !live.empty(); ++i) {
        const std::size_t victim = rng() % live.size();
        EXPECT_TRUE(txn.remove(live[victim].id()));
        keys.erase(syncKeyOf(live[victim]));
        live.erase(live.begin() + std::ptrdiff_t(victim));
      }
    });
    for (auto& object : fresh) {
      keys.insert(syncKeyOf(object));
      live.push_back(std::move(object));
    }
    expectLayoutAndAnswers(t, keys);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace fieldsync::store
