#pragma once
// Writing files so that each appears whole or not at all, and survives a crash once written:
// the key file, release exports. A temporary file beside the target, fsync, rename, fsync
// of the folder. Errors: fieldsync::Error naming the call and the path; a full disk (ENOSPC,
// EDQUOT) is DiskFull, naming the folder, the free space and what the write needed. On any
// failure no temporary file is left behind and the target is untouched. A file is written only
// where nothing is or a regular file is: a symbolic link, device, FIFO, socket or folder at
// the path is refused (Error naming what is there), never followed nor replaced.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/error.h"

namespace fieldsync::store {

/// The file system holding a folder has no room for a write (ENOSPC, a quota, or LMDB's
/// short write on a full disk). Nothing of the write was kept. Action::BackOff: once space
/// is freed the same write succeeds, with no other step (a server ends the session and the
/// peer retries later). what() reads "no space left on the disk holding FOLDER: WRITING needs
/// about N more (F free): free space there ...".
class DiskFull : public Error {
 public:
  DiskFull(std::filesystem::path folder, std::uint64_t freeBytes, std::uint64_t neededBytes,
           const std::string& writing);
  const std::filesystem::path& folder() const { return m_folder; }
  std::uint64_t freeBytes() const { return m_freeBytes; }
  /// An estimate: what the failed write would have added (at least the bytes it had left);
  /// 0 when unknown (the message then says "needs more room").
  std::uint64_t neededBytes() const { return m_neededBytes; }

 private:
  std::filesystem::path m_folder;
  std::uint64_t m_freeBytes;
  std::uint64_t m_neededBytes;
};

/// Bytes an unprivileged process may still write on the file system holding path (statvfs
/// f_bavail); empty when statvfs fails.
std::optional<std::uint64_t> freeBytesAt(const std::filesystem::path& path);

/// "512 B", "1.5 KiB", "64.0 MiB": sizes for people, in binary units.
std::string formatSize(std::uint64_t bytes);

/// Reads the whole of the regular file at path, of at most maxBytes; `what` names it in errors
/// ("the key file"). Refuses (Error naming the path and what is there) anything else: a FIFO
/// or a device (opened non-blocking and checked before any read, so neither can hang nor
/// feed it without end), a folder, a file over maxBytes (checked before reading, and again
/// while reading should it grow).
std::string readFileBounded(const std::filesystem::path& path, std::size_t maxBytes,
                            const std::string& what);

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
