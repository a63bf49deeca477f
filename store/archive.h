#pragma once
// The archive on disk: verified signed objects and their indexes in one LMDB environment.
//
// Databases (one environment, see docs/architecture.md):
//   objects      id -> SignedObject bytes
//   by_time      signedAt (8 bytes BE, offset binary) || id -> ""     the order sync walks
//   by_published publishedKey (10 bytes, "2013-01-99" style) || signedAt || id -> ""
//   by_tag       tag || 0x00 || signedAt (8 bytes BE, offset binary) || id -> ""
//   by_signer    signer (32) || signedAt || id -> ""
//   by_content   contentHash (32) || signer (32) || id -> ""          duplicates across offices
//   by_seq       seq (8 bytes BE) -> id                               the order objects arrived
//   terms_recent batchSeq (8 bytes BE) || term -> postings             full-text, recent batches
//   terms        term || 0x00 || chunkSeq (8 bytes BE) -> postings     full-text, merged chunks
//   meta         "schema" -> version, "seq" -> last seq given, "terms.recent.batches" -> number
//                of batches in terms_recent, "scrub.through" -> a scrub is owed (scrubStats),
//                "scrub.tick" -> the scrub's own small commits, and node settings
//   by_kind      kind (1) || signedAt || id -> ""               every object but clippings
//   by_release   name || 0x00 || sequence (8 bytes BE) || id -> ""   release chains and forks
//   by_member    clipping id || release id -> sequence (8 bytes BE) || release name; also
//                clipping id || release part id -> the part's sequence || name
//   keys         public key (32) -> role ('c' or 'f') || name    local trust anchors, never synced
//   peers        peer name -> record (store/peers.h)            local peer list, never synced
//   sync_index   level (1) || signedAt || id -> count || id sum || children    an aggregate tree
//                over by_time, for counts and id sums of ranges in sync order (sync_index.h)
//   retracted    tombstones, never removed, never synced (the retractions themselves are):
//                'c' || clipping id || retraction id -> onlyIfSignedBy (32) or ""
//                's' || signer (32) || since (8 bytes BE, offset binary) || retraction id -> ""
//   by_target    clipping id || annotation id -> 't' (the annotation corrects that clipping)
//                or 'd' (it marks another clipping a duplicate of that one)
//
// Every stored object gets the next local sequence number (seq, from 1, never reused; local to
// this archive, not synced). The full-text index is a small two-tier log-structured index
// (docs/decisions/0002-full-text-index.md): postings are the ascending seqs of the clippings
// holding a term, as LEB128 deltas, the first relative to the seq in the key. Each write adds
// one entry per distinct term to terms_recent, at the right edge of that tree; once
// terms_recent holds Options::termsMergeBatches batches or termsMergeBytes, that write merges
// it into one new chunk per term in terms and empties it. Chunks are never rewritten.
//
// Threads: open an archive once per process (LMDB forbids opening one environment twice) and
// share the Archive by reference; any number of ReadTxn, each used on the thread that began
// it; write() calls are serialised within the process (LMDB serialises writers across
// processes). A thread must end its ReadTxns before it calls write(): growing the map waits
// until no transaction of this process is live, so write() refuses (throws Error) rather than
// wait forever for a read held by its own thread; so is a write() nested in a batch.
// Lifetime: spans returned by a ReadTxn point into the map and die with the transaction.
// Errors: absence is std::optional; expected refusals are Expected; LMDB and I/O problems
// throw fieldsync::Error naming the call ("mdb_txn_commit: MDB_MAP_FULL ...").

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/error.h"
#include "protocol/object.h"
#include "protocol/trust.h"
#include "store/archive_file.h"

typedef struct MDB_env MDB_env;
typedef struct MDB_txn MDB_txn;

