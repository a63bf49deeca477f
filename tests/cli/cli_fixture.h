#pragma once
// What the CLI tests share: running the real fieldsync binary (and other tools) through the
// shell with real files and real exit statuses, in a temp folder removed afterwards.

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::clitest {
namespace fs = std::filesystem;

struct Result {
  int status = -1;
  std::string out, err;
};

/// arg quoted for the shell.
inline std::string quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void spit(const fs::path& path, std::string_view text) {
  std::ofstream(path, std::ios::binary) << text;
}

/// Runs program with args, stdinText on standard input; stdout and stderr captured through
/// files in scratch.
inline Result runProgram(const std::string& program, const std::vector<std::string>& args,
                         const fs::path& scratch, const std::string& stdinText = "") {
  std::string cmd = quote(program);
  for (const auto& a : args) cmd += " " + quote(a);
  spit(scratch / "stdin", stdinText);
  cmd += " <" + quote((scratch / "stdin").string()) + " >" + quote((scratch / "stdout").string()) +
         " 2>" + quote((scratch / "stderr").string());
  int raw = std::system(cmd.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(scratch / "stdout"),
          slurp(scratch / "stderr")};
}

/// fieldsync --home home args...
inline Result runFieldsync(const fs::path& home, const std::vector<std::string>& args,
                           const fs::path& scratch, const std::string& stdinText = "") {
  std::vector<std::string> all{"--home", home.string()};
  all.insert(all.end(), args.begin(), args.end());
  return runProgram(FIELDSYNC_BIN, all, scratch, stdinText);
}

/// A fresh folder, removed with everything in it when the owner goes.
class TempFolder {
 public:
  explicit TempFolder(const std::string& prefix) {
    std::random_device rd;
    m_path = fs::temp_directory_path() / (prefix + std::to_string(rd()));
    fs::create_directories(m_path);
  }
  ~TempFolder() {
    std::error_code ignored;
    fs::remove_all(m_path, ignored);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

}  // namespace fieldsync::clitest
