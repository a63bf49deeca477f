// WriteTxn::remove: an archive that stored objects and removed them reads, query by query and
// database by database, as one that never held them; and release parts are indexed as
// members, not as releases.
#include <gtest/gtest.h>
#include <lmdb.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "protocol/text.h"
#include "store/archive.h"
#include "store/ingest.h"
#include "store/prefix.h"
#include "store/sync_index.h"
#include "tests/store/store_fixture.h"

namespace fieldsync::store {
namespace {

using protocol::Kind;
using protocol::VerifiedObject;
using testing::clipping;
using testing::keyNumber;
using testing::mergeEvery;
using testing::signBody;
using testing::TempArchive;

using Bytes = std::vector<std::uint8_t>;

std::string hexOf(std::span<const std::uint8_t> bytes) {
  static constexpr char DIGITS[] = "0123456789abcdef";
  std::string out;
  for (const std::uint8_t b : bytes) {
    out += DIGITS[b >> 4];
    out += DIGITS[b & 15];
  }
  return out;
}

std::uint64_t bigEndian(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

/// What the databases hold, read with LMDB itself (the archive closed): every entry of the
/// indexes whose content follows from the objects alone, and the full-text index as term ->
/// the ids its postings name (seqs differ between two archives; ids do not).
struct Dump {
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> plain;
  std::map<std::string, std::set<ObjectId>> terms;
  bool operator==(const Dump&) const = default;
};

Dump dumpArchive(const std::filesystem::path& dir) {
  Dump dump;
  testing::RawArchive raw(dir, testing::RawArchive::Mode::Read);
  auto each = [&](const char* name, auto&& fn) {
    MDB_cursor* cursor = nullptr;
    ASSERT_EQ(mdb_cursor_open(raw.txn(), raw.open(name), &cursor), 0);
    MDB_val key{};
    MDB_val data{};
    for (int rc = mdb_cursor_get(cursor, &key, &data, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT)) {
      fn(std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(key.mv_data), key.mv_size),
         std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(data.mv_data),
                                       data.mv_size));
    }
    mdb_cursor_close(cursor);
  };
  for (const char* name : {"objects", "by_time", "by_published", "by_tag", "by_signer",
                           "by_content", "by_kind", "by_release", "by_member"}) {
    each(name,
         [&](auto key, auto data) { dump.plain[name].emplace_back(hexOf(key), hexOf(data)); });
  }
  std::map<std::uint64_t, ObjectId> bySeq;
  each("by_seq", [&](auto key, auto data) {
    ObjectId id;
    std::copy(data.begin(), data.end(), id.bytes.begin());
    bySeq[bigEndian(key.data())] = id;
  });
  auto addPostings = [&](const std::string& term, std::uint64_t base, auto postings) {
    std::vector<std::uint64_t> seqs;
    EXPECT_TRUE(decodePostings(base, postings, seqs));
    EXPECT_FALSE(seqs.empty()) << "an entry without postings for " << term;
    for (const std::uint64_t seq : seqs) {
      EXPECT_TRUE(bySeq.count(seq)) << term << " names seq " << seq << ", which is not stored";
      dump.terms[term].insert(bySeq[seq]);
    }
  };
  each("terms", [&](auto key, auto data) {
    const std::string term(key.begin(), key.end() - 9);
    addPostings(term, bigEndian(key.data() + key.size() - 8), data);
  });
  each("terms_recent", [&](auto key, auto data) {
    addPostings(std::string(key.begin() + 8, key.end()), bigEndian(key.data()), data);
  });
  return dump;
}

/// Closes t's archive, dumps it and opens it again.
Dump dump(TempArchive& t) {
  t.archive.reset();
  Dump d = dumpArchive(t.options.dir);
  t.reopen();
  return d;
}

std::string idsText(const std::vector<ObjectId>& ids) {
  std::string out;
  for (const ObjectId& id : ids) out += id.hex().substr(0, 8) + " ";
  return out;
}

std::string releasesText(const std::vector<ReleaseEntry>& entries) {
  std::string out;
  for (const ReleaseEntry& e : entries) {
    out += e.name + "/" + std::to_string(e.sequence) + "/" + e.id.hex().substr(0, 8) + " ";
  }
  return out;
}

/// Every query's answer for the given words, objects and tags, one line each.
std::vector<std::string> observe(const Archive& archive, const std::vector<std::string>& words,
                                 const std::vector<VerifiedObject>& objects,
                                 const std::vector<std::string>& tags) {
  const ReadTxn txn = archive.beginRead();
  std::vector<std::string> lines;
  lines.push_back("count " + std::to_string(txn.count()));
  lines.push_back("list " + idsText(txn.list({})));
  for (const Kind kind : {Kind::Clipping, Kind::Release, Kind::KeyCert, Kind::ReleasePart}) {
    ListQuery query;
    query.kind = kind;
    lines.push_back("list kind " + std::to_string(int(kind)) + " " + idsText(txn.list(query)));
    if (kind != Kind::Clipping) lines.push_back("ofKind " + idsText(txn.ofKind(kind)));
  }
  for (const std::string& tag : tags) {
    ListQuery query;
    query.tag = tag;
    lines.push_back("tag " + tag + " " + idsText(txn.list(query)));
  }
  for (const char* source : {"Radio", "Unique Source"}) {
    ListQuery query;
    query.source = source;
    lines.push_back(std::string("source ") + source + " " + idsText(txn.list(query)));
  }
  {
    ListQuery query;
    query.since = "2013-01";
    lines.push_back("since 2013-01 " + idsText(txn.list(query)));
  }
  for (const std::string& word : words) {
    lines.push_back("search " + word + " " + idsText(txn.search(word)));
  }
  for (const VerifiedObject& object : objects) {
    const std::string name = object.id().hex().substr(0, 8);
    lines.push_back("contains " + name + " " + std::to_string(txn.contains(object.id())));
    if (const auto* c = object.payload().clipping()) {
      const auto found = txn.findByContent(protocol::contentHash(*c), object.payload().signer);
      lines.push_back("content " + name + " " + (found ? found->hex().substr(0, 8) : "-"));
    }
    lines.push_back("member " + name + " " + releasesText(txn.releasesContaining(object.id())));
  }
  std::string names;
  for (const std::string& n : txn.releaseNames()) {
    names += n + " ";
    lines.push_back("releases " + n + " " + releasesText(txn.releases(n)));
  }
  lines.push_back("releaseNames " + names);
  std::vector<ObjectId> sinceIds;
  for (const SeqEntry& e : txn.since(0)) sinceIds.push_back(e.id);
  lines.push_back("since(0) " + idsText(sinceIds));
  const ArchiveRangeIndex index(txn);
  index.checkLayout();
  lines.push_back("sync size " + std::to_string(index.size()));
  for (std::uint64_t from = 0; from <= index.size(); ++from) {
    for (std::uint64_t to = from; to <= index.size(); ++to) {
      const auto sum = index.sum(from, to);
      lines.push_back("sum " + std::to_string(from) + " " + std::to_string(to) + " " +
                      std::to_string(sum.count) + " " + hexOf(sum.sum));
    }
  }
  return lines;
}

struct Corpus {
  protocol::SecretKey office = keyNumber(1);
  protocol::SecretKey coordinator = keyNumber(2);
  VerifiedObject keep1 = signBody(office,
                                  clipping("Flood in Gao", "The river rose overnight in Gao.",
                                           "2013-01-11", {"region:mali"}, "Radio"),
                                  100);
  VerifiedObject gone1 =
      signBody(office,
               clipping("Zanzibarite flood", "Quixotically the river rose; zanzibarite everywhere.",
                        "2013-02", {"region:mali", "region:unique"}, "Unique Source"),
               110);
  VerifiedObject keep2 =
      signBody(office, clipping("Market prices", "Prices of millet rose in Mopti."), 120);
  VerifiedObject gone2 = signBody(
      office, clipping("Wombatish report", "Millet and wombatish things", "", {"region:mali"}),
      130);
  VerifiedObject release1 = signBody(
      coordinator, protocol::Release{"weekly", 1, std::nullopt, {keep1.id(), gone1.id()}, ""}, 140);
  VerifiedObject goneRelease = signBody(
      coordinator, protocol::Release{"daily", 1, std::nullopt, {keep2.id()}, "notes"}, 150);
  VerifiedObject keptPart =
      signBody(coordinator, protocol::ReleasePart{"huge", 1, 1, {keep1.id()}}, 160);
  VerifiedObject gonePart =
      signBody(coordinator, protocol::ReleasePart{"huge", 1, 2, {keep2.id(), gone2.id()}}, 170);
  VerifiedObject goneCert =
      signBody(coordinator,
               protocol::KeyCert{keyNumber(3).publicKey(), protocol::Role::Field, "Goma", 0}, 180);

