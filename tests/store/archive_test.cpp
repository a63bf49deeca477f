#include "store/archive.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "protocol/text.h"
#include "store/prefix.h"
#include "tests/store/store_fixture.h"

namespace fieldsync::store {
namespace {

using protocol::Clipping;
using protocol::Kind;
using protocol::VerifiedObject;
using testing::clipping;
using testing::keyNumber;
using testing::mergeEvery;
using testing::signBody;
using testing::TempArchive;
using testing::TempDir;

std::vector<std::uint8_t> toVector(std::span<const std::uint8_t> bytes) {
  return {bytes.begin(), bytes.end()};
}

template <typename F>
std::string errorMessageOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected fieldsync::Error";
  return "";
}

// A plain restatement of the list order of archive.h, for comparisons: the published date
// at the end of its precision, then signedAt, then id.
std::string padded(const std::string& published) {
  if (published.empty()) return "0000-00-00";
  if (published.size() == 4) return published + "-99-99";
  if (published.size() == 7) return published + "-99";
  return published;
}

struct RefEntry {
  ObjectId id;
  std::int64_t signedAt = 0;
  std::optional<Clipping> clipping;
  Kind kind = Kind::Clipping;
  std::set<std::string> terms;

  auto order() const {
    return std::make_tuple(padded(clipping ? clipping->published : ""), signedAt, id);
  }
};

RefEntry refEntry(const VerifiedObject& object) {
  RefEntry e;
  e.id = object.id();
  e.signedAt = object.payload().signedAt;
  e.kind = object.payload().kind();
  if (const Clipping* c = object.payload().clipping()) {
    e.clipping = *c;
    for (const auto& t : protocol::searchTerms(c->title)) e.terms.insert(t);
    for (const auto& t : protocol::searchTerms(c->body)) e.terms.insert(t);
  }
  return e;
}

std::vector<ObjectId> newestFirst(std::vector<const RefEntry*> entries, std::size_t limit) {
  std::sort(entries.begin(), entries.end(),
            [](const RefEntry* a, const RefEntry* b) { return a->order() > b->order(); });
  std::vector<ObjectId> ids;
  for (const RefEntry* e : entries) {
    if (ids.size() == limit) break;
    ids.push_back(e->id);
  }
  return ids;
}

// --- Objects, durability, meta -------------------------------------------------------------

TEST(Archive, PutThenGetReturnsTheSignedBytesAfterReopening) {
  TempArchive t;
  const auto key = keyNumber(1);
  const auto object = signBody(key, clipping("Floods in Gao", "Water rose overnight."), 100);
  t.putAll({object});
  {
    const ReadTxn txn = t.archive->beginRead();
    ASSERT_TRUE(txn.get(object.id()));
    EXPECT_EQ(toVector(*txn.get(object.id())), toVector(object.bytes()));
    EXPECT_TRUE(txn.contains(object.id()));
    EXPECT_EQ(txn.count(), 1u);
  }
  t.reopen();
  const ReadTxn txn = t.archive->beginRead();
  ASSERT_TRUE(txn.get(object.id()));
  EXPECT_EQ(toVector(*txn.get(object.id())), toVector(object.bytes()));
  EXPECT_EQ(txn.search("gao"), std::vector<ObjectId>{object.id()});
}

TEST(Archive, GetOfUnknownIdIsEmpty) {
  TempArchive t;
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_FALSE(txn.get(ObjectId{}));
  EXPECT_FALSE(txn.contains(ObjectId{}));
  EXPECT_EQ(txn.count(), 0u);
}

TEST(Archive, PutOfKnownObjectReportsAlreadyPresent) {
  TempArchive t;
  const auto object = signBody(keyNumber(1), clipping("Once", "only once"), 100);
  t.archive->write([&](WriteTxn& txn) {
    EXPECT_EQ(txn.put(object), PutOutcome::Stored);
    EXPECT_EQ(txn.put(object), PutOutcome::AlreadyPresent);
  });
  t.archive->write([&](WriteTxn& txn) {
    EXPECT_TRUE(txn.contains(object.id()));
    EXPECT_EQ(txn.put(object), PutOutcome::AlreadyPresent);
  });
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.count(), 1u);
  EXPECT_EQ(txn.search("once"), std::vector<ObjectId>{object.id()});
  EXPECT_EQ(txn.list({}), std::vector<ObjectId>{object.id()});
}

TEST(Archive, MetaKeepsWhatWasSet) {
  TempArchive t;
  t.archive->write([](WriteTxn& txn) {
    EXPECT_FALSE(txn.getMeta("node.name"));
    txn.setMeta("node.name", "Goma office");
    EXPECT_EQ(txn.getMeta("node.name"), "Goma office");
  });
  t.reopen();
  EXPECT_EQ(t.archive->beginRead().getMeta("node.name"), "Goma office");
  EXPECT_EQ(t.archive->beginRead().getMeta("schema"), std::to_string(SCHEMA_VERSION));
}

