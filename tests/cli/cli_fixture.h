#pragma once
// What the CLI tests share: running the real fieldsync binary (and other tools) through the
// shell with real files and real exit statuses, in a temp folder removed afterwards.

#include <gtest/gtest.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

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

/// The exit status and everything written to the terminal by fieldsync args... run on a
/// pseudo-terminal (standard input, output and error all on it), 100 columns wide.
struct PtyResult {
  int status = -1;
  std::string output;
};
inline PtyResult runOnTerminal(const std::vector<std::string>& args) {
  std::vector<std::string> all{FIELDSYNC_BIN};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : all) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env{"TERM=xterm"};  // whatever the test runner's terminal is
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string_view(*e).substr(0, 5) != "TERM=") env.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int master = -1;
  winsize size{};
  size.ws_row = 24;
  size.ws_col = 100;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, &size);
  if (pid < 0) return {};
  if (pid == 0) {
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  PtyResult result;
  char buffer[4096];
  for (;;) {  // until the child closes its side (EIO on Linux)
    const ssize_t n = ::read(master, buffer, sizeof buffer);
    if (n > 0) {
      result.output.append(buffer, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  int raw = 0;
  ::waitpid(pid, &raw, 0);
  ::close(master);
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return result;
}

/// A node of a test: its name, home and public key.
struct Node {
  std::string name;
  fs::path home;
  std::string key;
};

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

/// A test with nodes of its own in a temp folder, driven through the real binary.
class NodesTest : public ::testing::Test {
 protected:
  explicit NodesTest(const std::string& prefix) : m_folder(prefix) {}

  Result run(const Node& node, const std::vector<std::string>& args,
             const std::string& stdinText = "") {
    return runFieldsync(node.home, args, m_dir, stdinText);
  }
  nlohmann::json runJson(const Node& node, const std::vector<std::string>& args) {
    auto r = run(node, args);
    EXPECT_EQ(r.status, 0) << r.err;
    return nlohmann::json::parse(r.out);
  }
  /// `init --name NAME` in m_dir/NAME; the node with its key.
  Node makeNode(const std::string& name) {
    Node node{name, m_dir / name, ""};
    EXPECT_EQ(run(node, {"init", "--name", name}).status, 0);
    node.key = run(node, {"id"}).out.substr(0, 64);
    return node;
  }

  TempFolder m_folder;
  fs::path m_dir = m_folder.path();
  int m_logs = 0;  // numbers the folders of background processes' output
};

}  // namespace fieldsync::clitest