  std::vector<VerifiedObject> all() const {
    return {keep1, gone1, keep2, gone2, release1, goneRelease, keptPart, gonePart, goneCert};
  }
  std::vector<ObjectId> gone() const {
    return {gone1.id(), gone2.id(), goneRelease.id(), gonePart.id(), goneCert.id()};
  }
  std::vector<std::string> words() const {
    return {"zanzibarite", "quixotically", "wombatish",        "flood",
            "river",       "rose",         "millet",           "gao",
            "prices",      "flood river",  "zanzibarite river"};
  }
  std::vector<std::string> tags() const { return {"region:mali", "region:unique"}; }
};

// Objects of every kind, stored over batches that go through both tiers of the full-text
// index, then removed: every query and every database entry equals an archive that only ever
// held the others.
TEST(ArchiveRemove, RemovedObjectsLeaveEveryQueryAndIndexAsIfNeverStored) {
  const Corpus c;
  TempArchive removed(mergeEvery(2));
  removed.putAll({c.keep1, c.gone1, c.release1});
  removed.putAll({c.keep2, c.gone2});  // merges: batch 1 and 2 go to terms
  removed.putAll({c.keptPart, c.gonePart, c.goneRelease, c.goneCert});
  {
    const ReadTxn txn = removed.archive->beginRead();
    ASSERT_EQ(txn.search("zanzibarite"), std::vector<ObjectId>{c.gone1.id()});
    ASSERT_EQ(txn.count(), 9u);
  }
  removed.archive->write([&](WriteTxn& txn) {
    for (const ObjectId& id : c.gone()) EXPECT_TRUE(txn.remove(id));
  });

  TempArchive never(mergeEvery(2));
  never.putAll({c.keep1, c.release1});
  never.putAll({c.keep2});
  never.putAll({c.keptPart});

  const auto observed = observe(*removed.archive, c.words(), c.all(), c.tags());
  EXPECT_EQ(observed, observe(*never.archive, c.words(), c.all(), c.tags()));
  // The answers are not trivially equal: the kept objects are found.
  EXPECT_EQ(removed.archive->beginRead().search("flood"), std::vector<ObjectId>{c.keep1.id()});
  EXPECT_EQ(removed.archive->beginRead().releasesContaining(c.keep1.id()).size(), 2u);

  const Dump removedDump = dump(removed);
  const Dump neverDump = dump(never);
  EXPECT_EQ(removedDump.plain, neverDump.plain);
  EXPECT_EQ(removedDump.terms, neverDump.terms);
  for (const char* word : {"zanzibarite", "quixotically", "wombatish"}) {
    EXPECT_EQ(removedDump.terms.count(word), 0u) << word << " is still a key";
  }
  EXPECT_EQ(removedDump.terms.at("millet"), std::set<ObjectId>{c.keep2.id()});
}

// The same, for objects removed in the batch that stored them (their terms never left the
// batch's buffer) and with the removal in the recent tier only.
TEST(ArchiveRemove, RemovalInTheStoringBatchOrTheRecentTierLeavesNoTrace) {
  const Corpus c;
  TempArchive removed;  // merges only every 64 batches: everything stays in terms_recent
  removed.putAll({c.keep1, c.gone1});
  removed.archive->write([&](WriteTxn& txn) {
    for (const auto& object : {c.keep2, c.gone2, c.goneCert}) {
      EXPECT_EQ(txn.put(object), PutOutcome::Stored);
    }
    EXPECT_TRUE(txn.remove(c.gone2.id()));
    EXPECT_TRUE(txn.remove(c.goneCert.id()));
    EXPECT_TRUE(txn.remove(c.gone1.id()));
    EXPECT_FALSE(txn.remove(c.gone1.id()));
  });
  TempArchive never;
  never.putAll({c.keep1});
  never.putAll({c.keep2});
  EXPECT_EQ(observe(*removed.archive, c.words(), c.all(), c.tags()),
            observe(*never.archive, c.words(), c.all(), c.tags()));
  const Dump removedDump = dump(removed);
  EXPECT_EQ(removedDump.plain, dump(never).plain);
  EXPECT_EQ(removedDump.terms.count("wombatish"), 0u);
  EXPECT_EQ(removedDump.terms.count("zanzibarite"), 0u);
}

TEST(ArchiveRemove, RemoveOfAnAbsentIdIsFalse) {
  const Corpus c;
  TempArchive t;
  t.putAll({c.keep1});
  t.archive->write([&](WriteTxn& txn) { EXPECT_FALSE(txn.remove(c.gone1.id())); });
  EXPECT_EQ(t.count(), 1u);
}

TEST(ArchiveRemove, RemovingOneOfTwoClippingsSharingTermsKeepsTheOtherSearchable) {
  const auto office = keyNumber(1);
  const auto a = signBody(office, clipping("Cholera in Goma", "Cases rise in Goma camps."), 100);
  const auto b = signBody(office, clipping("Cholera vaccine", "Goma clinics vaccinate."), 101);
  const auto c = signBody(office, clipping("Cholera later", "Goma again."), 102);
  TempArchive t(mergeEvery(2));
  t.putAll({a, b});
  t.putAll({c});  // a and b merged into chunks together; c alone in its own chunk
  t.archive->write([&](WriteTxn& txn) { EXPECT_TRUE(txn.remove(a.id())); });
  {
    const ReadTxn txn = t.archive->beginRead();
    EXPECT_EQ(txn.search("cholera goma"), (std::vector<ObjectId>{c.id(), b.id()}));
    EXPECT_TRUE(txn.search("camps").empty());
    EXPECT_EQ(txn.search("vaccinate"), std::vector<ObjectId>{b.id()});
  }
  t.archive->write([&](WriteTxn& txn) { EXPECT_TRUE(txn.remove(c.id())); });
  EXPECT_EQ(t.archive->beginRead().search("goma"), std::vector<ObjectId>{b.id()});
  t.reopen();
  EXPECT_EQ(t.archive->beginRead().search("cholera"), std::vector<ObjectId>{b.id()});
}

TEST(ArchiveRemove, ARemovedObjectCanBeStoredAgainWithANewSeq) {
  const Corpus c;
  TempArchive t;
  t.putAll({c.keep1, c.gone1});
  t.archive->write([&](WriteTxn& txn) { EXPECT_TRUE(txn.remove(c.gone1.id())); });
  t.putAll({c.gone1});
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.since(0), (std::vector<SeqEntry>{{1, c.keep1.id()}, {3, c.gone1.id()}}));
  EXPECT_EQ(txn.search("zanzibarite"), std::vector<ObjectId>{c.gone1.id()});
  EXPECT_EQ(txn.count(), 2u);
  const ArchiveRangeIndex index(txn);
  EXPECT_EQ(index.size(), 2u);
  index.checkLayout();
}

