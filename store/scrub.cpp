#include "store/scrub.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "protocol/error.h"
#include "store/lmdb.h"

namespace fieldsync::store {

namespace {

// LMDB 0.9's layout (mdb.c, MDB_DATA_VERSION 1), native byte order. A page: pgno (8 bytes),
// pad (2), flags (2), then lower and upper (2 each: the free middle is [lower, upper)) or,
// for the first page of an overflow run, its page count (4); node offsets from byte 16 up to
// lower, nodes from upper to the end. A leaf node: data size (lo 2, hi 2), flags (2), key
// size (2), key, then the data or, with F_BIGDATA, the first page number of its overflow run.
constexpr std::size_t PAGE_HEADER = 16;
constexpr std::uint16_t P_BRANCH = 0x01;
constexpr std::uint16_t P_LEAF = 0x02;
constexpr std::uint16_t P_OVERFLOW = 0x04;
constexpr std::uint16_t P_META = 0x08;
constexpr std::uint16_t P_LEAF2 = 0x20;
constexpr std::uint16_t P_SUBP = 0x40;
constexpr std::uint16_t F_BIGDATA = 0x01;
constexpr std::size_t NODE_HEADER = 8;

template <typename T>
T load(const std::uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

bool allZero(const std::uint8_t* p, std::size_t n) {
  return std::all_of(p, p + n, [](std::uint8_t b) { return b == 0; });
}

/// The oldest transaction id a reader of env still reads, at most limit.
std::uint64_t oldestReader(MDB_env* env, std::uint64_t limit) {
  int dead = 0;
  (void)::mdb_reader_check(env, &dead);  // slots of processes that died
  struct Context {
    std::uint64_t oldest;
  } context{limit};
  // Lines "pid thread txnid", txnid "-" for a slot not in a transaction; a header line.
  auto line = [](const char* message, void* ctx) -> int {
    unsigned long long txnid = 0;
    if (std::sscanf(message, "%*d %*x %llu", &txnid) == 1) {
      auto* c = static_cast<Context*>(ctx);
      c->oldest = std::min<std::uint64_t>(c->oldest, txnid);
    }
    return 0;
  };
  (void)::mdb_reader_list(env, line, &context);
  return context.oldest;
}

class Zeroer {
 public:
  Zeroer(int fd, std::size_t pageBytes) : m_fd(fd), m_zeros(pageBytes * 64, 0) {}
  void zero(std::uint64_t offset, std::uint64_t length) {
    while (length > 0) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(length, m_zeros.size()));
      const ssize_t written = ::pwrite(m_fd, m_zeros.data(), n, static_cast<off_t>(offset));
      if (written < 0) {
        if (errno == EINTR) continue;
        throw Error("pwrite(data.mdb) while scrubbing: " + std::generic_category().message(errno));
      }
      offset += static_cast<std::uint64_t>(written);
      length -= static_cast<std::uint64_t>(written);
      m_bytes += static_cast<std::uint64_t>(written);
    }
  }
  std::uint64_t bytes() const { return m_bytes; }

 private:
  int m_fd;
  std::vector<std::uint8_t> m_zeros;
  std::uint64_t m_bytes = 0;
};

void readAt(int fd, std::uint8_t* out, std::size_t length, std::uint64_t offset) {
  while (length > 0) {
    const ssize_t got = ::pread(fd, out, length, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      throw Error("pread(data.mdb) while scrubbing: " + std::generic_category().message(errno));
    }
    if (got == 0) {  // past the end of the file: reads as zeros
      std::memset(out, 0, length);
      return;
    }
    out += got;
    offset += static_cast<std::uint64_t>(got);
    length -= static_cast<std::size_t>(got);
  }
}

}  // namespace

