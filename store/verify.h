#pragma once
// Re-checking what the archive holds: every stored object's bytes, id and signature, as if
// it had just arrived from a peer. Finds disk corruption and tampering.
// Threads: one read transaction for the whole check; verifyAll() spreads the signature checks
// over worker threads that read the map through that transaction. Errors: as Archive.

#include <cstdint>
#include <string>
#include <vector>

#include "store/archive.h"

namespace fieldsync::store {

struct VerifyFailure {
  ObjectId id;  // the key the object is stored under
  std::string
      problem;  // "bad signature: ...", "id mismatch: bytes hash to ...", "not in the archive"
};

struct VerifySummary {
  std::uint64_t checked = 0;
  std::vector<VerifyFailure> failures;  // in id order
  bool ok() const { return failures.empty(); }
};

/// Checks every object in the archive, on `threads` threads (0: one per core).
VerifySummary verifyAll(const Archive& archive, unsigned threads = 0);
/// Checks the given objects; an id not in the archive is a failure ("not in the archive").
VerifySummary verifyIds(const Archive& archive, const std::vector<ObjectId>& ids);

}  // namespace fieldsync::store
