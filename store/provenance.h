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

// --- Release chains ---------------------------------------------------------------------------
// The chain of a release name is made of the releases of that name whose signer this node
// trusts as coordinator at the release's signedAt. Releases of the name by any other key are
// that key's own chain, shown apart: they can neither fork, extend nor narrow the trusted one.

/// Whose chain a release belongs to: empty for the trusted chain, else the stranger's key.
using ChainOwner = std::optional<PublicKey>;
ChainOwner chainOwner(const protocol::TrustGraph& trust, const protocol::Payload& release);

/// The releases of name in owner's chain (all, or only those with `sequence`), by sequence
/// then id. Two entries with one sequence are a fork.
std::vector<ReleaseEntry> chainReleases(const ReadTxn& txn, const protocol::TrustGraph& trust,
                                        std::string_view name, const ChainOwner& owner = {},
                                        std::optional<std::uint64_t> sequence = std::nullopt);

/// Every chain of name: the trusted one first (when it has releases), then each stranger's.
std::vector<std::pair<ChainOwner, std::vector<ReleaseEntry>>> chainsOf(
    const ReadTxn& txn, const protocol::TrustGraph& trust, std::string_view name);

// --- Members ------------------------------------------------------------------------------------

/// The members of a release: its own clipping ids, or those of its parts (docs/protocol.md,
/// "Release parts"). The one way every reader (show, verify, manifest, --since-release,
/// bundles) learns what a release lists.
struct ReleaseMembers {
  std::vector<ObjectId> clippings;  // sorted, unique; with parts missing, those of the held ones
  std::size_t parts = 0;            // parts the release names (0: it lists its clippings itself)
  std::vector<std::uint32_t> missingParts;  // indexes (from 1) of parts not held yet
  std::vector<std::string> problems;        // parts that break the rules: the release is invalid
  bool complete() const { return missingParts.empty() && problems.empty(); }
};
/// Precondition: release holds a Release. Each part held is verified (bytes, id, signature).
ReleaseMembers releaseMembers(const ReadTxn& txn, const protocol::DecodedObject& release);
/// The members of the release with this id; empty when the archive holds no release by it.
std::optional<ReleaseMembers> releaseMembers(const ReadTxn& txn, const ObjectId& release);

/// The releases that list part as theirs: of its name and sequence, signed by its signer,
/// naming its id among their parts. Empty: an orphan part (or not a part).
std::vector<ReleaseEntry> releasesOfPart(const ReadTxn& txn, const ObjectId& part);

/// The releases that list clipping, themselves or through a part, by name, sequence and id.
std::vector<ReleaseEntry> releasesContaining(const ReadTxn& txn, const ObjectId& clipping);

/// Where retraction plugs in: the retraction that took this clipping back on this node, when
/// one did. A retracted member is counted apart, not as missing. Until the store keeps
/// tombstones (ReadTxn::tombstone) nothing is retracted.
std::optional<ObjectId> retractedBy(const ReadTxn& txn, const ObjectId& clipping);

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
  std::vector<ReleaseRef> releases;          // the releases of trusted chains that list it
  std::vector<ReleaseRef> strangerReleases;  // releases by keys not trusted as coordinator
  // Releases (chainProblems also for parts):
  std::vector<std::string> chainProblems;   // "gap: weekly@2 ...", "fork at weekly@3: ...",
                                            // "part 2: ..." (a part that breaks the rules)
  std::size_t members = 0;                  // clippings listed (of the parts held)
  std::size_t parts = 0;                    // parts it names (0: lists its clippings itself)
  std::vector<std::uint32_t> missingParts;  // parts not held yet (their members are unknown)
  std::vector<ObjectId> missing;            // listed clippings this archive does not hold
  std::vector<ObjectId> retracted;          // listed clippings retracted on this node
  std::vector<std::pair<ObjectId, std::string>> invalidMembers;  // listed, held, not valid
  /// Listed, valid, but their signer was not trusted for the field role when it signed:
  /// the id and the trust status ("unknown", "revoked", ...).
  std::vector<std::pair<ObjectId, std::string>> untrustedMembers;
  bool strangerChain = false;  // a release whose signer is not trusted as coordinator
  // Parts:
  std::vector<ReleaseRef> partOf;  // the releases that list it; empty: an orphan

  /// Invalid when the object, its chain, a part or a listed clipping is invalid; else
  /// Untrusted when the signer is not trusted for the object's role; else Valid. Missing
  /// clippings and parts are reported but do not change the verdict: they may simply not have
  /// arrived yet; untrusted members are reported and do not either (the release's signer
  /// vouched for them: `release create --include-untrusted`).
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

