#include "protocol/text.h"

#include <cstdio>
#include <ctime>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace fieldsync::protocol {

namespace {

// ---------------------------------------------------------------------------------------------
// UTF-8 decoding

// Decodes the sequence at text[i] (whose first byte is >= 0x80). Returns its length and code
// point, or length 0 when the sequence is malformed: a stray continuation byte, an overlong
// form, a surrogate, a code point above U+10FFFF or a truncated sequence.
struct Decoded {
  std::size_t length = 0;
  char32_t codePoint = 0;
};

inline bool isContinuation(unsigned char c) { return (c & 0xC0u) == 0x80u; }

Decoded decodeMultiByte(std::string_view text, std::size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + i;
  const std::size_t left = text.size() - i;
  const unsigned char b0 = p[0];
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (left < 2 || !isContinuation(p[1])) return {};
    return {2, static_cast<char32_t>(((b0 & 0x1Fu) << 6) | (p[1] & 0x3Fu))};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3 || !isContinuation(p[1]) || !isContinuation(p[2])) return {};
    if (b0 == 0xE0 && p[1] < 0xA0) return {};  // overlong
    if (b0 == 0xED && p[1] > 0x9F) return {};  // surrogate
    return {3,
            static_cast<char32_t>(((b0 & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu))};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4 || !isContinuation(p[1]) || !isContinuation(p[2]) || !isContinuation(p[3]))
      return {};
    if (b0 == 0xF0 && p[1] < 0x90) return {};  // overlong
    if (b0 == 0xF4 && p[1] > 0x8F) return {};  // above U+10FFFF
    return {4, static_cast<char32_t>(((b0 & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) |
                                     ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu))};
  }
  return {};  // 0x80..0xC1 (continuation or overlong lead) and 0xF5..0xFF
}

// Eight bytes at a time while they are ASCII and not NUL: most text is.
constexpr std::uint64_t HIGH_BITS = 0x8080808080808080ull;
constexpr std::uint64_t LOW_BITS = 0x0101010101010101ull;

inline bool isPlainAsciiWord(std::uint64_t v) {
  const bool hasHigh = (v & HIGH_BITS) != 0;
  const bool hasZero = ((v - LOW_BITS) & ~v & HIGH_BITS) != 0;
  return !hasHigh && !hasZero;
}

// ---------------------------------------------------------------------------------------------
// Search-term folding tables

// Bytes: the folded character of an ASCII letter or digit, 0 for everything else (ASCII
// separators, and bytes of multi-byte characters, which the caller decodes).
constexpr std::array<char, 256> ASCII_FOLD = [] {
  std::array<char, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<char>(c);
  for (int c = 'a'; c <= 'z'; ++c) t[c] = static_cast<char>(c);
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = static_cast<char>(c - 'A' + 'a');
  return t;
}();

// U+00C0..U+017F (Latin-1 Supplement letters and Latin Extended-A) -> lowercase unaccented
// base letters; empty for the two symbols in the range (U+00D7 multiplication sign, U+00F7
// division sign), which separate words.
// clang-format off
constexpr std::array<std::string_view, 192> LATIN_FOLD = {
    // U+00C0 ÀÁÂÃÄÅÆÇ ÈÉÊËÌÍÎÏ
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    // U+00D0 ÐÑÒÓÔÕÖ× ØÙÚÛÜÝÞß
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "ss",
    // U+00E0 àáâãäåæç èéêëìíîï
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    // U+00F0 ðñòóôõö÷ øùúûüýþÿ
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",
    // U+0100 ĀāĂăĄąĆć ĈĉĊċČčĎď
    "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
    // U+0110 ĐđĒēĔĕĖė ĘęĚěĜĝĞğ
    "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
    // U+0120 ĠġĢģĤĥĦħ ĨĩĪīĬĭĮį
    "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
    // U+0130 İıĲĳĴĵĶķ ĸĹĺĻļĽľĿ
    "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
    // U+0140 ŀŁłŃńŅņŇ ňŉŊŋŌōŎŏ
    "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
    // U+0150 ŐőŒœŔŕŖŗ ŘřŚśŜŝŞş
    "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
    // U+0160 ŠšŢţŤťŦŧ ŨũŪūŬŭŮů
    "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
    // U+0170 ŰűŲųŴŵŶŷ ŸŹźŻżŽžſ
    "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
};
// clang-format on

