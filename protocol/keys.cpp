#include "protocol/keys.h"

#include <sodium.h>

#include <charconv>
#include <cstring>
#include <map>
#include <new>

namespace fieldsync::protocol {
namespace {

void ensureSodium() {
  // sodium_init() is thread-safe and idempotent; this only remembers the first answer.
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw Error("sodium_init: libsodium could not be initialised");
}

constexpr std::string_view KEY_FILE_HEADER = "fieldsync-secret-key v1";
constexpr std::string_view KDF_NAME = "argon2id13";
// Bounds on what a key file may ask of us, so a crafted file cannot exhaust the machine.
constexpr unsigned long long MAX_OPS_LIMIT = 16;
constexpr std::size_t MAX_MEM_LIMIT = 1u << 30;

/// A buffer in sodium_malloc'd memory, wiped when freed.
class GuardedBytes {
 public:
  explicit GuardedBytes(std::size_t size) : m_size(size), m_p(sodium_malloc(size)) {
    if (m_p == nullptr) throw std::bad_alloc();
  }
  ~GuardedBytes() { sodium_free(m_p); }
  GuardedBytes(const GuardedBytes&) = delete;
  GuardedBytes& operator=(const GuardedBytes&) = delete;
  unsigned char* data() { return static_cast<unsigned char*>(m_p); }
  std::size_t size() const { return m_size; }

 private:
  std::size_t m_size;
  void* m_p;
};

/// Derives the secretbox key for passphrase into out (crypto_secretbox_KEYBYTES).
bool deriveKey(GuardedBytes& out, std::string_view passphrase, const unsigned char* salt,
               SealCost cost) {
  return crypto_pwhash(out.data(), out.size(), passphrase.data(), passphrase.size(), salt,
                       cost.opsLimit, cost.memLimit, crypto_pwhash_ALG_ARGON2ID13) == 0;
}

template <typename T>
std::optional<T> parseNumber(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

/// "key: value" lines after the header; empty when the header is wrong or a line is odd.
std::optional<std::map<std::string, std::string, std::less<>>> parseKeyFile(std::string_view text) {
  std::map<std::string, std::string, std::less<>> fields;
  bool first = true;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      if (line != KEY_FILE_HEADER) return std::nullopt;
      first = false;
      continue;
    }
    if (line.empty()) continue;
    auto colon = line.find(": ");
    if (colon == std::string_view::npos || fields.size() > 16) return std::nullopt;
    fields.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
  }
  if (first) return std::nullopt;
  return fields;
}

std::optional<std::vector<std::uint8_t>> fieldBytes(
    const std::map<std::string, std::string, std::less<>>& fields, std::string_view name,
    std::size_t size) {
  auto it = fields.find(name);
  if (it == fields.end()) return std::nullopt;
  auto bytes = fromHex(it->second);
  if (!bytes || bytes->size() != size) return std::nullopt;
  return bytes;
}

}  // namespace

std::string toHex(std::span<const std::uint8_t> bytes) {
  static constexpr char DIGITS[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = DIGITS[bytes[i] >> 4];
    out[2 * i + 1] = DIGITS[bytes[i] & 0xf];
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> fromHex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<std::uint8_t> out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(text[2 * i]);
    int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::optional<PublicKey> PublicKey::fromHex(std::string_view text) {
  if (text.size() != 2 * PUBLIC_KEY_BYTES) return std::nullopt;
  auto bytes = protocol::fromHex(text);
  if (!bytes) return std::nullopt;
  PublicKey key;
  std::memcpy(key.bytes.data(), bytes->data(), key.bytes.size());
  return key;
}

SecretKey::SecretKey() {
  ensureSodium();
  m_key = static_cast<unsigned char*>(sodium_malloc(crypto_sign_SECRETKEYBYTES));
  if (m_key == nullptr) throw std::bad_alloc();
}

SecretKey SecretKey::generate() {
  SecretKey key;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_keypair(pk, key.m_key);
  return key;
}

SecretKey SecretKey::fromSeed(std::span<const std::uint8_t, SEED_BYTES> seed) {
  static_assert(SEED_BYTES == crypto_sign_SEEDBYTES);
  SecretKey key;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_seed_keypair(pk, key.m_key, seed.data());
  return key;
}

SecretKey::SecretKey(SecretKey&& other) noexcept : m_key(other.m_key) { other.m_key = nullptr; }

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    sodium_free(m_key);
    m_key = other.m_key;
    other.m_key = nullptr;
  }
  return *this;
}

