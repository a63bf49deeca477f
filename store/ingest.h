#pragma once
// Signing and storing new clippings: the write path of import and add.
// Threads: as Archive::write(). Errors: as Archive.

#include <cstdint>
#include <memory>
#include <vector>

#include "protocol/clipping.h"
#include "protocol/keys.h"
#include "store/archive.h"
#include "store/progress.h"

namespace fieldsync::store {

struct IngestResult {
  std::vector<ObjectId> stored;      // newly signed and stored, in input order
  std::vector<ObjectId> duplicates;  // content this key had already signed (existing ids)
  /// Positions in the input not stored because a retraction in effect here took them back:
  /// content a retraction removed (not signed again), or signed by a key whose clippings from
  /// before signedAt on were taken back (store/retraction.h).
  std::vector<std::size_t> retracted{};
};

/// Signs every clipping with key at signedAt and stores them in ONE transaction: all or
/// nothing. Clippings whose content (protocol::contentHash) this key has already signed,
/// in the archive or earlier in the same list, are not signed again; their existing ids are
/// reported as duplicates. Content that a retraction in effect here took is not signed again
/// (IngestResult::retracted). Precondition: clippings are normalized (protocol::normalizeClipping);
/// an invalid one throws std::invalid_argument before anything is written.
/// Hashes and signs on every core (a helper thread per core besides the caller's), then
/// stores through WriteTxn::putBatch. progress is told, on the calling thread, as clippings
/// are signed (done of total = clippings.size(), those not to sign counted from the start;
/// bytes signed); the store that follows is one transaction and is not counted.
IngestResult ingestClippings(Archive& archive, const protocol::SecretKey& key,
                             const std::vector<protocol::Clipping>& clippings,
                             std::int64_t signedAt, const ProgressCallback& progress = {});

/// ingestClippings in its two steps, for a caller that signs its next batch while the last one
/// is stored (import does): signClippings reads the archive and signs (and prepares, on every
/// core) without writing; storeSigned stores the batch in one transaction and reports as
/// ingestClippings does. Content stored between the two (by the caller's previous batch or
/// another writer) is looked for again inside the transaction and reported as a duplicate.
/// Threads: storeSigned may run on another thread than signClippings, and signClippings of the
/// next batch meanwhile; the batch does not refer to clippings.
class SignedClippings {
 public:
  SignedClippings(SignedClippings&&) noexcept;
  SignedClippings& operator=(SignedClippings&&) noexcept;
  ~SignedClippings();

 private:
  SignedClippings();
  struct State;
  std::unique_ptr<State> m_state;
  friend SignedClippings signClippings(Archive&, const protocol::SecretKey&,
                                       const std::vector<protocol::Clipping>&, std::int64_t,
                                       const ProgressCallback&);
  friend IngestResult storeSigned(Archive&, SignedClippings);
};

/// The first step: as ingestClippings up to its write (the same errors, the same progress).
SignedClippings signClippings(Archive& archive, const protocol::SecretKey& key,
                              const std::vector<protocol::Clipping>& clippings,
                              std::int64_t signedAt, const ProgressCallback& progress = {});
/// The second step: one transaction, all or nothing.
IngestResult storeSigned(Archive& archive, SignedClippings batch);

}  // namespace fieldsync::store