TEST(ArchiveRemove, AReleasePartIsIndexedByKindAndMembersButIsNoRelease) {
  const Corpus c;
  TempArchive t;
  t.putAll({c.keep1, c.keptPart, c.gonePart});
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.ofKind(Kind::ReleasePart),
            (std::vector<ObjectId>{c.gonePart.id(), c.keptPart.id()}));
  EXPECT_TRUE(txn.releaseNames().empty());
  EXPECT_TRUE(txn.releases("huge").empty());
  const auto holding = txn.releasesContaining(c.keep2.id());
  ASSERT_EQ(holding.size(), 1u);
  EXPECT_EQ(holding[0].name, "huge");
  EXPECT_EQ(holding[0].sequence, 1u);
  EXPECT_EQ(holding[0].id, c.gonePart.id());
}

// Random batches of puts and removes over a small vocabulary (so terms are shared), through
// both tiers and their merges, against a plain reference; FIELDSYNC_SEED replays a run.
TEST(ArchiveRemove, RandomPutsAndRemovesMatchTheReference) {
  std::uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("FIELDSYNC_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::cout << "FIELDSYNC_SEED=" << seed << "\n";
  SCOPED_TRACE("FIELDSYNC_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const std::vector<std::string> vocabulary = {"alpha",   "bravo", "charlie", "delta", "echo",
                                               "foxtrot", "golf",  "hotel",   "india", "juliet"};
  const auto office = keyNumber(1);
  TempArchive t(mergeEvery(3));
  std::map<ObjectId, std::set<std::string>> live;
  std::vector<VerifiedObject> known;
  for (int batch = 0; batch < 25; ++batch) {
    std::vector<VerifiedObject> fresh;
    for (int i = 0, n = int(rng() % 6); i < n; ++i) {
      std::string title = "n" + std::to_string(known.size() + fresh.size());
      for (int w = 0; w < 3; ++w) title += " " + vocabulary[rng() % vocabulary.size()];
      fresh.push_back(signBody(office, clipping(title), 1000 + std::int64_t(rng() % 100)));
    }
    std::vector<ObjectId> victims;
    for (int i = 0, n = int(rng() % 4); i < n && !(live.empty() && fresh.empty()); ++i) {
      const std::size_t pick = rng() % (live.size() + fresh.size());
      victims.push_back(pick < live.size() ? std::next(live.begin(), std::ptrdiff_t(pick))->first
                                           : fresh[pick - live.size()].id());
    }
    t.archive->write([&](WriteTxn& txn) {
      for (const auto& object : fresh) (void)txn.put(object);
      for (const ObjectId& id : victims) (void)txn.remove(id);
    });
    for (const auto& object : fresh) {
      std::set<std::string> terms;
      for (const auto& term : protocol::searchTerms(object.payload().clipping()->title)) {
        terms.insert(term);
      }
      live[object.id()] = terms;
      known.push_back(object);
    }
    for (const ObjectId& id : victims) live.erase(id);

    const ReadTxn txn = t.archive->beginRead();
    ASSERT_EQ(txn.count(), live.size());
    for (const std::string& word : vocabulary) {
      std::set<ObjectId> expected;
      for (const auto& [id, terms] : live) {
        if (terms.count(word)) expected.insert(id);
      }
      const auto found = txn.search(word);
      ASSERT_EQ(std::set<ObjectId>(found.begin(), found.end()), expected) << word;
    }
    const ArchiveRangeIndex index(txn);
    ASSERT_EQ(index.size(), live.size());
    ASSERT_NO_THROW(index.checkLayout());
  }
}

// --- Tombstones -----------------------------------------------------------------------------

TEST(ArchiveTombstone, ATombstonedClippingIsRefusedEvenAfterReopening) {
  const Corpus c;
  const ObjectId retraction = c.goneCert.id();  // any id stands for the retraction here
  TempArchive t;
  t.putAll({c.gone1});
  t.archive->write([&](WriteTxn& txn) {
    EXPECT_FALSE(txn.tombstone(c.gone1.id()));
    EXPECT_TRUE(txn.remove(c.gone1.id()));
    txn.addTombstone(c.gone1.id(), retraction, std::nullopt);
    EXPECT_EQ(txn.tombstone(c.gone1.id()), (Tombstone{retraction, std::nullopt}));
    EXPECT_EQ(txn.put(c.gone1), PutOutcome::Retracted);
  });
  t.reopen();
  t.archive->write([&](WriteTxn& txn) {
    EXPECT_EQ(txn.put(c.gone1), PutOutcome::Retracted);
    EXPECT_EQ(txn.put(c.keep1), PutOutcome::Stored);
    txn.addTombstone(c.gone1.id(), retraction, std::nullopt);  // twice: harmless
  });
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.count(), 1u);
  EXPECT_FALSE(txn.contains(c.gone1.id()));
  EXPECT_TRUE(txn.search("zanzibarite").empty());
  EXPECT_EQ(txn.tombstone(c.gone1.id()), (Tombstone{retraction, std::nullopt}));
  EXPECT_FALSE(txn.tombstone(c.keep1.id()));
}

