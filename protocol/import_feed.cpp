// Feeds: RSS 2.0 (and 0.9x), RSS 1.0 (RDF) and Atom 1.0, read with libxml2's XML parser in
// recovery mode (real feeds carry stray "&"), without network access, without loading a DTD
// and without expanding entities: a document that declares entities (<!ENTITY) is refused
// before parsing, so no entity can grow a small file into a large one.
//
// One clipping per item (RSS <item>, Atom <entry>), elements matched by local name:
//  - title: <title>, markup stripped; an item without one is titled by the first line of its
//    text;
//  - url: RSS <link>, else a <guid> that is an http(s) URL and not isPermaLink="false"; Atom
//    the <link> whose rel is "alternate" or absent;
//  - source: the channel's or feed's <title>;
//  - authors: dc:creator, RSS <author> ("jane@example.org (Jane Doe)" -> "Jane Doe"), Atom
//    <author><name>, each of them; the feed's authors when an Atom entry has none;
//  - published: RSS <pubDate> (RFC 822) or dc:date; Atom <published>, else <updated>;
//  - body: content:encoded, else <description> (RSS); <content>, else <summary> (Atom); HTML
//    turned into text by the web page rules (import_html.h), Atom xhtml content read as a tree;
//  - language: the channel's <language> (RSS), xml:lang of the feed (Atom);
//  - collection: "<feed title> feed".
// An item with neither a title nor text is refused with its line. A feed without items gives
// "no items".

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "protocol/import_html.h"
#include "protocol/importers.h"
#include "protocol/text.h"

