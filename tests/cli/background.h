#pragma once
// A command (usually the real fieldsync binary) run in the background by the CLI, crash and
// full-disk tests: standard output and error in files in a folder of the test's, polled for
// text, signalled, and killed (SIGKILL) and reaped when the owner goes.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/cli_fixture.h"

extern char** environ;

namespace fieldsync::clitest {

/// A loopback port nobody listens on now (the kernel's pick for port 0). Someone may take it
/// before a server binds it: callers that start servers try again with another.
inline int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("freePort: socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("freePort: no loopback port to bind");
  return ntohs(address.sin_port);
}

/// command (argv; found on PATH unless it names a file) in the background, standard input
/// /dev/null, standard output in folder/stdout and standard error in folder/stderr (created,
/// or emptied when the test made them first, e.g. to name stderr's inode in JOURNAL_STREAM).
/// The environment is the test's, without JOURNAL_STREAM and without what extraEnv ("NAME=value"
/// entries) sets again, plus extraEnv; SIGINT and SIGTERM have their default actions and
/// no signal is blocked. One background process per folder.
class Background {
 public:
  static constexpr std::chrono::milliseconds KILL_WAIT{30000};  // reaping after SIGKILL
  static constexpr std::chrono::milliseconds STOP_WAIT{30000};  // a stop normally takes < 1 s

  static fs::path outPath(const fs::path& folder) { return folder / "stdout"; }
  static fs::path errPath(const fs::path& folder) { return folder / "stderr"; }

  Background(const std::vector<std::string>& command, const fs::path& folder,
             const std::vector<std::string>& extraEnv = {})
      : m_out(outPath(folder)), m_err(errPath(folder)) {
    if (command.empty()) throw std::invalid_argument("Background: no command");
    fs::create_directories(folder);
    std::vector<std::string> all = command;
    std::vector<char*> argv;
    for (auto& arg : all) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      const auto name = entry.substr(0, entry.find('=') + 1);  // "NAME="
      if (name == "JOURNAL_STREAM=") continue;
      bool replaced = false;
      for (const auto& extra : extraEnv) replaced = replaced || extra.rfind(name, 0) == 0;
      if (!replaced) env.emplace_back(entry);
    }
    env.insert(env.end(), extraEnv.begin(), extraEnv.end());
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, m_out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&actions, 2, m_err.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    // Whatever the test runner did with SIGINT and SIGTERM, the child gets the defaults.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, both;
    sigemptyset(&none);
    sigemptyset(&both);
    sigaddset(&both, SIGINT);
    sigaddset(&both, SIGTERM);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &both);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const int error =
        posix_spawnp(&m_pid, argv[0], &actions, &attributes, argv.data(), envp.data());
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) {
      throw std::runtime_error("posix_spawn " + command.front() +
                               " failed: " + std::generic_category().message(error));
    }
  }
  ~Background() {
    if (running()) {
      ::kill(m_pid, SIGKILL);
      (void)waitExit(KILL_WAIT);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  pid_t pid() const { return m_pid; }
  void signal(int number) { ::kill(m_pid, number); }
  /// False once the process has ended (and been reaped).
  bool running() {
    if (m_status) return false;
    int raw = 0;
    if (::waitpid(m_pid, &raw, WNOHANG) == m_pid) m_status = raw;
    return !m_status;
  }
  /// The exit status once the process ends, waiting up to wait: -SIGNAL when a signal ended
  /// it, empty when it still runs.
  std::optional<int> waitExit(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!m_status) return std::nullopt;
    return WIFEXITED(*m_status) ? WEXITSTATUS(*m_status) : -WTERMSIG(*m_status);
  }
  /// Asks it to stop (SIGTERM) and waits up to STOP_WAIT; its exit status.
  std::optional<int> stop() {
    signal(SIGTERM);
    return waitExit(STOP_WAIT);
  }
  /// Waits until standard output or error holds text; false when the process ended or wait
  /// passed first.
  bool waitForOutput(const std::string& text, std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      if (holds(text)) return true;
      if (!running() || std::chrono::steady_clock::now() >= deadline) return holds(text);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::string out() const { return slurp(m_out); }
  std::string err() const { return slurp(m_err); }
  /// What fieldsync logs: standard error.
  std::string log() const { return err(); }

 private:
  bool holds(const std::string& text) const {
    return out().find(text) != std::string::npos || err().find(text) != std::string::npos;
  }

  fs::path m_out, m_err;
  pid_t m_pid = -1;
  std::optional<int> m_status;  // waitpid's, once reaped
};

/// fieldsync --home home args...
inline std::vector<std::string> fieldsyncCommand(const fs::path& home,
                                                 const std::vector<std::string>& args) {
  std::vector<std::string> all{FIELDSYNC_BIN, "--home", home.string()};
  all.insert(all.end(), args.begin(), args.end());
  return all;
}

}  // namespace fieldsync::clitest