ScrubReport scrubFile(MDB_env* env, MDB_txn* write, std::uint64_t needThrough,
                      const std::function<MDB_txn*()>& beginRead,
                      const std::function<void(MDB_txn*)>& endRead) {
  ScrubReport report;
  MDB_stat stat{};
  lmdb::check(::mdb_env_stat(env, &stat), "mdb_env_stat");
  const std::uint64_t pageBytes = stat.ms_psize;
  MDB_envinfo info{};
  lmdb::check(::mdb_env_info(env, &info), "mdb_env_info");
  const std::uint64_t lastPage = info.me_last_pgno;
  int fd = -1;
  lmdb::check(::mdb_env_get_fd(env, &fd), "mdb_env_get_fd");

  // The free list, read through a read transaction (LMDB lets only those open a cursor on
  // it): key a transaction id, value the pages it freed (a count, then page numbers).
  std::vector<std::pair<std::uint64_t, std::vector<std::uint64_t>>> freed;
  {
    MDB_txn* read = beginRead();
    try {
      lmdb::Cursor cursor(read, 0, "free list");
      MDB_val key{};
      MDB_val data{};
      for (bool ok = cursor.get(key, data, MDB_FIRST); ok; ok = cursor.get(key, data, MDB_NEXT)) {
        if (key.mv_size != sizeof(std::size_t) || data.mv_size < sizeof(std::size_t)) {
          throw Error("the archive's free list is not as LMDB 0.9 writes it: not scrubbed");
        }
        const auto* ids = static_cast<const std::uint8_t*>(data.mv_data);
        const auto count = load<std::size_t>(ids);
        if ((count + 1) * sizeof(std::size_t) > data.mv_size) {
          throw Error("the archive's free list is not as LMDB 0.9 writes it: not scrubbed");
        }
        auto& record =
            freed.emplace_back(load<std::size_t>(static_cast<const std::uint8_t*>(key.mv_data)),
                               std::vector<std::uint64_t>{});
        for (std::size_t i = 1; i <= count; ++i) {
          record.second.push_back(load<std::size_t>(ids + i * sizeof(std::size_t)));
        }
      }
    } catch (...) {
      endRead(read);
      throw;
    }
    endRead(read);
  }
  // As LMDB reuses a page (mdb_page_alloc): freed by a transaction older than the one
  // before this write and than every reader.
  const std::uint64_t oldest = oldestReader(env, ::mdb_txn_id(write) - 1);

  Zeroer zeroer(fd, static_cast<std::size_t>(pageBytes));
  std::vector<std::uint8_t> page(static_cast<std::size_t>(pageBytes));
  std::vector<bool> isFree(lastPage + 1, false);
  for (const auto& [txnid, pages] : freed) {
    const bool reusable = txnid < oldest;
    if (!reusable && txnid <= needThrough) report.complete = false;
    for (const std::uint64_t pgno : pages) {
      if (pgno > lastPage || pgno < 2) continue;
      isFree[pgno] = true;
      if (!reusable) {
        ++report.freePagesHeld;
        continue;
      }
      readAt(fd, page.data(), page.size(), pgno * pageBytes);
      if (!allZero(page.data(), page.size())) {
        zeroer.zero(pgno * pageBytes, pageBytes);
        ++report.freePagesZeroed;
      }
    }
  }

  // Live pages: the free middle of branch and leaf pages; overflow runs noted, so that the
  // rest of the last page after each value (found in the leaf that points to it) is zeroed.
  std::map<std::uint64_t, std::uint64_t> runs;  // first page -> pages, as the run's header says
  std::vector<std::pair<std::uint64_t, std::uint64_t>> values;  // first page, value bytes
  constexpr std::uint64_t CHUNK_PAGES = 256;
  std::vector<std::uint8_t> chunk;
  std::uint64_t chunkFirst = 0;
  std::uint64_t chunkPages = 0;
  for (std::uint64_t pgno = 2; pgno <= lastPage;) {
    if (isFree[pgno]) {
      ++pgno;
      continue;
    }
    if (pgno < chunkFirst || pgno >= chunkFirst + chunkPages) {
      chunkFirst = pgno;
      chunkPages = std::min(CHUNK_PAGES, lastPage + 1 - pgno);
      chunk.resize(static_cast<std::size_t>(chunkPages * pageBytes));
      readAt(fd, chunk.data(), chunk.size(), chunkFirst * pageBytes);
    }
    const std::uint8_t* p = chunk.data() + (pgno - chunkFirst) * pageBytes;
    ++report.livePagesScanned;
    const auto flags = load<std::uint16_t>(p + 10);
    if (load<std::uint64_t>(p) != pgno) {  // not a page header we know: leave it
      ++pgno;
      continue;
    }
    if ((flags & P_OVERFLOW) != 0) {
      const auto pages = load<std::uint32_t>(p + 12);
      runs[pgno] = pages;
      pgno += std::max<std::uint64_t>(pages, 1);
      continue;
    }
    const bool branch = (flags & P_BRANCH) != 0;
    const bool leaf = (flags & P_LEAF) != 0;
    if (branch == leaf || (flags & (P_META | P_LEAF2 | P_SUBP)) != 0) {
      ++pgno;
      continue;
    }
    const auto lower = load<std::uint16_t>(p + 12);
    const auto upper = load<std::uint16_t>(p + 14);
    if (lower < PAGE_HEADER || lower > upper || upper > pageBytes || (lower - PAGE_HEADER) % 2) {
      ++pgno;
      continue;
    }
    if (!allZero(p + lower, upper - lower)) zeroer.zero(pgno * pageBytes + lower, upper - lower);
    if (leaf) {
      for (std::size_t at = PAGE_HEADER; at < lower; at += 2) {
        const auto offset = load<std::uint16_t>(p + at);
        if (offset < upper || offset + NODE_HEADER > pageBytes) continue;
        const std::uint8_t* node = p + offset;
        const auto nodeFlags = load<std::uint16_t>(node + 4);
        const auto keyBytes = load<std::uint16_t>(node + 6);
        if ((nodeFlags & F_BIGDATA) == 0 ||
            offset + NODE_HEADER + keyBytes + sizeof(std::uint64_t) > pageBytes) {
          continue;
        }
        const std::uint64_t size =
            load<std::uint16_t>(node) | (std::uint64_t{load<std::uint16_t>(node + 2)} << 16);
        values.emplace_back(load<std::uint64_t>(node + NODE_HEADER + keyBytes), size);
      }
    }
    ++pgno;
  }
  for (const auto& [first, size] : values) {
    const auto run = runs.find(first);
    const std::uint64_t pages = (PAGE_HEADER - 1 + size) / pageBytes + 1;  // OVPAGES
    if (run == runs.end() || run->second != pages) continue;  // not as expected: leave it
    const std::uint64_t from = first * pageBytes + PAGE_HEADER + size;
    const std::uint64_t to = (first + pages) * pageBytes;
    std::vector<std::uint8_t> tail(static_cast<std::size_t>(to - from));
    readAt(fd, tail.data(), tail.size(), from);
    if (!allZero(tail.data(), tail.size())) zeroer.zero(from, to - from);
  }

  // Past the last page: a transaction that aborted may have written pages there.
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    const std::uint64_t end = static_cast<std::uint64_t>(st.st_size);
    for (std::uint64_t offset = (lastPage + 1) * pageBytes; offset < end; offset += pageBytes) {
      const std::uint64_t n = std::min(pageBytes, end - offset);
      readAt(fd, page.data(), static_cast<std::size_t>(n), offset);
      if (!allZero(page.data(), static_cast<std::size_t>(n))) zeroer.zero(offset, n);
    }
  }
  if (zeroer.bytes() > 0 && ::fdatasync(fd) != 0) {
    throw Error("fdatasync(data.mdb) after scrubbing: " + std::generic_category().message(errno));
  }
  report.bytesZeroed = zeroer.bytes();
  return report;
}

}  // namespace fieldsync::store
