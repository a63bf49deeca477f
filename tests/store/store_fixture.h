#pragma once
// Test support for store/ tests: a temporary archive folder that removes itself, fixed keys,
// and clippings signed for real.

#include <gtest/gtest.h>
#include <lmdb.h>
#include <stdlib.h>

#include <array>
#include <cstdint>
#include <filesystem>
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

/// Overwrites the stored bytes of id with bytes, through LMDB itself, the archive closed.
inline void overwriteStoredBytes(const std::filesystem::path& dir, const ObjectId& id,
                                 std::vector<std::uint8_t> bytes) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 32), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi = 0;
  ASSERT_EQ(mdb_dbi_open(txn, "objects", 0, &dbi), 0);
  MDB_val key{id.bytes.size(), const_cast<std::uint8_t*>(id.bytes.data())};
  MDB_val data{bytes.size(), bytes.data()};
  ASSERT_EQ(mdb_put(txn, dbi, &key, &data, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

/// Makes dir's archive (closed) one an older release wrote, through LMDB itself: `database`
/// (which that release did not have) dropped, or only emptied with keepEmpty, as a migration
/// that did not commit leaves it; the meta "schema" set to schema.
inline void downgradeSchema(const std::filesystem::path& dir, const std::string& database,
                            std::string schema, bool keepEmpty = false) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 32), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dropped = 0;
  ASSERT_EQ(mdb_dbi_open(txn, database.c_str(), 0, &dropped), 0);
  ASSERT_EQ(mdb_drop(txn, dropped, keepEmpty ? 0 : 1), 0);
  MDB_dbi meta = 0;
  ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
  std::string name = "schema";
  MDB_val key{name.size(), name.data()};
  MDB_val data{schema.size(), schema.data()};
  ASSERT_EQ(mdb_put(txn, meta, &key, &data, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

}  // namespace fieldsync::store::testing
