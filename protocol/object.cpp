#include "protocol/object.h"

#include <capnp/message.h>
#include <kj/exception.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>

#include "protocol/text.h"
#include "schema/fieldsync.capnp.h"

namespace fieldsync::protocol {
namespace {

// --- Writing ---------------------------------------------------------------------------------
// Empty Text and List fields stay unset (null): one content, one encoding.

capnp::Text::Reader textOf(const std::string& s) { return {s.data(), s.size()}; }
capnp::Data::Reader dataOf(std::span<const std::uint8_t> b) { return {b.data(), b.size()}; }

template <typename Setter>
void setText(const std::string& value, Setter&& set) {
  if (!value.empty()) set(textOf(value));
}

template <typename Init>
void setTextList(const std::vector<std::string>& values, Init&& init) {
  if (values.empty()) return;
  auto list = init(static_cast<unsigned>(values.size()));
  for (unsigned i = 0; i < values.size(); ++i) list.set(i, textOf(values[i]));
}

template <typename Init>
void setIds(const std::vector<Digest>& ids, Init&& init) {
  if (ids.empty()) return;
  auto list = init(static_cast<unsigned>(ids.size()));
  for (unsigned i = 0; i < ids.size(); ++i) list.set(i, dataOf(ids[i].bytes));
}

void writeClipping(schema::Clipping::Builder b, const Clipping& c) {
  setText(c.title, [&](auto t) { b.setTitle(t); });
  setText(c.source, [&](auto t) { b.setSource(t); });
  setTextList(c.authors, [&](unsigned n) { return b.initAuthors(n); });
  setText(c.published, [&](auto t) { b.setPublished(t); });
  setText(c.url, [&](auto t) { b.setUrl(t); });
  setTextList(c.tags, [&](unsigned n) { return b.initTags(n); });
  setText(c.language, [&](auto t) { b.setLanguage(t); });
  setText(c.body, [&](auto t) { b.setBody(t); });
  setText(c.collection, [&](auto t) { b.setCollection(t); });
}

void writeRelease(schema::Release::Builder b, const Release& r) {
  setText(r.name, [&](auto t) { b.setName(t); });
  b.setSequence(r.sequence);
  if (r.previous) b.setPrevious(dataOf(r.previous->bytes));
  setIds(r.clippings, [&](unsigned n) { return b.initClippings(n); });
  setText(r.notes, [&](auto t) { b.setNotes(t); });
  setIds(r.parts, [&](unsigned n) { return b.initParts(n); });
}

void writeReleasePart(schema::ReleasePart::Builder b, const ReleasePart& p) {
  setText(p.name, [&](auto t) { b.setName(t); });
  b.setSequence(p.sequence);
  b.setIndex(p.index);
  setIds(p.clippings, [&](unsigned n) { return b.initClippings(n); });
}

void writeRetraction(schema::Retraction::Builder b, const Retraction& r) {
  setIds(r.clippings, [&](unsigned n) { return b.initClippings(n); });
  if (r.subject) b.setSubject(dataOf(r.subject->bytes));
  b.setSince(r.since);
  setText(r.reason, [&](auto t) { b.setReason(t); });
}

void writeAnnotation(schema::Annotation::Builder b, const Annotation& a) {
  b.setClipping(dataOf(a.clipping.bytes));
  setText(a.title, [&](auto t) { b.setTitle(t); });
  setTextList(a.addTags, [&](unsigned n) { return b.initAddTags(n); });
  setTextList(a.removeTags, [&](unsigned n) { return b.initRemoveTags(n); });
  if (a.duplicateOf) b.setDuplicateOf(dataOf(a.duplicateOf->bytes));
  setText(a.reason, [&](auto t) { b.setReason(t); });
}

schema::Role toSchema(Role role) {
  return role == Role::Coordinator ? schema::Role::COORDINATOR : schema::Role::FIELD;
}

template <typename Root>
std::vector<std::uint8_t> canonicalBytes(Root reader) {
  kj::Array<capnp::word> words = capnp::canonicalize(reader);
  auto bytes = words.asBytes();
  return {bytes.begin(), bytes.end()};
}

Digest taggedHash(std::string_view tag, std::span<const std::uint8_t> bytes) {
  Digest digest;
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, digest.bytes.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(tag.data()), tag.size());
  crypto_generichash_update(&state, bytes.data(), bytes.size());
  crypto_generichash_final(&state, digest.bytes.data(), digest.bytes.size());
  return digest;
}

/// SIG_TAG || id: the message an object's signature covers.
std::array<std::uint8_t, SIG_TAG.size() + ID_BYTES> signedMessage(const ObjectId& id) {
  std::array<std::uint8_t, SIG_TAG.size() + ID_BYTES> message{};
  std::memcpy(message.data(), SIG_TAG.data(), SIG_TAG.size());
  std::memcpy(message.data() + SIG_TAG.size(), id.bytes.data(), ID_BYTES);
  return message;
}

/// The canonical SignedObject bytes for a canonical payload and its signature.
std::vector<std::uint8_t> encodeSignedObject(std::span<const std::uint8_t> payload,
                                             const Signature& signature) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<schema::SignedObject>();
  root.setPayload(dataOf(payload));
  root.setSignature(dataOf(signature.bytes));
  return canonicalBytes(root.asReader());
}

