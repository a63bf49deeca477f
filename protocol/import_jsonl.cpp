// JSON lines: one clipping per non-blank line, as a JSON object whose field names are exactly
// the schema's. Strict on purpose: an unknown field is almost always a typo ("autor"), and
// silently dropping it would lose data the office meant to keep.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <set>

#include "protocol/importers.h"
#include "protocol/text.h"

namespace fieldsync::protocol {

namespace {

using Json = nlohmann::json;

// The schema nests no deeper than an object holding arrays; refusing deeper input early keeps
// hostile lines ("[[[[...") from costing anything.
constexpr int MAX_JSON_DEPTH = 8;

bool nestedTooDeeply(std::string_view line) {
  int depth = 0;
  bool inString = false;
  bool escaped = false;
  for (char c : line) {
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      if (++depth > MAX_JSON_DEPTH) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

// At most maxBytes of s, cut at a character boundary, with "..." when cut.
std::string shortened(std::string_view s, std::size_t maxBytes) {
  if (s.size() <= maxBytes) return std::string(s);
  std::size_t end = maxBytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0u) == 0x80u) --end;
  return std::string(s.substr(0, end)) + "...";
}

// Only to learn why a line is not JSON: nlohmann reports the reason to a SAX handler without
// throwing.
class ErrorCatcher : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& error) override {
    m_position = position;
    m_what = error.what();
    return false;
  }

  // Why the line is not JSON. Truncated when the parser ran out of input: the usual state of
  // a line cut short by a failed transfer or an editor.
  std::string message(std::string_view line) const {
    // what() reads "[json.exception.parse_error.101] parse error at line 1, column 9: syntax
    // error while parsing ..."; the line is ours to give, so keep the reason only. It quotes
    // the input it choked on ("last read: ..."), which may be a megabyte: keep it short.
    std::string reason = m_what;
    if (const auto p = reason.find("syntax error"); p != std::string::npos) reason.erase(0, p);
    const bool truncated = reason.find("unexpected end of input") != std::string::npos ||
                           m_position >= trimSpace(line).size();
    return std::string(truncated ? "truncated JSON" : "invalid JSON") + " at byte " +
           std::to_string(m_position) + ": " + shortened(reason, 160);
  }

 private:
  std::size_t m_position = 0;
  std::string m_what;
};

std::string quote(std::string_view s) { return "\"" + shortened(s, 40) + "\""; }

// Reads a string field into out (null reads as empty); the error when it is not one.
std::optional<std::string> readString(const std::string& name, const Json& value,
                                      std::string& out) {
  if (value.is_null()) return std::nullopt;
  if (!value.is_string()) return name + ": expected a string, got " + value.type_name();
  out = value.get<std::string>();
  return std::nullopt;
}

// Reads an array of strings into out (null reads as empty); the error when it is not one.
std::optional<std::string> readList(const std::string& name, const Json& value,
                                    std::vector<std::string>& out) {
  if (value.is_null()) return std::nullopt;
  if (!value.is_array()) return name + ": expected an array of strings, got " + value.type_name();
  for (const Json& item : value) {
    if (!item.is_string())
      return name + ": expected an array of strings, found " + item.type_name();
    out.push_back(item.get<std::string>());
  }
  return std::nullopt;
}

// JSON's whitespace (RFC 8259), which is all nlohmann skips between tokens.
bool isJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Bytes that end a run of plain string bytes: the quote, the backslash, control characters.
constexpr std::array<bool, 256> ENDS_PLAIN_RUN = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = true;
  t['"'] = true;
  t['\\'] = true;
  return t;
}();

// The common line read straight into a clipping (readJsonlLineFast). Every read method
// returns false at the first thing it does not expect; the line then goes to the full reader.
class FastLine {
 public:
  explicit FastLine(std::string_view line) : m_at(line.data()), m_end(line.data() + line.size()) {}

  std::optional<Clipping> read() {
    Clipping c;
    std::uint32_t seen = 0;  // a bit per field of FIELDS
    std::string key;
    if (!take('{')) return std::nullopt;
    if (!take('}')) {
      for (;;) {
        if (!string(key) || !take(':')) return std::nullopt;
        const auto field = std::find_if(FIELDS.begin(), FIELDS.end(),
                                        [&](const Field& f) { return f.name == key; });
        if (field == FIELDS.end()) return std::nullopt;  // unknown: the full reader names it
        const std::uint32_t bit = 1u << (field - FIELDS.begin());
        if ((seen & bit) != 0) return std::nullopt;  // repeated: the same
        seen |= bit;
        if (!value(c, *field)) return std::nullopt;
        if (take(',')) continue;
        if (!take('}')) return std::nullopt;
        break;
      }
    }
    skipSpace();
    if (m_at != m_end) return std::nullopt;
    return c;
  }

 private:
  struct Field {
    std::string_view name;
    std::string Clipping::*text;
    std::vector<std::string> Clipping::*list;
  };
  static constexpr std::array<Field, 9> FIELDS = {{
      {"title", &Clipping::title, nullptr},
      {"body", &Clipping::body, nullptr},
      {"source", &Clipping::source, nullptr},
      {"published", &Clipping::published, nullptr},
      {"url", &Clipping::url, nullptr},
      {"language", &Clipping::language, nullptr},
      {"collection", &Clipping::collection, nullptr},
      {"authors", nullptr, &Clipping::authors},
      {"tags", nullptr, &Clipping::tags},
  }};

  void skipSpace() {
    while (m_at != m_end && isJsonSpace(*m_at)) ++m_at;
  }
  // Skips space, then takes c if it comes next.
  bool take(char c) {
    skipSpace();
    if (m_at == m_end || *m_at != c) return false;
    ++m_at;
    return true;
  }

