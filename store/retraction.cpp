#include "store/retraction.h"

#include <algorithm>
#include <span>

#include "store/provenance.h"
#include "store/stored_object.h"

namespace fieldsync::store {
namespace {

using protocol::Kind;
using protocol::Role;

bool trustedCoordinator(const protocol::TrustGraph& trust, const protocol::Payload& payload) {
  return trust.evaluate(payload.signer, Role::Coordinator, payload.signedAt).trusted();
}

/// Removes clipping (held, decoded) and remembers its content, so import does not sign it
/// again. The content hash is kept as a tombstone like an id: both are BLAKE2b-256 under
/// different domain tags (protocol/object.h), so one is never taken for the other.
void take(WriteTxn& txn, const protocol::DecodedObject& clipping, const ObjectId& retraction) {
  txn.addTombstone(protocol::contentHash(*clipping.payload.clipping()), retraction, std::nullopt);
  (void)txn.remove(clipping.id);
}

/// The clippings signer signed at or after since. A scan of the archive: it runs only when a
/// retraction of a signer first takes effect here, or when `retract --signer` is asked for.
std::vector<ObjectId> signedBy(const ReadTxn& txn, const PublicKey& signer, std::int64_t since) {
  std::vector<ObjectId> ids;
  txn.forEach([&](const ObjectId& id, std::span<const std::uint8_t> bytes) {
    auto decoded = protocol::decode(bytes);
    if (decoded && decoded->payload.kind() == Kind::Clipping && decoded->payload.signer == signer &&
        decoded->payload.signedAt >= since)
      ids.push_back(id);
    return true;
  });
  return ids;
}

/// A tombstone for target by this retraction, or a stronger one, is already there.
bool tombstoned(const WriteTxn& txn, const ObjectId& target, const ObjectId& retraction,
                const std::optional<PublicKey>& onlyIf) {
  auto existing = txn.tombstone(target);
  return existing && (!existing->onlyIfSignedBy ||
                      (existing->retraction == retraction && existing->onlyIfSignedBy == onlyIf));
}

/// Applies one retraction as far as it takes effect here. Cheap when it was applied before:
/// one tombstone lookup per listed id.
void apply(WriteTxn& txn, const ReadTxn& view, const protocol::TrustGraph& trust,
           const ObjectId& id, const protocol::Payload& payload) {
  const auto& retraction = std::get<protocol::Retraction>(payload.body);
  const bool coordinator = trustedCoordinator(trust, payload);
  const std::optional<PublicKey> onlyIf =
      coordinator ? std::nullopt : std::optional<PublicKey>(payload.signer);
  for (const ObjectId& target : retraction.clippings) {
    if (!tombstoned(txn, target, id, onlyIf)) txn.addTombstone(target, id, onlyIf);
    auto held = loadStored(view, target);
    if (held && held->payload.kind() == Kind::Clipping &&
        (coordinator || held->payload.signer == payload.signer))
      take(txn, *held, id);
  }
  if (retraction.subject && (coordinator || *retraction.subject == payload.signer)) {
    // Covered already (by this retraction or one from earlier on): its clippings went then,
    // and put() refuses those that arrive later.
    if (txn.signerTombstone(*retraction.subject, retraction.since)) return;
    txn.addSignerTombstone(*retraction.subject, retraction.since, id);
    for (const ObjectId& signed_ : signedBy(view, *retraction.subject, retraction.since)) {
      auto held = loadStored(view, signed_);
      if (held && held->payload.kind() == Kind::Clipping) take(txn, *held, id);
    }
  }
}

}  // namespace

bool takesEffect(const protocol::TrustGraph& trust, const protocol::Payload& retraction,
                 const PublicKey& clippingSigner) {
  return retraction.signer == clippingSigner || trustedCoordinator(trust, retraction);
}

void settleRetractions(WriteTxn& txn) {
  ReadTxn view = txn.reader();
  const auto retractions = view.ofKind(Kind::Retraction);
  if (retractions.empty()) return;
  const protocol::TrustGraph trust = loadTrust(view);
  for (const ObjectId& id : retractions) {
    auto object = loadStored(view, id);
    if (object && object->payload.kind() == Kind::Retraction)
      apply(txn, view, trust, id, object->payload);
  }
}

Expected<RetractResult, std::string> retract(Archive& archive, const protocol::SecretKey& key,
                                             const RetractRequest& request, std::int64_t now) {
  if (request.reason.empty())
    return std::string(
        "a retraction needs a reason (--reason): it is what every node shows "
        "in place of the clipping");
  if (request.clippings.empty() && !request.subject)
    return std::string("name the clippings to retract, or --signer KEY");
  const PublicKey self = key.publicKey();
  RetractResult result;
  std::vector<ObjectId> ids = request.clippings;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<ObjectId> listed;
  {
    auto txn = archive.beginRead();
    const protocol::TrustGraph trust = loadTrust(txn);
    const bool coordinator = trust.evaluate(self, Role::Coordinator, now).trusted();
    if (request.subject && *request.subject != self && !coordinator)
      return "only the key itself or a coordinator this node trusts can retract what " +
             request.subject->hex() + " signed; this node's key " + self.hex() + " is neither";
    for (const ObjectId& id : ids) {
      if (auto notice = retractionOf(txn, trust, id)) {
        result.already.push_back(id);
        continue;
      }
      auto held = loadStored(txn, id);
      if (!held) {
        result.notHeld.push_back(id);
        listed.push_back(id);
        continue;
      }
      if (held->payload.kind() != Kind::Clipping)
        return id.hex() + " is a " + std::string(protocol::kindName(held->payload.kind())) +
               ", not a clipping: only clippings are retracted";
      if (held->payload.signer != self && !coordinator)
        return id.hex() + " was signed by " + held->payload.signer.hex() +
               "; only its signer or a coordinator this node trusts can retract it, and this "
               "node's key " +
               self.hex() + " is neither";
      result.removed.push_back({id, held->payload.clipping()->title});
      listed.push_back(id);
    }
    if (request.subject) {
      for (const ObjectId& id : signedBy(txn, *request.subject, request.since)) {
        auto held = loadStored(txn, id);
        if (held && held->payload.kind() == Kind::Clipping &&
            !std::binary_search(listed.begin(), listed.end(), id))
          result.removed.push_back({id, held->payload.clipping()->title});
      }
    }
  }
  if (listed.empty() && !request.subject)
    return std::string("every clipping named was already retracted here");

  // One object per MAX_IDS_PER_OBJECT ids; the subject goes with the first.
  std::vector<protocol::VerifiedObject> signed_;
  for (std::size_t at = 0; at < listed.size() || (signed_.empty() && request.subject);
       at += protocol::MAX_IDS_PER_OBJECT) {
    protocol::Retraction body;
    const std::size_t end = std::min(listed.size(), at + protocol::MAX_IDS_PER_OBJECT);
    body.clippings.assign(listed.begin() + static_cast<std::ptrdiff_t>(std::min(at, end)),
                          listed.begin() + static_cast<std::ptrdiff_t>(end));
    if (signed_.empty() && request.subject) {
      body.subject = request.subject;
      body.since = request.since;
    }
    body.reason = request.reason;
    auto object = protocol::sign(protocol::Payload{self, now, std::move(body)}, key);
    if (!object) return "cannot sign the retraction: " + object.error().message();
    result.retractions.push_back(object->id());
    signed_.push_back(std::move(object).value());
  }
  archive.write([&](WriteTxn& txn) {
    for (const auto& object : signed_) (void)txn.put(object);
  });
  return result;
}

std::optional<RetractionNotice> retractionOf(const ReadTxn& txn, const protocol::TrustGraph& trust,
                                             const ObjectId& clipping) {
  if (txn.contains(clipping)) return std::nullopt;  // a tombstone that did not take effect
  auto tombstone = txn.tombstone(clipping);
  if (!tombstone) return std::nullopt;
  auto object = loadStored(txn, tombstone->retraction);
  if (!object || object->payload.kind() != Kind::Retraction) return std::nullopt;
  const auto& payload = object->payload;
  RetractionNotice notice{object->id, payload.signer,
                          trust.evaluate(payload.signer, Role::Field, payload.signedAt).name,
                          payload.signedAt, std::get<protocol::Retraction>(payload.body).reason};
  return notice;
}

std::optional<ObjectId> retractedContent(const ReadTxn& txn, const protocol::ContentHash& content) {
  auto tombstone = txn.tombstone(content);
  if (!tombstone) return std::nullopt;
  return tombstone->retraction;
}

}  // namespace fieldsync::store