// --- Reading ---------------------------------------------------------------------------------

/// Thrown inside decoding and turned into a Rejection at its edge.
struct Reject {
  Reason reason;
  std::string detail;
};

std::string readText(bool has, capnp::Text::Reader text, const char* field) {
  if (!has) return {};
  if (text.size() == 0)
    throw Reject{Reason::NonCanonical, std::string(field) + " is set but empty"};
  return std::string(text.begin(), text.size());  // UTF-8 and bounds: checkBody()
}

std::vector<std::string> readTextList(bool has, capnp::List<capnp::Text>::Reader list,
                                      const char* field) {
  std::vector<std::string> out;
  if (!has) return out;
  if (list.size() == 0)
    throw Reject{Reason::NonCanonical, std::string(field) + " is set but empty"};
  out.reserve(list.size());
  for (auto text : list) out.push_back(readText(true, text, field));
  return out;
}

template <std::size_t N>
std::array<std::uint8_t, N> readFixed(capnp::Data::Reader data, const char* field) {
  if (data.size() != N)
    throw Reject{Reason::InvalidField,
                 std::string(field) + " must be " + std::to_string(N) + " bytes"};
  std::array<std::uint8_t, N> out{};
  std::memcpy(out.data(), data.begin(), N);
  return out;
}

Clipping readClipping(schema::Clipping::Reader r) {
  Clipping c;
  c.title = readText(r.hasTitle(), r.getTitle(), "title");
  c.source = readText(r.hasSource(), r.getSource(), "source");
  c.authors = readTextList(r.hasAuthors(), r.getAuthors(), "authors");
  c.published = readText(r.hasPublished(), r.getPublished(), "published");
  c.url = readText(r.hasUrl(), r.getUrl(), "url");
  c.tags = readTextList(r.hasTags(), r.getTags(), "tags");
  c.language = readText(r.hasLanguage(), r.getLanguage(), "language");
  c.body = readText(r.hasBody(), r.getBody(), "body");
  c.collection = readText(r.hasCollection(), r.getCollection(), "collection");
  return c;
}

std::vector<Digest> readIds(bool has, capnp::List<capnp::Data>::Reader list, const char* field) {
  std::vector<Digest> ids;
  if (!has) return ids;
  if (list.size() == 0)
    throw Reject{Reason::NonCanonical, std::string(field) + " is set but empty"};
  if (list.size() > MAX_IDS_PER_OBJECT)
    throw Reject{Reason::InvalidField, std::string(field) + " lists more than " +
                                           std::to_string(MAX_IDS_PER_OBJECT) + " ids"};
  ids.reserve(list.size());
  for (auto id : list) ids.push_back(Digest{readFixed<ID_BYTES>(id, field)});
  return ids;
}

Release readRelease(schema::Release::Reader r) {
  Release release;
  release.name = readText(r.hasName(), r.getName(), "name");
  release.sequence = r.getSequence();
  if (r.hasPrevious()) release.previous = Digest{readFixed<ID_BYTES>(r.getPrevious(), "previous")};
  release.clippings = readIds(r.hasClippings(), r.getClippings(), "clippings");
  release.notes = readText(r.hasNotes(), r.getNotes(), "notes");
  release.parts = readIds(r.hasParts(), r.getParts(), "parts");
  return release;
}

ReleasePart readReleasePart(schema::ReleasePart::Reader r) {
  ReleasePart part;
  part.name = readText(r.hasName(), r.getName(), "name");
  part.sequence = r.getSequence();
  part.index = r.getIndex();
  part.clippings = readIds(r.hasClippings(), r.getClippings(), "clippings");
  return part;
}