  // A field's value: null (left empty), a string for a text field, an array of strings for
  // a list field.
  bool value(Clipping& c, const Field& field) {
    skipSpace();
    if (m_end - m_at >= 4 && std::string_view(m_at, 4) == "null") {
      m_at += 4;
      return true;
    }
    if (field.text != nullptr) return string(c.*field.text);
    std::vector<std::string>& list = c.*field.list;
    if (!take('[')) return false;
    if (take(']')) return true;
    for (;;) {
      if (!string(list.emplace_back())) return false;
      if (take(',')) continue;
      return take(']');
    }
  }

  // A JSON string into out (replacing what it held). The line is known to be UTF-8 without
  // NUL bytes, as nlohmann requires of a string's raw bytes.
  bool string(std::string& out) {
    out.clear();
    if (!take('"')) return false;
    for (;;) {
      const char* run = m_at;
      while (m_at != m_end && !ENDS_PLAIN_RUN[static_cast<unsigned char>(*m_at)]) ++m_at;
      out.append(run, m_at);
      if (m_at == m_end) return false;
      const char c = *m_at++;
      if (c == '"') return true;
      if (c != '\\' || m_at == m_end) return false;  // a control character, or cut short
      switch (*m_at++) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          char32_t cp = 0;
          if (!hex4(cp) || (cp >= 0xDC00 && cp <= 0xDFFF)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // the first of a surrogate pair
            char32_t low = 0;
            if (m_end - m_at < 2 || m_at[0] != '\\' || m_at[1] != 'u') return false;
            m_at += 2;
            if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          char utf8[4];
          out.append(utf8, encodeUtf8(cp, utf8));
          break;
        }
        default:
          return false;
      }
    }
  }

  bool hex4(char32_t& out) {
    if (m_end - m_at < 4) return false;
    for (int i = 0; i < 4; ++i) {
      const char h = *m_at++;
      char32_t digit = 0;
      if (h >= '0' && h <= '9') {
        digit = static_cast<char32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        digit = static_cast<char32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        digit = static_cast<char32_t>(h - 'A' + 10);
      } else {
        return false;
      }
      out = (out << 4) | digit;
    }
    return true;
  }

  const char* m_at;
  const char* m_end;
};

// One line -> a clipping, not yet normalized; or why not.
Expected<Clipping, std::string> readRecord(std::string_view line) {
  auto c = readJsonlLineFast(line);
  if (!c) {
    auto full = readJsonlLineFull(line);
    if (!full) return full.error();
    c = std::move(full).value();
  }
  if (trimSpace(c->title).empty()) return std::string("missing title");
  if (!trimSpace(c->published).empty()) {
    const auto date = parseDate(c->published);
    if (!date) return "published: not a date: " + quote(trimSpace(c->published));
    c->published = *date;
  }
  return std::move(*c);
}

}  // namespace

std::optional<Clipping> readJsonlLineFast(std::string_view line) { return FastLine(line).read(); }

Expected<Clipping, std::string> readJsonlLineFull(std::string_view line) {
  if (nestedTooDeeply(line)) return std::string("JSON nested too deeply");

  std::set<std::string> keys;
  std::string duplicate;
  const Json::parser_callback_t noteKeys = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth == 1 && event == Json::parse_event_t::key && duplicate.empty() &&
        !keys.insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  const Json record = Json::parse(line, noteKeys, /*allow_exceptions=*/false);
  if (record.is_discarded()) {
    ErrorCatcher catcher;
    Json::sax_parse(line, &catcher);
    return catcher.message(line);
  }
  if (!record.is_object()) return std::string("expected a JSON object, got ") + record.type_name();
  if (!duplicate.empty()) return "duplicate field " + quote(duplicate);

  Clipping c;
  for (const auto& [name, value] : record.items()) {
    std::string* text = nullptr;
    std::vector<std::string>* list = nullptr;
    if (name == "title")
      text = &c.title;
    else if (name == "source")
      text = &c.source;
    else if (name == "published")
      text = &c.published;
    else if (name == "url")
      text = &c.url;
    else if (name == "language")
      text = &c.language;
    else if (name == "body")
      text = &c.body;
    else if (name == "collection")
      text = &c.collection;
    else if (name == "authors")
      list = &c.authors;
    else if (name == "tags")
      list = &c.tags;
    else
      return "unknown field " + quote(name);

    const auto problem =
        text != nullptr ? readString(name, value, *text) : readList(name, value, *list);
    if (problem) return *problem;
  }
  return c;
}

ParseResult parseJsonlLine(std::string_view line, std::size_t lineNumber) {
  if (findInvalidUtf8(line)) return ImportError{lineNumber, "not UTF-8 text (binary file?)"};
  if (trimSpace(line).empty()) return std::vector<Clipping>{};
  if (line.size() > MAX_JSONL_LINE_BYTES)
    return ImportError{lineNumber, "line is larger than 16 MiB"};
  auto record = readRecord(line);
  if (!record) return ImportError{lineNumber, record.error()};
  auto normal = normalizeClipping(std::move(record).value());
  if (!normal) return ImportError{lineNumber, normal.error()};
  return std::vector<Clipping>{std::move(normal).value()};
}

ParseResult parseJsonl(std::string_view text) {
  if (auto error = checkImportText(text)) return *error;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);

  std::vector<Clipping> clippings;
  std::size_t lineNumber = 0;
  for (std::string_view line : splitLines(text)) {
    ++lineNumber;
    auto parsed = parseJsonlLine(line, lineNumber);
    if (!parsed) return parsed.error();
    for (Clipping& c : parsed.value()) clippings.push_back(std::move(c));
  }
  return clippings;
}

}  // namespace fieldsync::protocol
