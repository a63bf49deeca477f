// Writes the seed inputs that need keys or signatures: signed objects of every kind for
// fuzz_verify (the first is the docs/protocol.md test vector, checked against its id), key
// files for fuzz_keyfile, and minisign signatures for fuzz_minisign. The text seeds of the
// other targets are plain files, cut by hand (fuzz/CMakeLists.txt says from where).
//
//   fuzz_seeds <corpus dir>       e.g. build-fuzz/fuzz/fuzz_seeds fuzz/corpus
//
// Deterministic, apart from the random salt and nonce of the sealed key files.

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "protocol/bundle.h"
#include "protocol/minisign.h"

using namespace fieldsync::protocol;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view VECTOR_ID =
    "21e8eaebe62adc6c16b23ad27a02f34bba1a4ab36e3d1740403b949687bef115";

void write(const fs::path& file, std::span<const std::uint8_t> bytes) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

void write(const fs::path& file, std::string_view text) {
  write(file, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()),
                                            text.size()));
}

std::span<const std::uint8_t> bytesOf(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

VerifiedObject signOrDie(Body body) {
  auto object = sign(Payload{{}, fuzz::FIXED_SIGNED_AT, std::move(body)}, fuzz::fixedKey());
  if (!object) throw std::runtime_error("sign: " + object.error().message());
  return std::move(object).value();
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

void writeVerifySeeds(const fs::path& dir) {
  const VerifiedObject vector = signOrDie(vectorClipping());
  if (vector.id().hex() != VECTOR_ID)
    throw std::runtime_error("the test vector's id is not the one docs/protocol.md gives");
  write(dir / "clipping-test-vector", vector.bytes());

  Clipping minimal;
  minimal.title = "T";
  write(dir / "clipping-title-only", signOrDie(minimal).bytes());

  Clipping accents = vectorClipping();
  accents.title = "Côte d’Ivoire: élections à Abidjan";
  accents.authors = {"Zoë Ngũgĩ", "Łukasz Żółw"};
  accents.published = "2012-12";
  accents.body = "Première ligne.\n\nSecond paragraph\nwith two lines.";
  write(dir / "clipping-utf8", signOrDie(accents).bytes());

  Release first{"weekly-digest", 1, std::nullopt, {vector.id()}, "first release"};
  const VerifiedObject release = signOrDie(first);
  write(dir / "release-first", release.bytes());
  Release second{"weekly-digest", 2, release.id(), {release.id(), vector.id()}, ""};
  std::sort(second.clippings.begin(), second.clippings.end());
  write(dir / "release-second", signOrDie(second).bytes());

  write(dir / "keycert", signOrDie(KeyCert{fuzz::fixedKey().publicKey(), Role::Coordinator,
                                           "Goma office", 1893456000})
                             .bytes());
  write(dir / "revocation",
        signOrDie(Revocation{fuzz::fixedKey().publicKey(), 1357862400, "laptop stolen"}).bytes());
}

/// Small bundles: one of a few objects, one of several frames, and an empty one.
void writeBundleSeeds(const fs::path& dir) {
  const VerifiedObject vector = signOrDie(vectorClipping());
  Clipping minimal;
  minimal.title = "T";
  const VerifiedObject small = signOrDie(minimal);
  auto bytes = [](const VerifiedObject& o) {
    return std::vector<std::uint8_t>(o.bytes().begin(), o.bytes().end());
  };
  write(dir / "bundle-two", writeBundle({bytes(vector), bytes(small)}, fuzz::FIXED_SIGNED_AT));
  BundleWriterOptions frames;
  frames.frameBytes = 256;
  write(dir / "bundle-frames",
        writeBundle({bytes(vector), bytes(small), bytes(small)}, fuzz::FIXED_SIGNED_AT, frames));
  write(dir / "bundle-empty", writeBundle({}, fuzz::FIXED_SIGNED_AT));
}

void writeKeyFileSeeds(const fs::path& dir) {
  const SecretKey& key = fuzz::fixedKey();
  write(dir / "plain", encodeKeyFile(key, std::nullopt));
  // Argon2id at libsodium's minimum: the only sealed files fuzz_keyfile opens.
  write(dir / "sealed-minimum-cost",
        encodeKeyFile(key, fuzz::FIXED_PASSPHRASE,
                      SealCost{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}));
  // The default cost: fuzz_keyfile only reads it without a passphrase.
  write(dir / "sealed-default-cost", encodeKeyFile(key, fuzz::FIXED_PASSPHRASE));
}

/// One fuzz_minisign input: a length byte, the message, the signature file.
std::string minisignInput(std::string_view message, std::string_view signatureFile) {
  std::string input(1, static_cast<char>(message.size()));
  input += message;
  input += signatureFile;
  return input;
}

void writeMinisignSeeds(const fs::path& dir) {
  const SecretKey& key = fuzz::fixedKey();
  const std::string_view manifest = "weekly-digest 2\nclippings.jsonl 4f2a\n";
  write(dir / "prehashed",
        minisignInput(manifest, minisignSign(key, bytesOf(manifest), "release weekly-digest 2")));
  write(dir / "prehashed-empty-message", minisignInput("", minisignSign(key, {}, "")));

  // Legacy "Ed": the signature is over the message itself. Built here: fieldsync only reads it.
  const std::string_view message = "legacy";
  const Signature signature = key.sign(bytesOf(message));
  std::vector<std::uint8_t> blob = {'E', 'd'};
  const auto id = minisignKeyId(key.publicKey());
  blob.insert(blob.end(), id.begin(), id.end());
  blob.insert(blob.end(), signature.bytes.begin(), signature.bytes.end());
  const std::string_view comment = "timestamp:1357862400";
  std::vector<std::uint8_t> signedComment(signature.bytes.begin(), signature.bytes.end());
  signedComment.insert(signedComment.end(), comment.begin(), comment.end());
  const Signature global = key.sign(signedComment);
  const std::string file = "untrusted comment: legacy signature\n" + base64Encode(blob) +
                           "\ntrusted comment: " + std::string(comment) + "\n" +
                           base64Encode(global.bytes) + "\n";
  write(dir / "legacy", minisignInput(message, file));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seeds <corpus dir>\n";
    return 2;
  }
  try {
    const fs::path corpus = argv[1];
    writeVerifySeeds(corpus / "fuzz_verify");
    writeKeyFileSeeds(corpus / "fuzz_keyfile");
    writeMinisignSeeds(corpus / "fuzz_minisign");
    writeBundleSeeds(corpus / "fuzz_bundle");
  } catch (const std::exception& e) {
    std::cerr << "fuzz_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
