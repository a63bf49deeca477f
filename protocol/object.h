#pragma once
// Signed objects: the unit that nodes store and sync.
//
//   Payload      = { signer, signedAt, body: Clipping | Release | KeyCert | Revocation |
//                                            Retraction | ReleasePart | Annotation }
//   SignedObject = { payload: canonical Cap'n Proto bytes of Payload, signature }
//   id           = BLAKE2b-256(ID_TAG || payload)
//   signature    = Ed25519(SIG_TAG || id)
//
// The exact byte rules are in docs/protocol.md and pinned by test vectors in
// tests/protocol/object_test.cpp. Only sign() and verify() make a VerifiedObject, and the
// store accepts nothing else, so unverified bytes cannot reach disk.
// Threads: pure functions; values are freely copied between threads.

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/clipping.h"
#include "protocol/error.h"
#include "protocol/keys.h"

namespace fieldsync::protocol {

inline constexpr std::size_t ID_BYTES = 32;
/// Domain tags, so a hash or signature made for one purpose is never valid for another.
inline constexpr std::string_view ID_TAG = "fieldsync/object-id/v1";
inline constexpr std::string_view SIG_TAG = "fieldsync/signature/v1";
inline constexpr std::string_view CONTENT_TAG = "fieldsync/content/v1";

/// A 32-byte digest: object ids and content hashes.
struct Digest {
  std::array<std::uint8_t, ID_BYTES> bytes{};

  std::string hex() const { return toHex(bytes); }
  /// Exactly 64 hex characters, else empty.
  static std::optional<Digest> fromHex(std::string_view text);
  auto operator<=>(const Digest&) const = default;
};
using ObjectId = Digest;
using ContentHash = Digest;

enum class Role : std::uint8_t { Field, Coordinator };
std::string_view roleName(Role role);

/// Bounds on objects that list ids, so that every object sign() makes fits Limits: 32,768 ids
/// take 1.25 MiB of a 2 MiB object. A release with more members lists them in ReleaseParts.
inline constexpr std::size_t MAX_IDS_PER_OBJECT = 32768;
inline constexpr std::size_t MAX_RELEASE_PARTS = 1024;  // 33.5 million members
inline constexpr std::size_t MAX_NOTES_BYTES = 64u << 10;

struct Release {
  std::string name;
  std::uint64_t sequence = 0;        // 1 for the first release of a name
  std::optional<ObjectId> previous;  // absent exactly when sequence == 1
  std::vector<ObjectId> clippings;   // sorted, unique; empty when parts is not
  std::string notes;
  std::vector<ObjectId> parts{};  // its ReleaseParts in index order, when it has more members
                                  // than one object holds
  bool operator==(const Release&) const = default;
};

/// Members of a large release: part `index` (from 1) of release (name, sequence).
struct ReleasePart {
  std::string name;
  std::uint64_t sequence = 0;
  std::uint32_t index = 0;
  std::vector<ObjectId> clippings;  // 1 to MAX_IDS_PER_OBJECT, sorted, unique
  bool operator==(const ReleasePart&) const = default;
};

struct KeyCert {
  PublicKey subject;
  Role role = Role::Field;
  std::string name;
  std::int64_t validUntil = 0;  // unix seconds; 0 = no expiry
  bool operator==(const KeyCert&) const = default;
};

struct Revocation {
  PublicKey subject;
  std::int64_t since = 0;  // unix seconds
  std::string reason;
  bool operator==(const Revocation&) const = default;
};

/// Takes clippings back (docs/trust.md, "Retraction"): those listed, and with subject every
/// clipping subject signed at or after since.
struct Retraction {
  std::vector<ObjectId> clippings;  // sorted, unique, at most MAX_IDS_PER_OBJECT
  std::optional<PublicKey> subject;
  std::int64_t since = 0;  // with subject; 0 without
  std::string reason;      // 1 to MAX_FIELD_BYTES
  bool operator==(const Retraction&) const = default;
};

/// Corrects how a clipping reads without touching its signed bytes (docs/trust.md,
/// "Annotation"): a new title, tags added or removed, or "the same article as" another
/// clipping. At least one of them. Whether it takes effect is the store's rule
/// (store/annotation.h).
struct Annotation {
  ObjectId clipping;
  std::string title;                    // empty: unchanged; else a title in normal form
  std::vector<std::string> addTags;     // normal tags (normalizeTag), sorted, unique
  std::vector<std::string> removeTags;  // likewise, none of them in addTags
  std::optional<ObjectId> duplicateOf;  // never the clipping itself
  std::string reason;                   // optional, at most MAX_FIELD_BYTES
  bool operator==(const Annotation&) const = default;
};

enum class Kind : std::uint8_t {
  Clipping,
  Release,
  KeyCert,
  Revocation,
  Retraction,
  ReleasePart,
  Annotation
};
std::string_view kindName(Kind kind);

using Body = std::variant<Clipping, Release, KeyCert, Revocation, Retraction, ReleasePart,
                          Annotation>;  // index == Kind

struct Payload {
  PublicKey signer;
  std::int64_t signedAt = 0;  // unix seconds
  Body body;

