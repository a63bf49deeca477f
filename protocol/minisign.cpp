#include "protocol/minisign.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

// minisign's files, as minisign 0.11 (Debian 12) reads and writes them; tests run the real
// binary both ways.
//
//   public key:  "untrusted comment: minisign public key <ID>\n"
//                base64("Ed" || key id (8) || Ed25519 public key (32)) "\n"
//   signature:   "untrusted comment: <anything>\n"
//                base64(alg (2) || key id (8) || signature (64)) "\n"
//                "trusted comment: <comment>\n"
//                base64(global signature (64)) "\n"
//
// alg "ED": the signature is Ed25519 over BLAKE2b-512(file) (unkeyed, 64-byte output);
// alg "Ed": legacy, over the file itself. The global signature is Ed25519 over
// signature || comment bytes (without prefix or newline), so the trusted comment cannot be
// changed. Neither the algorithm nor the key id is signed: the key id only lets minisign
// say "wrong key" before trying; what authenticates is the signature under the key given.
// <ID> is the key id read as a little-endian 64-bit integer, printed "%" PRIX64: uppercase,
// most significant byte first (so the bytes appear reversed) and without leading zeros.

namespace fieldsync::protocol {
namespace {

constexpr std::string_view KEY_ID_TAG = "fieldsync/minisign-key-id/v1";
constexpr std::string_view UNTRUSTED_PREFIX = "untrusted comment: ";
constexpr std::string_view TRUSTED_PREFIX = "trusted comment: ";
constexpr std::string_view ALG_LEGACY = "Ed";
constexpr std::string_view ALG_PREHASHED = "ED";
constexpr std::size_t ALG_BYTES = 2;
constexpr std::size_t KEY_ID_BYTES = 8;
constexpr std::size_t PUBLIC_KEY_BLOB_BYTES = ALG_BYTES + KEY_ID_BYTES + PUBLIC_KEY_BYTES;
constexpr std::size_t SIGNATURE_BLOB_BYTES = ALG_BYTES + KEY_ID_BYTES + SIGNATURE_BYTES;
constexpr std::size_t PREHASH_BYTES = crypto_generichash_BYTES_MAX;  // 64: BLAKE2b-512
// minisign reads each line with fgets into a fixed buffer (COMMENTMAXBYTES 1024 for the
// untrusted comment, TRUSTEDCOMMENTMAXBYTES 8192 for the trusted one): a longer line spills
// into the next read and the file no longer parses. Limits on line content, prefix included,
// newline and NUL excluded.
constexpr std::size_t MAX_UNTRUSTED_LINE_BYTES = 1024 - 2;
constexpr std::size_t MAX_TRUSTED_LINE_BYTES = 8192 - 2;
constexpr std::size_t MAX_TRUSTED_COMMENT_BYTES = MAX_TRUSTED_LINE_BYTES - TRUSTED_PREFIX.size();

constexpr char BASE64_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

using KeyId = std::array<std::uint8_t, KEY_ID_BYTES>;

void ensureSodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw Error("sodium_init: libsodium could not be initialised");
}

std::span<const std::uint8_t> bytesOf(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

void append(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

/// How minisign prints a key id: "%" PRIX64 of the id read little-endian.
std::string keyIdText(const KeyId& id) {
  std::uint64_t value = 0;
  for (std::size_t i = KEY_ID_BYTES; i-- > 0;) value = value << 8 | id[i];
  static constexpr char DIGITS[] = "0123456789ABCDEF";
  std::string text;
  do {
    text.insert(text.begin(), DIGITS[value & 0xf]);
    value >>= 4;
  } while (value != 0);
  return text;
}

std::array<std::uint8_t, PREHASH_BYTES> prehash(std::span<const std::uint8_t> message) {
  ensureSodium();
  std::array<std::uint8_t, PREHASH_BYTES> hash{};
  crypto_generichash(hash.data(), hash.size(), message.data(), message.size(), nullptr, 0);
  return hash;
}

/// trustedComment made one line minisign can read: CR, LF and NUL (which would end or split
/// the line, or cut it short in minisign's C strings) become spaces, and an overlong comment
/// is cut at a UTF-8 character boundary.
std::string oneLineComment(std::string_view trustedComment) {
  std::string comment(trustedComment);
  std::replace_if(
      comment.begin(), comment.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; },
      ' ');
  if (comment.size() > MAX_TRUSTED_COMMENT_BYTES) {
    std::size_t cut = MAX_TRUSTED_COMMENT_BYTES;
    while (cut > 0 && (static_cast<unsigned char>(comment[cut]) & 0xc0) == 0x80) --cut;
    comment.resize(cut);
  }
  return comment;
}

std::vector<std::uint8_t> signedComment(std::span<const std::uint8_t> signature,
                                        std::string_view comment) {
  std::vector<std::uint8_t> bytes(signature.begin(), signature.end());
  append(bytes, bytesOf(comment));
  return bytes;
}

/// The next line of text without its newline (and a CR before it); empty at the end.
std::optional<std::string_view> nextLine(std::string_view& text) {
  if (text.empty()) return std::nullopt;
  auto newline = text.find('\n');
  std::string_view line = text.substr(0, newline);
  text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::array<std::uint8_t, 8> minisignKeyId(const PublicKey& key) {
  ensureSodium();
  std::array<std::uint8_t, crypto_generichash_BYTES> hash{};  // 32: BLAKE2b-256
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, hash.size());
  crypto_generichash_update(&state, bytesOf(KEY_ID_TAG).data(), KEY_ID_TAG.size());
  crypto_generichash_update(&state, key.bytes.data(), key.bytes.size());
  crypto_generichash_final(&state, hash.data(), hash.size());
  KeyId id{};
  std::copy_n(hash.begin(), id.size(), id.begin());
  return id;
}

std::string minisignPublicKey(const PublicKey& key) {
  KeyId id = minisignKeyId(key);
  std::vector<std::uint8_t> blob;
  blob.reserve(PUBLIC_KEY_BLOB_BYTES);
  append(blob, bytesOf(ALG_LEGACY));  // a public key says "Ed" whatever it signs with
  append(blob, id);
  append(blob, key.bytes);
  return std::string(UNTRUSTED_PREFIX) + "minisign public key " + keyIdText(id) + "\n" +
         base64Encode(blob) + "\n";
}

std::string minisignSign(const SecretKey& key, std::span<const std::uint8_t> message,
                         std::string_view trustedComment) {
  KeyId id = minisignKeyId(key.publicKey());
  std::string comment = oneLineComment(trustedComment);
  Signature signature = key.sign(prehash(message));
  Signature global = key.sign(signedComment(signature.bytes, comment));

  std::vector<std::uint8_t> blob;
  blob.reserve(SIGNATURE_BLOB_BYTES);
  append(blob, bytesOf(ALG_PREHASHED));
  append(blob, id);
  append(blob, signature.bytes);
  std::string out;
  out += UNTRUSTED_PREFIX;
  out += "signature from fieldsync key " + keyIdText(id) + "\n";
  out += base64Encode(blob) + "\n";
  out += TRUSTED_PREFIX;
  out += comment + "\n";
  out += base64Encode(global.bytes) + "\n";
  return out;
}

Expected<std::monostate, std::string> minisignVerify(const PublicKey& key,
                                                     std::span<const std::uint8_t> message,
                                                     std::string_view signatureFile) {
  std::string_view rest = signatureFile;
  auto untrustedLine = nextLine(rest);
  auto signatureLine = nextLine(rest);
  auto trustedLine = nextLine(rest);
  auto globalLine = nextLine(rest);
  if (!globalLine) return std::string("signature file is truncated: it needs four lines");
  if (rest.find_first_not_of("\r\n") != std::string_view::npos)
    return std::string("signature file has text after its fourth line");
  if (!untrustedLine->starts_with(UNTRUSTED_PREFIX))
    return std::string("first line does not start with \"untrusted comment: \"");
  if (untrustedLine->size() > MAX_UNTRUSTED_LINE_BYTES)
    return std::string("untrusted comment is longer than minisign reads");
  if (!trustedLine->starts_with(TRUSTED_PREFIX))
    return std::string("third line does not start with \"trusted comment: \"");
  std::string_view comment = trustedLine->substr(TRUSTED_PREFIX.size());
  if (trustedLine->size() > MAX_TRUSTED_LINE_BYTES)
    return std::string("trusted comment is longer than minisign reads");
  // minisign cuts the comment at the first CR or NUL; refuse rather than read it otherwise.
  if (comment.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos)
    return std::string("trusted comment contains a CR or NUL character");

  auto blob = base64Decode(*signatureLine);
  if (!blob || blob->size() != SIGNATURE_BLOB_BYTES)
    return std::string("second line is not a base64 minisign signature");
  auto global = base64Decode(*globalLine);
  if (!global || global->size() != SIGNATURE_BYTES)
    return std::string("fourth line is not a base64 global signature");

  std::string_view alg(reinterpret_cast<const char*>(blob->data()), ALG_BYTES);
  if (alg != ALG_PREHASHED && alg != ALG_LEGACY)
    return "unsupported signature algorithm \"" + std::string(alg) + "\"";
  KeyId signedId{};
  std::copy_n(blob->begin() + ALG_BYTES, KEY_ID_BYTES, signedId.begin());
  Signature signature;
  std::copy_n(blob->begin() + ALG_BYTES + KEY_ID_BYTES, SIGNATURE_BYTES, signature.bytes.begin());
  Signature globalSignature;
  std::copy(global->begin(), global->end(), globalSignature.bytes.begin());

  bool holds = alg == ALG_PREHASHED ? verifySignature(key, prehash(message), signature)
                                    : verifySignature(key, message, signature);
  if (!holds) {
    std::string problem = "signature does not match this message and key";
    if (signedId != minisignKeyId(key))
      problem += " (made by key id " + keyIdText(signedId) + ", this key's fieldsync id is " +
                 keyIdText(minisignKeyId(key)) + ")";
    return problem;
  }
  if (!verifySignature(key, signedComment(signature.bytes, comment), globalSignature))
    return std::string("trusted comment does not match its signature");
  return std::monostate{};
}

std::string base64Encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t group =
        std::uint32_t{bytes[i]} << 16 | std::uint32_t{bytes[i + 1]} << 8 | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += BASE64_ALPHABET[(group >> shift) & 0x3f];
  }
  std::size_t left = bytes.size() - i;
  if (left > 0) {
    std::uint32_t group = std::uint32_t{bytes[i]} << 16;
    if (left == 2) group |= std::uint32_t{bytes[i + 1]} << 8;
    out += BASE64_ALPHABET[group >> 18 & 0x3f];
    out += BASE64_ALPHABET[group >> 12 & 0x3f];
    out += left == 2 ? BASE64_ALPHABET[group >> 6 & 0x3f] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> base64Decode(std::string_view text) {
  // Strict: length a multiple of 4, only the alphabet, "=" only as the last one or two
  // characters, and the bits that padding leaves unused are zero, so each byte string has
  // exactly one encoding.
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    std::size_t digits = last ? 4 - padding : 4;
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      int value = j < digits ? base64Value(text[i + j]) : 0;
      if (value < 0) return std::nullopt;
      group = group << 6 | static_cast<std::uint32_t>(value);
    }
    out.push_back(static_cast<std::uint8_t>(group >> 16));
    if (digits >= 3) out.push_back(static_cast<std::uint8_t>(group >> 8));
    if (digits == 4) out.push_back(static_cast<std::uint8_t>(group));
    if ((digits == 2 && (group & 0xffff) != 0) || (digits == 3 && (group & 0xff) != 0))
      return std::nullopt;
  }
  return out;
}

}  // namespace fieldsync::protocol