enum class CharClass { Separator, Ignorable, Word };

// Classifies a non-ASCII code point outside U+00C0..U+017F. Ignorable characters (combining
// marks, joiners, soft hyphen, Arabic and Hebrew vowel points) vanish without splitting the
// word; separators are punctuation, symbols and spaces of the common blocks; everything else
// (letters and digits of other scripts, and whatever we do not know) belongs to words.
CharClass classify(char32_t cp) {
  if (cp < 0xC0) {
    if (cp == 0xAD) return CharClass::Ignorable;                         // soft hyphen
    if (cp == 0xAA || cp == 0xB5 || cp == 0xBA) return CharClass::Word;  // ª µ º
    return CharClass::Separator;  // C1 controls, no-break space, Latin-1 punctuation/symbols
  }
  if (cp >= 0x0300 && cp <= 0x036F) return CharClass::Ignorable;  // combining diacriticals
  if (cp < 0x0370) return CharClass::Word;
  if (cp < 0x0800) {
    switch (cp) {
      case 0x037E:
      case 0x0387:  // Greek ; and ·
      case 0x0589:
      case 0x058A:  // Armenian
      case 0x05BE:
      case 0x05C0:
      case 0x05C3:
      case 0x05C6:  // Hebrew
      case 0x05F3:
      case 0x05F4:
      case 0x060C:
      case 0x060D:
      case 0x061B:
      case 0x061E:
      case 0x061F:  // Arabic
      case 0x066A:
      case 0x066B:
      case 0x066C:
      case 0x066D:
      case 0x06D4:
        return CharClass::Separator;
      default:
        break;
    }
    if (cp >= 0x055A && cp <= 0x055F) return CharClass::Separator;  // Armenian punctuation
    if (cp >= 0x0600 && cp <= 0x0605) return CharClass::Ignorable;  // Arabic format marks
    if ((cp >= 0x0591 && cp <= 0x05BD) || cp == 0x05BF || cp == 0x05C1 || cp == 0x05C2 ||
        cp == 0x05C4 || cp == 0x05C5 || cp == 0x05C7)
      return CharClass::Ignorable;  // Hebrew points
    if (cp == 0x0640 || (cp >= 0x064B && cp <= 0x065F) || cp == 0x0670)
      return CharClass::Ignorable;  // Arabic tatweel and harakat
    return CharClass::Word;
  }
  if (cp == 0x0964 || cp == 0x0965 || cp == 0x0970) return CharClass::Separator;  // dandas
  if (cp == 0x1680) return CharClass::Separator;                                  // Ogham space
  if (cp >= 0x1360 && cp <= 0x1368) return CharClass::Separator;  // Ethiopic punctuation
  if ((cp >= 0x1AB0 && cp <= 0x1AFF) || (cp >= 0x1DC0 && cp <= 0x1DFF) ||
      (cp >= 0x20D0 && cp <= 0x20FF) || (cp >= 0xFE20 && cp <= 0xFE2F))
    return CharClass::Ignorable;  // combining marks, extended blocks
  if (cp == 0x200C || cp == 0x200D || cp == 0x2060 || cp == 0xFEFF)
    return CharClass::Ignorable;  // zero-width (non-)joiners, word joiner, BOM
  if (cp >= 0x2000 && cp <= 0x2BFF) return CharClass::Separator;  // punctuation, symbols
  if (cp >= 0x2E00 && cp <= 0x2E7F) return CharClass::Separator;  // supplemental punctuation
  if (cp >= 0x3000 && cp <= 0x303F && (cp < 0x3005 || cp > 0x3007))
    return CharClass::Separator;  // CJK punctuation
  if ((cp >= 0xFE10 && cp <= 0xFE1F) || (cp >= 0xFE30 && cp <= 0xFE6F))
    return CharClass::Separator;  // vertical and small forms
  if ((cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
      (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65))
    return CharClass::Separator;                                    // fullwidth punctuation
  if (cp >= 0xFFF0 && cp <= 0xFFFF) return CharClass::Separator;    // specials, U+FFFD
  if (cp >= 0x1F000 && cp <= 0x1FAFF) return CharClass::Separator;  // emoji, pictographs
  if (cp >= 0xE0000 && cp <= 0xE007F) return CharClass::Ignorable;  // tag characters
  return CharClass::Word;
}

// Case folding that costs nothing: Greek and Cyrillic basic capitals, fullwidth Latin.
char32_t simpleLower(char32_t cp) {
  if (cp >= 0x0391 && cp <= 0x03A9 && cp != 0x03A2) return cp + 0x20;  // Greek
  if (cp >= 0x0410 && cp <= 0x042F) return cp + 0x20;                  // Cyrillic А..Я
  if (cp >= 0x0400 && cp <= 0x040F) return cp + 0x50;                  // Cyrillic Ѐ..Џ
  if (cp >= 0xFF10 && cp <= 0xFF19) return cp - 0xFF10 + U'0';         // fullwidth digits
  if (cp >= 0xFF21 && cp <= 0xFF3A) return cp - 0xFF21 + U'a';         // fullwidth capitals
  if (cp >= 0xFF41 && cp <= 0xFF5A) return cp - 0xFF41 + U'a';         // fullwidth small
  return cp;
}

// ---------------------------------------------------------------------------------------------
// Dates

constexpr std::array<std::string_view, 12> MONTHS = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

constexpr std::array<std::string_view, 7> WEEKDAYS = {"monday", "tuesday",  "wednesday", "thursday",
                                                      "friday", "saturday", "sunday"};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isDigit);
}

