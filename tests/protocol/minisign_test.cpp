#include "protocol/minisign.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace fieldsync::protocol {
namespace {

namespace fs = std::filesystem;

const fs::path MINISIGN = "/usr/bin/minisign";

std::vector<std::uint8_t> bytesOf(std::string_view text) { return {text.begin(), text.end()}; }

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// How minisign prints a key id ("%" PRIX64 of the id read little-endian).
std::string minisignIdText(std::span<const std::uint8_t> id) {
  std::uint64_t value = 0;
  for (std::size_t i = id.size(); i-- > 0;) value = value << 8 | id[i];
  char text[17];
  std::snprintf(text, sizeof text, "%llX", static_cast<unsigned long long>(value));
  return text;
}

/// A key pair in minisign's own public key format: (key id, key) from a .pub file.
struct MinisignPublicKey {
  std::array<std::uint8_t, 8> id{};
  PublicKey key;
};
std::optional<MinisignPublicKey> parsePublicKeyFile(const std::string& text) {
  auto lines = linesOf(text);
  if (lines.size() < 2) return std::nullopt;
  auto blob = base64Decode(lines[1]);
  if (!blob || blob->size() != 42 || (*blob)[0] != 'E' || (*blob)[1] != 'd') return std::nullopt;
  MinisignPublicKey parsed;
  std::copy_n(blob->begin() + 2, 8, parsed.id.begin());
  std::copy_n(blob->begin() + 10, 32, parsed.key.bytes.begin());
  return parsed;
}

SecretKey seededKey(std::uint8_t first) {
  std::array<std::uint8_t, SEED_BYTES> seed{};
  seed[0] = first;
  seed[1] = 0x5a;
  return SecretKey::fromSeed(seed);
}

const std::string MANIFEST =
    "21e8eaebe62adc6c16b23ad27a02f34bba1a4ab36e3d1740403b949687bef115 2013-01-11 "
    "Responsibility to Object\n";

// --- base64 ----------------------------------------------------------------------------------

TEST(Base64, MatchesRfc4648TestVectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(base64Encode(bytesOf(plain)), encoded);
    EXPECT_EQ(base64Decode(encoded), bytesOf(plain)) << encoded;
  }
}

TEST(Base64, RoundTripsEveryByteAndLength) {
  std::vector<std::uint8_t> all(256);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(base64Decode(base64Encode(all)), all);
  std::mt19937 random(20240101);
  for (std::size_t length = 0; length < 70; ++length) {
    std::vector<std::uint8_t> bytes(length);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
    EXPECT_EQ(base64Decode(base64Encode(bytes)), bytes) << length;
  }
}

TEST(Base64, DecodeRejectsMalformedInput) {
  for (std::string_view bad : {"Zg", "Zg=", "Zm9vY", "Z===", "====", "=Zg=", "Zg==Zg==", "Zm9v====",
                               "Zm9v!", "Zm 9v", "Zm9v\n", "Zm9-", "Zm9_",
                               // bits that padding leaves unused must be zero
                               "Zh==", "Zm9="}) {
    EXPECT_FALSE(base64Decode(bad)) << bad;
  }
}

// --- our own signer and verifier --------------------------------------------------------------

TEST(Minisign, KeyIdIsStableAndTaggedPerKey) {
  auto key = seededKey(1).publicKey();
  EXPECT_EQ(minisignKeyId(key), minisignKeyId(key));
  EXPECT_NE(minisignKeyId(key), minisignKeyId(seededKey(2).publicKey()));
}

TEST(Minisign, PublicKeyFileHasMinisignsLayout) {
  auto key = seededKey(1).publicKey();
  auto id = minisignKeyId(key);
  auto lines = linesOf(minisignPublicKey(key));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "untrusted comment: minisign public key " + minisignIdText(id));
  auto parsed = parsePublicKeyFile(minisignPublicKey(key));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, id);
  EXPECT_EQ(parsed->key, key);
}

