#pragma once
// The daemon's log: lines with a level (error, warn, info, debug), written whole to one stream.
//
// A Logger is an object the daemon's owner makes and passes in (no global logger). Node
// components (Server, Daemon, Beacon) take a LogSink, a cheap copyable function of a level and
// a line; Logger::sink() makes one that writes through the logger.
//
// Two line formats:
//   - Timestamped, for a terminal or a file: "2026-11-28T00:43:26.123Z warn refused a ...",
//     the time in UTC, ISO 8601, to the millisecond.
//   - Journal, when stderr is the systemd journal (JOURNAL_STREAM names stderr's device and
//     inode): "<4>refused a ...", the syslog priority in angle brackets and no time (the
//     journal keeps its own), as sd-daemon(3) describes. No libsystemd is needed.
// A message's control characters (newlines included) are written as spaces, so one call is one
// line whatever the text holds (peers' error texts reach the log).
//
// Threads: a Logger may be used from any number of threads; each line is written and flushed
// under its mutex, so lines never interleave. Lifetime: the stream outlives the Logger, and
// the Logger outlives every sink() made from it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>

namespace fieldsync::node {

/// The levels, most severe first; each value is its syslog priority (sd-daemon's <N>).
enum class LogLevel : std::uint8_t { Error = 3, Warn = 4, Info = 6, Debug = 7 };

/// "error", "warn", "info", "debug".
std::string_view logLevelName(LogLevel level);
/// The level named by one of logLevelName's words (as written; no other spelling); empty
/// otherwise.
[[nodiscard]] std::optional<LogLevel> parseLogLevel(std::string_view text);

enum class LogFormat { Timestamped, Journal };

/// The format for a stream whose file has this device and inode, given the value of
/// JOURNAL_STREAM (empty when unset): Journal when the variable is "DEVICE:INODE" (decimal)
/// naming that same file, else Timestamped. Pure: the caller asks the system.
[[nodiscard]] LogFormat logFormatFor(std::optional<std::string_view> journalStream,
                                     std::uint64_t device, std::uint64_t inode);
/// logFormatFor for the open file descriptor fd and this process's JOURNAL_STREAM
/// (Timestamped when fd cannot be examined).
[[nodiscard]] LogFormat detectLogFormat(int fd);

/// One line as a Logger writes it, newline included. Pure.
std::string formatLogLine(LogLevel level, std::string_view message, LogFormat format,
                          std::chrono::system_clock::time_point at);

/// Where a node component sends its log lines: a function of a level and a line. Copyable;
/// an empty sink discards. A function of a line alone converts to one and receives every line,
/// whatever its level (tests collect lines that way). Calling with a line alone logs at Info.
class LogSink {
 public:
  using Fn = std::function<void(LogLevel, const std::string&)>;

  LogSink() = default;
  LogSink(Fn fn) : m_fn(std::move(fn)) {}
  LogSink(std::function<void(const std::string&)> lineOnly) {
    if (lineOnly) m_fn = [f = std::move(lineOnly)](LogLevel, const std::string& line) { f(line); };
  }
  template <class F>
  requires(std::is_invocable_v<const F&, const std::string&> &&
           !std::is_invocable_v<const F&, LogLevel, const std::string&> &&
           !std::is_same_v<std::remove_cvref_t<F>, std::function<void(const std::string&)>>)
      LogSink(F lineOnly)
      : m_fn([f = std::move(lineOnly)](LogLevel, const std::string& line) { f(line); }) {}
  template <class F>
  requires(std::is_invocable_v<const F&, LogLevel, const std::string&> &&
           !std::is_same_v<std::remove_cvref_t<F>, Fn> &&
           !std::is_same_v<std::remove_cvref_t<F>, LogSink>) LogSink(F fn)
      : m_fn(std::move(fn)) {}

  explicit operator bool() const { return static_cast<bool>(m_fn); }
  void operator()(LogLevel level, const std::string& line) const {
    if (m_fn) m_fn(level, line);
  }
  void operator()(const std::string& line) const { (*this)(LogLevel::Info, line); }
  void error(const std::string& line) const { (*this)(LogLevel::Error, line); }
  void warn(const std::string& line) const { (*this)(LogLevel::Warn, line); }
  void info(const std::string& line) const { (*this)(LogLevel::Info, line); }
  void debug(const std::string& line) const { (*this)(LogLevel::Debug, line); }

 private:
  Fn m_fn;
};

class Logger {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  /// Writes lines of threshold's level and more severe ones to out, in format. clock tells
  /// the time of each line (tests fix it); empty: the system clock.
  Logger(std::ostream& out, LogLevel threshold, LogFormat format, Clock clock = {});
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  LogLevel threshold() const { return m_threshold; }
  LogFormat format() const { return m_format; }
  /// Whether a line of level would be written.
  bool enabled(LogLevel level) const {
    return static_cast<std::uint8_t>(level) <= static_cast<std::uint8_t>(m_threshold);
  }

  /// Writes message as one line when level is enabled. A stream that fails is not reported
  /// (a log has nowhere to report to); the stream's state is cleared for the next line.
  void write(LogLevel level, std::string_view message);
  void error(std::string_view message) { write(LogLevel::Error, message); }
  void warn(std::string_view message) { write(LogLevel::Warn, message); }
  void info(std::string_view message) { write(LogLevel::Info, message); }
  void debug(std::string_view message) { write(LogLevel::Debug, message); }

  /// A sink that writes through this logger (which must outlive it).
  LogSink sink();

 private:
  std::ostream& m_out;
  const LogLevel m_threshold;
  const LogFormat m_format;
  const Clock m_clock;
  std::mutex m_mutex;  // one line at a time
};

}  // namespace fieldsync::node
