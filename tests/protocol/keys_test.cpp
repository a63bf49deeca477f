#include "protocol/keys.h"

#include <gtest/gtest.h>

#include <numeric>

namespace fieldsync::protocol {
namespace {

// The cheapest Argon2id cost libsodium allows: the format is what is under test, not the KDF.
constexpr SealCost CHEAP{1, 8192};

std::array<std::uint8_t, SEED_BYTES> countingSeed() {
  std::array<std::uint8_t, SEED_BYTES> seed{};
  std::iota(seed.begin(), seed.end(), std::uint8_t{0});
  return seed;
}

TEST(Hex, RoundTripsAndRejectsNonHex) {
  std::vector<std::uint8_t> bytes{0x00, 0x7f, 0xff, 0xa5};
  EXPECT_EQ(toHex(bytes), "007fffa5");
  EXPECT_EQ(fromHex("007FFFA5"), bytes);
  EXPECT_FALSE(fromHex("abc"));
  EXPECT_FALSE(fromHex("zz"));
}

TEST(PublicKey, FromHexNeedsExactly64HexCharacters) {
  auto key = SecretKey::generate().publicKey();
  EXPECT_EQ(PublicKey::fromHex(key.hex()), key);
  EXPECT_FALSE(PublicKey::fromHex(key.hex().substr(2)));
  EXPECT_FALSE(PublicKey::fromHex(key.hex() + "00"));
}

TEST(SecretKey, SameSeedGivesSameKey) {
  auto seed = countingSeed();
  EXPECT_EQ(SecretKey::fromSeed(seed).publicKey(), SecretKey::fromSeed(seed).publicKey());
  EXPECT_NE(SecretKey::generate().publicKey(), SecretKey::generate().publicKey());
}

TEST(SecretKey, SignatureVerifiesOnlyForItsMessageAndKey) {
  auto key = SecretKey::generate();
  std::vector<std::uint8_t> message{1, 2, 3};
  auto signature = key.sign(message);
  EXPECT_TRUE(verifySignature(key.publicKey(), message, signature));
  message[0] = 9;
  EXPECT_FALSE(verifySignature(key.publicKey(), message, signature));
  EXPECT_FALSE(verifySignature(SecretKey::generate().publicKey(), {}, signature));
}

// libsodium's own vector for the conversion (test/default/ed25519_convert.c).
TEST(CurveKeys, DerivedFromEd25519AsLibsodiumTestVectorSays) {
  auto seed = fromHex("421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee");
  ASSERT_TRUE(seed);
  auto key = SecretKey::fromSeed(std::span<const std::uint8_t, SEED_BYTES>(seed->data(), 32));
  auto curvePublic = toCurve(key.publicKey());
  ASSERT_TRUE(curvePublic);
  EXPECT_EQ(toHex(curvePublic->bytes),
            "f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50");
  EXPECT_EQ(toHex(key.curveSecretKey().bytes()),
            "8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166");
}

TEST(CurveKeys, DerivedSecretKeyMatchesDerivedPublicKey) {
  for (int i = 0; i < 8; ++i) {
    auto key = SecretKey::generate();
    auto curveSecret = key.curveSecretKey();
    // publicKey() is crypto_scalarmult_base of the derived secret: the pair is a real one.
    EXPECT_EQ(toCurve(key.publicKey()), curveSecret.publicKey());
  }
  EXPECT_NE(toCurve(SecretKey::generate().publicKey()), toCurve(SecretKey::generate().publicKey()));
}

TEST(CurveKeys, CurveSecretKeyMovesItsMemory) {
  auto key = SecretKey::generate();
  auto first = key.curveSecretKey();
  const auto expected = first.publicKey();
  CurveSecretKey moved(std::move(first));
  EXPECT_EQ(moved.publicKey(), expected);
  auto other = SecretKey::generate().curveSecretKey();
  other = std::move(moved);
  EXPECT_EQ(other.publicKey(), expected);
}

TEST(CurveKeys, KeysThatAreNotUsablePointsHaveNoCurveForm) {
  PublicKey zero;  // a point of order 4
  EXPECT_FALSE(toCurve(zero));
  PublicKey identity;
  identity.bytes[0] = 1;  // the neutral element
  EXPECT_FALSE(toCurve(identity));
  PublicKey notOnCurve;
  notOnCurve.bytes.fill(0xff);
  EXPECT_FALSE(toCurve(notOnCurve));
}

TEST(KeyFile, PlainFileRoundTrips) {
  auto key = SecretKey::fromSeed(countingSeed());
  auto text = encodeKeyFile(key, std::nullopt);
  EXPECT_FALSE(keyFileIsSealed(text));
  auto back = decodeKeyFile(text, std::nullopt);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->publicKey(), key.publicKey());
}

TEST(KeyFile, SealedFileOpensOnlyWithItsPassphrase) {
  auto key = SecretKey::generate();
  auto text = encodeKeyFile(key, "correct horse", CHEAP);
  EXPECT_TRUE(keyFileIsSealed(text));
  EXPECT_EQ(text.find(toHex(key.seed())), std::string::npos) << "the seed must not appear";

  auto opened = decodeKeyFile(text, "correct horse");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->publicKey(), key.publicKey());

  auto wrong = decodeKeyFile(text, "wrong horse");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error(), KeyFileProblem::WrongPassphrase);

  auto none = decodeKeyFile(text, std::nullopt);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error(), KeyFileProblem::PassphraseRequired);
}

TEST(KeyFile, DamagedFilesAreMalformed) {
  auto key = SecretKey::generate();
  auto text = encodeKeyFile(key, std::nullopt);
  EXPECT_EQ(decodeKeyFile("", std::nullopt).error(), KeyFileProblem::Malformed);
  EXPECT_EQ(decodeKeyFile("hello\n", std::nullopt).error(), KeyFileProblem::Malformed);

  auto truncated = text.substr(0, text.size() - 3);
  EXPECT_EQ(decodeKeyFile(truncated, std::nullopt).error(), KeyFileProblem::Malformed);

  // A seed that does not belong to the public key beside it.
  auto other = encodeKeyFile(SecretKey::generate(), std::nullopt);
  auto mixed = text.substr(0, text.find("seed: ")) + other.substr(other.find("seed: "));
  EXPECT_EQ(decodeKeyFile(mixed, std::nullopt).error(), KeyFileProblem::Malformed);
}

TEST(KeyFile, ExcessiveArgonCostIsRefused) {
  auto text = encodeKeyFile(SecretKey::generate(), "pw", CHEAP);
  auto at = text.find("memlimit: ");
  auto end = text.find('\n', at);
  text.replace(at, end - at, "memlimit: 999999999999");
  EXPECT_EQ(decodeKeyFile(text, "pw").error(), KeyFileProblem::Malformed);
}

}  // namespace
}  // namespace fieldsync::protocol