TEST(Archive, OpeningAMissingArchiveWithoutCreateFails) {
  TempDir dir;
  Options options;
  options.dir = dir.path() / "nothing-here";
  const std::string message = errorMessageOf([&] { (void)Archive::open(options); });
  EXPECT_NE(message.find("no archive at"), std::string::npos) << message;
  EXPECT_NE(message.find("fieldsync init"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(options.dir));
}

TEST(Archive, OpeningAnArchiveOfANewerSchemaFails) {
  TempArchive t;
  t.archive->write(
      [](WriteTxn& txn) { txn.setMeta("schema", std::to_string(SCHEMA_VERSION + 1)); });
  t.archive.reset();
  Options options;
  options.dir = t.dir.path() / "archive";
  const std::string message = errorMessageOf([&] { (void)Archive::open(options); });
  EXPECT_NE(message.find("upgrade fieldsync"), std::string::npos) << message;
}

// by_tag keys as schema 4 wrote them: tag || 0x00 || id.
std::vector<std::vector<std::uint8_t>> tagKeysOf(const std::filesystem::path& dir) {
  testing::RawArchive raw(dir, testing::RawArchive::Mode::Read);
  std::vector<std::vector<std::uint8_t>> keys;
  MDB_cursor* cursor = nullptr;
  EXPECT_EQ(mdb_cursor_open(raw.txn(), raw.open("by_tag"), &cursor), 0);
  MDB_val key{};
  MDB_val data{};
  for (int rc = mdb_cursor_get(cursor, &key, &data, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT)) {
    const auto* bytes = static_cast<const std::uint8_t*>(key.mv_data);
    keys.emplace_back(bytes, bytes + key.mv_size);
  }
  mdb_cursor_close(cursor);
  return keys;
}

TEST(Archive, ASchema4ArchiveGetsItsTagIndexRekeyedWhenOpenedWritable) {
  TempArchive t;
  const auto key = keyNumber(1);
  const auto older = signBody(key, clipping("Older", "", "2013-01-10", {"mali", "sahel"}), 100);
  const auto newer = signBody(key, clipping("Newer", "", "2013-01-11", {"mali"}), 50);
  const auto untagged = signBody(key, clipping("Untagged", "", "2013-01-12"), 70);
  t.putAll({older, newer, untagged});
  const auto rekeyed = tagKeysOf(t.options.dir);
  ASSERT_EQ(rekeyed.size(), 3u);
  t.archive.reset();
  {
    // As schema 4 wrote them: the signedAt taken out of every key.
    testing::RawArchive raw(t.options.dir);
    ASSERT_EQ(mdb_drop(raw.txn(), raw.open("by_tag"), 0), 0);
    for (const auto& k : rekeyed) {
      std::vector<std::uint8_t> old(k.begin(), k.end() - 8 - protocol::ID_BYTES);
      old.insert(old.end(), k.end() - protocol::ID_BYTES, k.end());
      raw.put("by_tag", old, std::string());
    }
    raw.put("meta", std::string("schema"), std::string("4"));
    raw.commit();
  }
  const std::vector<ObjectId> mali{newer.id(), older.id()};  // newest published first
  auto tagged = [](std::string tag) {
    ListQuery query;
    query.tag = std::move(tag);
    return query;
  };
  {
    Options readOnly = t.options;
    readOnly.readOnly = true;
    readOnly.create = false;
    const auto archive = Archive::open(readOnly);
    const ReadTxn txn = archive->beginRead();
    EXPECT_EQ(txn.getMeta("schema"), "4");
    EXPECT_EQ(txn.list(tagged("mali")), mali);
  }
  EXPECT_NE(tagKeysOf(t.options.dir), rekeyed);
  t.reopen();
  EXPECT_EQ(tagKeysOf(t.options.dir), rekeyed);
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.getMeta("schema"), std::to_string(SCHEMA_VERSION));
  EXPECT_EQ(txn.list(tagged("mali")), mali);
  EXPECT_EQ(txn.list(tagged("sahel")), std::vector<ObjectId>{older.id()});
}

TEST(Archive, ReadOnlyArchiveReadsButRefusesWrites) {
  TempArchive t;
  const auto object = signBody(keyNumber(1), clipping("Kept"), 100);
  t.putAll({object});
  t.archive.reset();
  Options options;
  options.dir = t.dir.path() / "archive";
  options.readOnly = true;
  const auto archive = Archive::open(options);
  EXPECT_TRUE(archive->beginRead().contains(object.id()));
  EXPECT_THROW(archive->write([](WriteTxn&) {}), Error);
}

TEST(Archive, ForEachVisitsObjectsInIdOrderAndStopsWhenAsked) {
  TempArchive t;
  const auto key = keyNumber(1);
  std::vector<VerifiedObject> objects;
  for (int i = 0; i < 10; ++i) {
    objects.push_back(signBody(key, clipping("Item " + std::to_string(i)), 100 + i));
  }
  auto ids = t.putAll(objects);
  std::sort(ids.begin(), ids.end());
  const ReadTxn txn = t.archive->beginRead();
  std::vector<ObjectId> seen;
  txn.forEach([&](const ObjectId& id, std::span<const std::uint8_t> bytes) {
    EXPECT_EQ(toVector(bytes), toVector(*txn.get(id)));
    seen.push_back(id);
    return true;
  });
  EXPECT_EQ(seen, ids);
  seen.clear();
  txn.forEach([&](const ObjectId& id, std::span<const std::uint8_t>) {
    seen.push_back(id);
    return seen.size() < 3;
  });
  EXPECT_EQ(seen, std::vector<ObjectId>(ids.begin(), ids.begin() + 3));
  EXPECT_EQ(txn.count(), 10u);
}

TEST(Archive, FindByContentTellsSignersApart) {
  TempArchive t;
  const auto office = keyNumber(1);
  const auto partner = keyNumber(2);
  const Clipping same = clipping("Same article", "Word for word.");
  const auto mine = signBody(office, same, 100);
  const auto theirs = signBody(partner, same, 200);
  t.putAll({mine, theirs});
  const ReadTxn txn = t.archive->beginRead();
  const ContentHash hash = protocol::contentHash(same);
  EXPECT_EQ(txn.findByContent(hash, office.publicKey()), mine.id());
  EXPECT_EQ(txn.findByContent(hash, partner.publicKey()), theirs.id());
  EXPECT_FALSE(txn.findByContent(hash, keyNumber(3).publicKey()));
  EXPECT_FALSE(txn.findByContent(protocol::contentHash(clipping("Other")), office.publicKey()));
}

// --- Sequence numbers -----------------------------------------------------------------------

TEST(ArchiveSeq, EveryStoredObjectGetsTheNextSeqInPutOrder) {
  TempArchive t;
  const auto key = keyNumber(1);
  EXPECT_EQ(t.archive->beginRead().lastSeq(), 0u);
  EXPECT_TRUE(t.archive->beginRead().since(0).empty());

  const auto a = signBody(key, clipping("Alpha"), 300);
  const auto b = signBody(key, clipping("Bravo"), 100);  // signedAt plays no part
  protocol::KeyCert cert;
  cert.subject = keyNumber(2).publicKey();
  cert.name = "Goma office";
  const auto c = signBody(key, cert, 200);  // every kind of object gets one
  const auto d = signBody(key, clipping("Delta"), 50);
  t.putAll({a, b});
  t.archive->write([&](WriteTxn& txn) {
    EXPECT_EQ(txn.put(a), PutOutcome::AlreadyPresent);  // takes no seq
    EXPECT_EQ(txn.put(c), PutOutcome::Stored);
  });
  t.reopen();
  t.putAll({d});

  const ReadTxn txn = t.archive->beginRead();
  const std::vector<SeqEntry> all{{1, a.id()}, {2, b.id()}, {3, c.id()}, {4, d.id()}};
  EXPECT_EQ(txn.lastSeq(), 4u);
  EXPECT_EQ(txn.since(0), all);
  EXPECT_EQ(txn.since(2), (std::vector<SeqEntry>{all[2], all[3]}));
  EXPECT_EQ(txn.since(1, 2), (std::vector<SeqEntry>{all[1], all[2]}));
  EXPECT_TRUE(txn.since(4).empty());
  EXPECT_TRUE(txn.since(UINT64_MAX).empty());
  EXPECT_TRUE(txn.since(0, 0).empty());
}

