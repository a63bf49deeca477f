// Listserv digests: a web page of news clippings saved as text, such as the ICRtoP listserv
// (fixtures/icrtop-listserv-2013-01-11.txt). The parser targets the family, not one file.
//
// Lines. A line is blank when it is empty or holds only whitespace and U+00A0 (no-break
// space): the HTML-to-text conversion writes " " for empty paragraphs. Every line is
// trimmed of whitespace and U+00A0 at both ends before anything looks at it; CRLF is LF.
//
// Chrome. Site furniture is dropped wherever it appears: "Member Sign In", "PDF Print
// E-mail", the "e-mail address is being protected from spambots" line, short social lines
// ("Facebook: Join us", "Twitter: ..."), link text that is exactly "Read the full <word>"
// (optional period), "Thanks to ... for compiling this listserv." and "Browse Documents ...".
//
// The parts, top to bottom:
//  1. Header: the lines before the first blank line that follows both a publisher and a date,
//     ended early by a numbered line, a line too long to be a header line or a twelfth line.
//     The digest date is the first line parseDate accepts; the publisher is the first other
//     non-chrome line; other short lines there are chrome we do not know by name.
//  2. Table of contents: groups of numbered lines ("1. ..." or "1.Title"; a number of 1 to 3
//     digits, then a period not followed by a digit, so "1.5 million" is not numbered).
//     Blank lines separate groups, and numbering restarting also starts one. A non-blank,
//     unnumbered line directly under an entry continues it (a wrapped entry). An entry of a
//     regional group reads "Region: Author, Outlet – Title": the region is the prefix before
//     the first colon when that colon comes before the first dash separator (" - ", " – ",
//     " — ") and the prefix looks like a place: at most five words, capitalized apart from
//     connectors (of, and, the, de, d'...), no digits, not a kind of document ("Report",
//     "Statement"...). Without a dash separator there is no region: "Memorandum: Title" is
//     too common a title shape to guess from.
//  3. Articles: a numbered line followed at once (no blank line) by 1 to 5 header lines, the
//     last being the first line parseDate accepts, none blank, numbered or longer than a header
//     line can be; a blank line usually follows the date but is not required. The body runs
//     from there to the next article or the footer. Of the header
//     lines before the date: "Article taken from ..." / "Taken from ..." are dropped (they name
//     a book, not the outlet); "A publication from [the] X" gives the source X; of the others,
//     the last is the source unless a publication line gave it, and the ones before it are
//     authors ("By " dropped, split on " and ", ", ", " & ", "; "). So one line is a source
//     and two are authors then source. Articles are grouped like the table of contents: a
//     number that does not go up starts a new group.
//  4. Editorial pieces: the text between the table of contents and the first article (or the
//     footer when there is no article) has no headings. Runs of 3 or more blank lines separate
//     pieces; shorter runs separate paragraphs. Each piece is a clipping whose source is the
//     publisher, published the digest date, tag kind:editorial, and title its first sentence
//     (a period, ! or ? followed by a space, skipping abbreviations and initials), cut at a
//     word boundary to 120 bytes with "…" when longer. Editorial pieces are only looked for
//     when a table of contents or an article shows the text is a digest: otherwise any text
//     file would import as editorials.
//  5. Footer: from the first "Thanks to ... compiling" / "Browse Documents" line or repetition
//     of the publisher line after the last article, everything is dropped (address lines,
//     contact links).
//  6. Regions reach articles by matching table of contents entries to articles: by group and
//     number when both have the same shape and every pair shares a significant word (title,
//     authors and source against the entry); otherwise each entry goes to the article it
//     shares most significant words with (at least two, or all of a short title's).
//  7. Bodies: paragraphs are runs of non-blank lines, joined with "\n" inside, separated by
//     exactly one blank line. Lines are trimmed at both ends: leading U+00A0 is conversion
//     residue, never indentation that means something.
//
// Every clipping gets collection "<publisher> digest <date>" and no language (a digest does
// not say which it is in). A digest whose table of contents lists more entries than articles
// were found and which has no footer is refused as truncated; a text with no article and no
// editorial piece is refused, and so is one with more than 10,000 of either (no digest is
// that long; a hostile text could be).