SecretKey::~SecretKey() { sodium_free(m_key); }  // sodium_free wipes before freeing

PublicKey SecretKey::publicKey() const {
  static_assert(PUBLIC_KEY_BYTES == crypto_sign_PUBLICKEYBYTES);
  PublicKey key;
  crypto_sign_ed25519_sk_to_pk(key.bytes.data(), m_key);
  return key;
}

Signature SecretKey::sign(std::span<const std::uint8_t> message) const {
  static_assert(SIGNATURE_BYTES == crypto_sign_BYTES);
  Signature signature;
  crypto_sign_detached(signature.bytes.data(), nullptr, message.data(), message.size(), m_key);
  return signature;
}

std::span<const std::uint8_t, SEED_BYTES> SecretKey::seed() const {
  // libsodium's Ed25519 secret key is seed || public key.
  return std::span<const std::uint8_t, SEED_BYTES>(m_key, SEED_BYTES);
}

std::optional<CurvePublicKey> toCurve(const PublicKey& key) {
  static_assert(CURVE_KEY_BYTES == crypto_scalarmult_curve25519_BYTES);
  ensureSodium();
  CurvePublicKey curve;
  if (crypto_sign_ed25519_pk_to_curve25519(curve.bytes.data(), key.bytes.data()) != 0)
    return std::nullopt;
  return curve;
}

CurveSecretKey::CurveSecretKey() {
  ensureSodium();
  m_key = static_cast<unsigned char*>(sodium_malloc(CURVE_KEY_BYTES));
  if (m_key == nullptr) throw std::bad_alloc();
}

CurveSecretKey::CurveSecretKey(CurveSecretKey&& other) noexcept : m_key(other.m_key) {
  other.m_key = nullptr;
}

CurveSecretKey& CurveSecretKey::operator=(CurveSecretKey&& other) noexcept {
  if (this != &other) {
    sodium_free(m_key);
    m_key = other.m_key;
    other.m_key = nullptr;
  }
  return *this;
}

CurveSecretKey::~CurveSecretKey() { sodium_free(m_key); }  // sodium_free wipes before freeing

CurvePublicKey CurveSecretKey::publicKey() const {
  CurvePublicKey key;
  crypto_scalarmult_base(key.bytes.data(), m_key);
  return key;
}

std::span<const std::uint8_t, CURVE_KEY_BYTES> CurveSecretKey::bytes() const {
  return std::span<const std::uint8_t, CURVE_KEY_BYTES>(m_key, CURVE_KEY_BYTES);
}

CurveSecretKey SecretKey::curveSecretKey() const {
  CurveSecretKey curve;
  // Cannot fail for a key libsodium made: it only hashes the seed and clamps the scalar.
  crypto_sign_ed25519_sk_to_curve25519(curve.m_key, m_key);
  return curve;
}

bool verifySignature(const PublicKey& signer, std::span<const std::uint8_t> message,
                     const Signature& signature) {
  ensureSodium();
  return crypto_sign_verify_detached(signature.bytes.data(), message.data(), message.size(),
                                     signer.bytes.data()) == 0;
}

std::string_view describe(KeyFileProblem problem) {
  switch (problem) {
    case KeyFileProblem::Malformed:
      return "the secret key file is damaged or not a fieldsync key file";
    case KeyFileProblem::PassphraseRequired:
      return "the secret key is sealed with a passphrase; give it with --passphrase-file";
    case KeyFileProblem::WrongPassphrase:
      return "wrong passphrase: it does not open the secret key";
    case KeyFileProblem::OtherNode:
      return "the secret key file is a valid key, but another node's: this home's archive "
             "belongs to a different key. Put this home's own node.key back (or point --home "
             "at the home this key belongs to)";
  }
  return "unknown key file problem";
}

SealCost defaultSealCost() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

