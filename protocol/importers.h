#pragma once
// Parsers for the formats a field office imports: listserv digests, single markdown
// articles and JSON lines. Pure functions over text already read into memory: no I/O, so
// they are tested and fuzzed without files. Every input is untrusted: a parser either
// returns every clipping of the text, normalized and valid, or the first error with its
// line number; never a partial result.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/clipping.h"
#include "protocol/error.h"

namespace fieldsync::protocol {

enum class Format { Digest, Markdown, Jsonl };

/// "digest", "markdown", "jsonl" -> Format; anything else is empty.
std::optional<Format> parseFormatName(std::string_view name);
std::string_view formatName(Format format);

/// Guesses the format from the file name and the first bytes: *.jsonl/*.ndjson or a first
/// non-blank line starting with '{' -> Jsonl; *.md or a "---"/"title:" header -> Markdown;
/// otherwise Digest.
Format detectFormat(std::string_view fileName, std::string_view text);

/// Why a text was refused. line is 1-based, 0 when the problem is the whole text.
struct ImportError {
  std::size_t line = 0;
  std::string message;
};

using ParseResult = Expected<std::vector<Clipping>, ImportError>;

/// Largest text a parser accepts; callers check file sizes against it before reading.
inline constexpr std::size_t MAX_IMPORT_BYTES = 64u << 20;

/// The checks every parser makes first: the text is at most MAX_IMPORT_BYTES ("larger than
/// 64 MiB"), holds more than whitespace ("empty file"), and is UTF-8 without NUL bytes ("not
/// UTF-8 text (binary file?)", with the line of the first bad byte). Empty when it passes.
std::optional<ImportError> checkImportText(std::string_view text);

/// Each parser makes checkImportText's checks and ignores a leading byte order mark.
///
/// A listserv digest: its numbered articles and its untitled editorial pieces, in the order
/// of the text, each with collection "<publisher> digest <date>" (heuristics: the comment at
/// the top of import_digest.cpp). Refused when it holds neither, or when it looks truncated.
ParseResult parseDigest(std::string_view text);
/// One article: a "key: value" header (optionally between --- lines), a blank line, the body.
/// Unknown keys, a missing title and unreadable dates are errors.
ParseResult parseMarkdown(std::string_view text);
/// One JSON object a non-blank line, with exactly the schema's field names. Unknown fields,
/// wrong types, a missing title and unreadable dates are errors.
ParseResult parseJsonl(std::string_view text);
ParseResult parse(Format format, std::string_view text);

}  // namespace fieldsync::protocol