/// The release named by "NAME" (the latest of its trusted chain), "NAME@SEQ" (in the trusted
/// chain), or an id or unique id prefix (any release); the problem (unknown, forked, only
/// strangers' releases of the name, not a release) when there is not exactly one.
Expected<ObjectId, std::string> resolveRelease(const ReadTxn& txn, std::string_view text);

/// Which clippings a new release lists. Every given filter must hold; none given: all.
/// Only clippings that are valid and whose signer was trusted for the field role when it
/// signed are listed, unless includeUntrusted (invalid ones never are).
struct ReleaseSelection {
  std::vector<std::string> tags;             // the clipping has every tag
  std::optional<std::string> sinceRelease;   // not listed by the trusted chain of this name
  std::optional<std::vector<ObjectId>> ids;  // only these (each must be a stored clipping,
                                             // trusted unless includeUntrusted)
  bool includeUntrusted = false;
};

/// A clipping a release left out, and why: "invalid", or its signer's trust status.
struct LeftOut {
  ObjectId id;
  std::string title;
  std::string reason;  // "invalid", "unknown", "revoked", "expired", "wrong-role", "retracted"
};

/// A signed release: its parts (when it has more than protocol::MAX_IDS_PER_OBJECT members),
/// then the release itself; and the clippings the selection matched but left out.
struct MadeRelease {
  protocol::VerifiedObject release;
  std::vector<protocol::VerifiedObject> parts;
  std::size_t members = 0;
  std::vector<LeftOut> leftOut;
};

/// Signs the next release of name with key: sequence = the trusted chain's latest + 1,
/// previous = that latest's id, the selected clipping ids sorted, in parts when there are
/// more than one object holds. Refuses (the reason) when key is not trusted as a coordinator
/// by this node, the trusted chain's head is forked, an id is not a stored clipping (or is
/// untrusted without includeUntrusted), a release of sinceRelease has parts not held yet, or
/// nothing is selected. Does not store it: the caller puts its objects in one batch.
Expected<MadeRelease, std::string> makeRelease(const ReadTxn& txn, const protocol::SecretKey& key,
                                               const std::string& name,
                                               const ReleaseSelection& selection,
                                               const std::string& notes, std::int64_t now);

/// makeRelease, then stores the parts and the release in one batch that first checks, under
/// the write lock, that no release of name arrived since makeRelease read the chain (so the
/// trusted chain's head is still the one it follows): two processes releasing the same name
/// at once cannot fork the chain. Retries a few times when one did, then refuses ("... try
/// again") rather than fork.
Expected<MadeRelease, std::string> publishRelease(Archive& archive, const protocol::SecretKey& key,
                                                  const std::string& name,
                                                  const ReleaseSelection& selection,
                                                  const std::string& notes, std::int64_t now);

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
/// naming the release, then one line per member (releaseMembers): "<id> <published or ->
/// <title>". Clippings this archive lacks are listed with "(missing)" as their title. Throws
/// Error when the release is not held or has parts not held yet.
std::string releaseManifest(const ReadTxn& txn, const ObjectId& release);

}  // namespace fieldsync::store