int toInt(std::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

bool isLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int daysInMonth(int year, int month) {
  static constexpr std::array<int, 12> DAYS = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && isLeapYear(year) ? 29 : DAYS[month - 1];
}

// A word of a written date, with the one punctuation mark that may follow it.
struct DateToken {
  std::string_view word;
  char trailing = 0;  // ',' or '.' or 0
};

// "January", "jan", "Jan.", "Sept." -> 1..12; 0 when not a month. A period only follows an
// abbreviation.
int monthOf(const DateToken& token) {
  for (std::size_t m = 0; m < MONTHS.size(); ++m) {
    const std::string_view full = MONTHS[m];
    const bool isFull = equalsIgnoreCase(token.word, full);
    const bool isAbbreviation = equalsIgnoreCase(token.word, full.substr(0, 3)) ||
                                (m == 8 && equalsIgnoreCase(token.word, "sept"));
    if (isAbbreviation || (isFull && token.trailing != '.')) return static_cast<int>(m) + 1;
  }
  return 0;
}

// "11", "2", "1st", "22nd" -> 1..31; 0 when not a day number.
int dayOf(std::string_view word) {
  std::size_t digits = 0;
  while (digits < word.size() && isDigit(word[digits])) ++digits;
  if (digits == 0 || digits > 2) return 0;
  const std::string_view suffix = word.substr(digits);
  if (!suffix.empty() && !equalsIgnoreCase(suffix, "st") && !equalsIgnoreCase(suffix, "nd") &&
      !equalsIgnoreCase(suffix, "rd") && !equalsIgnoreCase(suffix, "th"))
    return 0;
  const int day = toInt(word.substr(0, digits));
  return day >= 1 && day <= 31 ? day : 0;
}

// "2013" -> 2013; -1 when not four digits.
int yearOf(std::string_view word) { return word.size() == 4 && allDigits(word) ? toInt(word) : -1; }

std::string formatDate(int year, int month, int day) {
  std::string out(10, '0');
  out[0] = static_cast<char>('0' + year / 1000);
  out[1] = static_cast<char>('0' + year / 100 % 10);
  out[2] = static_cast<char>('0' + year / 10 % 10);
  out[3] = static_cast<char>('0' + year % 10);
  out[4] = '-';
  out[5] = static_cast<char>('0' + month / 10);
  out[6] = static_cast<char>('0' + month % 10);
  if (day == 0) {
    out.resize(7);
    return out;
  }
  out[7] = '-';
  out[8] = static_cast<char>('0' + day / 10);
  out[9] = static_cast<char>('0' + day % 10);
  return out;
}

// YYYY, YYYY-MM or YYYY-MM-DD naming a real day; the form normalizeClipping accepts.
bool isIsoDate(std::string_view s) {
  if (s.size() != 4 && s.size() != 7 && s.size() != 10) return false;
  if (!allDigits(s.substr(0, 4))) return false;
  if (s.size() == 4) return true;
  if (s[4] != '-' || !allDigits(s.substr(5, 2))) return false;
  const int month = toInt(s.substr(5, 2));
  if (month < 1 || month > 12) return false;
  if (s.size() == 7) return true;
  if (s[7] != '-' || !allDigits(s.substr(8, 2))) return false;
  const int day = toInt(s.substr(8, 2));
  return day >= 1 && day <= daysInMonth(toInt(s.substr(0, 4)), month);
}

// ---------------------------------------------------------------------------------------------
// Whitespace

bool isAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Length of the whitespace (ASCII or U+00A0) starting at s[i], 0 when none.
std::size_t spaceAt(std::string_view s, std::size_t i) {
  if (isAsciiSpace(s[i])) return 1;
  if (s[i] == '\xC2' && i + 1 < s.size() && s[i + 1] == '\xA0') return 2;
  return 0;
}

// Trimmed, with every inner run of whitespace replaced by one space.
std::string collapseSpaces(std::string_view s) {
  s = trimSpace(s);
  std::string out;
  out.reserve(s.size());
  bool pendingSpace = false;
  for (std::size_t i = 0; i < s.size();) {
    if (const std::size_t n = spaceAt(s, i)) {
      pendingSpace = true;
      i += n;
      continue;
    }
    if (pendingSpace) out += ' ';
    pendingSpace = false;
    out += s[i++];
  }
  return out;
}

// CRLF and lone CR -> LF; leading blank lines and trailing whitespace removed. Indentation of
// the first line and everything inside is kept: the body is the author's text.
std::string normalizeBody(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  std::size_t end = out.size();
  while (end > 0) {
    if (isAsciiSpace(out[end - 1])) {
      --end;
    } else if (end >= 2 && out[end - 2] == '\xC2' && out[end - 1] == '\xA0') {
      end -= 2;
    } else {
      break;
    }
  }
  out.resize(end);
  // Drop whole leading lines that are blank.
  std::size_t start = 0;
  for (std::size_t lineStart = 0; lineStart < out.size();) {
    const std::size_t nl = out.find('\n', lineStart);
    if (nl == std::string::npos) break;
    if (!trimSpace(std::string_view(out).substr(lineStart, nl - lineStart)).empty()) break;
    lineStart = nl + 1;
    start = lineStart;
  }
  out.erase(0, start);
  return out;
}

// At most maxBytes of s, cut at a character boundary: for quoting input in error messages.
std::string excerpt(std::string_view s, std::size_t maxBytes) {
  if (s.size() <= maxBytes) return std::string(s);
  std::size_t end = maxBytes;
  while (end > 0 && isContinuation(static_cast<unsigned char>(s[end]))) --end;
  return std::string(s.substr(0, end)) + "...";
}

std::string lowerAscii(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace

std::size_t encodeUtf8(char32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

bool equalsIgnoreCase(std::string_view a, std::string_view lowerB) {
  if (a.size() != lowerB.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lowerB[i]) return false;
  }
  return true;
}

bool startsWithIgnoreCase(std::string_view s, std::string_view lowerPrefix) {
  return s.size() >= lowerPrefix.size() &&
         equalsIgnoreCase(s.substr(0, lowerPrefix.size()), lowerPrefix);
}

bool endsWithIgnoreCase(std::string_view s, std::string_view lowerSuffix) {
  return s.size() >= lowerSuffix.size() &&
         equalsIgnoreCase(s.substr(s.size() - lowerSuffix.size()), lowerSuffix);
}

std::size_t findIgnoreCase(std::string_view s, std::string_view lowerNeedle, std::size_t from) {
  if (lowerNeedle.empty()) return from <= s.size() ? from : std::string_view::npos;
  // Only where the first byte matches is the rest compared: most bytes of a text are not it.
  const char first = lowerNeedle[0];
  const char firstUpper =
      first >= 'a' && first <= 'z' ? static_cast<char>(first - 'a' + 'A') : first;
  for (std::size_t i = from; i + lowerNeedle.size() <= s.size(); ++i) {
    if (s[i] != first && s[i] != firstUpper) continue;
    if (equalsIgnoreCase(s.substr(i, lowerNeedle.size()), lowerNeedle)) return i;
  }
  return std::string_view::npos;
}

bool containsIgnoreCase(std::string_view s, std::string_view lowerNeedle) {
  return findIgnoreCase(s, lowerNeedle) != std::string_view::npos;
}

// -----------------------------------------------------------------------------------------------

std::optional<std::size_t> findInvalidUtf8(std::string_view text) {
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      std::uint64_t v;
      std::memcpy(&v, text.data() + i, sizeof v);
      if (isPlainAsciiWord(v)) {
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == 0) return i;
      ++i;
      continue;
    }
    const Decoded d = decodeMultiByte(text, i);
    if (d.length == 0) return i;
    i += d.length;
  }
  return std::nullopt;
}

