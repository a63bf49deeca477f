#pragma once
// Ed25519 identities: public keys, signatures, and secret keys that live in guarded memory;
// the X25519 (CurveZMQ) keys derived from them, so a node and its peers are each named by one
// Ed25519 public key.
// Threads: all functions are safe to call from any thread; a SecretKey is not shared
// between threads without external locking. libsodium is initialised on first use.

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/error.h"

namespace fieldsync::protocol {

inline constexpr std::size_t PUBLIC_KEY_BYTES = 32;
inline constexpr std::size_t SIGNATURE_BYTES = 64;
inline constexpr std::size_t SEED_BYTES = 32;
inline constexpr std::size_t CURVE_KEY_BYTES = 32;

/// Lowercase hex of bytes.
std::string toHex(std::span<const std::uint8_t> bytes);
/// Hex (either case) -> bytes; empty when text has an odd length or a non-hex character.
std::optional<std::vector<std::uint8_t>> fromHex(std::string_view text);

struct PublicKey {
  std::array<std::uint8_t, PUBLIC_KEY_BYTES> bytes{};

  std::string hex() const { return toHex(bytes); }
  /// Exactly 64 hex characters, else empty.
  static std::optional<PublicKey> fromHex(std::string_view text);
  auto operator<=>(const PublicKey&) const = default;
};

struct Signature {
  std::array<std::uint8_t, SIGNATURE_BYTES> bytes{};
  bool operator==(const Signature&) const = default;
};

/// An X25519 public key, as CurveZMQ names the two ends of a link. Only derived from an
/// Ed25519 key (toCurve, CurveSecretKey::publicKey): fieldsync never names a peer by it.
struct CurvePublicKey {
  std::array<std::uint8_t, CURVE_KEY_BYTES> bytes{};
  auto operator<=>(const CurvePublicKey&) const = default;
};

/// The CurveZMQ public key of an Ed25519 public key (crypto_sign_ed25519_pk_to_curve25519).
/// Empty when key is not a usable Ed25519 point (not on the curve, or of small order): such a
/// key verifies no signature and can name no peer.
[[nodiscard]] std::optional<CurvePublicKey> toCurve(const PublicKey& key);

/// The X25519 secret key derived from an Ed25519 SecretKey: sodium_malloc'd memory, wiped on
/// destruction. Move-only; never printed.
class CurveSecretKey {
 public:
  CurveSecretKey(CurveSecretKey&& other) noexcept;
  CurveSecretKey& operator=(CurveSecretKey&& other) noexcept;
  CurveSecretKey(const CurveSecretKey&) = delete;
  CurveSecretKey& operator=(const CurveSecretKey&) = delete;
  ~CurveSecretKey();

  /// crypto_scalarmult_base of the secret: equals toCurve() of the Ed25519 public key.
  CurvePublicKey publicKey() const;
  /// The 32 secret bytes, to give to ZMQ_CURVE_SECRETKEY; the view dies with this key.
  std::span<const std::uint8_t, CURVE_KEY_BYTES> bytes() const;

 private:
  friend class SecretKey;
  CurveSecretKey();
  unsigned char* m_key = nullptr;  // CURVE_KEY_BYTES
};

/// An Ed25519 secret key in sodium_malloc'd memory: guarded pages, locked against swap,
/// wiped on destruction. Move-only; never printed.
class SecretKey {
 public:
  static SecretKey generate();
  /// The key whose 32-byte seed is given (deterministic: for key files and test vectors).
  static SecretKey fromSeed(std::span<const std::uint8_t, SEED_BYTES> seed);

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  PublicKey publicKey() const;
  /// Detached Ed25519 signature of message.
  Signature sign(std::span<const std::uint8_t> message) const;
  /// The seed, for writing the key file; the view dies with this key.
  std::span<const std::uint8_t, SEED_BYTES> seed() const;
  /// The CurveZMQ secret key of this identity (crypto_sign_ed25519_sk_to_curve25519).
  CurveSecretKey curveSecretKey() const;

 private:
  SecretKey();
  unsigned char* m_key = nullptr;  // crypto_sign_SECRETKEYBYTES, seed || public key
};

/// Checks a detached Ed25519 signature.
[[nodiscard]] bool verifySignature(const PublicKey& signer, std::span<const std::uint8_t> message,
                                   const Signature& signature);

// --- The secret key file -------------------------------------------------------------------
// A small text file: a header line, then either the plain seed in hex or, with a passphrase,
// the seed sealed with crypto_secretbox under a key derived by Argon2id (crypto_pwhash,
// interactive limits by default). Format in docs/protocol.md.

enum class KeyFileProblem {
  Malformed,           // not a fieldsync key file, or damaged
  PassphraseRequired,  // sealed, and no passphrase was given
  WrongPassphrase,     // sealed, and the passphrase does not open it
  OtherNode,           // a valid key file, but another node's (store::Home: not its archive's)
};
std::string_view describe(KeyFileProblem problem);

struct SealCost {
  unsigned long long opsLimit;
  std::size_t memLimit;
};
/// libsodium's interactive Argon2id limits (2 passes, 64 MiB): a second on a small laptop.
SealCost defaultSealCost();

/// The key file text for key, sealed when passphrase is given.
std::string encodeKeyFile(const SecretKey& key, std::optional<std::string_view> passphrase,
                          SealCost cost = defaultSealCost());
/// Reads a key file. A passphrase given for a plain file is ignored.
Expected<SecretKey, KeyFileProblem> decodeKeyFile(std::string_view text,
                                                  std::optional<std::string_view> passphrase);
/// True when the key file text is sealed with a passphrase.
bool keyFileIsSealed(std::string_view text);

}  // namespace fieldsync::protocol
