// PDF reports -> one clipping, with poppler's C++ interface (Debian 12: libpoppler-cpp).
//
//  - body: the text of each page in reading order, lines trimmed, blank lines between
//    paragraphs, one blank line between pages;
//  - title: the document's Title metadata, else the first line of its text (cut at a word to
//    120 bytes);
//  - authors: the Author metadata, split on ";", " and ", " & ";
//  - published: the creation date, as YYYY-MM-DD (UTC);
//  - collection: "pdf".
// Refused: a file poppler cannot open, one locked by a password, one with more than
// MAX_PDF_PAGES pages, one whose text is longer than a clipping's body may be (1 MiB), and
// one with no text at all (scanned pages: they need OCR first).
// Poppler's own diagnostics are silenced: they would print on the user's terminal.

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>

#include <memory>
#include <mutex>

#include "protocol/importers.h"
#include "protocol/text.h"

namespace fieldsync::protocol {

namespace {

constexpr std::size_t MAX_TITLE_FROM_TEXT_BYTES = 120;

std::string utf8Of(const poppler::ustring& u) {
  const poppler::byte_array bytes = u.to_utf8();
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes)
    if (c != '\0') out += c;
  if (!isValidUtf8(out)) return {};
  return out;
}

void silencePoppler() {
  static std::once_flag once;
  std::call_once(
      once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

// Page text -> paragraphs: lines trimmed, runs of blank lines one blank line.
void appendParagraphs(std::string_view text, std::string& body) {
  bool paragraphBreak = !body.empty();
  for (std::string_view line : splitLines(text)) {
    line = trimSpace(line);
    if (line.empty() || line == "\f") {
      paragraphBreak = !body.empty();
      continue;
    }
    if (!body.empty()) body += paragraphBreak ? "\n\n" : "\n";
    paragraphBreak = false;
    body += line;
  }
}

std::string firstLine(std::string_view body) {
  std::string_view line = trimSpace(body.substr(0, body.find('\n')));
  if (line.size() <= MAX_TITLE_FROM_TEXT_BYTES) return std::string(line);
  std::size_t cut = line.rfind(' ', MAX_TITLE_FROM_TEXT_BYTES);
  if (cut == std::string_view::npos || cut == 0) {
    cut = MAX_TITLE_FROM_TEXT_BYTES;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0u) == 0x80u) --cut;
  }
  return std::string(line.substr(0, cut)) + "\xE2\x80\xA6";
}

std::vector<std::string> splitAuthors(std::string_view s) {
  std::vector<std::string> out{std::string(trimSpace(s))};
  for (std::string_view sep : {";", " and ", " & "}) {
    std::vector<std::string> next;
    for (const std::string& p : out) {
      std::string_view rest = p;
      for (std::size_t at; (at = rest.find(sep)) != std::string_view::npos;) {
        next.emplace_back(trimSpace(rest.substr(0, at)));
        rest.remove_prefix(at + sep.size());
      }
      next.emplace_back(trimSpace(rest));
    }
    out = std::move(next);
  }
  return out;
}

}  // namespace

ParseResult parsePdf(std::string_view bytes) {
  if (auto error = checkImportBytes(bytes)) return *error;
  if (!bytes.starts_with("%PDF-") && bytes.substr(0, 1024).find("%PDF-") == std::string_view::npos)
    return ImportError{0, "not a PDF (no %PDF- header)"};
  silencePoppler();
  const std::unique_ptr<poppler::document> doc(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!doc) return ImportError{0, "not a readable PDF (damaged or truncated?)"};
  if (doc->is_locked()) return ImportError{0, "the PDF is locked by a password"};
  const int pages = doc->pages();
  if (pages <= 0) return ImportError{0, "the PDF has no pages"};
  if (pages > MAX_PDF_PAGES)
    return ImportError{0, "the PDF has " + std::to_string(pages) + " pages, more than " +
                              std::to_string(MAX_PDF_PAGES)};

  Clipping c;
  for (int i = 0; i < pages; ++i) {
    const std::unique_ptr<poppler::page> page(doc->create_page(i));
    if (!page) continue;
    appendParagraphs(
        utf8Of(page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout)), c.body);
    if (c.body.size() > MAX_BODY_BYTES)
      return ImportError{0, "the PDF's text is longer than a clipping may be (1 MiB), by page " +
                                std::to_string(i + 1)};
  }
  if (trimSpace(c.body).empty())
    return ImportError{0, "the PDF has no text (scanned pages? run OCR first)"};

  c.title = std::string(trimSpace(utf8Of(doc->get_title())));
  if (c.title.empty()) c.title = firstLine(c.body);
  const std::string author = utf8Of(doc->get_author());
  if (!trimSpace(author).empty()) c.authors = splitAuthors(author);
  const time_t created = doc->get_creation_date_t();
  if (created > 0) {
    if (auto date = parseDate(formatUtc(static_cast<std::int64_t>(created)).substr(0, 10)))
      c.published = *date;
  }
  c.collection = "pdf";
  auto normal = normalizeClipping(std::move(c));
  if (!normal) return ImportError{0, normal.error()};
  return std::vector<Clipping>{std::move(normal).value()};
}

}  // namespace fieldsync::protocol
