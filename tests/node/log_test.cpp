// The daemon's logger: levels filter, the two line formats, journal detection, and sinks.
#include "node/log.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>
#include <vector>

namespace fieldsync::node {
namespace {

using namespace std::chrono;

/// 2026-11-28T00:43:26.123Z
system_clock::time_point fixedTime() {
  return system_clock::time_point(seconds(1'795'826'606)) + milliseconds(123);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(Logger, WritesTimestampedLinesInUtcIso8601) {
  std::ostringstream out;
  Logger logger(out, LogLevel::Info, LogFormat::Timestamped, fixedTime);
  logger.info("serving on tcp://0.0.0.0:7420");
  logger.warn("refused a CURVE connection");
  EXPECT_EQ(out.str(),
            "2026-11-28T00:43:26.123Z info serving on tcp://0.0.0.0:7420\n"
            "2026-11-28T00:43:26.123Z warn refused a CURVE connection\n");
}

TEST(Logger, LevelFiltersLessSevereLines) {
  std::ostringstream out;
  Logger logger(out, LogLevel::Warn, LogFormat::Journal);
  logger.debug("d");
  logger.info("i");
  logger.warn("w");
  logger.error("e");
  EXPECT_EQ(out.str(), "<4>w\n<3>e\n");
  EXPECT_FALSE(logger.enabled(LogLevel::Info));
  EXPECT_TRUE(logger.enabled(LogLevel::Error));

  std::ostringstream all;
  Logger debug(all, LogLevel::Debug, LogFormat::Journal);
  debug.debug("d");
  debug.info("i");
  EXPECT_EQ(all.str(), "<7>d\n<6>i\n");

  std::ostringstream quiet;
  Logger errors(quiet, LogLevel::Error, LogFormat::Journal);
  errors.warn("w");
  errors.error("e");
  EXPECT_EQ(quiet.str(), "<3>e\n");
}

TEST(Logger, JournalLinesCarrySyslogPriorityAndNoTime) {
  EXPECT_EQ(formatLogLine(LogLevel::Error, "x", LogFormat::Journal, fixedTime()), "<3>x\n");
  EXPECT_EQ(formatLogLine(LogLevel::Warn, "x", LogFormat::Journal, fixedTime()), "<4>x\n");
  EXPECT_EQ(formatLogLine(LogLevel::Info, "x", LogFormat::Journal, fixedTime()), "<6>x\n");
  EXPECT_EQ(formatLogLine(LogLevel::Debug, "x", LogFormat::Journal, fixedTime()), "<7>x\n");
}

TEST(Logger, ControlCharactersCannotForgeLines) {
  // A peer's error text reaches the log: it must not start a line of its own.
  EXPECT_EQ(
      formatLogLine(LogLevel::Warn, "bad\n<3>forged\r\x1b[2J", LogFormat::Journal, fixedTime()),
      "<4>bad\\x0a<3>forged\\x0d\\x1b[2J\n");
  // Nor act on the terminal showing the log: C1 controls, bidi overrides, bytes not UTF-8
  // are written as visible escapes, as every command prints a peer's text (forTerminal).
  EXPECT_EQ(formatLogLine(LogLevel::Warn, "a\xc2\x9b" "2Jb\xe2\x80\xae" "c\x9b", LogFormat::Journal,
                          fixedTime()),
            "<4>a\\u009b2Jb\\u202ec\\x9b\n");
}

TEST(Logger, LinesFromManyThreadsNeverInterleave) {
  std::ostringstream out;
  Logger logger(out, LogLevel::Info, LogFormat::Journal);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&logger, t] {
      for (int i = 0; i < 200; ++i) logger.info(std::string(50, static_cast<char>('a' + t)));
    });
  for (auto& thread : threads) thread.join();
  const auto written = lines(out.str());
  ASSERT_EQ(written.size(), 800u);
  for (const auto& line : written) {
    ASSERT_EQ(line.size(), 53u);
    EXPECT_EQ(line.substr(3), std::string(50, line[3]));
  }
}

TEST(LogLevels, NamesParseBackAndNothingElseDoes) {
  for (LogLevel level : {LogLevel::Error, LogLevel::Warn, LogLevel::Info, LogLevel::Debug})
    EXPECT_EQ(parseLogLevel(logLevelName(level)), level);
  EXPECT_FALSE(parseLogLevel("INFO"));
  EXPECT_FALSE(parseLogLevel("warning"));
  EXPECT_FALSE(parseLogLevel(""));
}

TEST(LogFormatDetection, JournalOnlyWhenJournalStreamNamesThisFile) {
  EXPECT_EQ(logFormatFor("8:12345", 8, 12345), LogFormat::Journal);
  EXPECT_EQ(logFormatFor("8:12345", 8, 12346), LogFormat::Timestamped);  // another file
  EXPECT_EQ(logFormatFor("9:12345", 8, 12345), LogFormat::Timestamped);
  EXPECT_EQ(logFormatFor(std::nullopt, 8, 12345), LogFormat::Timestamped);
  EXPECT_EQ(logFormatFor("", 8, 12345), LogFormat::Timestamped);
  EXPECT_EQ(logFormatFor("8:", 8, 0), LogFormat::Timestamped);
  EXPECT_EQ(logFormatFor("8:12345x", 8, 12345), LogFormat::Timestamped);
  EXPECT_EQ(logFormatFor("-8:12345", 8, 12345), LogFormat::Timestamped);
}

TEST(LogSinks, LineOnlyFunctionsGetEveryLevelAndEmptyOnesDiscard) {
  std::vector<std::string> seen;
  LogSink sink = [&seen](const std::string& line) { seen.push_back(line); };
  sink(LogLevel::Debug, "a");
  sink("b");
  sink.error("c");
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));

  LogSink empty = std::function<void(const std::string&)>{};
  EXPECT_FALSE(empty);
  empty.warn("dropped");  // no call to an empty function

  std::vector<LogLevel> levels;
  LogSink leveled = [&levels](LogLevel level, const std::string&) { levels.push_back(level); };
  leveled("plain");
  leveled.warn("w");
  EXPECT_EQ(levels, (std::vector<LogLevel>{LogLevel::Info, LogLevel::Warn}));
}

TEST(LogSinks, LoggerSinkWritesThroughTheLoggerAndItsFilter) {
  std::ostringstream out;
  Logger logger(out, LogLevel::Info, LogFormat::Journal);
  const LogSink sink = logger.sink();
  sink.debug("hidden");
  sink(LogLevel::Warn, "shown");
  EXPECT_EQ(out.str(), "<4>shown\n");
}

}  // namespace
}  // namespace fieldsync::node
