#pragma once
// Reading the committed fixtures of tests/fixtures/ (FIELDSYNC_FIXTURES_DIR) for the import
// tests: bytes as they are on disk.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace fieldsync::protocol::testing {

inline std::string readFixtureBytes(const std::string& name) {
  std::ifstream in(std::string(FIELDSYNC_FIXTURES_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << "missing fixture " << name;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace fieldsync::protocol::testing
