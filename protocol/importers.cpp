#include "protocol/importers.h"

#include <algorithm>

#include "protocol/text.h"

namespace fieldsync::protocol {

namespace {

constexpr std::string_view BYTE_ORDER_MARK = "\xEF\xBB\xBF";

// An RFC 5322 header line: a field name of printable ASCII without spaces, then a colon.
std::string_view headerName(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 76) return {};
  for (char c : line.substr(0, colon))
    if (c <= ' ' || c > '~') return {};
  return line.substr(0, colon);
}

// The first block of lines is a message header: every line a header line or a folded
// continuation, with From: and one of Date:, Subject:, Message-ID:.
bool looksLikeMessage(std::string_view text) {
  bool from = false, other = false;
  std::size_t lines = 0;
  for (std::string_view line : splitLines(text)) {
    if (line.empty()) break;
    if (++lines > 200) break;
    if (line.front() == ' ' || line.front() == '\t') {
      if (lines == 1) return false;
      continue;
    }
    const std::string_view name = headerName(line);
    if (name.empty()) return false;
    auto is = [&](std::string_view lower) {
      return name.size() == lower.size() && startsWithIgnoreCase(name, lower);
    };
    if (is("from")) from = true;
    if (is("date") || is("subject") || is("message-id")) other = true;
  }
  return from && other;
}

// The root element of an XML document is a feed's.
bool looksLikeFeed(std::string_view head) {
  // Past the declaration, comments and processing instructions: the first element's name.
  std::size_t i = 0;
  while (i < head.size()) {
    i = head.find('<', i);
    if (i == std::string_view::npos || i + 1 >= head.size()) return false;
    const char next = head[i + 1];
    if (next == '?' || next == '!') {
      const std::size_t end = head.find('>', i);
      if (end == std::string_view::npos) return false;
      i = end + 1;
      continue;
    }
    const std::string_view tag = head.substr(i + 1);
    return startsWithIgnoreCase(tag, "rss") || startsWithIgnoreCase(tag, "feed") ||
           startsWithIgnoreCase(tag, "rdf:rdf") || startsWithIgnoreCase(tag, "atom:feed");
  }
  return false;
}

}  // namespace

std::optional<Format> parseFormatName(std::string_view name) {
  if (name == "digest") return Format::Digest;
  if (name == "markdown") return Format::Markdown;
  if (name == "jsonl") return Format::Jsonl;
  if (name == "email") return Format::Email;
  if (name == "html") return Format::Html;
  if (name == "feed") return Format::Feed;
  if (name == "pdf") return Format::Pdf;
  return std::nullopt;
}

std::string_view formatName(Format format) {
  switch (format) {
    case Format::Digest:
      return "digest";
    case Format::Markdown:
      return "markdown";
    case Format::Jsonl:
      return "jsonl";
    case Format::Email:
      return "email";
    case Format::Html:
      return "html";
    case Format::Feed:
      return "feed";
    case Format::Pdf:
      return "pdf";
  }
  return "digest";
}

bool isTextFormat(Format format) {
  return format == Format::Digest || format == Format::Markdown || format == Format::Jsonl;
}

Format detectFormat(std::string_view fileName, std::string_view text) {
  if (endsWithIgnoreCase(fileName, ".jsonl") || endsWithIgnoreCase(fileName, ".ndjson"))
    return Format::Jsonl;
  if (endsWithIgnoreCase(fileName, ".md") || endsWithIgnoreCase(fileName, ".markdown"))
    return Format::Markdown;
  if (endsWithIgnoreCase(fileName, ".eml") || endsWithIgnoreCase(fileName, ".mbox"))
    return Format::Email;
  if (endsWithIgnoreCase(fileName, ".pdf")) return Format::Pdf;
  if (text.starts_with(BYTE_ORDER_MARK)) text.remove_prefix(BYTE_ORDER_MARK.size());
  // Only the first bytes matter; do not walk a huge text.
  text = text.substr(0, std::min<std::size_t>(text.size(), 64 * 1024));
  if (text.starts_with("%PDF-")) return Format::Pdf;
  if (text.starts_with("From ") || looksLikeMessage(text)) return Format::Email;
  const std::string_view start = trimSpace(text);
  if (start.starts_with('<')) {
    if (looksLikeFeed(start)) return Format::Feed;
    if (containsIgnoreCase(start, "<html") || containsIgnoreCase(start, "<head") ||
        containsIgnoreCase(start, "<body"))
      return Format::Html;
  }
  for (std::string_view line : splitLines(text)) {
    line = trimSpace(line);
    if (line.empty()) continue;
    if (line.front() == '{') return Format::Jsonl;
    if (line == "---" || startsWithIgnoreCase(line, "title:")) return Format::Markdown;
    return Format::Digest;
  }
  return Format::Digest;
}