TEST(ArchiveTombstone, ATombstoneForOneSignerRefusesOnlyThatSignersClipping) {
  const Corpus c;
  const PublicKey stranger = keyNumber(9).publicKey();
  const ObjectId byStranger = c.goneCert.id();
  const ObjectId byOffice = c.goneRelease.id();
  TempArchive t;
  t.archive->write([&](WriteTxn& txn) {
    txn.addTombstone(c.gone1.id(), byStranger, stranger);
    EXPECT_EQ(txn.put(c.gone1), PutOutcome::Stored);  // signed by the office, not the stranger
    EXPECT_TRUE(txn.remove(c.gone1.id()));
    txn.addTombstone(c.gone1.id(), byOffice, c.office.publicKey());
    EXPECT_EQ(txn.put(c.gone1), PutOutcome::Retracted);
  });
  const ReadTxn txn = t.archive->beginRead();
  const auto tombstone = txn.tombstone(c.gone1.id());
  ASSERT_TRUE(tombstone);
  EXPECT_TRUE(tombstone->onlyIfSignedBy);  // both conditional: the smallest retraction id
  EXPECT_EQ(tombstone->retraction, std::min(byStranger, byOffice));
  EXPECT_FALSE(txn.contains(c.gone1.id()));
}

TEST(ArchiveTombstone, AnUnconditionalTombstoneIsTheOneReported) {
  const Corpus c;
  TempArchive t;
  const ObjectId low{};  // all zero: sorts first
  const ObjectId high = c.goneCert.id();
  t.archive->write([&](WriteTxn& txn) {
    txn.addTombstone(c.gone1.id(), low, c.office.publicKey());
    txn.addTombstone(c.gone1.id(), high, std::nullopt);
  });
  EXPECT_EQ(t.archive->beginRead().tombstone(c.gone1.id()), (Tombstone{high, std::nullopt}));
}

