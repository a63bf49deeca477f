#pragma once
// How far a long operation has got (import, bundle export and import, sync), for whoever
// shows it: plain values handed to a callback; no terminal, no clock here (cli/progress.h
// draws the bar).
// Threads: a callback is called on the thread that runs the operation, never concurrently.
// Errors: a callback must not throw; an operation does not catch what one throws.

#include <cstdint>
#include <functional>

namespace fieldsync::store {

struct Progress {
  std::uint64_t done = 0;   // objects handled so far
  std::uint64_t total = 0;  // objects in all; 0 while not known
  std::uint64_t bytes = 0;  // bytes of those objects (or of the messages carrying them)
};

/// Called as an operation goes, as often as every object: cheap callbacks only (a display
/// throttles itself). Empty: nobody is told.
using ProgressCallback = std::function<void(const Progress&)>;

}  // namespace fieldsync::store