#include <algorithm>
#include <array>

#include "protocol/importers.h"
#include "protocol/text.h"

namespace fieldsync::protocol {

namespace {

constexpr std::size_t MAX_HEADER_LINE_BYTES = 300;  // digest header and article header lines
constexpr std::size_t MAX_DIGEST_HEADER_LINES = 12;
constexpr std::size_t MAX_ARTICLE_HEADER_LINES = 5;  // including the date line
constexpr std::size_t MAX_TOC_CONTINUATION_LINES = 3;
constexpr std::size_t BLANK_LINES_BETWEEN_PIECES = 3;
constexpr std::size_t MAX_EDITORIAL_TITLE_BYTES = 120;
constexpr std::size_t MAX_REGION_BYTES = 48;
constexpr std::size_t MAX_REGION_WORDS = 5;
// A digest carries tens of articles. The bounds keep a hostile 64 MiB text of "1. x\n2013\n"
// from making millions of clippings, or trillions of title comparisons.
constexpr std::size_t MAX_DIGEST_CLIPPINGS = 10'000;
constexpr std::size_t MAX_TITLE_COMPARISONS = 100'000;
constexpr std::string_view ELLIPSIS = "\xE2\x80\xA6";  // …

// ---------------------------------------------------------------------------------------------
// Small text helpers (ASCII case only: the markers we look for are English).

char lowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isUpperAscii(char c) { return c >= 'A' && c <= 'Z'; }
bool isLowerAscii(char c) { return c >= 'a' && c <= 'z'; }

bool equalsIgnoreCase(std::string_view a, std::string_view lowerB) {
  if (a.size() != lowerB.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lowerAscii(a[i]) != lowerB[i]) return false;
  return true;
}

bool startsWithIgnoreCase(std::string_view s, std::string_view lowerPrefix) {
  return s.size() >= lowerPrefix.size() &&
         equalsIgnoreCase(s.substr(0, lowerPrefix.size()), lowerPrefix);
}

bool containsIgnoreCase(std::string_view s, std::string_view lowerNeedle) {
  if (lowerNeedle.size() > s.size()) return false;
  for (std::size_t i = 0; i + lowerNeedle.size() <= s.size(); ++i)
    if (equalsIgnoreCase(s.substr(i, lowerNeedle.size()), lowerNeedle)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Line kinds

struct Numbered {
  unsigned number = 0;
  std::string_view title;
};

// "1. Title", "3.Title" -> {1, "Title"}. Not "1.5 million", not "2013. ...".
std::optional<Numbered> numberedLine(std::string_view t) {
  std::size_t digits = 0;
  while (digits < t.size() && digits < 4 && isDigit(t[digits])) ++digits;
  if (digits == 0 || digits > 3 || digits >= t.size() || t[digits] != '.') return std::nullopt;
  std::string_view rest = t.substr(digits + 1);
  if (!rest.empty() && isDigit(rest.front())) return std::nullopt;
  rest = trimSpace(rest);
  unsigned number = 0;
  for (std::size_t i = 0; i < digits; ++i) number = number * 10 + unsigned(t[i] - '0');
  if (rest.empty() || number == 0) return std::nullopt;
  return Numbered{number, rest};
}

bool isThanksLine(std::string_view t) {
  return startsWithIgnoreCase(t, "thanks to ") && containsIgnoreCase(t, "for compiling");
}

bool isBrowseLine(std::string_view t) { return startsWithIgnoreCase(t, "browse documents"); }

// "Read the full post", "Read the full report." — link text whose link is gone.
bool isReadTheFullLine(std::string_view t) {
  constexpr std::string_view PREFIX = "read the full ";
  if (!startsWithIgnoreCase(t, PREFIX)) return false;
  std::string_view word = t.substr(PREFIX.size());
  if (!word.empty() && word.back() == '.') word.remove_suffix(1);
  return !word.empty() &&
         std::all_of(word.begin(), word.end(), [](char c) { return isLowerAscii(lowerAscii(c)); });
}

bool isSocialLine(std::string_view t) {
  constexpr std::array<std::string_view, 7> NETWORKS = {
      "facebook:", "twitter:", "youtube:", "linkedin:", "instagram:", "flickr:", "rss:"};
  if (t.size() > 80) return false;
  return std::any_of(NETWORKS.begin(), NETWORKS.end(),
                     [&](std::string_view n) { return startsWithIgnoreCase(t, n); });
}

// Site furniture that never belongs in a clipping, wherever it appears.
bool isChromeLine(std::string_view t) {
  return equalsIgnoreCase(t, "member sign in") || startsWithIgnoreCase(t, "pdf print") ||
         containsIgnoreCase(t, "e-mail address is being protected from spambots") ||
         isSocialLine(t) || isReadTheFullLine(t) || isThanksLine(t) || isBrowseLine(t);
}

// ---------------------------------------------------------------------------------------------
// The parts of a digest

struct Lines {
  std::vector<std::string_view> text;  // trimmed
  std::size_t size() const { return text.size(); }
  bool blank(std::size_t i) const { return text[i].empty(); }
};

struct DigestHeader {
  std::string publisher;
  std::string date;
  std::size_t end = 0;  // first line after the header
};

DigestHeader readHeader(const Lines& lines) {
  DigestHeader h;
  std::size_t nonBlank = 0;
  std::size_t i = 0;
  for (; i < lines.size(); ++i) {
    const std::string_view t = lines.text[i];
    if (t.empty()) {
      if (!h.publisher.empty() && !h.date.empty()) break;
      continue;
    }
    if (numberedLine(t) || t.size() > MAX_HEADER_LINE_BYTES || ++nonBlank > MAX_DIGEST_HEADER_LINES)
      break;
    if (isChromeLine(t)) continue;
    if (h.date.empty()) {
      if (auto date = parseDate(t)) {
        h.date = *date;
        continue;
      }
    }
    if (h.publisher.empty()) h.publisher = std::string(t);
    // Other short lines in the header are chrome we do not know by name.
  }
  h.end = i;
  return h;
}

struct ArticleHead {
  std::size_t line = 0;  // the numbered line
  std::size_t dateLine = 0;
  unsigned number = 0;
  std::string_view title;
  std::string published;
};

std::optional<ArticleHead> articleAt(const Lines& lines, std::size_t i) {
  const auto numbered = numberedLine(lines.text[i]);
  if (!numbered) return std::nullopt;
  for (std::size_t k = 1; k <= MAX_ARTICLE_HEADER_LINES && i + k < lines.size(); ++k) {
    const std::string_view t = lines.text[i + k];
    if (t.empty() || t.size() > MAX_HEADER_LINE_BYTES || numberedLine(t)) return std::nullopt;
    if (auto date = parseDate(t))
      return ArticleHead{i, i + k, numbered->number, numbered->title, *date};
  }
  return std::nullopt;
}

struct TocEntry {
  std::size_t group = 0;
  std::string text;
  std::string region;  // slug, empty when the entry names none
};

std::string slugOf(std::string_view text) {
  std::string slug;
  for (const std::string& term : searchTerms(text)) {
    if (!slug.empty()) slug += '-';
    slug += term;
  }
  return slug;
}

// "Democratic Republic of Congo: Human Rights Watch – Ending..." -> "democratic-republic-of-
// congo"; empty when the entry does not start with a place.
std::string regionOf(std::string_view entry) {
  const std::size_t colon = entry.find(':');
  if (colon == std::string_view::npos) return {};
  std::size_t dash = std::string_view::npos;
  for (std::string_view separator : {" - ", " \xE2\x80\x93 ", " \xE2\x80\x94 "})
    dash = std::min(dash, entry.find(separator));
  if (dash == std::string_view::npos || colon > dash) return {};

  const std::string_view prefix = trimSpace(entry.substr(0, colon));
  if (prefix.empty() || prefix.size() > MAX_REGION_BYTES) return {};
  constexpr std::array<std::string_view, 12> CONNECTORS = {"of",  "and", "the", "de", "du", "des",
                                                           "del", "la",  "le",  "et", "y",  "da"};
  constexpr std::array<std::string_view, 16> NOT_PLACES = {
      "report",    "statement", "press release", "op-ed",     "opinion", "interview",
      "video",     "audio",     "podcast",       "blog",      "update",  "event",
      "editorial", "news",      "analysis",      "commentary"};
  for (std::string_view kind : NOT_PLACES)
    if (equalsIgnoreCase(prefix, kind)) return {};
  std::size_t words = 0;
  for (std::size_t i = 0; i < prefix.size();) {
    const std::size_t end = std::min(prefix.find(' ', i), prefix.size());
    const std::string_view word = prefix.substr(i, end - i);
    i = end + 1;
    if (word.empty()) continue;
    if (++words > MAX_REGION_WORDS) return {};
    if (std::any_of(word.begin(), word.end(), isDigit)) return {};
    const bool capitalized =
        isUpperAscii(word.front()) || static_cast<unsigned char>(word.front()) >= 0x80;
    const bool connector =
        std::find(CONNECTORS.begin(), CONNECTORS.end(), word) != CONNECTORS.end() ||
        word.starts_with("d'") || word.starts_with("d\xE2\x80\x99") || word.starts_with("l'") ||
        word.starts_with("l\xE2\x80\x99");
    if (words == 1 ? !capitalized : !(capitalized || connector)) return {};
  }
  return slugOf(prefix);
}

struct Toc {
  std::vector<TocEntry> entries;
  std::size_t end = 0;  // first line after it
};

Toc readToc(const Lines& lines, std::size_t begin, std::size_t firstArticle) {
  Toc toc;
  std::size_t groups = 0;
  unsigned lastNumber = 0;
  bool underEntry = false;  // the previous line was an entry or its continuation
  std::size_t continuations = 0;
  std::size_t i = begin;
  for (; i < firstArticle; ++i) {
    const std::string_view t = lines.text[i];
    if (t.empty()) {
      underEntry = false;
      continue;
    }
    if (isChromeLine(t)) continue;
    if (const auto numbered = numberedLine(t)) {
      if (!underEntry || numbered->number <= lastNumber) ++groups;
      toc.entries.push_back({groups - 1, std::string(numbered->title), {}});
      lastNumber = numbered->number;
      underEntry = true;
      continuations = 0;
      continue;
    }
    if (underEntry && t.size() <= MAX_HEADER_LINE_BYTES &&
        continuations++ < MAX_TOC_CONTINUATION_LINES) {
      toc.entries.back().text += ' ';
      toc.entries.back().text += t;
      continue;
    }
    break;
  }
  // Start the next part at its first non-blank line.
  toc.end = toc.entries.empty() ? begin : i;
  for (TocEntry& entry : toc.entries) entry.region = regionOf(entry.text);
  return toc;
}

// Paragraphs of lines [begin, end): runs of non-blank lines joined with "\n", separated by one
// blank line; chrome lines dropped.
std::string bodyOf(const Lines& lines, std::size_t begin, std::size_t end) {
  std::string body;
  bool paragraphBreak = false;
  for (std::size_t i = begin; i < end; ++i) {
    const std::string_view t = lines.text[i];
    if (t.empty()) {
      paragraphBreak = !body.empty();
      continue;
    }
    if (isChromeLine(t)) continue;
    if (!body.empty()) body += paragraphBreak ? "\n\n" : "\n";
    paragraphBreak = false;
    body += t;
  }
  return body;
}

bool isAbbreviation(std::string_view word) {
  constexpr std::array<std::string_view, 28> KNOWN = {
      "mr",  "mrs",  "ms",   "dr",  "prof", "st",  "no",   "vs",    "etc", "gen",
      "sen", "rep",  "gov",  "lt",  "col",  "jr",  "sr",   "mt",    "inc", "ltd",
      "co",  "corp", "dept", "vol", "pp",   "art", "para", "approx"};
  if (word.empty()) return false;
  if (word.size() == 1 && isUpperAscii(word.front())) return true;  // an initial: "J."
  if (word.find('.') != std::string_view::npos) return true;        // "U.N", "e.g"
  return std::any_of(KNOWN.begin(), KNOWN.end(),
                     [&](std::string_view k) { return equalsIgnoreCase(word, k); });
}

// The first sentence of a paragraph, or all of it.
std::string_view firstSentence(std::string_view p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c != '.' && c != '!' && c != '?') continue;
    std::size_t j = i + 1;
    while (j < p.size()) {  // closing quotes and brackets stay with the sentence
      if (p[j] == '"' || p[j] == '\'' || p[j] == ')') {
        ++j;
      } else if (p.substr(j).starts_with("\xE2\x80\x9D") ||
                 p.substr(j).starts_with("\xE2\x80\x99")) {
        j += 3;
      } else {
        break;
      }
    }
    if (j < p.size() && p[j] != ' ' && p[j] != '\n') continue;
    if (j < p.size() && j + 1 < p.size() && isLowerAscii(p[j + 1])) continue;  // "e.g. the"
    if (c == '.') {
      std::size_t w = i;
      while (w > 0 && p[w - 1] != ' ' && p[w - 1] != '\n' && p[w - 1] != '(') --w;
      if (isAbbreviation(p.substr(w, i - w))) continue;
    }
    return p.substr(0, j);
  }
  return p;
}

std::string editorialTitle(std::string_view body) {
  std::string_view paragraph = body.substr(0, body.find("\n\n"));
  std::string sentence(firstSentence(paragraph));
  std::replace(sentence.begin(), sentence.end(), '\n', ' ');
  if (sentence.size() <= MAX_EDITORIAL_TITLE_BYTES) return sentence;
  const std::size_t limit = MAX_EDITORIAL_TITLE_BYTES - ELLIPSIS.size();
  std::size_t cut = sentence.rfind(' ', limit);
  if (cut == std::string::npos || cut == 0) {
    cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(sentence[cut]) & 0xC0u) == 0x80u) --cut;
  }
  sentence.resize(cut);
  while (!sentence.empty() && (sentence.back() == ' ' || sentence.back() == ',' ||
                               sentence.back() == ';' || sentence.back() == ':'))
    sentence.pop_back();
  return sentence + std::string(ELLIPSIS);
}

