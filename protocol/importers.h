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
/// those clippings (for an HTML-only message, the whole text of its HTML); any other message
/// gives one (details: import_email.cpp). An mbox is cut by RecordSplitter and each message
/// read by parseEmailMessage, as a streaming import does. At most
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

// ---------------------------------------------------------------------------------------------
// Streaming. An mbox and a jsonl file are read a record at a time (a message, a line), so an
// import holds one record and its clippings, never the whole file or the whole file's parse.
// The reading loop is the caller's (store/import.h); these are the pure parts.

/// Largest mbox message, and largest jsonl line, a streaming import holds at once. A jsonl
/// line holds one clipping, whose body is at most 1 MiB (6 MiB written as \u escapes).
inline constexpr std::size_t MAX_MESSAGE_BYTES = 64u << 20;
inline constexpr std::size_t MAX_JSONL_LINE_BYTES = 16u << 20;

/// One record of a streamed file.
struct Record {
  std::string bytes;       // a message from its "From " line on, or a line without its end
  std::size_t number = 0;  // 1-based: the message or line number
  std::size_t line = 0;    // 1-based line of the file where it starts
};

/// Cuts the bytes of a file, given in pieces of any size, into records: the messages of an
/// mbox (a message starts at a line beginning "From ", as GMime reads an mbox) or the lines
/// of a text ('\n' ends a line; a '\r' before it is dropped). Holds at most one record (plus
/// the piece it was given); a record longer than maxRecordBytes is refused, naming its
/// number and line ("message 7 at line 1234 is larger than 64 MiB").
class RecordSplitter {
 public:
  enum class Kind { MboxMessages, Lines };
  RecordSplitter(Kind kind, std::size_t maxRecordBytes);

  /// The next bytes of the file; the records they complete are appended to out.
  [[nodiscard]] std::optional<ImportError> feed(std::string_view bytes, std::vector<Record>& out);
  /// The end of the file: the last record, when there is one, is appended to out.
  [[nodiscard]] std::optional<ImportError> finish(std::vector<Record>& out);

 private:
  std::optional<ImportError> tooLarge() const;
  void emit(std::size_t end, std::size_t next, std::vector<Record>& out);

  Kind m_kind;
  std::size_t m_max;
  std::string m_buffer;       // the current record from m_start on (and records given out)
  std::size_t m_start = 0;    // where the current record starts in m_buffer
  std::size_t m_scanned = 0;  // bytes of m_buffer already looked at for line ends
  std::size_t m_number = 0;   // records emitted
  std::size_t m_line = 1;     // line where the current record starts
  std::size_t m_linesIn = 0;  // line ends inside the current record so far
};

/// The clippings of one message (parseEmail's rules): a message of an mbox, from its "From "
/// line on (mbox true), or a whole one-message file. number and line name it in errors
/// ("message 3: no text part"; the error's line is line when mbox, else 0).
ParseResult parseEmailMessage(std::string_view bytes, bool mbox, std::size_t number,
                              std::size_t line);

/// The two readers of a jsonl line that parseJsonlLine uses before normalizing, apart for
/// tests and fuzz_jsonl. The fast one reads the common line (an object of strings, nulls and
/// arrays of strings, each field of the schema at most once) straight into a clipping, and
/// gives nothing for any other line. The full one (nlohmann's parser) reads every line and
/// says what is wrong with it. On a line the fast one reads, both give the same clipping.
std::optional<Clipping> readJsonlLineFast(std::string_view line);
Expected<Clipping, std::string> readJsonlLineFull(std::string_view line);

/// One line of a jsonl file (parseJsonl's rules), lineNumber for its errors: no clipping for
/// a blank line. The line must be UTF-8 without NUL bytes.
ParseResult parseJsonlLine(std::string_view line, std::size_t lineNumber);

}  // namespace fieldsync::protocol
