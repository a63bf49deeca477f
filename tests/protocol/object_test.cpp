#include "protocol/object.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "schema/fieldsync.capnp.h"

namespace fieldsync::protocol {
namespace {

// --- Test vectors ----------------------------------------------------------------------------
// A second implementation checks itself against these: the key from the seed 00 01 02 .. 1f,
// the clipping below, signed at 2013-01-11T00:00:00Z. Ed25519 is deterministic, so the
// signature is fixed too. docs/protocol.md repeats them.

SecretKey vectorKey() {
  std::array<std::uint8_t, SEED_BYTES> seed{};
  std::iota(seed.begin(), seed.end(), std::uint8_t{0});
  return SecretKey::fromSeed(seed);
}

Clipping vectorClipping() {
  Clipping c;
  c.title = "Responsibility to Object";
  c.source = "Foreign Policy";
  c.authors = {"David Kaye"};
  c.published = "2013-01-11";
  c.url = "https://foreignpolicy.com/2013/01/11/responsibility-to-object/";
  c.tags = {"region:syria", "topic:accountability"};
  c.language = "en";
  c.body = "In Syria, the new year begins without change.";
  c.collection = "fieldsync test vectors";
  return c;
}

constexpr std::int64_t VECTOR_SIGNED_AT = 1357862400;
constexpr std::string_view VECTOR_PUBLIC_KEY =
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
constexpr std::string_view VECTOR_ID =
    "21e8eaebe62adc6c16b23ad27a02f34bba1a4ab36e3d1740403b949687bef115";
constexpr std::string_view VECTOR_SIGNATURE =
    "b9fb22398c5bd0fe0f8cbf24be52fe03bee9ed5e206cb008a21c71899144573b"
    "9edbd671b7970d7bd43436a7b78d291640df686e988051ec605a5d21dc641e0e";
constexpr std::string_view VECTOR_PAYLOAD =
    "00000000010002000056ef50000000000500000002010000100000000000090003a107bff3ce10be"
    "1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b821000000ca0000002d0000007a000000"
    "310000000e000000390000005a0000003d000000fa0100005900000016000000710000001a000000"
    "710000007201000085000000ba000000526573706f6e736962696c69747920746f204f626a656374"
    "0000000000000000466f726569676e20506f6c6963790000010000005a0000004461766964204b61"
    "7965000000000000323031332d30312d313100000000000068747470733a2f2f666f726569676e70"
    "6f6c6963792e636f6d2f323031332f30312f31312f726573706f6e736962696c6974792d746f2d6f"
    "626a6563742f0000050000006a00000009000000aa000000726567696f6e3a737972696100000000"
    "746f7069633a6163636f756e746162696c69747900000000656e000000000000496e205379726961"
    "2c20746865206e6577207965617220626567696e7320776974686f7574206368616e67652e000000"
    "6669656c6473796e63207465737420766563746f72730000";

Payload vectorPayload() {
  return Payload{vectorKey().publicKey(), VECTOR_SIGNED_AT, vectorClipping()};
}

VerifiedObject signedVector() {
  auto object = sign(vectorPayload(), vectorKey());
  EXPECT_TRUE(object.ok());
  return std::move(object).value();
}

std::vector<std::uint8_t> bytesOf(const VerifiedObject& object) {
  return {object.bytes().begin(), object.bytes().end()};
}

TEST(TestVectors, KeyIdAndSignatureAreStable) {
  auto object = signedVector();
  EXPECT_EQ(vectorKey().publicKey().hex(), VECTOR_PUBLIC_KEY);
  EXPECT_EQ(object.id().hex(), VECTOR_ID);
  EXPECT_EQ(toHex(object.signature().bytes), VECTOR_SIGNATURE);
}

TEST(TestVectors, IdIsTaggedBlake2bOfTheCanonicalPayload) {
  auto object = signedVector();
  auto payload = encodePayload(object.payload());
  EXPECT_EQ(objectId(payload), object.id());
  EXPECT_EQ(toHex(payload), VECTOR_PAYLOAD);
  EXPECT_EQ(payload.size() % 8, 0u) << "canonical form is whole 8-byte words";
}

// --- Signing and verifying -------------------------------------------------------------------

TEST(SignedObject, SignedObjectVerifiesAndDecodesToTheSamePayload) {
  auto object = signedVector();
  auto verified = verify(object.bytes());
  ASSERT_TRUE(verified.ok()) << verified.error().message();
  EXPECT_EQ(verified->id(), object.id());
  EXPECT_EQ(verified->payload(), vectorPayload());
  EXPECT_EQ(verified->payload().kind(), Kind::Clipping);
}

TEST(SignedObject, SignSetsTheSignerFromTheKey) {
  Payload payload = vectorPayload();
  payload.signer = SecretKey::generate().publicKey();
  auto object = sign(payload, vectorKey());
  ASSERT_TRUE(object.ok());
  EXPECT_EQ(object->payload().signer, vectorKey().publicKey());
}

TEST(SignedObject, EveryFlippedByteIsRejected) {
  auto good = bytesOf(signedVector());
  for (std::size_t i = 0; i < good.size(); ++i) {
    auto bad = good;
    bad[i] ^= 0x01;
    EXPECT_FALSE(verify(bad).ok()) << "flipped byte " << i << " was accepted";
  }
}

TEST(SignedObject, SignatureFromAnotherKeyIsRejected) {
  auto object = signedVector();
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<schema::SignedObject>();
  auto payload = encodePayload(object.payload());
  root.setPayload({payload.data(), payload.size()});
  auto forged = SecretKey::generate().sign(payload);
  root.setSignature({forged.bytes.data(), forged.bytes.size()});
  auto words = capnp::canonicalize(root.asReader());
  auto result = verify(words.asBytes());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().reason, Reason::BadSignature);
}

TEST(SignedObject, TruncatedBytesAreMalformed) {
  auto good = bytesOf(signedVector());
  for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{8}, good.size() - 8}) {
    std::vector<std::uint8_t> bad(good.begin(), good.begin() + static_cast<long>(cut));
    auto result = verify(bad);
    ASSERT_FALSE(result.ok()) << cut;
  }
  std::vector<std::uint8_t> odd(good.begin(), good.end() - 1);
  EXPECT_EQ(verify(odd).error().reason, Reason::Malformed);
}

