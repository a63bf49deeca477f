#pragma once
// Text rules shared by importers, validation and the search index. Pure functions.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/clipping.h"
#include "protocol/error.h"

namespace fieldsync::protocol {

/// True when text is well-formed UTF-8 (no overlongs, no surrogates) without NUL bytes.
bool isValidUtf8(std::string_view text);

/// The terms the search index keeps for a text: words of letters and digits, folded to
/// lower case with accents removed for Latin scripts ("Côte d'Ivoire" -> "cote", "d",
/// "ivoire"), in order of appearance, duplicates kept. Terms longer than MAX_TERM_BYTES are
/// cut to that length.
inline constexpr std::size_t MAX_TERM_BYTES = 64;
std::vector<std::string> searchTerms(std::string_view text);

/// A date as written in clippings ("11 January 2013", "January 2013", "Dec. 2012",
/// "2013-01-11", "2013-01", "2013") -> ISO 8601 at the precision given ("2013-01-11",
/// "2013-01", "2013"). Empty when the text is not a date.
std::optional<std::string> parseDate(std::string_view text);

/// Bounds on a clipping's fields, so one record cannot exhaust a node.
inline constexpr std::size_t MAX_TITLE_BYTES = 1024;
inline constexpr std::size_t MAX_FIELD_BYTES = 4096;     // source, url, collection, each author
inline constexpr std::size_t MAX_BODY_BYTES = 1u << 20;  // 1 MiB
inline constexpr std::size_t MAX_LIST_ITEMS = 64;        // authors, tags
inline constexpr std::size_t MAX_TAG_BYTES = 128;

/// Trims every field, drops empty authors and tags, lowercases tags and sorts them without
/// duplicates; then checks: title present, every field valid UTF-8 and within its bound,
/// published empty or ISO 8601 (YYYY, YYYY-MM or YYYY-MM-DD). The error names the field.
Expected<Clipping, std::string> normalizeClipping(Clipping clipping);

}  // namespace fieldsync::protocol