TEST(ArchiveTombstone, ASignerTombstoneRefusesClippingsSignedFromItsSince) {
  const auto office = keyNumber(1);
  const auto partner = keyNumber(2);
  const ObjectId first = signBody(partner, clipping("r1"), 1).id();
  const ObjectId later = signBody(partner, clipping("r2"), 1).id();
  const auto before = signBody(office, clipping("Before"), 199);
  const auto at = signBody(office, clipping("At"), 200);
  const auto after = signBody(office, clipping("After"), 500);
  const auto theirs = signBody(partner, clipping("Theirs"), 500);
  const auto cert = signBody(
      office, protocol::KeyCert{keyNumber(3).publicKey(), protocol::Role::Field, "Goma", 0}, 500);
  TempArchive t;
  t.archive->write([&](WriteTxn& txn) {
    txn.addSignerTombstone(office.publicKey(), 300, later);
    txn.addSignerTombstone(office.publicKey(), 200, first);
    EXPECT_EQ(txn.signerTombstone(office.publicKey(), 250), first);
  });
  t.archive->write([&](WriteTxn& txn) {
    EXPECT_EQ(txn.put(before), PutOutcome::Stored);
    EXPECT_EQ(txn.put(at), PutOutcome::Retracted);
    EXPECT_EQ(txn.put(after), PutOutcome::Retracted);
    EXPECT_EQ(txn.put(theirs), PutOutcome::Stored);
    EXPECT_EQ(txn.put(cert), PutOutcome::Stored);  // only clippings are taken back
  });
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.count(), 3u);
  EXPECT_FALSE(txn.signerTombstone(office.publicKey(), 199));
  EXPECT_EQ(txn.signerTombstone(office.publicKey(), 200), first);
  EXPECT_EQ(txn.signerTombstone(office.publicKey(), 1000), first);  // the earliest since
  EXPECT_FALSE(txn.signerTombstone(partner.publicKey(), 1000));
}