TEST(ArchiveSeq, PutBatchGivesTheOutcomesAndSeqsOfPutsOneByOne) {
  TempArchive t;
  const auto key = keyNumber(1);
  const auto stored = signBody(key, clipping("Already here", "market prices"), 10);
  const auto retracted = signBody(key, clipping("Taken back", "market prices"), 11);
  t.putAll({stored});
  t.archive->write(
      [&](WriteTxn& txn) { txn.addTombstone(retracted.id(), stored.id(), std::nullopt); });
  // Ids in an order unlike their sort order, one twice, every kind of outcome.
  const auto a = signBody(key, clipping("Zulu", "market prices in Mopti"), 30);
  const auto b = signBody(key, clipping("Alpha", "market prices in Gao"), 20);
  protocol::KeyCert cert;
  cert.subject = keyNumber(2).publicKey();
  cert.name = "Goma office";
  const auto c = signBody(key, cert, 25);
  const std::vector<VerifiedObject> batch{a, stored, b, a, retracted, c};
  std::vector<PutOutcome> outcomes;
  t.archive->write([&](WriteTxn& txn) { outcomes = txn.putBatch(batch); });
  EXPECT_EQ(outcomes, (std::vector<PutOutcome>{PutOutcome::Stored, PutOutcome::AlreadyPresent,
                                               PutOutcome::Stored, PutOutcome::AlreadyPresent,
                                               PutOutcome::Retracted, PutOutcome::Stored}));

  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.since(1), (std::vector<SeqEntry>{{2, a.id()}, {3, b.id()}, {4, c.id()}}));
  EXPECT_EQ(txn.count(), 4u);
  EXPECT_FALSE(txn.contains(retracted.id()));
  EXPECT_EQ(txn.search("mopti"), std::vector<ObjectId>{a.id()});
  EXPECT_EQ(txn.search("market prices").size(), 3u);
  EXPECT_EQ(txn.list({}).size(), 4u);
  EXPECT_EQ(txn.ofKind(Kind::KeyCert), std::vector<ObjectId>{c.id()});
  EXPECT_EQ(txn.findByContent(protocol::contentHash(*b.payload().clipping()), key.publicKey()),
            b.id());
}

TEST(ArchiveSeq, AnAbortedBatchUsesUpNoSeqs) {
  TempArchive t;
  const auto key = keyNumber(1);
  const auto first = signBody(key, clipping("First"), 1);
  t.putAll({first});
  EXPECT_THROW(t.archive->write([&](WriteTxn& txn) {
    (void)txn.put(signBody(key, clipping("Lost one"), 2));
    (void)txn.put(signBody(key, clipping("Lost two"), 3));
    throw std::runtime_error("importer failed half-way");
  }),
               std::runtime_error);
  EXPECT_EQ(t.archive->beginRead().lastSeq(), 1u);
  const auto second = signBody(key, clipping("Second"), 4);
  t.putAll({second});
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.since(0), (std::vector<SeqEntry>{{1, first.id()}, {2, second.id()}}));
}

TEST(ArchiveSeq, SinceTheLastSeqSeenGivesWhatArrivedAfterwards) {
  TempArchive t;
  const auto key = keyNumber(1);
  t.putAll({signBody(key, clipping("One"), 1), signBody(key, clipping("Two"), 2)});
  const std::uint64_t seen = t.archive->beginRead().lastSeq();
  t.reopen();
  const auto three = signBody(key, clipping("Three"), 3);
  t.putAll({three});
  EXPECT_EQ(t.archive->beginRead().since(seen), (std::vector<SeqEntry>{{3, three.id()}}));
}

// --- Batches: failure and map growth --------------------------------------------------------

TEST(Archive, BatchThatThrowsStoresNothing) {
  TempArchive t;
  const auto key = keyNumber(1);
  const auto first = signBody(key, clipping("Bamako", "market prices"), 100);
  const auto second = signBody(key, clipping("Mopti", "market prices"), 101);
  EXPECT_THROW(t.archive->write([&](WriteTxn& txn) {
    (void)txn.put(first);
    (void)txn.put(second);
    txn.setMeta("node.name", "half done");
    throw std::runtime_error("importer failed half-way");
  }),
               std::runtime_error);
  {
    const ReadTxn txn = t.archive->beginRead();
    EXPECT_EQ(txn.count(), 0u);
    EXPECT_FALSE(txn.contains(first.id()));
    EXPECT_TRUE(txn.search("market").empty());
    EXPECT_TRUE(txn.list({}).empty());
    EXPECT_FALSE(txn.getMeta("node.name"));
    EXPECT_FALSE(
        txn.findByContent(protocol::contentHash(*first.payload().clipping()), key.publicKey()));
  }
  // The archive goes on working after the aborted batch.
  t.putAll({first, second});
  EXPECT_EQ(t.archive->beginRead().search("market").size(), 2u);
}

// Bodies of about 5 KB whose words differ between objects, like real articles.
std::vector<VerifiedObject> articles(const protocol::SecretKey& key, int count, int first) {
  std::vector<VerifiedObject> objects;
  for (int i = first; i < first + count; ++i) {
    std::string body;
    while (body.size() < 5000) {
      body += "report" + std::to_string((i * 7919 + body.size()) % 1000) + " field ";
    }
    body.pop_back();  // clippings are trimmed
    objects.push_back(
        signBody(key, clipping("Article " + std::to_string(i), body, "2013-01-11"), 1000 + i));
  }
  return objects;
}

TEST(Archive, MapGrowsUntilTheWholeBatchFits) {
  TempArchive t(64u << 10);  // far too small for one batch: it must double several times
  const auto key = keyNumber(1);
  const auto objects = articles(key, 400, 0);
  int runs = 0;
  t.archive->write([&](WriteTxn& txn) {
    ++runs;
    for (const auto& object : objects) {
      // A rerun starts from an aborted transaction: nothing of a failed run is left.
      ASSERT_EQ(txn.put(object), PutOutcome::Stored);
    }
  });
  EXPECT_GE(runs, 4) << "the map should have grown several times";

  const auto more = articles(key, 400, 400);
  t.putAll(more);
  t.reopen();
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.count(), 800u);
  for (const auto* batch : {&objects, &more}) {
    for (const auto& object : *batch) {
      const auto bytes = txn.get(object.id());
      ASSERT_TRUE(bytes);
      EXPECT_EQ(toVector(*bytes), toVector(object.bytes()));
    }
  }
  EXPECT_EQ(txn.search("field article").size(), 800u);
  EXPECT_EQ(txn.list({}).size(), 800u);
  // The reruns gave the same seqs again: 1 to 800 in put order, none lost or doubled.
  const auto added = txn.since(0);
  ASSERT_EQ(added.size(), 800u);
  for (std::size_t i = 0; i < added.size(); ++i) {
    EXPECT_EQ(added[i].seq, i + 1);
    EXPECT_EQ(added[i].id, (i < 400 ? objects[i] : more[i - 400]).id());
  }
  EXPECT_EQ(txn.lastSeq(), 800u);
}