// "Andrea Lari and Alice Thomas" -> two authors; "By David Kaye" -> "David Kaye".
void appendAuthors(std::string_view line, std::vector<std::string>& authors) {
  if (startsWithIgnoreCase(line, "by ")) line.remove_prefix(3);
  while (!line.empty()) {
    std::size_t cut = std::string_view::npos;
    std::size_t skip = 0;
    for (std::string_view separator : {" and ", ", ", " & ", "; "}) {
      const std::size_t at = line.find(separator);
      if (at < cut) cut = at, skip = separator.size();
    }
    const std::string_view name = trimSpace(line.substr(0, cut));
    if (!name.empty()) authors.emplace_back(name);
    if (cut == std::string_view::npos) break;
    line.remove_prefix(cut + skip);
  }
}

// The header lines between an article's title and its date -> source and authors.
void readArticleHeader(const Lines& lines, const ArticleHead& head, Clipping& c) {
  std::vector<std::string_view> rest;
  bool sourceFromPublication = false;
  for (std::size_t i = head.line + 1; i < head.dateLine; ++i) {
    const std::string_view t = lines.text[i];
    if (startsWithIgnoreCase(t, "article taken from") || startsWithIgnoreCase(t, "taken from"))
      continue;
    constexpr std::string_view PUBLICATION = "a publication from ";
    if (startsWithIgnoreCase(t, PUBLICATION)) {
      std::string_view source = t.substr(PUBLICATION.size());
      if (source.starts_with("the ")) source.remove_prefix(4);
      c.source = std::string(trimSpace(source));
      sourceFromPublication = true;
      continue;
    }
    rest.push_back(t);
  }
  if (!sourceFromPublication && !rest.empty()) {
    c.source = std::string(rest.back());
    rest.pop_back();
  }
  for (std::string_view line : rest) appendAuthors(line, c.authors);
}

