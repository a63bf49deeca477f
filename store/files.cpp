#include "store/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "protocol/error.h"

namespace fieldsync::store {
namespace fs = std::filesystem;
namespace {

fs::path folderOf(const fs::path& path) {
  return path.parent_path().empty() ? fs::path(".") : path.parent_path();
}

/// Throws DiskFull for a full disk (needed: bytes the write still had to put down), else
/// Error naming the call and the path.
[[noreturn]] void fail(const std::string& call, const fs::path& path, int err,
                       std::uint64_t needed = 0) {
  if (err == ENOSPC || err == EDQUOT) {
    const fs::path folder = folderOf(path);
    throw DiskFull(folder, freeBytesAt(folder).value_or(0), needed,
                   "writing " + path.filename().string());
  }
  throw Error(call + " " + path.string() + ": " + std::strerror(err));
}

/// Writes all of data to fd; the errno of a failed write, else 0. left: the bytes not written.
int writeAll(int fd, const char* data, std::size_t size, std::size_t* left = nullptr) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (left != nullptr) *left = size - done;
      return errno;
    }
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

/// Writes and syncs text into a new file at temporary; removes it on failure.
void writeSynced(const fs::path& temporary, std::string_view text, unsigned mode) {
  int fd =
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) fail("open", temporary, errno);
  std::size_t left = 0;
  if (int err = writeAll(fd, text.data(), text.size(), &left); err != 0) {
    ::close(fd);
    ::unlink(temporary.c_str());
    fail("write", temporary, err, left);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(temporary.c_str());
    fail("fsync", temporary, err, text.size());
  }
}

void syncFolder(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

/// Refuses (Error) to write at path unless nothing is there or a regular file is: a symbolic
/// link, a device, a FIFO, a socket or a folder is never followed nor replaced. Checked before
/// writing and again just before the rename that puts the file in place.
void checkTarget(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    fail("lstat", path, errno);
  }
  if (S_ISREG(st.st_mode)) return;
  const char* what = S_ISLNK(st.st_mode)                         ? "a symbolic link"
                     : S_ISDIR(st.st_mode)                       ? "a folder"
                     : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                     : S_ISFIFO(st.st_mode)                      ? "a FIFO (named pipe)"
                                                                 : "not a regular file";
  throw Error(path.string() + " is " + what +
              ": fieldsync writes a file only where nothing is or a regular file is, and "
              "neither follows nor replaces anything else; give another path");
}

fs::path temporaryFor(const fs::path& path) {
  return path.parent_path() /
         ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()));
}

}  // namespace

DiskFull::DiskFull(fs::path folder, std::uint64_t freeBytes, std::uint64_t neededBytes,
                   const std::string& writing)
    : Error("no space left on the disk holding " + folder.string() + ": " + writing +
                (neededBytes != 0 ? " needs about " + formatSize(neededBytes) + " more ("
                                  : " needs more room (") +
                formatSize(freeBytes) +
                " free there); free space on that disk, then run it again (nothing of it "
                "was kept)",
            Action::BackOff),
      m_folder(std::move(folder)),
      m_freeBytes(freeBytes),
      m_neededBytes(neededBytes) {}

std::optional<std::uint64_t> freeBytesAt(const fs::path& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return std::nullopt;
  return std::uint64_t{st.f_bavail} * std::uint64_t{st.f_frsize};
}

std::string formatSize(std::uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

std::string readFileBounded(const fs::path& path, std::size_t maxBytes, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) throw Error("cannot open " + what + " " + path.string() + ": " + std::strerror(errno));
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } closeFd{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("fstat", path, errno);
  if (!S_ISREG(st.st_mode))
    throw Error(what + " " + path.string() + " is not a regular file (" +
                (S_ISDIR(st.st_mode)                          ? "a folder"
                 : S_ISFIFO(st.st_mode)                       ? "a FIFO"
                 : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                              : "something else") +
                "): put the file itself there");
  auto tooLarge = [&] {
    return Error(what + " " + path.string() + " is larger than " + formatSize(maxBytes) +
                 ": it is not what it should be");
  };
  if (static_cast<std::uint64_t>(st.st_size) > maxBytes) throw tooLarge();
  std::string text;
  char buffer[1 << 14];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read", path, errno);
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > maxBytes) throw tooLarge();
  }
  return text;
}

void writeFileDurably(const fs::path& path, std::string_view text, unsigned mode, bool exclusive) {
  std::error_code ec;
  if (exclusive && fs::exists(path, ec)) fail("create", path, EEXIST);
  checkTarget(path);
  const fs::path temporary = temporaryFor(path);
  writeSynced(temporary, text, mode);
  try {
    checkTarget(path);
  } catch (...) {
    ::unlink(temporary.c_str());
    throw;
  }
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
      checkTarget(final);
      const fs::path temporary = temporaryFor(final);
      writeSynced(temporary, content, mode);
      written.emplace_back(temporary, final);
    }
    for (const auto& [temporary, final] : written) checkTarget(final);
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
  checkTarget(m_path);
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
  std::size_t left = 0;
  if (int err = writeAll(m_fd, reinterpret_cast<const char*>(bytes.data()), bytes.size(), &left))
    fail("write", m_path, err, left);  // the destructor removes the temporary file
  m_size += bytes.size();
}

void DurableFile::commit() {
  if (::fsync(m_fd) != 0) fail("fsync", m_path, errno, m_size);
  const int fd = m_fd;
  m_fd = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(m_temporary.c_str());
    fail("close", m_path, err, m_size);
  }
  try {
    checkTarget(m_path);
  } catch (...) {
    ::unlink(m_temporary.c_str());
    throw;
  }
  if (::rename(m_temporary.c_str(), m_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(m_temporary.c_str());
    fail("rename", m_path, err);
  }
  syncFolder(m_path.parent_path().empty() ? fs::path(".") : m_path.parent_path());
}

}  // namespace fieldsync::store