TEST(Archive, MapGrowthDuringAMergeRerunsTheBatchWithTheSameSeqs) {
  Options options = mergeEvery(2);
  options.initialMapBytes = 64u << 10;
  TempArchive t(options);
  const auto key = keyNumber(1);
  std::vector<VerifiedObject> all;
  for (int batch = 0; batch < 5; ++batch) {
    const auto objects = articles(key, 150, batch * 150);
    t.putAll(objects);  // every second batch merges, growing the map as it goes
    all.insert(all.end(), objects.begin(), objects.end());
  }
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.search("field").size(), 750u);
  EXPECT_EQ(txn.search("article 7").size(), 1u);
  const auto added = txn.since(0);
  ASSERT_EQ(added.size(), all.size());
  for (std::size_t i = 0; i < added.size(); ++i) {
    EXPECT_EQ(added[i].seq, i + 1);
    EXPECT_EQ(added[i].id, all[i].id());
  }
  const TermIndexStats stats = termIndexStats(txn);
  EXPECT_GT(stats.chunks, 0u);
  EXPECT_EQ(stats.recentBatches, 1u);
}

TEST(Archive, MapGrowthWaitsForReadsOnOtherThreads) {
  TempArchive t(64u << 10);
  const auto key = keyNumber(1);
  const auto early = signBody(key, clipping("Early", "before the growth"), 1);
  t.putAll({early});

  std::promise<void> reading;
  std::atomic<bool> readEnded{false};
  std::vector<std::uint8_t> seenLate;
  std::jthread reader([&] {  // joins even when an assertion throws
    const ReadTxn txn = t.archive->beginRead();
    const auto view = txn.get(early.id());
    reading.set_value();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    seenLate = toVector(*view);  // still mapped: the resize has waited for this read
    readEnded = true;
  });
  reading.get_future().wait();
  int runs = 0;
  const auto objects = articles(key, 200, 0);
  t.archive->write([&](WriteTxn& txn) {
    ++runs;
    for (const auto& object : objects) (void)txn.put(object);
  });
  EXPECT_GT(runs, 1);
  EXPECT_TRUE(readEnded);
  reader.join();
  EXPECT_EQ(seenLate, toVector(early.bytes()));
  EXPECT_EQ(t.count(), 201u);
}

TEST(Archive, WriteRefusesAThreadThatHoldsARead) {
  TempArchive t;
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_THROW(t.archive->write([](WriteTxn&) {}), Error);
}

TEST(Archive, WriteInsideABatchIsRefused) {
  TempArchive t;
  t.archive->write([&](WriteTxn&) { EXPECT_THROW(t.archive->write([](WriteTxn&) {}), Error); });
}

TEST(Archive, SeveralReadsOnOneThreadMayOverlap) {
  TempArchive t;
  const auto object = signBody(keyNumber(1), clipping("Overlap"), 1);
  t.putAll({object});
  const ReadTxn outer = t.archive->beginRead();
  ReadTxn inner = t.archive->beginRead();
  ReadTxn moved = std::move(inner);
  EXPECT_TRUE(outer.contains(object.id()));
  EXPECT_TRUE(moved.contains(object.id()));
}

// --- list() ---------------------------------------------------------------------------------

class ArchiveList : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto key = keyNumber(1);
    auto add = [&](const std::string& name, protocol::Body body, std::int64_t signedAt) {
      m_objects.emplace(name, signBody(key, std::move(body), signedAt));
    };
    add("feb1", clipping("Feb 1", "", "2013-02-01", {"region:mali"}, "IRIN"), 10);
    add("jan", clipping("January", "", "2013-01", {"region:mali", "topic:aid"}, "AFP"), 11);
    add("jan31", clipping("Jan 31", "", "2013-01-31", {"topic:aid"}, "IRIN"), 12);
    add("jan5", clipping("Jan 5", "", "2013-01-05", {"region:mali"}, "IRIN"), 13);
    add("jan5early", clipping("Jan 5 early", "", "2013-01-05", {}, "IRIN"), 9);
    add("y2012", clipping("Year 2012", "", "2012", {"region:mali"}, "AFP"), 14);
    add("undated", clipping("Undated", "", "", {"region:mali"}, "IRIN"), 30);
    add("undatedOld", clipping("Undated old", "", "", {}, "IRIN"), 5);
    protocol::KeyCert cert;
    cert.subject = keyNumber(2).publicKey();
    cert.name = "Goma office";
    add("cert", cert, 20);
    std::vector<VerifiedObject> all;
    for (const auto& [name, object] : m_objects) all.push_back(object);
    m_archive.putAll(all);
  }

  std::vector<std::string> names(const ListQuery& query) {
    std::vector<std::string> out;
    for (const ObjectId& id : m_archive.archive->beginRead().list(query)) {
      for (const auto& [name, object] : m_objects) {
        if (object.id() == id) out.push_back(name);
      }
    }
    return out;
  }

  TempArchive m_archive;
  std::map<std::string, VerifiedObject> m_objects;
};

using Names = std::vector<std::string>;

TEST_F(ArchiveList, ListsNewestFirstWithAMonthAfterItsDaysAndUndatedLast) {
  EXPECT_EQ(names({}), (Names{"feb1", "jan", "jan31", "jan5", "jan5early", "y2012", "undated",
                              "cert", "undatedOld"}));
}

TEST_F(ArchiveList, LimitKeepsTheNewest) {
  ListQuery query;
  query.limit = 3;
  EXPECT_EQ(names(query), (Names{"feb1", "jan", "jan31"}));
  query.limit = 8;
  EXPECT_EQ(names(query),
            (Names{"feb1", "jan", "jan31", "jan5", "jan5early", "y2012", "undated", "cert"}));
  query.limit = 0;
  EXPECT_TRUE(names(query).empty());
}

TEST_F(ArchiveList, KindSelectsClippingsOrOtherObjects) {
  ListQuery query;
  query.kind = Kind::Clipping;
  EXPECT_EQ(names(query),
            (Names{"feb1", "jan", "jan31", "jan5", "jan5early", "y2012", "undated", "undatedOld"}));
  query.kind = Kind::KeyCert;
  EXPECT_EQ(names(query), Names{"cert"});
  query.kind = Kind::Release;
  EXPECT_TRUE(names(query).empty());
}

