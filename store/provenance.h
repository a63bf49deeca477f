#pragma once
// Provenance: who signed an object, whether that key was trusted for it when it was signed,
// how releases chain, and the writing of trust and release objects by a coordinator node.
// Judgement is protocol::TrustGraph's; this module gathers its inputs from the archive (the
// node's anchors, every key certificate and revocation) and walks release chains.
// Threads: as ReadTxn. Errors: absence and refusals are values; LMDB failures throw Error.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "protocol/keys.h"
#include "protocol/object.h"
#include "protocol/trust.h"
#include "store/archive.h"

namespace fieldsync::store {

/// This node's trust graph: its anchors and every key certificate and revocation it holds.
protocol::TrustGraph loadTrust(const ReadTxn& txn);

/// A key this node knows: an anchor, the subject of a certificate it holds, or its own key.
struct KnownKey {
  PublicKey key;
  std::string name;  // from the trust path, else its anchor, newest certificate, or this node
  std::optional<protocol::Anchor> anchor;
  std::vector<protocol::CertRecord> certificates;  // naming this key, newest first
  bool self = false;
  protocol::TrustVerdict verdict;  // for the field role at the time asked about
};

/// Every key this node knows, judged at `at`: anchors first, then the rest, each by name.
std::vector<KnownKey> knownKeys(const ReadTxn& txn, const PublicKey& self,
                                const std::string& selfName, std::int64_t at);

/// The role a signer needs for an object of kind: field for clippings and retractions (a
/// coordinator also holds it), coordinator for releases, their parts, key certificates and
/// revocations. Whether a retraction takes effect is a separate rule (docs/trust.md).
protocol::Role requiredRole(protocol::Kind kind);

struct ReleaseRef {
  ObjectId id;
  std::string name;
  std::uint64_t sequence = 0;
};

/// What `fieldsync verify` says about one object. Exit statuses follow verdict().
struct ObjectReport {
  enum class Verdict { Valid = 0, Invalid = 1, Untrusted = 3 };

  ObjectId id;
  std::optional<std::string> invalid;             // bytes, id or signature; then nothing below
  std::optional<protocol::DecodedObject> object;  // present when the bytes decode, even when
                                                  // the signature or id does not hold
  protocol::TrustVerdict trust;                   // the signer, for requiredRole() at signedAt
  std::string signerName;  // from the trust path; else, for this node's own key, its name
                           // and "(this node)"; else empty
  // Clippings:
  std::vector<ReleaseRef> releases;  // the releases that list it
  // Releases:
  std::vector<std::string> chainProblems;  // "no release weekly@2 (gap)", "fork at weekly@3: ..."
  std::vector<ObjectId> missing;           // listed clippings this archive does not hold
  std::vector<std::pair<ObjectId, std::string>> invalidMembers;  // listed, held, not valid

  /// Invalid when the object, its chain or a listed clipping is invalid; else Untrusted when
  /// the signer is not trusted for the object's role; else Valid. Missing clippings are
  /// reported but do not change the verdict: they may simply not have arrived yet.
  Verdict verdict() const;
};

/// Verifies one stored object and tells its provenance. An id not in the archive gives a
/// report whose `invalid` says so.
ObjectReport verifyObject(const ReadTxn& txn, const protocol::TrustGraph& trust,
                          const ObjectId& id);

/// verifyObject for every object in the archive, spread over `threads` threads (0: one per
/// core), each with its own read transaction. Reports reach sink on the calling thread, in
/// id order.
void verifyEveryObject(const Archive& archive, const protocol::TrustGraph& trust,
                       const std::function<void(ObjectReport&&)>& sink, unsigned threads = 0);

/// The release named by "NAME" (its latest sequence), "NAME@SEQ", or an id or unique id
/// prefix; the problem (unknown, forked, not a release) when there is not exactly one.
Expected<ObjectId, std::string> resolveRelease(const ReadTxn& txn, std::string_view text);

/// Which clippings a new release lists. Every given filter must hold; none given: all.
struct ReleaseSelection {
  std::vector<std::string> tags;             // the clipping has every tag
  std::optional<std::string> sinceRelease;   // not listed by any release of this name
  std::optional<std::vector<ObjectId>> ids;  // only these (each must be a stored clipping)
};

/// Signs the next release of name with key: sequence = latest + 1, previous = the latest's
/// id, the selected clipping ids sorted. Refuses (the reason) when key is not trusted as a
/// coordinator by this node, the latest sequence of name is forked, an id is not a stored
/// clipping, or nothing is selected. Does not store it: the caller puts it in a batch.
Expected<protocol::VerifiedObject, std::string> makeRelease(
    const ReadTxn& txn, const protocol::SecretKey& key, const std::string& name,
    const ReleaseSelection& selection, const std::string& notes, std::int64_t now);

/// makeRelease, then stores the release in a batch that first checks, under the write lock,
/// that the chain's head is still the one it follows: two processes releasing the same name
/// at once cannot fork the chain. Retries a few times when the head moved, then refuses
/// ("... try again") rather than fork.
Expected<protocol::VerifiedObject, std::string> publishRelease(
    Archive& archive, const protocol::SecretKey& key, const std::string& name,
    const ReleaseSelection& selection, const std::string& notes, std::int64_t now);

/// Signs a key certificate or a revocation with key; refuses when key is not trusted as a
/// coordinator by this node (a key may always revoke itself).
Expected<protocol::VerifiedObject, std::string> makeKeyCert(const ReadTxn& txn,
                                                            const protocol::SecretKey& key,
                                                            protocol::KeyCert cert,
                                                            std::int64_t now);
Expected<protocol::VerifiedObject, std::string> makeRevocation(const ReadTxn& txn,
                                                               const protocol::SecretKey& key,
                                                               protocol::Revocation revocation,
                                                               std::int64_t now);

/// The plain-text manifest of a release for `fieldsync release export`: a '#' header line
/// naming the release, then one line per listed clipping: "<id> <published or -> <title>".
/// Clippings this archive lacks are listed with "(missing)" as their title.
std::string releaseManifest(const ReadTxn& txn, const ObjectId& release);

}  // namespace fieldsync::store