namespace fieldsync::store {

using protocol::ContentHash;
using protocol::ObjectId;
using protocol::PublicKey;

/// 1: the first deployed layout (by_seq and the two-tier terms index included: no archive was
/// deployed before them, docs/decisions/0002-full-text-index.md).
/// 2: adds sync_index. Opening a version-1 archive writable builds it from by_time in one
/// write and sets version 2; opened read-only, such an archive reads as before but has no
/// ArchiveRangeIndex (its constructor throws Error saying to open the archive writable once).
/// 3: adds retracted (tombstones). Opening a version-2 archive writable creates it, empty, and
/// sets version 3; opened read-only, such an archive reads as having no tombstones.
/// 4: adds by_target (annotations by the clippings they name). Opening a version-2 or 3
/// archive writable creates it, empty (no older fieldsync could store an annotation), and sets
/// version 4; opened read-only, such an archive reads as having no annotations.
/// 5: by_tag keys hold signedAt before the id (were tag || 0x00 || id), so the new clippings of
/// a batch land together at the end of each tag's run instead of one random leaf each.
/// Opening an older archive writable rewrites by_tag in one write (decoding each tagged
/// object for its signedAt) and sets version 5; opened read-only, it reads as before (list
/// reads the id at the end of either key).
inline constexpr std::uint32_t SCHEMA_VERSION = 5;

/// The default ceiling of map growth: 1 TiB of address space, far beyond any disk a field
/// office has, so in practice the disk fills first (DiskFull, store/files.h).
inline constexpr std::size_t DEFAULT_MAX_MAP_BYTES = std::size_t{1} << 40;
/// Environment variables read by mapSizesFromEnvironment(): sizes in bytes, or with a suffix
/// K, M, G or T (binary units), e.g. FIELDSYNC_MAP_MAX=4G.
inline constexpr const char* ENV_MAP_INITIAL = "FIELDSYNC_MAP_INITIAL";
inline constexpr const char* ENV_MAP_MAX = "FIELDSYNC_MAP_MAX";

struct Options {
  std::filesystem::path dir;  // the LMDB environment's folder
  bool create = false;        // create dir and databases if missing
  bool readOnly = false;
  /// The map (LMDB's address space for the file, not disk space) of a new archive; an
  /// existing one keeps the size it grew to. On MDB_MAP_FULL a write grows it (doubles it, at
  /// most to maxMapBytes) and runs its batch again: a full map is never a dead end below the
  /// ceiling. At the ceiling the write fails with MapCeiling and stores nothing.
  std::size_t initialMapBytes = 64u << 20;
  std::size_t maxMapBytes = DEFAULT_MAX_MAP_BYTES;
  /// The write that leaves terms_recent holding this many batches, or this many bytes of
  /// pages, merges it into terms. Larger: cheaper imports (scattered page rewrites amortised
  /// over more clippings), slower searches (one lookup per term and recent batch). The
  /// defaults are measured in docs/decisions/0002-full-text-index.md; tests set them low.
  std::size_t termsMergeBatches = 64;
  std::size_t termsMergeBytes = 8u << 20;
  /// The most children a block of the sync index may have before it splits in two (at least
  /// SYNC_INDEX_MIN_CHILDREN, sync_index.h). Smaller: cheaper range sums (down to about 16),
  /// more levels to update per object. Measured by BM_SyncIndex* in bench/archive_bench.cpp
  /// (docs/architecture.md, "Sync index"); tests set it low to get many levels.
  std::size_t syncIndexMaxChildren = 32;
  /// Benchmarks only (BM_CommitWithout in bench/archive_bench.cpp): the indexes put() leaves
  /// out (SkipIndex bits), to measure each one's share of a commit. An archive written so
  /// answers queries wrong; nothing but that benchmark sets it.
  std::uint32_t benchmarkSkipIndexes = 0;
};

/// Bits of Options::benchmarkSkipIndexes.
enum SkipIndex : std::uint32_t {
  SKIP_SYNC_INDEX = 1u << 0,
  SKIP_BY_TIME = 1u << 1,  // and the sync index, which is built over it
  SKIP_BY_PUBLISHED = 1u << 2,
  SKIP_BY_TAG = 1u << 3,
  SKIP_BY_SIGNER = 1u << 4,
  SKIP_BY_CONTENT = 1u << 5,
  SKIP_BY_SEQ = 1u << 6,
  SKIP_FULL_TEXT = 1u << 7,
};

/// options with initialMapBytes and maxMapBytes taken from FIELDSYNC_MAP_INITIAL and
/// FIELDSYNC_MAP_MAX when set (docs/user-guide.md: a ceiling for a shared disk; a tiny
/// initial map for tests of growth). A value that is not a size throws Error naming it.
Options mapSizesFromEnvironment(Options options);

/// A write needs more than the map's ceiling (Options::maxMapBytes). The batch was aborted:
/// nothing of it is stored. what() names the archive, the ceiling and what to do.
class MapCeiling : public Error {
 public:
  MapCeiling(const std::filesystem::path& dir, std::size_t mapBytes, std::size_t maxMapBytes);
  std::size_t mapBytes() const { return m_mapBytes; }

