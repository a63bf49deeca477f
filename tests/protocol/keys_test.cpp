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