TEST_F(ArchiveList, TagSelectsTaggedClippingsInTheSameOrder) {
  ListQuery query;
  query.tag = "region:mali";
  EXPECT_EQ(names(query), (Names{"feb1", "jan", "jan5", "y2012", "undated"}));
  query.limit = 2;
  EXPECT_EQ(names(query), (Names{"feb1", "jan"}));
  query.tag = "region:niger";
  EXPECT_TRUE(names(query).empty());
}

TEST_F(ArchiveList, SourceSelectsExactly) {
  ListQuery query;
  query.source = "AFP";
  EXPECT_EQ(names(query), (Names{"jan", "y2012"}));
  query.source = "afp";
  EXPECT_TRUE(names(query).empty());
}

TEST_F(ArchiveList, SinceTakesADateAtTheEndOfItsPrecision) {
  ListQuery query;
  query.since = "2013-01-10";
  EXPECT_EQ(names(query), (Names{"feb1", "jan", "jan31"}));
  query.since = "2013-01";
  EXPECT_EQ(names(query), (Names{"feb1", "jan", "jan31", "jan5", "jan5early"}));
  query.since = "2013-02-02";
  EXPECT_TRUE(names(query).empty());
}

TEST_F(ArchiveList, FiltersCombine) {
  ListQuery query;
  query.tag = "region:mali";
  query.source = "IRIN";
  query.since = "2013-01-01";
  EXPECT_EQ(names(query), (Names{"feb1", "jan5"}));
  query.tag.reset();
  query.limit = 2;
  EXPECT_EQ(names(query), (Names{"feb1", "jan31"}));
}

// --- search() -------------------------------------------------------------------------------

TEST(ArchiveSearch, EveryTermIsRequired) {
  TempArchive t;
  const auto key = keyNumber(1);
  const auto both = signBody(key, clipping("Cholera in Gao", "Water points closed."), 1);
  const auto one = signBody(key, clipping("Cholera in Mopti"), 2);
  t.putAll({both, one});
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.search("cholera gao"), std::vector<ObjectId>{both.id()});
  EXPECT_EQ(txn.search("water cholera"), std::vector<ObjectId>{both.id()});
  EXPECT_EQ(txn.search("cholera"), (std::vector<ObjectId>{one.id(), both.id()}));
  EXPECT_EQ(txn.search("cholera", 1), std::vector<ObjectId>{one.id()});
}

TEST(ArchiveSearch, FoldsCaseAndAccents) {
  TempArchive t;
  const auto key = keyNumber(1);
  const auto object =
      signBody(key, clipping("Crise en Côte d'Ivoire", "Les RÉFUGIÉS arrivent."), 1);
  t.putAll({object});
  const ReadTxn txn = t.archive->beginRead();
  const std::vector<ObjectId> expected{object.id()};
  EXPECT_EQ(txn.search("cote"), expected);
  EXPECT_EQ(txn.search("Côte"), expected);
  EXPECT_EQ(txn.search("CÔTE IVOIRE"), expected);
  EXPECT_EQ(txn.search("refugies"), expected);
  EXPECT_EQ(txn.search("Réfugiés arrivent"), expected);
}

TEST(ArchiveSearch, FindsClippingsOfEveryBatch) {
  TempArchive t;
  const auto key = keyNumber(1);
  std::vector<ObjectId> ids;
  for (int batch = 0; batch < 4; ++batch) {
    const auto object = signBody(
        key, clipping("Drought " + std::to_string(batch), "", "2013-01-1" + std::to_string(batch)),
        batch);
    t.putAll({object});
    ids.insert(ids.begin(), object.id());  // later dates: newer
  }
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.search("drought"), ids);
  EXPECT_EQ(txn.search("drought 2"), std::vector<ObjectId>{ids[1]});
  EXPECT_EQ(txn.lastSeq(), 4u);
}

TEST(ArchiveSearch, WithoutAMatchFindsNothing) {
  TempArchive t;
  t.putAll({signBody(keyNumber(1), clipping("Harvest", "Millet and sorghum."), 1)});
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_TRUE(txn.search("locusts").empty());
  EXPECT_TRUE(txn.search("millet locusts").empty());
  EXPECT_TRUE(txn.search("mil").empty());  // whole terms only
}

// Terms are hashed eight bytes at a time: every length up to the longest, and terms that
// differ only after their first eight bytes or only in their length, are each found alone.
TEST(ArchiveSearch, FindsTermsOfEveryLengthAndTellsApartTermsThatShareABeginning) {
  TempArchive t;
  const auto key = keyNumber(1);
  std::string body;
  for (std::size_t n = 1; n <= protocol::MAX_TERM_BYTES; ++n) body += " " + std::string(n, 'q');
  const auto lengths = signBody(key, clipping("Lengths", body.substr(1)), 1);
  const auto first = signBody(key, clipping("abcdefgh1 abcdefghijklmnopq1"), 2);
  const auto second = signBody(key, clipping("abcdefgh2 abcdefghijklmnopq2 abcdefgh"), 3);
  t.putAll({lengths, first, second});
  const ReadTxn txn = t.archive->beginRead();
  for (std::size_t n = 1; n <= protocol::MAX_TERM_BYTES; ++n)
    EXPECT_EQ(txn.search(std::string(n, 'q')), std::vector<ObjectId>{lengths.id()}) << n;
  EXPECT_TRUE(txn.search(std::string(protocol::MAX_TERM_BYTES + 1, 'r')).empty());
  EXPECT_EQ(txn.search("abcdefgh1"), std::vector<ObjectId>{first.id()});
  EXPECT_EQ(txn.search("abcdefghijklmnopq1"), std::vector<ObjectId>{first.id()});
  EXPECT_EQ(txn.search("abcdefgh2 abcdefghijklmnopq2"), std::vector<ObjectId>{second.id()});
  EXPECT_EQ(txn.search("abcdefgh"), std::vector<ObjectId>{second.id()});
  EXPECT_TRUE(txn.search("abcdefghijklmnopq").empty());
  EXPECT_TRUE(txn.search("abcdefgh3").empty());
}

TEST(ArchiveSearch, EmptyQueryFindsNothing) {
  TempArchive t;
  t.putAll({signBody(keyNumber(1), clipping("Harvest", "Millet and sorghum."), 1)});
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_TRUE(txn.search("").empty());
  EXPECT_TRUE(txn.search(" ,;- ").empty());
}

