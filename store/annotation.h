#pragma once
// Annotations: corrections to how a clipping reads that leave its signed bytes alone
// (docs/trust.md, "Annotation"). What an annotation changes, and where, lives here and only
// here; list, search, show and the web view read clippings through it.
//
// Rules:
//  - An annotation takes effect on this node when its signer signed the clipping it names
//    (and was not revoked by its signedAt), or is trusted here for the field role at its
//    signedAt (a trusted office or coordinator). Others are stored and forwarded like any
//    object but change nothing.
//  - The view is computed when read, from what the archive holds, so trust that arrives
//    later (a certificate) makes a waiting annotation take effect, and a revocation that
//    arrives later undoes one: nothing to settle, nothing written.
//  - Clippings with one content (protocol::contentHash), signed by several offices, are one
//    article: they read as one, corrected by the annotations of any of them (each judged
//    against the signer of the clipping it names).
//  - Several annotations: the latest signedAt wins per field (ties: the larger id); tag adds
//    and removes apply oldest first over the signed tags. A clipping marked a duplicate of a
//    held clipping is listed under that original; a chain of marks leads to its end, and a
//    cycle of marks to its smallest id, so every clipping is listed at most once and at least
//    one of a cycle is listed.
//  - A retracted clipping is gone: its annotations correct nothing, and a duplicate mark
//    pointing at it hides nothing.
// Threads: as ReadTxn. Errors: refusals are values; LMDB failures throw Error.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/keys.h"
#include "protocol/object.h"
#include "protocol/trust.h"
#include "store/archive.h"
#include "store/verdict.h"

namespace fieldsync::store {

/// An annotation's duplicateOf set to the id of 32 zero bytes (no object's) says "not a
/// duplicate of anything": as the latest mark it withdraws the earlier ones. A node that does
/// not know this reads a mark to a clipping it does not hold, which lists the clipping as
/// itself all the same.
inline constexpr ObjectId NOT_A_DUPLICATE{};
inline bool withdrawsDuplicateMark(const protocol::Annotation& a) {
  return a.duplicateOf && *a.duplicateOf == NOT_A_DUPLICATE;
}

/// Does annotation (its payload) take effect here on a clipping signed by clippingSigner?
bool annotationTakesEffect(const protocol::TrustGraph& trust, const protocol::Payload& annotation,
                           const PublicKey& clippingSigner);

/// One annotation as it bears on a clipping.
struct Correction {
  ObjectId annotation;
  ObjectId clipping;  // the clipping it names (one of the same content)
  PublicKey signer;
  std::string signerName;  // from the trust path; empty for an unknown key
  std::int64_t signedAt = 0;
  std::string reason;
  protocol::Annotation body;
};

/// A tag added or removed, and by which annotation.
struct TagChange {
  std::string tag;
  bool added = false;
  Correction by;
};

/// A clipping as this node reads it.
struct CorrectedClipping {
  protocol::DecodedObject object;         // as signed
  protocol::Clipping clipping;            // its title and tags corrected; the rest as signed
  ContentHash content;                    // protocol::contentHash of the signed clipping
  std::optional<Correction> retitled;     // whose title stands, when not the signed one
  std::vector<TagChange> tagChanges;      // oldest first
  std::optional<Correction> duplicate;    // the latest mark "duplicate of ..." or its withdrawal
  std::vector<Correction> withoutEffect;  // held, naming it, but changing nothing here
  bool corrected() const { return retitled || !tagChanges.empty() || duplicate; }
  /// The clipping it is marked a duplicate of: none when the latest mark withdraws the marks.
  std::optional<ObjectId> duplicateOf() const {
    if (!duplicate || withdrawsDuplicateMark(duplicate->body)) return std::nullopt;
    return duplicate->body.duplicateOf;
  }
};

/// The corrected view of clipping (decoded from txn; precondition: a clipping).
CorrectedClipping correctClipping(const ReadTxn& txn, const protocol::TrustGraph& trust,
                                  const protocol::DecodedObject& clipping);

/// Another signer of the same content.
struct CoSigner {
  ObjectId id;
  PublicKey signer;
  std::string name;  // from the trust path; empty for an unknown key
};

/// A clipping as list and search show it: corrected, with what was folded under it.
struct ListedClipping {
  CorrectedClipping view;  // of the clipping shown (of its content, the one signed first by a
                           // trusted key, else the one signed first)
  ClippingTrust trust = ClippingTrust::Invalid;
  std::vector<CoSigner> alsoSignedBy;  // the other signers of its content
  std::vector<ObjectId> duplicates;    // clippings marked duplicates of it, listed under it
};

/// Walks the ids a store query gave (list, search), in their order, and says for each what
/// to show: the clipping corrected and folded, or nothing (a duplicate, or another signer's
/// copy of content shown already). A content shows at the place of its first id.
/// Lifetime: refers to txn and trust, which must outlive it.
class Folder {
 public:
  Folder(const ReadTxn& txn, const protocol::TrustGraph& trust);
  /// What to show at id's place, or nothing. Ids that are not clippings: nothing.
  std::optional<ListedClipping> next(const ObjectId& id);
  /// The clipping id's original: where a chain of duplicate marks from it ends (itself when
  /// it is none's duplicate, or the original is not held).
  ObjectId originalOf(const ObjectId& id);
  /// The clippings whose marks lead to original (directly or along a chain), by id.
  std::vector<ObjectId> duplicatesOf(const ObjectId& original);
  /// The clipping shown for id's content, and the others of that content.
  ObjectId representative(const protocol::DecodedObject& clipping,
                          std::vector<CoSigner>* others = nullptr);

