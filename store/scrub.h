#pragma once
// Internal to store/: overwriting what an archive no longer holds, so that removed objects
// (WriteTxn::remove) are gone from data.mdb itself and not only unlinked.
//
// LMDB is copy-on-write: a page a transaction changes is written anew and the old one goes
// to the free list, bytes intact, until a later transaction reuses it. And LMDB writes every
// page whole, so the unused middle of a live page (between its node pointers and its nodes)
// keeps whatever was there before: the bytes of a node deleted from that page, or, in the
// process that wrote it, stale bytes of a buffer LMDB recycles from an earlier transaction.
// scrubFile() zeroes, with pwrite on LMDB's own file descriptor, every byte of data.mdb that
// no snapshot can read: the free pages no reader can still need, the unused middle of every
// live branch and leaf page, the rest of the last page of every overflow value, and the file
// past the last page. It reads the file as LMDB 0.9 lays it out (MDB_DATA_VERSION 1): page
// headers and leaf nodes; a page it does not recognise is left alone.
//
// Threads: call it inside a write transaction that has written nothing (it holds LMDB's
// writer lock, so no other writer moves pages meanwhile) on the thread that began it.
// Readers, of this process or others, never read the bytes it overwrites.
// Errors: LMDB and I/O failures throw fieldsync::Error.

#include <lmdb.h>

#include <cstdint>
#include <functional>

namespace fieldsync::store {

struct ScrubReport {
  /// Every page freed by a transaction up to needThrough was overwritten: no reader held
  /// one back. False: scrub again after the readers older than that have ended.
  bool complete = true;
  std::uint64_t freePagesZeroed = 0;
  std::uint64_t freePagesHeld = 0;  // free pages a live reader may still read: left alone
  std::uint64_t livePagesScanned = 0;
  std::uint64_t bytesZeroed = 0;  // in free pages, gaps and overflow tails
};

/// Overwrites the unread bytes of env's data file (above). write is a write transaction of
/// env that has written nothing; beginRead begins a read transaction of env (the free list
/// can only be read through one), which scrubFile ends. needThrough: the transaction id up
/// to which every freed page must be overwritten for the report to be complete.
ScrubReport scrubFile(MDB_env* env, MDB_txn* write, std::uint64_t needThrough,
                      const std::function<MDB_txn*()>& beginRead,
                      const std::function<void(MDB_txn*)>& endRead);

}  // namespace fieldsync::store