  Kind kind() const { return static_cast<Kind>(body.index()); }
  /// The clipping, or nullptr for other kinds.
  const Clipping* clipping() const { return std::get_if<Clipping>(&body); }
  bool operator==(const Payload&) const = default;
};

/// Canonical bytes of payload (Cap'n Proto canonical form: one segment, no segment table).
/// Precondition: the body is valid (checkBody() holds); sign() checks it.
std::vector<std::uint8_t> encodePayload(const Payload& payload);

/// id = BLAKE2b-256(ID_TAG || canonicalPayload).
ObjectId objectId(std::span<const std::uint8_t> canonicalPayload);

/// Hash of a clipping's content, independent of who signed it and when: two offices
/// importing the same article get the same hash. BLAKE2b-256(CONTENT_TAG || canonical
/// bytes of the Clipping struct alone).
ContentHash contentHash(const Clipping& clipping);

/// Why outside bytes were refused.
enum class Reason {
  Oversized,     // larger than Limits allow
  Malformed,     // not a Cap'n Proto message of the expected type, or truncated
  NonCanonical,  // a valid message, but not in canonical form
  InvalidField,  // a field out of its bounds or format (wrong key length, bad UTF-8, ...)
  UnknownKind,   // a body this version does not know
  BadSignature,  // the signature does not verify for the signer
};
std::string_view reasonName(Reason reason);

struct Rejection {
  Reason reason;
  std::string detail;           // what exactly, for a person: "payload is not canonical"
  std::string message() const;  // "<reason>: <detail>"
};

/// Bounds for decoding untrusted bytes; part of the interface, not a detail.
struct Limits {
  std::size_t maxObjectBytes = 2u << 20;  // whole SignedObject encoding
  int nestingLimit = 16;                  // Cap'n Proto pointer nesting
};

/// Checks a body's fields against the rules in text.h (bounds, UTF-8, dates) and the
/// kind's own rules (release ids sorted and unique, previous present iff sequence > 1).
Expected<std::monostate, Rejection> checkBody(const Body& body);

/// A decoded object whose id is computed but whose signature is not checked: for bytes
/// the local store already verified. Anything from outside goes through verify().
struct DecodedObject {
  ObjectId id;
  Payload payload;
  Signature signature;
};

/// Decodes SignedObject bytes under limits: canonical form of both messages, field bounds.
Expected<DecodedObject, Rejection> decode(std::span<const std::uint8_t> bytes,
                                          const Limits& limits = {});

/// An object whose bytes, id and signature have been checked. Immutable.
class VerifiedObject {
 public:
  const ObjectId& id() const { return m_decoded.id; }
  const Payload& payload() const { return m_decoded.payload; }
  const Signature& signature() const { return m_decoded.signature; }
  /// The SignedObject encoding: what the store keeps and peers exchange.
  std::span<const std::uint8_t> bytes() const { return m_bytes; }

 private:
  VerifiedObject(DecodedObject decoded, std::vector<std::uint8_t> bytes)
      : m_decoded(std::move(decoded)), m_bytes(std::move(bytes)) {}
  friend Expected<VerifiedObject, Rejection> sign(Payload payload, const SecretKey& key);
  friend Expected<VerifiedObject, Rejection> verify(std::span<const std::uint8_t> bytes,
                                                    const Limits& limits);

  DecodedObject m_decoded;
  std::vector<std::uint8_t> m_bytes;
};

/// Signs payload with key. payload.signer is set to key's public key. Refuses an invalid
/// body (checkBody) with InvalidField, and an object larger than Limits{} allows with
/// Oversized: sign() never makes what verify() would refuse.
Expected<VerifiedObject, Rejection> sign(Payload payload, const SecretKey& key);

/// decode() plus the signature check: the only way outside bytes become a VerifiedObject.
Expected<VerifiedObject, Rejection> verify(std::span<const std::uint8_t> bytes,
                                           const Limits& limits = {});

}  // namespace fieldsync::protocol
