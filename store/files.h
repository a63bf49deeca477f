#pragma once
// Writing files so that each appears whole or not at all, and survives a crash once written:
// the key file, release exports. A temporary file beside the target, fsync, rename, fsync
// of the folder. Errors: fieldsync::Error naming the call and the path; on failure no
// temporary file is left behind.

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fieldsync::store {

/// Writes text to path with the given permission bits. With exclusive, refuses (Error) when
/// path already exists; otherwise replaces it.
void writeFileDurably(const std::filesystem::path& path, std::string_view text, unsigned mode,
                      bool exclusive = false);

/// Writes several files into dir: all are written and synced under temporary names first,
/// then renamed into place, so a failure while writing (a full disk) leaves none of the new
/// files. The renames come last; one fails only on a damaged or hostile folder.
void writeFilesDurably(const std::filesystem::path& dir,
                       const std::vector<std::pair<std::string, std::string>>& files,
                       unsigned mode = 0644);

}  // namespace fieldsync::store