bool isValidUtf8(std::string_view text) { return !findInvalidUtf8(text).has_value(); }

std::string_view trimSpace(std::string_view text) {
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t n = spaceAt(text, begin);
    if (n == 0) break;
    begin += n;
  }
  std::size_t end = text.size();
  while (end > begin) {
    if (isAsciiSpace(text[end - 1])) {
      --end;
    } else if (end - begin >= 2 && text[end - 2] == '\xC2' && text[end - 1] == '\xA0') {
      end -= 2;
    } else {
      break;
    }
  }
  return text.substr(begin, end - begin);
}

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    const std::size_t next = nl == std::string_view::npos ? text.size() : nl + 1;
    if (nl == std::string_view::npos) nl = text.size();
    std::size_t end = nl;
    if (end > start && text[end - 1] == '\r') --end;
    lines.push_back(text.substr(start, end - start));
    start = next;
  }
  return lines;
}

void appendSearchTerms(std::string_view text, SearchTermList& terms) {
  // Terms are written straight into terms.bytes, grown once beforehand: no term is longer
  // than the text it comes from (folding never lengthens a character), and one byte of room
  // lets the ASCII loop store every byte and advance only when it fits. When a character does
  // not fit a term, limit drops to the term's length: the term keeps what it has and the rest
  // of its word is dropped, so a cut never splits a character.
  const std::size_t used = terms.bytes.size();
  terms.bytes.resize(used + text.size() + 1);
  terms.ends.reserve(terms.ends.size() + text.size() / 6 + 1);
  char* const base = terms.bytes.data();
  char* out = base + used;
  char* termBegin = out;
  std::size_t limit = MAX_TERM_BYTES;
  const auto finish = [&]() __attribute__((always_inline)) {
    if (out != termBegin) terms.ends.push_back(static_cast<std::size_t>(out - base));
    termBegin = out;
    limit = MAX_TERM_BYTES;
  };
  const auto append = [&](const char* bytes, std::size_t n) __attribute__((always_inline)) {
    if (static_cast<std::size_t>(out - termBegin) + n <= limit) {
      std::memcpy(out, bytes, n);
      out += n;
    } else {
      limit = static_cast<std::size_t>(out - termBegin);
    }
  };

  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // The common case first: a run of ASCII letters and digits, one table look-up a byte.
    // The loop's state is copied into locals: finish and append take it by reference, which
    // would otherwise keep it in memory and cost a store and a load every byte.
    if (char folded = ASCII_FOLD[bytes[i]]) {
      char* o = out;
      const char* const end = termBegin + limit;
      do {
        *o = folded;
        o += o < end;
      } while (++i < n && (folded = ASCII_FOLD[bytes[i]]) != 0);
      out = o;
      continue;
    }
    if (bytes[i] < 0x80) {  // ASCII separator
      finish();
      ++i;
      continue;
    }
    const Decoded d = decodeMultiByte(text, i);
    if (d.length == 0) {  // malformed byte: a separator, never copied into a term
      finish();
      ++i;
      continue;
    }
    const char32_t cp = d.codePoint;
    if (cp >= 0xC0 && cp <= 0x17F) {
      const std::string_view folded = LATIN_FOLD[cp - 0xC0];
      if (folded.empty()) {
        finish();
      } else {
        append(folded.data(), folded.size());
      }
    } else {
      switch (classify(cp)) {
        case CharClass::Separator:
          finish();
          break;
        case CharClass::Ignorable:  // the term goes on
          break;
        case CharClass::Word: {
          const char32_t lower = simpleLower(cp);
          if (lower == cp) {
            append(text.data() + i, d.length);
          } else {
            std::array<char, 4> encoded{};
            append(encoded.data(), encodeUtf8(lower, encoded.data()));
          }
          break;
        }
      }
    }
    i += d.length;
  }
  finish();
  terms.bytes.resize(static_cast<std::size_t>(out - base));
}