TEST(Minisign, PublicKeyCommentPrintsKeyIdWithoutLeadingZerosAsMinisignDoes) {
  // Find a key whose id, read little-endian, starts with a zero nibble.
  for (std::uint8_t first = 0; first < 255; ++first) {
    auto key = seededKey(first).publicKey();
    auto id = minisignKeyId(key);
    if (id[7] >= 0x10) continue;
    auto lines = linesOf(minisignPublicKey(key));
    std::string shown = lines[0].substr(lines[0].rfind(' ') + 1);
    EXPECT_LT(shown.size(), 16u);
    EXPECT_EQ(shown, minisignIdText(id));
    return;
  }
  FAIL() << "no key id with a leading zero nibble among 255 seeds";
}

TEST(Minisign, SignatureFileHasFourLinesAndPrehashedAlgorithm) {
  auto key = seededKey(1);
  auto lines = linesOf(minisignSign(key, bytesOf(MANIFEST), "release news@3"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_TRUE(lines[0].starts_with("untrusted comment: "));
  EXPECT_EQ(lines[2], "trusted comment: release news@3");
  auto blob = base64Decode(lines[1]);
  ASSERT_TRUE(blob);
  ASSERT_EQ(blob->size(), 74u);
  EXPECT_EQ((*blob)[0], 'E');
  EXPECT_EQ((*blob)[1], 'D');
  auto id = minisignKeyId(key.publicKey());
  EXPECT_TRUE(std::equal(id.begin(), id.end(), blob->begin() + 2));
  EXPECT_EQ(base64Decode(lines[3])->size(), 64u);
}

TEST(Minisign, VerifyAcceptsWhatWeSign) {
  auto key = seededKey(1);
  auto signature = minisignSign(key, bytesOf(MANIFEST), "release news@3");
  auto checked = minisignVerify(key.publicKey(), bytesOf(MANIFEST), signature);
  EXPECT_TRUE(checked.ok()) << (checked.ok() ? "" : checked.error());
  // An empty message and an empty comment are fine too.
  EXPECT_TRUE(minisignVerify(key.publicKey(), {}, minisignSign(key, {}, "")).ok());
  // CRLF line ends, as after a trip through a Windows editor.
  std::string crlf;
  for (const auto& line : linesOf(signature)) crlf += line + "\r\n";
  EXPECT_TRUE(minisignVerify(key.publicKey(), bytesOf(MANIFEST), crlf).ok());
}

TEST(Minisign, VerifyRejectsChangedMessage) {
  auto key = seededKey(1);
  auto signature = minisignSign(key, bytesOf(MANIFEST), "release news@3");
  std::string changed = MANIFEST;
  changed[10] ^= 1;
  EXPECT_FALSE(minisignVerify(key.publicKey(), bytesOf(changed), signature).ok());
  EXPECT_FALSE(minisignVerify(key.publicKey(), bytesOf(MANIFEST + "x"), signature).ok());
}

TEST(Minisign, VerifyRejectsChangedTrustedComment) {
  auto key = seededKey(1);
  auto signature = minisignSign(key, bytesOf(MANIFEST), "release news@3");
  auto at = signature.find("news@3");
  ASSERT_NE(at, std::string::npos);
  std::string changed = signature;
  changed.replace(at, 6, "news@4");
  auto checked = minisignVerify(key.publicKey(), bytesOf(MANIFEST), changed);
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.error().find("trusted comment"), std::string::npos) << checked.error();
}

TEST(Minisign, VerifyRejectsWrongKey) {
  auto signature = minisignSign(seededKey(1), bytesOf(MANIFEST), "c");
  EXPECT_FALSE(minisignVerify(seededKey(2).publicKey(), bytesOf(MANIFEST), signature).ok());
}

TEST(Minisign, VerifyRejectsMalformedFiles) {
  auto key = seededKey(1);
  auto signature = minisignSign(key, bytesOf(MANIFEST), "c");
  auto lines = linesOf(signature);
  auto join = [](const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += p + "\n";
    return out;
  };
  std::vector<std::string> bad = {
      "",
      join({lines[0], lines[1], lines[2]}),                           // no global signature
      join({"comment: x", lines[1], lines[2], lines[3]}),             // wrong first prefix
      join({lines[0], lines[1], "comment: c", lines[3]}),             // wrong third prefix
      join({lines[0], lines[1].substr(4), lines[2], lines[3]}),       // short signature
      join({lines[0], lines[1] + " ", lines[2], lines[3]}),           // stray space
      join({lines[0], lines[1], lines[2], lines[3], "extra"}),        // trailing text
      join({lines[0], lines[1], "trusted comment: c\rd", lines[3]}),  // CR inside the comment
  };
  // An algorithm minisign does not know.
  auto blob = *base64Decode(lines[1]);
  blob[1] = 'X';
  bad.push_back(join({lines[0], base64Encode(blob), lines[2], lines[3]}));
  for (const auto& file : bad)
    EXPECT_FALSE(minisignVerify(key.publicKey(), bytesOf(MANIFEST), file).ok()) << file;
}

TEST(Minisign, VerifyAcceptsLegacySignatures) {
  // "Ed": Ed25519 over the message itself, as minisign -l makes them.
  auto key = seededKey(1);
  auto id = minisignKeyId(key.publicKey());
  Signature signature = key.sign(bytesOf(MANIFEST));
  std::vector<std::uint8_t> blob{'E', 'd'};
  blob.insert(blob.end(), id.begin(), id.end());
  blob.insert(blob.end(), signature.bytes.begin(), signature.bytes.end());
  std::vector<std::uint8_t> global(signature.bytes.begin(), signature.bytes.end());
  for (char c : std::string_view("legacy")) global.push_back(static_cast<std::uint8_t>(c));
  std::string file = "untrusted comment: x\n" + base64Encode(blob) + "\ntrusted comment: legacy\n" +
                     base64Encode(key.sign(global).bytes) + "\n";
  EXPECT_TRUE(minisignVerify(key.publicKey(), bytesOf(MANIFEST), file).ok());
  EXPECT_FALSE(minisignVerify(key.publicKey(), bytesOf(MANIFEST + "x"), file).ok());
}

TEST(Minisign, TrustedCommentCannotAddLines) {
  auto key = seededKey(1);
  using namespace std::string_view_literals;
  auto signature = minisignSign(key, bytesOf(MANIFEST), "a\ntrusted comment: b\r\0c"sv);
  auto lines = linesOf(signature);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[2], "trusted comment: a trusted comment: b  c");
  EXPECT_TRUE(minisignVerify(key.publicKey(), bytesOf(MANIFEST), signature).ok());
}