namespace fieldsync::protocol {

namespace {

struct DocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

struct XmlFree {
  void operator()(xmlChar* p) const { xmlFree(p); }
};

constexpr int PARSE_OPTIONS = XML_PARSE_RECOVER | XML_PARSE_NONET | XML_PARSE_NOERROR |
                              XML_PARSE_NOWARNING | XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES;
constexpr std::size_t MAX_TITLE_FROM_TEXT_BYTES = 120;

bool is(const xmlNode* node, std::string_view localName) {
  return node != nullptr && node->type == XML_ELEMENT_NODE && node->name != nullptr &&
         equalsIgnoreCase(reinterpret_cast<const char*>(node->name), localName);
}

bool inNamespace(const xmlNode* node, std::string_view href) {
  return node->ns != nullptr && node->ns->href != nullptr &&
         std::string_view(reinterpret_cast<const char*>(node->ns->href)) == href;
}

constexpr std::string_view DUBLIN_CORE = "http://purl.org/dc/elements/1.1/";
constexpr std::string_view RSS_CONTENT = "http://purl.org/rss/1.0/modules/content/";

std::string content(const xmlNode* node) {
  if (node == nullptr) return {};
  std::unique_ptr<xmlChar, XmlFree> text(xmlNodeGetContent(node));
  return text ? std::string(reinterpret_cast<const char*>(text.get())) : std::string();
}

std::string attribute(const xmlNode* node, const char* name) {
  std::unique_ptr<xmlChar, XmlFree> value(xmlGetProp(node, reinterpret_cast<const xmlChar*>(name)));
  return value ? std::string(reinterpret_cast<const char*>(value.get())) : std::string();
}

const xmlNode* child(const xmlNode* node, std::string_view name) {
  for (const xmlNode* c = node->children; c != nullptr; c = c->next)
    if (is(c, name)) return c;
  return nullptr;
}

// The text of a title-like element on one line.
std::string oneLine(std::string_view s) {
  std::string text = html::toText(s);
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::string out;
  for (char c : text)
    if (!(c == ' ' && !out.empty() && out.back() == ' ')) out += c;
  return std::string(trimSpace(out));
}

// "Fri, 11 Jan 2013 10:00:00 +0000", "2013-01-11T10:00:00Z" -> "2013-01-11".
std::string dateOf(std::string_view value) {
  value = trimSpace(value);
  if (value.size() >= 10 && value[4] == '-' && value[7] == '-')
    if (auto d = parseDate(value.substr(0, 10))) return *d;
  if (const std::size_t comma = value.find(','); comma != std::string_view::npos && comma < 12)
    value = trimSpace(value.substr(comma + 1));
  // Day, month and year: the first three words.
  std::size_t end = 0;
  for (int words = 0; words < 3 && end != std::string_view::npos; ++words) {
    end = value.find(' ', end == 0 ? 0 : end + 1);
    while (end != std::string_view::npos && end + 1 < value.size() && value[end + 1] == ' ') ++end;
  }
  if (auto d = parseDate(value.substr(0, end))) return *d;
  if (auto d = parseDate(value)) return *d;
  return {};
}

// "jane@example.org (Jane Doe)" -> "Jane Doe".
std::string authorName(std::string_view value) {
  value = trimSpace(value);
  const std::size_t open = value.find('(');
  if (open != std::string_view::npos && value.back() == ')' && value.find('@') < open)
    return std::string(trimSpace(value.substr(open + 1, value.size() - open - 2)));
  return std::string(value);
}

bool isHttpUrl(std::string_view s) {
  return startsWithIgnoreCase(s, "http://") || startsWithIgnoreCase(s, "https://");
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

// Atom text constructs: type="xhtml" holds a tree, "html" escaped markup, "text" (the default)
// text.
std::string atomText(const xmlNode* node) {
  if (node == nullptr) return {};
  const std::string type = attribute(node, "type");
  if (equalsIgnoreCase(type, "xhtml")) return html::nodeToText(node);
  if (equalsIgnoreCase(type, "html") || equalsIgnoreCase(type, "text/html"))
    return html::toText(content(node));
  return html::toText(content(node));
}

struct Channel {
  std::string title;
  std::string language;
  std::vector<std::string> authors;  // Atom feed authors, for entries without any
};

Clipping rssItem(const xmlNode* item, const Channel& channel) {
  Clipping c;
  std::string description, encoded;
  for (const xmlNode* n = item->children; n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    if (is(n, "title") && c.title.empty())
      c.title = oneLine(content(n));
    else if (is(n, "link") && c.url.empty() && isHttpUrl(trimSpace(content(n))))
      c.url = std::string(trimSpace(content(n)));
    else if (is(n, "guid") && c.url.empty() && attribute(n, "isPermaLink") != "false" &&
             isHttpUrl(trimSpace(content(n))))
      c.url = std::string(trimSpace(content(n)));
    else if (is(n, "description"))
      description = content(n);
    else if (is(n, "encoded") && inNamespace(n, RSS_CONTENT))
      encoded = content(n);
    else if ((is(n, "creator") && inNamespace(n, DUBLIN_CORE)) || is(n, "author"))
      c.authors.push_back(authorName(content(n)));
    else if ((is(n, "pubdate") || (is(n, "date") && inNamespace(n, DUBLIN_CORE))) &&
             c.published.empty())
      c.published = dateOf(content(n));
  }
  // A link after a guid wins: the guid was only the fallback.
  if (const xmlNode* link = child(item, "link"); link && isHttpUrl(trimSpace(content(link))))
    c.url = std::string(trimSpace(content(link)));
  c.body = html::toText(!trimSpace(encoded).empty() ? encoded : description);
  c.source = channel.title;
  c.language = channel.language;
  return c;
}

Clipping atomEntry(const xmlNode* entry, const Channel& channel) {
  Clipping c;
  const xmlNode* body = nullptr;
  const xmlNode* summary = nullptr;
  std::string updated;
  for (const xmlNode* n = entry->children; n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    if (is(n, "title") && c.title.empty()) {
      std::string t = atomText(n);
      std::replace(t.begin(), t.end(), '\n', ' ');
      c.title = std::string(trimSpace(t));
    } else if (is(n, "link")) {
      const std::string rel = attribute(n, "rel");
      const std::string href(trimSpace(attribute(n, "href")));
      if ((rel.empty() || rel == "alternate") && c.url.empty() && isHttpUrl(href)) c.url = href;
    } else if (is(n, "content") && body == nullptr) {
      body = n;
    } else if (is(n, "summary") && summary == nullptr) {
      summary = n;
    } else if (is(n, "author")) {
      if (const xmlNode* name = child(n, "name")) c.authors.push_back(oneLine(content(name)));
    } else if (is(n, "creator") && inNamespace(n, DUBLIN_CORE)) {
      c.authors.push_back(oneLine(content(n)));
    } else if (is(n, "published") && c.published.empty()) {
      c.published = dateOf(content(n));
    } else if (is(n, "updated") && updated.empty()) {
      updated = dateOf(content(n));
    }
  }
  if (c.published.empty()) c.published = updated;
  if (c.authors.empty()) c.authors = channel.authors;
  c.body = atomText(body);
  if (trimSpace(c.body).empty()) c.body = atomText(summary);
  c.source = channel.title;
  c.language = channel.language;
  return c;
}

bool isLanguageTag(std::string_view s) {
  return !s.empty() && s.size() <= 35 && std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-';
  });
}

}  // namespace

