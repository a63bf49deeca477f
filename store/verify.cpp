#include "store/verify.h"

namespace fieldsync::store {
namespace {

/// Checks one stored object; adds a failure when it does not hold.
void check(const ObjectId& key, std::span<const std::uint8_t> bytes, VerifySummary& summary) {
  ++summary.checked;
  auto verified = protocol::verify(bytes);
  if (!verified) {
    summary.failures.push_back({key, verified.error().message()});
  } else if (verified->id() != key) {
    summary.failures.push_back(
        {key, "id mismatch: the stored bytes hash to " + verified->id().hex()});
  }
}

}  // namespace

VerifySummary verifyAll(const Archive& archive) {
  VerifySummary summary;
  auto txn = archive.beginRead();
  txn.forEach([&](const ObjectId& id, std::span<const std::uint8_t> bytes) {
    check(id, bytes, summary);
    return true;
  });
  return summary;
}

VerifySummary verifyIds(const Archive& archive, const std::vector<ObjectId>& ids) {
  VerifySummary summary;
  auto txn = archive.beginRead();
  for (const auto& id : ids) {
    if (auto bytes = txn.get(id)) {
      check(id, *bytes, summary);
    } else {
      ++summary.checked;
      summary.failures.push_back({id, "not in the archive"});
    }
  }
  return summary;
}

}  // namespace fieldsync::store