Retraction readRetraction(schema::Retraction::Reader r) {
  Retraction retraction;
  retraction.clippings = readIds(r.hasClippings(), r.getClippings(), "clippings");
  if (r.hasSubject())
    retraction.subject = PublicKey{readFixed<PUBLIC_KEY_BYTES>(r.getSubject(), "subject")};
  retraction.since = r.getSince();
  retraction.reason = readText(r.hasReason(), r.getReason(), "reason");
  return retraction;
}

Annotation readAnnotation(schema::Annotation::Reader r) {
  Annotation a;
  a.clipping = Digest{readFixed<ID_BYTES>(r.getClipping(), "clipping")};
  a.title = readText(r.hasTitle(), r.getTitle(), "title");
  a.addTags = readTextList(r.hasAddTags(), r.getAddTags(), "addTags");
  a.removeTags = readTextList(r.hasRemoveTags(), r.getRemoveTags(), "removeTags");
  if (r.hasDuplicateOf())
    a.duplicateOf = Digest{readFixed<ID_BYTES>(r.getDuplicateOf(), "duplicateOf")};
  a.reason = readText(r.hasReason(), r.getReason(), "reason");
  return a;
}

Role readRole(schema::Role role) {
  switch (role) {
    case schema::Role::FIELD:
      return Role::Field;
    case schema::Role::COORDINATOR:
      return Role::Coordinator;
  }
  throw Reject{Reason::InvalidField, "unknown role"};
}

Body readBody(schema::Payload::Body::Reader body) {
  switch (body.which()) {
    case schema::Payload::Body::CLIPPING:
      return readClipping(body.getClipping());
    case schema::Payload::Body::RELEASE:
      return readRelease(body.getRelease());
    case schema::Payload::Body::KEY_CERT: {
      auto r = body.getKeyCert();
      return KeyCert{PublicKey{readFixed<PUBLIC_KEY_BYTES>(r.getSubject(), "subject")},
                     readRole(r.getRole()), readText(r.hasName(), r.getName(), "name"),
                     r.getValidUntil()};
    }
    case schema::Payload::Body::REVOCATION: {
      auto r = body.getRevocation();
      return Revocation{PublicKey{readFixed<PUBLIC_KEY_BYTES>(r.getSubject(), "subject")},
                        r.getSince(), readText(r.hasReason(), r.getReason(), "reason")};
    }
    case schema::Payload::Body::RETRACTION:
      return readRetraction(body.getRetraction());
    case schema::Payload::Body::RELEASE_PART:
      return readReleasePart(body.getReleasePart());
    case schema::Payload::Body::ANNOTATION:
      return readAnnotation(body.getAnnotation());
  }
  throw Reject{Reason::UnknownKind, "unknown body kind " + std::to_string(unsigned(body.which()))};
}

/// A canonical single-segment message read from untrusted bytes. Cap'n Proto reads whole
/// 8-byte words, so bytes that do not sit at an aligned address (an LMDB value, a network
/// frame) are copied to an aligned buffer first; aligned bytes (a payload inside an already
/// aligned object) are read in place and must outlive the reader.
class CanonicalReader {
 public:
  CanonicalReader(std::span<const std::uint8_t> bytes, const Limits& limits, const char* what)
      : m_copy(copyIfUnaligned(bytes, what)),
        m_segment(
            m_copy.size() ? m_copy.begin() : reinterpret_cast<const capnp::word*>(bytes.data()),
            bytes.size() / sizeof(capnp::word)),
        m_reader(kj::arrayPtr(&m_segment, 1), options(limits, bytes.size())) {
    if (!m_reader.isCanonical())
      throw Reject{Reason::NonCanonical, std::string(what) + " is not in canonical form"};
  }
  template <typename T>
  typename T::Reader root() {
    return m_reader.getRoot<T>();
  }