TEST(SignedObject, TrailingWordsMakeItNonCanonical) {
  auto bad = bytesOf(signedVector());
  bad.resize(bad.size() + 8, 0);
  EXPECT_EQ(verify(bad).error().reason, Reason::NonCanonical);
}

TEST(SignedObject, OversizedObjectIsRejectedBeforeDecoding) {
  auto good = bytesOf(signedVector());
  Limits small;
  small.maxObjectBytes = good.size() - 8;
  EXPECT_EQ(verify(good, small).error().reason, Reason::Oversized);
}

TEST(SignedObject, RandomGarbageIsRejectedWithoutCrashing) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::uint8_t> junk(8 * (rng() % 64));
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    EXPECT_FALSE(verify(junk).ok());
  }
}

/// Signs a payload message built by hand, bypassing our encoder's rules.
std::vector<std::uint8_t> signRawPayload(const std::function<void(schema::Payload::Builder)>& fill,
                                         bool canonical = true) {
  auto key = vectorKey();
  capnp::MallocMessageBuilder inner;
  auto p = inner.initRoot<schema::Payload>();
  auto pk = key.publicKey();
  p.setSigner({pk.bytes.data(), pk.bytes.size()});
  p.setSignedAt(VECTOR_SIGNED_AT);
  fill(p);
  std::vector<std::uint8_t> payload;
  if (canonical) {
    auto words = capnp::canonicalize(p.asReader());
    payload.assign(words.asBytes().begin(), words.asBytes().end());
  } else {
    auto words = capnp::messageToFlatArray(inner);  // with a segment table: not canonical
    payload.assign(words.asBytes().begin(), words.asBytes().end());
  }
  capnp::MallocMessageBuilder outer;
  auto root = outer.initRoot<schema::SignedObject>();
  root.setPayload({payload.data(), payload.size()});
  auto id = objectId(payload);
  std::vector<std::uint8_t> message(SIG_TAG.begin(), SIG_TAG.end());
  message.insert(message.end(), id.bytes.begin(), id.bytes.end());
  auto signature = key.sign(message);
  root.setSignature({signature.bytes.data(), signature.bytes.size()});
  auto words = capnp::canonicalize(root.asReader());
  return {words.asBytes().begin(), words.asBytes().end()};
}

TEST(SignedObject, WellSignedHandBuiltClippingVerifies) {
  auto bytes = signRawPayload(
      [](schema::Payload::Builder p) { p.initBody().initClipping().setTitle("A title"); });
  auto result = verify(bytes);
  EXPECT_TRUE(result.ok()) << result.error().message();
}