// Words that say what an entry is about: three bytes or more, not the commonest.
std::vector<std::string> significantTerms(std::string_view text) {
  constexpr std::array<std::string_view, 16> STOP = {"the",  "and", "for",  "from", "with", "that",
                                                     "this", "are", "was",  "its",  "into", "about",
                                                     "new",  "has", "have", "not"};
  std::vector<std::string> terms;
  for (std::string& t : searchTerms(text))
    if (t.size() >= 3 && std::find(STOP.begin(), STOP.end(), t) == STOP.end())
      terms.push_back(std::move(t));
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  return terms;
}

std::size_t sharedCount(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::size_t n = 0;
  for (auto i = a.begin(), j = b.begin(); i != a.end() && j != b.end();) {
    if (*i < *j) {
      ++i;
    } else if (*j < *i) {
      ++j;
    } else {
      ++n, ++i, ++j;
    }
  }
  return n;
}

struct Article {
  ArticleHead head;
  std::size_t group = 0;
  Clipping clipping;
};

// For each article, the index of its table of contents entry, or npos.
std::vector<std::size_t> matchToc(const std::vector<TocEntry>& toc,
                                  const std::vector<Article>& articles) {
  constexpr std::size_t NONE = std::string::npos;
  std::vector<std::size_t> match(articles.size(), NONE);
  if (toc.empty() || articles.empty()) return match;

  std::vector<std::vector<std::string>> tocTerms, titleTerms, articleTerms;
  for (const TocEntry& e : toc) tocTerms.push_back(significantTerms(e.text));
  for (const Article& a : articles) {
    std::string all = a.clipping.title + " " + a.clipping.source;
    for (const std::string& author : a.clipping.authors) all += " " + author;
    titleTerms.push_back(significantTerms(a.clipping.title));
    articleTerms.push_back(significantTerms(all));
  }

  // By position, when the table and the articles have the same shape.
  bool sameShape = toc.size() == articles.size();
  for (std::size_t k = 0; sameShape && k < toc.size(); ++k)
    sameShape = toc[k].group == articles[k].group && sharedCount(tocTerms[k], articleTerms[k]) > 0;
  if (sameShape) {
    for (std::size_t k = 0; k < articles.size(); ++k) match[k] = k;
    return match;
  }

  // Otherwise by overlap, best pairs first.
  if (toc.size() * articles.size() > MAX_TITLE_COMPARISONS) return match;
  struct Pair {
    std::size_t shared, entry, article;
  };
  std::vector<Pair> pairs;
  for (std::size_t e = 0; e < toc.size(); ++e) {
    for (std::size_t a = 0; a < articles.size(); ++a) {
      const std::size_t shared = sharedCount(tocTerms[e], articleTerms[a]);
      const std::size_t titleShared = sharedCount(tocTerms[e], titleTerms[a]);
      const bool enough = shared >= 2 || (titleShared > 0 && titleShared == titleTerms[a].size());
      if (enough) pairs.push_back({shared, e, a});
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const Pair& x, const Pair& y) { return x.shared > y.shared; });
  std::vector<bool> entryUsed(toc.size(), false);
  for (const Pair& p : pairs) {
    if (entryUsed[p.entry] || match[p.article] != NONE) continue;
    entryUsed[p.entry] = true;
    match[p.article] = p.entry;
  }
  return match;
}

}  // namespace

