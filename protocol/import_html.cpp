// Web pages: a saved news article (.html) -> one clipping, with libxml2's HTML parser (it
// recovers from the broken markup real pages have, decodes entities, and never touches the
// network).
//
// Fields, each from the first place that gives it:
//  - title: <meta property="og:title">, twitter:title, the page <title> without its site tail
//    (" | Site", " - Site", " – Site", " — Site", " :: Site": the text after the last such
//    separator, when it is at most 60 bytes), the first <h1>;
//  - source: og:site_name, application-name, the site tail cut from <title>;
//  - authors: <meta name="author">, article:author (when not a URL), dc.creator,
//    parsely-author; else the page's byline: an element with rel="author", itemprop="author"
//    or a class naming "byline" or "author", read as "By A and B" (the "By " dropped; split
//    on " and ", " & ", "; ", and on ", " only when every piece is two to four words);
//  - published: article:published_time, a <time datetime> (inside the article first),
//    itemprop="datePublished", then <meta name="date"> and kin (dc.date, pubdate...); an
//    ISO 8601 date-time keeps its date, anything else goes through parseDate;
//  - url: <link rel="canonical">, else og:url; http and https only;
//  - language: <html lang>;
//  - body: the paragraphs (p, h2-h6, li, pre, blockquote without inner paragraphs) of the
//    article: the <article>, <main>, role="main" or itemprop="articleBody" element holding the
//    most paragraph text, else <body>. Never inside nav, header, footer, aside, form, script,
//    style, noscript, template, iframe, svg, button, figure, dialog, elements hidden
//    (hidden, aria-hidden="true") or with a role of navigation, banner, complementary,
//    contentinfo, dialog or alertdialog, nor inside elements whose class or id names cookie,
//    consent, gdpr, newsletter, subscribe, share, social, related, promo, advert, sponsor,
//    comment, breadcrumb, byline, author, dateline, caption, popup, modal, paywall, footer or
//    unsubscribe (a newsletter's footer is often a <div class="footer">).
//
// Bounds: the input is at most MAX_IMPORT_BYTES; walkers stop at MAX_DEPTH levels (libxml2
// itself refuses more than 256); each field is cut to its bound in normalizeClipping's terms
// by the caller's checks.

#include "protocol/import_html.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <mutex>

#include "protocol/importers.h"
#include "protocol/text.h"

