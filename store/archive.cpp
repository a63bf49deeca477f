#include "store/archive.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>

#include "protocol/text.h"
#include "store/archive_file.h"
#include "store/files.h"
#include "store/lmdb.h"
#include "store/peers_access.h"
#include "store/prefix.h"
#include "store/retraction.h"
#include "store/scrub.h"
#include "store/sync_index.h"

namespace fieldsync::store {

namespace {

using lmdb::Cursor;
using protocol::ID_BYTES;

// The named databases of archive.h, in one array so maxdbs always matches the list.
enum Db : std::size_t {
  OBJECTS,
  BY_TIME,
  BY_PUBLISHED,
  BY_TAG,
  BY_SIGNER,
  BY_CONTENT,
  BY_SEQ,
  TERMS_RECENT,
  TERMS,
  META,
  BY_KIND,
  BY_RELEASE,
  BY_MEMBER,
  KEYS,
  PEERS,
  SYNC_INDEX,
  RETRACTED,
  BY_TARGET
};
constexpr std::array<const char*, 18> DB_NAMES = {
    "objects",   "by_time",      "by_published", "by_tag",     "by_signer", "by_content",
    "by_seq",    "terms_recent", "terms",        "meta",       "by_kind",   "by_release",
    "by_member", "keys",         "peers",        "sync_index", "retracted", "by_target"};
// by_target values: what the annotation in the key does to the clipping in the key.
constexpr std::uint8_t TARGET_CORRECTS = 't', TARGET_ORIGINAL = 'd';

constexpr std::string_view META_SCHEMA = "schema";
constexpr std::string_view META_SEQ = "seq";  // the last seq given; absent: none yet
constexpr std::string_view META_RECENT_BATCHES = "terms.recent.batches";
// A scrub is owed: the last transaction whose freed pages it must overwrite (archive.h).
constexpr std::string_view META_SCRUB = "scrub.through";
constexpr std::string_view META_SCRUB_TICK = "scrub.tick";

constexpr std::size_t TIME_BYTES = 8;
constexpr std::size_t SEQ_BYTES = 8;
constexpr std::size_t PUBLISHED_BYTES = 10;  // "2013-01-99"
constexpr std::size_t LIST_KEY_BYTES = PUBLISHED_BYTES + TIME_BYTES + ID_BYTES;
constexpr std::string_view NO_DATE = "0000-00-00";
constexpr std::size_t MAX_CANDIDATES = 20;
constexpr std::size_t ID_HEX_CHARS = 2 * ID_BYTES;

using ListKey = std::array<std::uint8_t, LIST_KEY_BYTES>;  // the by_published key

void putBigEndian(std::uint8_t* out, std::uint64_t value) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
}

std::uint64_t getBigEndian(const std::uint8_t* in) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | in[i];
  return value;
}

using SeqKey = std::array<std::uint8_t, SEQ_BYTES>;  // the by_seq key

SeqKey seqKey(std::uint64_t seq) {
  SeqKey key{};
  putBigEndian(key.data(), seq);
  return key;
}

/// signedAt as 8 bytes that sort like the signed number: offset binary, big-endian.
void putTime(std::uint8_t* out, std::int64_t signedAt) {
  putBigEndian(out, static_cast<std::uint64_t>(signedAt) ^ (std::uint64_t{1} << 63));
}

/// "2013" -> "2013-99-99", "2013-01" -> "2013-01-99", "" -> "0000-00-00": a date taken at the
/// end of its precision, so a month sorts after each of its days.
void putPublished(std::uint8_t* out, std::string_view published) {
  constexpr std::string_view PAD = "0000-99-99";
  for (std::size_t i = 0; i < PUBLISHED_BYTES; ++i) {
    const char c = published.empty() ? NO_DATE[i] : (i < published.size() ? published[i] : PAD[i]);
    out[i] = static_cast<std::uint8_t>(c);
  }
}

std::string_view publishedOf(const ListKey& key) {
  return {reinterpret_cast<const char*>(key.data()), PUBLISHED_BYTES};
}

ListKey listKey(const protocol::Payload& payload, const ObjectId& id) {
  ListKey key{};
  const protocol::Clipping* clipping = payload.clipping();
  putPublished(key.data(), clipping != nullptr ? std::string_view(clipping->published) : "");
  putTime(key.data() + PUBLISHED_BYTES, payload.signedAt);
  std::memcpy(key.data() + PUBLISHED_BYTES + TIME_BYTES, id.bytes.data(), ID_BYTES);
  return key;
}

/// The id that ends an index key (every index key but by_seq's and the terms' ends with one).
ObjectId idAtEnd(const MDB_val& key) {
  ObjectId id;
  assert(key.mv_size >= ID_BYTES);
  std::memcpy(id.bytes.data(),
              static_cast<const std::uint8_t*>(key.mv_data) + key.mv_size - ID_BYTES, ID_BYTES);
  return id;
}

std::optional<std::uint64_t> parseNumber(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

/// Bytes this archive stored itself, so only their form is checked again, not the signature.
protocol::DecodedObject decodeStored(const ObjectId& id, std::span<const std::uint8_t> bytes) {
  protocol::Limits limits;
  limits.maxObjectBytes = std::max(limits.maxObjectBytes, bytes.size());
  auto decoded = protocol::decode(bytes, limits);
  if (!decoded) {
    throw Error("stored object " + id.hex() + " does not decode: " + decoded.error().message());
  }
  return std::move(decoded).value();
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return hexValue(c) >= 0; });
}

/// Ends a scope's transaction on every path out of it.
template <typename F>
class ScopeExit {
 public:
  explicit ScopeExit(F f) : m_f(std::move(f)) {}
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  ~ScopeExit() { m_f(); }

 private:
  F m_f;
};

}  // namespace

// --- Map sizes --------------------------------------------------------------------------------

namespace {

/// "64M", "2G", "1048576": a size in bytes with an optional binary suffix.
std::optional<std::size_t> parseSize(std::string_view text) {
  if (text.empty()) return std::nullopt;
  unsigned shift = 0;
  switch (text.back()) {
    case 'K':
    case 'k':
      shift = 10;
      break;
    case 'M':
    case 'm':
      shift = 20;
      break;
    case 'G':
    case 'g':
      shift = 30;
      break;
    case 'T':
    case 't':
      shift = 40;
      break;
    default:
      break;
  }
  if (shift != 0) text.remove_suffix(1);
  const auto number = parseNumber(text);
  if (!number || *number == 0 || *number > (SIZE_MAX >> shift)) return std::nullopt;
  return static_cast<std::size_t>(*number << shift);
}

}  // namespace

Options mapSizesFromEnvironment(Options options) {
  for (const auto& [name, field] : {std::pair{ENV_MAP_INITIAL, &Options::initialMapBytes},
                                    std::pair{ENV_MAP_MAX, &Options::maxMapBytes}}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    const auto size = parseSize(value);
    if (!size || *size < (64u << 10)) {
      throw Error(std::string(name) + "=" + value +
                  " is not a map size: give bytes, or a number with K, M, G or T (at least 64K)");
    }
    options.*field = *size;
  }
  return options;
}

MapCeiling::MapCeiling(const std::filesystem::path& dir, std::size_t mapBytes,
                       std::size_t maxMapBytes)
    : Error("the archive at " + dir.string() + " needs a larger map than its ceiling of " +
                formatSize(maxMapBytes) + " (the map is " + formatSize(mapBytes) +
                "): nothing of this write was stored; raise the ceiling (" + ENV_MAP_MAX + "=" +
                std::to_string((maxMapBytes >> 30) * 2 + 2) + "G, for example) and run it again",
            Action::Fail),
      m_mapBytes(mapBytes) {}

// --- Databases and the transaction gate -----------------------------------------------------

struct Archive::Dbs {
  std::array<MDB_dbi, DB_NAMES.size()> dbi{};
  bool hasSyncIndex = true;  // false: a schema-1 archive opened read-only
  bool hasRetracted = true;  // false: a schema-1 or 2 archive opened read-only (no tombstones)
  bool hasByTarget = true;   // false: a schema-1 to 3 archive opened read-only (no annotations)
  MDB_dbi operator[](Db db) const { return dbi[db]; }
};

// mdb_env_set_mapsize unmaps and maps the file again, possibly at another address, so every
// view held by a live transaction of this process would dangle: LMDB leaves it to the caller
// to resize only when no transaction is live. The gate counts the live transactions (and who
// began them); a resize closes the gate to new ones and waits for the count to reach zero.
struct Archive::Gate {
  std::mutex writer;  // one write() at a time in this process

  std::mutex mutex;
  std::condition_variable changed;
  bool resizing = false;
  std::size_t beginning = 0;                               // inside mdb_txn_begin
  std::vector<std::pair<MDB_txn*, std::thread::id>> live;  // begun and not yet ended

  bool heldByThisThread() const {
    const auto self = std::this_thread::get_id();
    return std::any_of(live.begin(), live.end(), [&](const auto& t) { return t.second == self; });
  }
};

Archive::Archive(Options options)
    : m_options(std::move(options)),
      m_dbs(std::make_unique<Dbs>()),
      m_gate(std::make_unique<Gate>()) {}

Archive::~Archive() {
  if (m_env != nullptr) ::mdb_env_close(m_env);
}

std::unique_ptr<Archive> Archive::open(const Options& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool exists = fs::exists(options.dir / "data.mdb", ec);
  // Read before LMDB maps it: a cut-short file would be SIGBUS at the first page past its end.
  if (exists) (void)checkDataFile(options.dir);
  if (!exists) {
    if (!options.create || options.readOnly) {
      throw Error("no archive at " + options.dir.string() +
                  " (run `fieldsync init` to create one)");
    }
    fs::create_directories(options.dir, ec);
    if (ec) throw Error("cannot create " + options.dir.string() + ": " + ec.message());
  }

  if (options.syncIndexMaxChildren < SYNC_INDEX_MIN_CHILDREN) {
    throw std::invalid_argument("Options::syncIndexMaxChildren must be at least " +
                                std::to_string(SYNC_INDEX_MIN_CHILDREN));
  }
  std::unique_ptr<Archive> archive(new Archive(options));  // closes the env if we throw
  lmdb::check(::mdb_env_create(&archive->m_env), "mdb_env_create");
  MDB_env* env = archive->m_env;
  lmdb::check(::mdb_env_set_maxdbs(env, static_cast<MDB_dbi>(DB_NAMES.size())),
              "mdb_env_set_maxdbs");
  // An existing archive keeps the map size it grew to; only a new one starts at the initial.
  const std::size_t initialMapBytes = std::min(options.initialMapBytes, options.maxMapBytes);
  if (!exists) {
    lmdb::check(::mdb_env_set_mapsize(env, initialMapBytes), "mdb_env_set_mapsize");
  }

  if (exists && !options.readOnly) {
    // LMDB maps its lock file, which it made sparse: the first touch of a reader slot in a
    // hole would need a new disk block, and on a full disk that is SIGBUS, not an error.
    // Its blocks are allocated here, before mdb_env_open: closing another descriptor of the
    // file later would drop the fcntl lock LMDB holds on it.
    const std::string lockPath = (options.dir / "lock.mdb").string();
    const int fd = ::open(lockPath.c_str(), O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
      struct stat st {};
      if (::fstat(fd, &st) == 0 && st.st_size > 0) (void)::posix_fallocate(fd, 0, st.st_size);
      ::close(fd);
    }
  }
  // MDB_NOTLS: a read transaction owns its reader slot instead of sharing its thread's. So a
  // thread may hold several ReadTxn at once (a command that calls a helper which reads too)
  // without MDB_BAD_RSLOT, and a slot is freed when its read ends, not when its thread exits
  // (pool threads of the node would otherwise pin slots). The price: each read takes a slot
  // from the lock table (a short mutex), and at most maxreaders (126) reads are live at once.
  unsigned flags = MDB_NOTLS | (options.readOnly ? MDB_RDONLY : 0u);
  if (options.readOnly && exists) {
    // A reader registers in lock.mdb, which LMDB opens for writing. A home without write
    // permission (read-only media, another user's copy) still answers: without the lock file,
    // as nothing can write there through this user either.
    const auto lock = options.dir / "lock.mdb";
    const bool lockWritable = ::access(lock.c_str(), W_OK) == 0 ||
                              (errno == ENOENT && ::access(options.dir.c_str(), W_OK) == 0);
    if (!lockWritable) flags |= MDB_NOLOCK;
  }
  if (const int rc = ::mdb_env_open(env, options.dir.c_str(), flags, 0600);
      (rc == EROFS || rc == EACCES) && !options.readOnly) {
    // A read-only home (read-only media, another user's copy): say what still works.
    throw lmdb::LmdbError(options.dir.string() + " cannot be written here (" + ::mdb_strerror(rc) +
                              "): list, show, search and verify still answer; a command that "
                              "stores something needs the home on a writable disk",
                          rc, Action::Fail);
  } else {
    lmdb::check(rc, "mdb_env_open(" + options.dir.string() + ")");
  }
  archive->m_lock = identityOf(options.dir / "lock.mdb");

  if (exists && !options.readOnly) {
    MDB_envinfo info{};
    lmdb::check(::mdb_env_info(env, &info), "mdb_env_info");
    if (info.me_mapsize < initialMapBytes) {
      lmdb::check(::mdb_env_set_mapsize(env, initialMapBytes), "mdb_env_set_mapsize");
    }
  }
  const std::uint64_t schema = archive->openDatabases(!exists);
  if (schema < SCHEMA_VERSION && !options.readOnly) {
    // Schema 1 -> 2: build the sync index from by_time; 4 -> 5: rekey by_tag. In one write
    // that may grow the map; until its commit the archive keeps its version, so an interrupted
    // migration starts over.
    archive->write([&](WriteTxn& txn) {
      if (schema < 2) txn.rebuildSyncIndex();
      txn.rekeyTags();
      txn.setMeta(META_SCHEMA, std::to_string(SCHEMA_VERSION));
    });
  }
  if (!options.readOnly && archive->beginRead().getMeta(META_SCRUB)) {
    // A scrub owed from before: what the last process wrote since the removal may hold its
    // bytes, so the next write() scrubs as right after a removal (archive.h, scrubStats).
    archive->m_staleBuffers = true;
  }
  return archive;
}

