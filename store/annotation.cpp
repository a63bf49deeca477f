#include "store/annotation.h"

#include <algorithm>
#include <cstdint>
#include <tuple>

#include "protocol/text.h"
#include "store/provenance.h"
#include "store/stored_object.h"

namespace fieldsync::store {
namespace {

using protocol::Kind;
using protocol::Role;

/// A chain of duplicate marks longer than this ends where it was cut.
constexpr std::size_t MAX_CHAIN = 64;

std::optional<protocol::DecodedObject> loadClipping(const ReadTxn& txn, const ObjectId& id) {
  auto object = loadStored(txn, id);
  if (!object || object->payload.kind() != Kind::Clipping) return std::nullopt;
  return object;
}

std::string nameOf(const protocol::TrustGraph& trust, const PublicKey& key, std::int64_t at) {
  return trust.evaluate(key, Role::Field, at).name;
}

}  // namespace

bool annotationTakesEffect(const protocol::TrustGraph& trust, const protocol::Payload& annotation,
                           const PublicKey& clippingSigner) {
  const auto verdict = trust.evaluate(annotation.signer, Role::Field, annotation.signedAt);
  if (verdict.trusted()) return true;
  // A key's own clippings, unless it was revoked by then (a stolen key retitling them).
  return annotation.signer == clippingSigner && verdict.status != protocol::TrustStatus::Revoked;
}

CorrectedClipping correctClipping(const ReadTxn& txn, const protocol::TrustGraph& trust,
                                  const protocol::DecodedObject& clipping) {
  CorrectedClipping view{clipping, *clipping.payload.clipping(), {}, {}, {}, {}, {}};
  view.content = protocol::contentHash(view.clipping);
  auto members = txn.sameContent(view.content);
  if (members.empty()) members.emplace_back(clipping.payload.signer, clipping.id);

  std::vector<Correction> effective;
  for (const auto& [memberSigner, member] : members) {
    for (const AnnotationRef& ref : txn.annotationsNaming(member)) {
      if (ref.original) continue;
      auto object = loadStored(txn, ref.annotation);
      if (!object || object->payload.kind() != Kind::Annotation) continue;
      const auto& body = std::get<protocol::Annotation>(object->payload.body);
      if (body.clipping != member) continue;
      Correction c{object->id,
                   member,
                   object->payload.signer,
                   nameOf(trust, object->payload.signer, object->payload.signedAt),
                   object->payload.signedAt,
                   body.reason,
                   body};
      if (annotationTakesEffect(trust, object->payload, memberSigner))
        effective.push_back(std::move(c));
      else
        view.withoutEffect.push_back(std::move(c));
    }
  }
  auto order = [](const Correction& a, const Correction& b) {
    return std::tie(a.signedAt, a.annotation) < std::tie(b.signedAt, b.annotation);
  };
  std::sort(effective.begin(), effective.end(), order);
  std::sort(view.withoutEffect.begin(), view.withoutEffect.end(), order);

  std::set<std::string> tags(view.clipping.tags.begin(), view.clipping.tags.end());
  for (const Correction& c : effective) {
    if (!c.body.title.empty()) view.retitled = c;
    if (c.body.duplicateOf) view.duplicate = c;
    for (const auto& tag : c.body.addTags)
      if (tags.insert(tag).second) view.tagChanges.push_back({tag, true, c});
    for (const auto& tag : c.body.removeTags)
      if (tags.erase(tag) != 0) view.tagChanges.push_back({tag, false, c});
  }
  if (view.retitled) view.clipping.title = view.retitled->body.title;
  view.clipping.tags.assign(tags.begin(), tags.end());
  return view;
}

// --- Folding ------------------------------------------------------------------------------------

Folder::Folder(const ReadTxn& txn, const protocol::TrustGraph& trust)
    : m_txn(txn), m_trust(trust), m_judge(trust) {}

const CorrectedClipping* Folder::view(const ObjectId& id) {
  auto it = m_views.find(id);
  if (it == m_views.end()) {
    std::optional<CorrectedClipping> view;
    if (auto object = loadClipping(m_txn, id)) view = correctClipping(m_txn, m_trust, *object);
    it = m_views.emplace(id, std::move(view)).first;
  }
  return it->second ? &*it->second : nullptr;
}

ObjectId Folder::originalOf(const ObjectId& id) {
  std::vector<ObjectId> path{id};
  ObjectId at = id;
  while (path.size() < MAX_CHAIN) {
    const CorrectedClipping* here = view(at);
    if (here == nullptr || !here->duplicateOf()) return at;
    const ObjectId next = *here->duplicateOf();
    const CorrectedClipping* there = view(next);
    // Not held (or retracted), or the same article: the chain ends here.
    if (there == nullptr || there->content == here->content) return at;
    if (auto seen = std::find(path.begin(), path.end(), next); seen != path.end())
      return *std::min_element(seen, path.end());  // a cycle: its smallest id stands
    path.push_back(next);
    at = next;
  }
  return at;
}

std::vector<ObjectId> Folder::duplicatesOf(const ObjectId& original) {
  const CorrectedClipping* root = view(original);
  if (root == nullptr) return {};
  std::set<ObjectId> found;
  std::vector<ObjectId> pending;
  for (const auto& member : m_txn.sameContent(root->content)) pending.push_back(member.second);
  std::set<ObjectId> visited;
  while (!pending.empty()) {
    const ObjectId at = pending.back();
    pending.pop_back();
    if (!visited.insert(at).second || visited.size() > 4 * MAX_CHAIN) continue;
    for (const AnnotationRef& ref : m_txn.annotationsNaming(at)) {
      if (!ref.original) continue;
      auto object = loadStored(m_txn, ref.annotation);
      if (!object || object->payload.kind() != Kind::Annotation) continue;
      const ObjectId marked = std::get<protocol::Annotation>(object->payload.body).clipping;
      const CorrectedClipping* v = view(marked);
      if (v == nullptr || v->content == root->content || found.contains(marked)) continue;
      const CorrectedClipping* end = view(originalOf(marked));
      if (end == nullptr || end->content != root->content) continue;
      found.insert(marked);
      pending.push_back(marked);
    }
  }
  return {found.begin(), found.end()};
}

ObjectId Folder::representative(const protocol::DecodedObject& clipping,
                                std::vector<CoSigner>* others) {
  const auto members = m_txn.sameContent(protocol::contentHash(*clipping.payload.clipping()));
  struct Candidate {
    bool untrusted;
    std::int64_t signedAt;
    ObjectId id;
    PublicKey signer;
  };
  std::vector<Candidate> candidates;
  for (const auto& [signer, id] : members) {
    auto object = id == clipping.id ? std::optional(clipping) : loadClipping(m_txn, id);
    if (!object) continue;
    candidates.push_back(
        {m_judge.judge(*object) != ClippingTrust::Trusted, object->payload.signedAt, id, signer});
  }
  if (candidates.empty()) return clipping.id;
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.untrusted, a.signedAt, a.id) < std::tie(b.untrusted, b.signedAt, b.id);
  });
  if (others != nullptr) {
    for (std::size_t i = 1; i < candidates.size(); ++i)
      others->push_back({candidates[i].id, candidates[i].signer,
                         nameOf(m_trust, candidates[i].signer, candidates[i].signedAt)});
  }
  return candidates.front().id;
}