TEST(Minisign, OverlongTrustedCommentIsCutAtACharacterBoundary) {
  auto key = seededKey(1);
  std::string comment;
  for (int i = 0; i < 5000; ++i) comment += "\xc3\xa9";  // é, two bytes each
  auto signature = minisignSign(key, bytesOf(MANIFEST), comment);
  auto lines = linesOf(signature);
  ASSERT_EQ(lines.size(), 4u);
  // minisign reads at most 8190 bytes of a trusted comment line, prefix included.
  std::string kept = lines[2].substr(std::string_view("trusted comment: ").size());
  EXPECT_EQ(kept.size(), 8172u);
  EXPECT_EQ(kept, comment.substr(0, 8172));
  EXPECT_TRUE(minisignVerify(key.publicKey(), bytesOf(MANIFEST), signature).ok());
}

// --- the real minisign binary -----------------------------------------------------------------

/// A fresh folder, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "fieldsync-minisign-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    m_path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(m_path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return m_path; }
  fs::path operator/(const std::string& name) const { return m_path / name; }

 private:
  fs::path m_path;
};

void writeFile(const fs::path& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
  ASSERT_TRUE(out.good()) << path;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Run {
  int status = -1;
  std::string output;  // stdout and stderr
};

/// Runs minisign with args (paths inside a TempDir: no quoting needed beyond spaces).
Run minisign(const std::string& args) {
  std::string command = MINISIGN.string() + " " + args + " 2>&1 </dev/null";
  Run run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[512];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) run.output.append(buffer, n);
  int status = pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

#define SKIP_WITHOUT_MINISIGN()                                  \
  if (!fs::exists(MINISIGN))                                     \
  GTEST_SKIP() << MINISIGN                                       \
               << " is not installed (Debian package minisign; " \
                  "scripts/install-deps.sh installs it)"

TEST(MinisignBinary, VerifiesWhatWeSignAndShowsTheTrustedComment) {
  SKIP_WITHOUT_MINISIGN();
  TempDir dir;
  auto key = seededKey(1);
  writeFile(dir / "manifest", MANIFEST);
  writeFile(dir / "manifest.minisig",
            minisignSign(key, bytesOf(MANIFEST), "fieldsync release news@3"));
  writeFile(dir / "minisign.pub", minisignPublicKey(key.publicKey()));

  auto run = minisign("-V -p " + quoted(dir / "minisign.pub") + " -m " + quoted(dir / "manifest"));
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("Trusted comment: fieldsync release news@3"), std::string::npos)
      << run.output;
  // -H refuses legacy signatures: ours are prehashed.
  auto prehashed =
      minisign("-V -H -p " + quoted(dir / "minisign.pub") + " -m " + quoted(dir / "manifest"));
  EXPECT_EQ(prehashed.status, 0) << prehashed.output;

  std::string changed = MANIFEST;
  changed[0] ^= 1;
  writeFile(dir / "manifest", changed);
  auto rejected =
      minisign("-V -p " + quoted(dir / "minisign.pub") + " -m " + quoted(dir / "manifest"));
  EXPECT_NE(rejected.status, 0) << rejected.output;
}

