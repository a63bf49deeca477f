#pragma once
// HTML to clipping fields, shared by the web page, e-mail and feed importers. Internal to
// protocol/: libxml2's types appear here only as forward declarations, and only
// import_*.cpp include this header.
// Threads: any; nothing is shared between calls (libxml2 is initialized once, thread-safely).
// Lifetime: results are copies; nothing points into the input.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

struct _xmlNode;

namespace fieldsync::protocol::html {

/// What a web page says about its article. Fields not found are empty.
struct Article {
  std::string title;
  std::string source;
  std::vector<std::string> authors;
  std::string published;  // ISO 8601 at the precision found
  std::string url;        // the canonical URL, http(s) only
  std::string language;   // <html lang>, when it looks like a BCP 47 tag
  std::string body;       // paragraphs separated by one blank line
};

/// Reads a whole page: bytes in encoding when given (what the page declares is then ignored),
/// else in the charset its <meta> declares, else UTF-8 when valid, else windows-1252. Never
/// fails: a page that is not HTML gives empty fields. Rules: import_html.cpp.
Article readArticle(std::string_view bytes, const char* encoding = nullptr);

/// The text of an HTML fragment already in UTF-8 (a feed item's description, an e-mail's
/// HTML part): block elements become paragraphs separated by one blank line, <br> a line
/// break; scripts, styles and similar are dropped, entities decoded, whitespace collapsed.
std::string toText(std::string_view html);

/// The same for a node of a parsed XML or HTML tree (an Atom xhtml content element).
std::string nodeToText(const _xmlNode* node);

/// Deepest element nesting the walkers follow; deeper content is ignored.
inline constexpr int MAX_DEPTH = 200;

// ASCII case rules the importers share (header names, tag and attribute names, markers).
inline char lowerAscii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

}  // namespace fieldsync::protocol::html
