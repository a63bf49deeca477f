#pragma once
// A progress line for long commands (import, sync, bundle export and import), on standard
// error when it is a terminal:
//
//   importing [=========>          ]  1234/5678 objects  21%  2.3 MB  410/s  0:09 left
//
// It redraws at most REDRAW_EVERY (a library may report every object), and is erased by
// clear() or its destructor, so results and errors print on a clean line. Without a known
// total it shows the count, bytes and rate only. The rate is over the last few seconds, so it
// follows a link that speeds up or stalls.
// Threads: one thread. Clock: injected, so tests run on a fake one.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "store/progress.h"

namespace fieldsync::cli {

class ProgressBar {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr std::chrono::milliseconds REDRAW_EVERY{100};
  /// The rate is measured over samples this recent.
  static constexpr std::chrono::seconds RATE_WINDOW{5};

  /// Draws on out, lines of fewer than width characters, "label" first.
  ProgressBar(std::ostream& out, std::string label, std::size_t width,
              Clock clock = std::chrono::steady_clock::now);
  ~ProgressBar();  // clear()
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Redraws for progress, unless the last drawing is less than REDRAW_EVERY old.
  void update(const store::Progress& progress);
  /// Erases the line, when one is drawn; the next update() draws again.
  void clear();

  /// The line for progress at now, without control characters (what update() draws).
  std::string line(const store::Progress& progress, std::chrono::steady_clock::time_point now);

 private:
  struct Sample {
    std::chrono::steady_clock::time_point at;
    std::uint64_t done;
  };

  std::ostream& m_out;
  std::string m_label;
  std::size_t m_width;
  Clock m_clock;
  bool m_drawn = false;
  std::optional<std::chrono::steady_clock::time_point> m_lastDraw;
  std::deque<Sample> m_samples;  // at drawings, for the rate
};

/// A bar on standard error when it is a terminal (and TERM is not "dumb") and not quiet;
/// else none.
std::unique_ptr<ProgressBar> terminalProgressBar(bool quiet, std::string label);

/// A callback that updates bar; an empty one when there is no bar.
store::ProgressCallback progressCallback(ProgressBar* bar);

/// "0:09", "12:00", "1:02:03".
std::string formatClock(std::int64_t seconds);

}  // namespace fieldsync::cli
