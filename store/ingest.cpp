#include "store/ingest.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <stdexcept>
#include <string>

#include "protocol/object.h"
#include "store/parallel.h"

namespace fieldsync::store {

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

/// What signClippings hands to storeSigned.
struct SignedClippings::State {
  PublicKey signer;
  std::vector<Slot> slots;
  std::vector<std::size_t> toSign;  // signed index -> input position
  std::vector<std::optional<protocol::VerifiedObject>> signedObjects;
  std::vector<PreparedObject> prepared;  // refer to signedObjects (a move keeps them)
  std::uint64_t seenSeq = 0;             // the archive's last seq as the read saw it
};

SignedClippings::SignedClippings() : m_state(std::make_unique<State>()) {}
SignedClippings::SignedClippings(SignedClippings&&) noexcept = default;
SignedClippings& SignedClippings::operator=(SignedClippings&&) noexcept = default;
SignedClippings::~SignedClippings() = default;

IngestResult ingestClippings(Archive& archive, const protocol::SecretKey& key,
                             const std::vector<protocol::Clipping>& clippings,
                             std::int64_t signedAt, const ProgressCallback& progress) {
  return storeSigned(archive, signClippings(archive, key, clippings, signedAt, progress));
}

SignedClippings signClippings(Archive& archive, const protocol::SecretKey& key,
                              const std::vector<protocol::Clipping>& clippings,
                              std::int64_t signedAt, const ProgressCallback& progress) {
  SignedClippings out;
  SignedClippings::State& state = *out.m_state;
  const PublicKey signer = key.publicKey();
  state.signer = signer;
  std::vector<Slot>& slots = state.slots;

  // No separate validity check: sign() checks every clipping it signs, and everything is
  // signed before anything is written. A clipping left unsigned has the content hash of one
  // this key signed before (or of an earlier one in the list, which is signed), so it has the
  // same canonical content, which was valid. (A second check would cost ~10 µs a clipping,
  // a tenth of the import budget.)
  slots.resize(clippings.size());
  onEveryCore(
      clippings.size(), [&](std::size_t i) { slots[i].hash = protocol::contentHash(clippings[i]); },
      [](std::size_t) {});

  // Content this key signed before, in the archive or earlier in this list.
  {
    const ReadTxn txn = archive.beginRead();
    state.seenSeq = txn.lastSeq();
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

  // Sign outside the write transaction, which then holds the writer lock only to store; on
  // every core (a signature is most of a clipping's cost).
  std::vector<std::size_t>& toSign = state.toSign;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].sameAs || slots[i].existing || slots[i].retracted) continue;
    slots[i].signedIndex = toSign.size();
    toSign.push_back(i);
  }
  std::vector<std::optional<protocol::VerifiedObject>>& signedObjects = state.signedObjects;
  signedObjects.resize(toSign.size());
  std::vector<std::optional<PreparedObject>> prepared(toSign.size());
  std::vector<std::string> problems(toSign.size());
  std::atomic<std::uint64_t> bytesSigned{0};
  // Told once for each count from 0 to every clipping, in order, on this thread; clippings
  // not to sign count first (they cost nothing).
  Progress told{0, clippings.size(), 0};
  std::size_t toldUpTo = 0;  // counts told so far
  auto tell = [&](std::size_t signedSoFar) {
    if (!progress) return;
    const std::size_t upTo = clippings.size() - toSign.size() + signedSoFar;
    for (; toldUpTo <= upTo; ++toldUpTo) {
      told.done = toldUpTo;
      told.bytes = bytesSigned.load();
      progress(told);
    }
  };
  tell(0);
  onEveryCore(
      toSign.size(),
      [&](std::size_t n) {
        const std::size_t i = toSign[n];
        protocol::Payload payload;
        payload.signer = signer;
        payload.signedAt = signedAt;
        payload.body = clippings[i];
        auto signedObject = protocol::sign(std::move(payload), key);
        if (!signedObject) {
          problems[n] = signedObject.error().message();
          return;
        }
        bytesSigned += signedObject->bytes().size();
        signedObjects[n] = std::move(signedObject).value();
        // The store's own work on it (search terms), here on every core too.
        prepared[n].emplace(*signedObjects[n], slots[i].hash);
      },
      tell);
  for (std::size_t n = 0; n < toSign.size(); ++n) {
    if (problems[n].empty()) continue;
    const std::size_t i = toSign[n];
    throw std::invalid_argument("clipping " + std::to_string(i + 1) + " (\"" +
                                titleForMessage(clippings[i].title) + "\"): " + problems[n]);
  }
  tell(toSign.size());
  state.prepared.reserve(toSign.size());
  for (auto& p : prepared) state.prepared.push_back(std::move(*p));
  return out;
}

IngestResult storeSigned(Archive& archive, SignedClippings batch) {
  const SignedClippings::State& state = *batch.m_state;
  const std::vector<Slot>& slots = state.slots;
  const std::vector<std::size_t>& toSign = state.toSign;
  const std::vector<PreparedObject>& all = state.prepared;
  const PublicKey& signer = state.signer;

  // Another writer may have stored the same content since the read: look again inside the
  // transaction, unless nothing was stored since (the last seq is the one the read saw). The
  // batch may run more than once (map growth), so it starts afresh each time.
  std::vector<std::optional<ObjectId>> storedMeanwhile;
  std::vector<bool> refused;  // by a tombstone: PutOutcome::Retracted
  if (!toSign.empty()) {
    archive.write([&](WriteTxn& txn) {
      storedMeanwhile.assign(toSign.size(), std::nullopt);
      refused.assign(toSign.size(), false);
      if (txn.reader().lastSeq() == state.seenSeq) {
        const std::vector<PutOutcome> outcomes = txn.putBatch(all);
        for (std::size_t n = 0; n < outcomes.size(); ++n) {
          refused[n] = outcomes[n] == PutOutcome::Retracted;
        }
        return;
      }
      std::vector<PreparedObject> some;
      std::vector<std::size_t> someIndex;
      for (std::size_t n = 0; n < toSign.size(); ++n) {
        storedMeanwhile[n] = txn.findByContent(slots[toSign[n]].hash, signer);
        if (storedMeanwhile[n]) continue;
        some.push_back(all[n]);
        someIndex.push_back(n);
      }
      const std::vector<PutOutcome> outcomes = txn.putBatch(some);
      for (std::size_t k = 0; k < outcomes.size(); ++k) {
        refused[someIndex[k]] = outcomes[k] == PutOutcome::Retracted;
      }
    });
  }

  // The id that now holds each input's content; new ones are reported as stored.
  IngestResult result;
  auto finalId = [&](const Slot& slot) -> std::pair<ObjectId, bool> {
    if (slot.existing) return {*slot.existing, false};
    const std::size_t n = *slot.signedIndex;
    if (storedMeanwhile[n]) return {*storedMeanwhile[n], false};
    return {state.signedObjects[n]->id(), true};
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