std::uint64_t Archive::openDatabases(bool created) {
  const bool readOnly = m_options.readOnly;
  MDB_txn* txn = beginTxn(readOnly ? MDB_RDONLY : 0u);
  bool open = true;
  ScopeExit end([&] {
    if (open) finishTxn(txn, false);
  });
  const unsigned dbFlags = readOnly ? 0u : MDB_CREATE;
  std::uint64_t schema = SCHEMA_VERSION;
  auto openDb = [&](Db db) {
    if (db == SYNC_INDEX && schema < 2 && readOnly) {
      // Absent, or left empty by a build that did not commit: there is none to read.
      m_dbs->hasSyncIndex = false;
      return;
    }
    if (db == RETRACTED && schema < 3 && readOnly) {
      m_dbs->hasRetracted = false;
      return;
    }
    if (db == BY_TARGET && schema < 4 && readOnly) {
      m_dbs->hasByTarget = false;
      return;
    }
    const int rc = ::mdb_dbi_open(txn, DB_NAMES[db], dbFlags, &m_dbs->dbi[db]);
    if (rc == MDB_NOTFOUND) {
      throw Error(m_options.dir.string() + " is not a fieldsync archive (no database " +
                  DB_NAMES[db] + ")");
    }
    lmdb::check(rc, std::string("mdb_dbi_open(") + DB_NAMES[db] + ")");
  };

  // The schema version decides whether we may touch anything else.
  openDb(META);
  MDB_val key = lmdb::val(META_SCHEMA);
  MDB_val data{};
  const int rc = ::mdb_get(txn, m_dbs->dbi[META], &key, &data);
  if (rc == MDB_NOTFOUND) {
    if (readOnly || !created) {
      throw Error(m_options.dir.string() + " is not a fieldsync archive (no schema version)");
    }
    const std::string version = std::to_string(SCHEMA_VERSION);
    MDB_val value = lmdb::val(version);
    lmdb::check(::mdb_put(txn, m_dbs->dbi[META], &key, &value, 0), "mdb_put(meta)");
  } else {
    lmdb::check(rc, "mdb_get(meta)");
    const auto version = parseNumber(lmdb::text(data));
    if (!version) {
      throw Error("the archive at " + m_options.dir.string() + " has a damaged schema version");
    }
    if (*version > SCHEMA_VERSION) {
      throw Error("the archive at " + m_options.dir.string() + " has schema version " +
                  std::to_string(*version) + ", newer than this fieldsync understands (" +
                  std::to_string(SCHEMA_VERSION) + "): upgrade fieldsync");
    }
    schema = *version;
  }
  for (std::size_t db = 0; db < DB_NAMES.size(); ++db) {
    if (db != META) openDb(static_cast<Db>(db));
  }
  if (schema >= 2 && schema < 4 && !readOnly) {
    // Schema 2 -> 3 and 3 -> 4: opening created the empty retracted and by_target databases;
    // nothing else changes (no older fieldsync could store an annotation).
    const std::string version = "4";
    MDB_val value = lmdb::val(version);
    lmdb::check(::mdb_put(txn, m_dbs->dbi[META], &key, &value, 0), "mdb_put(meta)");
    schema = 4;
  }
  open = false;
  lmdb::check(finishTxn(txn, true), "mdb_txn_commit");
  // Version 1 lacks the sync index and versions below 5 have the old by_tag keys
  // (SCHEMA_VERSION); open() rewrites them when it may write.
  return schema;
}

std::size_t Archive::mapBytes() const {
  std::lock_guard lock(m_gate->mutex);  // the environment may be reopening (scrub)
  MDB_envinfo info{};
  lmdb::check(::mdb_env_info(m_env, &info), "mdb_env_info");
  return info.me_mapsize;
}

MDB_txn* Archive::beginTxn(unsigned flags) const {
  Gate& gate = *m_gate;
  for (;;) {
    {
      std::unique_lock lock(gate.mutex);
      // A thread that already holds a transaction goes on even while a resize waits: the
      // resize cannot happen before that transaction ends anyway, and waiting would deadlock.
      gate.changed.wait(lock, [&] { return !gate.resizing || gate.heldByThisThread(); });
      ++gate.beginning;
    }
    MDB_txn* txn = nullptr;
    const int rc = ::mdb_txn_begin(m_env, nullptr, flags, &txn);
    {
      std::lock_guard lock(gate.mutex);
      --gate.beginning;
      if (rc == MDB_SUCCESS) gate.live.emplace_back(txn, std::this_thread::get_id());
    }
    gate.changed.notify_all();
    if (rc == MDB_SUCCESS) return txn;
    if (rc != MDB_MAP_RESIZED) {
      lmdb::fail((flags & MDB_RDONLY) != 0 ? "mdb_txn_begin(read)" : "mdb_txn_begin(write)", rc);
    }
    remap(false);  // another process grew the map beyond ours: adopt its size and begin again
  }
}

int Archive::finishTxn(MDB_txn* txn, bool commit) const noexcept {
  int rc = MDB_SUCCESS;
  if (commit) {
    rc = ::mdb_txn_commit(txn);
  } else {
    ::mdb_txn_abort(txn);
  }
  Gate& gate = *m_gate;
  {
    std::lock_guard lock(gate.mutex);
    const auto it = std::find_if(gate.live.begin(), gate.live.end(),
                                 [&](const auto& t) { return t.first == txn; });
    if (it != gate.live.end()) gate.live.erase(it);
  }
  gate.changed.notify_all();
  return rc;
}

void Archive::remap(bool grow) const {
  Gate& gate = *m_gate;
  std::unique_lock lock(gate.mutex);
  if (gate.heldByThisThread()) {
    throw Error("cannot resize the map of " + m_options.dir.string() +
                " while this thread holds a transaction on it (end the ReadTxn first)");
  }
  gate.changed.wait(lock, [&] { return !gate.resizing; });
  gate.resizing = true;
  ScopeExit reopen([&] {
    gate.resizing = false;
    gate.changed.notify_all();
  });
  gate.changed.wait(lock, [&] { return gate.beginning == 0 && gate.live.empty(); });

  std::size_t size = 0;  // 0: adopt the size recorded in the environment
  if (grow) {
    MDB_envinfo info{};
    lmdb::check(::mdb_env_info(m_env, &info), "mdb_env_info");
    const std::size_t ceiling = m_options.maxMapBytes;
    if (info.me_mapsize >= ceiling) throw MapCeiling(m_options.dir, info.me_mapsize, ceiling);
    size = info.me_mapsize > ceiling / 2 ? ceiling : info.me_mapsize * 2;
  }
  lmdb::check(::mdb_env_set_mapsize(m_env, size), "mdb_env_set_mapsize");
}

// --- Postings (prefix.h) --------------------------------------------------------------------

void encodePostings(std::uint64_t base, std::span<const std::uint64_t> seqs,
                    std::vector<std::uint8_t>& out) {
  std::uint64_t previous = base;
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    assert(seqs[i] >= previous && (seqs[i] > previous || i == 0));
    std::uint64_t delta = seqs[i] - previous;
    previous = seqs[i];
    while (delta >= 0x80) {
      out.push_back(static_cast<std::uint8_t>(delta | 0x80));
      delta >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(delta));
  }
}

bool decodePostings(std::uint64_t base, std::span<const std::uint8_t> bytes,
                    std::vector<std::uint64_t>& out) {
  std::uint64_t previous = base;
  bool first = true;
  for (std::size_t i = 0; i < bytes.size();) {
    std::uint64_t delta = 0;
    for (unsigned shift = 0;; shift += 7) {
      if (i == bytes.size()) return false;  // cut short
      const std::uint64_t group = bytes[i] & 0x7f;
      // The tenth byte holds bit 63 alone; more would not fit in 64 bits.
      if (shift == 63 && group > 1) return false;
      delta |= group << shift;
      if ((bytes[i++] & 0x80) == 0) break;
      if (shift == 63) return false;
    }
    if ((delta == 0 && !first) || delta > UINT64_MAX - previous) return false;
    previous += delta;
    out.push_back(previous);
    first = false;
  }
  return true;
}

// --- Lookups shared by ReadTxn and WriteTxn -------------------------------------------------

namespace {

std::optional<std::span<const std::uint8_t>> getObject(MDB_txn* txn, MDB_dbi dbi,
                                                       const ObjectId& id) {
  MDB_val key = lmdb::val(id.bytes);
  MDB_val data{};
  const int rc = ::mdb_get(txn, dbi, &key, &data);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  lmdb::check(rc, "mdb_get(objects)");
  return lmdb::bytes(data);
}

std::optional<ObjectId> findContent(MDB_txn* txn, MDB_dbi dbi, const ContentHash& hash,
                                    const PublicKey& signer) {
  std::array<std::uint8_t, 2 * ID_BYTES> prefix{};
  std::memcpy(prefix.data(), hash.bytes.data(), ID_BYTES);
  std::memcpy(prefix.data() + ID_BYTES, signer.bytes.data(), ID_BYTES);
  Cursor cursor(txn, dbi, "by_content");
  MDB_val key = lmdb::val(prefix);
  if (!cursor.get(key, MDB_SET_RANGE) || !lmdb::startsWith(key, prefix)) return std::nullopt;
  return idAtEnd(key);
}

std::optional<std::string> readMeta(MDB_txn* txn, MDB_dbi dbi, std::string_view name) {
  MDB_val key = lmdb::val(name);
  MDB_val data{};
  const int rc = ::mdb_get(txn, dbi, &key, &data);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  lmdb::check(rc, "mdb_get(meta)");
  return std::string(lmdb::text(data));
}

void checkMetaKey(std::string_view name) {
  // Meta keys are short names chosen by our own code; 511 bytes is LMDB's key limit.
  if (name.empty() || name.size() > 511) {
    throw std::invalid_argument("meta keys are 1 to 511 bytes");
  }
}

/// A counter kept in meta as a decimal number; 0 when absent.
std::uint64_t readCounter(MDB_txn* txn, MDB_dbi dbi, std::string_view name) {
  const auto text = readMeta(txn, dbi, name);
  if (!text) return 0;
  const auto number = parseNumber(*text);
  if (!number) throw Error("the archive's counter meta \"" + std::string(name) + "\" is damaged");
  return *number;
}

// Tombstones (archive.h: retracted).
constexpr std::uint8_t TOMBSTONE_CLIPPING = 'c';
constexpr std::uint8_t TOMBSTONE_SIGNER = 's';
constexpr std::size_t CLIPPING_TOMBSTONE_BYTES = 1 + 2 * ID_BYTES;
constexpr std::size_t SIGNER_TOMBSTONE_BYTES =
    1 + protocol::PUBLIC_KEY_BYTES + TIME_BYTES + ID_BYTES;

[[noreturn]] void damagedTombstones() {
  throw Error("the tombstones of retracted clippings (retracted) are damaged");
}

/// Every tombstone of clipping, by retraction id.
std::vector<Tombstone> clippingTombstones(MDB_txn* txn, MDB_dbi dbi, const ObjectId& clipping) {
  std::array<std::uint8_t, 1 + ID_BYTES> prefix{TOMBSTONE_CLIPPING};
  std::memcpy(prefix.data() + 1, clipping.bytes.data(), ID_BYTES);
  std::vector<Tombstone> out;
  Cursor cursor(txn, dbi, "retracted");
  MDB_val key = lmdb::val(prefix);
  MDB_val data{};
  for (bool ok = cursor.get(key, data, MDB_SET_RANGE); ok && lmdb::startsWith(key, prefix);
       ok = cursor.get(key, data, MDB_NEXT)) {
    if (key.mv_size != CLIPPING_TOMBSTONE_BYTES ||
        (data.mv_size != 0 && data.mv_size != protocol::PUBLIC_KEY_BYTES)) {
      damagedTombstones();
    }
    Tombstone& tombstone = out.emplace_back();
    tombstone.retraction = idAtEnd(key);
    if (data.mv_size != 0) {
      PublicKey& signer = tombstone.onlyIfSignedBy.emplace();
      std::memcpy(signer.bytes.data(), data.mv_data, protocol::PUBLIC_KEY_BYTES);
    }
  }
  return out;
}

/// archive.h, ReadTxn::tombstone: an unconditional tombstone first.
std::optional<Tombstone> strongestTombstone(MDB_txn* txn, MDB_dbi dbi, const ObjectId& clipping) {
  const std::vector<Tombstone> all = clippingTombstones(txn, dbi, clipping);
  for (const Tombstone& tombstone : all) {
    if (!tombstone.onlyIfSignedBy) return tombstone;
  }
  if (all.empty()) return std::nullopt;
  return all.front();
}

/// archive.h, ReadTxn::signerTombstone: the first entry of signer has the earliest since.
std::optional<ObjectId> findSignerTombstone(MDB_txn* txn, MDB_dbi dbi, const PublicKey& signer,
                                            std::int64_t signedAt) {
  std::array<std::uint8_t, 1 + protocol::PUBLIC_KEY_BYTES> prefix{TOMBSTONE_SIGNER};
  std::memcpy(prefix.data() + 1, signer.bytes.data(), protocol::PUBLIC_KEY_BYTES);
  Cursor cursor(txn, dbi, "retracted");
  MDB_val key = lmdb::val(prefix);
  if (!cursor.get(key, MDB_SET_RANGE) || !lmdb::startsWith(key, prefix)) return std::nullopt;
  if (key.mv_size != SIGNER_TOMBSTONE_BYTES) damagedTombstones();
  const auto* since = static_cast<const std::uint8_t*>(key.mv_data) + prefix.size();
  if (static_cast<std::int64_t>(getBigEndian(since) ^ (std::uint64_t{1} << 63)) > signedAt) {
    return std::nullopt;
  }
  return idAtEnd(key);
}

/// put() refuses payload (a clipping with id): a tombstone of id for any signer or for its
/// own, or a signer tombstone of its signer from at or before its signedAt.
bool refusedByTombstone(MDB_txn* txn, MDB_dbi dbi, const ObjectId& id,
                        const protocol::Payload& payload) {
  for (const Tombstone& tombstone : clippingTombstones(txn, dbi, id)) {
    if (!tombstone.onlyIfSignedBy || *tombstone.onlyIfSignedBy == payload.signer) return true;
  }
  return findSignerTombstone(txn, dbi, payload.signer, payload.signedAt).has_value();
}

[[noreturn]] void damagedIndex(std::string_view term) {
  throw Error("the search index entry for \"" + std::string(term) + "\" is damaged");
}

/// Decodes the postings of one chunk or batch entry onto out, which must stay strictly
/// ascending across entries too: chunks and batches of a term cover disjoint seq ranges in
/// key order.
void appendPostings(std::uint64_t base, std::span<const std::uint8_t> postings,
                    std::string_view term, std::vector<std::uint64_t>& out) {
  const std::size_t before = out.size();
  if (!decodePostings(base, postings, out) || out.size() == before ||
      (before > 0 && out[before] <= out[before - 1])) {
    damagedIndex(term);
  }
}

/// The batches in terms_recent (their first seqs), ascending: one seek per batch.
std::vector<std::uint64_t> recentBatches(MDB_txn* txn, MDB_dbi dbi) {
  std::vector<std::uint64_t> batches;
  Cursor cursor(txn, dbi, "terms_recent");
  MDB_val key{};
  for (bool ok = cursor.get(key, MDB_FIRST); ok;) {
    if (key.mv_size <= SEQ_BYTES) throw Error("the search index (terms_recent) is damaged");
    const std::uint64_t batch = getBigEndian(static_cast<const std::uint8_t*>(key.mv_data));
    batches.push_back(batch);
    if (batch == UINT64_MAX) break;
    const SeqKey next = seqKey(batch + 1);  // sorts before every key of the next batch
    key = lmdb::val(next);
    ok = cursor.get(key, MDB_SET_RANGE);
  }
  return batches;
}

/// The seqs of the clippings that hold term, ascending: its chunks in terms, then its entry
/// in each recent batch (batches: recentBatches()).
std::vector<std::uint64_t> termSeqs(MDB_txn* txn, MDB_dbi termsDbi, MDB_dbi recentDbi,
                                    std::string_view term,
                                    const std::vector<std::uint64_t>& batches) {
  std::vector<std::uint64_t> seqs;
  std::vector<std::uint8_t> key(term.begin(), term.end());
  key.push_back(0);
  {
    Cursor cursor(txn, termsDbi, "terms");
    MDB_val k = lmdb::val(key);
    MDB_val data{};
    for (bool ok = cursor.get(k, data, MDB_SET_RANGE); ok && lmdb::startsWith(k, key);
         ok = cursor.get(k, data, MDB_NEXT)) {
      // Terms hold no 0 byte, so the keys that start with term || 0 are term's chunks.
      if (k.mv_size != key.size() + SEQ_BYTES) damagedIndex(term);
      const auto* seq = static_cast<const std::uint8_t*>(k.mv_data) + key.size();
      appendPostings(getBigEndian(seq), lmdb::bytes(data), term, seqs);
    }
  }
  key.assign(SEQ_BYTES, 0);
  key.insert(key.end(), term.begin(), term.end());
  for (const std::uint64_t batch : batches) {
    putBigEndian(key.data(), batch);
    MDB_val k = lmdb::val(key);
    MDB_val data{};
    const int rc = ::mdb_get(txn, recentDbi, &k, &data);
    if (rc == MDB_NOTFOUND) continue;
    lmdb::check(rc, "mdb_get(terms_recent)");
    appendPostings(batch, lmdb::bytes(data), term, seqs);
  }
  return seqs;
}

/// The ids of seqs (ascending) from by_seq, in the same order.
std::vector<ObjectId> idsOf(MDB_txn* txn, MDB_dbi dbi, const std::vector<std::uint64_t>& seqs) {
  // Close seqs are stepped to, far ones sought: a common term walks by_seq like a list.
  constexpr std::uint64_t MAX_STEPS = 8;
  std::vector<ObjectId> ids;
  ids.reserve(seqs.size());
  Cursor cursor(txn, dbi, "by_seq");
  MDB_val key{};
  MDB_val data{};
  std::uint64_t at = 0;  // the cursor's seq; 0: not placed
  for (const std::uint64_t seq : seqs) {
    bool found = false;
    if (at != 0 && seq > at && seq - at <= MAX_STEPS) {
      while (at < seq && cursor.get(key, data, MDB_NEXT)) {
        if (key.mv_size != SEQ_BYTES) break;
        at = getBigEndian(static_cast<const std::uint8_t*>(key.mv_data));
      }
      found = at == seq;
    } else {
      const SeqKey k = seqKey(seq);
      key = lmdb::val(k);
      found = cursor.get(key, data, MDB_SET_KEY);
      at = found ? seq : 0;
    }
    if (!found || data.mv_size != ID_BYTES) {
      throw Error("the search index names a missing object (seq " + std::to_string(seq) + ")");
    }
    std::memcpy(ids.emplace_back().bytes.data(), data.mv_data, ID_BYTES);
  }
  return ids;
}

/// A set of ids for membership tests, built in linear time: open addressing on the ids'
/// first 8 bytes, which are uniformly spread (ids are hashes).
class IdSet {
 public:
  explicit IdSet(const std::vector<ObjectId>& ids) : m_ids(ids) {
    std::size_t size = 16;
    while (size < 2 * ids.size()) size *= 2;
    m_slots.assign(size, 0);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      std::size_t slot = headOf(ids[i]) & (size - 1);
      while (m_slots[slot] != 0) slot = (slot + 1) & (size - 1);
      m_slots[slot] = static_cast<std::uint32_t>(i + 1);
    }
  }
  bool contains(const ObjectId& id) const {
    const std::size_t mask = m_slots.size() - 1;
    for (std::size_t slot = headOf(id) & mask; m_slots[slot] != 0; slot = (slot + 1) & mask) {
      if (m_ids[m_slots[slot] - 1] == id) return true;
    }
    return false;
  }

