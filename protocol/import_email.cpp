// E-mail: an mbox or one RFC 5322 message (.eml), read with GMime 3.
//
// The text of a message: in multipart/alternative the text/plain part, else the text/html
// part; in other multiparts the first such part that is not an attachment (a forwarded
// message/rfc822 part counts when nothing before it gave text). Transfer encodings
// (quoted-printable, base64) are undone by GMime; the declared charset is converted to UTF-8
// (ISO-8859-1 is read as windows-1252, which every mailer that says ISO-8859-1 means; text
// that declares none, or a charset that fails, is read as UTF-8 when valid, else as
// windows-1252), and format=flowed text is unwrapped (RFC 3676). An HTML part goes through the
// web page rules (import_html.cpp) with its
// charset. In an mbox, lines that a writer escaped (">From ", ">>From ") lose one '>'.
//
// An mbox is cut into messages first (RecordSplitter: a line starting "From " starts one), and
// each message is parsed alone, so a streaming import (store/import.cpp) reads the same
// clippings a message at a time.
//
// A message whose text parseDigest reads as two or more clippings is a listserv digest: it
// gives those clippings, as a digest file would. For a message with only an HTML part, the
// digest parser reads the whole text of the HTML (block elements as paragraphs, <br> as line
// breaks), not the one article the web page rules would pick. Any other message gives one clipping:
//  - title: the subject without list tags ("[icrtop] ") and reply or forward prefixes (Re:,
//    Fwd:, Fw:, Tr:, Aw:, Wg:, Sv:, with counts such as "Re[2]:"), any number of them; a
//    message without a subject is titled by the first line of its text;
//  - source: a "Source:", "Outlet:" or "Publication:" line at the top of the text; else the
//    display name (else address) of the forwarded message's From: line; else the sender's;
//  - authors: a "By NAME" line at the top of the text;
//  - published: the message's Date: as YYYY-MM-DD, in the sender's time zone;
//  - collection: the List-Id's name ("ICRtoP listserv <icrtop.lists.example.org>" ->
//    "ICRtoP listserv"), else "e-mail";
//  - body: for a forward ("---------- Forwarded message ---------", "Begin forwarded
//    message:", "-------- Message transféré --------", "Début du message réexpédié :", or
//    "-----Original Message-----" under a Fwd: subject), the text after the
//    forwarded header block (the forwarder's note above it is dropped); for a reply, the
//    text above "-----Original Message-----". Then quoted lines ("> ..."), "On ... wrote:"
//    lines and everything from a signature separator ("-- ") or a mailing-list footer (a line
//    of ten or more underscores) on are dropped. Lines are trimmed; paragraphs are separated
//    by one blank line.
// A web page saved as MHTML (a message with a Snapshot-Content-Location header, as Chrome
// writes) gives the clipping the page gives as HTML, its saved address as the url when the
// page names no canonical one.
// A message with no text (only attachments) is refused, naming its line in the mbox.

#include <gmime/gmime.h>

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>

#include "protocol/import_html.h"
#include "protocol/importers.h"
#include "protocol/text.h"

