#pragma once
// Who is trusted to sign what: local trust anchors, key certificates and revocations, judged
// at the time an object was signed. Pure: the caller gathers anchors (local configuration)
// and certificate and revocation objects (from the archive or a bundle) and asks questions.
//
// Rules (docs/trust.md tells them to people):
//  - A coordinator is trusted for both roles; a field key only for the field role.
//  - An anchor is trusted for its role. A key is trusted for role R at time t through a
//    certificate that gives it R (or coordinator), is not expired at t, and whose signer was
//    trusted as coordinator when it signed the certificate. Chains are followed to a depth
//    of MAX_CHAIN_DEPTH; cycles end a path.
//  - A revocation takes effect when signed by the revoked key itself or by a key trusted as
//    coordinator when the revocation was signed. Objects the revoked key signed at or after
//    `since` are not trusted (that includes certificates and revocations it signed); earlier
//    ones stay trusted. Anchors can be revoked too: a lost coordinator laptop is a lost key.
// Threads: a TrustGraph is immutable after construction; share it freely.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/object.h"

namespace fieldsync::protocol {

inline constexpr int MAX_CHAIN_DEPTH = 8;

/// A key this node trusts by local configuration, never synced.
struct Anchor {
  PublicKey key;
  Role role = Role::Field;
  std::string name;
};

/// A key certificate or revocation as found in a signed object.
struct CertRecord {
  ObjectId id;
  PublicKey signer;
  std::int64_t signedAt = 0;
  KeyCert cert;
};
struct RevocationRecord {
  ObjectId id;
  PublicKey signer;
  std::int64_t signedAt = 0;
  Revocation revocation;
};

/// One link of a trust path, from the anchor to the key in question.
struct TrustStep {
  PublicKey key;
  Role role = Role::Field;
  std::string name;
  std::optional<ObjectId> certificate;  // empty for the anchor itself
};

enum class TrustStatus {
  Trusted,    // a path exists and nothing on it is revoked or expired at that time
  Revoked,    // the key (or every path to it) was revoked before the time asked about
  WrongRole,  // trusted, but not for the role asked about
  Expired,    // the only certificates for the key had expired at that time
  Unknown,    // no anchor and no certificate from a trusted key
};
std::string_view trustStatusName(TrustStatus status);

struct TrustVerdict {
  TrustStatus status = TrustStatus::Unknown;
  std::vector<TrustStep> path;                 // anchor first, the key last; empty when Unknown
  std::optional<Role> role;                    // the role the key holds, if any
  std::string name;                            // the key's name from its anchor or certificate
  std::optional<RevocationRecord> revocation;  // the effective revocation, when Revoked
  bool trusted() const { return status == TrustStatus::Trusted; }
};

class TrustGraph {
 public:
  TrustGraph(std::vector<Anchor> anchors, std::vector<CertRecord> certificates,
             std::vector<RevocationRecord> revocations);

  /// Is key trusted for role `required` for an object it signed at `signedAt`?
  TrustVerdict evaluate(const PublicKey& key, Role required, std::int64_t signedAt) const;

  /// The moments at which evaluate(key, role, t) may change as t grows, ascending without
  /// repeats: the `since` of the key's effective revocations and the expiry of its
  /// certificates. For t in [c[i - 1], c[i]) (before c[0]; from the last on) the verdict is the
  /// same for each role, so a caller judging many objects of one signer may keep one verdict
  /// per key, role and interval (store/verdict.h does).
  std::vector<std::int64_t> changesFor(const PublicKey& key) const;

 private:
  /// Per certificate, in m_certificates' order, settled once by the constructor so that
  /// evaluate() reads only the key's own certificates: the certificates on its shortest valid
  /// chain, or -1 and why it has none (trust.cpp).
  struct Standing {
    int length = -1;
    int failure = 0;
    int revocation = -1;  // index into m_revocations
  };

  std::vector<Anchor> m_anchors;
  std::vector<CertRecord> m_certificates;
  std::vector<RevocationRecord> m_revocations;
  std::vector<Standing> m_standing;
};

}  // namespace fieldsync::protocol
