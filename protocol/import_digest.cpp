// Listserv digests: the ICRtoP listserv's mailings of 2009-2016, saved from the web page as
// text or received as plain e-mail text (fixtures/icrtop-listserv-2013-01-11.txt and the
// corpus of other years' layouts in fixtures/digests/, which a test scores field by field).
// The parser targets the family through structural cues, not one file.
//
// Lines. A line is blank when it is empty or holds only whitespace and U+00A0 (no-break
// space): the HTML-to-text conversion writes " " for empty paragraphs. A rule ("-----",
// "=====", "*****") reads as a blank line. Every line is trimmed of whitespace and U+00A0 at
// both ends before anything looks at it (whether it was indented is kept, for wrapped
// contents entries); CRLF is LF. An e-mail signature line ("-- ") ends the digest.
//
// Chrome. Site furniture is dropped wherever it appears: "Member Sign In", "PDF Print
// E-mail", the "e-mail address is being protected from spambots" line, short social lines
// ("Facebook: Join us", "Twitter: ..."), link text "Read the full <word>[ here][.]" (its link,
// on the line after a colon or alone on the next line, becomes the article's url),
// "Thanks to ... for compiling this listserv." and "Browse Documents ...".
//
// Dates: parseDate's forms ("2014-03-10", "10 March 2014", "March 10, 2014", "Mon, 10 Mar
// 2014"), an e-mail Date: header's time dropped, and "10/03/2014": day first, unless some
// date of the digest can only be month first (03/25/2014) and none only day first.
//
// The parts, top to bottom:
//  1. Header: the lines before the first blank line that follows both a publisher and a date,
//     ended early by a numbered line, a contents heading, a line too long to be a header line
//     or a twelfth line. Mail header lines (From:, Subject: ...) are skipped, Date: gives a
//     date. The digest date is the most precise date of the header, also from a line's tail
//     ("ICRtoP Listserv - 15 February 2010"); the publisher is the first other non-chrome
//     line that does not name the mailing ("... Listserv", "newsletter", "digest"), else that
//     line; other short lines there are chrome we do not know by name.
//  2. Table of contents, in one of two shapes:
//     - under a heading ("In this Issue:", "Contents", "=== CONTENTS ==="): numbered ("1.",
//       "IV."), or bulleted ("* ", "- ", "• ") entries; an indented or lower-case line under an
//       entry continues it; a short unmarked line heads the entries under it ("Kenya",
//       "Thematic", "Upcoming events"). It ends at a blank line not followed by an entry.
//     - without one: groups of numbered lines ("1. ..." or "1.Title"; a number of 1 to 3
//       digits, then a period not followed by a digit, so "1.5 million" is not numbered).
//       Blank lines separate groups, and numbering restarting also starts one. A non-blank,
//       unnumbered line directly under an entry continues it (a wrapped entry).
//     An entry reading "Region: Author, Outlet – Title" names a region: the prefix before
//     the first colon when that colon comes before the first dash separator (" - ", " – ",
//     " — ") and the prefix looks like a place: at most five words, capitalized apart from
//     connectors (of, and, the, de, d'...), no digits, not a kind of document ("Report",
//     "Statement"...). Without a dash separator there is no region: "Memorandum: Title" is
//     too common a title shape to guess from. Under a headed contents list, an entry with no
//     region of its own takes its group heading's places (below). An entry that is only a
//     place ("Syria") or the events names a section, not an article.
//  3. Articles: a title line, numbered or standing after a blank line, followed at once (no
//     blank line) by 1 to 6 header lines, the last being the first line that gives a date:
//     the whole line, a "Date:" label, or the tail after " - ", " | " or ", " when it names
//     a month ("Human Rights Watch - 14 January 2016"). None blank, numbered or longer than
//     a header line can be. Lines starting in lower case right under the title continue it
//     (a title wrapped at 72 columns). A blank line usually follows the date but is not
//     required. The body runs from there to the next article, section heading or the footer.
//     Of the header lines before the date (and the rest of the date's line): "Source:",
//     "Author:", "By:", "Link:" labels say what they are; "By NAME, OUTLET" gives authors and
//     the source after its last comma (unless that is another name); "Article taken from
//     ..." / "Taken from ..." are dropped (they name a book, not the outlet); "A publication
//     from [the] X" gives the source X; of the others, the last is the source unless
//     something above gave it, and the ones before it are authors ("By " dropped, split on
//     " and ", ", ", " & ", "; "). So one line is a source and two are authors then source,
//     except that two or more lines that all name organisations (words such as
//     International, Watch, Centre, Group, Times, or an acronym) and no person are a joint
//     report: source "A; B" (the schema has one source; both outlets stay searchable).
//     Articles are grouped like the table of contents: a number that does not go up, or a
//     section heading, starts a new group. A text whose only article is one unnumbered title
//     and which has no table of contents is no digest (a forwarded article: the e-mail
//     importer asks this parser whether a message is a digest).
//  4. Section headings: a short line (at most 8 words and 80 bytes, no closing period)
//     between blank lines or rules (the events heading may have its list right under it), after the
//     contents, that is decorated ("*** SYRIA ***"), numbered ("1. LIBYA", "III. UKRAINE"), in
//     capitals, a place name or the events heading. A heading naming places (a known country or
//     region: "Sudan and South Sudan" is two, "Burma/Myanmar" one) tags every article under it
//     until the next heading; any other heading ends the region. An events heading ("Upcoming
//     events", "Events") starts a section that is not imported: announcements of meetings are not
//     clippings.
//  5. Editorial pieces: the text between the table of contents and the first article or
//     section heading (or the footer when there is neither) has no headings. Runs of 3 or
//     more blank lines separate pieces; shorter runs separate paragraphs. Each piece is a
//     clipping whose source is the publisher, published the digest date, tag kind:editorial,
//     and title its first sentence (a period, ! or ? followed by a space, skipping
//     abbreviations and initials; a greeting paragraph such as "Dear members," is passed
//     over), cut at a word boundary to 120 bytes with "…" when longer. Editorial pieces are
//     only looked for when a table of contents or an article shows the text is a digest:
//     otherwise any text file would import as editorials.
//  6. Footer: from the first "Thanks to ... compiling" / "Browse Documents" line or repetition
//     of the publisher line after the last article, everything is dropped (address lines,
//     contact links); so is everything from an e-mail signature line on.
//  7. Regions reach articles from their section heading; otherwise by matching table of
//     contents entries to articles: by group and number when both have the same shape and
//     every pair shares a significant word (title, authors and source against the entry);
//     otherwise each entry goes to the article it shares most significant words with (at
//     least two, or all of a short title's).
//  8. Bodies: paragraphs are runs of non-blank lines, joined with "\n" inside, separated by
//     exactly one blank line. Lines are trimmed at both ends: leading U+00A0 is conversion
//     residue, never indentation that means something.
//
// Every clipping gets collection "<publisher> digest <date>" and no language (a digest does
// not say which it is in). A digest whose table of contents lists more articles than were
// found and which has no footer is refused as truncated; a text with no article and no
// editorial piece is refused, and so is one with more than 10,000 of either (no digest is
// that long; a hostile text could be).