std::string encodeKeyFile(const SecretKey& key, std::optional<std::string_view> passphrase,
                          SealCost cost) {
  std::string out(KEY_FILE_HEADER);
  out += "\npublic: " + key.publicKey().hex() + "\n";
  if (!passphrase) {
    out += "seed: " + toHex(key.seed()) + "\n";
    return out;
  }
  unsigned char salt[crypto_pwhash_SALTBYTES];
  unsigned char nonce[crypto_secretbox_NONCEBYTES];
  randombytes_buf(salt, sizeof salt);
  randombytes_buf(nonce, sizeof nonce);
  GuardedBytes boxKey(crypto_secretbox_KEYBYTES);
  if (!deriveKey(boxKey, *passphrase, salt, cost))
    throw Error("crypto_pwhash: out of memory deriving the key from the passphrase");
  std::vector<std::uint8_t> sealed(crypto_secretbox_MACBYTES + SEED_BYTES);
  crypto_secretbox_easy(sealed.data(), key.seed().data(), SEED_BYTES, nonce, boxKey.data());
  out += "kdf: " + std::string(KDF_NAME) + "\n";
  out += "opslimit: " + std::to_string(cost.opsLimit) + "\n";
  out += "memlimit: " + std::to_string(cost.memLimit) + "\n";
  out += "salt: " + toHex(salt) + "\n";
  out += "nonce: " + toHex(nonce) + "\n";
  out += "sealed: " + toHex(sealed) + "\n";
  return out;
}

bool keyFileIsSealed(std::string_view text) {
  auto fields = parseKeyFile(text);
  return fields && fields->contains("sealed");
}

Expected<SecretKey, KeyFileProblem> decodeKeyFile(std::string_view text,
                                                  std::optional<std::string_view> passphrase) {
  ensureSodium();
  auto fields = parseKeyFile(text);
  if (!fields) return KeyFileProblem::Malformed;
  auto publicKey = fieldBytes(*fields, "public", PUBLIC_KEY_BYTES);
  if (!publicKey) return KeyFileProblem::Malformed;

  // A file is plain or sealed, never both: a "sealed:" line beside a plain seed would make
  // keyFileIsSealed() say sealed while the key opens without the passphrase.
  if (fields->contains("seed") == fields->contains("sealed")) return KeyFileProblem::Malformed;
  GuardedBytes seed(SEED_BYTES);
  if (auto it = fields->find("seed"); it != fields->end()) {
    if (it->second.size() != 2 * SEED_BYTES ||
        sodium_hex2bin(seed.data(), seed.size(), it->second.data(), it->second.size(), nullptr,
                       nullptr, nullptr) != 0)
      return KeyFileProblem::Malformed;
  } else {
    auto kdf = fields->find("kdf");
    auto opsText = fields->find("opslimit");
    auto memText = fields->find("memlimit");
    if (kdf == fields->end() || kdf->second != KDF_NAME || opsText == fields->end() ||
        memText == fields->end())
      return KeyFileProblem::Malformed;
    SealCost cost{parseNumber<unsigned long long>(opsText->second).value_or(0),
                  parseNumber<std::size_t>(memText->second).value_or(0)};
    auto salt = fieldBytes(*fields, "salt", crypto_pwhash_SALTBYTES);
    auto nonce = fieldBytes(*fields, "nonce", crypto_secretbox_NONCEBYTES);
    auto sealed = fieldBytes(*fields, "sealed", crypto_secretbox_MACBYTES + SEED_BYTES);
    if (!salt || !nonce || !sealed || cost.opsLimit > MAX_OPS_LIMIT ||
        cost.memLimit > MAX_MEM_LIMIT || cost.opsLimit < crypto_pwhash_OPSLIMIT_MIN ||
        cost.memLimit < crypto_pwhash_MEMLIMIT_MIN)
      return KeyFileProblem::Malformed;
    if (!passphrase) return KeyFileProblem::PassphraseRequired;
    GuardedBytes boxKey(crypto_secretbox_KEYBYTES);
    if (!deriveKey(boxKey, *passphrase, salt->data(), cost))
      throw Error("crypto_pwhash: out of memory deriving the key from the passphrase");
    if (crypto_secretbox_open_easy(seed.data(), sealed->data(), sealed->size(), nonce->data(),
                                   boxKey.data()) != 0)
      return KeyFileProblem::WrongPassphrase;
  }
  auto key =
      SecretKey::fromSeed(std::span<const std::uint8_t, SEED_BYTES>(seed.data(), SEED_BYTES));
  if (std::memcmp(key.publicKey().bytes.data(), publicKey->data(), PUBLIC_KEY_BYTES) != 0)
    return KeyFileProblem::Malformed;
  return key;
}

}  // namespace fieldsync::protocol
