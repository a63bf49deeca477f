#include "store/import.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <memory>
#include <utility>

#include "protocol/text.h"
#include "store/ingest.h"
#include "store/parallel.h"

namespace fieldsync::store {

namespace {

using protocol::Clipping;
using protocol::Format;
using protocol::ImportError;

constexpr std::size_t CHUNK_BYTES = 1u << 16;
constexpr std::size_t PARSE_WINDOW_BYTES = 1u << 18;  // of jsonl lines, parsed together
constexpr std::size_t HEAD_BYTES = 64u << 10;         // what detectFormat looks at

/// A file refused before it is parsed (missing, not a regular file, too large).
struct Refused {
  std::string message;
};

std::string sizeLimit() {
  return "larger than the limit of " + std::to_string(protocol::MAX_IMPORT_BYTES) + " bytes";
}

/// A file to import, readable from the start again: a regular file (kept open, so the second
/// pass reads the same file) or standard input, held in memory as it is first read.
class Input {
 public:
  explicit Input(std::string path) : m_path(std::move(path)) {
    if (m_path == "-") {
      m_stdin = true;
      return;
    }
    m_fd = ::open(m_path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (m_fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR) throw Refused{"no such file"};
      if (errno == EACCES || errno == EPERM) throw Refused{"cannot be read (permissions?)"};
      throw Refused{std::string("cannot be opened: ") + std::strerror(errno)};
    }
    if (::fstat(m_fd, &m_stat) != 0 || !S_ISREG(m_stat.st_mode)) {
      close();
      throw Refused{"not a regular file"};
    }
  }
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;
  ~Input() { close(); }

  const std::string& path() const { return m_path; }

  /// Up to size bytes into buffer; 0 at the end. Throws Refused for standard input beyond
  /// MAX_IMPORT_BYTES, Error when the read fails.
  std::size_t read(char* buffer, std::size_t size) {
    if (m_stdin && m_replay) {
      const std::size_t n = std::min(size, m_held.size() - m_heldAt);
      std::memcpy(buffer, m_held.data() + m_heldAt, n);
      m_heldAt += n;
      return n;
    }
    const int fd = m_stdin ? STDIN_FILENO : m_fd;
    for (;;) {
      const ssize_t n = ::read(fd, buffer, size);
      if (n >= 0) {
        const auto got = static_cast<std::size_t>(n);
        if (m_stdin) {
          if (m_held.size() + got > protocol::MAX_IMPORT_BYTES) throw Refused{sizeLimit()};
          m_held.append(buffer, got);
        }
        return got;
      }
      if (errno == EINTR) continue;
      throw Error("read " + m_path + ": " + std::strerror(errno));
    }
  }

  /// Back to the first byte, for the second pass. Throws Error when the file changed.
  void rewind() {
    if (m_stdin) {
      m_replay = true;
      m_heldAt = 0;
      return;
    }
    struct stat now {};
    if (::fstat(m_fd, &now) != 0 || now.st_size != m_stat.st_size ||
        now.st_mtim.tv_sec != m_stat.st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != m_stat.st_mtim.tv_nsec)
      throw Error(m_path + " changed while it was imported; import it again");
    if (::lseek(m_fd, 0, SEEK_SET) != 0)
      throw Error("lseek " + m_path + ": " + std::strerror(errno));
  }

 private:
  void close() {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
  }

