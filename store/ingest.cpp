#include "store/ingest.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

#include "protocol/object.h"

namespace fieldsync::store {

/// The way into WriteTxn's put with a known content hash (a friend of WriteTxn): hashing a
/// 5 KB clipping costs as much as a few index puts, and ingest has already done it.
struct IngestAccess {
  static PutOutcome put(WriteTxn& txn, const protocol::VerifiedObject& object,
                        const ContentHash& hash) {
    return txn.putObject(object, &hash);
  }
};

namespace {

/// What became of one input clipping.
struct Slot {
  ContentHash hash;
  std::optional<std::size_t> signedIndex;  // into the signed objects, when it is new
  std::optional<std::size_t> sameAs;       // an earlier input with the same content
  std::optional<ObjectId> existing;        // the archive already holds this content by key
  bool retracted = false;                  // a retraction in effect here took this content
};

/// The start of a title for an error message, cut at a character boundary.
std::string titleForMessage(const std::string& title) {
  std::size_t end = std::min<std::size_t>(title.size(), 80);
  while (end > 0 && end < title.size() && (static_cast<unsigned char>(title[end]) & 0xc0) == 0x80) {
    --end;
  }
  return title.substr(0, end);
}

}  // namespace

IngestResult ingestClippings(Archive& archive, const protocol::SecretKey& key,
                             const std::vector<protocol::Clipping>& clippings,
                             std::int64_t signedAt, const ProgressCallback& progress) {
  const PublicKey signer = key.publicKey();

  // No separate validity check: sign() checks every clipping it signs, and everything is
  // signed before anything is written. A clipping left unsigned has the content hash of one
  // this key signed before (or of an earlier one in the list, which is signed), so it has the
  // same canonical content, which was valid. (A second check would cost ~10 µs a clipping,
  // a tenth of the import budget.)
  std::vector<Slot> slots(clippings.size());
  for (std::size_t i = 0; i < clippings.size(); ++i) {
    slots[i].hash = protocol::contentHash(clippings[i]);
  }

  // Content this key signed before, in the archive or earlier in this list.
  {
    const ReadTxn txn = archive.beginRead();
    std::map<ContentHash, std::size_t> firstWith;
    for (std::size_t i = 0; i < slots.size(); ++i) {
      const auto [it, inserted] = firstWith.try_emplace(slots[i].hash, i);
      if (!inserted) {
        slots[i].sameAs = it->second;
      } else if (txn.tombstone(slots[i].hash)) {
        slots[i].retracted = true;
      } else {
        slots[i].existing = txn.findByContent(slots[i].hash, signer);
      }
    }
  }  // the read ends before signing and writing: write() refuses a thread holding a read

  // Sign outside the write transaction, which then holds the writer lock only to store.
  std::vector<protocol::VerifiedObject> objects;
  Progress told{0, clippings.size(), 0};
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (progress) {
      told.done = i;
      progress(told);
    }
    if (slots[i].sameAs || slots[i].existing || slots[i].retracted) continue;
    protocol::Payload payload;
    payload.signer = signer;
    payload.signedAt = signedAt;
    payload.body = clippings[i];
    auto signedObject = protocol::sign(std::move(payload), key);
    if (!signedObject) {
      throw std::invalid_argument("clipping " + std::to_string(i + 1) + " (\"" +
                                  titleForMessage(clippings[i].title) +
                                  "\"): " + signedObject.error().message());
    }
    slots[i].signedIndex = objects.size();
    told.bytes += signedObject->bytes().size();
    objects.push_back(std::move(signedObject).value());
  }
  if (progress) {
    told.done = clippings.size();
    progress(told);
  }
  // Another writer may have stored the same content since the read: look again inside the
  // transaction. The batch may run more than once (map growth), so it starts afresh each time.
  std::vector<std::optional<ObjectId>> storedMeanwhile;
  std::vector<bool> refused;  // by a tombstone: PutOutcome::Retracted
  if (!objects.empty()) {
    archive.write([&](WriteTxn& txn) {
      storedMeanwhile.assign(objects.size(), std::nullopt);
      refused.assign(objects.size(), false);
      for (std::size_t i = 0; i < slots.size(); ++i) {
        if (!slots[i].signedIndex) continue;
        const std::size_t n = *slots[i].signedIndex;
        storedMeanwhile[n] = txn.findByContent(slots[i].hash, signer);
        if (!storedMeanwhile[n]) {
          refused[n] = IngestAccess::put(txn, objects[n], slots[i].hash) == PutOutcome::Retracted;
        }
      }
    });
  }

  // The id that now holds each input's content; new ones are reported as stored.
  IngestResult result;
  auto finalId = [&](const Slot& slot) -> std::pair<ObjectId, bool> {
    if (slot.existing) return {*slot.existing, false};
    const std::size_t n = *slot.signedIndex;
    if (storedMeanwhile[n]) return {*storedMeanwhile[n], false};
    return {objects[n].id(), true};
  };
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const Slot& slot = slots[i];
    if (slot.retracted || (slot.sameAs && slots[*slot.sameAs].retracted)) {
      result.retracted.push_back(i);
      continue;
    }
    if (slot.sameAs) {
      result.duplicates.push_back(finalId(slots[*slot.sameAs]).first);
      continue;
    }
    const auto [id, isNew] = finalId(slot);
    if (isNew && refused[*slot.signedIndex]) {
      result.retracted.push_back(i);
      continue;
    }
    (isNew ? result.stored : result.duplicates).push_back(id);
  }
  return result;
}

}  // namespace fieldsync::store