namespace fieldsync::protocol {

namespace html {
namespace {

using html::lower;
using html::lowerAscii;

struct DocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

constexpr int PARSE_OPTIONS =
    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET;

void initLibxml() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

std::string_view nameOf(const xmlNode* node) {
  return node->name ? std::string_view(reinterpret_cast<const char*>(node->name)) : "";
}

bool isElement(const xmlNode* node, std::string_view lowerName) {
  if (node->type != XML_ELEMENT_NODE) return false;
  const std::string_view n = nameOf(node);
  return n.size() == lowerName.size() && startsWithIgnoreCase(n, lowerName);
}

/// An attribute's value ("" when absent), entities decoded.
std::string attribute(const xmlNode* node, const char* name) {
  if (node->type != XML_ELEMENT_NODE) return {};
  xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (value == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return out;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// Builds paragraphs from text pieces: runs of whitespace become one space, a paragraph break
// ends the current paragraph, a line break starts a new line within it.
class TextBuilder {
 public:
  void text(std::string_view s) {
    for (char c : s) {
      if (isSpace(c)) {
        m_space = true;
        continue;
      }
      if (m_space && !m_current.empty() && m_current.back() != '\n') m_current += ' ';
      m_space = false;
      m_current += c;
    }
  }
  void lineBreak() {
    trimEnd();
    if (!m_current.empty()) m_current += '\n';
    m_space = false;
  }
  void paragraphBreak() {
    trimEnd();
    while (!m_current.empty() && m_current.back() == '\n') m_current.pop_back();
    const std::string_view t = trimSpace(m_current);
    if (!t.empty()) {
      if (!m_out.empty()) m_out += "\n\n";
      m_out += t;
    }
    m_current.clear();
    m_space = false;
  }
  std::string finish() {
    paragraphBreak();
    return std::move(m_out);
  }

 private:
  void trimEnd() {
    while (!m_current.empty() && m_current.back() == ' ') m_current.pop_back();
  }
  std::string m_out;
  std::string m_current;
  bool m_space = false;
};

// Elements whose content is never text of the page.
bool isInvisible(const xmlNode* node) {
  constexpr std::array<std::string_view, 12> NAMES = {"script", "style",  "noscript", "template",
                                                      "iframe", "svg",    "object",   "select",
                                                      "button", "canvas", "head",     "title"};
  return std::any_of(NAMES.begin(), NAMES.end(),
                     [&](std::string_view n) { return isElement(node, n); });
}

bool isBlock(const xmlNode* node) {
  constexpr std::array<std::string_view, 29> NAMES = {
      "p",     "div", "h1",     "h2", "h3",        "h4",      "h5",     "h6",
      "ul",    "ol",  "li",     "dl", "dt",        "dd",      "pre",    "blockquote",
      "table", "tr",  "td",     "th", "article",   "section", "header", "footer",
      "aside", "nav", "figure", "hr", "figcaption"};
  return std::any_of(NAMES.begin(), NAMES.end(),
                     [&](std::string_view n) { return isElement(node, n); });
}

void appendNodeText(const xmlNode* node, TextBuilder& out, int depth) {
  if (depth > MAX_DEPTH) return;
  for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
    if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) {
      if (child->content) out.text(reinterpret_cast<const char*>(child->content));
      continue;
    }
    if (child->type != XML_ELEMENT_NODE || isInvisible(child)) continue;
    if (isElement(child, "br")) {
      out.lineBreak();
      continue;
    }
    const bool block = isBlock(child);
    if (block) out.paragraphBreak();
    appendNodeText(child, out, depth + 1);
    if (block) out.paragraphBreak();
  }
}

// The text of an element on one line: whitespace collapsed, line breaks kept as spaces.
std::string inlineText(const xmlNode* node) {
  TextBuilder b;
  appendNodeText(node, b, 0);
  std::string s = b.finish();
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::string out;
  for (char c : s)
    if (!(c == ' ' && !out.empty() && out.back() == ' ')) out += c;
  return std::string(trimSpace(out));
}

// encoding given: the bytes are in it, whatever the page declares. A fragment gets no implied
// <html><body>: its top-level nodes are the document's children.
DocPtr parseHtmlBytes(std::string_view bytes, const char* encoding, bool fragment = false) {
  initLibxml();
  if (bytes.empty() || bytes.size() > MAX_IMPORT_BYTES) return nullptr;
  const int options = PARSE_OPTIONS | (encoding ? HTML_PARSE_IGNORE_ENC : 0) |
                      (fragment ? HTML_PARSE_NOIMPLIED : 0);
  return DocPtr(
      htmlReadMemory(bytes.data(), static_cast<int>(bytes.size()), nullptr, encoding, options));
}

// Visits every element in document order, skipping the subtrees for which visit returns false.
template <typename Visit>
void walk(const xmlNode* node, Visit&& visit, int depth = 0) {
  if (depth > MAX_DEPTH) return;
  for (const xmlNode* child = node; child != nullptr; child = child->next) {
    if (child->type != XML_ELEMENT_NODE) continue;
    if (visit(child)) walk(child->children, visit, depth + 1);
  }
}

const xmlNode* rootOf(const xmlDoc* doc) { return doc ? xmlDocGetRootElement(doc) : nullptr; }

// ---------------------------------------------------------------------------------------------
// Metadata

struct Meta {
  std::string key;  // property or name, lower case
  std::string content;
};

std::vector<Meta> metas(const xmlNode* root) {
  std::vector<Meta> out;
  walk(root, [&](const xmlNode* n) {
    if (isElement(n, "meta") && out.size() < 1000) {
      std::string key = attribute(n, "property");
      if (key.empty()) key = attribute(n, "name");
      if (key.empty()) key = attribute(n, "itemprop");
      std::string content = attribute(n, "content");
      if (!key.empty() && !trimSpace(content).empty())
        out.push_back({lower(trimSpace(key)), std::string(trimSpace(content))});
    }
    return !isElement(n, "script") && !isElement(n, "style");
  });
  return out;
}

std::string metaValue(const std::vector<Meta>& all, std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys)
    for (const Meta& m : all)
      if (m.key == key) return m.content;
  return {};
}

bool isHttpUrl(std::string_view s) {
  return startsWithIgnoreCase(s, "http://") || startsWithIgnoreCase(s, "https://");
}

// "2013-01-11T10:00:00Z", "2013-01-11", "11 January 2013" -> "2013-01-11".
std::string dateOf(std::string_view value) {
  value = trimSpace(value);
  if (value.size() >= 10 && value[4] == '-' && value[7] == '-') {
    if (auto d = parseDate(value.substr(0, 10))) return *d;
  }
  if (auto d = parseDate(value)) return *d;
  return {};
}

// The first " | ", " - ", " – ", " — ", " :: " separator from the right whose tail is short.
std::pair<std::string, std::string> splitTitleTail(std::string_view title) {
  constexpr std::array<std::string_view, 6> SEPARATORS = {
      " | ", " - ", " \xE2\x80\x93 ", " \xE2\x80\x94 ", " :: ", " \xC2\xB7 "};
  std::size_t best = std::string_view::npos, length = 0;
  for (std::string_view sep : SEPARATORS) {
    const std::size_t at = title.rfind(sep);
    if (at != std::string_view::npos && (best == std::string_view::npos || at > best))
      best = at, length = sep.size();
  }
  if (best == std::string_view::npos || best == 0) return {std::string(title), {}};
  const std::string_view tail = trimSpace(title.substr(best + length));
  if (tail.empty() || tail.size() > 60) return {std::string(title), {}};
  return {std::string(trimSpace(title.substr(0, best))), std::string(tail)};
}

// The class or id of n names one of words: a part of a name split at spaces, '-' and '_' is
// the word or its plural ("article-comments"), or, for words no longer word starts with,
// starts with it ("cookiebanner"). "commentary" is not "comment".
bool classNames(const xmlNode* n, std::initializer_list<std::string_view> words) {
  constexpr std::array<std::string_view, 8> PREFIXES = {
      "cookie", "consent", "newsletter", "advert", "sponsor", "breadcrumb", "paywall", "social"};
  const std::string names = lower(attribute(n, "class") + " " + attribute(n, "id"));
  std::size_t i = 0;
  while (i < names.size()) {
    std::size_t end = names.find_first_of(" \t\n-_", i);
    if (end == std::string::npos) end = names.size();
    const std::string_view part = std::string_view(names).substr(i, end - i);
    i = end + 1;
    if (part.empty()) continue;
    for (std::string_view w : words) {
      if (part == w || (part.size() == w.size() + 1 && part.starts_with(w) && part.back() == 's'))
        return true;
      if (part.starts_with(w) && std::find(PREFIXES.begin(), PREFIXES.end(), w) != PREFIXES.end())
        return true;
    }
  }
  return false;
}

// "By Jane Doe and John Roe" -> {"Jane Doe", "John Roe"}.
std::vector<std::string> bylineAuthors(std::string_view line) {
  line = trimSpace(line);
  if (startsWithIgnoreCase(line, "by ")) line = trimSpace(line.substr(3));
  if (line.empty() || line.size() > 200) return {};
  std::vector<std::string> parts{std::string(line)};
  for (std::string_view sep : {" and ", " & ", "; "}) {
    std::vector<std::string> next;
    for (const std::string& p : parts) {
      std::string_view rest = p;
      for (std::size_t at; (at = rest.find(sep)) != std::string_view::npos;) {
        next.emplace_back(trimSpace(rest.substr(0, at)));
        rest.remove_prefix(at + sep.size());
      }
      next.emplace_back(trimSpace(rest));
    }
    parts = std::move(next);
  }
  // ", " separates names only when every piece looks like a name (two to four words).
  std::vector<std::string> out;
  for (const std::string& p : parts) {
    std::vector<std::string> pieces;
    std::string_view rest = p;
    for (std::size_t at; (at = rest.find(", ")) != std::string_view::npos;) {
      pieces.emplace_back(trimSpace(rest.substr(0, at)));
      rest.remove_prefix(at + 2);
    }
    pieces.emplace_back(trimSpace(rest));
    const bool names = pieces.size() > 1 && std::all_of(pieces.begin(), pieces.end(), [](auto& s) {
                         const auto words = std::count(s.begin(), s.end(), ' ') + 1;
                         return words >= 2 && words <= 4;
                       });
    if (names) {
      out.insert(out.end(), pieces.begin(), pieces.end());
    } else if (!p.empty()) {
      out.push_back(p);
    }
  }
  out.erase(std::remove_if(out.begin(), out.end(), [](const std::string& s) { return s.empty(); }),
            out.end());
  return out;
}

// ---------------------------------------------------------------------------------------------
// The article's body

bool isChromeRole(const xmlNode* n) {
  const std::string role = lower(attribute(n, "role"));
  return role == "navigation" || role == "banner" || role == "complementary" ||
         role == "contentinfo" || role == "dialog" || role == "alertdialog" || role == "search";
}

bool isChrome(const xmlNode* n) {
  constexpr std::array<std::string_view, 10> NAMES = {
      "nav", "header", "footer", "aside", "form", "figure", "dialog", "menu", "h1", "address"};
  if (isInvisible(n)) return true;
  if (std::any_of(NAMES.begin(), NAMES.end(), [&](std::string_view x) { return isElement(n, x); }))
    return true;
  if (xmlHasProp(n, reinterpret_cast<const xmlChar*>("hidden")) != nullptr) return true;
  if (lower(attribute(n, "aria-hidden")) == "true") return true;
  if (isChromeRole(n)) return true;
  return classNames(n, {"cookie",     "consent", "gdpr",   "newsletter", "subscribe", "share",
                        "social",     "related", "promo",  "advert",     "sponsor",   "comment",
                        "breadcrumb", "byline",  "author", "dateline",   "caption",   "popup",
                        "modal",      "paywall", "footer", "unsubscribe"});
}

bool isParagraph(const xmlNode* n) {
  constexpr std::array<std::string_view, 8> NAMES = {"p",  "h2", "h3",  "h4",
                                                     "h5", "h6", "pre", "li"};
  return std::any_of(NAMES.begin(), NAMES.end(),
                     [&](std::string_view x) { return isElement(n, x); });
}

bool hasParagraphInside(const xmlNode* n) {
  bool found = false;
  walk(n->children, [&](const xmlNode* c) {
    if (isParagraph(c)) found = true;
    return !found;
  });
  return found;
}

std::vector<std::string> paragraphs(const xmlNode* root) {
  std::vector<std::string> out;
  walk(root->children, [&](const xmlNode* n) {
    if (isChrome(n)) return false;
    const bool leaf = isParagraph(n) || (isElement(n, "blockquote") && !hasParagraphInside(n));
    if (leaf && !(isElement(n, "li") && hasParagraphInside(n))) {
      TextBuilder b;
      appendNodeText(n, b, 0);
      std::string text = b.finish();
      if (!text.empty()) out.push_back(std::move(text));
      return false;
    }
    return true;
  });
  return out;
}

std::size_t lengthOf(const std::vector<std::string>& ps) {
  std::size_t n = 0;
  for (const std::string& p : ps) n += p.size();
  return n;
}

std::string join(const std::vector<std::string>& ps) {
  std::string out;
  for (const std::string& p : ps) {
    if (!out.empty()) out += "\n\n";
    out += p;
  }
  return out;
}

// The charset the page declares in its first bytes, if any.
bool declaresCharset(std::string_view bytes) {
  const std::string head = lower(bytes.substr(0, std::min<std::size_t>(bytes.size(), 4096)));
  return head.find("charset") != std::string::npos || head.starts_with("\xEF\xBB\xBF");
}

}  // namespace

std::string nodeToText(const _xmlNode* node) {
  if (node == nullptr) return {};
  TextBuilder b;
  appendNodeText(node, b, 0);
  return b.finish();
}

namespace {

std::string plainText(std::string_view text) {
  std::string out;
  bool paragraphBreak = false;
  for (std::string_view line : splitLines(text)) {
    line = trimSpace(line);
    if (line.empty()) {
      paragraphBreak = !out.empty();
      continue;
    }
    if (!out.empty()) out += paragraphBreak ? "\n\n" : "\n";
    paragraphBreak = false;
    out += line;
  }
  return out;
}

}  // namespace

std::string toText(std::string_view fragment) {
  if (trimSpace(fragment).empty()) return {};
  // A fragment without markup is text already: its line breaks are meant.
  if (fragment.find('<') == std::string_view::npos && fragment.find('&') == std::string_view::npos)
    return plainText(fragment);
  const DocPtr doc = parseHtmlBytes(fragment, "UTF-8", true);
  if (doc == nullptr) return {};
  TextBuilder b;
  // Without implied <html><body>, a fragment's top-level nodes are the document's children.
  for (const xmlNode* n = doc->children; n != nullptr; n = n->next) {
    if (n->type == XML_TEXT_NODE && n->content) b.text(reinterpret_cast<const char*>(n->content));
    if (n->type != XML_ELEMENT_NODE || isInvisible(n)) continue;
    if (isElement(n, "br")) {
      b.lineBreak();
      continue;
    }
    const bool block = isBlock(n);
    if (block) b.paragraphBreak();
    appendNodeText(n, b, 0);
    if (block) b.paragraphBreak();
  }
  return b.finish();
}

Article readArticle(std::string_view bytes, const char* encoding) {
  Article a;
  if (encoding == nullptr && !declaresCharset(bytes))
    encoding = isValidUtf8(bytes) ? "UTF-8" : "windows-1252";
  const DocPtr doc = parseHtmlBytes(bytes, encoding);
  const xmlNode* root = rootOf(doc.get());
  if (root == nullptr) return a;

  const std::vector<Meta> meta = metas(root);
  const xmlNode* titleNode = nullptr;
  const xmlNode* body = nullptr;
  std::vector<const xmlNode*> candidates, h1s, times, bylines;
  walk(root, [&](const xmlNode* n) {
    if (isElement(n, "title") && titleNode == nullptr) titleNode = n;
    if (isElement(n, "body") && body == nullptr) body = n;
    if (isElement(n, "h1")) h1s.push_back(n);
    if (isElement(n, "time") && !attribute(n, "datetime").empty()) times.push_back(n);
    const std::string itemprop = lower(attribute(n, "itemprop"));
    if (isElement(n, "article") || isElement(n, "main") || lower(attribute(n, "role")) == "main" ||
        itemprop == "articlebody")
      candidates.push_back(n);
    if (lower(attribute(n, "rel")) == "author" || itemprop == "author" ||
        (classNames(n, {"byline", "author"}) && !isElement(n, "body") && !isElement(n, "article") &&
         !isElement(n, "meta") && !isElement(n, "link")))
      bylines.push_back(n);
    if (isElement(n, "link") && lower(attribute(n, "rel")) == "canonical" && a.url.empty()) {
      const std::string href(trimSpace(attribute(n, "href")));
      if (isHttpUrl(href)) a.url = href;
    }
    return !isElement(n, "script") && !isElement(n, "style");
  });

  // Body: the candidate with the most paragraph text, else <body>, else the root.
  const xmlNode* article = nullptr;
  std::vector<std::string> best;
  for (const xmlNode* c : candidates) {
    auto ps = paragraphs(c);
    if (lengthOf(ps) > lengthOf(best)) best = std::move(ps), article = c;
  }
  if (article == nullptr) {
    article = body ? body : root;
    best = paragraphs(article);
  }
  a.body = join(best);

  auto inside = [&](const xmlNode* n) {
    for (const xmlNode* p = n; p != nullptr; p = p->parent)
      if (p == article) return true;
    return false;
  };

  // Title and source.
  std::string pageTitle = titleNode ? inlineText(titleNode) : std::string();
  auto [titleHead, titleTail] = splitTitleTail(pageTitle);
  a.title = metaValue(meta, {"og:title", "twitter:title"});
  if (a.title.empty()) a.title = titleHead;
  if (a.title.empty()) {
    for (const xmlNode* h : h1s)
      if (inside(h)) {
        a.title = inlineText(h);
        break;
      }
    if (a.title.empty() && !h1s.empty()) a.title = inlineText(h1s.front());
  }
  a.source = metaValue(meta, {"og:site_name", "application-name"});
  if (a.source.empty()) a.source = titleTail;

  // Authors.
  for (std::string_view key :
       {"author", "article:author", "dc.creator", "parsely-author", "sailthru.author"}) {
    const std::string v = metaValue(meta, {key});
    if (!v.empty() && !isHttpUrl(v)) {
      a.authors = bylineAuthors(v);
      break;
    }
  }
  if (a.authors.empty()) {
    for (const xmlNode* n : bylines) {
      a.authors = bylineAuthors(inlineText(n));
      if (!a.authors.empty()) break;
    }
  }

  // Date.
  a.published = dateOf(metaValue(meta, {"article:published_time", "datepublished"}));
  if (a.published.empty()) {
    std::vector<const xmlNode*> ordered;
    for (const xmlNode* t : times)
      if (inside(t)) ordered.push_back(t);
    for (const xmlNode* t : times)
      if (!inside(t)) ordered.push_back(t);
    for (const xmlNode* t : ordered) {
      a.published = dateOf(attribute(t, "datetime"));
      if (!a.published.empty()) break;
    }
  }
  if (a.published.empty())
    a.published =
        dateOf(metaValue(meta, {"date", "pubdate", "publishdate", "dc.date", "dc.date.issued",
                                "citation_publication_date", "sailthru.date", "parsely-pub-date"}));

  if (a.url.empty()) {
    const std::string og = metaValue(meta, {"og:url"});
    if (isHttpUrl(og)) a.url = og;
  }

  const std::string lang(trimSpace(attribute(root, "lang")));
  if (!lang.empty() && lang.size() <= 35 && std::all_of(lang.begin(), lang.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-';
      }))
    a.language = lang;
  return a;
}

}  // namespace html

ParseResult parseHtml(std::string_view bytes) {
  if (auto error = checkImportBytes(bytes)) return *error;
  html::Article a = html::readArticle(bytes);
  if (a.body.empty()) return ImportError{0, "no article text found: is this a web page?"};
  Clipping c;
  c.title = std::move(a.title);
  c.source = std::move(a.source);
  c.authors = std::move(a.authors);
  c.published = std::move(a.published);
  c.url = std::move(a.url);
  c.language = std::move(a.language);
  c.body = std::move(a.body);
  if (trimSpace(c.title).empty())
    return ImportError{0, "no title found (no og:title, <title> or <h1>)"};
  auto normal = normalizeClipping(std::move(c));
  if (!normal) return ImportError{0, normal.error()};
  return std::vector<Clipping>{std::move(normal).value()};
}

}  // namespace fieldsync::protocol
