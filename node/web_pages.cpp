#include "node/web_pages.h"

#include "protocol/text.h"
#include "store/words.h"

namespace fieldsync::node::web {
namespace {

constexpr std::string_view REPLACEMENT = "\xEF\xBF\xBD";  // U+FFFD

std::string isoTime(std::int64_t t) { return protocol::formatUtc(t); }
std::string isoDate(std::int64_t t) { return protocol::formatUtc(t).substr(0, 10); }

std::string e(std::string_view text) { return escapeHtml(text); }

/// The words a trust verdict shows as, and its class.
std::string trustBadge(store::ClippingTrust trust) {
  const std::string name(store::trustName(trust));
  const std::string words = trust == store::ClippingTrust::Trusted   ? "✓ trusted"
                            : trust == store::ClippingTrust::Unknown ? "unknown signer"
                                                                     : name;
  return "<span class=\"mark " + name + "\">" + e(words) + "</span>";
}

std::string clippingLink(const protocol::ObjectId& id) { return "/c/" + id.hex(); }

std::string releaseRef(const std::string& name, std::uint64_t sequence) {
  return name + "@" + std::to_string(sequence);
}
std::string releaseLink(const std::string& name, std::uint64_t sequence) {
  return "/r/" + encodeUrl(releaseRef(name, sequence));
}

/// The document around body: one stylesheet, no scripts.
std::string layout(const std::string& nodeName, const std::string& title, const std::string& body,
                   bool print = false) {
  std::string html;
  html.reserve(body.size() + 1024);
  html +=
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta name=\"referrer\" content=\"no-referrer\">"
      "<title>";
  html += e(title);
  html += " · fieldsync</title><link rel=\"stylesheet\" href=\"/style.css\"></head><body";
  html += print ? " class=\"print\">" : ">";
  html += "<header><a class=\"home\" href=\"/\">fieldsync</a> <span class=\"node\">";
  html += e(nodeName.empty() ? std::string("reading room") : nodeName);
  html +=
      "</span><nav><a href=\"/\">Clippings</a> <a href=\"/releases\">Releases</a> "
      "<a href=\"/status\">Status</a></nav></header>\n<main>";
  html += body;
  html += "</main>\n<footer>Read-only view of this node's archive.</footer></body></html>\n";
  return html;
}

std::string tagsHtml(const std::vector<std::string>& tags) {
  std::string html;
  for (const auto& tag : tags)
    html += "<a class=\"tag\" href=\"/?tag=" + encodeUrl(tag) + "\">" + e(tag) + "</a> ";
  return html;
}

std::string rowsHtml(const std::vector<ClippingRow>& rows) {
  std::string html = "<ol class=\"clippings\">";
  for (const auto& row : rows) {
    html += "<li>" + trustBadge(row.trust) + " <a class=\"title\" href=\"" + clippingLink(row.id) +
            "\">" + e(row.title) + "</a><div class=\"meta\">";
    if (!row.source.empty())
      html += "<a href=\"/?source=" + encodeUrl(row.source) + "\">" + e(row.source) + "</a> · ";
    html += e(row.published.empty() ? std::string("undated") : row.published);
    html += " · <span class=\"id\">" + store::shortHex(row.id.hex()) + "</span> ";
    html += tagsHtml(row.tags) + "</div>";
    for (const auto& note : row.notes) html += "<div class=\"meta note\">" + e(note) + "</div>";
    html += "</li>\n";
  }
  return html + "</ol>";
}

std::string input(const char* name, const char* label, const std::string& value,
                  const char* type = "text") {
  return std::string("<label>") + label + " <input type=\"" + type + "\" name=\"" + name +
         "\" value=\"" + e(value) + "\" maxlength=\"200\"></label> ";
}

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : ", ") + item;
  return s;
}

std::string field(const char* name, const std::string& value) {
  if (value.empty()) return "";
  return std::string("<dt>") + name + "</dt><dd>" + e(value) + "</dd>";
}

std::string bodyHtml(const std::string& body) {
  std::string html;
  for (auto paragraph : protocol::splitLines(body)) {
    if (protocol::trimSpace(paragraph).empty()) continue;
    html += "<p>" + e(paragraph) + "</p>\n";
  }
  return html;
}

