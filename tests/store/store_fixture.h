#pragma once
// Test support for store/ tests: a temporary archive folder that removes itself, fixed keys,
// and clippings signed for real.

#include <gtest/gtest.h>
#include <lmdb.h>
#include <stdlib.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "protocol/clipping.h"
#include "protocol/keys.h"
#include "protocol/object.h"
#include "store/archive.h"

namespace fieldsync::store::testing {

/// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "fieldsync-store-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    m_path = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

/// The key whose seed is 32 copies of n: the same key in every run.
inline protocol::SecretKey keyNumber(std::uint8_t n) {
  std::array<std::uint8_t, protocol::SEED_BYTES> seed{};
  seed.fill(n);
  return protocol::SecretKey::fromSeed(seed);
}

inline protocol::Clipping clipping(std::string title, std::string body = "",
                                   std::string published = "", std::vector<std::string> tags = {},
                                   std::string source = "") {
  protocol::Clipping c;
  c.title = std::move(title);
  c.body = std::move(body);
  c.published = std::move(published);
  c.tags = std::move(tags);
  c.source = std::move(source);
  return c;
}

inline protocol::VerifiedObject signBody(const protocol::SecretKey& key, protocol::Body body,
                                         std::int64_t signedAt) {
  protocol::Payload payload;
  payload.signedAt = signedAt;
  payload.body = std::move(body);
  auto signedObject = protocol::sign(std::move(payload), key);
  if (!signedObject) throw std::runtime_error("sign: " + signedObject.error().message());
  return std::move(signedObject).value();
}

/// Options with a small initial map, for tests of map growth.
inline Options smallMap(std::size_t initialMapBytes) {
  Options options;
  options.initialMapBytes = initialMapBytes;
  return options;
}

/// Options that merge the full-text index's recent tier into its chunks every few batches,
/// so a test with a handful of batches goes through both tiers and the merge.
inline Options mergeEvery(std::size_t batches) {
  Options options;
  options.termsMergeBatches = batches;
  return options;
}

/// An archive in its own temporary folder, opened with options (dir and create are set here).
struct TempArchive {
  explicit TempArchive(Options wanted = {}) : options(std::move(wanted)) {
    options.dir = dir.path() / "archive";
    options.create = true;
    archive = Archive::open(options);
  }
  explicit TempArchive(std::size_t initialMapBytes) : TempArchive(smallMap(initialMapBytes)) {}
  /// Closes and opens the archive again, as a later command would, with the same options
  /// but create, or with changed ones.
  void reopen() { reopen(options); }
  void reopen(Options changed) {
    options = std::move(changed);
    options.dir = dir.path() / "archive";
    options.create = false;
    archive.reset();
    archive = Archive::open(options);
  }
  std::vector<ObjectId> putAll(const std::vector<protocol::VerifiedObject>& objects) {
    std::vector<ObjectId> ids;
    archive->write([&](WriteTxn& txn) {
      ids.clear();
      for (const auto& object : objects) {
        EXPECT_EQ(txn.put(object), PutOutcome::Stored);
        ids.push_back(object.id());
      }
    });
    return ids;
  }
  std::uint64_t count() const { return archive->beginRead().count(); }

  TempDir dir;  // declared first: outlives the archive
  Options options;
  std::unique_ptr<Archive> archive;
};

/// dir's archive (closed) opened through LMDB itself, in one transaction: for tests that read
/// it beside the store, or write it as an older release (or damage) would have. What is not
/// committed is aborted. An LMDB failure throws, naming the call.
class RawArchive {
 public:
  enum class Mode { Read, Write };
  explicit RawArchive(const std::filesystem::path& dir, Mode mode = Mode::Write) {
    const unsigned flags = mode == Mode::Read ? MDB_RDONLY : 0;
    try {
      check(mdb_env_create(&m_env), "mdb_env_create");
      check(mdb_env_set_maxdbs(m_env, 32), "mdb_env_set_maxdbs");
      check(mdb_env_open(m_env, dir.c_str(), flags, 0600), "mdb_env_open");
      check(mdb_txn_begin(m_env, nullptr, flags, &m_txn), "mdb_txn_begin");
    } catch (...) {
      if (m_env != nullptr) mdb_env_close(m_env);
      throw;
    }
  }
  ~RawArchive() {
    if (m_txn != nullptr) mdb_txn_abort(m_txn);
    mdb_env_close(m_env);
  }
  RawArchive(const RawArchive&) = delete;
  RawArchive& operator=(const RawArchive&) = delete;

  MDB_txn* txn() const { return m_txn; }
  MDB_dbi open(const std::string& database) {
    MDB_dbi dbi = 0;
    check(mdb_dbi_open(m_txn, database.c_str(), 0, &dbi), "mdb_dbi_open(" + database + ")");
    return dbi;
  }
  /// key and value: contiguous bytes (a std::string, a std::vector or std::array of bytes).
  template <typename Key, typename Value>
  void put(const std::string& database, const Key& key, const Value& value) {
    MDB_val k{std::size(key), const_cast<void*>(static_cast<const void*>(std::data(key)))};
    MDB_val v{std::size(value), const_cast<void*>(static_cast<const void*>(std::data(value)))};
    check(mdb_put(m_txn, open(database), &k, &v, 0), "mdb_put(" + database + ")");
  }
  void commit() { check(mdb_txn_commit(std::exchange(m_txn, nullptr)), "mdb_txn_commit"); }

 private:
  static void check(int rc, const std::string& call) {
    if (rc != 0) throw std::runtime_error(call + ": " + mdb_strerror(rc));
  }
  MDB_env* m_env = nullptr;
  MDB_txn* m_txn = nullptr;
};

/// Overwrites the stored bytes of id with bytes, through LMDB itself, the archive closed.
inline void overwriteStoredBytes(const std::filesystem::path& dir, const ObjectId& id,
                                 std::vector<std::uint8_t> bytes) {
  RawArchive raw(dir);
  raw.put("objects", id.bytes, bytes);
  raw.commit();
}

/// Makes dir's archive (closed) one an older release wrote, through LMDB itself: `database`
/// (which that release did not have) dropped, or only emptied with keepEmpty, as a migration
/// that did not commit leaves it; the meta "schema" set to schema.
inline void downgradeSchema(const std::filesystem::path& dir, const std::string& database,
                            std::string schema, bool keepEmpty = false) {
  RawArchive raw(dir);
  ASSERT_EQ(mdb_drop(raw.txn(), raw.open(database), keepEmpty ? 0 : 1), 0);
  raw.put("meta", std::string("schema"), schema);
  raw.commit();
}

}  // namespace fieldsync::store::testing