namespace fieldsync::protocol {

namespace {

using html::lower;
using html::lowerAscii;

constexpr int MAX_MIME_DEPTH = 16;
constexpr std::size_t MAX_EMAIL_CLIPPINGS = 100'000;
constexpr std::size_t MAX_TITLE_FROM_TEXT_BYTES = 120;

struct GObjectUnref {
  void operator()(void* object) const {
    if (object != nullptr) g_object_unref(object);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct ParserOptionsFree {
  void operator()(GMimeParserOptions* options) const { g_mime_parser_options_free(options); }
};

struct GFree {
  void operator()(void* p) const { g_free(p); }
};

void initGmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

// ---------------------------------------------------------------------------------------------
// Charsets

std::optional<std::string> convert(std::string_view raw, const char* from) {
  gsize written = 0;
  GError* error = nullptr;
  gchar* out = g_convert(raw.data(), static_cast<gssize>(raw.size()), "UTF-8", from, nullptr,
                         &written, &error);
  if (error != nullptr) g_error_free(error);
  if (out == nullptr) return std::nullopt;
  std::unique_ptr<gchar, GFree> owned(out);
  std::string text(out, written);
  if (!isValidUtf8(text)) return std::nullopt;  // a NUL byte, say
  return text;
}

// Bytes in a declared charset (or none) -> UTF-8 without NUL bytes. Never fails.
std::string toUtf8(std::string_view raw, std::string_view declared) {
  const std::string charset = lower(trimSpace(declared));
  const bool latin1 = charset == "iso-8859-1" || charset == "iso8859-1" || charset == "latin1" ||
                      charset == "iso_8859-1" || charset == "us-ascii" || charset == "ascii";
  if (!charset.empty() && charset != "utf-8" && charset != "utf8" && !latin1) {
    if (auto text = convert(raw, charset.c_str())) return *text;
  }
  if (isValidUtf8(raw)) return std::string(raw);
  if (auto text = convert(raw, "WINDOWS-1252")) return *text;
  // windows-1252 leaves five bytes undefined; ISO-8859-1 defines them all.
  std::string latin;
  for (char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    if (b == 0) continue;
    if (b < 0x80) {
      latin += c;
    } else {
      latin += static_cast<char>(0xC0 | (b >> 6));
      latin += static_cast<char>(0x80 | (b & 0x3F));
    }
  }
  return latin;
}

// ---------------------------------------------------------------------------------------------
// The text of a message

struct Text {
  std::string text;
  bool html = false;
  html::Article article;  // what the web page rules found, for an HTML part
  std::string wholeText;  // an HTML part's whole text (not only the article's paragraphs)
};

std::string partBytes(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) return {};
  GPtr<GMimeStream> out(g_mime_stream_mem_new());
  if (g_mime_data_wrapper_write_to_stream(content, out.get()) < 0) return {};
  GByteArray* array = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  if (array == nullptr || array->len == 0) return {};
  return std::string(reinterpret_cast<const char*>(array->data), array->len);
}

// RFC 3676 format=flowed (Thunderbird's default): a line ending in a space continues on the
// next one (the space dropped too with DelSp=yes), except the signature separator "-- "; a
// leading space is stuffing. So a digest mailed flowed has its long lines back.
std::string unflow(std::string_view text, bool delsp) {
  std::string out;
  out.reserve(text.size());
  for (std::string_view line : splitLines(text)) {
    if (line.starts_with(' ')) line.remove_prefix(1);
    const bool soft = line.ends_with(' ') && line != "-- ";
    if (soft && delsp) line.remove_suffix(1);
    out += line;
    if (!soft) out += '\n';
  }
  return out;
}

std::optional<Text> textOfPart(GMimePart* part) {
  if (g_mime_part_is_attachment(part)) return std::nullopt;
  GMimeContentType* type = g_mime_object_get_content_type(GMIME_OBJECT(part));
  const bool plain = type == nullptr || g_mime_content_type_is_type(type, "text", "plain");
  const bool html = type != nullptr && g_mime_content_type_is_type(type, "text", "html");
  if (!plain && !html) return std::nullopt;
  const char* charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
  const std::string raw = partBytes(part);
  if (html) {
    // The part's charset, not a <meta> inside it, says what the bytes are.
    const std::string utf8 = toUtf8(raw, charset ? charset : "");
    html::Article article = html::readArticle(utf8, "UTF-8");
    std::string whole = html::toText(utf8);
    std::string text = article.body.empty() ? whole : article.body;
    return Text{std::move(text), true, std::move(article), std::move(whole)};
  }
  std::string text = toUtf8(raw, charset ? charset : "");
  const char* format = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "format");
  if (format != nullptr && lower(trimSpace(format)) == "flowed") {
    const char* delsp = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "delsp");
    text = unflow(text, delsp != nullptr && lower(trimSpace(delsp)) == "yes");
  }
  return Text{std::move(text), false, {}, {}};
}

std::optional<Text> textOf(GMimeObject* object, int depth);

std::optional<Text> textOfMessage(GMimeMessage* message, int depth) {
  GMimeObject* body = g_mime_message_get_mime_part(message);
  return body ? textOf(body, depth + 1) : std::nullopt;
}

std::optional<Text> textOf(GMimeObject* object, int depth) {
  if (object == nullptr || depth > MAX_MIME_DEPTH) return std::nullopt;
  if (GMIME_IS_PART(object)) return textOfPart(GMIME_PART(object));
  if (GMIME_IS_MESSAGE_PART(object)) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
    return inner ? textOfMessage(inner, depth) : std::nullopt;
  }
  if (!GMIME_IS_MULTIPART(object)) return std::nullopt;
  GMimeMultipart* multipart = GMIME_MULTIPART(object);
  GMimeContentType* type = g_mime_object_get_content_type(object);
  const int count = g_mime_multipart_get_count(multipart);
  if (type != nullptr && g_mime_content_type_is_type(type, "multipart", "alternative")) {
    std::optional<Text> html;
    for (int i = 0; i < count; ++i) {
      auto text = textOf(g_mime_multipart_get_part(multipart, i), depth + 1);
      if (text && !text->html && !trimSpace(text->text).empty()) return text;
      if (text && text->html && !html) html = std::move(text);
    }
    return html;
  }
  for (int i = 0; i < count; ++i) {
    auto text = textOf(g_mime_multipart_get_part(multipart, i), depth + 1);
    if (text && !trimSpace(text->text).empty()) return text;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// One clipping from a message

// "[icrtop] Re: Fwd: FW: Title" -> "Title"; forwarded says whether a forward prefix was cut.
std::string cleanSubject(std::string_view s, bool* forwarded = nullptr) {
  for (bool changed = true; changed;) {
    changed = false;
    s = trimSpace(s);
    if (s.starts_with('[')) {
      const std::size_t close = s.find(']');
      if (close != std::string_view::npos && close < 40 && close + 1 < s.size()) {
        s.remove_prefix(close + 1);
        changed = true;
        continue;
      }
    }
    for (std::string_view prefix : {"re", "fwd", "fw", "tr", "aw", "wg", "sv"}) {
      if (!startsWithIgnoreCase(s, prefix)) continue;
      std::string_view rest = s.substr(prefix.size());
      if (rest.starts_with('[') || rest.starts_with('(')) {  // "Re[2]:"
        const std::size_t close = rest.find_first_of("])");
        if (close == std::string_view::npos || close > 4) continue;
        rest.remove_prefix(close + 1);
      }
      rest = trimSpace(rest);
      if (!rest.starts_with(':')) continue;
      s = rest.substr(1);
      changed = true;
      if (forwarded != nullptr && prefix != "re" && prefix != "aw" && prefix != "sv")
        *forwarded = true;
      break;
    }
  }
  return std::string(trimSpace(s));
}

// "Jane Doe <jane@example.org>", "\"Doe, Jane\" <j@x>", "jane@example.org" -> a name.
std::string displayName(std::string_view from) {
  from = trimSpace(from);
  const std::size_t angle = from.find('<');
  std::string_view name = angle == std::string_view::npos ? from : trimSpace(from.substr(0, angle));
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
    name = trimSpace(name.substr(1, name.size() - 2));
  if (!name.empty()) return std::string(name);
  if (angle != std::string_view::npos) {
    std::string_view addr = from.substr(angle + 1);
    return std::string(trimSpace(addr.substr(0, addr.find('>'))));
  }
  return std::string(from);
}

std::string senderOf(GMimeMessage* message) {
  InternetAddressList* from = g_mime_message_get_from(message);
  if (from == nullptr || internet_address_list_length(from) == 0) return {};
  InternetAddress* address = internet_address_list_get_address(from, 0);
  if (const char* name = internet_address_get_name(address); name && *name) return name;
  if (INTERNET_ADDRESS_IS_MAILBOX(address)) {
    const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address));
    if (addr != nullptr) return addr;
  }
  return {};
}