 private:
  std::size_t m_mapBytes;
};

/// An object as it arrived in this archive: its local sequence number and its id.
struct SeqEntry {
  std::uint64_t seq = 0;
  ObjectId id;
  bool operator==(const SeqEntry&) const = default;
};

/// What put() did. Retracted: a tombstone refuses the object (a clipping whose id is
/// tombstoned for its signer, or whose signer is tombstoned from before its signedAt); nothing
/// was stored, and callers count it as not stored, like AlreadyPresent.
enum class PutOutcome { Stored, AlreadyPresent, Retracted };

/// A clipping taken back by a retraction that took effect here (store/retraction.h decides
/// where). onlyIfSignedBy: the tombstone refuses the clipping only when that key signed it
/// (a retraction by the clipping's own signer names ids it cannot prove are its own);
/// empty: whoever signed it.
struct Tombstone {
  ObjectId retraction;
  std::optional<PublicKey> onlyIfSignedBy;
  bool operator==(const Tombstone&) const = default;
};

/// Why a hex prefix did not name exactly one object.
struct PrefixProblem {
  enum Kind { TooShort, NotHex, NotFound, Ambiguous } kind;
  std::vector<ObjectId> candidates;  // for Ambiguous: the matching ids (at most 20)
  std::string message() const;
};
inline constexpr std::size_t MIN_PREFIX_CHARS = 8;

/// Filters for list(); every given filter must hold.
struct ListQuery {
  std::optional<protocol::Kind> kind;  // default: any kind
  std::optional<std::string> tag;      // exact, lowercase
  std::optional<std::string> source;   // exact match on the clipping's source
  std::optional<std::string> since;    // ISO date: published, taken at the end of its
                                       // precision ("2013-01" counts as 2013-01-31), >= since
  std::size_t limit = SIZE_MAX;
};

/// An annotation that names a clipping (by_target): as the clipping it corrects, or (original)
/// as the clipping another one duplicates.
struct AnnotationRef {
  ObjectId annotation;
  bool original = false;
  bool operator==(const AnnotationRef&) const = default;
};

struct TermIndexStats;  // store/prefix.h, for tests
struct SyncTree;        // store/sync_index.h

/// A release as indexed: enough to walk chains without decoding every release.
struct ReleaseEntry {
  std::string name;
  std::uint64_t sequence = 0;
  ObjectId id;
};

/// What put() derives from an object alone before it writes: a clipping's content hash and
/// its distinct search terms, about a third of the cost of storing it. Made on any thread
/// (it reads only the object), so a caller with many objects makes them on every core,
/// outside the write transaction, and hands them to WriteTxn::putBatch, whose serial part is
/// then the writing alone. Lifetime: refers to object, which must outlive it.
class PreparedObject {
 public:
  explicit PreparedObject(const protocol::VerifiedObject& object);
  /// contentHash: protocol::contentHash of object's clipping, already computed by the caller
  /// (ignored for other kinds).
  PreparedObject(const protocol::VerifiedObject& object, const ContentHash& contentHash);
  const protocol::VerifiedObject& object() const { return *m_object; }

