// A single article in markdown with a header block:
//
//     ---                      (optional: YAML front matter style)
//     title: Responsibility to Object
//     author: David Kaye
//     source: Foreign Policy
//     date: 11 January 2013
//     tags: [syria, icc]
//     ---
//
//     The body, kept as written.
//
// Keys are case-insensitive; authors and tags are comma-separated lists, YAML flow lists
// ("[a, b]") or YAML block lists ("- a" lines under an empty "tags:"); several author lines
// accumulate. Without front matter the header ends at the first blank line. An unknown key is
// an error: it is most likely a typo, and dropping it would lose what the office wrote.

#include <algorithm>
#include <set>

#include "protocol/importers.h"
#include "protocol/text.h"

namespace fieldsync::protocol {

namespace {

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// 'value' or "value" -> value.
std::string_view unquote(std::string_view v) {
  v = trimSpace(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    v = trimSpace(v.substr(1, v.size() - 2));
  return v;
}

// "a, b", "[a, b]", "['a', \"b\"]" -> items, empty ones dropped.
void appendList(std::string_view value, std::vector<std::string>& items) {
  value = trimSpace(value);
  if (value.size() >= 2 && value.front() == '[' && value.back() == ']')
    value = value.substr(1, value.size() - 2);
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view item = unquote(value.substr(0, comma));
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// At most 60 bytes of s, cut at a character boundary: for quoting input in error messages.
std::string shortened(std::string_view s) {
  constexpr std::size_t MAX = 60;
  if (s.size() <= MAX) return std::string(s);
  std::size_t end = MAX;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0u) == 0x80u) --end;
  return std::string(s.substr(0, end)) + "...";
}

bool isListKey(std::string_view key) {
  return key == "author" || key == "authors" || key == "tag" || key == "tags";
}

}  // namespace

ParseResult parseMarkdown(std::string_view text) {
  if (auto error = checkImportText(text)) return *error;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);

  const std::vector<std::string_view> lines = splitLines(text);
  std::size_t i = 0;
  while (i < lines.size() && trimSpace(lines[i]).empty()) ++i;
  const std::size_t headerLine = i + 1;
  const bool frontMatter = i < lines.size() && trimSpace(lines[i]) == "---";
  if (frontMatter) {
    ++i;
    const bool closes = std::any_of(lines.begin() + static_cast<std::ptrdiff_t>(i), lines.end(),
                                    [](std::string_view l) {
                                      l = trimSpace(l);
                                      return l == "---" || l == "...";
                                    });
    if (!closes) return ImportError{headerLine, "front matter opened with --- is never closed"};
  }

  Clipping c;
  std::set<std::string> seen;
  std::string listKey;  // the list key whose "- item" lines may follow
  for (; i < lines.size(); ++i) {
    const std::string_view line = trimSpace(lines[i]);
    const std::size_t lineNumber = i + 1;
    if (frontMatter) {
      if (line == "---" || line == "...") {
        ++i;
        break;
      }
      if (line.empty() || line.front() == '#') continue;  // blank or YAML comment
    } else if (line.empty()) {
      break;  // the blank line that ends the header
    }
    if (!listKey.empty() && (line == "-" || line.starts_with("- "))) {
      appendList(unquote(line.substr(1)), listKey.starts_with("tag") ? c.tags : c.authors);
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return ImportError{lineNumber, "expected a \"key: value\" header line"};
    const std::string key = lowerAscii(trimSpace(line.substr(0, colon)));
    const std::string_view value = trimSpace(line.substr(colon + 1));
    listKey.clear();

    if (isListKey(key)) {
      appendList(value, key.starts_with("tag") ? c.tags : c.authors);
      if (value.empty()) listKey = key;
      continue;
    }
    const bool isDate = key == "date" || key == "published";
    std::string* field = isDate                ? &c.published
                         : key == "title"      ? &c.title
                         : key == "source"     ? &c.source
                         : key == "url"        ? &c.url
                         : key == "language"   ? &c.language
                         : key == "collection" ? &c.collection
                                               : nullptr;
    if (field == nullptr) return ImportError{lineNumber, "unknown key \"" + shortened(key) + "\""};
    if (!seen.insert(isDate ? "date" : key).second)  // date and published are one field
      return ImportError{lineNumber, "duplicate key \"" + key + "\""};

    const std::string_view v = unquote(value);
    if (isDate && !v.empty()) {
      const auto date = parseDate(v);
      if (!date) return ImportError{lineNumber, key + ": not a date: \"" + shortened(v) + "\""};
      c.published = *date;
    } else {
      *field = std::string(v);
    }
  }
  if (trimSpace(c.title).empty()) return ImportError{headerLine, "missing title"};

  if (i < lines.size()) {
    const auto offset = static_cast<std::size_t>(lines[i].data() - text.data());
    c.body = std::string(text.substr(offset));
  }
  auto normal = normalizeClipping(std::move(c));
  if (!normal) return ImportError{headerLine, normal.error()};
  return std::vector<Clipping>{std::move(normal).value()};
}

}  // namespace fieldsync::protocol
