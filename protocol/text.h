#pragma once
// Text rules shared by importers, validation and the search index. Pure functions.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/clipping.h"
#include "protocol/error.h"

namespace fieldsync::protocol {

/// True when text is well-formed UTF-8 (no overlongs, no surrogates) without NUL bytes.
bool isValidUtf8(std::string_view text);

/// The offset of the first byte at which text stops being well-formed UTF-8 (the first byte
/// of a bad sequence, or a NUL byte); empty when isValidUtf8(text).
std::optional<std::size_t> findInvalidUtf8(std::string_view text);

/// Writes the code point cp (at most U+10FFFF) as UTF-8 to out, which has room for 4 bytes;
/// returns how many bytes it wrote.
std::size_t encodeUtf8(char32_t cp, char* out);

/// Comparisons that ignore ASCII case in their first argument; the second (lowerB, lowerPrefix,
/// lowerSuffix, lowerNeedle) must be in lower case.
bool equalsIgnoreCase(std::string_view a, std::string_view lowerB);
bool startsWithIgnoreCase(std::string_view s, std::string_view lowerPrefix);
bool endsWithIgnoreCase(std::string_view s, std::string_view lowerSuffix);
/// The position of the first lowerNeedle in s at or after from, ASCII case ignored; npos when
/// there is none.
std::size_t findIgnoreCase(std::string_view s, std::string_view lowerNeedle, std::size_t from = 0);
bool containsIgnoreCase(std::string_view s, std::string_view lowerNeedle);

/// text without ASCII whitespace and U+00A0 (no-break space) at either end. A view into text.
std::string_view trimSpace(std::string_view text);

/// The lines of text without their terminators (LF or CRLF), as views into text. A text that
/// ends with a terminator has no empty last line; an empty text has no lines.
std::vector<std::string_view> splitLines(std::string_view text);

/// The terms the search index keeps for a text: words of letters and digits, folded to
/// lower case with accents removed for Latin scripts ("Côte d'Ivoire" -> "cote", "d",
/// "ivoire"), in order of appearance, duplicates kept. Terms longer than MAX_TERM_BYTES are
/// cut to that length. Latin-1 and Latin Extended-A letters fold to their base letters
/// (ß -> "ss", æ -> "ae", ł -> "l"); combining marks vanish, so decomposed text gives the same
/// terms; letters of other scripts are kept as written (Greek and Cyrillic capitals lowered).
/// Punctuation, symbols, spaces and bytes that are not UTF-8 separate terms. Cheap enough to
/// run on every imported clipping: a few microseconds for 5 KB.
inline constexpr std::size_t MAX_TERM_BYTES = 64;
std::vector<std::string> searchTerms(std::string_view text);

/// Search terms one after another in one buffer: searchTerms without a string for each, for
/// callers that read many texts (the store indexes every clipping it receives).
struct SearchTermList {
  std::string bytes;              // the terms, one after another
  std::vector<std::size_t> ends;  // where each term ends in bytes; no term is empty
  std::size_t size() const { return ends.size(); }
  std::size_t beginOf(std::size_t i) const { return i == 0 ? 0 : ends[i - 1]; }
  std::string_view operator[](std::size_t i) const {
    return std::string_view(bytes).substr(beginOf(i), ends[i] - beginOf(i));
  }
};

/// Appends the terms of text, as searchTerms gives them, to terms.
void appendSearchTerms(std::string_view text, SearchTermList& terms);

/// A date as written in clippings ("11 January 2013", "January 2013", "Dec. 2012",
/// "2013-01-11", "2013-01", "2013") -> ISO 8601 at the precision given ("2013-01-11",
/// "2013-01", "2013"). Empty when the text is not a date.
/// Also read: "January 11, 2013", "Jan. 11, 2013", a leading weekday ("Friday, 11 January
/// 2013") and ordinal days ("1st May 2013"). Month names are English, in any case. Impossible
/// dates (2013-02-30, month 13) are not dates.
std::optional<std::string> parseDate(std::string_view text);

/// The code point of the well-formed UTF-8 sequence at text[at] and its length; length 0
/// when the bytes there are not one (overlong, surrogate, past U+10FFFF, cut short).
/// Precondition: text[at] is not ASCII (>= 0x80).
std::pair<char32_t, std::size_t> codePointAt(std::string_view text, std::size_t at);

/// Code points beyond ASCII that act on a terminal or on the order of the text around them:
/// C1 controls, the bidirectional embeddings, overrides and isolates, the line and paragraph
/// separators. forTerminal escapes them; the reading room's HTML replaces them.
bool isDisplayControl(char32_t cp);

/// Where forTerminal keeps line breaks: Join for a field printed on one line (every control
/// character escaped), Keep for a body printed as lines (newline and tab kept as they are).
enum class TerminalLines { Join, Keep };

/// Text made safe to show on a terminal or write to a log line, every character that could act on
/// it written as a visible escape instead: C0 controls as \xNN (\x1b for ESC; newline and tab too
/// unless Keep), DEL as \x7f, C1 controls (U+0080-U+009F) as \u0085, the bidirectional embeddings,
/// overrides and isolates (U+202A-U+202E, U+2066-U+2069) as \u202e, the line and paragraph
/// separators (U+2028, U+2029) as \u2028, and bytes that are not UTF-8 as \xNN. Everything
/// else, other scripts included, is kept. A backslash stays one backslash: the escapes are
/// for people to see, not to decode.
std::string forTerminal(std::string_view text, TerminalLines lines = TerminalLines::Join);

/// Unix seconds as an ISO 8601 UTC timestamp, "2013-01-11T00:00:00Z", for the years 0000 to
/// 9999; empty outside them (a signer may claim any int64 time).
std::optional<std::string> isoUtc(std::int64_t unixSeconds);
/// isoUtc for people: outside the years 0-9999, "unix time N (outside the calendar years
/// 0-9999)", always with the number.
std::string formatUtc(std::int64_t unixSeconds);

/// Bounds on a clipping's fields, so one record cannot exhaust a node.
inline constexpr std::size_t MAX_TITLE_BYTES = 1024;
inline constexpr std::size_t MAX_FIELD_BYTES = 4096;     // source, url, collection, each author
inline constexpr std::size_t MAX_BODY_BYTES = 1u << 20;  // 1 MiB
inline constexpr std::size_t MAX_LIST_ITEMS = 64;        // authors, tags
inline constexpr std::size_t MAX_TAG_BYTES = 128;

/// A tag as clippings keep it: trimmed, inner spaces collapsed to one, ASCII letters lowered
/// ("  Region:Kenya " -> "region:kenya"); empty for a tag of spaces. Whatever compares a tag a
/// person typed with stored tags (list --tag, bundle export --tag, release create --tag) folds
/// it with this, the rule normalizeClipping applies.
std::string normalizeTag(std::string_view tag);

/// Trims every field, drops empty authors and tags, lowercases tags and sorts them without
/// duplicates; then checks: title present, every field valid UTF-8 and within its bound,
/// published empty or ISO 8601 (YYYY, YYYY-MM or YYYY-MM-DD). The error names the field.
/// Trimming removes ASCII whitespace and U+00A0; title, source, authors, tags and collection
/// also have inner runs of those collapsed to one space. The body keeps its text as written
/// but gets LF line ends, loses blank lines at its start and whitespace at its end.
/// Idempotent: a normalized clipping normalizes to itself.
Expected<Clipping, std::string> normalizeClipping(Clipping clipping);

/// Empty when clipping is already what normalizeClipping would return for it (normal form,
/// within bounds, valid); else the problem. Copies nothing: this runs on every object that
/// is verified.
std::optional<std::string> checkNormalClipping(const Clipping& clipping);

}  // namespace fieldsync::protocol
