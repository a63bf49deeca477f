// The progress bar's drawing, on a fake clock and a string stream: what a line says, how
// often it is redrawn, the rate and time left, and that it is erased. No real time passes.
#include "cli/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace fieldsync::cli {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::steady_clock::time_point;

class Bar : public ::testing::Test {
 protected:
  ProgressBar make(std::size_t width = 100) {
    return ProgressBar(m_out, "importing", width, [this] { return m_now; });
  }
  std::size_t draws() const {
    std::size_t n = 0;
    for (char c : m_out.str()) n += c == '\r';
    return n;
  }
  /// The text of the last line drawn, without control sequences.
  std::string lastLine() const {
    const std::string all = m_out.str();
    const auto start = all.rfind('\r');
    std::string text = all.substr(start + 1);
    if (const auto erase = text.find("\x1b[K"); erase != std::string::npos) text.resize(erase);
    return text;
  }

  std::ostringstream m_out;
  TimePoint m_now{1000s};
};

TEST_F(Bar, ALineSaysTheLabelTheCountOfTheTotalAndThePercentage) {
  auto bar = make();
  bar.update({50, 200, 0});
  const auto text = lastLine();
  EXPECT_EQ(text.rfind("importing [", 0), 0u) << text;
  EXPECT_NE(text.find("50/200 objects"), std::string::npos) << text;
  EXPECT_NE(text.find("25%"), std::string::npos) << text;
  EXPECT_NE(text.find("[===========> "), std::string::npos) << text;  // a quarter of 50
  EXPECT_EQ(text.find("left"), std::string::npos) << text;            // no rate yet: no time left
}

TEST_F(Bar, WithoutATotalItShowsTheCountAndBytesButNoBarOrPercentage) {
  auto bar = make();
  bar.update({7, 0, 1'500'000});
  const auto text = lastLine();
  EXPECT_EQ(text, "importing  7 objects  1.5 MB");
}

TEST_F(Bar, RateAndTimeLeftComeFromTheRecentProgress) {
  auto bar = make();
  bar.update({0, 1000, 0});
  m_now += 2s;
  bar.update({200, 1000, 0});  // 100 a second: 800 more take 8 s
  EXPECT_NE(lastLine().find("100/s"), std::string::npos) << lastLine();
  EXPECT_NE(lastLine().find("0:08 left"), std::string::npos) << lastLine();

  // Samples older than the window no longer count: a stall shows as a slower rate.
  m_now += 4s;
  bar.update({200, 1000, 0});  // 200 in 6 s over the window's samples
  EXPECT_NE(lastLine().find("33.3/s"), std::string::npos) << lastLine();
  m_now += 10s;
  bar.update({250, 1000, 0});  // all samples are old: the rate is since the last one
  EXPECT_NE(lastLine().find("5.0/s"), std::string::npos) << lastLine();
  EXPECT_NE(lastLine().find("2:30 left"), std::string::npos) << lastLine();
}

TEST_F(Bar, ItRedrawsAtMostTenTimesASecond) {
  auto bar = make();
  for (std::uint64_t i = 0; i < 1000; ++i) bar.update({i, 1000, 0});
  EXPECT_EQ(draws(), 1u);
  m_now += 99ms;
  bar.update({1, 1000, 0});
  EXPECT_EQ(draws(), 1u);
  m_now += 1ms;
  bar.update({2, 1000, 0});
  EXPECT_EQ(draws(), 2u);
  for (int i = 0; i < 30; ++i) {  // 3 s of updates every 10 ms: 30 more drawings
    for (int j = 0; j < 10; ++j) {
      m_now += 10ms;
      bar.update({3, 1000, 0});
    }
  }
  EXPECT_EQ(draws(), 32u);
}

TEST_F(Bar, ClearErasesTheLineOnceAndABarNeverDrawnWritesNothing) {
  { auto quiet = make(); }
  EXPECT_EQ(m_out.str(), "");
  {
    auto bar = make();
    bar.update({1, 2, 0});
    bar.clear();
    const std::string once = m_out.str();
    EXPECT_TRUE(once.ends_with("\r\x1b[K")) << once;
    bar.clear();
    EXPECT_EQ(m_out.str(), once);
    bar.update({2, 2, 0});  // after a clear the next update draws at once
    EXPECT_EQ(draws(), 3u);
  }
  EXPECT_TRUE(m_out.str().ends_with("\r\x1b[K"));  // the destructor erased the last line
}

TEST_F(Bar, ALineNeverFillsTheTerminalWidthAndDropsTheBarWhenNarrow) {
  for (std::size_t width : {120u, 80u, 60u, 40u, 20u}) {
    std::ostringstream out;
    ProgressBar bar(out, "receiving", width, [this] { return m_now; });
    const auto text = bar.line({123456, 987654, 12'345'678}, m_now);
    EXPECT_LT(text.size(), width) << text;
    if (width <= 40) {
      EXPECT_EQ(text.find('['), std::string::npos) << text;
    }
  }
}

TEST(FormatClock, MinutesAndSecondsThenHours) {
  EXPECT_EQ(formatClock(9), "0:09");
  EXPECT_EQ(formatClock(720), "12:00");
  EXPECT_EQ(formatClock(3723), "1:02:03");
  EXPECT_EQ(formatClock(-5), "0:00");
}

}  // namespace
}  // namespace fieldsync::cli