std::vector<std::string> searchTerms(std::string_view text) {
  SearchTermList list;
  appendSearchTerms(text, list);
  std::vector<std::string> terms;
  terms.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) terms.emplace_back(list[i]);
  return terms;
}

std::optional<std::string> parseDate(std::string_view text) {
  text = trimSpace(text);
  if (text.empty() || text.size() > 64) return std::nullopt;  // no written date is longer

  // ISO forms first: 2013, 2013-01, 2013-01-11.
  if (isDigit(text[0]) && text.size() >= 4 && allDigits(text.substr(0, 4)) &&
      (text.size() == 4 || text[4] == '-')) {
    if (!isIsoDate(text)) return std::nullopt;
    return std::string(text);
  }

  std::vector<DateToken> tokens;
  for (std::size_t i = 0; i < text.size();) {
    if (const std::size_t n = spaceAt(text, i)) {
      i += n;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && spaceAt(text, j) == 0) ++j;
    DateToken token{text.substr(i, j - i)};
    if (token.word.back() == ',' || token.word.back() == '.') {
      token.trailing = token.word.back();
      token.word.remove_suffix(1);
    }
    if (token.word.empty() || tokens.size() == 5) return std::nullopt;
    tokens.push_back(token);
    i = j;
  }
  // An optional weekday: "Friday, 11 January 2013", "Fri January 11, 2013".
  if (tokens.size() >= 3 && tokens[0].trailing != '.') {
    for (std::string_view day : WEEKDAYS) {
      if (equalsIgnoreCase(tokens[0].word, day) ||
          equalsIgnoreCase(tokens[0].word, day.substr(0, 3))) {
        tokens.erase(tokens.begin());
        break;
      }
    }
  }

  int year = -1, month = 0, day = 0;
  if (tokens.size() == 2) {  // January 2013, Dec. 2012
    month = monthOf(tokens[0]);
    year = tokens[1].trailing == 0 ? yearOf(tokens[1].word) : -1;
    if (month == 0 || year < 0) return std::nullopt;
    return formatDate(year, month, 0);
  }
  if (tokens.size() != 3 || tokens[2].trailing != 0) return std::nullopt;
  year = yearOf(tokens[2].word);
  if (year < 0) return std::nullopt;
  if (isDigit(tokens[0].word[0])) {  // 11 January 2013
    if (tokens[0].trailing != 0) return std::nullopt;
    day = dayOf(tokens[0].word);
    month = monthOf(tokens[1]);
  } else {  // January 11, 2013
    if (tokens[1].trailing == '.') return std::nullopt;
    month = monthOf(tokens[0]);
    day = dayOf(tokens[1].word);
    if (tokens[0].trailing == ',') return std::nullopt;
  }
  if (month == 0 || day == 0 || day > daysInMonth(year, month)) return std::nullopt;
  return formatDate(year, month, day);
}

