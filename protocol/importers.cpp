#include "protocol/importers.h"

#include <algorithm>

#include "protocol/text.h"

namespace fieldsync::protocol {

namespace {

bool endsWithIgnoreCase(std::string_view s, std::string_view lowerSuffix) {
  if (s.size() < lowerSuffix.size()) return false;
  s = s.substr(s.size() - lowerSuffix.size());
  return std::equal(s.begin(), s.end(), lowerSuffix.begin(), [](char a, char b) {
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    return a == b;
  });
}

bool startsWithIgnoreCase(std::string_view s, std::string_view lowerPrefix) {
  if (s.size() < lowerPrefix.size()) return false;
  return endsWithIgnoreCase(s.substr(0, lowerPrefix.size()), lowerPrefix);
}

constexpr std::string_view BYTE_ORDER_MARK = "\xEF\xBB\xBF";

}  // namespace

std::optional<Format> parseFormatName(std::string_view name) {
  if (name == "digest") return Format::Digest;
  if (name == "markdown") return Format::Markdown;
  if (name == "jsonl") return Format::Jsonl;
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
  }
  return "digest";
}

Format detectFormat(std::string_view fileName, std::string_view text) {
  if (endsWithIgnoreCase(fileName, ".jsonl") || endsWithIgnoreCase(fileName, ".ndjson"))
    return Format::Jsonl;
  if (endsWithIgnoreCase(fileName, ".md") || endsWithIgnoreCase(fileName, ".markdown"))
    return Format::Markdown;
  if (text.starts_with(BYTE_ORDER_MARK)) text.remove_prefix(BYTE_ORDER_MARK.size());
  // Only the first non-blank line matters; do not walk a huge text to find it.
  text = text.substr(0, std::min<std::size_t>(text.size(), 64 * 1024));
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

ParseResult parse(Format format, std::string_view text) {
  switch (format) {
    case Format::Digest:
      return parseDigest(text);
    case Format::Markdown:
      return parseMarkdown(text);
    case Format::Jsonl:
      return parseJsonl(text);
  }
  return parseDigest(text);
}

}  // namespace fieldsync::protocol