ParseResult parseFeed(std::string_view bytes) {
  if (auto error = checkImportBytes(bytes)) return *error;
  if (bytes.find("<!ENTITY") != std::string_view::npos)
    return ImportError{0, "the feed declares XML entities: refused (no feed needs them)"};
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
  const DocPtr doc(
      xmlReadMemory(bytes.data(), static_cast<int>(bytes.size()), nullptr, nullptr, PARSE_OPTIONS));
  const xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (root == nullptr) return ImportError{0, "not XML: is this a feed?"};

  Channel channel;
  std::vector<const xmlNode*> items;
  const bool atom = is(root, "feed");
  if (atom) {
    if (const xmlNode* t = child(root, "title")) channel.title = oneLine(content(t));
    for (const xmlNode* n = root->children; n != nullptr; n = n->next)
      if (is(n, "author"))
        if (const xmlNode* name = child(n, "name"))
          channel.authors.push_back(oneLine(content(name)));
    std::unique_ptr<xmlChar, XmlFree> lang(xmlNodeGetLang(root));
    if (lang && isLanguageTag(reinterpret_cast<const char*>(lang.get())))
      channel.language = reinterpret_cast<const char*>(lang.get());
    for (const xmlNode* n = root->children; n != nullptr; n = n->next)
      if (is(n, "entry")) items.push_back(n);
  } else if (is(root, "rss") || is(root, "rdf")) {
    const xmlNode* ch = child(root, "channel");
    if (ch == nullptr) return ImportError{0, "an RSS feed without a <channel>"};
    if (const xmlNode* t = child(ch, "title")) channel.title = oneLine(content(t));
    if (const xmlNode* l = child(ch, "language");
        l && isLanguageTag(std::string(trimSpace(content(l)))))
      channel.language = std::string(trimSpace(content(l)));
    // RSS 2.0 items are in the channel; RSS 1.0 items beside it.
    for (const xmlNode* parent : {ch, root})
      for (const xmlNode* n = parent->children; n != nullptr; n = n->next)
        if (is(n, "item")) items.push_back(n);
  } else {
    return ImportError{0, "not a feed: the root element is <" +
                              std::string(reinterpret_cast<const char*>(root->name)).substr(0, 40) +
                              ">, not <rss>, <rdf:RDF> or <feed>"};
  }
  if (items.empty()) return ImportError{0, "no items in the feed"};
  if (items.size() > MAX_FEED_ITEMS)
    return ImportError{0, "more than " + std::to_string(MAX_FEED_ITEMS) + " items"};

  std::vector<Clipping> clippings;
  clippings.reserve(items.size());
  for (const xmlNode* item : items) {
    const auto line = static_cast<std::size_t>(std::max(0L, xmlGetLineNo(item)));
    Clipping c = atom ? atomEntry(item, channel) : rssItem(item, channel);
    if (trimSpace(c.title).empty()) {
      if (trimSpace(c.body).empty())
        return ImportError{line, "an item with neither title nor text"};
      c.title = firstLine(c.body);
    }
    c.collection = channel.title.empty() ? "feed" : channel.title + " feed";
    auto normal = normalizeClipping(std::move(c));
    if (!normal) return ImportError{line, normal.error()};
    clippings.push_back(std::move(normal).value());
  }
  return clippings;
}

}  // namespace fieldsync::protocol