std::optional<ImportError> checkImportText(std::string_view text) {
  if (text.size() > MAX_IMPORT_BYTES) return ImportError{0, "text is larger than 64 MiB"};
  if (const auto bad = findInvalidUtf8(text)) {
    const auto line = static_cast<std::size_t>(
        std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(*bad), '\n'));
    return ImportError{line + 1, "not UTF-8 text (binary file?)"};
  }
  if (text.starts_with(BYTE_ORDER_MARK)) text.remove_prefix(BYTE_ORDER_MARK.size());
  if (trimSpace(text).empty()) return ImportError{0, "empty file"};
  return std::nullopt;
}

std::optional<ImportError> checkImportBytes(std::string_view bytes) {
  if (bytes.size() > MAX_IMPORT_BYTES) return ImportError{0, "file is larger than 64 MiB"};
  if (bytes.starts_with(BYTE_ORDER_MARK)) bytes.remove_prefix(BYTE_ORDER_MARK.size());
  if (trimSpace(bytes).empty()) return ImportError{0, "empty file"};
  return std::nullopt;
}

RecordSplitter::RecordSplitter(Kind kind, std::size_t maxRecordBytes)
    : m_kind(kind), m_max(maxRecordBytes) {}

std::optional<ImportError> RecordSplitter::tooLarge() const {
  const std::string what = m_kind == Kind::Lines ? "line " : "message ";
  const std::string size = m_max % (1u << 20) == 0 ? std::to_string(m_max >> 20) + " MiB"
                                                   : std::to_string(m_max) + " bytes";
  return ImportError{m_line,
                     what + std::to_string(m_number + 1) +
                         (m_kind == Kind::Lines ? "" : " at line " + std::to_string(m_line)) +
                         " is larger than " + size};
}

// The current record is m_buffer[m_start, end); the next starts at next.
void RecordSplitter::emit(std::size_t end, std::size_t next, std::vector<Record>& out) {
  ++m_number;
  out.push_back(Record{m_buffer.substr(m_start, end - m_start), m_number, m_line});
  m_line += m_linesIn;
  m_linesIn = 0;
  m_start = next;
}

std::optional<ImportError> RecordSplitter::feed(std::string_view bytes, std::vector<Record>& out) {
  // Records already given out leave the buffer once per piece, not once per record.
  m_buffer.erase(0, m_start);
  m_scanned -= m_start;
  m_start = 0;
  m_buffer.append(bytes);
  for (;;) {
    const std::size_t nl = m_buffer.find('\n', m_scanned);
    if (nl == std::string::npos) {
      m_scanned = m_buffer.size();
      break;
    }
    if (m_kind == Kind::Lines) {
      ++m_linesIn;
      m_scanned = nl + 1;
      const std::size_t end = nl > m_start && m_buffer[nl - 1] == '\r' ? nl - 1 : nl;
      if (end - m_start > m_max) return tooLarge();
      emit(end, nl + 1, out);
      continue;
    }
    // An mbox: a line starting "From " after this line end starts the next message; not
    // decided until five bytes past the line end have come.
    if (m_buffer.size() - (nl + 1) < 5) {
      m_scanned = nl;
      break;
    }
    ++m_linesIn;
    m_scanned = nl + 1;
    if (std::string_view(m_buffer).substr(nl + 1, 5) == "From ") {
      if (nl + 1 - m_start > m_max) return tooLarge();
      emit(nl + 1, nl + 1, out);
    }
  }
  // + 1: a line end not yet cut off.
  if (m_buffer.size() - m_start > m_max + 1) return tooLarge();
  return std::nullopt;
}

std::optional<ImportError> RecordSplitter::finish(std::vector<Record>& out) {
  if (m_kind == Kind::MboxMessages) {
    // The last line ends, fewer than five bytes from the end, were not yet counted.
    for (std::size_t at = m_scanned; (at = m_buffer.find('\n', at)) != std::string::npos; ++at)
      ++m_linesIn;
  }
  m_scanned = m_buffer.size();
  if (m_start == m_buffer.size()) return std::nullopt;
  std::size_t end = m_buffer.size();
  if (m_kind == Kind::Lines && m_buffer.back() == '\r') --end;
  if (end - m_start > m_max) return tooLarge();
  emit(end, m_buffer.size(), out);
  return std::nullopt;
}

ParseResult parse(Format format, std::string_view bytes) {
  switch (format) {
    case Format::Digest:
      return parseDigest(bytes);
    case Format::Markdown:
      return parseMarkdown(bytes);
    case Format::Jsonl:
      return parseJsonl(bytes);
    case Format::Email:
      return parseEmail(bytes);
    case Format::Html:
      return parseHtml(bytes);
    case Format::Feed:
      return parseFeed(bytes);
    case Format::Pdf:
      return parsePdf(bytes);
  }
  return parseDigest(bytes);
}

}  // namespace fieldsync::protocol
