#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string_view>

namespace fieldsync::cli {
namespace {

using TimePoint = std::chrono::steady_clock::time_point;

/// Erases from the cursor to the end of the line (ANSI EL).
constexpr std::string_view ERASE_LINE = "\x1b[K";

std::string formatBytes(std::uint64_t bytes) {
  constexpr const char* UNITS[] = {"kB", "MB", "GB", "TB"};
  if (bytes < 1000) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1000;
  std::size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(UNITS)) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, UNITS[unit]);
  return text;
}

std::string formatRate(double perSecond) {
  char text[32];
  if (perSecond >= 100 || perSecond == 0)
    std::snprintf(text, sizeof text, "%.0f/s", perSecond);
  else
    std::snprintf(text, sizeof text, "%.1f/s", perSecond);
  return text;
}

}  // namespace

std::string formatClock(std::int64_t seconds) {
  if (seconds < 0) seconds = 0;
  char text[32];
  if (seconds >= 3600)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds / 60 % 60), static_cast<long long>(seconds % 60));
  else
    std::snprintf(text, sizeof text, "%lld:%02lld", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  return text;
}

ProgressBar::ProgressBar(std::ostream& out, std::string label, std::size_t width, Clock clock)
    : m_out(out), m_label(std::move(label)), m_width(width), m_clock(std::move(clock)) {}

ProgressBar::~ProgressBar() { clear(); }

void ProgressBar::update(const store::Progress& progress) {
  const TimePoint now = m_clock();
  if (m_lastDraw && now - *m_lastDraw < REDRAW_EVERY) return;
  m_lastDraw = now;
  m_out << '\r' << line(progress, now) << ERASE_LINE << std::flush;
  m_drawn = true;
}

void ProgressBar::clear() {
  if (!m_drawn) return;
  m_out << '\r' << ERASE_LINE << std::flush;
  m_drawn = false;
  m_lastDraw.reset();
}

std::string ProgressBar::line(const store::Progress& progress, TimePoint now) {
  // The rate over the recent samples; this one is kept for the next lines.
  // The oldest sample stays when all are old: the rate is then since the last drawing.
  while (m_samples.size() > 1 && now - m_samples[1].at >= RATE_WINDOW) m_samples.pop_front();
  if (!m_samples.empty() && progress.done < m_samples.back().done) m_samples.clear();
  std::optional<double> rate;
  if (!m_samples.empty()) {
    const double seconds = std::chrono::duration<double>(now - m_samples.front().at).count();
    if (seconds >= 0.5)
      rate = static_cast<double>(progress.done - m_samples.front().done) / seconds;
  }
  if (m_samples.empty() || now > m_samples.back().at) m_samples.push_back({now, progress.done});

  const bool known = progress.total > 0;
  std::string counts = "  " + std::to_string(progress.done);
  if (known) counts += "/" + std::to_string(progress.total);
  counts += " objects";
  if (known) {
    const auto percent =
        progress.done >= progress.total ? 100 : progress.done * 100 / progress.total;
    counts += "  " + std::to_string(percent) + "%";
  }
  if (progress.bytes > 0) counts += "  " + formatBytes(progress.bytes);
  if (rate) counts += "  " + formatRate(*rate);
  if (rate && *rate > 0 && known && progress.done < progress.total)
    counts += "  " +
              formatClock(static_cast<std::int64_t>(
                  static_cast<double>(progress.total - progress.done) / *rate + 0.5)) +
              " left";

  // The bar takes what room is left, when there is enough for one worth reading.
  std::string text = m_label;
  const std::size_t room = m_width > 0 ? m_width - 1 : 0;  // never the last column: no wrap
  constexpr std::size_t MIN_BAR = 10;
  if (known && text.size() + counts.size() + MIN_BAR + 3 <= room) {
    const std::size_t inner = std::min<std::size_t>(room - text.size() - counts.size() - 3, 50);
    const std::size_t filled =
        static_cast<std::size_t>(std::min(progress.done, progress.total) * inner / progress.total);
    std::string bar(inner, ' ');
    for (std::size_t i = 0; i < filled; ++i) bar[i] = '=';
    if (filled < inner && filled > 0) bar[filled - 1] = '>';
    text += " [" + bar + "]";
  }
  text += counts;
  if (text.size() > room) text.resize(room);
  return text;
}

std::unique_ptr<ProgressBar> terminalProgressBar(bool quiet, std::string label) {
  if (quiet || !::isatty(STDERR_FILENO)) return nullptr;
  if (const char* term = std::getenv("TERM"); term && std::string_view(term) == "dumb")
    return nullptr;
  std::size_t width = 80;
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) width = size.ws_col;
  return std::make_unique<ProgressBar>(std::cerr, std::move(label), width);
}

store::ProgressCallback progressCallback(ProgressBar* bar) {
  if (bar == nullptr) return {};
  return [bar](const store::Progress& progress) { bar->update(progress); };
}

}  // namespace fieldsync::cli