 private:
  static kj::Array<capnp::word> copyIfUnaligned(std::span<const std::uint8_t> bytes,
                                                const char* what) {
    if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0)
      throw Reject{Reason::Malformed, std::string(what) + " is truncated (" +
                                          std::to_string(bytes.size()) +
                                          " bytes, not a whole number of 8-byte words)"};
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(capnp::word) == 0) return {};
    auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), bytes.data(), bytes.size());
    return words;
  }
  static capnp::ReaderOptions options(const Limits& limits, std::size_t size) {
    capnp::ReaderOptions o;
    // Canonical messages hold no shared pointers, so a reader visits each word a few times
    // at most (the canonical check, then our reads); 4x the size bounds any amplification.
    o.traversalLimitInWords = 4 * (size / sizeof(capnp::word)) + 16;
    o.nestingLimit = limits.nestingLimit;
    return o;
  }

  kj::Array<capnp::word> m_copy;  // empty when the bytes are read in place
  kj::ArrayPtr<const capnp::word> m_segment;
  capnp::SegmentArrayMessageReader m_reader;
};

DecodedObject decodeOrThrow(std::span<const std::uint8_t> bytes, const Limits& limits) {
  if (bytes.size() > limits.maxObjectBytes)
    throw Reject{Reason::Oversized, std::to_string(bytes.size()) + " bytes, the limit is " +
                                        std::to_string(limits.maxObjectBytes)};
  CanonicalReader outer(bytes, limits, "signed object");
  auto object = outer.root<schema::SignedObject>();
  if (!object.hasPayload()) throw Reject{Reason::Malformed, "signed object has no payload"};
  auto payloadData = object.getPayload();
  std::span<const std::uint8_t> payloadBytes(payloadData.begin(), payloadData.size());

  CanonicalReader inner(payloadBytes, limits, "payload");
  auto payload = inner.root<schema::Payload>();
  DecodedObject decoded;
  decoded.signature = Signature{readFixed<SIGNATURE_BYTES>(object.getSignature(), "signature")};
  decoded.payload.signer = PublicKey{readFixed<PUBLIC_KEY_BYTES>(payload.getSigner(), "signer")};
  decoded.payload.signedAt = payload.getSignedAt();
  decoded.payload.body = readBody(payload.getBody());
  if (auto checked = checkBody(decoded.payload.body); !checked)
    throw Reject{checked.error().reason, checked.error().detail};
  // Cap'n Proto's canonical check does not know the schema: padding bits, unknown fields or
  // an oversized struct pass it. Encoding what we read and comparing makes the bytes the
  // only encoding of their content, so one payload has one id and one object one byte form.
  if (!std::ranges::equal(encodePayload(decoded.payload), payloadBytes))
    throw Reject{Reason::NonCanonical, "payload holds bits or fields outside the schema"};
  if (!std::ranges::equal(encodeSignedObject(payloadBytes, decoded.signature), bytes))
    throw Reject{Reason::NonCanonical, "signed object holds bits or fields outside the schema"};
  decoded.id = objectId(payloadBytes);
  return decoded;
}

Rejection invalid(std::string detail) { return {Reason::InvalidField, std::move(detail)}; }

bool textWithin(const std::string& s, std::size_t max) { return s.size() <= max && isValidUtf8(s); }

bool sortedUnique(const std::vector<Digest>& ids) {
  return std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<>()) == ids.end();
}

