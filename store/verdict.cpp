#include "store/verdict.h"

#include <algorithm>

#include "store/provenance.h"

namespace fieldsync::store {

std::string_view trustName(ClippingTrust trust) {
  switch (trust) {
    case ClippingTrust::Trusted:
      return "trusted";
    case ClippingTrust::Unknown:
      return "unknown";
    case ClippingTrust::Revoked:
      return "revoked";
    case ClippingTrust::WrongRole:
      return "wrong-role";
    case ClippingTrust::Expired:
      return "expired";
    case ClippingTrust::Invalid:
      return "invalid";
    case ClippingTrust::Retracted:
      return "retracted";
  }
  return "invalid";
}

ClippingTrust fromTrustStatus(protocol::TrustStatus status) {
  switch (status) {
    case protocol::TrustStatus::Trusted:
      return ClippingTrust::Trusted;
    case protocol::TrustStatus::Revoked:
      return ClippingTrust::Revoked;
    case protocol::TrustStatus::WrongRole:
      return ClippingTrust::WrongRole;
    case protocol::TrustStatus::Expired:
      return ClippingTrust::Expired;
    case protocol::TrustStatus::Unknown:
      return ClippingTrust::Unknown;
  }
  return ClippingTrust::Unknown;
}

const protocol::TrustVerdict& Judge::verdict(const PublicKey& signer, protocol::Role role,
                                             std::int64_t signedAt) {
  auto changes = m_changes.find(signer);
  if (changes == m_changes.end())
    changes = m_changes.emplace(signer, m_graph.changesFor(signer)).first;
  // The interval of signedAt between the key's changes: its verdict is the same throughout.
  const auto interval = static_cast<std::size_t>(
      std::upper_bound(changes->second.begin(), changes->second.end(), signedAt) -
      changes->second.begin());
  const auto key = std::make_tuple(signer, role, interval);
  auto cached = m_cache.find(key);
  if (cached == m_cache.end()) {
    ++m_evaluations;
    cached = m_cache.emplace(key, m_graph.evaluate(signer, role, signedAt)).first;
  }
  return cached->second;
}

ClippingTrust Judge::judge(const protocol::DecodedObject& object) {
  const auto& payload = object.payload;
  return fromTrustStatus(
      verdict(payload.signer, requiredRole(payload.kind()), payload.signedAt).status);
}

ClippingTrust Judge::judge(const ReadTxn& txn, const ObjectId& id, Check check) {
  const auto bytes = txn.get(id);
  if (!bytes) return retractedBy(txn, id) ? ClippingTrust::Retracted : ClippingTrust::Invalid;
  if (check == Check::Signature) {
    auto verified = protocol::verify(*bytes);
    if (!verified || verified->id() != id) return ClippingTrust::Invalid;
    return judge(
        protocol::DecodedObject{verified->id(), verified->payload(), verified->signature()});
  }
  auto decoded = protocol::decode(*bytes);
  if (!decoded || decoded->id != id) return ClippingTrust::Invalid;
  return judge(decoded.value());
}

ClippingTrust judge(const ReadTxn& txn, const protocol::TrustGraph& graph, const ObjectId& id,
                    Check check) {
  return Judge(graph).judge(txn, id, check);
}

}  // namespace fieldsync::store