std::string dateOf(GMimeMessage* message) {
  GDateTime* date = g_mime_message_get_date(message);  // owned by the message
  if (date == nullptr) return {};
  std::unique_ptr<gchar, GFree> text(g_date_time_format(date, "%Y-%m-%d"));
  if (!text) return {};
  auto iso = parseDate(text.get());
  return iso ? *iso : std::string();
}

// "ICRtoP listserv <icrtop.lists.example.org>" -> "ICRtoP listserv"; "<icrtop.lists.x>" ->
// "icrtop".
std::string listNameOf(GMimeMessage* message) {
  const char* header = g_mime_object_get_header(GMIME_OBJECT(message), "List-Id");
  if (header == nullptr) return {};
  const std::string_view id = trimSpace(header);
  const std::size_t angle = id.find('<');
  if (angle == std::string_view::npos) return std::string(id.substr(0, id.find('.')));
  std::string_view phrase = trimSpace(id.substr(0, angle));
  if (phrase.size() >= 2 && phrase.front() == '"' && phrase.back() == '"')
    phrase = trimSpace(phrase.substr(1, phrase.size() - 2));
  if (!phrase.empty()) return std::string(phrase);
  const std::string_view inner = id.substr(angle + 1);
  return std::string(trimSpace(inner.substr(0, inner.find_first_of(".>"))));
}