/// Release names are one line a person reads and types: 1 to MAX_TAG_BYTES of UTF-8 with no
/// control characters and no space at either end.
std::optional<std::string> checkReleaseName(const std::string& name) {
  if (name.empty() || !textWithin(name, MAX_TAG_BYTES))
    return "release name must be 1 to 128 bytes of UTF-8";
  if (std::ranges::any_of(name,
                          [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return "release name holds a control character";
  if (trimSpace(name).size() != name.size()) return "release name begins or ends with a space";
  return std::nullopt;
}

/// An annotation's own rules; its title and tags are held to a clipping's (checkNormalClipping).
std::optional<std::string> checkAnnotation(const Annotation& a) {
  if (a.title.empty() && a.addTags.empty() && a.removeTags.empty() && !a.duplicateOf)
    return "changes nothing (no title, tags or duplicateOf)";
  for (const auto* tags : {&a.addTags, &a.removeTags}) {
    Clipping asClipping;
    asClipping.title = a.title.empty() ? "-" : a.title;
    asClipping.tags = *tags;
    if (auto problem = checkNormalClipping(asClipping)) return problem;
  }
  for (const auto& tag : a.addTags)
    if (std::ranges::binary_search(a.removeTags, tag))
      return "tag " + tag + " is both added and removed";
  if (a.duplicateOf && *a.duplicateOf == a.clipping) return "a clipping is not its own duplicate";
  if (!textWithin(a.reason, MAX_FIELD_BYTES)) return "reason must be at most 4096 bytes of UTF-8";
  return std::nullopt;
}

}  // namespace

std::optional<Digest> Digest::fromHex(std::string_view text) {
  if (text.size() != 2 * ID_BYTES) return std::nullopt;
  auto bytes = protocol::fromHex(text);
  if (!bytes) return std::nullopt;
  Digest digest;
  std::memcpy(digest.bytes.data(), bytes->data(), ID_BYTES);
  return digest;
}

std::string_view roleName(Role role) { return role == Role::Coordinator ? "coordinator" : "field"; }

std::string_view kindName(Kind kind) {
  switch (kind) {
    case Kind::Clipping:
      return "clipping";
    case Kind::Release:
      return "release";
    case Kind::KeyCert:
      return "keyCert";
    case Kind::Revocation:
      return "revocation";
    case Kind::Retraction:
      return "retraction";
    case Kind::ReleasePart:
      return "releasePart";
    case Kind::Annotation:
      return "annotation";
  }
  return "unknown";
}

std::string_view reasonName(Reason reason) {
  switch (reason) {
    case Reason::Oversized:
      return "oversized";
    case Reason::Malformed:
      return "malformed";
    case Reason::NonCanonical:
      return "non-canonical";
    case Reason::InvalidField:
      return "invalid field";
    case Reason::UnknownKind:
      return "unknown kind";
    case Reason::BadSignature:
      return "bad signature";
  }
  return "unknown";
}

std::string Rejection::message() const { return std::string(reasonName(reason)) + ": " + detail; }

std::vector<std::uint8_t> encodePayload(const Payload& payload) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<schema::Payload>();
  root.setSigner(dataOf(payload.signer.bytes));
  root.setSignedAt(payload.signedAt);
  auto body = root.initBody();
  std::visit(
      [&](const auto& b) {
        using B = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<B, Clipping>) {
          writeClipping(body.initClipping(), b);
        } else if constexpr (std::is_same_v<B, Release>) {
          writeRelease(body.initRelease(), b);
        } else if constexpr (std::is_same_v<B, KeyCert>) {
          auto k = body.initKeyCert();
          k.setSubject(dataOf(b.subject.bytes));
          k.setRole(toSchema(b.role));
          setText(b.name, [&](auto t) { k.setName(t); });
          k.setValidUntil(b.validUntil);
        } else if constexpr (std::is_same_v<B, Revocation>) {
          auto r = body.initRevocation();
          r.setSubject(dataOf(b.subject.bytes));
          r.setSince(b.since);
          setText(b.reason, [&](auto t) { r.setReason(t); });
        } else if constexpr (std::is_same_v<B, Retraction>) {
          writeRetraction(body.initRetraction(), b);
        } else if constexpr (std::is_same_v<B, ReleasePart>) {
          writeReleasePart(body.initReleasePart(), b);
        } else {
          static_assert(std::is_same_v<B, Annotation>);
          writeAnnotation(body.initAnnotation(), b);
        }
      },
      payload.body);
  return canonicalBytes(root.asReader());
}

ObjectId objectId(std::span<const std::uint8_t> canonicalPayload) {
  return taggedHash(ID_TAG, canonicalPayload);
}

ContentHash contentHash(const Clipping& clipping) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<schema::Clipping>();
  writeClipping(root, clipping);
  return taggedHash(CONTENT_TAG, canonicalBytes(root.asReader()));
}