TEST(ArchiveTombstone, ASchema2ArchiveGetsTombstonesWhenOpenedWritable) {
  const Corpus c;
  TempArchive t;
  t.putAll({c.keep1});
  t.archive.reset();
  testing::downgradeSchema(t.options.dir, "retracted", "2");  // no tombstones

  Options readOnly = t.options;
  readOnly.readOnly = true;
  t.reopen(readOnly);
  {
    const ReadTxn txn = t.archive->beginRead();
    EXPECT_EQ(txn.getMeta("schema"), "2");
    EXPECT_FALSE(txn.tombstone(c.keep1.id()));
    EXPECT_FALSE(txn.signerTombstone(c.office.publicKey(), 100));
    EXPECT_EQ(txn.count(), 1u);
  }
  Options writable = t.options;
  writable.readOnly = false;
  t.reopen(writable);
  EXPECT_EQ(t.archive->beginRead().getMeta("schema"), std::to_string(SCHEMA_VERSION));
  EXPECT_GE(SCHEMA_VERSION, 3u);
  t.archive->write([&](WriteTxn& txn) {
    txn.addTombstone(c.gone1.id(), c.goneCert.id(), std::nullopt);
    EXPECT_EQ(txn.put(c.gone1), PutOutcome::Retracted);
  });
  EXPECT_TRUE(t.archive->beginRead().tombstone(c.gone1.id()));
}

