#pragma once
// Internal to store/: how peers.cpp reaches the archive's `peers` database inside the
// archive's own transactions. PeersAccess is a friend of ReadTxn, WriteTxn and Archive.
// Never include this from a public header.

#include <lmdb.h>

#include "store/archive.h"

namespace fieldsync::store {

struct PeersAccess {
  static MDB_txn* txn(const ReadTxn& read) { return read.m_txn; }
  static MDB_txn* txn(const WriteTxn& write) { return write.m_txn; }
  static MDB_dbi dbi(const ReadTxn& read) { return dbi(*read.m_archive); }
  static MDB_dbi dbi(const WriteTxn& write) { return dbi(write.m_archive); }

  // In archive.cpp, which knows the handles and the batch's state:
  static MDB_dbi dbi(const Archive& archive);
  /// mdb_put into peers; MDB_MAP_FULL is remembered for Archive::write (grow, run again).
  static void put(WriteTxn& write, MDB_val key, MDB_val data);
};

}  // namespace fieldsync::store