TEST(MinisignBinary, RejectsOurSignatureWithAChangedTrustedComment) {
  SKIP_WITHOUT_MINISIGN();
  TempDir dir;
  auto key = seededKey(1);
  std::string signature = minisignSign(key, bytesOf(MANIFEST), "release news@3");
  signature.replace(signature.find("news@3"), 6, "news@4");
  writeFile(dir / "manifest", MANIFEST);
  writeFile(dir / "sig", signature);
  writeFile(dir / "pub", minisignPublicKey(key.publicKey()));
  auto run = minisign("-V -p " + quoted(dir / "pub") + " -x " + quoted(dir / "sig") + " -m " +
                      quoted(dir / "manifest"));
  EXPECT_NE(run.status, 0) << run.output;
}

TEST(MinisignBinary, PrintsOurKeyIdAsOurPublicKeyFileDoes) {
  // minisign names both key ids when they differ; its rendering of ours must match the
  // comment in our public key file, leading zeros and byte order included.
  SKIP_WITHOUT_MINISIGN();
  std::optional<SecretKey> key;
  for (std::uint8_t first = 0; first < 255 && !key; ++first)
    if (minisignKeyId(seededKey(first).publicKey())[7] < 0x10) key = seededKey(first);
  ASSERT_TRUE(key);
  TempDir dir;
  ASSERT_EQ(
      minisign("-G -W -p " + quoted(dir / "other.pub") + " -s " + quoted(dir / "other.key")).status,
      0);
  writeFile(dir / "manifest", MANIFEST);
  ASSERT_EQ(
      minisign("-S -s " + quoted(dir / "other.key") + " -m " + quoted(dir / "manifest")).status, 0);
  std::string ours = minisignPublicKey(key->publicKey());
  writeFile(dir / "ours.pub", ours);
  auto run = minisign("-V -p " + quoted(dir / "ours.pub") + " -m " + quoted(dir / "manifest"));
  EXPECT_NE(run.status, 0);
  std::string shownId = linesOf(ours)[0].substr(linesOf(ours)[0].rfind(' ') + 1);
  EXPECT_NE(run.output.find("the key id in the public key is " + shownId + "\n"), std::string::npos)
      << run.output;
  // And minisign's own file follows the same rule.
  auto other = parsePublicKeyFile(readFile(dir / "other.pub"));
  ASSERT_TRUE(other);
  EXPECT_EQ(linesOf(readFile(dir / "other.pub"))[0],
            "untrusted comment: minisign public key " + minisignIdText(other->id));
}