 private:
  friend class WriteTxn;
  PreparedObject(const protocol::VerifiedObject& object, const ContentHash* contentHash);
  struct Term {
    std::uint32_t at = 0;  // in m_termBytes
    std::uint32_t bytes = 0;
    std::uint64_t hash = 0;  // of the term (termHash, archive.cpp)
  };
  const protocol::VerifiedObject* m_object;
  ContentHash m_contentHash;  // a clipping's; zero for other kinds
  std::string m_termBytes;    // every term of title and body, one after another, then padding
  std::vector<Term> m_terms;  // the distinct ones, in order first seen
};

class ReadTxn {
 public:
  ReadTxn(ReadTxn&&) noexcept;
  ReadTxn& operator=(ReadTxn&&) noexcept;
  ~ReadTxn();  // aborts (read transactions have nothing to commit); a view of a write ends nothing

  /// The SignedObject bytes of id; the view dies with this transaction.
  std::optional<std::span<const std::uint8_t>> get(const ObjectId& id) const;
  bool contains(const ObjectId& id) const;
  /// A full 64-char id or a unique prefix of at least MIN_PREFIX_CHARS hex characters.
  Expected<ObjectId, PrefixProblem> resolve(std::string_view hexIdOrPrefix) const;
  /// An object with this content already signed by signer, if any.
  std::optional<ObjectId> findByContent(const ContentHash& hash, const PublicKey& signer) const;
  /// Every clipping with this content (protocol::contentHash), by signer then id: the same
  /// article signed by several offices.
  std::vector<std::pair<PublicKey, ObjectId>> sameContent(const ContentHash& hash) const;
  /// The annotations that name clipping (by_target), by annotation id. Cheap: one seek.
  std::vector<AnnotationRef> annotationsNaming(const ObjectId& clipping) const;
  /// Ids matching query, newest first: by published date (at its precision), then signedAt,
  /// then id, all descending. Objects without a published date sort as oldest.
  std::vector<ObjectId> list(const ListQuery& query) const;
  /// Ids of clippings whose title or body hold every term of words (folded as in
  /// protocol::searchTerms), newest first as list(). No terms -> empty.
  std::vector<ObjectId> search(std::string_view words, std::size_t limit = SIZE_MAX) const;
  /// ids (held objects, as the search index names them) in list() order, newest first;
  /// decodes each.
  std::vector<ObjectId> inListOrder(std::vector<ObjectId> ids) const;
  /// Every object in id order, with its bytes (valid during the call only). Return false
  /// from fn to stop.
  void forEach(const std::function<bool(const ObjectId&, std::span<const std::uint8_t>)>& fn) const;
  std::uint64_t count() const;

  /// Objects of a kind other than clipping, newest signedAt first.
  std::vector<ObjectId> ofKind(protocol::Kind kind) const;
  /// Releases named name (all, or only those with `sequence`), by sequence then id. Two
  /// entries with one sequence are a fork.
  std::vector<ReleaseEntry> releases(std::string_view name,
                                     std::optional<std::uint64_t> sequence = std::nullopt) const;
  /// Every release name, sorted.
  std::vector<std::string> releaseNames() const;
  /// The releases that list clipping, by name, sequence and id.
  std::vector<ReleaseEntry> releasesContaining(const ObjectId& clipping) const;
  /// This node's trust anchors (local configuration, never synced), by key.
  std::vector<protocol::Anchor> anchors() const;

  /// The tombstone of clipping, if a retraction took it back here. When several did: one
  /// without onlyIfSignedBy if there is one, else the one with the smallest retraction id.
  std::optional<Tombstone> tombstone(const ObjectId& clipping) const;
  /// The retraction of the signer tombstone of signer whose since is <= signedAt (the
  /// earliest such since, then the smallest retraction id), if any: clippings signer signed
  /// at signedAt are taken back.
  std::optional<ObjectId> signerTombstone(const PublicKey& signer, std::int64_t signedAt) const;