TEST(ArchiveTombstone, IngestReportsClippingsATombstoneRefused) {
  const auto office = keyNumber(1);
  TempArchive t;
  t.archive->write(
      [&](WriteTxn& txn) { txn.addSignerTombstone(office.publicKey(), 50, ObjectId{}); });
  const IngestResult result =
      ingestClippings(*t.archive, office, {clipping("Taken back"), clipping("Also")}, 100);
  EXPECT_TRUE(result.stored.empty());
  EXPECT_TRUE(result.duplicates.empty());
  EXPECT_EQ(result.retracted.size(), 2u);
  EXPECT_EQ(t.count(), 0u);
}

// --- A read view inside a write, and the trust hook ------------------------------------------

TEST(ArchiveWriteReader, AReaderInsideABatchSeesItsWritesAndEndsNothing) {
  const Corpus c;
  TempArchive t;
  t.putAll({c.keep1});
  t.archive->write([&](WriteTxn& txn) {
    EXPECT_EQ(txn.put(c.gone1), PutOutcome::Stored);
    {
      const ReadTxn view = txn.reader();
      EXPECT_EQ(view.count(), 2u);
      EXPECT_TRUE(view.contains(c.gone1.id()));
      EXPECT_EQ(view.list({}).size(), 2u);
      EXPECT_EQ(ArchiveRangeIndex(view).size(), 2u);
    }  // ends nothing: the batch goes on
    EXPECT_TRUE(txn.remove(c.keep1.id()));
    txn.setAnchor({c.coordinator.publicKey(), protocol::Role::Coordinator, "hq"});
    const ReadTxn view = txn.reader();
    EXPECT_FALSE(view.contains(c.keep1.id()));
    EXPECT_EQ(view.anchors().size(), 1u);
  });
  const ReadTxn txn = t.archive->beginRead();
  EXPECT_EQ(txn.count(), 1u);
  EXPECT_TRUE(txn.contains(c.gone1.id()));
  EXPECT_EQ(txn.anchors().size(), 1u);
}

TEST(ArchiveWriteReader, TrustChangesWithCertificatesRevocationsRetractionsAndAnchors) {
  const Corpus c;
  const auto revocation =
      signBody(c.coordinator, protocol::Revocation{keyNumber(4).publicKey(), 50, "lost"}, 100);
  protocol::Retraction retract;
  retract.clippings = {c.gone1.id()};
  retract.reason = "wrong article";
  const auto retraction = signBody(c.office, retract, 200);
  TempArchive t;
  auto changes = [&](const std::function<void(WriteTxn&)>& batch) {
    bool changed = false;
    t.archive->write([&](WriteTxn& txn) {
      EXPECT_FALSE(txn.trustChanged());
      batch(txn);
      changed = txn.trustChanged();
    });
    return changed;
  };
  EXPECT_FALSE(changes([&](WriteTxn& txn) {
    (void)txn.put(c.keep1);
    (void)txn.put(c.release1);
    (void)txn.put(c.keptPart);
    (void)txn.remove(c.keep1.id());
    txn.addTombstone(c.gone1.id(), c.goneCert.id(), std::nullopt);
    EXPECT_FALSE(txn.removeAnchor(c.office.publicKey()));
  }));
  EXPECT_TRUE(changes([&](WriteTxn& txn) { (void)txn.put(c.goneCert); }));
  EXPECT_FALSE(changes([&](WriteTxn& txn) { (void)txn.put(c.goneCert); }));  // already there
  EXPECT_TRUE(changes([&](WriteTxn& txn) { (void)txn.put(revocation); }));
  EXPECT_TRUE(changes([&](WriteTxn& txn) { (void)txn.put(retraction); }));
  EXPECT_TRUE(changes([&](WriteTxn& txn) {
    txn.setAnchor({c.coordinator.publicKey(), protocol::Role::Coordinator, "hq"});
  }));
  EXPECT_TRUE(
      changes([&](WriteTxn& txn) { EXPECT_TRUE(txn.removeAnchor(c.coordinator.publicKey())); }));
  EXPECT_EQ(t.archive->beginRead().ofKind(Kind::Retraction),
            std::vector<ObjectId>{retraction.id()});
}

}  // namespace
}  // namespace fieldsync::store