std::optional<ListedClipping> Folder::next(const ObjectId& id) {
  const CorrectedClipping* here = view(id);
  if (here == nullptr) return std::nullopt;
  const ObjectId original = originalOf(id);
  if (original != id) {
    const CorrectedClipping* end = view(original);
    if (end != nullptr && end->content != here->content) return std::nullopt;  // listed there
  }
  if (!m_shownContent.insert(here->content).second) return std::nullopt;
  ListedClipping listed;
  const ObjectId shown = representative(here->object, &listed.alsoSignedBy);
  const CorrectedClipping* view = this->view(shown);
  if (view == nullptr) return std::nullopt;
  listed.view = *view;
  listed.trust = m_judge.judge(view->object);
  listed.duplicates = duplicatesOf(shown);
  return listed;
}

bool someAnnotationAdds(const ReadTxn& txn, std::string_view tag) {
  for (const ObjectId& id : txn.ofKind(Kind::Annotation)) {
    auto object = loadStored(txn, id);
    if (!object || object->payload.kind() != Kind::Annotation) continue;
    const auto& adds = std::get<protocol::Annotation>(object->payload.body).addTags;
    if (std::find(adds.begin(), adds.end(), tag) != adds.end()) return true;
  }
  return false;
}

std::vector<ObjectId> correctedSearch(const ReadTxn& txn, std::string_view words) {
  std::vector<ObjectId> hits = txn.search(words);
  const auto terms = protocol::searchTerms(words);
  const std::set<std::string> wanted(terms.begin(), terms.end());
  std::set<ObjectId> found(hits.begin(), hits.end());
  bool more = false;
  for (const ObjectId& id : txn.ofKind(Kind::Annotation)) {
    auto object = loadStored(txn, id);
    if (!object || object->payload.kind() != Kind::Annotation) continue;
    const auto& note = std::get<protocol::Annotation>(object->payload.body);
    if (note.title.empty() || found.contains(note.clipping) || !txn.contains(note.clipping))
      continue;
    const auto titleTerms = protocol::searchTerms(note.title);
    if (std::none_of(titleTerms.begin(), titleTerms.end(),
                     [&](const std::string& t) { return wanted.contains(t); }))
      continue;
    found.insert(note.clipping);
    hits.push_back(note.clipping);
    more = true;
  }
  return more ? txn.inListOrder(std::move(hits)) : hits;
}

