// The text rules of protocol/text.h on arbitrary bytes. Checks, besides the absence of
// crashes, leaks and undefined behaviour:
//  - isValidUtf8 and findInvalidUtf8 agree with the plain reference decoder below (no
//    overlongs, surrogates, code points above U+10FFFF, truncated sequences or NUL bytes);
//  - searchTerms gives non-empty terms of valid UTF-8, at most MAX_TERM_BYTES each, whose only
//    ASCII bytes are lowercase letters and digits, and each of which folds to itself (a term
//    searched for finds itself);
//  - parseDate gives only real ISO 8601 dates (YYYY, YYYY-MM, YYYY-MM-DD), reads its own
//    output back unchanged, keeps a valid ISO date as it is, and takes the year from the text;
//  - trimSpace is idempotent and splitLines splits at every LF;
//  - normalizeClipping, on a clipping cut from the input ('|' between fields, ';' between
//    authors and between tags), gives a fixed point that checkNormalClipping accepts, and a
//    clipping checkNormalClipping accepts normalizes to itself.

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"

using namespace fieldsync::protocol;

namespace {

// --- Reference UTF-8 decoder ------------------------------------------------------------------
// Written from the definition (Unicode 15, section 3.9), not for speed: find the sequence
// length from the lead byte, take the payload bits, then refuse a code point that a shorter
// sequence could hold, a surrogate, or one above U+10FFFF.

/// The offset of the first byte of the first ill-formed sequence or NUL; empty when none.
std::optional<std::size_t> referenceFirstInvalid(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    char32_t cp = 0;
    if (lead < 0x80) {
      length = 1;
      cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      cp = lead & 0x07;
    } else {
      return i;  // a continuation byte, or 0xF8..0xFF
    }
    if (text.size() - i < length) return i;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (next & 0x3F);
    }
    static constexpr char32_t SMALLEST[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < SMALLEST[length] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF || cp == 0)
      return i;
    i += length;
  }
  return std::nullopt;
}

// --- Reference ISO 8601 date check ------------------------------------------------------------

std::optional<int> number(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

int daysIn(int year, int month) {
  if (month == 2) return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28;
  return month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31;
}

bool isIsoDate(std::string_view s) {
  if (s.size() != 4 && s.size() != 7 && s.size() != 10) return false;
  const auto year = number(s.substr(0, 4));
  if (!year) return false;
  if (s.size() == 4) return true;
  const auto month = number(s.substr(5, 2));
  if (s[4] != '-' || !month || *month < 1 || *month > 12) return false;
  if (s.size() == 7) return true;
  const auto day = number(s.substr(8, 2));
  return s[7] == '-' && day && *day >= 1 && *day <= daysIn(*year, *month);
}

// --- Checks -----------------------------------------------------------------------------------

void checkUtf8(std::string_view text) {
  const auto expected = referenceFirstInvalid(text);
  FUZZ_CHECK(findInvalidUtf8(text) == expected);
  FUZZ_CHECK(isValidUtf8(text) == !expected.has_value());
}

void checkSearchTerms(std::string_view text) {
  for (const std::string& term : searchTerms(text)) {
    FUZZ_CHECK(!term.empty());
    FUZZ_CHECK(term.size() <= MAX_TERM_BYTES);
    FUZZ_CHECK(!referenceFirstInvalid(term).has_value());
    FUZZ_CHECK(std::ranges::all_of(term, [](char c) {
      return static_cast<unsigned char>(c) >= 0x80 || (c >= 'a' && c <= 'z') ||
             (c >= '0' && c <= '9');
    }));
    const auto again = searchTerms(term);
    FUZZ_CHECK(again.size() == 1);
    FUZZ_CHECK(again[0] == term);
  }
}

void checkParseDate(std::string_view text) {
  const auto date = parseDate(text);
  const std::string_view trimmed = trimSpace(text);
  if (isIsoDate(trimmed)) {
    FUZZ_CHECK(date.has_value());
    FUZZ_CHECK(*date == trimmed);
  }
  if (!date) return;
  FUZZ_CHECK(isIsoDate(*date));
  FUZZ_CHECK(parseDate(*date) == date);
  FUZZ_CHECK(text.find(date->substr(0, 4)) != std::string_view::npos);
}

void checkLines(std::string_view text) {
  const std::string_view trimmed = trimSpace(text);
  FUZZ_CHECK(trimSpace(trimmed) == trimmed);
  FUZZ_CHECK(trimmed.empty() || (trimmed.data() >= text.data() &&
                                 trimmed.data() + trimmed.size() <= text.data() + text.size()));

  const auto lines = splitLines(text);
  for (std::string_view line : lines) FUZZ_CHECK(line.find('\n') == std::string_view::npos);
  const auto newlines = static_cast<std::size_t>(std::ranges::count(text, '\n'));
  FUZZ_CHECK(lines.size() == newlines + (!text.empty() && text.back() != '\n' ? 1 : 0));
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  while (true) {
    const auto at = text.find(separator);
    parts.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

void checkNormalize(std::string_view text) {
  std::vector<std::string> fields = split(text, '|');
  fields.resize(9);
  Clipping raw;
  raw.title = fields[0];
  raw.source = fields[1];
  if (!fields[2].empty()) raw.authors = split(fields[2], ';');
  raw.published = fields[3];
  raw.url = fields[4];
  if (!fields[5].empty()) raw.tags = split(fields[5], ';');
  raw.language = fields[6];
  raw.body = fields[7];
  raw.collection = fields[8];

  const auto normal = normalizeClipping(raw);
  if (normal) {
    FUZZ_CHECK(!checkNormalClipping(*normal).has_value());
    const auto again = normalizeClipping(*normal);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *normal);
  }
  if (!checkNormalClipping(raw).has_value()) {
    FUZZ_CHECK(normal.ok());
    FUZZ_CHECK(*normal == raw);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::textOf(data, size);
  checkUtf8(text);
  checkSearchTerms(text);
  checkParseDate(text);
  checkLines(text);
  checkNormalize(text);
  return 0;
}