  /// The objects stored after seq (that is, with a larger seq), in seq order, at most limit.
  /// For "what arrived since I last looked": pass the lastSeq() seen then. Seqs are local to
  /// this archive (another archive numbers the same objects differently) and a seq is never
  /// given twice, even across processes; since(0) starts at the first object.
  std::vector<SeqEntry> since(std::uint64_t seq, std::size_t limit = SIZE_MAX) const;
  /// The seq of the newest object, 0 for an empty archive.
  std::uint64_t lastSeq() const;

  /// Settings of this node, kept in meta (not synced).
  std::optional<std::string> getMeta(std::string_view key) const;

 private:
  friend class Archive;
  friend Expected<ObjectId, PrefixProblem> resolvePrefix(const ReadTxn& txn,
                                                         std::string_view hexPrefix);
  friend TermIndexStats termIndexStats(const ReadTxn& txn);
  friend struct PeersAccess;  // peers.cpp: the peers database
  friend class ArchiveRangeIndex;
  friend class WriteTxn;
  /// owns: this ReadTxn ends txn (a read transaction); else it is a view of a write.
  ReadTxn(const class Archive& archive, MDB_txn* txn, bool owns = true);
  /// The by_time and sync_index databases in this transaction; throws Error when the archive
  /// has no sync index (schema 1 opened read-only).
  SyncTree syncTree() const;
  const class Archive* m_archive;
  MDB_txn* m_txn;
  bool m_owns = true;
};

/// A batch of writes in one LMDB transaction. Only made by Archive::write(), which commits
/// it when the batch function returns and aborts it when that function throws.
class WriteTxn {
 public:
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;
  ~WriteTxn();  // the transaction itself belongs to Archive::write()

  /// Stores a verified object and every index entry for it.
  [[nodiscard]] PutOutcome put(const protocol::VerifiedObject& object);
  /// put() of each object, with the outcomes put() would give them called one by one in
  /// this order (an id given twice: AlreadyPresent the second time; seqs given in this
  /// order), written at a fraction of the cost: objects by id, then each index's entries in
  /// key order through one cursor, appended where they sort after every key already there.
  /// The way to store many objects (sync batches, bundles, imports); prepare them on every
  /// core first (PreparedObject). Lifetime: objects are read during the call only.
  [[nodiscard]] std::vector<PutOutcome> putBatch(std::span<const PreparedObject> objects);
  /// The same, preparing each object on this thread.
  [[nodiscard]] std::vector<PutOutcome> putBatch(
      std::span<const protocol::VerifiedObject* const> objects);
  [[nodiscard]] std::vector<PutOutcome> putBatch(std::span<const protocol::VerifiedObject> objects);
  /// Removes the object id and every index entry for it: afterwards every query, the sync
  /// index's counts and sums and the full-text index read as in an archive that never held
  /// it (a word only it used is in no key). Entries that belong to other objects stay: a
  /// release that lists a removed clipping still names it (by_member). Its seq is not given
  /// again. The freed pages still hold its bytes until Archive::write() scrubs them after the
  /// commit (docs/architecture.md, "Removal"). False when id is not stored. The store does
  /// not refuse to store it again; a tombstone does.
  bool remove(const ObjectId& id);
  bool contains(const ObjectId& id) const;
  std::optional<ObjectId> findByContent(const ContentHash& hash, const PublicKey& signer) const;
  /// As ReadTxn::releases, seeing this batch's own writes: to check a chain's head under
  /// the write lock before extending it.
  std::vector<ReleaseEntry> releases(std::string_view name,
                                     std::optional<std::uint64_t> sequence = std::nullopt) const;
  void setMeta(std::string_view key, std::string_view value);
  /// Adds or replaces a local trust anchor.
  void setAnchor(const protocol::Anchor& anchor);
  /// Removes a trust anchor; false when the key was not one.
  bool removeAnchor(const PublicKey& key);
  std::optional<std::string> getMeta(std::string_view key) const;