// English and French mailers (offices in Mali, the DRC, Côte d'Ivoire forward in French).
bool isForwardMarker(std::string_view t) {
  const bool dashed = t.starts_with("-----");
  return (dashed && (t.find("Forwarded message") != std::string_view::npos ||
                     t.find("Message transf\xC3\xA9r\xC3\xA9") != std::string_view::npos)) ||
         startsWithIgnoreCase(t, "begin forwarded message") ||
         t.starts_with(
             "D\xC3\xA9"
             "but du message r\xC3\xA9"
             "exp\xC3\xA9"
             "di\xC3\xA9");
}

bool isOriginalMarker(std::string_view t) {
  return t.starts_with("-----") && (t.find("Original Message") != std::string_view::npos ||
                                    t.find("Message d'origine") != std::string_view::npos);
}

// A header line of a forwarded block: "From: ...", "De : ...". key is the English name.
bool isHeaderLine(std::string_view t, std::string_view& value, std::string& key) {
  struct Name {
    std::string_view written, key;
  };
  constexpr Name NAMES[] = {{"from", "from"},         {"date", "date"},   {"sent", "date"},
                            {"subject", "subject"},   {"to", "to"},       {"cc", "cc"},
                            {"reply-to", "reply-to"}, {"de", "from"},     {"envoy\xC3\xA9", "date"},
                            {"objet", "subject"},     {"\xC3\xA0", "to"}, {"\xC3\x80", "to"}};
  const std::size_t colon = t.find(':');
  if (colon == std::string_view::npos || colon > 12) return false;
  const std::string_view name = trimSpace(t.substr(0, colon));  // "De :" has a space
  for (const Name& n : NAMES) {
    if (name.size() == n.written.size() && startsWithIgnoreCase(name, n.written)) {
      key = std::string(n.key);
      value = trimSpace(t.substr(colon + 1));
      return true;
    }
  }
  return false;
}

// A mailing-list footer starts with a line of ten or more underscores, as Mailman writes it.
bool isListFooterLine(std::string_view t) {
  return t.size() >= 10 && t.find_first_not_of('_') == std::string_view::npos;
}

struct Cleaned {
  std::string body;
  std::string source;  // named by the text, or the forwarded sender
  std::vector<std::string> authors;
  std::string forwardedSubject;
};

