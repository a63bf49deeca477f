#include "store/archive_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "protocol/error.h"
#include "store/files.h"

namespace fieldsync::store {

namespace {

// LMDB's on-disk meta page (lmdb/mdb.c, 64-bit build, MDB_DATA_VERSION 1): a 16-byte page
// header (mp_pgno, mp_pad, mp_flags, mp_lower, mp_upper), then MDB_meta: mm_magic,
// mm_version, mm_address, mm_mapsize, two MDB_db of 48 bytes (the first one's md_pad is the
// page size), mm_last_pg, mm_txnid.
constexpr std::size_t PAGE_HEADER = 16;
constexpr std::size_t FLAGS_AT = 10;
constexpr std::uint16_t P_META = 0x08;
constexpr std::size_t MAGIC_AT = PAGE_HEADER + 0;
constexpr std::size_t VERSION_AT = PAGE_HEADER + 4;
constexpr std::size_t PAGE_SIZE_AT = PAGE_HEADER + 24;
constexpr std::size_t LAST_PAGE_AT = PAGE_HEADER + 120;
constexpr std::size_t TXN_ID_AT = PAGE_HEADER + 128;
constexpr std::size_t META_BYTES = PAGE_HEADER + 136;
constexpr std::uint32_t MAGIC = 0xBEEFC0DE;
constexpr std::uint32_t VERSION = 1;

template <typename T>
T field(const std::array<unsigned char, META_BYTES>& page, std::size_t at) {
  T value{};
  std::memcpy(&value, page.data() + at, sizeof value);
  return value;
}

[[noreturn]] void damaged(const std::filesystem::path& file, const std::string& what) {
  throw Error("the archive file " + file.string() + " is damaged: " + what +
              ". Nothing was read from it. Restore the home's archive folder from a backup, or "
              "move the home aside, run `fieldsync init` and sync from a peer");
}

}  // namespace

std::optional<DataFileFacts> checkDataFile(const std::filesystem::path& dir) {
  const auto file = dir / "data.mdb";
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP) damaged(file, "it is a symbolic link, not the archive's own file");
    throw Error("cannot open " + file.string() + ": " + std::strerror(errno));
  }
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } closeFd{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error("fstat(" + file.string() + "): " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) damaged(file, "it is not a regular file");
  if (st.st_size == 0) return std::nullopt;
  DataFileFacts facts;
  facts.fileBytes = static_cast<std::uint64_t>(st.st_size);
  std::uint64_t offset = 0;
  bool found = false;
  for (int meta = 0; meta < 2; ++meta) {
    std::array<unsigned char, META_BYTES> page{};
    const auto got = ::pread(fd, page.data(), page.size(), static_cast<off_t>(offset));
    if (got < 0) throw Error("reading " + file.string() + ": " + std::strerror(errno));
    const std::string which = meta == 0 ? "the first meta page" : "the second meta page";
    if (static_cast<std::size_t>(got) < page.size())
      damaged(file, which + " is cut off (the file is only " + formatSize(facts.fileBytes) + ")");
    if ((field<std::uint16_t>(page, FLAGS_AT) & P_META) == 0 ||
        field<std::uint32_t>(page, MAGIC_AT) != MAGIC)
      damaged(file, which + " is not an LMDB meta page");
    if (field<std::uint32_t>(page, VERSION_AT) != VERSION)
      damaged(file, which + " has LMDB data version " +
                        std::to_string(field<std::uint32_t>(page, VERSION_AT)) + ", not " +
                        std::to_string(VERSION));
    const auto pageBytes = field<std::uint32_t>(page, PAGE_SIZE_AT);
    if (meta == 0) {
      if (pageBytes < 512 || pageBytes > (1u << 16) || (pageBytes & (pageBytes - 1)) != 0)
        damaged(file, "its page size (" + std::to_string(pageBytes) + ") is not one LMDB uses");
      facts.pageBytes = pageBytes;
    }
    const auto txnId = field<std::uint64_t>(page, TXN_ID_AT);
    if (!found || txnId > facts.txnId) {
      facts.txnId = txnId;
      facts.lastPage = field<std::uint64_t>(page, LAST_PAGE_AT);
      found = true;
    }
    offset = facts.pageBytes;
  }
  const std::uint64_t needed = (facts.lastPage + 1) * facts.pageBytes;
  if (facts.lastPage > (std::uint64_t{1} << 48) || facts.fileBytes < needed)
    damaged(file, "it is " + std::to_string(facts.fileBytes) + " bytes long, but its pages run to " +
                      std::to_string(needed) + " bytes (it was cut short: a full disk, a failed "
                      "copy or a damaged disk)");
  return facts;
}

std::optional<FileIdentity> identityOf(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return FileIdentity{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

}  // namespace fieldsync::store