Expected<std::monostate, Rejection> checkBody(const Body& body) {
  if (auto c = std::get_if<Clipping>(&body)) {
    if (auto problem = checkNormalClipping(*c)) return invalid("clipping: " + *problem);
  } else if (auto r = std::get_if<Release>(&body)) {
    if (auto problem = checkReleaseName(r->name)) return invalid(*problem);
    if (r->sequence == 0) return invalid("release sequence starts at 1");
    if ((r->sequence == 1) != !r->previous)
      return invalid("release must name its previous release exactly when sequence > 1");
    if (!sortedUnique(r->clippings))
      return invalid("release clipping ids must be sorted and unique");
    if (r->clippings.size() > MAX_IDS_PER_OBJECT)
      return invalid("a release lists at most " + std::to_string(MAX_IDS_PER_OBJECT) +
                     " clippings itself; more go in its parts");
    if (!r->parts.empty() && !r->clippings.empty())
      return invalid("a release with parts lists its clippings only in them");
    if (r->parts.size() > MAX_RELEASE_PARTS)
      return invalid("a release has at most " + std::to_string(MAX_RELEASE_PARTS) + " parts");
    if (std::set<ObjectId>(r->parts.begin(), r->parts.end()).size() != r->parts.size())
      return invalid("release part ids must be unique");
    if (!textWithin(r->notes, MAX_NOTES_BYTES))
      return invalid("release notes must be at most 64 KiB of UTF-8");
  } else if (auto p = std::get_if<ReleasePart>(&body)) {
    if (auto problem = checkReleaseName(p->name)) return invalid(*problem);
    if (p->sequence == 0) return invalid("release sequence starts at 1");
    if (p->index == 0 || p->index > MAX_RELEASE_PARTS)
      return invalid("release part index must be 1 to " + std::to_string(MAX_RELEASE_PARTS));
    if (p->clippings.empty()) return invalid("a release part lists at least one clipping");
    if (p->clippings.size() > MAX_IDS_PER_OBJECT || !sortedUnique(p->clippings))
      return invalid("release part clipping ids must be sorted, unique and at most " +
                     std::to_string(MAX_IDS_PER_OBJECT));
  } else if (auto t = std::get_if<Retraction>(&body)) {
    if (t->clippings.empty() && !t->subject)
      return invalid("a retraction names clippings, a subject key, or both");
    if (t->clippings.size() > MAX_IDS_PER_OBJECT || !sortedUnique(t->clippings))
      return invalid("retraction clipping ids must be sorted, unique and at most " +
                     std::to_string(MAX_IDS_PER_OBJECT));
    if (t->since < 0) return invalid("retraction since is negative");
    if (!t->subject && t->since != 0) return invalid("retraction since is set without a subject");
    if (t->reason.empty() || !textWithin(t->reason, MAX_FIELD_BYTES))
      return invalid("retraction reason must be 1 to 4096 bytes of UTF-8");
  } else if (auto a = std::get_if<Annotation>(&body)) {
    if (auto problem = checkAnnotation(*a)) return invalid("annotation: " + *problem);
  } else if (auto k = std::get_if<KeyCert>(&body)) {
    if (!textWithin(k->name, MAX_FIELD_BYTES)) return invalid("key certificate name too long");
    if (k->validUntil < 0) return invalid("key certificate validUntil is negative");
  } else if (auto v = std::get_if<Revocation>(&body)) {
    if (!textWithin(v->reason, MAX_FIELD_BYTES)) return invalid("revocation reason too long");
    if (v->since < 0) return invalid("revocation since is negative");
  }
  return std::monostate{};
}

Expected<DecodedObject, Rejection> decode(std::span<const std::uint8_t> bytes,
                                          const Limits& limits) {
  try {
    return decodeOrThrow(bytes, limits);
  } catch (const Reject& r) {
    return Rejection{r.reason, r.detail};
  } catch (const kj::Exception& e) {
    return Rejection{Reason::Malformed, e.getDescription().cStr()};
  }
}

Expected<VerifiedObject, Rejection> sign(Payload payload, const SecretKey& key) {
  payload.signer = key.publicKey();
  if (auto checked = checkBody(payload.body); !checked) return checked.error();
  auto payloadBytes = encodePayload(payload);
  ObjectId id = objectId(payloadBytes);
  Signature signature = key.sign(signedMessage(id));
  auto bytes = encodeSignedObject(payloadBytes, signature);
  if (const Limits limits; bytes.size() > limits.maxObjectBytes)
    return Rejection{Reason::Oversized, std::to_string(bytes.size()) + " bytes, the limit is " +
                                            std::to_string(limits.maxObjectBytes)};
  return VerifiedObject(DecodedObject{id, std::move(payload), signature}, std::move(bytes));
}

Expected<VerifiedObject, Rejection> verify(std::span<const std::uint8_t> bytes,
                                           const Limits& limits) {
  auto decoded = decode(bytes, limits);
  if (!decoded) return decoded.error();
  if (!verifySignature(decoded->payload.signer, signedMessage(decoded->id), decoded->signature))
    return Rejection{Reason::BadSignature,
                     "signature does not match signer " + decoded->payload.signer.hex()};
  return VerifiedObject(std::move(decoded).value(), {bytes.begin(), bytes.end()});
}

}  // namespace fieldsync::protocol
