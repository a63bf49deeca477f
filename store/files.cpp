#include "store/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "protocol/error.h"

namespace fieldsync::store {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const std::string& call, const fs::path& path, int err) {
  throw Error(call + " " + path.string() + ": " + std::strerror(err));
}

/// Writes and syncs text into a new file at temporary; removes it on failure.
void writeSynced(const fs::path& temporary, std::string_view text, unsigned mode) {
  int fd =
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) fail("open", temporary, errno);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      fail("write", temporary, err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(temporary.c_str());
    fail("fsync", temporary, err);
  }
}

void syncFolder(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

fs::path temporaryFor(const fs::path& path) {
  return path.parent_path() /
         ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()));
}

}  // namespace

void writeFileDurably(const fs::path& path, std::string_view text, unsigned mode, bool exclusive) {
  std::error_code ec;
  if (exclusive && fs::exists(path, ec)) fail("create", path, EEXIST);
  const fs::path temporary = temporaryFor(path);
  writeSynced(temporary, text, mode);
  // link() fails when path exists, which makes exclusive creation atomic; rename() replaces.
  const int rc = exclusive ? ::link(temporary.c_str(), path.c_str())
                           : ::rename(temporary.c_str(), path.c_str());
  const int err = errno;
  if (exclusive || rc != 0) ::unlink(temporary.c_str());
  if (rc != 0) fail(exclusive ? "link" : "rename", path, err);
  syncFolder(path.parent_path());
}

void writeFilesDurably(const fs::path& dir,
                       const std::vector<std::pair<std::string, std::string>>& files,
                       unsigned mode) {
  std::vector<std::pair<fs::path, fs::path>> written;  // temporary, final
  try {
    for (const auto& [name, content] : files) {
      const fs::path final = dir / name;
      const fs::path temporary = temporaryFor(final);
      writeSynced(temporary, content, mode);
      written.emplace_back(temporary, final);
    }
    for (const auto& [temporary, final] : written) fs::rename(temporary, final);
  } catch (...) {
    std::error_code ignored;
    for (const auto& [temporary, final] : written) fs::remove(temporary, ignored);
    throw;
  }
  syncFolder(dir);
}

}  // namespace fieldsync::store
