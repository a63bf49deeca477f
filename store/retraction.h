#pragma once
// Where a retraction takes effect: the policy that removes retracted clippings and keeps
// their tombstones (DESIGN.md, "Objects"; docs/trust.md, "Retraction").
// The lead writes this module; store/archive.cpp only calls the hook below.

#include "store/archive.h"

namespace fieldsync::store {

/// Called by Archive::write() at the end of a batch that stored a Retraction, KeyCert or
/// Revocation or changed a trust anchor (WriteTxn::trustChanged()), once, inside the batch's
/// transaction and before its commit; txn.reader() reads the archive as the batch left it.
/// Removes (WriteTxn::remove) and tombstones (WriteTxn::addTombstone, addSignerTombstone)
/// what the retractions now take back. Its own writes do not call it again. It may run more
/// than once for one write() (a batch rerun after map growth), each time in a fresh
/// transaction, so it must only write through txn. Throws what the batch may throw: the
/// whole batch is then aborted.
void settleRetractions(WriteTxn& txn);

}  // namespace fieldsync::store