#include <algorithm>
#include <array>
#include <cstdint>

#include "protocol/importers.h"
#include "protocol/text.h"

namespace fieldsync::protocol {

namespace {

constexpr std::size_t MAX_HEADER_LINE_BYTES = 300;  // digest header and article header lines
constexpr std::size_t MAX_DIGEST_HEADER_LINES = 12;
constexpr std::size_t MAX_ARTICLE_HEADER_LINES = 6;  // including the date line
constexpr std::size_t MAX_TITLE_CONTINUATION_LINES = 2;
constexpr std::size_t MAX_TOC_CONTINUATION_LINES = 3;
constexpr std::size_t MAX_HEADING_BYTES = 80;
constexpr std::size_t MAX_HEADING_WORDS = 8;
constexpr std::size_t BLANK_LINES_BETWEEN_PIECES = 3;
constexpr std::size_t MAX_EDITORIAL_TITLE_BYTES = 120;
constexpr std::size_t MAX_SALUTATION_BYTES = 60;
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

std::size_t wordCount(std::string_view s) {
  std::size_t words = 0;
  bool inWord = false;
  for (char c : s) {
    const bool space = c == ' ' || c == '\t';
    if (!space && !inWord) ++words;
    inWord = !space;
  }
  return words;
}

bool isUrl(std::string_view t) {
  return (startsWithIgnoreCase(t, "http://") || startsWithIgnoreCase(t, "https://")) &&
         t.find(' ') == std::string_view::npos;
}

// ---------------------------------------------------------------------------------------------
// Dates

// Whether d/m/yyyy dates in this digest put the day first: yes unless one of them can only be
// read month first (a second number over 12) and none can only be read day first.
struct DateStyle {
  bool dayFirst = true;
};

struct SlashDate {
  int first = 0, second = 0, year = 0;
};

std::optional<SlashDate> slashDate(std::string_view t) {
  SlashDate d;
  std::size_t i = 0;
  const auto number = [&](std::size_t minDigits, std::size_t maxDigits) -> int {
    std::size_t digits = 0;
    int value = 0;
    while (i < t.size() && isDigit(t[i]) && digits < maxDigits + 1) {
      value = value * 10 + (t[i] - '0');
      ++i, ++digits;
    }
    return digits >= minDigits && digits <= maxDigits ? value : -1;
  };
  d.first = number(1, 2);
  if (d.first < 0 || i >= t.size() || (t[i] != '/' && t[i] != '.')) return std::nullopt;
  const char separator = t[i++];
  d.second = number(1, 2);
  if (d.second < 0 || i >= t.size() || t[i] != separator) return std::nullopt;
  ++i;
  d.year = number(4, 4);
  if (d.year < 0 || i != t.size()) return std::nullopt;
  return d;
}

DateStyle dateStyleOf(const std::vector<std::string_view>& lines) {
  bool dayFirstSeen = false, monthFirstSeen = false;
  for (std::string_view line : lines) {
    if (line.find('/') == std::string_view::npos) continue;
    for (std::size_t i = 0; i < line.size();) {
      const std::size_t end = std::min(line.find(' ', i), line.size());
      std::string_view word = line.substr(i, end - i);
      i = end + 1;
      while (!word.empty() && (word.back() == ',' || word.back() == ':')) word.remove_suffix(1);
      if (const auto d = slashDate(word)) {
        dayFirstSeen = dayFirstSeen || d->first > 12;
        monthFirstSeen = monthFirstSeen || d->second > 12;
      }
    }
  }
  return {!monthFirstSeen || dayFirstSeen};
}

// A date as digests write it -> ISO 8601. parseDate's forms, plus "10/03/2014" (day first
// unless the digest's other dates say otherwise) and an e-mail's "Mon, 10 Mar 2014 09:12:44
// +0000" (the time dropped).
std::optional<std::string> digestDate(std::string_view t, const DateStyle& style) {
  t = trimSpace(t);
  if (auto date = parseDate(t)) return date;
  if (const auto d = slashDate(t)) {
    const int day = style.dayFirst ? d->first : d->second;
    const int month = style.dayFirst ? d->second : d->first;
    if (day < 1 || month < 1 || month > 12) return std::nullopt;
    std::string iso = std::to_string(d->year) + "-" + (month < 10 ? "0" : "") +
                      std::to_string(month) + "-" + (day < 10 ? "0" : "") + std::to_string(day);
    return parseDate(iso);  // checks the day exists
  }
  // An e-mail date: cut at the time ("10:42:07").
  for (std::size_t i = 0; i + 3 < t.size(); ++i) {
    if (t[i] == ' ' && isDigit(t[i + 1]) && (t[i + 2] == ':' || t[i + 3] == ':'))
      return parseDate(t.substr(0, i));
  }
  return std::nullopt;
}

// "Date: 10 March 2014", "Published: ..." -> the value; empty when the line has no such label.
std::optional<std::string_view> labelled(std::string_view t,
                                         std::initializer_list<std::string_view> labels) {
  for (std::string_view label : labels) {
    if (startsWithIgnoreCase(t, label) && t.size() > label.size() && t[label.size()] == ':')
      return trimSpace(t.substr(label.size() + 1));
  }
  return std::nullopt;
}

struct HeaderDate {
  std::string date;
  std::string_view
      rest;  // what the line says besides the date ("Reuters" of "Reuters, 2014-01-02")
};

// The date an article header line gives: the whole line, a "Date:" label, or a date after the
// last " - ", " | " or ", " of a line ("Human Rights Watch - 14 January 2016"). A date after a
// separator must name at least its month: "Some Press, 2014" is not a date line.
std::optional<HeaderDate> headerDate(std::string_view t, const DateStyle& style) {
  // Every date names its year.
  if (t.size() > MAX_HEADER_LINE_BYTES || std::none_of(t.begin(), t.end(), isDigit))
    return std::nullopt;
  if (auto date = digestDate(t, style)) return HeaderDate{*date, {}};
  if (auto value = labelled(t, {"date", "published", "posted", "dated"})) {
    if (auto date = digestDate(*value, style)) return HeaderDate{*date, {}};
    return std::nullopt;
  }
  // No date after a separator is longer than "Wednesday, 10 September 2014": looking only at
  // the line's last bytes keeps a hostile line of ", , , ," from costing its length squared.
  constexpr std::size_t MAX_TAIL_DATE_BYTES = 40;
  const std::size_t from =
      t.size() > MAX_TAIL_DATE_BYTES + 4 ? t.size() - MAX_TAIL_DATE_BYTES - 4 : 0;
  for (std::string_view separator : {" - ", " \xE2\x80\x93 ", " \xE2\x80\x94 ", " | ", ", "}) {
    for (std::size_t at = t.find(separator, from); at != std::string_view::npos;
         at = t.find(separator, at + 1)) {
      const std::string_view tail = t.substr(at + separator.size());
      if (auto date = digestDate(tail, style); date && date->size() >= 7)
        return HeaderDate{*date, trimSpace(t.substr(0, at))};
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Line kinds

struct Numbered {
  unsigned number = 0;
  std::string_view title;
  bool roman = false;
};

// "I. Title", "IV. Title" -> {1 or 4, "Title"}: roman numbers up to 20, then a period and a
// space.
std::optional<Numbered> romanLine(std::string_view t) {
  constexpr std::array<std::string_view, 20> ROMAN = {
      "I",  "II",  "III",  "IV",  "V",  "VI",  "VII",  "VIII",  "IX",  "X",
      "XI", "XII", "XIII", "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX"};
  const std::size_t dot = t.find(". ");
  if (dot == std::string_view::npos || dot == 0 || dot > 5) return std::nullopt;
  const std::string_view numeral = t.substr(0, dot);
  for (std::size_t k = 0; k < ROMAN.size(); ++k) {
    if (numeral != ROMAN[k]) continue;
    const std::string_view rest = trimSpace(t.substr(dot + 1));
    if (rest.empty()) return std::nullopt;
    return Numbered{static_cast<unsigned>(k + 1), rest, true};
  }
  return std::nullopt;
}

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

std::optional<Numbered> numberedOrRoman(std::string_view t) {
  if (auto n = numberedLine(t)) return n;
  return romanLine(t);
}

// "* Entry", "- Entry", "• Entry" -> "Entry".
std::optional<std::string_view> bulletLine(std::string_view t) {
  for (std::string_view bullet : {"* ", "- ", "\xE2\x80\xA2 ", "o ", "+ ", "\xE2\x80\x93 "}) {
    if (t.starts_with(bullet)) {
      const std::string_view rest = trimSpace(t.substr(bullet.size()));
      if (!rest.empty()) return rest;
    }
  }
  return std::nullopt;
}

bool isThanksLine(std::string_view t) {
  return startsWithIgnoreCase(t, "thanks to ") && containsIgnoreCase(t, "for compiling");
}

bool isBrowseLine(std::string_view t) { return startsWithIgnoreCase(t, "browse documents"); }

// "Read the full post", "Read the full report.", "Read the full article here: URL" — link
// text whose link is gone, or that gives its link. The URL, if any, goes to url.
bool isReadTheFullLine(std::string_view t, std::string_view* url = nullptr) {
  constexpr std::string_view PREFIX = "read the full ";
  if (!startsWithIgnoreCase(t, PREFIX)) return false;
  std::string_view rest = t.substr(PREFIX.size());
  if (const std::size_t colon = rest.find(':'); colon != std::string_view::npos) {
    const std::string_view link = trimSpace(rest.substr(colon + 1));
    if (!link.empty() && !isUrl(link)) return false;
    if (url) *url = link;
    rest = rest.substr(0, colon);
  }
  if (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);
  if (rest.ends_with(" here")) rest.remove_suffix(5);
  return !rest.empty() &&
         std::all_of(rest.begin(), rest.end(), [](char c) { return isLowerAscii(lowerAscii(c)); });
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

// A rule drawn with characters: "-----", "=====", "*****", "_____" (three or more).
bool isRuleLine(std::string_view t) {
  if (t.size() < 3) return false;
  return std::all_of(t.begin(), t.end(), [&](char c) { return c == t.front() || c == ' '; }) &&
         std::string_view("-=*_~#").find(t.front()) != std::string_view::npos;
}

// "*** SYRIA ***", "=== In this Issue ===", "## Burundi" -> the words between the marks.
std::string_view undecorated(std::string_view t, bool* decorated = nullptr) {
  constexpr std::string_view MARKS = "*=#~_";
  std::size_t begin = 0, end = t.size();
  while (begin < end && (MARKS.find(t[begin]) != std::string_view::npos)) ++begin;
  while (end > begin && (MARKS.find(t[end - 1]) != std::string_view::npos)) --end;
  if (decorated) *decorated = begin > 0 && end > begin;
  return trimSpace(t.substr(begin, end - begin));
}

// The words of a heading without its marks, number and closing colon.
std::string_view headingText(std::string_view t) {
  t = undecorated(t);
  if (auto n = numberedOrRoman(t)) t = n->title;
  while (!t.empty() && (t.back() == ':')) t.remove_suffix(1);
  return trimSpace(t);
}

bool isContentsHeading(std::string_view t) {
  const std::string_view h = headingText(t);
  for (std::string_view name : {"in this issue", "contents", "table of contents", "in this edition",
                                "inside this issue", "in this listserv", "this issue"})
    if (equalsIgnoreCase(h, name)) return true;
  return false;
}

bool isEventsHeading(std::string_view t) {
  const std::string_view h = headingText(t);
  for (std::string_view name :
       {"upcoming events", "events", "forthcoming events", "upcoming event", "calendar",
        "events calendar", "coming up", "upcoming events and opportunities"})
    if (equalsIgnoreCase(h, name)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Places

std::string slugOf(std::string_view text) {
  std::string slug;
  for (const std::string& term : searchTerms(text)) {
    if (!slug.empty()) slug += '-';
    slug += term;
  }
  return slug;
}

// Countries and the regions digests head sections with, as slugs (slugOf of the name).
bool isPlaceSlug(std::string_view slug) {
  constexpr std::array<std::string_view, 234> PLACES = {"afghanistan",
                                                        "albania",
                                                        "algeria",
                                                        "andorra",
                                                        "angola",
                                                        "antigua-and-barbuda",
                                                        "argentina",
                                                        "armenia",
                                                        "australia",
                                                        "austria",
                                                        "azerbaijan",
                                                        "bahamas",
                                                        "bahrain",
                                                        "bangladesh",
                                                        "barbados",
                                                        "belarus",
                                                        "belgium",
                                                        "belize",
                                                        "benin",
                                                        "bhutan",
                                                        "bolivia",
                                                        "bosnia",
                                                        "bosnia-and-herzegovina",
                                                        "botswana",
                                                        "brazil",
                                                        "brunei",
                                                        "bulgaria",
                                                        "burkina-faso",
                                                        "burma",
                                                        "burundi",
                                                        "cabo-verde",
                                                        "cape-verde",
                                                        "cambodia",
                                                        "cameroon",
                                                        "canada",
                                                        "central-african-republic",
                                                        "car",
                                                        "chad",
                                                        "chile",
                                                        "china",
                                                        "colombia",
                                                        "comoros",
                                                        "congo",
                                                        "republic-of-congo",
                                                        "republic-of-the-congo",
                                                        "democratic-republic-of-congo",
                                                        "democratic-republic-of-the-congo",
                                                        "drc",
                                                        "dr-congo",
                                                        "costa-rica",
                                                        "cote-d-ivoire",
                                                        "ivory-coast",
                                                        "croatia",
                                                        "cuba",
                                                        "cyprus",
                                                        "czech-republic",
                                                        "denmark",
                                                        "djibouti",
                                                        "dominica",
                                                        "dominican-republic",
                                                        "ecuador",
                                                        "egypt",
                                                        "el-salvador",
                                                        "equatorial-guinea",
                                                        "eritrea",
                                                        "estonia",
                                                        "eswatini",
                                                        "swaziland",
                                                        "ethiopia",
                                                        "fiji",
                                                        "finland",
                                                        "france",
                                                        "gabon",
                                                        "gambia",
                                                        "the-gambia",
                                                        "georgia",
                                                        "germany",
                                                        "ghana",
                                                        "greece",
                                                        "grenada",
                                                        "guatemala",
                                                        "guinea",
                                                        "guinea-bissau",
                                                        "guyana",
                                                        "haiti",
                                                        "honduras",
                                                        "hungary",
                                                        "iceland",
                                                        "india",
                                                        "indonesia",
                                                        "iran",
                                                        "iraq",
                                                        "ireland",
                                                        "israel",
                                                        "italy",
                                                        "jamaica",
                                                        "japan",
                                                        "jordan",
                                                        "kazakhstan",
                                                        "kenya",
                                                        "kiribati",
                                                        "kosovo",
                                                        "kuwait",
                                                        "kyrgyzstan",
                                                        "laos",
                                                        "latvia",
                                                        "lebanon",
                                                        "lesotho",
                                                        "liberia",
                                                        "libya",
                                                        "liechtenstein",
                                                        "lithuania",
                                                        "luxembourg",
                                                        "madagascar",
                                                        "malawi",
                                                        "malaysia",
                                                        "maldives",
                                                        "mali",
                                                        "malta",
                                                        "marshall-islands",
                                                        "mauritania",
                                                        "mauritius",
                                                        "mexico",
                                                        "micronesia",
                                                        "moldova",
                                                        "monaco",
                                                        "mongolia",
                                                        "montenegro",
                                                        "morocco",
                                                        "mozambique",
                                                        "myanmar",
                                                        "namibia",
                                                        "nauru",
                                                        "nepal",
                                                        "netherlands",
                                                        "new-zealand",
                                                        "nicaragua",
                                                        "niger",
                                                        "nigeria",
                                                        "north-korea",
                                                        "dprk",
                                                        "north-macedonia",
                                                        "macedonia",
                                                        "norway",
                                                        "oman",
                                                        "pakistan",
                                                        "palau",
                                                        "palestine",
                                                        "occupied-palestinian-territory",
                                                        "occupied-palestinian-territories",
                                                        "gaza",
                                                        "west-bank",
                                                        "panama",
                                                        "papua-new-guinea",
                                                        "paraguay",
                                                        "peru",
                                                        "philippines",
                                                        "poland",
                                                        "portugal",
                                                        "qatar",
                                                        "romania",
                                                        "russia",
                                                        "russian-federation",
                                                        "rwanda",
                                                        "saint-kitts-and-nevis",
                                                        "saint-lucia",
                                                        "samoa",
                                                        "san-marino",
                                                        "sao-tome-and-principe",
                                                        "saudi-arabia",
                                                        "senegal",
                                                        "serbia",
                                                        "seychelles",
                                                        "sierra-leone",
                                                        "singapore",
                                                        "slovakia",
                                                        "slovenia",
                                                        "solomon-islands",
                                                        "somalia",
                                                        "somaliland",
                                                        "south-africa",
                                                        "south-korea",
                                                        "south-sudan",
                                                        "spain",
                                                        "sri-lanka",
                                                        "sudan",
                                                        "suriname",
                                                        "sweden",
                                                        "switzerland",
                                                        "syria",
                                                        "tajikistan",
                                                        "tanzania",
                                                        "thailand",
                                                        "timor-leste",
                                                        "east-timor",
                                                        "togo",
                                                        "tonga",
                                                        "trinidad-and-tobago",
                                                        "tunisia",
                                                        "turkey",
                                                        "turkmenistan",
                                                        "tuvalu",
                                                        "uganda",
                                                        "ukraine",
                                                        "united-arab-emirates",
                                                        "united-kingdom",
                                                        "united-states",
                                                        "uruguay",
                                                        "uzbekistan",
                                                        "vanuatu",
                                                        "venezuela",
                                                        "vietnam",
                                                        "yemen",
                                                        "zambia",
                                                        "zimbabwe",
                                                        "darfur",
                                                        "kashmir",
                                                        "tibet",
                                                        "chechnya",
                                                        "western-sahara",
                                                        "great-lakes",
                                                        "great-lakes-region",
                                                        "middle-east",
                                                        "west-africa",
                                                        "east-africa",
                                                        "horn-of-africa",
                                                        "sahel",
                                                        "balkans",
                                                        "central-asia",
                                                        "southeast-asia",
                                                        "south-asia",
                                                        "latin-america",
                                                        "north-africa",
                                                        "xinjiang"};
  return std::find(PLACES.begin(), PLACES.end(), slug) != PLACES.end();
}

// The region tags a heading names: "Syria" -> syria; "Sudan and South Sudan" -> sudan,
// south-sudan; "Burma/Myanmar" -> burma-myanmar (one place, two names). Empty when any part
// is not a place we know: "Thematic", "RtoP at the United Nations".
std::vector<std::string> placeRegions(std::string_view heading) {
  heading = trimSpace(heading);
  if (heading.empty() || heading.size() > MAX_HEADING_BYTES) return {};
  if (std::string whole = slugOf(heading); isPlaceSlug(whole)) return {whole};
  // One place under two names.
  if (heading.find('/') != std::string_view::npos) {
    bool all = true;
    for (std::size_t i = 0; i <= heading.size() && all;) {
      const std::size_t end = std::min(heading.find('/', i), heading.size());
      all = isPlaceSlug(slugOf(heading.substr(i, end - i)));
      i = end + 1;
    }
    if (all) return {slugOf(heading)};
  }
  // Several places.
  std::vector<std::string> places;
  std::size_t i = 0;
  while (i < heading.size()) {
    std::size_t cut = heading.size(), skip = 0;
    for (std::string_view separator : {" and ", ", ", " & ", "; "}) {
      const std::size_t at = findIgnoreCase(heading, separator, i);
      if (at < cut) cut = at, skip = separator.size();
    }
    std::string slug = slugOf(heading.substr(i, cut - i));
    if (!isPlaceSlug(slug)) return {};
    places.push_back(std::move(slug));
    i = cut + skip;
  }
  if (places.size() < 2) return {};
  return places;
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

// ---------------------------------------------------------------------------------------------
// Outlets and people

// Words that make a line an organisation or an outlet rather than a person.
bool looksLikeOrganisation(std::string_view t) {
  constexpr std::array<std::string_view, 64> WORDS = {
      "International", "Watch",      "Rights",       "Council",      "Centre",      "Center",
      "Group",         "Institute",  "Committee",    "Coalition",    "Network",     "Office",
      "Foundation",    "Programme",  "Program",      "Agency",       "Commission",  "Federation",
      "Association",   "Union",      "Project",      "Monitoring",   "Times",       "Post",
      "News",          "Press",      "Journal",      "Review",       "Policy",      "Affairs",
      "Tribune",       "Guardian",   "Chronicle",    "Magazine",     "Herald",      "Daily",
      "Radio",         "Television", "Service",      "Nations",      "Amnesty",     "Crisis",
      "Reuters",       "Agence",     "Organisation", "Organization", "Secretariat", "Ministry",
      "Government",    "Mission",    "Society",      "Syndicate",    "Initiative",  "Alliance",
      "Fund",          "Forum",      "Frontières",   "Refugees",     "Church",      "University",
      "Assembly",      "Department", "Observer",     "Telegraph"};
  for (std::size_t i = 0; i < t.size();) {
    const std::size_t end = std::min(t.find(' ', i), t.size());
    std::string_view word = t.substr(i, end - i);
    i = end + 1;
    while (!word.empty() && (word.back() == ',' || word.back() == '.')) word.remove_suffix(1);
    if (std::find(WORDS.begin(), WORDS.end(), word) != WORDS.end()) return true;
    // An acronym: IRIN, UNHCR, BBC.
    if (word.size() >= 2 && std::all_of(word.begin(), word.end(), isUpperAscii)) return true;
  }
  return startsWithIgnoreCase(t, "the ");
}

// "Andrea Lari and Alice Thomas", "By David Kaye": names of two to four capitalized words.
bool looksLikePeople(std::string_view t) {
  if (startsWithIgnoreCase(t, "by ")) t.remove_prefix(3);
  if (t.empty() || looksLikeOrganisation(t)) return false;
  std::size_t i = 0;
  while (i < t.size()) {
    std::size_t cut = t.size(), skip = 0;
    for (std::string_view separator : {" and ", ", ", " & ", "; "}) {
      const std::size_t at = t.find(separator, i);
      if (at < cut) cut = at, skip = separator.size();
    }
    const std::string_view name = trimSpace(t.substr(i, cut - i));
    const std::size_t words = wordCount(name);
    if (words < 2 || words > 4) return false;
    if (std::any_of(name.begin(), name.end(), isDigit)) return false;
    i = cut + skip;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The parts of a digest

struct Lines {
  std::vector<std::string_view> text;  // trimmed; a rule line reads as blank
  std::vector<bool> indented;          // the raw line started with two spaces or a tab
  std::vector<bool> rule;
  DateStyle style;
  // headerDate of line i, computed once when first asked (most lines never are); null when
  // the line gives no date. A pointer into found, valid until the next call.
  const HeaderDate* date(std::size_t i) const {
    if (dateIndex[i] == UNKNOWN) {
      dateIndex[i] = NONE;
      if (auto d = headerDate(text[i], style)) {
        dateIndex[i] = static_cast<std::int32_t>(found.size());
        found.push_back(std::move(*d));
      }
    }
    return dateIndex[i] == NONE ? nullptr : &found[static_cast<std::size_t>(dateIndex[i])];
  }
  static constexpr std::int32_t UNKNOWN = -1, NONE = -2;
  mutable std::vector<std::int32_t> dateIndex;  // 4 bytes a line: texts have up to 64 Mi lines
  mutable std::vector<HeaderDate> found;
  std::size_t size() const { return text.size(); }
  bool blank(std::size_t i) const { return text[i].empty(); }
  bool blankBefore(std::size_t i) const { return i == 0 || text[i - 1].empty(); }
  bool blankAfter(std::size_t i) const { return i + 1 >= text.size() || text[i + 1].empty(); }
};

struct DigestHeader {
  std::string publisher;
  std::string date;
  std::size_t end = 0;  // first line after the header
};

// "ICRtoP Listserv - January 2016": a line naming the mailing rather than its publisher.
bool namesTheMailing(std::string_view t) {
  for (std::string_view word : {"listserv", "newsletter", "digest", "bulletin", "mailing list"})
    if (containsIgnoreCase(t, word)) return true;
  return false;
}

bool isMailHeaderLine(std::string_view t) {
  return labelled(t, {"from", "to", "cc", "subject", "sent", "reply-to", "message-id"}).has_value();
}

DigestHeader readHeader(const Lines& lines, const DateStyle& style) {
  DigestHeader h;
  std::string mailing;
  std::size_t nonBlank = 0;
  std::size_t i = 0;
  for (; i < lines.size(); ++i) {
    const std::string_view t = lines.text[i];
    if (t.empty()) {
      if ((!h.publisher.empty() || !mailing.empty()) && !h.date.empty()) break;
      continue;
    }
    if (numberedOrRoman(t) || t.size() > MAX_HEADER_LINE_BYTES || isContentsHeading(t) ||
        ++nonBlank > MAX_DIGEST_HEADER_LINES)
      break;
    if (isChromeLine(t) || isMailHeaderLine(t)) continue;
    // The most precise date of the header: "ICRtoP Listserv - January 2016" then "2016-01-15".
    std::optional<std::string> date = digestDate(t, style);
    if (!date) {
      if (auto value = labelled(t, {"date"})) {
        date = digestDate(*value, style);
        if (!date) continue;
      } else if (auto tail = headerDate(t, style)) {
        date = tail->date;
        if (namesTheMailing(tail->rest) && mailing.empty()) mailing = std::string(tail->rest);
      }
      if (date && date->size() > h.date.size()) h.date = *date;
      if (date) continue;
    } else {
      if (date->size() > h.date.size()) h.date = *date;
      continue;
    }
    if (namesTheMailing(t)) {
      if (mailing.empty()) mailing = std::string(t);
    } else if (h.publisher.empty()) {
      h.publisher = std::string(t);
    }
    // Other short lines in the header are chrome we do not know by name.
  }
  if (h.publisher.empty()) h.publisher = mailing;
  h.end = i;
  return h;
}

struct ArticleHead {
  std::size_t line = 0;  // the title line
  std::size_t dateLine = 0;
  std::size_t firstHeaderLine = 0;  // after the title and its continuations
  unsigned number = 0;              // 0 for an unnumbered title
  std::string title;
  std::string published;
  std::string_view dateLineRest;  // "Reuters" of "Reuters, 2 January 2014"
};

// An article: a title line (numbered, or after a blank line) followed at once by up to five
// header lines, the last of which gives a date. A title wrapped onto the next line continues
// there when that line starts in lower case.
std::optional<ArticleHead> articleAt(const Lines& lines, std::size_t i) {
  const std::string_view t = lines.text[i];
  if (t.empty() || t.size() > MAX_HEADER_LINE_BYTES) return std::nullopt;
  const auto numbered = numberedLine(t);
  if (!numbered && !lines.blankBefore(i)) return std::nullopt;
  ArticleHead head;
  head.line = i;
  // The date line first: most lines have none below them, and this is the cheap test.
  std::size_t k = i + 1;
  std::size_t continuations = 0;
  while (continuations < MAX_TITLE_CONTINUATION_LINES && k < lines.size()) {
    const std::string_view next = lines.text[k];
    if (next.empty() || !isLowerAscii(next.front()) || next.size() > MAX_HEADER_LINE_BYTES ||
        lines.date(k))
      break;
    ++continuations, ++k;
  }
  head.firstHeaderLine = k;
  for (std::size_t end = std::min(lines.size(), k + MAX_ARTICLE_HEADER_LINES);; ++k) {
    if (k == end) return std::nullopt;
    const std::string_view line = lines.text[k];
    if (line.empty() || line.size() > MAX_HEADER_LINE_BYTES || numberedOrRoman(line))
      return std::nullopt;
    if (const HeaderDate* date = lines.date(k)) {
      head.dateLine = k;
      head.published = date->date;
      head.dateLineRest = date->rest;
      break;
    }
  }
  if (numbered) {
    head.number = numbered->number;
    head.title = std::string(numbered->title);
  } else {
    if (isChromeLine(t) || bulletLine(t) || romanLine(t) || isUrl(t) || isContentsHeading(t) ||
        isEventsHeading(t) || lines.date(i) ||
        labelled(t, {"source", "author", "authors", "by", "link", "url"}))
      return std::nullopt;
    bool decorated = false;
    undecorated(t, &decorated);
    if (decorated) return std::nullopt;
    head.title = std::string(t);
  }
  for (std::size_t c = i + 1; c < head.firstHeaderLine; ++c) {
    head.title += ' ';
    head.title += lines.text[c];
  }
  return head;
}

struct TocEntry {
  std::size_t group = 0;
  std::string text;
  std::vector<std::string> regions;  // slugs; empty when the entry names none
  bool section = false;  // the entry names a section of the digest ("Syria"), not an article
};

struct Toc {
  std::vector<TocEntry> entries;
  std::size_t end = 0;  // first line after it
  bool found = false;
};

void classify(TocEntry& entry) {
  if (std::string region = regionOf(entry.text); !region.empty()) {
    entry.regions = {std::move(region)};
  }
  if (std::vector<std::string> places = placeRegions(entry.text); !places.empty()) {
    entry.regions = std::move(places);
    entry.section = true;
  }
  if (isEventsHeading(entry.text) || startsWithIgnoreCase(entry.text, "upcoming events"))
    entry.section = true;
}

// A table of contents under a heading ("In this Issue:", "Contents"): numbered, roman or
// bulleted entries, wrapped entries continued on indented or lower-case lines, and short
// unmarked lines that head groups of entries ("Kenya", "Thematic"). A group heading that is a
// place gives its region to the entries under it. It ends at a blank line not followed by an
// entry.
Toc readHeadedToc(const Lines& lines, std::size_t heading, std::size_t limit) {
  Toc toc;
  toc.found = true;
  std::size_t groups = 0;
  std::vector<std::string> groupRegions;
  bool underEntry = false;
  std::size_t continuations = 0;
  std::size_t i = heading + 1;
  const auto entryText = [](std::string_view t) -> std::optional<std::string_view> {
    if (auto n = numberedOrRoman(t)) return n->title;
    return bulletLine(t);
  };
  for (; i < limit; ++i) {
    const std::string_view t = lines.text[i];
    if (t.empty()) {
      underEntry = false;
      std::size_t next = i;
      while (next < limit && lines.blank(next)) ++next;
      if (next == limit || lines.rule[next > 0 ? next - 1 : 0] || !entryText(lines.text[next]))
        break;
      ++groups;
      continue;
    }
    if (isChromeLine(t)) continue;
    if (const auto entry = entryText(t)) {
      TocEntry e{groups, std::string(*entry), {}, false};
      classify(e);
      if (e.regions.empty() && !e.section) e.regions = groupRegions;
      toc.entries.push_back(std::move(e));
      underEntry = true;
      continuations = 0;
      continue;
    }
    if (underEntry && (lines.indented[i] || isLowerAscii(t.front())) &&
        continuations++ < MAX_TOC_CONTINUATION_LINES) {
      TocEntry& last = toc.entries.back();
      last.text += ' ';
      last.text += t;
      const bool section = last.section;
      classify(last);
      if (last.regions.empty() && !section) last.regions = groupRegions;
      continue;
    }
    if (t.size() > MAX_HEADING_BYTES || wordCount(t) > MAX_HEADING_WORDS) break;
    // A group heading.
    groupRegions = placeRegions(headingText(t));
    underEntry = false;
    ++groups;
  }
  toc.end = i;
  return toc;
}

// A table of contents without a heading: groups of numbered lines right after the digest
// header, separated by blank lines or by numbering starting again. A non-blank, unnumbered
// line directly under an entry continues it (a wrapped entry).
Toc readToc(const Lines& lines, std::size_t begin, std::size_t firstArticle) {
  for (std::size_t i = begin; i < firstArticle; ++i) {
    if (lines.blank(i) || isChromeLine(lines.text[i])) continue;
    if (isContentsHeading(lines.text[i])) return readHeadedToc(lines, i, firstArticle);
    break;
  }
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
      toc.entries.push_back({groups - 1, std::string(numbered->title), {}, false});
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
  toc.found = !toc.entries.empty();
  for (TocEntry& entry : toc.entries) classify(entry);
  return toc;
}

// A section heading in the digest's text: a short line standing alone between blank lines
// or rules, marked as a heading by its form — decorated ("*** SYRIA ***"), numbered ("1.
// LIBYA", "IV. RtoP Publications") or in capitals — or naming a place or the events.
struct Heading {
  std::size_t line = 0;
  std::vector<std::string> regions;
  bool events = false;
};

std::optional<Heading> headingAt(const Lines& lines, std::size_t i) {
  const std::string_view t = lines.text[i];
  if (t.empty() || t.size() > MAX_HEADING_BYTES || !lines.blankBefore(i) || isChromeLine(t))
    return std::nullopt;
  // "Upcoming Events:" may have its list right under it; other headings stand alone.
  if (!lines.blankAfter(i) && !isEventsHeading(t)) return std::nullopt;
  const char last = t.back();
  if (last == '.' || last == ',' || last == ';' || last == '?' || last == '!') return std::nullopt;
  bool decorated = false;
  undecorated(t, &decorated);
  const std::string_view text = headingText(t);
  if (text.empty() || wordCount(text) > MAX_HEADING_WORDS) return std::nullopt;
  Heading h{i, placeRegions(text), isEventsHeading(text)};
  const bool capitals = std::none_of(text.begin(), text.end(), isLowerAscii) &&
                        std::any_of(text.begin(), text.end(), isUpperAscii);
  if (decorated || numberedOrRoman(t) || capitals || !h.regions.empty() || h.events) return h;
  return std::nullopt;
}

// Paragraphs of lines [begin, end): runs of non-blank lines joined with "\n", separated by one
// blank line; chrome lines dropped. A "Read the full article here" line is dropped too, and
// the link it gives (on its line or the next) goes to url when url is empty.
std::string bodyOf(const Lines& lines, std::size_t begin, std::size_t end,
                   std::string* url = nullptr) {
  std::string body;
  bool paragraphBreak = false;
  for (std::size_t i = begin; i < end; ++i) {
    const std::string_view t = lines.text[i];
    if (t.empty()) {
      paragraphBreak = !body.empty();
      continue;
    }
    std::string_view link;
    if (isReadTheFullLine(t, &link)) {
      if (link.empty() && i + 1 < end && isUrl(lines.text[i + 1])) link = lines.text[++i];
      if (url && url->empty()) *url = std::string(link);
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

// "Dear Coalition members and friends,": a greeting, not what the piece is about.
bool isSalutation(std::string_view paragraph) {
  return paragraph.size() <= MAX_SALUTATION_BYTES && paragraph.ends_with(',') &&
         paragraph.find('\n') == std::string_view::npos;
}

std::string editorialTitle(std::string_view body) {
  std::string_view paragraph = body.substr(0, body.find("\n\n"));
  if (isSalutation(paragraph) && paragraph.size() < body.size()) {
    std::string_view rest = body.substr(paragraph.size() + 2);
    paragraph = rest.substr(0, rest.find("\n\n"));
  }
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

// The header lines between an article's title and its date -> source, authors and url.
//  - "Source: X", "Author: X", "By: X", "Link: URL" say what they are;
//  - "By NAME, OUTLET" gives authors and the source (the part after the last comma, when it
//    is not another person's name);
//  - "Article taken from ..." / "Taken from ..." are dropped (they name a book, not the
//    outlet); "A publication from [the] X" gives the source X;
//  - of the other lines, the last is the source and the ones before it are authors; but two
//    or more lines that all name organisations are a joint report: source "A; B".
void readArticleHeader(const Lines& lines, const ArticleHead& head, Clipping& c) {
  std::vector<std::string_view> rest;
  bool sourceGiven = false;
  const auto take = [&](std::string_view t) {
    if (t.empty()) return;
    if (startsWithIgnoreCase(t, "article taken from") || startsWithIgnoreCase(t, "taken from"))
      return;
    constexpr std::string_view PUBLICATION = "a publication from ";
    if (startsWithIgnoreCase(t, PUBLICATION)) {
      std::string_view source = t.substr(PUBLICATION.size());
      if (source.starts_with("the ")) source.remove_prefix(4);
      c.source = std::string(trimSpace(source));
      sourceGiven = true;
      return;
    }
    if (auto value = labelled(t, {"source", "outlet", "publisher", "publication"})) {
      c.source = std::string(*value);
      sourceGiven = true;
      return;
    }
    if (auto value = labelled(t, {"author", "authors", "by", "written by"})) {
      appendAuthors(*value, c.authors);
      return;
    }
    if (auto value = labelled(t, {"link", "url", "web"})) {
      if (isUrl(*value)) c.url = std::string(*value);
      return;
    }
    if (startsWithIgnoreCase(t, "by ")) {
      const std::size_t comma = t.rfind(", ");
      if (comma != std::string_view::npos && !looksLikePeople(t.substr(comma + 2))) {
        appendAuthors(t.substr(0, comma), c.authors);
        c.source = std::string(trimSpace(t.substr(comma + 2)));
        sourceGiven = true;
      } else {
        appendAuthors(t, c.authors);
      }
      return;
    }
    rest.push_back(t);
  };
  for (std::size_t i = head.firstHeaderLine; i < head.dateLine; ++i) take(lines.text[i]);
  take(head.dateLineRest);

  if (!sourceGiven && !rest.empty()) {
    const bool joint = rest.size() >= 2 && std::all_of(rest.begin(), rest.end(), [](auto t) {
                         return looksLikeOrganisation(t) && !looksLikePeople(t);
                       });
    if (joint) {
      std::string source;
      for (std::string_view t : rest) source += (source.empty() ? "" : "; ") + std::string(t);
      c.source = std::move(source);
      rest.clear();
    } else {
      c.source = std::string(rest.back());
      rest.pop_back();
    }
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
  const std::size_t n = lines.size();
  lines.indented.resize(n);
  lines.rule.resize(n);
  std::size_t signature = n;  // an e-mail signature ("-- ") ends the digest
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view& line = lines.text[i];
    if ((line == "-- " || line == "--") && signature == n) signature = i;
    lines.indented[i] = line.starts_with("  ") || line.starts_with("\t");
    line = trimSpace(line);
    if (isRuleLine(line)) {
      lines.rule[i] = true;
      line = {};
    }
  }
  const DateStyle style = dateStyleOf(lines.text);
  lines.style = style;
  lines.dateIndex.assign(n, Lines::UNKNOWN);

  const DigestHeader header = readHeader(lines, style);

  std::vector<Article> articles;
  for (std::size_t i = header.end; i < signature; ++i) {
    if (auto head = articleAt(lines, i)) {
      i = head->dateLine;
      articles.push_back({std::move(*head), 0, {}});
      if (articles.size() > MAX_DIGEST_CLIPPINGS)
        return ImportError{articles.back().head.line + 1,
                           "more than 10000 articles: not a listserv digest"};
    }
  }
  // One unnumbered title over an outlet and a date, in a text without a table of contents,
  // is a forwarded article, not a digest: the e-mail importer asks this parser whether a
  // message is a digest.
  const bool anyNumbered =
      std::any_of(articles.begin(), articles.end(), [](const Article& a) { return a.head.number; });
  if (!anyNumbered && articles.size() == 1 &&
      !readToc(lines, header.end, articles.front().head.line).found)
    articles.clear();
  const std::size_t firstArticle = articles.empty() ? signature : articles.front().head.line;
  const Toc toc = readToc(lines, header.end, firstArticle);

  // The footer starts after the last article (or the table of contents).
  const std::size_t footerSearch = articles.empty() ? toc.end : articles.back().head.dateLine + 1;
  std::size_t footer = signature;
  bool footerFound = signature < n;
  for (std::size_t i = footerSearch; i < signature; ++i) {
    const std::string_view t = lines.text[i];
    if (isThanksLine(t) || isBrowseLine(t) ||
        (!header.publisher.empty() && t == header.publisher)) {
      footer = i;
      footerFound = true;
      break;
    }
  }

  std::vector<TocEntry> tocArticles;
  for (const TocEntry& e : toc.entries)
    if (!e.section) tocArticles.push_back(e);

  if (tocArticles.empty() && articles.empty())
    return ImportError{0, "no clippings found: is this a listserv digest?"};

  // Section headings between the table of contents and the footer, outside article headers.
  std::vector<Heading> headings;
  {
    std::size_t k = 0;
    for (std::size_t i = toc.end; i < footer; ++i) {
      while (k < articles.size() && articles[k].head.dateLine < i) ++k;
      if (k < articles.size() && i >= articles[k].head.line) continue;  // inside a header
      if (auto h = headingAt(lines, i)) headings.push_back(std::move(*h));
      if (headings.size() > MAX_DIGEST_CLIPPINGS)
        return ImportError{i + 1, "more than 10000 section headings: not a listserv digest"};
    }
  }

  std::string collection = header.publisher;
  collection += collection.empty() ? "digest" : " digest";
  if (!header.date.empty()) collection += " " + header.date;

  struct Found {
    std::size_t line;
    Clipping clipping;
  };
  std::vector<Found> found;

  // Editorial pieces: between the table of contents and the first article or heading.
  std::size_t editorialEnd = std::min(firstArticle, footer);
  if (!headings.empty()) editorialEnd = std::min(editorialEnd, headings.front().line);
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

  // Articles. Each ends at the next article, the next heading or the footer; the heading
  // above it, when it names places, gives its region tags.
  unsigned lastNumber = 0;
  std::size_t group = 0;
  std::size_t nextHeading = 0;
  std::vector<std::vector<std::string>> sectionRegions(articles.size());
  const Heading* section = nullptr;
  for (std::size_t k = 0; k < articles.size(); ++k) {
    Article& a = articles[k];
    if (k > 0 && a.head.number <= lastNumber) ++group;
    lastNumber = a.head.number;
    while (nextHeading < headings.size() && headings[nextHeading].line < a.head.line) {
      section = &headings[nextHeading];
      if (k > 0) ++group;
      ++nextHeading;
    }
    if (section) sectionRegions[k] = section->regions;
    a.group = group;
    std::size_t end = k + 1 < articles.size() ? articles[k + 1].head.line : footer;
    if (nextHeading < headings.size()) end = std::min(end, headings[nextHeading].line);
    Clipping& c = a.clipping;
    c.title = a.head.title;
    readArticleHeader(lines, a.head, c);
    c.published = a.head.published;
    c.body = bodyOf(lines, a.head.dateLine + 1, end, &c.url);
    c.collection = collection;
  }
  const std::vector<std::size_t> match = matchToc(tocArticles, articles);
  for (std::size_t k = 0; k < articles.size(); ++k) {
    std::vector<std::string>& tags = articles[k].clipping.tags;
    const std::vector<std::string>* regions = &sectionRegions[k];
    if (regions->empty() && match[k] != std::string::npos) regions = &tocArticles[match[k]].regions;
    for (const std::string& region : *regions) tags.push_back("region:" + region);
    found.push_back({articles[k].head.line, std::move(articles[k].clipping)});
  }

  if (found.empty()) return ImportError{0, "no clippings found: is this a listserv digest?"};
  if (!footerFound && articles.size() < tocArticles.size())
    return ImportError{articles.empty() ? toc.end + 1 : articles.back().head.line + 1,
                       "the table of contents lists " + std::to_string(tocArticles.size()) +
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
