#pragma once
// minisign's formats, so that anyone can check a fieldsync release export with the stock
// `minisign` tool: `minisign -V -p minisign.pub -m manifest`. A fieldsync key is an Ed25519
// key, which is what minisign uses; only the encodings differ. Pure: no files.
// Formats: https://jedisct1.github.io/minisign/ (public key "Ed" || key id || key; signature
// "ED" (prehashed, BLAKE2b-512 of the file) || key id || signature, then a trusted comment and
// a global signature over signature || trusted comment).

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "protocol/error.h"
#include "protocol/keys.h"

namespace fieldsync::protocol {

/// The 8-byte minisign key id fieldsync uses for a key: the first 8 bytes of
/// BLAKE2b-256("fieldsync/minisign-key-id/v1" || public key), so it is stable across exports.
std::array<std::uint8_t, 8> minisignKeyId(const PublicKey& key);

/// The contents of a minisign public key file (two lines).
std::string minisignPublicKey(const PublicKey& key);

/// The contents of a .minisig file for message: prehashed Ed25519, with trustedComment (one
/// line, no newline) covered by the global signature.
std::string minisignSign(const SecretKey& key, std::span<const std::uint8_t> message,
                         std::string_view trustedComment);

/// Checks a .minisig against message and key; the problem when it does not hold. Accepts
/// prehashed ("ED") and legacy ("Ed") signatures, as minisign does.
Expected<std::monostate, std::string> minisignVerify(const PublicKey& key,
                                                     std::span<const std::uint8_t> message,
                                                     std::string_view signatureFile);

/// Standard base64 with padding, and its inverse (empty on malformed input).
std::string base64Encode(std::span<const std::uint8_t> bytes);
std::optional<std::vector<std::uint8_t>> base64Decode(std::string_view text);

}  // namespace fieldsync::protocol
