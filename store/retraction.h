#pragma once
// Retraction: taking clippings back (docs/trust.md, "Retraction"). What a retraction removes
// lives here and only here; the store calls settleRetractions() at the end of every batch that
// could change the answer, so sync, bundle import and the CLI all honour it the same way.
//
// Rules:
//  - A retraction takes effect on this node for a clipping when its signer is the clipping's
//    signer, or a key this node trusts as coordinator at the retraction's signedAt. From anyone
//    else it is kept and forwarded like any object but does nothing.
//  - Where it takes effect: the clipping's bytes and every index entry go (WriteTxn::remove; the
//    archive scrubs the freed pages), and a tombstone refuses it for ever after, whichever way
//    it comes back (WriteTxn::put answers PutOutcome::Retracted). With a subject key, every
//    clipping that key signed at or after `since` goes, now and when it arrives later.
//  - Import and add sign clippings anew, so a new id would slip past an id tombstone: they
//    also refuse content (protocol::contentHash) that a retraction in effect here removed.
//  - Trust can arrive after a retraction (a certificate making its signer a coordinator):
//    settleRetractions() judges every retraction again whenever trust changes. Removal is
//    final; a later revocation of the retraction's signer does not bring a clipping back.
// Threads: as WriteTxn and ReadTxn. Errors: refusals are values; LMDB failures throw Error.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/keys.h"
#include "protocol/object.h"
#include "protocol/trust.h"
#include "store/archive.h"

namespace fieldsync::store {

/// Does a retraction (its payload) take effect here for a clipping signed by clippingSigner?
bool takesEffect(const protocol::TrustGraph& trust, const protocol::Payload& retraction,
                 const PublicKey& clippingSigner);

/// Applies every retraction this archive holds that takes effect now: removes what it covers
/// (WriteTxn::remove) and records tombstones. Idempotent. Called by Archive::write() once at
/// the end of a batch that stored a retraction, key certificate or revocation or changed an
/// anchor (WriteTxn::trustChanged()), inside the batch's transaction, before its commit;
/// txn.reader() reads the archive as the batch left it, and these writes do not call it again.
/// It may run more than once for one write() (a batch rerun after map growth), each time in a
/// fresh transaction, so it writes only through txn.
void settleRetractions(WriteTxn& txn);

/// What to take back: clippings by id, and/or everything subject signed at or after since.
struct RetractRequest {
  std::vector<ObjectId> clippings;
  std::optional<PublicKey> subject;
  std::int64_t since = 0;
  std::string reason;
};

struct RetractedClipping {
  ObjectId id;
  std::string title;
};

struct RetractResult {
  std::vector<ObjectId> retractions;       // the objects signed (one per MAX_IDS_PER_OBJECT ids)
  std::vector<RetractedClipping> removed;  // clippings removed from this archive
  std::vector<ObjectId> notHeld;           // listed ids this archive does not hold (refused if
                                           // they ever arrive)
  std::vector<ObjectId> already;           // listed ids a retraction in effect here already took
};

/// Signs the retraction(s) of request with key and stores them in one batch, which removes
/// what they cover. Refuses (the reason, naming the clipping) when an id is held but is not a
/// clipping, or was signed by another key and key is not trusted here as coordinator; when
/// request.subject is another key and key is not a coordinator; when the reason is empty; or
/// when nothing would be retracted.
Expected<RetractResult, std::string> retract(Archive& archive, const protocol::SecretKey& key,
                                             const RetractRequest& request, std::int64_t now);

/// Why a clipping is absent from this archive: the retraction in effect here that took it.
struct RetractionNotice {
  ObjectId retraction;
  PublicKey signer;
  std::string signerName;  // from the trust path; empty for an unknown key
  std::int64_t signedAt = 0;
  std::string reason;
};

/// The retraction that took clipping here, if one did (a tombstone for its id).
std::optional<RetractionNotice> retractionOf(const ReadTxn& txn, const protocol::TrustGraph& trust,
                                             const ObjectId& clipping);

/// A content (protocol::contentHash) that a retraction in effect here removed: import and add
/// do not sign it again. The retraction's id, else empty.
std::optional<ObjectId> retractedContent(const ReadTxn& txn, const protocol::ContentHash& content);

}  // namespace fieldsync::store
