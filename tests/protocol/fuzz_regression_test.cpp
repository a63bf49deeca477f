// Inputs the fuzzers once got through (fuzz/crashes/): each must now be refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "protocol/keys.h"
#include "protocol/object.h"

namespace fieldsync::protocol {
namespace {
namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<fs::path> crashes(std::string_view target) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(FIELDSYNC_FUZZ_CRASHES_DIR))
    if (entry.path().filename().string().starts_with(target)) out.push_back(entry.path());
  return out;
}

TEST(FuzzRegression, ObjectsWithBitsOutsideTheSchemaAreNotCanonical) {
  auto files = crashes("fuzz_verify-");
  ASSERT_GE(files.size(), 4u);
  for (const auto& file : files) {
    std::string text = slurp(file);
    std::vector<std::uint8_t> bytes(text.begin(), text.end());
    auto decoded = decode(bytes);
    ASSERT_FALSE(decoded.ok()) << file;
    EXPECT_EQ(decoded.error().reason, Reason::NonCanonical)
        << file << ": " << decoded.error().message();
    EXPECT_FALSE(verify(bytes).ok()) << file;
  }
}

TEST(FuzzRegression, KeyFileWithBothSeedAndSealedIsMalformed) {
  auto files = crashes("fuzz_keyfile-");
  ASSERT_GE(files.size(), 1u);
  for (const auto& file : files) {
    auto key = decodeKeyFile(slurp(file), std::nullopt);
    ASSERT_FALSE(key.ok()) << file;
    EXPECT_EQ(key.error(), KeyFileProblem::Malformed) << file;
  }
}

}  // namespace
}  // namespace fieldsync::protocol
