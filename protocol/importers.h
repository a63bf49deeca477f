#pragma once
// Parsers for the formats a field office imports: listserv digests, single markdown
// articles, JSON lines, e-mail (mbox or one message), web pages, RSS/Atom feeds and PDF
// reports. Pure functions over bytes already read into memory: no I/O, so they are tested
// and fuzzed without files. Every input is untrusted: a parser either returns every clipping
// of the input, normalized and valid, or the first error with its line number; never a
// partial result.
//
// Text formats (digest, markdown, jsonl) take UTF-8 text and refuse anything else. The other
// formats take bytes: e-mail and web pages declare their own charsets, feeds their XML
// encoding, and a PDF is binary; each converts to UTF-8 itself.
// Threads: every function may run on any thread at the same time.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/clipping.h"
#include "protocol/error.h"

namespace fieldsync::protocol {

enum class Format { Digest, Markdown, Jsonl, Email, Html, Feed, Pdf };

/// "digest", "markdown", "jsonl", "email", "html", "feed", "pdf" -> Format; anything else is
/// empty.
std::optional<Format> parseFormatName(std::string_view name);
std::string_view formatName(Format format);

/// True for the formats that take UTF-8 text (digest, markdown, jsonl).
bool isTextFormat(Format format);

/// Guesses the format from the file name and the first bytes, in this order:
///  - by name: *.jsonl/*.ndjson -> Jsonl; *.md/*.markdown -> Markdown; *.eml/*.mbox -> Email;
///    *.pdf -> Pdf;
///  - by content: "%PDF-" -> Pdf; an mbox "From " line, or a first block of RFC 5322 header
///    lines holding From: and Date:, Subject: or Message-ID: -> Email; an XML document whose
///    root is <rss>, <feed> or <rdf:RDF> -> Feed; a document starting with "<" that holds
///    <html, <head or <body -> Html;
///  - otherwise as before: a first non-blank line starting with '{' -> Jsonl; "---" or
///    "title:" -> Markdown; anything else -> Digest.
/// Reads at most the first 64 KiB.
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

/// The checks every parser of bytes makes first: at most MAX_IMPORT_BYTES, not only
/// whitespace. Empty when it passes.
std::optional<ImportError> checkImportBytes(std::string_view bytes);

/// Each parser makes checkImportText's checks and ignores a leading byte order mark.
///
/// A listserv digest of any of the layouts the listserv used (2009-2016): its articles and
/// its untitled editorial pieces, in the order of the text, each with collection
/// "<publisher> digest <date>"; contents lists and events sections are not clippings
/// (heuristics: the comment at the top of import_digest.cpp). Refused when it holds neither
/// articles nor editorials, or when it looks truncated.
ParseResult parseDigest(std::string_view text);
/// One article: a "key: value" header (optionally between --- lines), a blank line, the body.
/// Unknown keys, a missing title and unreadable dates are errors.
ParseResult parseMarkdown(std::string_view text);
/// One JSON object a non-blank line, with exactly the schema's field names. Unknown fields,
/// wrong types, a missing title and unreadable dates are errors.
ParseResult parseJsonl(std::string_view text);

/// An mbox (the first line starts with "From ") or one RFC 5322 message, read with GMime:
/// each message's text is its text/plain part (else its text/html part through parseHtml's
/// rules), transfer encodings undone and converted to UTF-8 from the declared charset
/// (ISO-8859-1 read as windows-1252, its superset; undeclared 8-bit text as UTF-8 when valid,
/// else windows-1252). A message whose text parseDigest reads as two or more clippings gives
/// those clippings; any other message gives one (details: import_email.cpp). At most
/// MAX_EMAIL_MESSAGES messages. The error's line is 0: GMime does not say where.
inline constexpr std::size_t MAX_EMAIL_MESSAGES = 100'000;
ParseResult parseEmail(std::string_view bytes);

/// A saved web page (HTML in its declared charset, UTF-8 when undeclared) -> one clipping,
/// read with libxml2's HTML parser: title, source, authors, date, canonical URL from the
/// page's metadata, body from the article's paragraphs (details: import_html.cpp). Refused
/// when no title or no paragraph is found.
ParseResult parseHtml(std::string_view bytes);

/// An RSS 2.0, RSS 1.0 (RDF) or Atom feed -> one clipping per item, read with libxml2 (no
/// network, no DTD, no entity expansion: a document declaring entities is refused). At most
/// MAX_FEED_ITEMS items. Details: import_feed.cpp.
inline constexpr std::size_t MAX_FEED_ITEMS = 100'000;
ParseResult parseFeed(std::string_view bytes);

/// A PDF report -> one clipping: the text of its pages (at most MAX_PDF_PAGES) as the body,
/// title, author and creation date from its metadata. A PDF without text (scanned pages) or
/// locked by a password is refused. Details: import_pdf.cpp.
inline constexpr int MAX_PDF_PAGES = 2000;
ParseResult parsePdf(std::string_view bytes);

/// The parser of format: text formats get checkImportText's checks, the others
/// checkImportBytes's.
ParseResult parse(Format format, std::string_view bytes);

}  // namespace fieldsync::protocol