Cleaned cleanBody(std::string_view text, bool forwardSubject) {
  std::vector<std::string_view> lines = splitLines(text);
  for (std::string_view& l : lines) l = trimSpace(l);
  Cleaned out;

  // Where the text of interest starts and ends.
  std::size_t begin = 0, end = lines.size();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const bool forward =
        isForwardMarker(lines[i]) || (forwardSubject && isOriginalMarker(lines[i]));
    if (forward) {
      std::size_t j = i + 1;
      std::string forwardedFrom;
      for (; j < lines.size() && !lines[j].empty(); ++j) {
        std::string_view value;
        std::string key;
        if (!isHeaderLine(lines[j], value, key)) break;
        if (key == "from") forwardedFrom = displayName(value);
        if (key == "subject") out.forwardedSubject = cleanSubject(value);
      }
      out.source = forwardedFrom;
      begin = j;
      break;
    }
    if (isOriginalMarker(lines[i])) {  // a reply: the chain below is quoted
      end = i;
      break;
    }
  }

  std::vector<std::string_view> kept;
  for (std::size_t i = begin; i < end; ++i) {
    const std::string_view t = lines[i];
    if (t == "--" || isListFooterLine(t)) break;
    if (t.starts_with('>')) continue;
    if (endsWithIgnoreCase(t, "wrote:")) {
      if (startsWithIgnoreCase(t, "on ")) continue;
      if (!kept.empty() && startsWithIgnoreCase(kept.back(), "on ")) {
        kept.pop_back();
        continue;
      }
    }
    if (endsWithIgnoreCase(t,
                           "a \xC3\xA9"
                           "crit :") ||
        endsWithIgnoreCase(t,
                           "a \xC3\xA9"
                           "crit:"))
      continue;
    kept.push_back(t);
  }

  // Lines at the top that name the outlet or the authors.
  std::size_t first = 0;
  while (first < kept.size() && kept[first].empty()) ++first;
  for (std::size_t i = first; i < kept.size() && i < first + 4; ++i) {
    const std::string_view t = kept[i];
    if (t.empty()) break;
    bool used = false;
    for (std::string_view k : {"source:", "outlet:", "publication:"}) {
      if (startsWithIgnoreCase(t, k) && t.size() < 200) {
        out.source = std::string(trimSpace(t.substr(k.size())));
        used = true;
      }
    }
    if (!used && startsWithIgnoreCase(t, "by ") && t.size() < 120) {
      std::string_view names = trimSpace(t.substr(3));
      for (std::size_t at; (at = names.find(" and ")) != std::string_view::npos;) {
        out.authors.emplace_back(trimSpace(names.substr(0, at)));
        names.remove_prefix(at + 5);
      }
      out.authors.emplace_back(names);
      used = true;
    }
    if (used) kept[i] = {};
  }

  bool paragraphBreak = false;
  for (std::string_view t : kept) {
    if (t.empty()) {
      paragraphBreak = !out.body.empty();
      continue;
    }
    if (!out.body.empty()) out.body += paragraphBreak ? "\n\n" : "\n";
    paragraphBreak = false;
    out.body += t;
  }
  return out;
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

// text up to a mailing-list footer.
std::string_view withoutListFooter(std::string_view text) {
  for (std::string_view line : splitLines(text))
    if (isListFooterLine(trimSpace(line)))
      return text.substr(0, static_cast<std::size_t>(line.data() - text.data()));
  return text;
}

// Undoes mbox "From " escaping: ">From " -> "From ", ">>From " -> ">From ".
std::string unescapeFrom(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    end = end == std::string_view::npos ? text.size() : end + 1;
    std::string_view line = text.substr(start, end - start);
    const std::size_t quotes = line.find_first_not_of('>');
    if (quotes != std::string_view::npos && quotes > 0 && line.substr(quotes).starts_with("From "))
      line.remove_prefix(1);
    out += line;
    start = end;
  }
  return out;
}

