#include "cli/output.h"

#include <ctime>
#include <ostream>

namespace fieldsync::cli {

std::string isoTime(std::int64_t unixSeconds) {
  std::time_t t = static_cast<std::time_t>(unixSeconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

nlohmann::json objectJson(const protocol::DecodedObject& object, bool withBody) {
  const auto& payload = object.payload;
  nlohmann::json j{{"id", object.id.hex()},
                   {"kind", protocol::kindName(payload.kind())},
                   {"signer", payload.signer.hex()},
                   {"signedAt", isoTime(payload.signedAt)}};
  if (const auto* c = payload.clipping()) {
    j["title"] = c->title;
    j["source"] = c->source;
    j["authors"] = c->authors;
    j["published"] = c->published;
    j["url"] = c->url;
    j["tags"] = c->tags;
    j["language"] = c->language;
    j["collection"] = c->collection;
    j["contentHash"] = protocol::contentHash(*c).hex();
    if (withBody) j["body"] = c->body;
  }
  return j;
}

namespace {

/// text cut at a character boundary to at most maxBytes, with "…" when cut: list lines stay
/// on one terminal line; `show` prints everything.
std::string shorten(const std::string& text, std::size_t maxBytes) {
  if (text.size() <= maxBytes) return text;
  std::size_t cut = maxBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "…";
}

}  // namespace

void printListLine(std::ostream& out, const protocol::DecodedObject& object) {
  out << object.id.hex().substr(0, 12) << "  ";
  if (const auto* c = object.payload.clipping()) {
    std::string date = c->published.empty() ? "----------" : c->published;
    date.resize(10, ' ');
    out << date << "  " << shorten(c->title, 80);
    if (!c->source.empty()) out << " (" << shorten(c->source, 40) << ")";
  } else {
    out << protocol::kindName(object.payload.kind()) << "  signed "
        << isoTime(object.payload.signedAt);
  }
  out << '\n';
}

void printObject(std::ostream& out, const protocol::DecodedObject& object) {
  const auto& payload = object.payload;
  auto field = [&](std::string_view name, const std::string& value) {
    if (!value.empty()) out << name << std::string(12 - name.size(), ' ') << value << '\n';
  };
  auto join = [](const std::vector<std::string>& items) {
    std::string s;
    for (const auto& item : items) s += (s.empty() ? "" : ", ") + item;
    return s;
  };
  field("id:", object.id.hex());
  field("kind:", std::string(protocol::kindName(payload.kind())));
  if (const auto* c = payload.clipping()) {
    field("title:", c->title);
    field("source:", c->source);
    field("authors:", join(c->authors));
    field("published:", c->published);
    field("url:", c->url);
    field("tags:", join(c->tags));
    field("language:", c->language);
    field("collection:", c->collection);
  }
  field("signer:", payload.signer.hex());
  field("signed at:", isoTime(payload.signedAt));
  if (const auto* c = payload.clipping(); c && !c->body.empty()) out << '\n' << c->body << '\n';
}

}  // namespace fieldsync::cli