std::string releasesList(const std::vector<store::ReleaseRef>& releases) {
  std::string html;
  for (const auto& r : releases)
    html += (html.empty() ? "" : ", ") + std::string("<a href=\"") +
            releaseLink(r.name, r.sequence) + "\">" + e(releaseRef(r.name, r.sequence)) + "</a>";
  return html;
}

/// The provenance of a clipping in words: verdict, signer, path, releases.
std::string provenanceHtml(const ClippingView& view) {
  std::string html = "<dl class=\"provenance\">";
  html += "<dt>trust</dt><dd>" + trustBadge(view.trust) + "</dd>";
  html += "<dt>verify</dt><dd>" + e(view.verdict) + ": " + e(view.sentence) + "</dd>";
  html += "<dt>signer</dt><dd>" + e(view.signer) + "<br><span class=\"key\">key " + view.signerKey +
          "</span></dd>";
  html += field("signed at", isoTime(view.signedAt));
  if (!view.trustPath.empty()) html += field("trust path", view.trustPath);
  html += "<dt>releases</dt><dd>" +
          (view.releases.empty() ? std::string("listed by no release here")
                                 : releasesList(view.releases)) +
          "</dd></dl>";
  return html;
}

std::string releaseRowsHtml(const std::vector<ReleaseRow>& rows) {
  std::string html =
      "<table class=\"releases\"><thead><tr><th>release</th><th>signed</th><th>signer</th>"
      "<th>verdict</th><th>clippings</th></tr></thead><tbody>";
  for (const auto& r : rows) {
    html += std::string("<tr") + (r.current ? " class=\"current\"" : "") + "><td><a href=\"" +
            releaseLink(r.name, r.sequence) + "\">" + e(releaseRef(r.name, r.sequence)) + "</a>" +
            (r.stranger ? " <span class=\"mark unknown\">not the trusted chain</span>" : "") +
            "</td><td>" + isoDate(r.signedAt) + "</td><td>" + e(r.signer) + "</td><td>" +
            e(r.verdict) + "</td><td>" + std::to_string(r.members) + "</td></tr>\n";
  }
  return html + "</tbody></table>";
}

}  // namespace

std::string escapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        default:
          if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
            out += REPLACEMENT;
          else
            out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    const auto [cp, length] = protocol::codePointAt(text, i);
    if (length == 0) {
      out += REPLACEMENT;
      ++i;
    } else {
      if (protocol::isDisplayControl(cp))
        out += REPLACEMENT;
      else
        out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

std::string encodeUrl(std::string_view text) {
  static constexpr char HEX[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '@' || c == ':') {
      out += ch;
    } else {
      out += '%';
      out += HEX[c >> 4];
      out += HEX[c & 0xF];
    }
  }
  return out;
}