 private:
  static std::uint64_t headOf(const ObjectId& id) {
    std::uint64_t head = 0;
    std::memcpy(&head, id.bytes.data(), sizeof head);
    return head;
  }
  const std::vector<ObjectId>& m_ids;
  std::vector<std::uint32_t> m_slots;  // index into m_ids + 1; 0: empty
};

/// The values in both sorted lists. Probes the longer list by binary search when it is much
/// longer (a rare term with a common one), else walks both.
std::vector<std::uint64_t> intersect(const std::vector<std::uint64_t>& shorter,
                                     const std::vector<std::uint64_t>& longer) {
  std::vector<std::uint64_t> both;
  if (longer.size() / 16 > shorter.size()) {
    auto from = longer.begin();
    for (const std::uint64_t seq : shorter) {
      from = std::lower_bound(from, longer.end(), seq);
      if (from == longer.end()) break;
      if (*from == seq) both.push_back(seq);
    }
  } else {
    std::set_intersection(shorter.begin(), shorter.end(), longer.begin(), longer.end(),
                          std::back_inserter(both));
  }
  return both;
}

}  // namespace

// --- ReadTxn --------------------------------------------------------------------------------

ReadTxn::ReadTxn(const Archive& archive, MDB_txn* txn, bool owns)
    : m_archive(&archive), m_txn(txn), m_owns(owns) {}

ReadTxn::ReadTxn(ReadTxn&& other) noexcept
    : m_archive(other.m_archive),
      m_txn(std::exchange(other.m_txn, nullptr)),
      m_owns(other.m_owns) {}

ReadTxn& ReadTxn::operator=(ReadTxn&& other) noexcept {
  if (this != &other) {
    if (m_txn != nullptr && m_owns) m_archive->finishTxn(m_txn, false);
    m_archive = other.m_archive;
    m_txn = std::exchange(other.m_txn, nullptr);
    m_owns = other.m_owns;
  }
  return *this;
}

ReadTxn::~ReadTxn() {
  if (m_txn != nullptr && m_owns) m_archive->finishTxn(m_txn, false);
}

ReadTxn Archive::beginRead() const { return ReadTxn(*this, beginTxn(MDB_RDONLY)); }

std::optional<std::span<const std::uint8_t>> ReadTxn::get(const ObjectId& id) const {
  return getObject(m_txn, (*m_archive->m_dbs)[OBJECTS], id);
}

bool ReadTxn::contains(const ObjectId& id) const { return get(id).has_value(); }

std::optional<ObjectId> ReadTxn::findByContent(const ContentHash& hash,
                                               const PublicKey& signer) const {
  return findContent(m_txn, (*m_archive->m_dbs)[BY_CONTENT], hash, signer);
}

std::vector<std::pair<PublicKey, ObjectId>> ReadTxn::sameContent(const ContentHash& hash) const {
  std::vector<std::pair<PublicKey, ObjectId>> out;
  Cursor cursor(m_txn, (*m_archive->m_dbs)[BY_CONTENT], "by_content");
  MDB_val key = lmdb::val(hash.bytes);
  for (bool ok = cursor.get(key, MDB_SET_RANGE); ok && lmdb::startsWith(key, hash.bytes);
       ok = cursor.get(key, MDB_NEXT)) {
    if (key.mv_size != 2 * ID_BYTES + protocol::PUBLIC_KEY_BYTES)
      throw Error("the content index (by_content) is damaged");
    auto& [signer, id] = out.emplace_back();
    std::memcpy(signer.bytes.data(), static_cast<const std::uint8_t*>(key.mv_data) + ID_BYTES,
                protocol::PUBLIC_KEY_BYTES);
    id = idAtEnd(key);
  }
  return out;
}

std::vector<AnnotationRef> ReadTxn::annotationsNaming(const ObjectId& clipping) const {
  std::vector<AnnotationRef> out;
  const Archive::Dbs& dbs = *m_archive->m_dbs;
  if (!dbs.hasByTarget) return out;
  Cursor cursor(m_txn, dbs[BY_TARGET], "by_target");
  MDB_val key = lmdb::val(clipping.bytes);
  MDB_val data{};
  for (bool ok = cursor.get(key, data, MDB_SET_RANGE); ok && lmdb::startsWith(key, clipping.bytes);
       ok = cursor.get(key, data, MDB_NEXT)) {
    if (key.mv_size != 2 * ID_BYTES || data.mv_size != 1)
      throw Error("the annotation index (by_target) is damaged");
    const auto role = *static_cast<const std::uint8_t*>(data.mv_data);
    out.push_back({idAtEnd(key), role == TARGET_ORIGINAL});
  }
  return out;
}

std::optional<std::string> ReadTxn::getMeta(std::string_view key) const {
  checkMetaKey(key);
  return readMeta(m_txn, (*m_archive->m_dbs)[META], key);
}

std::uint64_t ReadTxn::count() const {
  MDB_stat stat{};
  lmdb::check(::mdb_stat(m_txn, (*m_archive->m_dbs)[OBJECTS], &stat), "mdb_stat(objects)");
  return stat.ms_entries;
}

std::vector<SeqEntry> ReadTxn::since(std::uint64_t seq, std::size_t limit) const {
  std::vector<SeqEntry> out;
  if (seq == UINT64_MAX || limit == 0) return out;
  Cursor cursor(m_txn, (*m_archive->m_dbs)[BY_SEQ], "by_seq");
  const SeqKey start = seqKey(seq + 1);
  MDB_val key = lmdb::val(start);
  MDB_val data{};
  for (bool ok = cursor.get(key, data, MDB_SET_RANGE); ok && out.size() < limit;
       ok = cursor.get(key, data, MDB_NEXT)) {
    if (key.mv_size != SEQ_BYTES || data.mv_size != ID_BYTES) {
      throw Error("the sequence index (by_seq) is damaged");
    }
    SeqEntry& entry = out.emplace_back();
    entry.seq = getBigEndian(static_cast<const std::uint8_t*>(key.mv_data));
    std::memcpy(entry.id.bytes.data(), data.mv_data, ID_BYTES);
  }
  return out;
}

SyncTree ReadTxn::syncTree() const {
  const Archive::Dbs& dbs = *m_archive->m_dbs;
  if (!dbs.hasSyncIndex) {
    throw Error("the archive at " + m_archive->dir().string() +
                " has no sync index yet (schema version 1): open it once writable, as any "
                "fieldsync command does, to build it");
  }
  return {m_txn, dbs[BY_TIME], dbs[SYNC_INDEX]};
}

std::uint64_t ReadTxn::lastSeq() const {
  return readCounter(m_txn, (*m_archive->m_dbs)[META], META_SEQ);
}

TermIndexStats termIndexStats(const ReadTxn& txn) {
  const Archive::Dbs& dbs = *txn.m_archive->m_dbs;
  TermIndexStats stats;
  MDB_stat stat{};
  lmdb::check(::mdb_stat(txn.m_txn, dbs[TERMS_RECENT], &stat), "mdb_stat(terms_recent)");
  stats.recentEntries = stat.ms_entries;
  lmdb::check(::mdb_stat(txn.m_txn, dbs[TERMS], &stat), "mdb_stat(terms)");
  stats.chunks = stat.ms_entries;
  stats.recentBatches = readCounter(txn.m_txn, dbs[META], META_RECENT_BATCHES);
  return stats;
}

void ReadTxn::forEach(
    const std::function<bool(const ObjectId&, std::span<const std::uint8_t>)>& fn) const {
  Cursor cursor(m_txn, (*m_archive->m_dbs)[OBJECTS], "objects");
  MDB_val key{};
  MDB_val data{};
  for (bool ok = cursor.get(key, data, MDB_FIRST); ok; ok = cursor.get(key, data, MDB_NEXT)) {
    if (!fn(idAtEnd(key), lmdb::bytes(data))) return;
  }
}

Expected<ObjectId, PrefixProblem> ReadTxn::resolve(std::string_view hexIdOrPrefix) const {
  if (!isHex(hexIdOrPrefix) || hexIdOrPrefix.size() > ID_HEX_CHARS) {
    return PrefixProblem{PrefixProblem::NotHex, {}};
  }
  if (hexIdOrPrefix.size() < MIN_PREFIX_CHARS) return PrefixProblem{PrefixProblem::TooShort, {}};
  return resolvePrefix(*this, hexIdOrPrefix);
}

Expected<ObjectId, PrefixProblem> resolvePrefix(const ReadTxn& txn, std::string_view hexPrefix) {
  if (!isHex(hexPrefix) || hexPrefix.size() > ID_HEX_CHARS) {
    return PrefixProblem{PrefixProblem::NotHex, {}};
  }
  // Whole bytes, then for an odd length the last nibble, matched on the next byte's high half.
  std::vector<std::uint8_t> prefix;
  for (std::size_t i = 0; i + 1 < hexPrefix.size(); i += 2) {
    prefix.push_back(
        static_cast<std::uint8_t>(hexValue(hexPrefix[i]) * 16 + hexValue(hexPrefix[i + 1])));
  }
  const bool odd = hexPrefix.size() % 2 == 1;
  const auto lastNibble =
      odd ? static_cast<std::uint8_t>(hexValue(hexPrefix.back()) << 4) : std::uint8_t{0};

  std::vector<ObjectId> candidates;
  Cursor cursor(txn.m_txn, (*txn.m_archive->m_dbs)[OBJECTS], "objects");
  std::vector<std::uint8_t> start = prefix;
  if (odd) start.push_back(lastNibble);
  MDB_val key = lmdb::val(start);
  // LMDB refuses an empty key, so the empty prefix starts at the first id.
  for (bool ok = cursor.get(key, start.empty() ? MDB_FIRST : MDB_SET_RANGE); ok;
       ok = cursor.get(key, MDB_NEXT)) {
    if (!lmdb::startsWith(key, prefix)) break;
    if (odd &&
        (static_cast<const std::uint8_t*>(key.mv_data)[prefix.size()] & 0xf0) != lastNibble) {
      break;
    }
    candidates.push_back(idAtEnd(key));
    if (candidates.size() == MAX_CANDIDATES) break;
  }
  if (candidates.empty()) return PrefixProblem{PrefixProblem::NotFound, {}};
  if (candidates.size() > 1) return PrefixProblem{PrefixProblem::Ambiguous, std::move(candidates)};
  return candidates.front();
}