TEST(SignedObject, PayloadWithSegmentTableIsRejected) {
  // Read as one canonical segment, the segment table is garbage: some rejection, whichever.
  auto bytes = signRawPayload(
      [](schema::Payload::Builder p) { p.initBody().initClipping().setTitle("A title"); }, false);
  auto result = verify(bytes);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().reason, Reason::BadSignature) << result.error().message();
}

TEST(SignedObject, EmptyButSetTextIsNotCanonical) {
  auto bytes = signRawPayload([](schema::Payload::Builder p) {
    auto c = p.initBody().initClipping();
    c.setTitle("A title");
    c.setSource("");
  });
  EXPECT_EQ(verify(bytes).error().reason, Reason::NonCanonical);
}

TEST(SignedObject, ClippingWithoutTitleIsInvalid) {
  auto bytes = signRawPayload(
      [](schema::Payload::Builder p) { p.initBody().initClipping().setSource("Somewhere"); });
  EXPECT_EQ(verify(bytes).error().reason, Reason::InvalidField);
}

TEST(SignedObject, ClippingNotInNormalFormIsInvalid) {
  auto bytes = signRawPayload([](schema::Payload::Builder p) {
    auto c = p.initBody().initClipping();
    c.setTitle("  padded title  ");
  });
  EXPECT_EQ(verify(bytes).error().reason, Reason::InvalidField);
}

TEST(SignedObject, ShortSignerKeyIsInvalid) {
  auto bytes = signRawPayload([](schema::Payload::Builder p) {
    std::array<std::uint8_t, 31> shortKey{};
    p.setSigner({shortKey.data(), shortKey.size()});
    p.initBody().initClipping().setTitle("A title");
  });
  EXPECT_EQ(verify(bytes).error().reason, Reason::InvalidField);
}

TEST(SignedObject, TextThatIsNotUtf8IsInvalid) {
  auto bytes = signRawPayload([](schema::Payload::Builder p) {
    const char bad[] = {'a', '\xff', 'b', '\0'};  // Text::Reader wants the NUL after its bytes
    p.initBody().initClipping().setTitle(capnp::Text::Reader(bad, 3));
  });
  EXPECT_EQ(verify(bytes).error().reason, Reason::InvalidField);
}

TEST(SignedObject, SignRefusesAnInvalidClipping) {
  Payload payload = vectorPayload();
  std::get<Clipping>(payload.body).title.clear();
  auto result = sign(payload, vectorKey());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().reason, Reason::InvalidField);
}

// --- Other bodies ----------------------------------------------------------------------------

TEST(SignedObject, ReleaseKeyCertAndRevocationRoundTrip) {
  auto key = vectorKey();
  Release release{"weekly", 2, Digest{}, {Digest{}, signedVector().id()}, "notes"};
  std::sort(release.clippings.begin(), release.clippings.end());
  KeyCert cert{SecretKey::generate().publicKey(), Role::Field, "Goma office", 0};
  Revocation revocation{cert.subject, VECTOR_SIGNED_AT, "laptop lost"};
  for (Body body : {Body{release}, Body{cert}, Body{revocation}}) {
    auto object = sign(Payload{key.publicKey(), VECTOR_SIGNED_AT, body}, key);
    ASSERT_TRUE(object.ok()) << object.error().message();
    auto back = verify(object->bytes());
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(back->payload().body, body);
  }
}

TEST(SignedObject, ReleaseWithUnsortedIdsIsInvalid) {
  Release release{"weekly", 1, std::nullopt, {signedVector().id(), Digest{}}, ""};
  if (release.clippings[0] < release.clippings[1])
    std::swap(release.clippings[0], release.clippings[1]);
  auto key = vectorKey();
  EXPECT_FALSE(sign(Payload{key.publicKey(), 0, release}, key).ok());
  release.sequence = 2;  // and no previous
  std::sort(release.clippings.begin(), release.clippings.end());
  EXPECT_FALSE(sign(Payload{key.publicKey(), 0, release}, key).ok());
}

// --- Content hash ----------------------------------------------------------------------------

TEST(ContentHash, SameContentFromTwoOfficesHasTheSameHashButNotTheSameId) {
  auto a = sign(Payload{{}, 100, vectorClipping()}, vectorKey());
  auto b = sign(Payload{{}, 200, vectorClipping()}, SecretKey::generate());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->id(), b->id());
  EXPECT_EQ(contentHash(*a->payload().clipping()), contentHash(*b->payload().clipping()));
  Clipping changed = vectorClipping();
  changed.body += " More.";
  EXPECT_NE(contentHash(changed), contentHash(vectorClipping()));
}

}  // namespace
}  // namespace fieldsync::protocol
