#pragma once
// Writing files so that each appears whole or not at all, and survives a crash once written:
// the key file, release exports. A temporary file beside the target, fsync, rename, fsync
// of the folder. Errors: fieldsync::Error naming the call and the path; on failure no
// temporary file is left behind.

#include <cstdint>
#include <filesystem>
#include <span>
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

/// A file written piece by piece that appears at its path whole or not at all, for outputs
/// too large to hold in memory (bundles): written under a temporary name beside the path,
/// then synced and renamed into place by commit(), replacing any file there. Without
/// commit() (a failure on the way) the destructor removes the temporary file.
class DurableFile {
 public:
  DurableFile(std::filesystem::path path, unsigned mode);
  ~DurableFile();
  DurableFile(const DurableFile&) = delete;
  DurableFile& operator=(const DurableFile&) = delete;

  void write(std::span<const std::uint8_t> bytes);
  void commit();
  std::uint64_t size() const { return m_size; }

 private:
  std::filesystem::path m_path;
  std::filesystem::path m_temporary;
  int m_fd = -1;
  std::uint64_t m_size = 0;
};

}  // namespace fieldsync::store