 private:
  const CorrectedClipping* view(const ObjectId& id);
  const ReadTxn& m_txn;
  const protocol::TrustGraph& m_trust;
  Judge m_judge;
  std::map<ObjectId, std::optional<CorrectedClipping>> m_views;
  std::set<ContentHash> m_shownContent;
};

/// The ids to walk (through a Folder) for a search of words as list and search show it: the
/// store's hits on the signed text, and the clippings that an annotation held retitles with a
/// title holding one of the words, in list() order. Keep only those for which holdsEveryWord:
/// a clipping is found by its title as signed or as corrected here, and its body.
std::vector<ObjectId> correctedSearch(const ReadTxn& txn, std::string_view words);

/// Do view's titles (corrected here, and as signed) and body hold every search term of words?
bool holdsEveryWord(const CorrectedClipping& view, std::string_view words);

/// Does a `list --tag` need every clipping, rather than those signed with tag: true when an
/// annotation held adds tag (whether or not it takes effect; the view decides).
bool someAnnotationAdds(const ReadTxn& txn, std::string_view tag);

/// What `fieldsync annotate` asks for. Title and tags are folded as import folds them.
struct AnnotateRequest {
  ObjectId clipping;
  std::string title;
  std::vector<std::string> addTags;
  std::vector<std::string> removeTags;
  std::optional<ObjectId> duplicateOf;  // NOT_A_DUPLICATE: withdraw the mark
  std::string reason;
};

struct AnnotateResult {
  ObjectId annotation;
  CorrectedClipping view;  // the clipping as this node reads it now
};

/// Signs an annotation of request with key and stores it. Refuses (the reason) when the
/// clipping or duplicateOf is not a clipping held here, when key neither signed the clipping
/// nor is trusted here for the field role at now (it would change nothing on this node), or
/// when it would change nothing in the clipping's current view (same title, tags already
/// there or absent, the same duplicate mark); a title or tag out of bounds.
Expected<AnnotateResult, std::string> annotate(Archive& archive, const protocol::SecretKey& key,
                                               const AnnotateRequest& request, std::int64_t now);

}  // namespace fieldsync::store
