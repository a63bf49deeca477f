#include "node/log.h"

#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "protocol/text.h"

namespace fieldsync::node {

std::string_view logLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::Error:
      return "error";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Info:
      return "info";
    case LogLevel::Debug:
      return "debug";
  }
  return "info";
}

std::optional<LogLevel> parseLogLevel(std::string_view text) {
  for (LogLevel level : {LogLevel::Error, LogLevel::Warn, LogLevel::Info, LogLevel::Debug})
    if (text == logLevelName(level)) return level;
  return std::nullopt;
}

namespace {

/// The decimal number that is the whole of text; empty otherwise.
std::optional<std::uint64_t> wholeNumber(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

LogFormat logFormatFor(std::optional<std::string_view> journalStream, std::uint64_t device,
                       std::uint64_t inode) {
  if (!journalStream) return LogFormat::Timestamped;
  const auto colon = journalStream->find(':');
  if (colon == std::string_view::npos) return LogFormat::Timestamped;
  const auto dev = wholeNumber(journalStream->substr(0, colon));
  const auto ino = wholeNumber(journalStream->substr(colon + 1));
  return dev && ino && *dev == device && *ino == inode ? LogFormat::Journal
                                                       : LogFormat::Timestamped;
}

LogFormat detectLogFormat(int fd) {
  const char* variable = std::getenv("JOURNAL_STREAM");
  if (!variable) return LogFormat::Timestamped;
  struct stat status {};
  if (::fstat(fd, &status) != 0) return LogFormat::Timestamped;
  return logFormatFor(std::string_view(variable), static_cast<std::uint64_t>(status.st_dev),
                      static_cast<std::uint64_t>(status.st_ino));
}

std::string formatLogLine(LogLevel level, std::string_view message, LogFormat format,
                          std::chrono::system_clock::time_point at) {
  std::string line;
  line.reserve(message.size() + 40);
  if (format == LogFormat::Journal) {
    line += '<';
    line += static_cast<char>('0' + static_cast<int>(level));
    line += '>';
  } else {
    using namespace std::chrono;
    const auto ms = floor<milliseconds>(at.time_since_epoch());
    const std::time_t seconds = static_cast<std::time_t>(floor<std::chrono::seconds>(ms).count());
    const auto millis = static_cast<int>((ms - floor<std::chrono::seconds>(ms)).count());
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char stamp[40];
    const int n = std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ",
                                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                                utc.tm_min, utc.tm_sec, millis);
    line.append(stamp, static_cast<std::size_t>(n > 0 ? n : 0));
    line += logLevelName(level);
    line += ' ';
  }
  // The one output path for people (protocol::forTerminal): a peer's text cannot start a line
  // of its own, nor act on the terminal or the journal reading it.
  line += protocol::forTerminal(message);
  line += '\n';
  return line;
}

Logger::Logger(std::ostream& out, LogLevel threshold, LogFormat format, Clock clock)
    : m_out(out), m_threshold(threshold), m_format(format), m_clock(std::move(clock)) {}

void Logger::write(LogLevel level, std::string_view message) {
  if (!enabled(level)) return;
  const auto at = m_clock ? m_clock() : std::chrono::system_clock::now();
  const std::string line = formatLogLine(level, message, m_format, at);
  std::lock_guard lock(m_mutex);
  m_out.write(line.data(), static_cast<std::streamsize>(line.size()));
  m_out.flush();
  m_out.clear();
}

LogSink Logger::sink() {
  return LogSink([this](LogLevel level, const std::string& line) { write(level, line); });
}

}  // namespace fieldsync::node