  /// Records that retraction took clipping back here: put() refuses it from now on (when
  /// onlyIfSignedBy is given, only if that key signed it). Tombstones are never removed;
  /// adding one twice is harmless. Does not remove the clipping: remove() does.
  void addTombstone(const ObjectId& clipping, const ObjectId& retraction,
                    std::optional<PublicKey> onlyIfSignedBy);
  /// Records that retraction took back every clipping subject signed at or after since:
  /// put() refuses them from now on. Never removed.
  void addSignerTombstone(const PublicKey& subject, std::int64_t since, const ObjectId& retraction);
  /// As ReadTxn's, seeing this batch's own writes.
  std::optional<Tombstone> tombstone(const ObjectId& clipping) const;
  std::optional<ObjectId> signerTombstone(const PublicKey& signer, std::int64_t signedAt) const;

  /// Every query of ReadTxn inside this batch, seeing its writes so far: for store code that
  /// takes a ReadTxn (loadTrust, say) run inside a batch. The view ends nothing and must not
  /// outlive this WriteTxn; a span it returns dies at the next write of the batch (a write
  /// may move the page it points into), so copy what you keep before writing.
  [[nodiscard]] ReadTxn reader() const;

  /// True once this batch stored a Retraction, KeyCert or Revocation or changed a trust
  /// anchor: what may change which retractions take effect. When it is true at the end of
  /// the batch, Archive::write() calls store::settleRetractions(*this) (store/retraction.h)
  /// once, in the same transaction, before it commits; what settleRetractions writes
  /// (removals, tombstones) does not call it again.
  bool trustChanged() const;

 private:
  friend class Archive;
  friend struct PeersAccess;  // peers.cpp: the peers database
  WriteTxn(class Archive& archive, MDB_txn* txn);

  /// Ends the batch before its commit: settles retractions when trust changed, then writes
  /// the batch's buffered term postings to terms_recent and the seq counter; merges
  /// terms_recent into terms when it has grown past the Options thresholds.
  void flush();
  void mergeRecentTerms();
  /// Builds sync_index again from by_time (the schema 1 -> 2 migration).
  void rebuildSyncIndex();
  /// Rewrites by_tag keys of the schema 4 layout (tag || 0x00 || id) in the schema 5 one (the
  /// 4 -> 5 migration); keys already in the new layout stay.
  void rekeyTags();
  class Archive& m_archive;
  MDB_txn* m_txn;
  struct Pending;
  std::unique_ptr<Pending> m_pending;
};

class Archive {
 public:
  /// Opens (or with options.create, creates) the archive; checks the schema version and
  /// refuses an archive written by a newer version. A missing archive without options.create
  /// throws Error ("no archive at ... (run `fieldsync init` ...)").
  static std::unique_ptr<Archive> open(const Options& options);
  ~Archive();
  Archive(const Archive&) = delete;
  Archive& operator=(const Archive&) = delete;

  [[nodiscard]] ReadTxn beginRead() const;

  /// Runs batch in one write transaction and commits it: all of it is stored or none. A
  /// batch that changed trust (WriteTxn::trustChanged) ends with store::settleRetractions in
  /// the same transaction. On
  /// MDB_MAP_FULL the transaction is aborted, the map doubled (up to Options::maxMapBytes)
  /// and batch run again from the start, so batch must do nothing but writes through the
  /// WriteTxn (and may be called more than once). Throws what batch throws, after aborting;
  /// MapCeiling when the map cannot grow enough; DiskFull (store/files.h) when the disk
  /// holding the archive has no room for the commit. In each case nothing of the batch is
  /// stored and the archive stays usable: the same write succeeds once there is room.
  void write(const std::function<void(WriteTxn&)>& batch);