std::string_view styleSheet() {
  return R"(body{font:16px/1.45 system-ui,"DejaVu Sans",sans-serif;margin:0;color:#1d1d1d;background:#fbfaf7}
header{background:#23395d;color:#fff;padding:.5em 1em}
header a{color:#fff;text-decoration:none;margin-right:1em}
header .home{font-weight:bold}header .node{opacity:.8}header nav{display:inline;margin-left:1em}
main{max-width:52em;margin:0 auto;padding:1em}
footer{color:#666;font-size:.85em;text-align:center;padding:1em}
form.filters{background:#eef1f5;padding:.6em;border-radius:4px;margin-bottom:1em}
form.filters label{display:inline-block;margin:.2em .6em .2em 0}
form.filters input{font:inherit;max-width:12em}
ol.clippings{list-style:none;padding:0}
ol.clippings li{padding:.5em 0;border-bottom:1px solid #ddd}
a.title{font-weight:600;color:#123;text-decoration:none}
.meta{font-size:.85em;color:#555}.id,.key{font-family:monospace;font-size:.9em;color:#666;word-break:break-all}
.tag{background:#e4ecf7;border-radius:3px;padding:0 .3em;color:#234;text-decoration:none;font-size:.9em}
.mark{font-size:.8em;font-weight:bold;padding:0 .35em;border-radius:3px;background:#b3261e;color:#fff;text-transform:uppercase}
.mark.trusted{background:#2e7d32}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:600;color:#444}dd{margin:0}
.provenance{background:#f1f6ef;padding:.6em;border-radius:4px}
.problem{background:#fdecea;padding:.6em;border-radius:4px}
article.body p{max-width:40em}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3em;border-bottom:1px solid #ddd}
tr.current{background:#fff6d5}
.pages a{margin-right:1em}
article.print{page-break-inside:avoid;border-top:1px solid #999;margin-top:1.5em}
@media print{header,footer,nav,.noprint{display:none}body{background:#fff}main{max-width:none}}
)";
}

std::string Filters::query(std::size_t withPage) const {
  std::string s;
  auto add = [&](const char* name, const std::string& value) {
    if (value.empty()) return;
    s += (s.empty() ? "" : "&") + std::string(name) + "=" + encodeUrl(value);
  };
  add("q", q);
  add("tag", tag);
  add("source", source);
  add("from", from);
  add("until", until);
  if (perPage != 50) add("n", std::to_string(perPage));
  if (withPage > 1) add("page", std::to_string(withPage));
  return s;
}

std::string renderList(const ListView& view) {
  const auto& f = view.filters;
  std::string body = "<form class=\"filters\" method=\"get\" action=\"/\">";
  body += input("q", "Search", f.q, "search");
  body += input("tag", "Tag or region", f.tag);
  body += input("source", "Source", f.source);
  body += input("from", "From", f.from);
  body += input("until", "Until", f.until);
  body += "<button type=\"submit\">Show</button></form>\n";
  if (!view.problem.empty()) {
    body += "<p class=\"problem\">" + e(view.problem) + "</p>";
    return layout(view.nodeName, "Clippings", body);
  }
  std::string heading = f.any() ? "Clippings matching" : "Newest clippings";
  body += "<h1>" + heading + "</h1>";
  if (view.rows.empty()) {
    body += "<p>No clippings" + std::string(f.any() ? " match these filters." : " yet.") + "</p>";
  } else {
    body += rowsHtml(view.rows);
  }
  body += "<p class=\"pages\">";
  if (f.page > 1) body += "<a href=\"/?" + e(f.query(f.page - 1)) + "\">← newer</a>";
  if (view.hasNext) body += "<a href=\"/?" + e(f.query(f.page + 1)) + "\">older →</a>";
  if (!view.rows.empty())
    body += "<a href=\"/print?" + e(f.query(f.page)) + "\">printable view of this page</a>";
  body += "</p>";
  return layout(view.nodeName, f.q.empty() ? "Clippings" : "Search: " + f.q, body);
}

std::string renderClipping(const std::string& nodeName, const ClippingView& view) {
  const auto& c = view.clipping;
  std::string body = "<h1>" + e(c.title) + "</h1>";
  body += "<dl class=\"fields\">";
  body += field("source", c.source);
  body += field("authors", joined(c.authors));
  body += field("published", c.published);
  if (!c.url.empty()) body += "<dt>url</dt><dd><span class=\"url\">" + e(c.url) + "</span></dd>";
  if (!c.tags.empty()) body += "<dt>tags</dt><dd>" + tagsHtml(c.tags) + "</dd>";
  body += field("language", c.language);
  body += field("collection", c.collection);
  body += "<dt>id</dt><dd class=\"id\">" + view.id.hex() + "</dd></dl>";
  if (!view.corrections.empty()) {
    body += "<h2>Corrections</h2><ul class=\"corrections\">";
    for (const auto& line : view.corrections) body += "<li>" + e(line) + "</li>";
    body += "</ul>";
  }
  body += "<h2>Provenance</h2>" + provenanceHtml(view);
  body += "<h2>Text</h2><article class=\"body\">" + bodyHtml(c.body) + "</article>";
  return layout(nodeName, c.title, body);
}

std::string renderRetracted(const std::string& nodeName, const protocol::ObjectId& id,
                            const store::RetractionNotice& notice) {
  std::string body = "<h1>Retracted</h1><p class=\"id\">" + id.hex() + "</p>";
  body += "<p class=\"problem\">" + e(store::describeRetraction(notice)) + "</p>";
  return layout(nodeName, "Retracted clipping", body);
}

std::string renderReleases(const ReleasesView& view) {
  std::string body = "<h1>Releases</h1>";
  if (view.rows.empty())
    body += "<p>No releases yet.</p>";
  else
    body += releaseRowsHtml(view.rows);
  return layout(view.nodeName, "Releases", body);
}

std::string renderRelease(const ReleaseView& view) {
  const auto& r = view.release;
  const std::string ref = releaseRef(r.name, r.sequence);
  std::string body = "<h1>Release " + e(ref) + "</h1>";
  body += "<dl class=\"provenance\">";
  body += "<dt>verify</dt><dd>" + e(r.verdict) + ": " + e(view.sentence) + "</dd>";
  if (!view.problem.empty()) body += field("problem", view.problem);
  body += "<dt>signer</dt><dd>" + e(r.signer) + "<br><span class=\"key\">key " + view.signerKey +
          "</span></dd>";
  body += field("signed at", isoTime(r.signedAt));
  body += field("members", view.members);
  body += field("notes", view.notes);
  body += "<dt>id</dt><dd class=\"id\">" + r.id.hex() + "</dd></dl>";
  const std::string base = releaseLink(r.name, r.sequence);
  body += "<p class=\"noprint\"><a href=\"" + base + "/print\">Printable view</a> · <a href=\"" +
          base + "/manifest\">manifest (text)</a> · <a href=\"" + base +
          "/minisign.pub\">signer's minisign public key</a></p>";
  body +=
      "<p class=\"noprint meta\">The manifest is what <code>fieldsync release export</code> "
      "writes; its minisign signature is made on the signer's node by that command, since "
      "only the signer's key can sign it.</p>";
  body += "<h2>Chain</h2>" + releaseRowsHtml(view.chain);
  body += "<h2>Clippings</h2>";
  if (view.missing)
    body += "<p class=\"problem\">" + std::to_string(view.missing) +
            " listed clippings are not in this archive yet.</p>";
  body += rowsHtml(view.clippings);
  return layout(view.nodeName, "Release " + ref, body);
}

std::string renderStatus(const StatusView& view) {
  std::string body = "<h1>Status</h1><dl>";
  body += field("node", view.nodeName.empty() ? std::string("(unnamed)") : view.nodeName);
  body += "<dt>key</dt><dd class=\"key\">" + e(view.key) + "</dd>";
  body += field("objects", std::to_string(view.objects) + " (" + std::to_string(view.clippings) +
                               " clippings, " + std::to_string(view.releases) + " releases)");
  body += field("as of", isoTime(view.now));
  if (!view.paused.empty()) body += field("traffic", "paused " + view.paused);
  body += "</dl><h2>Peers</h2>";
  if (view.peers.empty()) {
    body += "<p>No peers listed.</p>";
  } else {
    body += "<table><thead><tr><th>peer</th><th>standing</th><th>waiting</th></tr></thead><tbody>";
    for (const auto& p : view.peers) {
      body +=
          "<tr><td>" + e(p.name) + "<br><span class=\"meta\">" +
          e(p.address.empty() ? std::string("stick only") : p.address) + "</span></td><td>" +
          e(p.standing) + "</td><td>" +
          (p.waiting ? std::to_string(*p.waiting) + " objects stored here since it was last in step"
                     : std::string("unknown (never in step)")) +
          "</td></tr>\n";
    }
    body += "</tbody></table>";
  }
  return layout(view.nodeName, "Status", body);
}

std::string renderPrint(const PrintView& view) {
  std::string body = "<h1>" + e(view.title) + "</h1>";
  if (!view.subtitle.empty()) body += "<p>" + e(view.subtitle) + "</p>";
  body += "<p class=\"meta\">" + std::to_string(view.clippings.size()) + " clippings" +
          (view.truncated ? " (the first ones: narrow the search to print the rest)" : "") + "</p>";
  for (const auto& c : view.clippings) {
    body += "<article class=\"print\"><h2>" + e(c.clipping.title) + "</h2><p class=\"meta\">";
    body += e(c.clipping.source) + (c.clipping.source.empty() ? "" : " · ");
    body += e(c.clipping.published.empty() ? std::string("undated") : c.clipping.published);
    if (!c.clipping.url.empty()) body += " · " + e(c.clipping.url);
    body += "</p><p class=\"meta\">" + trustBadge(c.trust) + " " + e(c.verdict) + ": " +
            e(c.sentence) + " · id " + c.id.hex() + "</p>";
    body += bodyHtml(c.clipping.body) + "</article>\n";
  }
  return layout(view.nodeName, view.title, body, true);
}

std::string renderError(const std::string& nodeName, int status, const std::string& message) {
  return layout(
      nodeName, std::to_string(status),
      "<h1>" + std::to_string(status) + "</h1><p class=\"problem\">" + e(message) + "</p>");
}

}  // namespace fieldsync::node::web