TEST(MinisignBinary, ReadsTheLongestTrustedCommentWeWriteAndNoLonger) {
  SKIP_WITHOUT_MINISIGN();
  TempDir dir;
  auto key = seededKey(1);
  std::string signature = minisignSign(key, bytesOf(MANIFEST), std::string(9000, 'x'));
  writeFile(dir / "manifest", MANIFEST);
  writeFile(dir / "pub", minisignPublicKey(key.publicKey()));
  writeFile(dir / "manifest.minisig", signature);
  auto run = minisign("-V -p " + quoted(dir / "pub") + " -m " + quoted(dir / "manifest"));
  EXPECT_EQ(run.status, 0) << run.output.substr(0, 200);

  // One byte more and minisign gives up on the line; so does our verifier.
  auto lines = linesOf(signature);
  std::string longer = lines[0] + "\n" + lines[1] + "\n" + lines[2] + "x\n" + lines[3] + "\n";
  writeFile(dir / "manifest.minisig", longer);
  run = minisign("-V -p " + quoted(dir / "pub") + " -m " + quoted(dir / "manifest"));
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.output.find("too long"), std::string::npos) << run.output.substr(0, 200);
  EXPECT_FALSE(minisignVerify(key.publicKey(), bytesOf(MANIFEST), longer).ok());
}

TEST(MinisignBinary, OurVerifyAcceptsWhatMinisignSigns) {
  SKIP_WITHOUT_MINISIGN();
  TempDir dir;
  ASSERT_EQ(minisign("-G -W -p " + quoted(dir / "pub") + " -s " + quoted(dir / "key")).status, 0);
  auto pub = parsePublicKeyFile(readFile(dir / "pub"));
  ASSERT_TRUE(pub);
  writeFile(dir / "manifest", MANIFEST);

  // Prehashed, minisign's default, with minisign's default trusted comment.
  auto signedDefault = minisign("-S -s " + quoted(dir / "key") + " -m " + quoted(dir / "manifest"));
  ASSERT_EQ(signedDefault.status, 0) << signedDefault.output;
  std::string signature = readFile(dir / "manifest.minisig");
  auto checked = minisignVerify(pub->key, bytesOf(MANIFEST), signature);
  EXPECT_TRUE(checked.ok()) << (checked.ok() ? "" : checked.error());
  EXPECT_FALSE(minisignVerify(pub->key, bytesOf(MANIFEST + "x"), signature).ok());
  EXPECT_FALSE(minisignVerify(seededKey(1).publicKey(), bytesOf(MANIFEST), signature).ok());

  // Legacy, with a trusted comment of our choosing.
  auto signedLegacy =
      minisign("-S -l -s " + quoted(dir / "key") + " -x " + quoted(dir / "legacy.minisig") +
               " -t 'release news@3' -m " + quoted(dir / "manifest"));
  ASSERT_EQ(signedLegacy.status, 0) << signedLegacy.output;
  std::string legacy = readFile(dir / "legacy.minisig");
  EXPECT_NE(legacy.find("trusted comment: release news@3\n"), std::string::npos);
  auto legacyChecked = minisignVerify(pub->key, bytesOf(MANIFEST), legacy);
  EXPECT_TRUE(legacyChecked.ok()) << (legacyChecked.ok() ? "" : legacyChecked.error());
}

}  // namespace
}  // namespace fieldsync::protocol