std::string PrefixProblem::message() const {
  switch (kind) {
    case TooShort:
      return "an id prefix needs at least " + std::to_string(MIN_PREFIX_CHARS) + " hex characters";
    case NotHex:
      return "not an object id: expected up to 64 hex characters";
    case NotFound:
      return "no object has this id or prefix";
    case Ambiguous: {
      std::string text = "the prefix matches " + std::to_string(candidates.size()) +
                         (candidates.size() >= MAX_CANDIDATES ? " or more" : "") +
                         " objects; give more characters:";
      for (const ObjectId& id : candidates) text += "\n  " + id.hex();
      return text;
    }
  }
  return "bad id prefix";
}

std::vector<ObjectId> ReadTxn::list(const ListQuery& query) const {
  const Archive::Dbs& dbs = *m_archive->m_dbs;
  std::vector<ObjectId> out;
  if (query.limit == 0) return out;

  // Tags, sources and dates belong to clippings only.
  const bool clippingFilter = query.tag || query.source || query.since;
  const bool wantClippings = !query.kind || *query.kind == protocol::Kind::Clipping;
  const bool wantOthers =
      (!query.kind || *query.kind != protocol::Kind::Clipping) && !clippingFilter;
  if (!wantClippings && !wantOthers) return out;

  auto sourceMatches = [&](const ObjectId& id) {
    if (!query.source) return true;
    const auto bytes = get(id);
    if (!bytes) throw Error("the list index names a missing object " + id.hex());
    const auto decoded = decodeStored(id, *bytes);
    const protocol::Clipping* clipping = decoded.payload.clipping();
    return clipping != nullptr && clipping->source == *query.source;
  };
  auto sinceHolds = [&](std::string_view published) {
    return !query.since || published >= std::string_view(*query.since);
  };

  if (query.tag) {
    // Few objects per tag: gather them, then sort as by_published would.
    std::vector<std::uint8_t> prefix(query.tag->begin(), query.tag->end());
    prefix.push_back(0);
    std::vector<ListKey> keys;
    Cursor cursor(m_txn, dbs[BY_TAG], "by_tag");
    MDB_val key = lmdb::val(prefix);
    for (bool ok = cursor.get(key, MDB_SET_RANGE); ok && lmdb::startsWith(key, prefix);
         ok = cursor.get(key, MDB_NEXT)) {
      const ObjectId id = idAtEnd(key);
      const auto bytes = get(id);
      if (!bytes) throw Error("the tag index names a missing object " + id.hex());
      const auto decoded = decodeStored(id, *bytes);
      const protocol::Clipping* clipping = decoded.payload.clipping();
      if (clipping == nullptr) continue;
      if (query.source && clipping->source != *query.source) continue;
      const ListKey sortKey = listKey(decoded.payload, id);
      if (!sinceHolds(publishedOf(sortKey))) continue;
      keys.push_back(sortKey);
    }
    std::sort(keys.begin(), keys.end(), std::greater<>());
    for (const ListKey& k : keys) {
      if (out.size() == query.limit) break;
      ObjectId& id = out.emplace_back();
      std::memcpy(id.bytes.data(), k.data() + PUBLISHED_BYTES + TIME_BYTES, ID_BYTES);
    }
    return out;
  }

  // Phase 1: clippings with a date, newest first, straight from by_published.
  if (wantClippings) {
    Cursor cursor(m_txn, dbs[BY_PUBLISHED], "by_published");
    MDB_val key{};
    for (bool ok = cursor.get(key, MDB_LAST); ok; ok = cursor.get(key, MDB_PREV)) {
      const std::string_view published(static_cast<const char*>(key.mv_data), PUBLISHED_BYTES);
      if (published == NO_DATE) break;
      if (!sinceHolds(published)) return out;  // everything further back is older still
      const ObjectId id = idAtEnd(key);
      if (!sourceMatches(id)) continue;
      out.push_back(id);
      if (out.size() == query.limit) return out;
    }
  }
  if (query.since) return out;  // no date never satisfies since

  // Phase 2: objects without a date, by signedAt then id, newest first.
  if (!wantOthers) {
    std::array<std::uint8_t, LIST_KEY_BYTES> bound{};
    std::fill(bound.begin(), bound.end(), std::uint8_t{0xff});
    std::memcpy(bound.data(), NO_DATE.data(), PUBLISHED_BYTES);
    const std::span<const std::uint8_t> noDate(bound.data(), PUBLISHED_BYTES);
    Cursor cursor(m_txn, dbs[BY_PUBLISHED], "by_published");
    MDB_val key{};
    for (bool ok = cursor.seekLastAtMost(key, bound); ok && lmdb::startsWith(key, noDate);
         ok = cursor.get(key, MDB_PREV)) {
      const ObjectId id = idAtEnd(key);
      if (!sourceMatches(id)) continue;
      out.push_back(id);
      if (out.size() == query.limit) return out;
    }
    return out;
  }
  if (query.kind && *query.kind != protocol::Kind::Clipping) {
    for (const ObjectId& id : ofKind(*query.kind)) {
      out.push_back(id);
      if (out.size() == query.limit) break;
    }
    return out;
  }
  // Every kind at once: walk by_time (the same order) and look at each.
  Cursor cursor(m_txn, dbs[BY_TIME], "by_time");
  MDB_val key{};
  for (bool ok = cursor.get(key, MDB_LAST); ok; ok = cursor.get(key, MDB_PREV)) {
    const ObjectId id = idAtEnd(key);
    const auto bytes = get(id);
    if (!bytes) throw Error("the time index names a missing object " + id.hex());
    const auto decoded = decodeStored(id, *bytes);
    const protocol::Clipping* clipping = decoded.payload.clipping();
    const bool match = clipping != nullptr ? wantClippings && clipping->published.empty()
                                           : !query.kind || *query.kind == decoded.payload.kind();
    if (!match) continue;
    out.push_back(id);
    if (out.size() == query.limit) break;
  }
  return out;
}

std::vector<ObjectId> ReadTxn::ofKind(protocol::Kind kind) const {
  std::vector<ObjectId> out;
  const std::array<std::uint8_t, 1> prefix{static_cast<std::uint8_t>(kind)};
  Cursor cursor(m_txn, (*m_archive->m_dbs)[BY_KIND], "by_kind");
  std::array<std::uint8_t, 1 + TIME_BYTES + ID_BYTES> bound{};
  bound.fill(0xff);
  bound[0] = prefix[0];
  MDB_val key{};
  for (bool ok = cursor.seekLastAtMost(key, bound); ok && lmdb::startsWith(key, prefix);
       ok = cursor.get(key, MDB_PREV)) {
    out.push_back(idAtEnd(key));
  }
  return out;
}

namespace {

/// by_release entries of name (all, or one sequence), in key order: sequence, then id.
std::vector<ReleaseEntry> releaseEntries(MDB_txn* txn, MDB_dbi dbi, std::string_view name,
                                         std::optional<std::uint64_t> sequence) {
  std::vector<std::uint8_t> prefix(name.begin(), name.end());
  prefix.push_back(0);
  if (sequence) {
    prefix.resize(prefix.size() + SEQ_BYTES);
    putBigEndian(prefix.data() + prefix.size() - SEQ_BYTES, *sequence);
  }
  std::vector<ReleaseEntry> out;
  Cursor cursor(txn, dbi, "by_release");
  MDB_val key = lmdb::val(prefix);
  for (bool ok = cursor.get(key, MDB_SET_RANGE); ok && lmdb::startsWith(key, prefix);
       ok = cursor.get(key, MDB_NEXT)) {
    const auto* bytes = static_cast<const std::uint8_t*>(key.mv_data);
    const std::size_t seqAt = name.size() + 1;
    if (key.mv_size != seqAt + SEQ_BYTES + ID_BYTES) throw Error("the release index is damaged");
    std::uint64_t seq = 0;
    for (std::size_t i = 0; i < SEQ_BYTES; ++i) seq = seq << 8 | bytes[seqAt + i];
    out.push_back({std::string(name), seq, idAtEnd(key)});
  }
  return out;
}

}  // namespace

std::vector<ReleaseEntry> ReadTxn::releases(std::string_view name,
                                            std::optional<std::uint64_t> sequence) const {
  return releaseEntries(m_txn, (*m_archive->m_dbs)[BY_RELEASE], name, sequence);
}

std::vector<std::string> ReadTxn::releaseNames() const {
  std::vector<std::string> names;
  Cursor cursor(m_txn, (*m_archive->m_dbs)[BY_RELEASE], "by_release");
  MDB_val key{};
  for (bool ok = cursor.get(key, MDB_FIRST); ok;) {
    const std::string_view k(static_cast<const char*>(key.mv_data), key.mv_size);
    const std::string name(k.substr(0, k.find('\0')));
    names.push_back(name);
    // Skip to the first key past every key of this name: name || 0x01.
    std::vector<std::uint8_t> next(name.begin(), name.end());
    next.push_back(1);
    key = lmdb::val(next);
    ok = cursor.get(key, MDB_SET_RANGE);
  }
  return names;
}

std::vector<ReleaseEntry> ReadTxn::releasesContaining(const ObjectId& clipping) const {
  std::vector<ReleaseEntry> out;
  Cursor cursor(m_txn, (*m_archive->m_dbs)[BY_MEMBER], "by_member");
  MDB_val key = lmdb::val(clipping.bytes);
  MDB_val data{};
  for (bool ok = cursor.get(key, data, MDB_SET_RANGE);
       ok && lmdb::startsWith(key, std::span<const std::uint8_t>(clipping.bytes));
       ok = cursor.get(key, data, MDB_NEXT)) {
    if (data.mv_size < SEQ_BYTES) throw Error("the release member index is damaged");
    const auto* value = static_cast<const std::uint8_t*>(data.mv_data);
    std::uint64_t sequence = 0;
    for (std::size_t i = 0; i < SEQ_BYTES; ++i) sequence = sequence << 8 | value[i];
    out.push_back(
        {std::string(reinterpret_cast<const char*>(value) + SEQ_BYTES, data.mv_size - SEQ_BYTES),
         sequence, idAtEnd(key)});
  }
  std::sort(out.begin(), out.end(), [](const ReleaseEntry& a, const ReleaseEntry& b) {
    return std::tie(a.name, a.sequence, a.id) < std::tie(b.name, b.sequence, b.id);
  });
  return out;
}

std::optional<Tombstone> ReadTxn::tombstone(const ObjectId& clipping) const {
  const Archive::Dbs& dbs = *m_archive->m_dbs;
  if (!dbs.hasRetracted) return std::nullopt;
  return strongestTombstone(m_txn, dbs[RETRACTED], clipping);
}

std::optional<ObjectId> ReadTxn::signerTombstone(const PublicKey& signer,
                                                 std::int64_t signedAt) const {
  const Archive::Dbs& dbs = *m_archive->m_dbs;
  if (!dbs.hasRetracted) return std::nullopt;
  return findSignerTombstone(m_txn, dbs[RETRACTED], signer, signedAt);
}

std::vector<protocol::Anchor> ReadTxn::anchors() const {
  std::vector<protocol::Anchor> out;
  Cursor cursor(m_txn, (*m_archive->m_dbs)[KEYS], "keys");
  MDB_val key{};
  MDB_val data{};
  for (bool ok = cursor.get(key, data, MDB_FIRST); ok; ok = cursor.get(key, data, MDB_NEXT)) {
    if (key.mv_size != protocol::PUBLIC_KEY_BYTES || data.mv_size < 1)
      throw Error("the keys database is damaged");
    protocol::Anchor anchor;
    std::memcpy(anchor.key.bytes.data(), key.mv_data, protocol::PUBLIC_KEY_BYTES);
    const auto* value = static_cast<const char*>(data.mv_data);
    anchor.role = value[0] == 'c' ? protocol::Role::Coordinator : protocol::Role::Field;
    anchor.name.assign(value + 1, data.mv_size - 1);
    out.push_back(std::move(anchor));
  }
  return out;
}

std::vector<ObjectId> ReadTxn::search(std::string_view words, std::size_t limit) const {
  const Archive::Dbs& dbs = *m_archive->m_dbs;
  std::vector<std::string> terms = protocol::searchTerms(words);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  if (terms.empty() || limit == 0) return {};

  // The seqs of each term from both tiers; a term without any ends the search.
  const std::vector<std::uint64_t> batches = recentBatches(m_txn, dbs[TERMS_RECENT]);
  std::vector<std::vector<std::uint64_t>> lists;
  for (const std::string& term : terms) {
    lists.push_back(termSeqs(m_txn, dbs[TERMS], dbs[TERMS_RECENT], term, batches));
    if (lists.back().empty()) return {};
  }
  // Rarest first: every intersection is then at most as long as the rarest list.
  std::sort(lists.begin(), lists.end(),
            [](const auto& a, const auto& b) { return a.size() < b.size(); });
  std::vector<std::uint64_t> seqs = std::move(lists.front());
  for (std::size_t i = 1; i < lists.size() && !seqs.empty(); ++i) {
    seqs = intersect(seqs, lists[i]);
  }
  if (seqs.empty()) return {};

  const std::vector<ObjectId> hits = idsOf(m_txn, dbs[BY_SEQ], seqs);

  // Order as list(). Few hits: decode each for its sort key. Many: walk by_published from the
  // newest end and keep the hits, which stops early under a limit and decodes nothing. A
  // cursor step costs a small fraction of a decode, hence the factor.
  MDB_stat stat{};
  lmdb::check(::mdb_stat(m_txn, dbs[BY_PUBLISHED], &stat), "mdb_stat(by_published)");
  std::vector<ObjectId> out;
  if (hits.size() * 32 < stat.ms_entries) {
    out = inListOrder(hits);
    if (out.size() > limit) out.resize(limit);
  } else {
    Cursor cursor(m_txn, dbs[BY_PUBLISHED], "by_published");
    MDB_val key{};
    const IdSet hitSet(hits);
    for (bool ok = cursor.get(key, MDB_LAST); ok && out.size() < std::min(limit, hits.size());
         ok = cursor.get(key, MDB_PREV)) {
      const ObjectId id = idAtEnd(key);
      if (hitSet.contains(id)) out.push_back(id);
    }
  }
  return out;
}

std::vector<ObjectId> ReadTxn::inListOrder(std::vector<ObjectId> ids) const {
  std::vector<ListKey> keys;
  keys.reserve(ids.size());
  for (const ObjectId& id : ids) {
    const auto bytes = get(id);
    if (!bytes) throw Error("the search index names a missing object " + id.hex());
    keys.push_back(listKey(decodeStored(id, *bytes).payload, id));
  }
  std::sort(keys.begin(), keys.end(), std::greater<>());
  for (std::size_t i = 0; i < keys.size(); ++i)
    std::memcpy(ids[i].bytes.data(), keys[i].data() + PUBLISHED_BYTES + TIME_BYTES, ID_BYTES);
  return ids;
}

// --- WriteTxn -------------------------------------------------------------------------------