/// Clippings whose words come from a small vocabulary, so terms recur across batches.
std::vector<VerifiedObject> vocabularyClippings(const protocol::SecretKey& key, int count,
                                                int first) {
  static const std::vector<std::string> words = {"flood", "gao",   "mopti", "cholera", "water",
                                                 "aid",   "niger", "mali",  "sahel",   "food"};
  std::vector<VerifiedObject> objects;
  for (int i = first; i < first + count; ++i) {
    std::string body = "in";
    for (int w = 0; w < 4; ++w) body += " " + words[(i * 7 + w * w * 3) % words.size()];
    objects.push_back(signBody(key,
                               clipping("Report " + std::to_string(i) + " " + words[i % 10], body,
                                        "2013-01-" + std::to_string(10 + i % 20)),
                               1000 + i));
  }
  return objects;
}

const std::vector<std::string> VOCABULARY_QUERIES = {
    "flood",  "gao",      "mopti water", "cholera aid", "niger mali",     "sahel", "food flood",
    "report", "report 3", "report 17",   "water gao",   "aid niger food", "zebra", "mali zebra"};

/// What search(query, limit) must find among entries: a brute-force scan.
std::vector<ObjectId> plainSearch(const std::vector<RefEntry>& entries, std::string_view query,
                                  std::size_t limit) {
  std::set<std::string> queryTerms;
  for (const auto& term : protocol::searchTerms(query)) queryTerms.insert(term);
  std::vector<const RefEntry*> matches;
  for (const RefEntry& e : entries) {
    if (!e.clipping || queryTerms.empty()) continue;
    if (std::includes(e.terms.begin(), e.terms.end(), queryTerms.begin(), queryTerms.end())) {
      matches.push_back(&e);
    }
  }
  return newestFirst(matches, limit);
}

std::vector<std::vector<ObjectId>> searchAll(const Archive& archive) {
  const ReadTxn txn = archive.beginRead();
  std::vector<std::vector<ObjectId>> results;
  for (const std::string& query : VOCABULARY_QUERIES) {
    results.push_back(txn.search(query));
    results.push_back(txn.search(query, 3));
  }
  return results;
}

TEST(ArchiveSearch, MergingTheRecentTierKeepsResultsIdentical) {
  TempArchive t(mergeEvery(1000));  // no merge while the batches go in
  const auto key = keyNumber(1);
  std::vector<RefEntry> reference;
  for (int batch = 0; batch < 6; ++batch) {
    const auto objects = vocabularyClippings(key, 7, batch * 7);
    t.putAll(objects);
    for (const auto& object : objects) reference.push_back(refEntry(object));
  }
  const TermIndexStats before = termIndexStats(t.archive->beginRead());
  EXPECT_EQ(before.recentBatches, 6u);
  EXPECT_GT(before.recentEntries, 0u);
  EXPECT_EQ(before.chunks, 0u);
  const auto results = searchAll(*t.archive);
  for (std::size_t q = 0; q < VOCABULARY_QUERIES.size(); ++q) {
    EXPECT_EQ(results[2 * q], plainSearch(reference, VOCABULARY_QUERIES[q], SIZE_MAX));
  }
  ASSERT_GT(results[0].size(), 3u);  // "flood": the queries do find things

  // The next batch crosses a lower threshold and merges all seven into chunks. Its one
  // clipping holds none of the queried words.
  t.reopen(mergeEvery(7));
  t.putAll({signBody(key, clipping("Unrelated"), 5000)});
  const TermIndexStats after = termIndexStats(t.archive->beginRead());
  EXPECT_EQ(after.recentBatches, 0u);
  EXPECT_EQ(after.recentEntries, 0u);
  EXPECT_GT(after.chunks, 0u);
  EXPECT_LT(after.chunks, before.recentEntries);  // one chunk per term, not per (batch, term)
  EXPECT_EQ(searchAll(*t.archive), results);

  // New batches go to the recent tier again, and search sees both tiers.
  const auto later = vocabularyClippings(key, 3, 100);
  t.putAll(later);
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(termIndexStats(txn).recentBatches, 1u);
  EXPECT_EQ(txn.search("report 101"), std::vector<ObjectId>{later[1].id()});
  EXPECT_EQ(txn.search("unrelated"), std::vector<ObjectId>{txn.since(42).front().id});
}

TEST(ArchiveSearch, AnAbortedBatchLeavesBothTiersUntouched) {
  TempArchive t(mergeEvery(3));
  const auto key = keyNumber(1);
  for (int batch = 0; batch < 5; ++batch) t.putAll(vocabularyClippings(key, 5, batch * 5));
  const TermIndexStats stats = termIndexStats(t.archive->beginRead());
  ASSERT_EQ(stats.recentBatches, 2u);  // one merge done; the next batch would merge again
  ASSERT_GT(stats.chunks, 0u);
  const auto results = searchAll(*t.archive);
  const std::uint64_t lastSeq = t.archive->beginRead().lastSeq();

  EXPECT_THROW(t.archive->write([&](WriteTxn& txn) {
    for (const auto& object : vocabularyClippings(key, 4, 50)) (void)txn.put(object);
    throw std::runtime_error("importer failed half-way");
  }),
               std::runtime_error);
  {
    const ReadTxn txn = t.archive->beginRead();
    const TermIndexStats now = termIndexStats(txn);
    EXPECT_EQ(now.recentBatches, stats.recentBatches);
    EXPECT_EQ(now.recentEntries, stats.recentEntries);
    EXPECT_EQ(now.chunks, stats.chunks);
    EXPECT_EQ(txn.lastSeq(), lastSeq);
  }
  EXPECT_EQ(searchAll(*t.archive), results);

  // The same batch, not aborted, merges and is found.
  const auto objects = vocabularyClippings(key, 4, 50);
  t.putAll(objects);
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(termIndexStats(txn).recentBatches, 0u);
  EXPECT_EQ(txn.search("report 52"), std::vector<ObjectId>{objects[2].id()});
  EXPECT_EQ(txn.lastSeq(), lastSeq + 4);
}

