#pragma once
// The verdict people read beside a stored object: trusted, or why not. One decision for every
// command that shows objects (list, search, show, status, and the web view), so they agree
// with each other and with `fieldsync verify`, which judges the signer by the same
// protocol::TrustGraph::evaluate() for store::requiredRole(kind) at the object's signedAt.
//
// A Judge keeps verdicts per (signer, role, interval of signedAt between the moments at which
// that key's standing changes: TrustGraph::changesFor), so listing 100,000 clippings of a few
// dozen signers evaluates the graph a few dozen times.
// Threads: a Judge is not thread-safe (its cache); use one per thread. Lifetime: it refers to
// the TrustGraph it was made with, which must outlive it.
// Errors: absence is a verdict (Invalid); LMDB failures throw Error.

#include <cstdint>
#include <map>
#include <string_view>
#include <tuple>
#include <vector>

#include "protocol/object.h"
#include "protocol/trust.h"
#include "store/archive.h"

namespace fieldsync::store {

/// Why an object is or is not to be believed, most of them from its signer's TrustStatus.
/// JSON and docs/cli.md use trustName(); the text marks are cli's.
enum class ClippingTrust {
  Trusted,    // the signer held the needed role when it signed
  Unknown,    // no trust path from this node's anchors to the signer
  Revoked,    // the signer (or a coordinator on the only paths to it) was revoked by then
  WrongRole,  // the signer is trusted, but not for this kind (a release by a field key)
  Expired,    // the certificates that vouched for the signer had expired by then
  Invalid,    // the stored bytes do not decode or, when checked, do not verify
  Retracted,  // taken back by a retraction that holds here (shown only by `show`)
};

/// "trusted", "unknown", "revoked", "wrong-role", "expired", "invalid", "retracted".
std::string_view trustName(ClippingTrust trust);

/// The verdict for a signer's TrustStatus.
ClippingTrust fromTrustStatus(protocol::TrustStatus status);

/// How far judge() looks at the bytes. The store verified every object on the way in, so a
/// listing judges the signer of the decoded object; `show` also checks the signature again,
/// as `verify` does, since it looks at one object.
enum class Check { Signer, Signature };

class Judge {
 public:
  explicit Judge(const protocol::TrustGraph& graph) : m_graph(graph) {}

  /// The verdict for object (decoded from the store): from its signer's standing for
  /// requiredRole(kind) at its signedAt.
  ClippingTrust judge(const protocol::DecodedObject& object);

  /// The verdict for the stored object id: Invalid when absent or undecodable (or, with
  /// Check::Signature, when its bytes do not verify as id); else as above.
  ClippingTrust judge(const ReadTxn& txn, const ObjectId& id, Check check = Check::Signer);

  /// The signer's full verdict, cached like the status (the path and names included).
  const protocol::TrustVerdict& verdict(const PublicKey& signer, protocol::Role role,
                                        std::int64_t signedAt);

  /// How many times the graph was evaluated, for tests and benchmarks.
  std::size_t evaluations() const { return m_evaluations; }

 private:
  const protocol::TrustGraph& m_graph;
  std::map<PublicKey, std::vector<std::int64_t>> m_changes;  // TrustGraph::changesFor
  std::map<std::tuple<PublicKey, protocol::Role, std::size_t>, protocol::TrustVerdict> m_cache;
  std::size_t m_evaluations = 0;
};

/// Judge(graph).judge(txn, id, check): for one object.
ClippingTrust judge(const ReadTxn& txn, const protocol::TrustGraph& graph, const ObjectId& id,
                    Check check = Check::Signer);

}  // namespace fieldsync::store