namespace {

/// Bytes readable past the end of every term that termHash reads.
constexpr std::size_t TERM_HASH_PADDING = 8;

std::uint64_t load64(const char* p) {
  std::uint64_t word = 0;
  std::memcpy(&word, p, sizeof word);
  return word;
}

/// A hash of the term at term[0, bytes), bytes > 0, for the term tables of PreparedObject and
/// TermBuffer. Reads eight bytes at a time, so TERM_HASH_PADDING bytes after the term must be
/// readable; what lies there does not change the hash. Not keyed: the tables probe linearly,
/// and a clipping that makes its terms collide costs its own indexing time, no one else's.
std::uint64_t termHash(const char* term, std::size_t bytes) {
  constexpr std::uint64_t K = 0x9E37'79B9'7F4A'7C15ull;
  std::uint64_t h = bytes * K;
  for (; bytes > 8; bytes -= 8, term += 8) {
    h = (h ^ load64(term)) * K;
    h ^= h >> 29;
  }
  h = (h ^ (load64(term) & (~0ull >> (64 - 8 * bytes)))) * K;
  h ^= h >> 32;
  return h * 0xD6E8'FEB8'6659'FD93ull ^ (h >> 28);
}

/// The term postings of one batch, buffered in memory so that flush() writes one key per
/// distinct term (archive.h: terms_recent). Flat arrays and an open-addressing table keep the cost
/// per term occurrence to a hash, one probe and an append: a 5 KB clipping has ~700 of them
/// and the import target leaves a few tens of microseconds for all of its indexing.
class TermBuffer {
 public:
  /// Starts the terms of the next clipping, whose seq is seq: larger than the last one's.
  void beginClipping(std::uint64_t seq) {
    assert(m_seqs.empty() || seq > m_seqs.back());
    m_seqs.push_back(seq);
    m_clippingStart.push_back(static_cast<std::uint32_t>(m_postings.size()));
  }

  /// Adds term, whose termHash is hash, to the current clipping; a repeated term is kept
  /// once.
  void add(std::string_view term, std::uint64_t hash) {
    const auto clipping = static_cast<std::uint32_t>(m_seqs.size());  // 1 + its index
    Slot& slot = find(term, hash);
    if (slot.lastClipping != clipping) {
      slot.lastClipping = clipping;
      m_postings.push_back(slot.term - 1);
    }
  }

  /// Forgets the terms of the clipping with seq (removed in the batch that stored it); false
  /// when the buffer has no such clipping.
  bool dropClipping(std::uint64_t seq) {
    const auto it = std::lower_bound(m_seqs.begin(), m_seqs.end(), seq);
    if (it == m_seqs.end() || *it != seq) return false;
    const auto c = static_cast<std::size_t>(it - m_seqs.begin());
    if (m_dropped.size() < m_seqs.size()) m_dropped.resize(m_seqs.size(), false);
    if (!m_dropped[c]) {
      m_dropped[c] = true;
      const std::size_t end = c + 1 < m_seqs.size() ? m_clippingStart[c + 1] : m_postings.size();
      m_droppedPostings += end - m_clippingStart[c];
    }
    return true;
  }

  bool empty() const { return m_postings.size() == m_droppedPostings; }

  /// Calls write(term, seqs) for every distinct term of a clipping not dropped, terms in byte
  /// order, seqs ascending.
  template <typename Write>
  void forEachTerm(Write&& write) {
    const std::size_t terms = m_terms.size();
    m_dropped.resize(m_seqs.size(), false);
    m_clippingStart.push_back(static_cast<std::uint32_t>(m_postings.size()));
    std::vector<std::uint32_t> start(terms + 1, 0);
    for (std::size_t c = 0; c < m_seqs.size(); ++c) {
      if (m_dropped[c]) continue;
      for (std::uint32_t p = m_clippingStart[c]; p < m_clippingStart[c + 1]; ++p) {
        ++start[m_postings[p] + 1];
      }
    }
    for (std::size_t t = 0; t < terms; ++t) start[t + 1] += start[t];
    // Filled clipping by clipping, so each term's seqs come out ascending.
    std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
    std::vector<std::uint64_t> seqs(start[terms]);
    for (std::size_t c = 0; c < m_seqs.size(); ++c) {
      if (m_dropped[c]) continue;
      for (std::uint32_t p = m_clippingStart[c]; p < m_clippingStart[c + 1]; ++p) {
        seqs[fill[m_postings[p]]++] = m_seqs[c];
      }
    }
    m_clippingStart.pop_back();

    std::vector<std::uint32_t> order(terms);
    for (std::uint32_t t = 0; t < terms; ++t) order[t] = t;
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return m_terms[a] < m_terms[b]; });
    for (std::uint32_t t : order) {
      if (start[t + 1] == start[t]) continue;  // only dropped clippings held it
      write(std::string_view(m_terms[t]),
            std::span<const std::uint64_t>(seqs.data() + start[t], start[t + 1] - start[t]));
    }
  }

  void clear() { *this = TermBuffer(); }

 private:
  // One slot holds all that a lookup of a short term touches: its first 8 bytes, its
  // length, part of its hash and its last clipping. Only longer terms are compared in m_terms.
  struct Slot {
    std::uint64_t head = 0;
    std::uint32_t check = 0;
    std::uint32_t length = 0;
    std::uint32_t term = 0;  // term number + 1; 0: empty
    std::uint32_t lastClipping = 0;
  };

  static std::uint64_t headOf(std::string_view term) {
    std::uint64_t head = 0;
    std::memcpy(&head, term.data(), std::min<std::size_t>(term.size(), sizeof head));
    return head;
  }

  Slot& find(std::string_view term, std::uint64_t hash) {
    if (m_slots.empty()) m_slots.resize(1024);
    const auto check = static_cast<std::uint32_t>(hash >> 32);
    const std::uint64_t head = headOf(term);
    const auto length = static_cast<std::uint32_t>(term.size());
    const std::size_t mask = m_slots.size() - 1;
    std::size_t i = hash & mask;
    for (;; i = (i + 1) & mask) {
      const Slot& slot = m_slots[i];
      if (slot.term == 0) break;
      if (slot.check == check && slot.length == length && slot.head == head &&
          (length <= sizeof head || m_terms[slot.term - 1] == term)) {
        return m_slots[i];
      }
    }
    m_terms.emplace_back(term);
    m_hashes.push_back(hash);
    const auto number = static_cast<std::uint32_t>(m_terms.size());
    m_slots[i] = Slot{head, check, length, number, 0};
    if (2 * m_terms.size() <= m_slots.size()) return m_slots[i];
    // Grow at half full; find the slot again in the new table.
    std::vector<Slot> old(2 * m_slots.size());
    old.swap(m_slots);
    const std::size_t newMask = m_slots.size() - 1;
    Slot* moved = nullptr;
    for (const Slot& slot : old) {
      if (slot.term == 0) continue;
      std::size_t j = m_hashes[slot.term - 1] & newMask;
      while (m_slots[j].term != 0) j = (j + 1) & newMask;
      m_slots[j] = slot;
      if (slot.term == number) moved = &m_slots[j];
    }
    return *moved;
  }

  std::vector<std::uint64_t> m_seqs;           // clippings of the batch, in put order
  std::vector<std::uint32_t> m_clippingStart;  // clipping -> its first entry in m_postings
  std::vector<std::uint32_t> m_postings;       // term numbers, grouped by clipping
  std::vector<std::string> m_terms;            // term number -> term
  std::vector<std::uint64_t> m_hashes;         // term number -> hash
  std::vector<Slot> m_slots;                   // open addressing, linear probing
  std::vector<bool> m_dropped;                 // clipping -> removed again in this batch
  std::size_t m_droppedPostings = 0;
};

}  // namespace

namespace {

/// mdb_put that remembers MDB_MAP_FULL for Archive::write, which may not see the exception if
/// the batch function caught it.
void putEntry(MDB_txn* txn, MDB_dbi dbi, Db db, MDB_val key, MDB_val data, unsigned flags,
              bool& mapFull) {
  const int rc = ::mdb_put(txn, dbi, &key, &data, flags);
  if (rc == MDB_SUCCESS) return;
  if (rc == MDB_MAP_FULL) mapFull = true;
  lmdb::fail(std::string("mdb_put(") + DB_NAMES[db] + ")", rc);
}

/// putEntry with MDB_APPEND, for keys that grow with the seq counter. A key that does not
/// sort last (never expected) is put in place, unless it is present: then a counter is behind.
void appendEntry(MDB_txn* txn, MDB_dbi dbi, Db db, MDB_val key, MDB_val data, bool& mapFull) {
  int rc = ::mdb_put(txn, dbi, &key, &data, MDB_APPEND);
  if (rc == MDB_KEYEXIST) rc = ::mdb_put(txn, dbi, &key, &data, MDB_NOOVERWRITE);
  if (rc == MDB_SUCCESS) return;
  if (rc == MDB_MAP_FULL) mapFull = true;
  if (rc == MDB_KEYEXIST) {
    throw Error(std::string("the archive's sequence counter (meta \"seq\") is behind ") +
                DB_NAMES[db] + ": the archive is damaged");
  }
  lmdb::fail(std::string("mdb_put(") + DB_NAMES[db] + ")", rc);
}

/// mdb_del of one index entry; false when it was not there.
bool deleteEntry(MDB_txn* txn, MDB_dbi dbi, Db db, MDB_val key, bool& mapFull) {
  const int rc = ::mdb_del(txn, dbi, &key, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc == MDB_MAP_FULL) mapFull = true;
  lmdb::check(rc, std::string("mdb_del(") + DB_NAMES[db] + ")");
  return true;
}

/// The entries of the key-value indexes whose entries follow from one object alone, for a
/// whole batch: keys and values in one arena (no allocation per entry), sorted by database
/// and key before they are written, so each database is written through one cursor in key
/// order (archive.h: putBatch).
class IndexEntries {
 public:
  struct Entry {
    Db db;
    std::size_t at = 0;  // the key's first byte in the arena; the value follows the key
    std::size_t keyBytes = 0;
    std::size_t valueBytes = 0;
  };

  /// Starts an entry of db; then its key's parts (key()), then its value (value()).
  void begin(Db db) { m_entries.push_back(Entry{db, m_bytes.size(), 0, 0}); }
  void key(std::span<const std::uint8_t> part) {
    m_bytes.insert(m_bytes.end(), part.begin(), part.end());
    m_entries.back().keyBytes += part.size();
  }
  void key(std::string_view part) {
    key(std::span(reinterpret_cast<const std::uint8_t*>(part.data()), part.size()));
  }
  void key(std::uint8_t byte) {
    m_bytes.push_back(byte);
    ++m_entries.back().keyBytes;
  }
  void keyBigEndian(std::uint64_t number) {
    std::array<std::uint8_t, 8> bytes{};
    putBigEndian(bytes.data(), number);
    key(bytes);
  }
  void value(std::span<const std::uint8_t> bytes) {
    m_bytes.insert(m_bytes.end(), bytes.begin(), bytes.end());
    m_entries.back().valueBytes += bytes.size();
  }

  MDB_val keyOf(const Entry& e) const { return MDB_val{e.keyBytes, byteAt(e.at)}; }
  MDB_val valueOf(const Entry& e) const { return MDB_val{e.valueBytes, byteAt(e.at + e.keyBytes)}; }

  /// By database, then by key as LMDB orders them (bytes, then length).
  void sort() {
    std::sort(m_entries.begin(), m_entries.end(), [&](const Entry& a, const Entry& b) {
      if (a.db != b.db) return a.db < b.db;
      return compareKeys(keyOf(a), keyOf(b)) < 0;
    });
  }
  const std::vector<Entry>& entries() const { return m_entries; }
  void clear() {
    m_entries.clear();
    m_bytes.clear();
  }

  /// LMDB's default order of keys: bytes (memcmp), then the shorter first.
  static int compareKeys(const MDB_val& a, const MDB_val& b) {
    const std::size_t common = std::min(a.mv_size, b.mv_size);
    const int c = common == 0 ? 0 : std::memcmp(a.mv_data, b.mv_data, common);
    if (c != 0) return c;
    return a.mv_size < b.mv_size ? -1 : (a.mv_size > b.mv_size ? 1 : 0);
  }

 private:
  void* byteAt(std::size_t at) const { return const_cast<std::uint8_t*>(m_bytes.data() + at); }
  std::vector<Entry> m_entries;
  std::vector<std::uint8_t> m_bytes;
};

std::array<std::uint8_t, TIME_BYTES + ID_BYTES> timeKeyOf(const protocol::Payload& payload,
                                                          const ObjectId& id) {
  std::array<std::uint8_t, TIME_BYTES + ID_BYTES> key{};
  putTime(key.data(), payload.signedAt);
  std::memcpy(key.data() + TIME_BYTES, id.bytes.data(), ID_BYTES);
  return key;
}

/// by_member's value names the release, so "which releases list this clipping" needs no
/// decoding: sequence (8 bytes BE) || name. The key: clipping || release (or part) id.
void addMembers(IndexEntries& out, const std::vector<ObjectId>& members, const ObjectId& id,
                std::uint64_t sequence, const std::string& name) {
  std::array<std::uint8_t, SEQ_BYTES> sequenceBytes{};
  putBigEndian(sequenceBytes.data(), sequence);
  for (const ObjectId& member : members) {
    out.begin(BY_MEMBER);
    out.key(member.bytes);
    out.key(id.bytes);
    out.value(sequenceBytes);
    out.value(std::span(reinterpret_cast<const std::uint8_t*>(name.data()), name.size()));
  }
}

/// Adds the entries of the key-value indexes for object id (archive.h) to out: by_time and
/// by_signer for every object; by_published, by_tag and by_content for a clipping
/// (contentHash: its protocol::contentHash); by_kind for the other kinds, with by_release and
/// by_member for a release and by_member for a release part. by_seq, sync_index and the
/// full-text index are kept apart: they depend on the archive's state, not on the object
/// alone. skip: Options::benchmarkSkipIndexes.
void addPlainEntries(IndexEntries& out, const protocol::Payload& payload, const ObjectId& id,
                     const ContentHash* contentHash, std::uint32_t skip = 0) {
  const auto timeKey = timeKeyOf(payload, id);
  if ((skip & SKIP_BY_TIME) == 0) {
    out.begin(BY_TIME);
    out.key(timeKey);
  }
  if ((skip & SKIP_BY_SIGNER) == 0) {
    out.begin(BY_SIGNER);
    out.key(payload.signer.bytes);
    out.key(timeKey);
  }

  if (const protocol::Clipping* clipping = payload.clipping()) {
    if ((skip & SKIP_BY_PUBLISHED) == 0) {
      out.begin(BY_PUBLISHED);
      out.key(listKey(payload, id));
    }
    if ((skip & SKIP_BY_TAG) == 0) {
      for (const std::string& tag : clipping->tags) {
        out.begin(BY_TAG);
        out.key(tag);
        out.key(std::uint8_t{0});
        out.key(timeKey);
      }
    }
    if ((skip & SKIP_BY_CONTENT) == 0) {
      const ContentHash hash =
          contentHash != nullptr ? *contentHash : protocol::contentHash(*clipping);
      out.begin(BY_CONTENT);
      out.key(hash.bytes);
      out.key(payload.signer.bytes);
      out.key(id.bytes);
    }
    return;
  }

  out.begin(BY_KIND);
  out.key(static_cast<std::uint8_t>(payload.kind()));
  out.key(timeKey);
  if (const auto* release = std::get_if<protocol::Release>(&payload.body)) {
    out.begin(BY_RELEASE);
    out.key(release->name);
    out.key(std::uint8_t{0});
    out.keyBigEndian(release->sequence);
    out.key(id.bytes);
    addMembers(out, release->clippings, id, release->sequence, release->name);
  } else if (const auto* part = std::get_if<protocol::ReleasePart>(&payload.body)) {
    // Not in by_release: a part is not a release. Its members read as a release's do; the
    // part's id in the key leads to (name, sequence) and so to the release.
    addMembers(out, part->clippings, id, part->sequence, part->name);
  } else if (const auto* note = std::get_if<protocol::Annotation>(&payload.body)) {
    auto target = [&](const ObjectId& clipping, std::uint8_t role) {
      out.begin(BY_TARGET);
      out.key(clipping.bytes);
      out.key(id.bytes);
      out.value(std::span(&role, 1));
    };
    target(note->clipping, TARGET_CORRECTS);
    if (note->duplicateOf) target(*note->duplicateOf, TARGET_ORIGINAL);
  }
}

}  // namespace