namespace {

/// The bounds and formats of a clipping already in normal form; the problem, if any.
std::optional<std::string> fieldProblem(const Clipping& c) {
  if (c.title.empty()) return std::string("title is missing");

  struct Field {
    std::string_view name;
    const std::string& value;
    std::size_t limit;
    std::string_view limitText;
  };
  const Field fields[] = {
      {"title", c.title, MAX_TITLE_BYTES, "1024 bytes"},
      {"source", c.source, MAX_FIELD_BYTES, "4096 bytes"},
      {"published", c.published, MAX_FIELD_BYTES, "4096 bytes"},
      {"url", c.url, MAX_FIELD_BYTES, "4096 bytes"},
      {"language", c.language, MAX_FIELD_BYTES, "4096 bytes"},
      {"body", c.body, MAX_BODY_BYTES, "1 MiB"},
      {"collection", c.collection, MAX_FIELD_BYTES, "4096 bytes"},
  };
  for (const Field& f : fields) {
    if (f.value.size() > f.limit)
      return std::string(f.name) + " is larger than " + std::string(f.limitText);
    if (f.value.find('\0') != std::string_view::npos)
      return std::string(f.name) + " holds a NUL character (U+0000, \\u0000 in JSON)";
    if (!isValidUtf8(f.value)) return std::string(f.name) + " is not valid UTF-8";
  }
  if (c.authors.size() > MAX_LIST_ITEMS) return std::string("authors: more than 64 authors");
  for (const std::string& a : c.authors) {
    if (a.size() > MAX_FIELD_BYTES)
      return std::string("authors: an author is larger than 4096 bytes");
    if (a.find('\0') != std::string::npos)
      return std::string("authors: an author holds a NUL character (U+0000, \\u0000 in JSON)");
    if (!isValidUtf8(a)) return std::string("authors: an author is not valid UTF-8");
  }
  if (c.tags.size() > MAX_LIST_ITEMS) return std::string("tags: more than 64 tags");
  for (const std::string& t : c.tags) {
    if (t.find('\0') != std::string::npos)
      return std::string("tags: a tag holds a NUL character (U+0000, \\u0000 in JSON)");
    if (!isValidUtf8(t)) return std::string("tags: a tag is not valid UTF-8");
    if (t.size() > MAX_TAG_BYTES) return "tags: tag is larger than 128 bytes: " + excerpt(t, 40);
  }
  if (!c.published.empty() && !isIsoDate(c.published))
    return "published: not an ISO 8601 date: " + excerpt(c.published, 64);
  return std::nullopt;
}

/// True when collapseSpaces(s) == s: no space at either end, inner whitespace only as single
/// ' ' characters.
bool isCollapsed(std::string_view s) {
  bool afterSpace = true;  // a space at the start is as wrong as two in a row
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (const std::size_t n = spaceAt(s, i)) {
      if (afterSpace || n != 1 || s[i] != ' ') return false;
      afterSpace = true;
    } else {
      afterSpace = false;
    }
  }
  return s.empty() || !afterSpace;
}