// The optimised index against a brute-force scan, on seeded random clippings.
TEST(ArchiveSearch, MatchesAPlainScanOnRandomClippings) {
  std::uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("FIELDSYNC_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::cout << "FIELDSYNC_SEED=" << seed << "\n";
  SCOPED_TRACE("FIELDSYNC_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto pick = [&](const auto& items) { return items[rng() % items.size()]; };

  const std::vector<std::string> words = {
      "Mali", "Gao",      "Côte",       "d'Ivoire", "réfugiés", "REFUGIES", "eau",   "Water",
      "aid",  "conflict", "Tombouctou", "élection", "Election", "food",     "Niger", "2013"};
  const std::vector<std::string> dates = {"",           "2012",    "2013-01",   "2013-01-05",
                                          "2013-01-31", "2013-02", "2013-02-11"};
  const std::vector<std::string> rareWords = {"Sahel", "locust", "CHOLERA", "Kidal"};
  const std::vector<std::string> tags = {"region:mali", "topic:aid", "topic:water"};
  const std::vector<std::string> sources = {"IRIN", "Reuters", "AFP"};
  auto text = [&](std::size_t maxWords) {
    std::string s;
    for (std::size_t n = rng() % (maxWords + 1); n > 0; --n) {
      s += (s.empty() ? "" : " ") + pick(words);
    }
    return s;
  };

  // Small batches and a low merge threshold, so the queries meet the index with an empty,
  // a partly filled and a just merged recent tier, and chunks from several merges.
  // Either threshold may be the one that merges: a few batches, or a few pages.
  Options options = mergeEvery(3 + rng() % 4);
  if (rng() % 2 == 0) {
    options.termsMergeBatches = 1000;
    options.termsMergeBytes = 4096 * (2 + rng() % 2);
  }
  std::cout << "termsMergeBatches=" << options.termsMergeBatches
            << " termsMergeBytes=" << options.termsMergeBytes << "\n";
  TempArchive t(options);
  const auto office = keyNumber(1);
  const auto partner = keyNumber(2);
  std::vector<RefEntry> reference;

  auto checkSearch = [&](const ReadTxn& txn, int queries) {
    for (int q = 0; q < queries; ++q) {
      std::string query = text(3);
      if (rng() % 3 == 0) query += " " + pick(rareWords);
      if (rng() % 10 == 0) query += " zebra";
      const std::size_t limit = rng() % 3 == 0 ? 1 + rng() % 10 : SIZE_MAX;
      EXPECT_EQ(txn.search(query, limit), plainSearch(reference, query, limit))
          << "query \"" << query << "\" limit " << limit;
    }
  };

  TermIndexStats seen;  // the most of each the index held at a checkpoint
  for (int batch = 0; batch < 24; ++batch) {
    std::vector<VerifiedObject> objects;
    for (std::size_t n = 1 + rng() % 25; n > 0; --n) {
      const std::int64_t signedAt = 1357000000 + static_cast<std::int64_t>(rng() % 50);
      if (rng() % 20 == 0) {
        protocol::KeyCert cert;
        cert.subject = partner.publicKey();
        cert.name = "cert " + std::to_string(rng());
        objects.push_back(signBody(office, cert, signedAt));
        continue;
      }
      std::string title = pick(words);
      if (const std::string more = text(3); !more.empty()) title += " " + more;
      std::string body = text(12);
      // Rare words make small result sets, which search() orders by another path.
      if (rng() % 30 == 0) body += (body.empty() ? "" : " ") + pick(rareWords);
      Clipping c = clipping(title, body, pick(dates), {}, pick(sources));
      for (const auto& tag : tags) {
        if (rng() % 3 == 0) c.tags.push_back(tag);
      }
      objects.push_back(signBody(rng() % 2 ? office : partner, c, signedAt));
    }
    t.putAll(objects);
    for (const auto& object : objects) reference.push_back(refEntry(object));
    const ReadTxn txn = t.archive->beginRead();
    const TermIndexStats stats = termIndexStats(txn);
    seen.recentBatches = std::max(seen.recentBatches, stats.recentBatches);
    seen.chunks = std::max(seen.chunks, stats.chunks);
    checkSearch(txn, 25);
  }
  const ReadTxn txn = t.archive->beginRead();
  ASSERT_EQ(txn.count(), reference.size());
  EXPECT_GT(seen.chunks, 0u) << "no merge happened";
  EXPECT_GT(seen.recentBatches, 1u) << "the recent tier never held two batches";
  checkSearch(txn, 300);
  const auto added = txn.since(0);
  ASSERT_EQ(added.size(), reference.size());
  for (std::size_t i = 0; i < added.size(); ++i) EXPECT_EQ(added[i].id, reference[i].id);

  for (int q = 0; q < 300; ++q) {
    ListQuery query;
    if (rng() % 3 == 0) query.kind = rng() % 4 == 0 ? Kind::KeyCert : Kind::Clipping;
    if (rng() % 3 == 0) query.tag = pick(tags);
    if (rng() % 3 == 0) query.source = pick(sources);
    if (rng() % 3 == 0)
      query.since = pick(std::vector<std::string>{"2013", "2013-01", "2013-01-10"});
    if (rng() % 3 == 0) query.limit = rng() % 12;
    std::vector<const RefEntry*> matches;
    for (const RefEntry& e : reference) {
      if (query.kind && e.kind != *query.kind) continue;
      if ((query.tag || query.source || query.since) && !e.clipping) continue;
      if (query.tag && std::find(e.clipping->tags.begin(), e.clipping->tags.end(), *query.tag) ==
                           e.clipping->tags.end()) {
        continue;
      }
      if (query.source && e.clipping->source != *query.source) continue;
      if (query.since &&
          (e.clipping->published.empty() || padded(e.clipping->published) < *query.since)) {
        continue;
      }
      matches.push_back(&e);
    }
    EXPECT_EQ(txn.list(query), newestFirst(matches, query.limit))
        << "list query " << q << " tag " << query.tag.value_or("-") << " source "
        << query.source.value_or("-") << " since " << query.since.value_or("-") << " limit "
        << query.limit;
  }
}

// --- Postings encoding ----------------------------------------------------------------------

std::vector<std::uint64_t> decoded(std::uint64_t base, const std::vector<std::uint8_t>& bytes) {
  std::vector<std::uint64_t> seqs;
  EXPECT_TRUE(decodePostings(base, bytes, seqs));
  return seqs;
}

TEST(Postings, RoundTripAtTheVarintBoundaries) {
  constexpr std::uint64_t TOP = std::uint64_t{1} << 63;
  const std::vector<std::vector<std::uint64_t>> cases = {
      {0},
      {127},
      {128},
      {0, 127, 254, 382},  // deltas 127, 127, 128
      {1, 2, 3, 16384, 16385, (std::uint64_t{1} << 35) + 7},
      {TOP},
      {0, TOP},
      {TOP - 1, TOP, UINT64_MAX},
      {UINT64_MAX},
  };
  for (const auto& seqs : cases) {
    for (const std::uint64_t base : {std::uint64_t{0}, seqs.front()}) {
      std::vector<std::uint8_t> bytes;
      encodePostings(base, seqs, bytes);
      EXPECT_EQ(decoded(base, bytes), seqs) << "base " << base << " first " << seqs.front();
    }
  }
}

TEST(Postings, EncodeDeltasAsLeb128) {
  std::vector<std::uint8_t> bytes;
  encodePostings(10, std::vector<std::uint64_t>{10}, bytes);
  EXPECT_EQ(bytes, std::vector<std::uint8_t>{0x00});
  bytes.clear();
  encodePostings(0, std::vector<std::uint64_t>{127, 255}, bytes);  // deltas 127, 128
  EXPECT_EQ(bytes, (std::vector<std::uint8_t>{0x7f, 0x80, 0x01}));
  bytes.clear();
  encodePostings(0, std::vector<std::uint64_t>{std::uint64_t{1} << 63}, bytes);
  EXPECT_EQ(bytes, (std::vector<std::uint8_t>{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                              0x01}));
  bytes.clear();
  encodePostings(5, std::vector<std::uint64_t>{}, bytes);
  EXPECT_TRUE(bytes.empty());
  EXPECT_TRUE(decoded(5, bytes).empty());
}

TEST(Postings, DecodeRefusesDamagedBytes) {
  auto refuses = [](std::uint64_t base, std::vector<std::uint8_t> bytes) {
    std::vector<std::uint64_t> seqs;
    return !decodePostings(base, bytes, seqs);
  };
  EXPECT_TRUE(refuses(0, {0x80}));        // cut short
  EXPECT_TRUE(refuses(0, {0x05, 0xff}));  // cut short after a good one
  EXPECT_TRUE(refuses(0, {0x05, 0x00}));  // a later delta of 0: not ascending
  EXPECT_TRUE(refuses(0, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02}));
  EXPECT_TRUE(refuses(0, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x00}));
  EXPECT_TRUE(refuses(1, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));  // sum
  EXPECT_FALSE(refuses(0, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  EXPECT_FALSE(refuses(7, {0x00, 0x01}));  // the first delta may be 0
}

// --- resolve() ------------------------------------------------------------------------------

TEST(ArchiveResolve, AcceptsAFullIdOrAUniquePrefixInEitherCase) {
  TempArchive t;
  const auto key = keyNumber(1);
  std::vector<VerifiedObject> objects;
  for (int i = 0; i < 20; ++i) objects.push_back(signBody(key, clipping("Item"), i));
  t.putAll(objects);
  const ReadTxn txn = t.archive->beginRead();
  const ObjectId& id = objects[7].id();
  const std::string hex = id.hex();
  std::string upper = hex;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  for (const std::string& text :
       {hex, upper, hex.substr(0, 8), upper.substr(0, 9), hex.substr(0, 15)}) {
    const auto resolved = txn.resolve(text);
    ASSERT_TRUE(resolved) << text << ": " << resolved.error().message();
    EXPECT_EQ(*resolved, id) << text;
  }
}

TEST(ArchiveResolve, ReportsTooShortNotHexAndNotFound) {
  TempArchive t;
  const auto object = signBody(keyNumber(1), clipping("Item"), 1);
  t.putAll({object});
  const ReadTxn txn = t.archive->beginRead();
  const std::string hex = object.id().hex();
  EXPECT_EQ(txn.resolve(hex.substr(0, 7)).error().kind, PrefixProblem::TooShort);
  EXPECT_EQ(txn.resolve("").error().kind, PrefixProblem::TooShort);
  EXPECT_EQ(txn.resolve("0123456g").error().kind, PrefixProblem::NotHex);
  EXPECT_EQ(txn.resolve(hex + "0").error().kind, PrefixProblem::NotHex);
  std::string other = hex;
  other[0] = other[0] == '0' ? '1' : '0';
  EXPECT_EQ(txn.resolve(other).error().kind, PrefixProblem::NotFound);
  EXPECT_EQ(txn.resolve(other.substr(0, 10)).error().kind, PrefixProblem::NotFound);
  EXPECT_FALSE(txn.resolve(other).error().message().empty());
}

TEST(ArchiveResolve, ReportsAnAmbiguousPrefixWithItsCandidates) {
  TempArchive t;
  const auto key = keyNumber(1);
  // Sign until two ids share their first two bytes: a few hundred tries, by the birthday bound.
  std::vector<VerifiedObject> objects;
  std::map<std::string, ObjectId> byPrefix;
  std::string shared;
  for (std::int64_t i = 0; shared.empty() && i < 20000; ++i) {
    objects.push_back(signBody(key, clipping("Collision hunt"), i));
    const std::string prefix = objects.back().id().hex().substr(0, 4);
    if (!byPrefix.emplace(prefix, objects.back().id()).second) shared = prefix;
  }
  ASSERT_FALSE(shared.empty());
  t.putAll(objects);

  std::vector<ObjectId> expected;  // every id with the shared prefix, in id order
  for (const auto& object : objects) {
    if (object.id().hex().starts_with(shared)) expected.push_back(object.id());
  }
  std::sort(expected.begin(), expected.end());
  ASSERT_GE(expected.size(), 2u);

  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.resolve(shared).error().kind, PrefixProblem::TooShort);
  const auto ambiguous = resolvePrefix(txn, shared);
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().kind, PrefixProblem::Ambiguous);
  EXPECT_EQ(ambiguous.error().candidates, expected);
  EXPECT_NE(ambiguous.error().message().find(expected[0].hex()), std::string::npos);

  // An odd length compares the last nibble: three characters match at least as many.
  std::vector<ObjectId> oddExpected;
  for (const auto& object : objects) {
    if (object.id().hex().starts_with(shared.substr(0, 3))) oddExpected.push_back(object.id());
  }
  std::sort(oddExpected.begin(), oddExpected.end());
  if (oddExpected.size() > 20) oddExpected.resize(20);
  const auto odd = resolvePrefix(txn, shared.substr(0, 3));
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().candidates, oddExpected);

  // The full ids still resolve, and so does a longer prefix that tells them apart.
  for (const ObjectId& id : expected) {
    const auto resolved = txn.resolve(id.hex().substr(0, 16));
    ASSERT_TRUE(resolved);
    EXPECT_EQ(*resolved, id);
  }
}

TEST(ArchiveResolve, AmbiguityListsAtMostTwentyCandidates) {
  TempArchive t;
  const auto key = keyNumber(1);
  std::vector<VerifiedObject> objects;
  for (int i = 0; i < 40; ++i) objects.push_back(signBody(key, clipping("Many"), i));
  t.putAll(objects);
  const ReadTxn txn = t.archive->beginRead();
  const auto all = resolvePrefix(txn, "");
  ASSERT_FALSE(all);
  EXPECT_EQ(all.error().kind, PrefixProblem::Ambiguous);
  EXPECT_EQ(all.error().candidates.size(), 20u);
}

}  // namespace
}  // namespace fieldsync::store