struct WriteTxn::Pending {
  TermBuffer terms;
  IndexEntries entries;  // putBatch's buffer, kept for its allocations
  // Read from meta at the first stored object, kept here and written back by flush(), so a
  // rerun of the batch (a fresh WriteTxn) reads the committed counter and gives the same seqs.
  std::optional<std::uint64_t> lastSeq;  // the seq given last
  std::uint64_t firstSeq = 0;            // the first seq this transaction gives
  bool mapFull = false;                  // a put failed with MDB_MAP_FULL: the batch must be rerun
  bool trustChanged = false;             // WriteTxn::trustChanged()
  bool settled = false;                  // settleRetractions ran for this batch
  bool removed = false;                  // remove() took something: a scrub is owed
  std::uint64_t scrubThrough = 0;        // set by flush(): meta "scrub.through", 0 if none
};

WriteTxn::WriteTxn(Archive& archive, MDB_txn* txn)
    : m_archive(archive), m_txn(txn), m_pending(std::make_unique<Pending>()) {}

WriteTxn::~WriteTxn() = default;

PreparedObject::PreparedObject(const protocol::VerifiedObject& object)
    : PreparedObject(object, nullptr) {}

PreparedObject::PreparedObject(const protocol::VerifiedObject& object,
                               const ContentHash& contentHash)
    : PreparedObject(object, &contentHash) {}

