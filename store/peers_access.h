#pragma once
// Internal to store/: how peers.cpp reaches the archive's `peers` database inside the
// archive's own transactions, and the meta values that belong to peers (stick holdings).
// PeersAccess is a friend of ReadTxn, WriteTxn and Archive.
// Never include this from a public header.

#include <lmdb.h>

#include "store/archive.h"

namespace fieldsync::store {

struct PeersAccess {
  static MDB_txn* txn(const ReadTxn& read) { return read.m_txn; }
  static MDB_txn* txn(const WriteTxn& write) { return write.m_txn; }
  static MDB_dbi dbi(const ReadTxn& read) { return dbi(*read.m_archive); }
  static MDB_dbi dbi(const WriteTxn& write) { return dbi(write.m_archive); }

  /// The meta database, where a peer's stick holdings are kept beside its record.
  static MDB_dbi metaDbi(const ReadTxn& read) { return metaDbi(*read.m_archive); }
  static MDB_dbi metaDbi(const WriteTxn& write) { return metaDbi(write.m_archive); }

  // In archive.cpp, which knows the handles and the batch's state:
  static MDB_dbi dbi(const Archive& archive);
  static MDB_dbi metaDbi(const Archive& archive);
  /// mdb_put into peers; MDB_MAP_FULL is remembered for Archive::write (grow, run again).
  static void put(WriteTxn& write, MDB_val key, MDB_val data);
};

}  // namespace fieldsync::store