  const std::filesystem::path& dir() const { return m_options.dir; }
  /// Throws Error when the lock file (lock.mdb) is not the one this archive opened: deleted
  /// or replaced meanwhile, so another process may write the archive under another lock.
  /// Once it has thrown it always throws: this archive writes no more. write() calls it
  /// before each transaction and before each commit; a long-running process (serve) also
  /// calls it now and then to stop at once. Does nothing for a read-only archive.
  void checkLock() const;
  /// The current size of the map in bytes (grows on demand, see Options::initialMapBytes).
  std::size_t mapBytes() const;

  /// What the last scrub did (docs/architecture.md, "Removal"): after a write() that removed
  /// objects commits, and after every later write() until one completes, the archive
  /// overwrites with zeros the bytes of data.mdb that no snapshot reads (free pages no reader
  /// holds, the unused middle of live pages, the end of overflow pages), so removed bytes are
  /// gone from the file. A reader that was open during the removal (of this process or
  /// another) holds back the pages it may still read: the scrub is then incomplete and the
  /// next write() scrubs again. For tests and benchmarks.
  struct ScrubStats {
    bool pending = false;  // a scrub is still owed (persisted in meta)
    std::uint64_t passes = 0;
    std::uint64_t bytesZeroed = 0;  // by the last pass
    std::uint64_t pagesHeld = 0;    // free pages the last pass left to a reader
  };
  ScrubStats scrubStats() const;

 private:
  explicit Archive(Options options);
  friend class ReadTxn;
  friend class WriteTxn;
  friend Expected<ObjectId, PrefixProblem> resolvePrefix(const ReadTxn& txn,
                                                         std::string_view hexPrefix);
  friend TermIndexStats termIndexStats(const ReadTxn& txn);
  friend struct PeersAccess;  // peers.cpp: the peers database
  struct Dbs;
  struct Gate;  // the transactions of this process, so the map is resized only when none is live
  /// Opens every database; returns the schema version found (SCHEMA_VERSION for a new
  /// archive). Writable, it moves versions 2 and 3 to 4 (databases created empty); what needs
  /// a rewrite (versions below 2 and 5) is left to open().
  std::uint64_t openDatabases(bool created);
  /// Begins a transaction registered with the gate; adopts a map grown by another process.
  MDB_txn* beginTxn(unsigned flags) const;
  /// Commits (or aborts) txn and unregisters it; returns mdb_txn_commit's code.
  int finishTxn(MDB_txn* txn, bool commit) const noexcept;
  /// Waits until no transaction of this process is live, then sets the map size: doubled
  /// when grow, else adopted from the environment (another process grew it).
  void remap(bool grow) const;
  /// After a commit that left a scrub owed (through: the last transaction whose freed pages
  /// must be overwritten): see scrubStats(). Errors of the scrub itself leave it owed.
  void scrub(std::uint64_t through, bool removedNow);
  /// Closes and opens the environment again when no transaction of this process is live
  /// (LMDB keeps the buffers of pages a transaction wrote and reuses them with their old
  /// bytes); false when one is live. The gate stays closed meanwhile.
  bool reopenIfIdle();
  /// Pages of every tree (the free list included) as txn sees them; 0 when unknown.
  std::uint64_t pagesInUse(MDB_txn* txn) const;
  /// Bytes txn adds to the archive since it saw pagesBefore pages: what a commit needs free;
  /// 0 when unknown.
  std::uint64_t bytesAdded(std::uint64_t pagesBefore, MDB_txn* txn) const;
  /// rc (an LMDB return code or errno) means the disk holding the archive is full.
  bool isDiskCode(int rc, std::uint64_t adds) const;
  [[noreturn]] void throwDiskFull(std::uint64_t adds) const;
  Options m_options;
  MDB_env* m_env = nullptr;
  std::unique_ptr<Dbs> m_dbs;
  std::unique_ptr<Gate> m_gate;
  bool m_staleBuffers = false;         // LMDB's page buffers may hold bytes of removed objects
  std::optional<FileIdentity> m_lock;  // lock.mdb as opened (store/archive_file.h)
  mutable std::atomic<bool> m_lockLost{false};
  ScrubStats m_scrub;
};

}  // namespace fieldsync::store