PreparedObject::PreparedObject(const protocol::VerifiedObject& object,
                               const ContentHash* contentHash)
    : m_object(&object) {
  const protocol::Clipping* clipping = object.payload().clipping();
  if (clipping == nullptr) return;
  m_contentHash = contentHash != nullptr ? *contentHash : protocol::contentHash(*clipping);
  protocol::SearchTermList list;
  protocol::appendSearchTerms(clipping->title, list);
  protocol::appendSearchTerms(clipping->body, list);
  const std::size_t count = list.size();
  list.bytes.append(TERM_HASH_PADDING, '\0');
  // Distinct terms in the order first seen: an open-addressing table of the top half of each
  // hash beside its index in m_terms + 1 (0: empty), so a probe compares bytes only on a match.
  std::size_t slots = 16;
  while (slots < 2 * count) slots *= 2;
  std::vector<std::uint64_t> table(slots, 0);
  m_terms.reserve(count);
  for (std::size_t t = 0; t < count; ++t) {
    const std::size_t at = list.beginOf(t);
    const std::size_t bytes = list.ends[t] - at;
    const std::uint64_t hash = termHash(list.bytes.data() + at, bytes);
    const std::uint64_t check = hash & 0xFFFF'FFFF'0000'0000ull;
    std::size_t i = hash & (slots - 1);
    for (; table[i] != 0; i = (i + 1) & (slots - 1)) {
      if ((table[i] & 0xFFFF'FFFF'0000'0000ull) != check) continue;
      const Term& seen = m_terms[(table[i] & 0xFFFF'FFFFull) - 1];
      if (seen.bytes == bytes &&
          std::memcmp(list.bytes.data() + seen.at, list.bytes.data() + at, bytes) == 0)
        break;
    }
    if (table[i] != 0) continue;
    // Title and body are bounded (protocol/text.h), far below 4 GiB.
    m_terms.push_back(
        Term{static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(bytes), hash});
    table[i] = check | m_terms.size();
  }
  m_termBytes = std::move(list.bytes);
}

PutOutcome WriteTxn::put(const protocol::VerifiedObject& object) {
  const PreparedObject prepared(object);
  return putBatch(std::span(&prepared, 1)).front();
}

std::vector<PutOutcome> WriteTxn::putBatch(
    std::span<const protocol::VerifiedObject* const> objects) {
  std::vector<PreparedObject> prepared;
  prepared.reserve(objects.size());
  for (const protocol::VerifiedObject* object : objects) prepared.emplace_back(*object);
  return putBatch(prepared);
}

std::vector<PutOutcome> WriteTxn::putBatch(std::span<const protocol::VerifiedObject> objects) {
  std::vector<PreparedObject> prepared;
  prepared.reserve(objects.size());
  for (const protocol::VerifiedObject& object : objects) prepared.emplace_back(object);
  return putBatch(prepared);
}

namespace {

/// mdb_cursor_put that remembers MDB_MAP_FULL, as putEntry.
int cursorPut(Cursor& cursor, MDB_val key, MDB_val data, unsigned flags, bool& mapFull) {
  const int rc = cursor.put(key, data, flags);
  if (rc == MDB_MAP_FULL) mapFull = true;
  return rc;
}

}  // namespace

std::vector<PutOutcome> WriteTxn::putBatch(std::span<const PreparedObject> prepared) {
  const Archive::Dbs& dbs = *m_archive.m_dbs;
  Pending& pending = *m_pending;
  bool& mapFull = pending.mapFull;
  const std::uint32_t skip = m_archive.m_options.benchmarkSkipIndexes;
  std::vector<PutOutcome> outcomes(prepared.size(), PutOutcome::Stored);
  if (prepared.empty()) return outcomes;
  std::vector<const protocol::VerifiedObject*> objects(prepared.size());
  for (std::size_t i = 0; i < prepared.size(); ++i) objects[i] = prepared[i].m_object;

  // Tombstones refuse clippings; most archives have none, and then no lookup is needed.
  MDB_stat retracted{};
  lmdb::check(::mdb_stat(m_txn, dbs[RETRACTED], &retracted), "mdb_stat(retracted)");
  std::vector<std::size_t> order;  // the objects to store, by id (then as given)
  order.reserve(objects.size());
  for (std::size_t i = 0; i < objects.size(); ++i) {
    const protocol::Payload& payload = objects[i]->payload();
    if (retracted.ms_entries != 0 && payload.clipping() != nullptr &&
        refusedByTombstone(m_txn, dbs[RETRACTED], objects[i]->id(), payload)) {
      outcomes[i] = PutOutcome::Retracted;
      continue;
    }
    order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return objects[a]->id() < objects[b]->id();
  });

  // The objects, by id through one cursor: neighbouring puts land on the same leaf.
  {
    Cursor cursor(m_txn, dbs[OBJECTS], "objects");
    const ObjectId* previous = nullptr;
    for (const std::size_t i : order) {
      const ObjectId& id = objects[i]->id();
      if (previous != nullptr && *previous == id) {
        outcomes[i] = PutOutcome::AlreadyPresent;  // given twice: stored the first time
        continue;
      }
      previous = &id;
      const int rc = cursorPut(cursor, lmdb::val(id.bytes), lmdb::val(objects[i]->bytes()),
                               MDB_NOOVERWRITE, mapFull);
      if (rc == MDB_KEYEXIST) {
        outcomes[i] = PutOutcome::AlreadyPresent;
        continue;
      }
      lmdb::check(rc, "mdb_put(objects)");
    }
  }

  // Seqs in the order given; by_seq and the full-text buffer follow them.
  if (!pending.lastSeq) {
    pending.lastSeq = readCounter(m_txn, dbs[META], META_SEQ);
    pending.firstSeq = *pending.lastSeq + 1;
  }
  IndexEntries& entries = pending.entries;
  entries.clear();
  {
    Cursor bySeq(m_txn, dbs[BY_SEQ], "by_seq");
    for (std::size_t i = 0; i < objects.size(); ++i) {
      if (outcomes[i] != PutOutcome::Stored) continue;
      const protocol::VerifiedObject& object = *objects[i];
      const protocol::Payload& payload = object.payload();
      if (*pending.lastSeq == UINT64_MAX) {
        throw Error("the archive has used up its sequence numbers");
      }
      const std::uint64_t seq = ++*pending.lastSeq;
      if ((skip & SKIP_BY_SEQ) == 0) {
        const SeqKey key = seqKey(seq);
        int rc =
            cursorPut(bySeq, lmdb::val(key), lmdb::val(object.id().bytes), MDB_APPEND, mapFull);
        if (rc == MDB_KEYEXIST) {
          throw Error(
              "the archive's sequence counter (meta \"seq\") is behind by_seq: the archive is "
              "damaged");
        }
        lmdb::check(rc, "mdb_put(by_seq)");
      }
      const bool isClipping = payload.clipping() != nullptr;
      addPlainEntries(entries, payload, object.id(),
                      isClipping ? &prepared[i].m_contentHash : nullptr, skip);
      switch (payload.kind()) {
        case protocol::Kind::Retraction:
        case protocol::Kind::KeyCert:
        case protocol::Kind::Revocation:
          pending.trustChanged = true;
          break;
        case protocol::Kind::Clipping:
        case protocol::Kind::Release:
        case protocol::Kind::ReleasePart:
        case protocol::Kind::Annotation:  // judged when read (store/annotation.h), nothing to
                                          // settle
          break;
      }
      if (!isClipping || (skip & SKIP_FULL_TEXT) != 0) continue;
      pending.terms.beginClipping(seq);
      const std::string_view termBytes = prepared[i].m_termBytes;
      for (const PreparedObject::Term& term : prepared[i].m_terms) {
        pending.terms.add(termBytes.substr(term.at, term.bytes), term.hash);
      }
    }
  }

  // Each index in key order through one cursor. Keys after the last one in the tree (by_time
  // and by_signer of new objects, by_kind, by_published within a date) are appended:
  // MDB_APPEND fills the rightmost leaf without searching the tree.
  entries.sort();
  const auto& all = entries.entries();
  ArchiveRangeIndex::SortedInsert syncIndex({m_txn, dbs[BY_TIME], dbs[SYNC_INDEX]},
                                            m_archive.m_options.syncIndexMaxChildren, mapFull);
  for (std::size_t i = 0; i < all.size();) {
    const Db db = all[i].db;
    Cursor cursor(m_txn, dbs[db], DB_NAMES[db]);
    MDB_val last{};
    std::vector<std::uint8_t> lastKey;
    const bool empty = !cursor.get(last, MDB_LAST);
    if (!empty) lastKey.assign(lmdb::bytes(last).begin(), lmdb::bytes(last).end());
    bool appending = empty;
    for (; i < all.size() && all[i].db == db; ++i) {
      const MDB_val key = entries.keyOf(all[i]);
      if (!appending) appending = IndexEntries::compareKeys(key, lmdb::val(lastKey)) > 0;
      int rc =
          cursorPut(cursor, key, entries.valueOf(all[i]), appending ? MDB_APPEND : 0u, mapFull);
      // A key given twice (a tag repeated, a member listed twice) is one entry.
      if (rc == MDB_KEYEXIST) rc = cursorPut(cursor, key, entries.valueOf(all[i]), 0, mapFull);
      if (rc != MDB_SUCCESS) lmdb::fail(std::string("mdb_put(") + DB_NAMES[db] + ")", rc);
      if (db == BY_TIME && (skip & SKIP_SYNC_INDEX) == 0) {
        // After its by_time entry, which a split of a block reads.
        const auto syncKey =
            protocol::SyncKey::fromBytes(std::span<const std::uint8_t, protocol::SYNC_KEY_BYTES>(
                static_cast<const std::uint8_t*>(key.mv_data), protocol::SYNC_KEY_BYTES));
        syncIndex.add(syncKey);
      }
    }
    if (db == BY_TIME) syncIndex.finish();
  }
  return outcomes;
}

namespace {

/// The distinct search terms of a clipping's title and body, sorted.
std::vector<std::string> termsOf(const protocol::Clipping& clipping) {
  std::vector<std::string> terms = protocol::searchTerms(clipping.title);
  std::vector<std::string> body = protocol::searchTerms(clipping.body);
  terms.insert(terms.end(), std::make_move_iterator(body.begin()),
               std::make_move_iterator(body.end()));
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  return terms;
}

bool idAtSeqIs(MDB_txn* txn, MDB_dbi bySeq, std::uint64_t seq, const ObjectId& id) {
  const SeqKey k = seqKey(seq);
  MDB_val key = lmdb::val(k);
  MDB_val data{};
  const int rc = ::mdb_get(txn, bySeq, &key, &data);
  if (rc == MDB_NOTFOUND) return false;
  lmdb::check(rc, "mdb_get(by_seq)");
  return data.mv_size == ID_BYTES && std::memcmp(data.mv_data, id.bytes.data(), ID_BYTES) == 0;
}

/// The seq of id in by_seq, walking from the newest down to (and including) lowest.
std::optional<std::uint64_t> scanForSeq(MDB_txn* txn, MDB_dbi bySeq, const ObjectId& id,
                                        std::uint64_t lowest) {
  Cursor cursor(txn, bySeq, "by_seq");
  MDB_val key{};
  MDB_val data{};
  for (bool ok = cursor.get(key, data, MDB_LAST); ok; ok = cursor.get(key, data, MDB_PREV)) {
    if (key.mv_size != SEQ_BYTES) throw Error("the sequence index (by_seq) is damaged");
    const std::uint64_t seq = getBigEndian(static_cast<const std::uint8_t*>(key.mv_data));
    if (seq < lowest) break;
    if (data.mv_size == ID_BYTES && std::memcmp(data.mv_data, id.bytes.data(), ID_BYTES) == 0) {
      return seq;
    }
  }
  return std::nullopt;
}

/// Rewrites the postings entry key (relative to base) to hold seqs, or deletes it when seqs
/// is empty, so that no key names a term nothing holds.
void rewritePostings(MDB_txn* txn, MDB_dbi dbi, Db db, const std::vector<std::uint8_t>& key,
                     std::uint64_t base, const std::vector<std::uint64_t>& seqs, bool& mapFull) {
  if (seqs.empty()) {
    deleteEntry(txn, dbi, db, lmdb::val(key), mapFull);
    return;
  }
  std::vector<std::uint8_t> value;
  encodePostings(base, seqs, value);
  putEntry(txn, dbi, db, lmdb::val(key), lmdb::val(value), 0, mapFull);
}

/// Takes seq out of the postings of term: from the chunk of terms that covers it, else from
/// its entry in the recent batch that covers it (batches: recentBatches()).
void removePosting(MDB_txn* txn, MDB_dbi termsDbi, MDB_dbi recentDbi, std::string_view term,
                   std::uint64_t seq, const std::vector<std::uint64_t>& batches, bool& mapFull) {
  std::vector<std::uint64_t> seqs;
  auto without = [&](std::uint64_t base, std::span<const std::uint8_t> postings) {
    seqs.clear();
    appendPostings(base, postings, term, seqs);
    const auto it = std::lower_bound(seqs.begin(), seqs.end(), seq);
    if (it == seqs.end() || *it != seq) return false;
    seqs.erase(it);
    return true;
  };

  // The chunk with the largest first seq <= seq.
  std::vector<std::uint8_t> key(term.begin(), term.end());
  key.push_back(0);
  const std::size_t prefixBytes = key.size();
  key.resize(prefixBytes + SEQ_BYTES);
  putBigEndian(key.data() + prefixBytes, seq);
  bool found = false;
  std::uint64_t base = 0;
  {
    Cursor cursor(txn, termsDbi, "terms");
    MDB_val k{};
    MDB_val data{};
    if (cursor.seekLastAtMost(k, key) && k.mv_size == key.size() &&
        lmdb::startsWith(k, std::span<const std::uint8_t>(key.data(), prefixBytes)) &&
        cursor.get(k, data, MDB_GET_CURRENT)) {
      base = getBigEndian(static_cast<const std::uint8_t*>(k.mv_data) + prefixBytes);
      found = without(base, lmdb::bytes(data));  // copies out before anything is written
    }
  }
  if (found) {
    putBigEndian(key.data() + prefixBytes, base);
    rewritePostings(txn, termsDbi, TERMS, key, base, seqs, mapFull);
    return;
  }

  // The recent batch with the largest first seq <= seq.
  const auto after = std::upper_bound(batches.begin(), batches.end(), seq);
  if (after != batches.begin()) {
    base = *(after - 1);
    key.assign(SEQ_BYTES, 0);
    putBigEndian(key.data(), base);
    key.insert(key.end(), term.begin(), term.end());
    MDB_val k = lmdb::val(key);
    MDB_val data{};
    const int rc = ::mdb_get(txn, recentDbi, &k, &data);
    if (rc != MDB_NOTFOUND) {
      lmdb::check(rc, "mdb_get(terms_recent)");
      if (without(base, lmdb::bytes(data))) {
        rewritePostings(txn, recentDbi, TERMS_RECENT, key, base, seqs, mapFull);
        return;
      }
    }
  }
  damagedIndex(term);
}

}  // namespace

bool WriteTxn::remove(const ObjectId& id) {
  const Archive::Dbs& dbs = *m_archive.m_dbs;
  Pending& pending = *m_pending;
  bool& mapFull = pending.mapFull;
  const auto stored = getObject(m_txn, dbs[OBJECTS], id);
  if (!stored) return false;
  // A copy: the view dies with the first delete below.
  const protocol::DecodedObject decoded = decodeStored(id, *stored);
  const protocol::Payload& payload = decoded.payload;
  const protocol::Clipping* clipping = payload.clipping();
  const std::vector<std::string> terms =
      clipping != nullptr ? termsOf(*clipping) : std::vector<std::string>{};
  const std::vector<std::uint64_t> batches =
      clipping != nullptr ? recentBatches(m_txn, dbs[TERMS_RECENT]) : std::vector<std::uint64_t>{};

  // Its seq. Stored in this batch: among the batch's seqs. Else a clipping's seq is one that
  // every one of its terms lists: a few terms' postings narrow it to a handful. Other kinds
  // (few) and a clipping without terms: a walk of by_seq.
  std::optional<std::uint64_t> seq;
  if (pending.lastSeq && *pending.lastSeq >= pending.firstSeq) {
    seq = scanForSeq(m_txn, dbs[BY_SEQ], id, pending.firstSeq);
  }
  if (!seq && !terms.empty()) {
    std::vector<std::uint64_t> candidates;
    for (std::size_t t = 0; t < terms.size(); ++t) {
      std::vector<std::uint64_t> seqs =
          termSeqs(m_txn, dbs[TERMS], dbs[TERMS_RECENT], terms[t], batches);
      candidates = t == 0 ? std::move(seqs)
                          : intersect(candidates.size() < seqs.size() ? candidates : seqs,
                                      candidates.size() < seqs.size() ? seqs : candidates);
      if (candidates.size() <= 4) break;
    }
    for (const std::uint64_t candidate : candidates) {
      if (idAtSeqIs(m_txn, dbs[BY_SEQ], candidate, id)) seq = candidate;
    }
  }
  if (!seq) seq = scanForSeq(m_txn, dbs[BY_SEQ], id, 0);
  if (!seq) throw Error("the sequence index (by_seq) has no entry for " + id.hex());

  {
    MDB_val key = lmdb::val(id.bytes);
    deleteEntry(m_txn, dbs[OBJECTS], OBJECTS, key, mapFull);
  }
  const SeqKey bySeqKey = seqKey(*seq);
  deleteEntry(m_txn, dbs[BY_SEQ], BY_SEQ, lmdb::val(bySeqKey), mapFull);
  // A repeated tag is one entry: its second delete finds nothing.
  IndexEntries entries;
  addPlainEntries(entries, payload, id, nullptr);
  for (const IndexEntries::Entry& entry : entries.entries()) {
    deleteEntry(m_txn, dbs[entry.db], entry.db, entries.keyOf(entry), mapFull);
  }
  ArchiveRangeIndex::erase({m_txn, dbs[BY_TIME], dbs[SYNC_INDEX]}, {payload.signedAt, id}, mapFull);
  pending.removed = true;
  if (clipping != nullptr && !pending.terms.dropClipping(*seq)) {
    for (const std::string& term : terms) {
      removePosting(m_txn, dbs[TERMS], dbs[TERMS_RECENT], term, *seq, batches, mapFull);
    }
  }
  return true;
}

void WriteTxn::rebuildSyncIndex() {
  const Archive::Dbs& dbs = *m_archive.m_dbs;
  ArchiveRangeIndex::rebuild({m_txn, dbs[BY_TIME], dbs[SYNC_INDEX]},
                             m_archive.m_options.syncIndexMaxChildren, m_pending->mapFull);
}

void WriteTxn::rekeyTags() {
  const Archive::Dbs& dbs = *m_archive.m_dbs;
  bool& mapFull = m_pending->mapFull;
  // The keys of the old layout, copied out first: the rewrite moves pages.
  std::vector<std::vector<std::uint8_t>> old;
  {
    Cursor cursor(m_txn, dbs[BY_TAG], "by_tag");
    MDB_val key{};
    for (bool ok = cursor.get(key, MDB_FIRST); ok; ok = cursor.get(key, MDB_NEXT)) {
      const auto bytes = lmdb::bytes(key);
      const auto zero = std::find(bytes.begin(), bytes.end(), std::uint8_t{0});
      const auto after = static_cast<std::size_t>(bytes.end() - zero);  // the 0x00 and what follows
      if (after == 1 + ID_BYTES) {
        old.emplace_back(bytes.begin(), bytes.end());
      } else if (after != 1 + TIME_BYTES + ID_BYTES) {
        throw Error("the tag index (by_tag) is damaged");
      }
    }
  }
  std::vector<std::uint8_t> rekeyed;
  for (const std::vector<std::uint8_t>& key : old) {
    const ObjectId id = idAtEnd(lmdb::val(key));
    deleteEntry(m_txn, dbs[BY_TAG], BY_TAG, lmdb::val(key), mapFull);
    const auto stored = getObject(m_txn, dbs[OBJECTS], id);
    if (!stored) continue;  // it named nothing: list would have refused it
    const protocol::DecodedObject decoded = decodeStored(id, *stored);  // copied out
    const auto timeKey = timeKeyOf(decoded.payload, id);
    rekeyed.assign(key.begin(), key.end() - ID_BYTES);
    rekeyed.insert(rekeyed.end(), timeKey.begin(), timeKey.end());
    putEntry(m_txn, dbs[BY_TAG], BY_TAG, lmdb::val(rekeyed), MDB_val{0, nullptr}, 0, mapFull);
  }
}

void WriteTxn::setAnchor(const protocol::Anchor& anchor) {
  // Value: 'c' (coordinator) or 'f' (field), then the name.
  std::string value(1, anchor.role == protocol::Role::Coordinator ? 'c' : 'f');
  value += anchor.name;
  MDB_val key = lmdb::val(anchor.key.bytes);
  MDB_val data = lmdb::val(value);
  putEntry(m_txn, (*m_archive.m_dbs)[KEYS], KEYS, key, data, 0, m_pending->mapFull);
  m_pending->trustChanged = true;
}

bool WriteTxn::removeAnchor(const PublicKey& key) {
  MDB_val k = lmdb::val(key.bytes);
  const int rc = ::mdb_del(m_txn, (*m_archive.m_dbs)[KEYS], &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  lmdb::check(rc, "mdb_del(keys)");
  m_pending->trustChanged = true;
  return true;
}

ReadTxn WriteTxn::reader() const { return ReadTxn(m_archive, m_txn, /*owns=*/false); }

bool WriteTxn::trustChanged() const { return m_pending->trustChanged; }

void WriteTxn::addTombstone(const ObjectId& clipping, const ObjectId& retraction,
                            std::optional<PublicKey> onlyIfSignedBy) {
  std::array<std::uint8_t, CLIPPING_TOMBSTONE_BYTES> key{TOMBSTONE_CLIPPING};
  std::memcpy(key.data() + 1, clipping.bytes.data(), ID_BYTES);
  std::memcpy(key.data() + 1 + ID_BYTES, retraction.bytes.data(), ID_BYTES);
  const MDB_val value = onlyIfSignedBy ? lmdb::val(onlyIfSignedBy->bytes) : MDB_val{0, nullptr};
  putEntry(m_txn, (*m_archive.m_dbs)[RETRACTED], RETRACTED, lmdb::val(key), value, 0,
           m_pending->mapFull);
}

void WriteTxn::addSignerTombstone(const PublicKey& subject, std::int64_t since,
                                  const ObjectId& retraction) {
  std::array<std::uint8_t, SIGNER_TOMBSTONE_BYTES> key{TOMBSTONE_SIGNER};
  std::memcpy(key.data() + 1, subject.bytes.data(), protocol::PUBLIC_KEY_BYTES);
  putTime(key.data() + 1 + protocol::PUBLIC_KEY_BYTES, since);
  std::memcpy(key.data() + 1 + protocol::PUBLIC_KEY_BYTES + TIME_BYTES, retraction.bytes.data(),
              ID_BYTES);
  putEntry(m_txn, (*m_archive.m_dbs)[RETRACTED], RETRACTED, lmdb::val(key), MDB_val{0, nullptr}, 0,
           m_pending->mapFull);
}

std::optional<Tombstone> WriteTxn::tombstone(const ObjectId& clipping) const {
  return strongestTombstone(m_txn, (*m_archive.m_dbs)[RETRACTED], clipping);
}

std::optional<ObjectId> WriteTxn::signerTombstone(const PublicKey& signer,
                                                  std::int64_t signedAt) const {
  return findSignerTombstone(m_txn, (*m_archive.m_dbs)[RETRACTED], signer, signedAt);
}

MDB_dbi PeersAccess::dbi(const Archive& archive) { return (*archive.m_dbs)[PEERS]; }
MDB_dbi PeersAccess::metaDbi(const Archive& archive) { return (*archive.m_dbs)[META]; }

void PeersAccess::put(WriteTxn& write, MDB_val key, MDB_val data) {
  putEntry(write.m_txn, dbi(write), PEERS, key, data, 0, write.m_pending->mapFull);
}

std::vector<ReleaseEntry> WriteTxn::releases(std::string_view name,
                                             std::optional<std::uint64_t> sequence) const {
  return releaseEntries(m_txn, (*m_archive.m_dbs)[BY_RELEASE], name, sequence);
}

bool WriteTxn::contains(const ObjectId& id) const {
  return getObject(m_txn, (*m_archive.m_dbs)[OBJECTS], id).has_value();
}

std::optional<ObjectId> WriteTxn::findByContent(const ContentHash& hash,
                                                const PublicKey& signer) const {
  return findContent(m_txn, (*m_archive.m_dbs)[BY_CONTENT], hash, signer);
}

void WriteTxn::setMeta(std::string_view key, std::string_view value) {
  checkMetaKey(key);
  putEntry(m_txn, (*m_archive.m_dbs)[META], META, lmdb::val(key), lmdb::val(value), 0,
           m_pending->mapFull);
}

std::optional<std::string> WriteTxn::getMeta(std::string_view key) const {
  checkMetaKey(key);
  return readMeta(m_txn, (*m_archive.m_dbs)[META], key);
}

void WriteTxn::flush() {
  Pending& pending = *m_pending;
  if (pending.trustChanged && !pending.settled) {
    pending.settled = true;  // once: its own writes do not settle again
    settleRetractions(*this);
  }
  const Archive::Dbs& metaDbs = *m_archive.m_dbs;
  pending.scrubThrough = readCounter(m_txn, metaDbs[META], META_SCRUB);
  if (pending.removed) {
    // The pages this transaction frees, and those it writes that the next one frees.
    pending.scrubThrough = std::max<std::uint64_t>(pending.scrubThrough, ::mdb_txn_id(m_txn) + 1);
    setMeta(META_SCRUB, std::to_string(pending.scrubThrough));
  }
  if (!pending.lastSeq) return;  // nothing stored
  setMeta(META_SEQ, std::to_string(*pending.lastSeq));
  if (pending.terms.empty()) return;

  // One entry per distinct term under the batch's first seq, which is larger than every key
  // in terms_recent and no larger than any seq of the batch: appended in key order, the
  // entries only add pages at the right edge of the tree.
  const Archive::Dbs& dbs = *m_archive.m_dbs;
  const std::uint64_t batch = pending.firstSeq;
  std::vector<std::uint8_t> key(SEQ_BYTES);
  putBigEndian(key.data(), batch);
  std::vector<std::uint8_t> value;
  pending.terms.forEachTerm([&](std::string_view term, std::span<const std::uint64_t> seqs) {
    key.resize(SEQ_BYTES);
    key.insert(key.end(), term.begin(), term.end());
    value.clear();
    encodePostings(batch, seqs, value);
    appendEntry(m_txn, dbs[TERMS_RECENT], TERMS_RECENT, lmdb::val(key), lmdb::val(value),
                pending.mapFull);
  });
  pending.terms.clear();

  const std::uint64_t batches = readCounter(m_txn, dbs[META], META_RECENT_BATCHES) + 1;
  MDB_stat stat{};
  lmdb::check(::mdb_stat(m_txn, dbs[TERMS_RECENT], &stat), "mdb_stat(terms_recent)");
  const std::uint64_t bytes = std::uint64_t{stat.ms_psize} *
                              (stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages);
  const Options& options = m_archive.m_options;
  if (batches >= options.termsMergeBatches || bytes >= options.termsMergeBytes) {
    mergeRecentTerms();
  } else {
    setMeta(META_RECENT_BATCHES, std::to_string(batches));
  }
}

void WriteTxn::mergeRecentTerms() {
  const Archive::Dbs& dbs = *m_archive.m_dbs;
  Pending& pending = *m_pending;

  // Copy terms_recent out first: writing to terms may spill dirty pages, and the views of
  // this transaction's own entries would then dangle. Its entries come in (batch, term)
  // order: one run of ascending terms per batch.
  struct Entry {
    std::size_t term;  // offset in bytes; the postings follow the term
    std::uint32_t termBytes;
    std::uint32_t postingsBytes;
  };
  struct Run {
    std::uint64_t batch;
    std::size_t next;  // its next entry
    std::size_t end;
  };
  std::vector<std::uint8_t> bytes;
  std::vector<Entry> entries;
  std::vector<Run> runs;
  {
    Cursor cursor(m_txn, dbs[TERMS_RECENT], "terms_recent");
    MDB_val key{};
    MDB_val data{};
    for (bool ok = cursor.get(key, data, MDB_FIRST); ok; ok = cursor.get(key, data, MDB_NEXT)) {
      if (key.mv_size <= SEQ_BYTES) throw Error("the search index (terms_recent) is damaged");
      const auto* k = static_cast<const std::uint8_t*>(key.mv_data);
      const std::uint64_t batch = getBigEndian(k);
      if (runs.empty() || runs.back().batch != batch) {
        runs.push_back(Run{batch, entries.size(), entries.size()});
      }
      entries.push_back(Entry{bytes.size(), static_cast<std::uint32_t>(key.mv_size - SEQ_BYTES),
                              static_cast<std::uint32_t>(data.mv_size)});
      ++runs.back().end;
      bytes.insert(bytes.end(), k + SEQ_BYTES, k + key.mv_size);
      const auto d = lmdb::bytes(data);
      bytes.insert(bytes.end(), d.begin(), d.end());
    }
  }
  auto termOf = [&](const Entry& e) {
    return std::string_view(reinterpret_cast<const char*>(bytes.data() + e.term), e.termBytes);
  };

  // A k-way merge of the runs by term; among equal terms the earlier batch (run) first, so
  // each term's seqs come out ascending. One new chunk per term.
  auto after = [&](std::size_t a, std::size_t b) {
    const std::string_view ta = termOf(entries[runs[a].next]);
    const std::string_view tb = termOf(entries[runs[b].next]);
    return ta != tb ? ta > tb : a > b;
  };
  std::vector<std::size_t> heap;
  for (std::size_t r = 0; r < runs.size(); ++r) heap.push_back(r);
  std::make_heap(heap.begin(), heap.end(), after);
  std::vector<std::uint64_t> seqs;
  std::vector<std::uint8_t> key;
  std::vector<std::uint8_t> value;
  while (!heap.empty()) {
    const std::string_view term = termOf(entries[runs[heap.front()].next]);
    seqs.clear();
    while (!heap.empty() && termOf(entries[runs[heap.front()].next]) == term) {
      std::pop_heap(heap.begin(), heap.end(), after);
      Run& run = runs[heap.back()];
      const Entry& entry = entries[run.next];
      const std::span<const std::uint8_t> postings(bytes.data() + entry.term + entry.termBytes,
                                                   entry.postingsBytes);
      appendPostings(run.batch, postings, term, seqs);
      if (++run.next == run.end) {
        heap.pop_back();
      } else {
        std::push_heap(heap.begin(), heap.end(), after);
      }
    }
    key.assign(term.begin(), term.end());
    key.push_back(0);
    key.resize(key.size() + SEQ_BYTES);
    putBigEndian(key.data() + key.size() - SEQ_BYTES, seqs.front());
    value.clear();
    encodePostings(seqs.front(), seqs, value);
    putEntry(m_txn, dbs[TERMS], TERMS, lmdb::val(key), lmdb::val(value), MDB_NOOVERWRITE,
             pending.mapFull);
  }

  const int rc = ::mdb_drop(m_txn, dbs[TERMS_RECENT], 0);
  if (rc == MDB_MAP_FULL) pending.mapFull = true;
  lmdb::check(rc, "mdb_drop(terms_recent)");
  setMeta(META_RECENT_BATCHES, "0");
}

// --- Scrubbing what was removed (store/scrub.h) ---------------------------------------------

Archive::ScrubStats Archive::scrubStats() const {
  ScrubStats stats = m_scrub;
  const ReadTxn txn = beginRead();
  stats.pending = readCounter(txn.m_txn, (*m_dbs)[META], META_SCRUB) != 0;
  return stats;
}

bool Archive::reopenIfIdle() {
  Gate& gate = *m_gate;
  std::lock_guard lock(gate.mutex);
  if (gate.resizing || gate.beginning != 0 || !gate.live.empty()) return false;
  // Held under the gate's mutex: no transaction can begin until the environment is back.
  MDB_envinfo info{};
  lmdb::check(::mdb_env_info(m_env, &info), "mdb_env_info");
  ::mdb_env_close(m_env);
  m_env = nullptr;
  lmdb::check(::mdb_env_create(&m_env), "mdb_env_create");
  lmdb::check(::mdb_env_set_maxdbs(m_env, static_cast<MDB_dbi>(DB_NAMES.size())),
              "mdb_env_set_maxdbs");
  lmdb::check(::mdb_env_set_mapsize(m_env, info.me_mapsize), "mdb_env_set_mapsize");
  lmdb::check(::mdb_env_open(m_env, m_options.dir.c_str(), MDB_NOTLS, 0600),
              "mdb_env_open(" + m_options.dir.string() + ")");
  MDB_txn* txn = nullptr;
  lmdb::check(::mdb_txn_begin(m_env, nullptr, MDB_RDONLY, &txn), "mdb_txn_begin(read)");
  lmdb::Txn owned(txn);  // its commit keeps the handles it opened
  for (std::size_t db = 0; db < DB_NAMES.size(); ++db) {
    if (db == RETRACTED && !m_dbs->hasRetracted) continue;
    if (db == BY_TARGET && !m_dbs->hasByTarget) continue;
    lmdb::check(::mdb_dbi_open(txn, DB_NAMES[db], 0, &m_dbs->dbi[db]),
                std::string("mdb_dbi_open(") + DB_NAMES[db] + ")");
  }
  owned.commit();
  return true;
}

void Archive::scrub(std::uint64_t through, bool removedNow) {
  if (removedNow) m_staleBuffers = true;
  // A reopen drops LMDB's page buffers, which may hold removed bytes and would otherwise be
  // written again into the unused middle of later pages. Its errors leave no usable archive:
  // they are thrown. Those of the scrub itself only leave it owed.
  bool reopened = false;
  if (m_staleBuffers && reopenIfIdle()) {
    m_staleBuffers = false;
    reopened = true;
    MDB_envinfo info{};
    lmdb::check(::mdb_env_info(m_env, &info), "mdb_env_info");
    // Pages written before the reopen may hold stale bytes: the next transaction frees some.
    through = std::max<std::uint64_t>(through, info.me_last_txnid + 1);
  }
  try {
    auto commitTick = [&] {
      MDB_txn* txn = beginTxn(0);
      bool open = true;
      ScopeExit end([&] {
        if (open) finishTxn(txn, false);
      });
      const std::string value = std::to_string(::mdb_txn_id(txn));
      MDB_val key = lmdb::val(META_SCRUB_TICK);
      MDB_val data = lmdb::val(value);
      lmdb::check(::mdb_put(txn, (*m_dbs)[META], &key, &data, 0), "mdb_put(meta)");
      open = false;
      lmdb::check(finishTxn(txn, true), "mdb_txn_commit");
    };
    if (reopened || removedNow) {
      // LMDB reuses (and so may we overwrite) only pages freed before the transaction
      // before the current one: two commits bring the removal's pages within reach.
      commitTick();
      commitTick();
    }
    MDB_txn* txn = beginTxn(0);
    bool open = true;
    ScopeExit end([&] {
      if (open) finishTxn(txn, false);
    });
    const ScrubReport report = scrubFile(
        m_env, txn, through, [&] { return beginTxn(MDB_RDONLY); },
        [&](MDB_txn* read) { finishTxn(read, false); });
    ++m_scrub.passes;
    m_scrub.bytesZeroed = report.bytesZeroed;
    m_scrub.pagesHeld = report.freePagesHeld;
    MDB_val key = lmdb::val(META_SCRUB);
    if (report.complete && !m_staleBuffers) {
      const int rc = ::mdb_del(txn, (*m_dbs)[META], &key, nullptr);
      if (rc != MDB_NOTFOUND) lmdb::check(rc, "mdb_del(meta)");
    } else {
      const std::string value = std::to_string(through);
      MDB_val data = lmdb::val(value);
      lmdb::check(::mdb_put(txn, (*m_dbs)[META], &key, &data, 0), "mdb_put(meta)");
    }
    open = false;
    lmdb::check(finishTxn(txn, true), "mdb_txn_commit");
  } catch (const Error&) {
    // Owed still (meta "scrub.through" stays): the next write() scrubs again.
  }
}

// --- Archive::write -------------------------------------------------------------------------

std::uint64_t Archive::pagesInUse(MDB_txn* txn) const {
  std::uint64_t pages = 0;
  bool known = true;
  auto add = [&](MDB_dbi dbi) {
    MDB_stat stat{};
    // Fails on a transaction a failed put has marked broken: then the size is unknown.
    if (::mdb_stat(txn, dbi, &stat) != MDB_SUCCESS) known = false;
    pages += stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages;
  };
  add(0);  // the free list
  add(1);  // the main database, which names the others
  for (const MDB_dbi dbi : m_dbs->dbi) add(dbi);
  return known ? pages : 0;
}

std::uint64_t Archive::bytesAdded(std::uint64_t pagesBefore, MDB_txn* txn) const {
  MDB_stat stat{};
  const std::uint64_t pageBytes = ::mdb_stat(txn, 1, &stat) == MDB_SUCCESS ? stat.ms_psize : 4096u;
  const std::uint64_t pagesAfter = pagesInUse(txn);
  if (pagesBefore == 0 || pagesAfter == 0) return 0;  // unknown
  // At least a page: a commit writes its meta page and the pages it touched.
  return std::max<std::uint64_t>(pagesAfter > pagesBefore ? pagesAfter - pagesBefore : 0, 1) *
         pageBytes;
}

bool Archive::isDiskCode(int rc, std::uint64_t adds) const {
  if (rc == ENOSPC || rc == EDQUOT) return true;
  // LMDB reports a short write (a disk that filled during the write) as EIO. Taken as a full
  // disk when the disk has less room than the write adds, or nearly none.
  if (rc != EIO) return false;
  const auto free = freeBytesAt(m_options.dir);
  return free && (*free < adds || *free < (16u << 20));
}

void Archive::throwDiskFull(std::uint64_t adds) const {
  throw DiskFull(m_options.dir, freeBytesAt(m_options.dir).value_or(0), adds,
                 "this write to the archive");
}

void Archive::write(const std::function<void(WriteTxn&)>& batch) {
  if (m_options.readOnly) {
    throw Error("the archive at " + m_options.dir.string() + " is open read-only");
  }
  {
    // Checked before taking the writer lock: waiting for it while holding a read could
    // deadlock against a writer whose map growth waits for that read. Also refuses a write()
    // nested in a batch.
    std::lock_guard lock(m_gate->mutex);
    if (m_gate->heldByThisThread()) {
      throw Error("write() called while this thread holds a transaction of " +
                  m_options.dir.string() + ": end the ReadTxn first");
    }
  }
  std::lock_guard writer(m_gate->writer);
  checkLock();
  for (;;) {
    MDB_txn* txn = beginTxn(0);
    bool open = true;
    ScopeExit end([&] {
      if (open) finishTxn(txn, false);
    });
    WriteTxn writeTxn(*this, txn);
    const std::uint64_t pagesBefore = pagesInUse(txn);
    try {
      batch(writeTxn);
      writeTxn.flush();
    } catch (const lmdb::LmdbError& e) {
      // A put that wrote spilled pages to a full disk; the scope aborts the transaction.
      if (!writeTxn.m_pending->mapFull) {
        const std::uint64_t adds = bytesAdded(pagesBefore, txn);
        if (isDiskCode(e.code(), adds)) throwDiskFull(adds);
        throw;
      }
    } catch (...) {
      // A full map, even one the batch caught and replaced by its own error, means: grow and
      // run the batch again. Anything else is the caller's; the scope aborts the transaction.
      if (!writeTxn.m_pending->mapFull) throw;
    }
    if (!writeTxn.m_pending->mapFull) {
      // What the commit will add to the file, for a DiskFull message: the commit frees the
      // transaction whether or not it succeeds, so it is measured now.
      const std::uint64_t adds = bytesAdded(pagesBefore, txn);
      checkLock();  // a lock replaced during the batch: the scope aborts the transaction
      open = false;
      const std::uint64_t scrubThrough = writeTxn.m_pending->scrubThrough;
      const bool removed = writeTxn.m_pending->removed;
      const int rc = finishTxn(txn, true);
      if (rc == MDB_SUCCESS) {
        if (scrubThrough != 0) scrub(scrubThrough, removed);
        return;
      }
      if (isDiskCode(rc, adds)) throwDiskFull(adds);
      if (rc != MDB_MAP_FULL) lmdb::fail("mdb_txn_commit", rc);
    } else {
      open = false;
      finishTxn(txn, false);
    }
    remap(true);  // no transaction of ours is live now; double the map and run batch again
  }
}

void Archive::checkLock() const {
  if (m_options.readOnly || !m_lock) return;
  if (!m_lockLost.load()) {
    if (identityOf(m_options.dir / "lock.mdb") == m_lock) return;
    m_lockLost = true;
  }
  throw Error("the archive's lock file " + (m_options.dir / "lock.mdb").string() +
              " was deleted or replaced while this process had the archive open: another "
              "process may now write the archive under another lock, so this one writes no "
              "more (nothing it acknowledged is lost). Stop every fieldsync process using this "
              "home (serve, sync, import), then start again");
}

}  // namespace fieldsync::store