// The clippings of one message, appended to out; why not, when it gives none.
std::optional<std::string> messageClippings(GMimeMessage* message, bool mbox,
                                            std::vector<Clipping>& out) {
  auto text = textOfMessage(message, 0);
  if (!text || trimSpace(text->text).empty()) return "no text part (attachments only?)";
  std::string body = mbox ? unescapeFrom(text->text) : std::move(text->text);

  // A web page saved as MHTML (Chrome's "Webpage, Single File") is a page, not a mail:
  // every field comes from the page, the saved address as the url when it names none.
  if (const char* saved =
          g_mime_object_get_header(GMIME_OBJECT(message), "Snapshot-Content-Location");
      saved != nullptr && text->html && !text->article.body.empty()) {
    html::Article& a = text->article;
    Clipping c;
    const char* subject = g_mime_message_get_subject(message);
    c.title = a.title.empty() ? cleanSubject(subject ? subject : "") : std::move(a.title);
    c.source = std::move(a.source);
    c.authors = std::move(a.authors);
    c.published = a.published.empty() ? dateOf(message) : std::move(a.published);
    c.url = a.url.empty() ? std::string(trimSpace(saved)) : std::move(a.url);
    c.language = std::move(a.language);
    c.body = std::move(a.body);
    if (trimSpace(c.title).empty()) return "a saved page without a title";
    auto normal = normalizeClipping(std::move(c));
    if (!normal) return normal.error();
    out.push_back(std::move(normal).value());
    return std::nullopt;
  }

  // A digest gives its articles; the list server's footer is not part of the last one. A
  // digest mailed as HTML only is read from the whole text of its HTML (its articles are not
  // one article's paragraphs).
  {
    const std::string& digestText =
        text->html ? (mbox ? unescapeFrom(text->wholeText) : text->wholeText) : body;
    auto digest = parseDigest(withoutListFooter(digestText));
    if (digest && digest->size() >= 2) {
      if (digest->size() > MAX_EMAIL_CLIPPINGS) return "more than 100000 clippings";
      for (Clipping& c : digest.value()) out.push_back(std::move(c));
      return std::nullopt;
    }
  }

  const char* rawSubject = g_mime_message_get_subject(message);
  bool forwardSubject = false;
  const std::string subject = cleanSubject(rawSubject ? rawSubject : "", &forwardSubject);
  Cleaned cleaned = cleanBody(body, forwardSubject);
  if (trimSpace(cleaned.body).empty()) return "no text once quotes and signature are gone";

  Clipping c;
  c.title = !subject.empty()                    ? subject
            : !cleaned.forwardedSubject.empty() ? cleaned.forwardedSubject
                                                : firstLine(cleaned.body);
  c.source = !cleaned.source.empty() ? cleaned.source : senderOf(message);
  c.authors = std::move(cleaned.authors);
  c.published = dateOf(message);
  const std::string list = listNameOf(message);
  c.collection = list.empty() ? "e-mail" : list;
  c.body = std::move(cleaned.body);
  auto normal = normalizeClipping(std::move(c));
  if (!normal) return normal.error();
  out.push_back(std::move(normal).value());
  return std::nullopt;
}

}  // namespace

ParseResult parseEmailMessage(std::string_view bytes, bool mbox, std::size_t number,
                              std::size_t line) {
  auto refuse = [&](const std::string& why) {
    return ImportError{mbox ? line : 0, "message " + std::to_string(number) + ": " + why};
  };
  if (bytes.size() > MAX_MESSAGE_BYTES) return refuse("larger than 64 MiB");
  initGmime();
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), mbox ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
  std::unique_ptr<GMimeParserOptions, ParserOptionsFree> options(g_mime_parser_options_new());
  const char* fallback[] = {"UTF-8", "windows-1252", nullptr};
  g_mime_parser_options_set_fallback_charsets(options.get(), fallback);
  GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), options.get()));
  if (!message) {
    if (!mbox) return ImportError{0, "not an e-mail message"};
    return refuse("not an e-mail message");
  }
  std::vector<Clipping> clippings;
  if (auto why = messageClippings(message.get(), mbox, clippings)) return refuse(*why);
  return clippings;
}

ParseResult parseEmail(std::string_view bytes) {
  if (auto error = checkImportBytes(bytes)) return *error;
  if (!bytes.starts_with("From ")) return parseEmailMessage(bytes, false, 1, 0);

  // An mbox: a message at a time, as a streaming import reads it (store/import.cpp).
  RecordSplitter splitter(RecordSplitter::Kind::MboxMessages, MAX_MESSAGE_BYTES);
  std::vector<Record> messages;
  if (auto error = splitter.feed(bytes, messages)) return *error;
  if (auto error = splitter.finish(messages)) return *error;
  std::vector<Clipping> clippings;
  for (const Record& m : messages) {
    if (m.number > MAX_EMAIL_MESSAGES)
      return ImportError{m.line, "message " + std::to_string(m.number) + ": more than " +
                                     std::to_string(MAX_EMAIL_MESSAGES) + " messages"};
    auto parsed = parseEmailMessage(m.bytes, true, m.number, m.line);
    if (!parsed) return parsed.error();
    if (clippings.size() + parsed->size() > MAX_EMAIL_CLIPPINGS)
      return ImportError{m.line,
                         "message " + std::to_string(m.number) + ": more than 100000 clippings"};
    for (Clipping& c : parsed.value()) clippings.push_back(std::move(c));
  }
  if (clippings.empty()) return ImportError{0, "no message found in the mbox"};
  return clippings;
}

}  // namespace fieldsync::protocol