bool isTrimmed(std::string_view s) { return trimSpace(s).size() == s.size(); }

/// True when normalizeBody(s) == s.
bool isNormalBody(std::string_view s) {
  if (s.find('\r') != std::string_view::npos) return false;
  if (!s.empty() && (isAsciiSpace(s.back()) ||
                     (s.size() >= 2 && s[s.size() - 2] == '\xC2' && s.back() == '\xA0')))
    return false;
  const std::size_t nl = s.find('\n');
  return nl == std::string_view::npos || !trimSpace(s.substr(0, nl)).empty();
}

bool isLowerAscii(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
}

}  // namespace

std::string normalizeTag(std::string_view tag) { return lowerAscii(collapseSpaces(tag)); }

Expected<Clipping, std::string> normalizeClipping(Clipping clipping) {
  Clipping c;
  c.title = collapseSpaces(clipping.title);
  c.source = collapseSpaces(clipping.source);
  for (const std::string& author : clipping.authors) {
    std::string a = collapseSpaces(author);
    if (!a.empty()) c.authors.push_back(std::move(a));
  }
  c.published = std::string(trimSpace(clipping.published));
  c.url = std::string(trimSpace(clipping.url));
  for (const std::string& tag : clipping.tags) {
    std::string t = normalizeTag(tag);
    if (!t.empty()) c.tags.push_back(std::move(t));
  }
  std::sort(c.tags.begin(), c.tags.end());
  c.tags.erase(std::unique(c.tags.begin(), c.tags.end()), c.tags.end());
  c.language = std::string(trimSpace(clipping.language));
  c.body = normalizeBody(clipping.body);
  c.collection = collapseSpaces(clipping.collection);

  if (auto problem = fieldProblem(c)) return *problem;
  return c;
}

