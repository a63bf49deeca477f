#pragma once
// Internal to store/: thin RAII owners for LMDB's C handles and the conversion of every
// mdb_* failure into fieldsync::Error. Never include this from a public header.
// Threads: as LMDB's: a write transaction and its cursors stay on the thread that began them.
// Lifetime: a Cursor must die before its transaction; MDB_val views die with the transaction.

#include <lmdb.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/error.h"

namespace fieldsync::store::lmdb {

/// An LMDB failure: what() reads "<call>: <mdb_strerror>", code() keeps the return code so
/// the writer can tell MDB_MAP_FULL (grow and retry) from everything else.
class LmdbError : public Error {
 public:
  LmdbError(std::string what, int code, Action action)
      : Error(std::move(what), action), m_code(code) {}
  int code() const { return m_code; }

 private:
  int m_code;
};

/// Throws LmdbError for rc. call names the failing call and, where useful, the database:
/// "mdb_put(objects)".
[[noreturn]] inline void fail(std::string_view call, int rc) {
  // Full map or reader table: the caller can try again later; the rest is fatal here.
  const Action action = (rc == MDB_MAP_FULL || rc == MDB_READERS_FULL || rc == MDB_TXN_FULL)
                            ? Action::BackOff
                            : Action::Fail;
  throw LmdbError(std::string(call) + ": " + ::mdb_strerror(rc), rc, action);
}

inline void check(int rc, std::string_view call) {
  if (rc != MDB_SUCCESS) fail(call, rc);
}

inline MDB_val val(std::span<const std::uint8_t> bytes) {
  return MDB_val{bytes.size(), const_cast<std::uint8_t*>(bytes.data())};
}
inline MDB_val val(std::string_view text) {
  return MDB_val{text.size(), const_cast<char*>(text.data())};
}
/// A view of v; valid until the transaction that produced it ends.
inline std::span<const std::uint8_t> bytes(const MDB_val& v) {
  return {static_cast<const std::uint8_t*>(v.mv_data), v.mv_size};
}
inline std::string_view text(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}
inline bool startsWith(const MDB_val& key, std::span<const std::uint8_t> prefix) {
  return key.mv_size >= prefix.size() &&
         (prefix.empty() || std::memcmp(key.mv_data, prefix.data(), prefix.size()) == 0);
}

/// Owns a transaction: aborts it on destruction unless commit() ran. Move-only.
class Txn {
 public:
  Txn() = default;
  explicit Txn(MDB_txn* txn) : m_txn(txn) {}
  Txn(Txn&& other) noexcept : m_txn(std::exchange(other.m_txn, nullptr)) {}
  Txn& operator=(Txn&& other) noexcept {
    if (this != &other) {
      abort();
      m_txn = std::exchange(other.m_txn, nullptr);
    }
    return *this;
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() { abort(); }

  MDB_txn* get() const { return m_txn; }
  /// Commits; the handle is gone afterwards whether or not the commit succeeded (LMDB frees
  /// a transaction on a failed commit too).
  void commit() {
    MDB_txn* txn = std::exchange(m_txn, nullptr);
    check(::mdb_txn_commit(txn), "mdb_txn_commit");
  }
  void abort() noexcept {
    if (m_txn != nullptr) ::mdb_txn_abort(std::exchange(m_txn, nullptr));
  }

 private:
  MDB_txn* m_txn = nullptr;
};

/// Owns a cursor on one database of a live transaction. name is the database's, for errors.
class Cursor {
 public:
  Cursor(MDB_txn* txn, MDB_dbi dbi, const char* name) : m_name(name) {
    check(::mdb_cursor_open(txn, dbi, &m_cursor), std::string("mdb_cursor_open(") + name + ")");
  }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor() { ::mdb_cursor_close(m_cursor); }

  /// Moves the cursor; false at either end (MDB_NOTFOUND). key (and data) are in/out as
  /// for mdb_cursor_get.
  bool get(MDB_val& key, MDB_val& data, MDB_cursor_op op) {
    const int rc = ::mdb_cursor_get(m_cursor, &key, &data, op);
    if (rc == MDB_NOTFOUND) return false;
    if (rc != MDB_SUCCESS) fail(std::string("mdb_cursor_get(") + m_name + ")", rc);
    return true;
  }
  bool get(MDB_val& key, MDB_cursor_op op) {
    MDB_val data{};
    return get(key, data, op);
  }

  /// mdb_cursor_put; returns its code (MDB_KEYEXIST, MDB_MAP_FULL: the caller decides).
  int put(MDB_val key, MDB_val data, unsigned flags) {
    return ::mdb_cursor_put(m_cursor, &key, &data, flags);
  }

  /// Positions the cursor on the last key that is <= bound (bound may be absent from the
  /// database); false when every key is greater. For walking backwards from a bound.
  bool seekLastAtMost(MDB_val& key, std::span<const std::uint8_t> bound) {
    MDB_val data{};
    key = val(bound);
    if (get(key, data, MDB_SET_RANGE)) {
      if (key.mv_size == bound.size() &&
          (bound.empty() || std::memcmp(key.mv_data, bound.data(), bound.size()) == 0)) {
        return true;
      }
      return get(key, data, MDB_PREV);
    }
    return get(key, data, MDB_LAST);
  }

 private:
  MDB_cursor* m_cursor = nullptr;
  const char* m_name;
};

}  // namespace fieldsync::store::lmdb
