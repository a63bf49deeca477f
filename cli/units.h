#pragma once
// Durations and sizes as people type them: node/units.h, shared with the config file reader.

#include "node/units.h"

namespace fieldsync::cli {

using node::formatDuration;
using node::formatSize;
using node::parseDuration;
using node::parseSize;

}  // namespace fieldsync::cli