bool holdsEveryWord(const CorrectedClipping& view, std::string_view words) {
  auto held = protocol::searchTerms(view.clipping.title);
  for (const auto* text : {&view.object.payload.clipping()->title, &view.clipping.body}) {
    const auto more = protocol::searchTerms(*text);
    held.insert(held.end(), more.begin(), more.end());
  }
  const std::set<std::string> all(held.begin(), held.end());
  const auto terms = protocol::searchTerms(words);
  return std::all_of(terms.begin(), terms.end(),
                     [&](const std::string& t) { return all.contains(t); });
}

// --- Writing ------------------------------------------------------------------------------------

Expected<AnnotateResult, std::string> annotate(Archive& archive, const protocol::SecretKey& key,
                                               const AnnotateRequest& request, std::int64_t now) {
  const PublicKey self = key.publicKey();
  std::int64_t at = now;
  protocol::Annotation body;
  body.clipping = request.clipping;
  body.reason = std::string(protocol::trimSpace(request.reason));
  {
    auto txn = archive.beginRead();
    auto target = loadClipping(txn, request.clipping);
    if (!target) return "no clipping " + request.clipping.hex() + " is held here";
    const protocol::TrustGraph trust = loadTrust(txn);
    if (!annotationTakesEffect(trust, protocol::Payload{self, now, body}, target->payload.signer))
      return "this node's key " + self.hex() + " neither signed " + request.clipping.hex() +
             " nor is trusted here as an office or coordinator, so an annotation by it would "
             "change nothing on this node (docs/trust.md, \"Annotation\")";
    const CorrectedClipping current = correctClipping(txn, trust, *target);

    // Title and tags folded as import folds a clipping's.
    protocol::Clipping asked;
    asked.title = request.title.empty() ? "-" : request.title;
    for (const auto& tag : request.addTags) asked.tags.push_back(tag);
    auto folded = protocol::normalizeClipping(asked);
    if (!folded) return "--title/--tag: " + folded.error();
    if (!request.title.empty() && folded->title != current.clipping.title)
      body.title = folded->title;
    const auto& now_ = current.clipping.tags;
    auto held = [&](const std::string& tag) {
      return std::binary_search(now_.begin(), now_.end(), tag);
    };
    for (const auto& tag : folded->tags)
      if (!held(tag)) body.addTags.push_back(tag);
    for (const auto& typed : request.removeTags) {
      const std::string tag = protocol::normalizeTag(typed);
      if (tag.empty()) return std::string("--untag: an empty tag");
      if (std::binary_search(folded->tags.begin(), folded->tags.end(), tag))
        return "tag " + tag + " is both added and removed";
      if (held(tag)) body.removeTags.push_back(tag);
    }
    std::sort(body.removeTags.begin(), body.removeTags.end());
    body.removeTags.erase(std::unique(body.removeTags.begin(), body.removeTags.end()),
                          body.removeTags.end());

    if (request.duplicateOf && *request.duplicateOf == NOT_A_DUPLICATE) {
      if (!current.duplicateOf())
        return request.clipping.hex() + " is not marked a duplicate here: nothing to withdraw";
      body.duplicateOf = NOT_A_DUPLICATE;
    } else if (request.duplicateOf) {
      if (*request.duplicateOf == request.clipping)
        return std::string("a clipping is not a duplicate of itself");
      auto original = loadClipping(txn, *request.duplicateOf);
      if (!original) return "no clipping " + request.duplicateOf->hex() + " is held here";
      if (protocol::contentHash(*original->payload.clipping()) == current.content)
        return request.duplicateOf->hex() +
               " has the same content: the two are listed as one already";
      if (current.duplicateOf() != request.duplicateOf) body.duplicateOf = request.duplicateOf;
    }
    if (body.title.empty() && body.addTags.empty() && body.removeTags.empty() && !body.duplicateOf)
      return "this changes nothing in " + request.clipping.hex() +
             " as it reads here (the same title, tags already there or not there, the same "
             "duplicate mark)";
    // The latest signedAt wins a field: signed in the same second as a correction in effect,
    // this one could lose the tie to it (the larger id wins), so it is signed a second later.
    auto after = [&](const Correction& c) {
      if (c.signedAt >= at && c.signedAt < INT64_MAX) at = c.signedAt + 1;
    };
    if (current.retitled) after(*current.retitled);
    if (current.duplicate) after(*current.duplicate);
    for (const auto& change : current.tagChanges) after(change.by);
  }
  auto object = protocol::sign(protocol::Payload{self, at, std::move(body)}, key);
  if (!object) return "cannot sign the annotation: " + object.error().message();
  archive.write([&](WriteTxn& txn) { (void)txn.put(*object); });

  auto txn = archive.beginRead();
  auto target = loadClipping(txn, request.clipping);
  if (!target) return "the clipping " + request.clipping.hex() + " is no longer held here";
  return AnnotateResult{object->id(), correctClipping(txn, loadTrust(txn), *target)};
}

}  // namespace fieldsync::store