  std::string m_path;
  int m_fd = -1;
  struct stat m_stat {};
  bool m_stdin = false;
  bool m_replay = false;  // standard input: read from m_held
  std::string m_held;
  std::size_t m_heldAt = 0;
};

/// Reads until size bytes or the end, a piece at a time (size is a bound, not a guess).
std::string readUpTo(Input& in, std::size_t size) {
  std::string out;
  while (out.size() < size) {
    const std::size_t at = out.size();
    out.resize(at + std::min(CHUNK_BYTES, size - at));
    const std::size_t n = in.read(out.data() + at, out.size() - at);
    out.resize(at + n);
    if (n == 0) break;
  }
  return out;
}

std::size_t clippingBytes(const Clipping& c) {
  std::size_t n = 256 + c.title.size() + c.source.size() + c.published.size() + c.url.size() +
                  c.language.size() + c.body.size() + c.collection.size();
  for (const auto& a : c.authors) n += 32 + a.size();
  for (const auto& t : c.tags) n += 32 + t.size();
  return n;
}

// ---------------------------------------------------------------------------------------------
// A PDF is read in a child process whose memory and CPU time are capped. Poppler inflates
// content streams as it extracts text, and a few KB of nested FlateDecode inflate to
// gigabytes (tests/fixtures/pdf/bomb.pdf: 35 KB of PDF, 4 GiB of text operators). A cap on
// stream sizes checked before extraction would have to undo every filter chain as poppler
// does; limits on the process that extracts hold whatever the PDF holds.

#if defined(__SANITIZE_ADDRESS__)
#define FIELDSYNC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIELDSYNC_ASAN 1
#endif
#endif

constexpr std::size_t MAX_PDF_ANSWER_BYTES = 16u << 20;

void putString(std::string& out, std::string_view s) {
  const std::uint64_t n = s.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(s);
}

struct Reader {
  std::string_view in;
  bool ok = true;
  std::string string() {
    std::uint64_t n = 0;
    if (in.size() < sizeof n) {
      ok = false;
      return {};
    }
    std::memcpy(&n, in.data(), sizeof n);
    in.remove_prefix(sizeof n);
    if (n > in.size()) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

std::string encodeResult(const protocol::ParseResult& result) {
  std::string out;
  if (!result) {
    putString(out, "error");
    putString(out, std::to_string(result.error().line));
    putString(out, result.error().message);
    return out;
  }
  putString(out, "clippings");
  putString(out, std::to_string(result->size()));
  for (const Clipping& c : result.value()) {
    for (const std::string* f :
         {&c.title, &c.source, &c.published, &c.url, &c.language, &c.body, &c.collection})
      putString(out, *f);
    for (const auto* list : {&c.authors, &c.tags}) {
      putString(out, std::to_string(list->size()));
      for (const std::string& item : *list) putString(out, item);
    }
  }
  return out;
}

std::optional<protocol::ParseResult> decodeResult(std::string_view bytes) {
  Reader r{bytes};
  const std::string kind = r.string();
  auto number = [&] {
    const std::string n = r.string();
    return r.ok && !n.empty() && n.size() < 10 ? std::stoull(n) : 0ull;
  };
  if (kind == "error") {
    const std::size_t line = number();
    std::string message = r.string();
    if (!r.ok) return std::nullopt;
    return protocol::ParseResult(ImportError{line, std::move(message)});
  }
  if (kind != "clippings") return std::nullopt;
  std::vector<Clipping> clippings(number());
  for (Clipping& c : clippings) {
    for (std::string* f :
         {&c.title, &c.source, &c.published, &c.url, &c.language, &c.body, &c.collection})
      *f = r.string();
    for (auto* list : {&c.authors, &c.tags}) {
      list->resize(number());
      for (std::string& item : *list) item = r.string();
    }
  }
  if (!r.ok || !r.in.empty()) return std::nullopt;
  return protocol::ParseResult(std::move(clippings));
}

protocol::ParseResult parsePdfConfined(std::string_view bytes, const ImportOptions& options) {
  // Cheap refusals (empty, not a PDF) need no child.
  if (auto error = protocol::checkImportBytes(bytes)) return *error;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(fds[0]);
#ifndef FIELDSYNC_ASAN  // AddressSanitizer's shadow memory counts as data
    const rlimit memory{options.pdfMemoryBytes, options.pdfMemoryBytes};
    ::setrlimit(RLIMIT_DATA, &memory);
#endif
    const rlimit cpu{options.pdfCpuSeconds, options.pdfCpuSeconds + 1};
    ::setrlimit(RLIMIT_CPU, &cpu);
    std::string answer;
    try {
      answer = encodeResult(protocol::parsePdf(bytes));
    } catch (...) {  // std::bad_alloc at the limit
      ::_exit(3);
    }
    for (std::size_t at = 0; at < answer.size();) {
      const ssize_t n = ::write(fds[1], answer.data() + at, answer.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ::_exit(4);
      at += static_cast<std::size_t>(n);
    }
    ::_exit(0);  // no destructors, no atexit handlers: they belong to the parent
  }
  ::close(fds[1]);
  std::string answer;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (answer.size() + static_cast<std::size_t>(n) <= MAX_PDF_ANSWER_BYTES)
      answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    if (auto result = decodeResult(answer)) return std::move(*result);
  }
  return ImportError{0, "the PDF could not be read within " +
                            std::to_string(options.pdfMemoryBytes >> 20) + " MiB of memory and " +
                            std::to_string(options.pdfCpuSeconds) +
                            " s of CPU (a decompression bomb?)"};
}

using RecordCallback = std::function<void(std::vector<Clipping>&)>;

/// Streams the records of in after head (its first bytes) through the splitter, each record's
/// clippings to each. The first error of the file.
std::optional<ImportError> streamRecords(Input& in, std::string head, Format format,
                                         const RecordCallback& each) {
  const bool lines = format == Format::Jsonl;
  protocol::RecordSplitter splitter(
      lines ? protocol::RecordSplitter::Kind::Lines : protocol::RecordSplitter::Kind::MboxMessages,
      lines ? protocol::MAX_JSONL_LINE_BYTES : protocol::MAX_MESSAGE_BYTES);
  if (lines && head.starts_with("\xEF\xBB\xBF")) head.erase(0, 3);
  std::vector<protocol::Record> records;
  std::size_t recordBytes = 0;
  bool any = false;
  // Lines are parsed on every core, PARSE_WINDOW_BYTES of them at a time (a file is parsed
  // twice, checked and then stored, and parsing is a good part of an import's time); messages
  // one by one, on this thread (GMime's parser is not known to be safe on several at once).
  // Either way each record's clippings reach `each` in file order, and the first error in file
  // order ends the file, as if parsed one by one.
  auto handle = [&](bool all) -> std::optional<ImportError> {
    if (!all && lines && recordBytes < PARSE_WINDOW_BYTES) return std::nullopt;
    std::vector<protocol::ParseResult> parsed = mapOnEveryCore(
        records.size(),
        [&](std::size_t i) {
          const protocol::Record& r = records[i];
          return lines ? protocol::parseJsonlLine(r.bytes, r.number)
                       : protocol::parseEmailMessage(r.bytes, true, r.number, r.line);
        },
        lines ? 0 : 1, 16);
    for (auto& result : parsed) {
      if (!result) return result.error();
      any = any || !result->empty();
      each(result.value());
    }
    records.clear();
    recordBytes = 0;
    return std::nullopt;
  };
  std::string chunk = std::move(head);
  for (;;) {
    const std::size_t before = records.size();
    if (auto error = splitter.feed(chunk, records)) return error;
    for (std::size_t i = before; i < records.size(); ++i) recordBytes += records[i].bytes.size();
    if (auto error = handle(false)) return error;
    chunk.resize(CHUNK_BYTES);
    chunk.resize(in.read(chunk.data(), chunk.size()));
    if (chunk.empty()) break;
  }
  if (auto error = splitter.finish(records)) return error;
  if (auto error = handle(true)) return error;
  if (!any) return ImportError{0, lines ? "empty file" : "no message found in the mbox"};
  return std::nullopt;
}

/// Reads in from its start, detecting its format unless given; each record's clippings go to
/// each. Returns the format and the first error.
std::pair<Format, std::optional<ImportError>> readFile(Input& in, std::optional<Format> given,
                                                       const ImportOptions& options,
                                                       const RecordCallback& each) {
  std::string head = readUpTo(in, HEAD_BYTES);
  const Format format = given ? *given : protocol::detectFormat(in.path(), head);
  const bool streams =
      format == Format::Jsonl || (format == Format::Email && head.starts_with("From "));
  if (streams) {
    if (head.find_first_not_of(" \t\r\n") == std::string::npos)
      return {format, ImportError{0, "empty file"}};
    return {format, streamRecords(in, std::move(head), format, each)};
  }
  // Read whole: at most MAX_IMPORT_BYTES, and one more byte to know it is more.
  std::string rest = readUpTo(in, protocol::MAX_IMPORT_BYTES + 1 - head.size());
  head += rest;
  rest = {};
  if (head.size() > protocol::MAX_IMPORT_BYTES) throw Refused{sizeLimit()};
  auto parsed =
      format == Format::Pdf ? parsePdfConfined(head, options) : protocol::parse(format, head);
  if (!parsed) return {format, parsed.error()};
  each(parsed.value());
  return {format, std::nullopt};
}

std::string located(const std::string& file, const ImportError& e) {
  return file + (e.line ? ":" + std::to_string(e.line) : "") + ": " + e.message;
}

/// A file through both passes.
struct Pending {
  std::unique_ptr<Input> input;
  Format format = Format::Digest;
  std::size_t clippings = 0;
  bool kept = false;  // clippings below hold all of the file's
  std::vector<Clipping> keptClippings{};
};

}  // namespace

std::optional<ImportRefused> importFiles(Archive& archive, const protocol::SecretKey& key,
                                         const std::vector<std::string>& files,
                                         const ImportOptions& options, std::int64_t signedAt,
                                         const std::function<void(const FileImported&)>& fileDone,
                                         const ProgressCallback& progress) {
  // The extra tags on each clipping, normalized again; the first problem.
  std::string tagProblem;
  auto withTags = [&](Clipping& c) -> bool {
    if (options.tags.empty()) return true;
    c.tags.insert(c.tags.end(), options.tags.begin(), options.tags.end());
    auto normal = protocol::normalizeClipping(std::move(c));
    if (!normal) {
      tagProblem = normal.error();
      return false;
    }
    c = std::move(normal).value();
    return true;
  };

  // First pass: every file read and checked; small files keep their clippings.
  ImportRefused refused;
  std::vector<Pending> pending;
  for (const std::string& file : files) {
    Pending p;
    try {
      p.input = std::make_unique<Input>(file);
      std::size_t bytes = 0;
      p.kept = true;
      tagProblem.clear();
      const auto [format, error] =
          readFile(*p.input, options.format, options, [&](std::vector<Clipping>& cs) {
            for (Clipping& c : cs) {
              if (!tagProblem.empty() || !withTags(c)) return;
              ++p.clippings;
              if (!p.kept) continue;
              bytes += clippingBytes(c);
              p.keptClippings.push_back(std::move(c));
              if (p.clippings > options.batchClippings || bytes > options.batchBytes) {
                p.kept = false;
                p.keptClippings = {};
              }
            }
          });
      p.format = format;
      if (error) {
        refused.problems.push_back(located(file, *error));
        continue;
      }
      if (!tagProblem.empty()) {
        refused.problems.push_back(file + ": --tag: " + tagProblem);
        continue;
      }
    } catch (const Refused& r) {
      refused.problems.push_back(file + ": " + r.message);
      continue;
    }
    pending.push_back(std::move(p));
  }
  if (!refused.problems.empty()) return refused;

  // Second pass: each file stored in batches.
  std::uint64_t total = 0, before = 0, bytesBefore = 0;
  for (const Pending& p : pending) total += p.clippings;
  for (Pending& p : pending) {
    FileImported done;
    done.file = p.input->path();
    done.format = p.format;
    std::vector<Clipping> batch;
    std::size_t batchBytes = 0;
    // Each batch is signed here while the one before it is stored on another thread: the
    // commit (and its fsync) overlaps the signing. Counted in done once stored. On every way
    // out, the batch being stored is waited for: the future of std::async waits as it goes.
    std::future<IngestResult> storing;
    auto stored = [&] {
      if (!storing.valid()) return;
      const IngestResult result = storing.get();
      done.stored += result.stored.size();
      done.duplicates += result.duplicates.size();
      done.retracted += result.retracted.size();
      if (options.keepIds) {
        done.storedIds.insert(done.storedIds.end(), result.stored.begin(), result.stored.end());
        done.duplicateIds.insert(done.duplicateIds.end(), result.duplicates.begin(),
                                 result.duplicates.end());
      }
    };
    auto flush = [&] {
      if (batch.empty()) return;
      Progress last;
      auto tell = [&](const Progress& at) {
        last = at;
        progress({before + at.done, total, bytesBefore + at.bytes});
      };
      SignedClippings signedBatch =
          signClippings(archive, key, batch, signedAt, progress ? ProgressCallback(tell) : nullptr);
      before += batch.size();
      bytesBefore += last.bytes;
      stored();
      storing = std::async(std::launch::async, [&archive, b = std::move(signedBatch)]() mutable {
        return storeSigned(archive, std::move(b));
      });
      batch.clear();
      batchBytes = 0;
    };
    if (p.kept) {
      batch = std::move(p.keptClippings);
      flush();
    } else {
      p.input->rewind();
      std::size_t seen = 0;
      std::optional<ImportError> error;
      try {
        error = readFile(*p.input, p.format, options, [&](std::vector<Clipping>& cs) {
                  for (Clipping& c : cs) {
                    if (!withTags(c)) return;
                    ++seen;
                    batchBytes += clippingBytes(c);
                    batch.push_back(std::move(c));
                    if (batch.size() >= options.batchClippings || batchBytes >= options.batchBytes)
                      flush();
                  }
                }).second;
      } catch (const Refused& r) {
        error = ImportError{0, r.message};
      }
      if (error || seen != p.clippings) {
        stored();
        throw Error(done.file + " changed while it was imported (" +
                    (error ? located(done.file, *error) : "another number of clippings") + "); " +
                    std::to_string(done.stored + done.duplicates) +
                    " of its clippings were stored; import it again");
      }
      flush();
    }
    stored();
    p.input.reset();
    fileDone(done);
  }
  return std::nullopt;
}

}  // namespace fieldsync::store