ParseResult parseDigest(std::string_view text) {
  if (auto error = checkImportText(text)) return *error;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);

  Lines lines;
  lines.text = splitLines(text);
  for (std::string_view& line : lines.text) line = trimSpace(line);
  const std::size_t n = lines.size();

  const DigestHeader header = readHeader(lines);

  std::vector<Article> articles;
  for (std::size_t i = header.end; i < n; ++i) {
    if (auto head = articleAt(lines, i)) {
      i = head->dateLine;
      articles.push_back({std::move(*head), 0, {}});
      if (articles.size() > MAX_DIGEST_CLIPPINGS)
        return ImportError{articles.back().head.line + 1,
                           "more than 10000 articles: not a listserv digest"};
    }
  }
  const std::size_t firstArticle = articles.empty() ? n : articles.front().head.line;
  const Toc toc = readToc(lines, header.end, firstArticle);

  // The footer starts after the last article (or the table of contents).
  const std::size_t footerSearch = articles.empty() ? toc.end : articles.back().head.dateLine + 1;
  std::size_t footer = n;
  bool footerFound = false;
  for (std::size_t i = footerSearch; i < n; ++i) {
    const std::string_view t = lines.text[i];
    if (isThanksLine(t) || isBrowseLine(t) ||
        (!header.publisher.empty() && t == header.publisher)) {
      footer = i;
      footerFound = true;
      break;
    }
  }

  if (toc.entries.empty() && articles.empty())
    return ImportError{0, "no clippings found: is this a listserv digest?"};

  std::string collection = header.publisher;
  collection += collection.empty() ? "digest" : " digest";
  if (!header.date.empty()) collection += " " + header.date;

  struct Found {
    std::size_t line;
    Clipping clipping;
  };
  std::vector<Found> found;

  // Editorial pieces: between the table of contents and the first article.
  const std::size_t editorialEnd = std::min(firstArticle, footer);
  for (std::size_t i = toc.end; i < editorialEnd;) {
    while (i < editorialEnd && (lines.blank(i) || isChromeLine(lines.text[i]))) ++i;
    if (i == editorialEnd) break;
    const std::size_t begin = i;
    std::size_t blanks = 0;
    std::size_t end = i;
    for (; i < editorialEnd; ++i) {
      if (lines.blank(i)) {
        if (++blanks >= BLANK_LINES_BETWEEN_PIECES) break;
      } else {
        blanks = 0;
        end = i + 1;
      }
    }
    Clipping c;
    c.body = bodyOf(lines, begin, end);
    if (c.body.empty()) continue;
    c.title = editorialTitle(c.body);
    c.source = header.publisher;
    c.published = header.date;
    c.tags = {"kind:editorial"};
    c.collection = collection;
    found.push_back({begin, std::move(c)});
    if (found.size() > MAX_DIGEST_CLIPPINGS)
      return ImportError{begin + 1, "more than 10000 editorial pieces: not a listserv digest"};
  }

  // Articles.
  unsigned lastNumber = 0;
  std::size_t group = 0;
  for (std::size_t k = 0; k < articles.size(); ++k) {
    Article& a = articles[k];
    if (k > 0 && a.head.number <= lastNumber) ++group;
    lastNumber = a.head.number;
    a.group = group;
    const std::size_t end = k + 1 < articles.size() ? articles[k + 1].head.line : footer;
    Clipping& c = a.clipping;
    c.title = std::string(a.head.title);
    readArticleHeader(lines, a.head, c);
    c.published = a.head.published;
    c.body = bodyOf(lines, a.head.dateLine + 1, end);
    c.collection = collection;
  }
  const std::vector<std::size_t> match = matchToc(toc.entries, articles);
  for (std::size_t k = 0; k < articles.size(); ++k) {
    if (match[k] != std::string::npos && !toc.entries[match[k]].region.empty())
      articles[k].clipping.tags.push_back("region:" + toc.entries[match[k]].region);
    found.push_back({articles[k].head.line, std::move(articles[k].clipping)});
  }

  if (found.empty()) return ImportError{0, "no clippings found: is this a listserv digest?"};
  if (!footerFound && articles.size() < toc.entries.size())
    return ImportError{articles.empty() ? toc.end + 1 : articles.back().head.line + 1,
                       "the table of contents lists " + std::to_string(toc.entries.size()) +
                           " items but only " + std::to_string(articles.size()) +
                           " articles follow, and the footer is missing: truncated digest?"};
  std::stable_sort(found.begin(), found.end(),
                   [](const Found& x, const Found& y) { return x.line < y.line; });
  std::vector<Clipping> clippings;
  clippings.reserve(found.size());
  for (Found& f : found) {
    auto normal = normalizeClipping(std::move(f.clipping));
    if (!normal) return ImportError{f.line + 1, normal.error()};
    clippings.push_back(std::move(normal).value());
  }
  return clippings;
}

}  // namespace fieldsync::protocol