std::optional<std::string> checkNormalClipping(const Clipping& c) {
  bool normal = isCollapsed(c.title) && isCollapsed(c.source) && isTrimmed(c.published) &&
                isTrimmed(c.url) && isTrimmed(c.language) && isNormalBody(c.body) &&
                isCollapsed(c.collection);
  for (const auto& a : c.authors) normal = normal && !a.empty() && isCollapsed(a);
  for (std::size_t i = 0; i < c.tags.size(); ++i)
    normal = normal && !c.tags[i].empty() && isCollapsed(c.tags[i]) && isLowerAscii(c.tags[i]) &&
             (i == 0 || c.tags[i - 1] < c.tags[i]);
  if (!normal) return std::string("not in normal form (untrimmed text, or tags not sorted)");
  return fieldProblem(c);
}

std::optional<std::string> isoUtc(std::int64_t unixSeconds) {
  // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years ISO 8601 writes in four digits.
  constexpr std::int64_t FIRST = -62'167'219'200;
  constexpr std::int64_t LAST = 253'402'300'799;
  if (unixSeconds < FIRST || unixSeconds > LAST) return std::nullopt;
  const auto t = static_cast<std::time_t>(unixSeconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return std::nullopt;
  char buffer[80];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return std::string(buffer);
}

std::string formatUtc(std::int64_t unixSeconds) {
  // A year past 9999 or before 0 (signedAt is whatever the signer claimed): say the number.
  if (auto iso = isoUtc(unixSeconds)) return *iso;
  return "unix time " + std::to_string(unixSeconds) + " (outside the calendar years 0-9999)";
}

std::pair<char32_t, std::size_t> codePointAt(std::string_view text, std::size_t at) {
  const Decoded decoded = decodeMultiByte(text, at);
  return {decoded.codePoint, decoded.length};
}

bool isDisplayControl(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

std::string forTerminal(std::string_view text, TerminalLines lines) {
  static constexpr char HEX[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      const bool kept = lines == TerminalLines::Keep && (c == '\n' || c == '\t');
      if ((c < 0x20 || c == 0x7F) && !kept) {
        out += "\\x";
        out += HEX[c >> 4];
        out += HEX[c & 0xF];
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    const auto [cp, length] = codePointAt(text, i);
    if (length == 0) {
      out += "\\x";
      out += HEX[c >> 4];
      out += HEX[c & 0xF];
      ++i;
    } else if (isDisplayControl(cp)) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out += HEX[(cp >> shift) & 0xF];
      i += length;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace fieldsync::protocol
