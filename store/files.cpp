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

/// Writes all of data to fd; the errno of a failed write, else 0.
int writeAll(int fd, const char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

/// Writes and syncs text into a new file at temporary; removes it on failure.
void writeSynced(const fs::path& temporary, std::string_view text, unsigned mode) {
  int fd =
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) fail("open", temporary, errno);
  if (int err = writeAll(fd, text.data(), text.size()); err != 0) {
    ::close(fd);
    ::unlink(temporary.c_str());
    fail("write", temporary, err);
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

DurableFile::DurableFile(fs::path path, unsigned mode)
    : m_path(std::move(path)), m_temporary(temporaryFor(m_path)) {
  m_fd = ::open(m_temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                static_cast<mode_t>(mode));
  if (m_fd < 0) fail("open", m_temporary, errno);
}

DurableFile::~DurableFile() {
  if (m_fd >= 0) {
    ::close(m_fd);
    ::unlink(m_temporary.c_str());
  }
}

void DurableFile::write(std::span<const std::uint8_t> bytes) {
  if (int err = writeAll(m_fd, reinterpret_cast<const char*>(bytes.data()), bytes.size()))
    fail("write", m_temporary, err);
  m_size += bytes.size();
}

void DurableFile::commit() {
  if (::fsync(m_fd) != 0) fail("fsync", m_temporary, errno);
  const int fd = m_fd;
  m_fd = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(m_temporary.c_str());
    fail("close", m_temporary, err);
  }
  if (::rename(m_temporary.c_str(), m_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(m_temporary.c_str());
    fail("rename", m_path, err);
  }
  syncFolder(m_path.parent_path().empty() ? fs::path(".") : m_path.parent_path());
}

}  // namespace fieldsync::store
