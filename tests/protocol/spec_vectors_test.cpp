// docs/protocol.md, "Object rules", checked: one probe object per rule the verifier enforces,
// built by hand with the generated schema (not with our encoder), signed with the vector key,
// and judged by verify() with the reason the document gives. A reader written from the
// document alone must judge every probe the same way.
//
// Also the retraction and minimal-clipping test vectors, and a check that every pinned hex
// string appears in docs/protocol.md, so the document and the code cannot drift apart.

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/object.h"
#include "protocol/text.h"
#include "schema/fieldsync.capnp.h"

namespace fieldsync::protocol {
namespace {

using Bytes = std::vector<std::uint8_t>;

// --- Keys and times of the vectors (as in object_test.cpp) -----------------------------------

/// The key whose seed is 00 01 02 .. 1f.
SecretKey vectorKey() {
  std::array<std::uint8_t, SEED_BYTES> seed{};
  std::iota(seed.begin(), seed.end(), std::uint8_t{0});
  return SecretKey::fromSeed(seed);
}

/// The key whose seed is 32 bytes of 0x01: the subject of the subject retraction.
SecretKey subjectKey() {
  std::array<std::uint8_t, SEED_BYTES> seed{};
  seed.fill(0x01);
  return SecretKey::fromSeed(seed);
}

constexpr std::int64_t VECTOR_SIGNED_AT = 1357862400;      // 2013-01-11T00:00:00Z
constexpr std::int64_t RETRACTION_SIGNED_AT = 1357948800;  // 2013-01-12T00:00:00Z

/// The id of the clipping vector in docs/protocol.md (tests/protocol/object_test.cpp).
constexpr std::string_view CLIPPING_VECTOR_ID =
    "21e8eaebe62adc6c16b23ad27a02f34bba1a4ab36e3d1740403b949687bef115";

Digest digestOf(std::string_view hex) { return *Digest::fromHex(hex); }

/// 32 bytes of b.
Digest filled(std::uint8_t b) {
  Digest d;
  d.bytes.fill(b);
  return d;
}

/// 01 02 .. 20 (bytes 1 to 32).
Digest countingId() {
  Digest d;
  std::iota(d.bytes.begin(), d.bytes.end(), std::uint8_t{1});
  return d;
}

// --- Building objects by hand ----------------------------------------------------------------

capnp::Text::Reader text(const std::string& s) {
  return {s.data(), s.size()};
}  // s.c_str() ends in NUL
capnp::Data::Reader asData(std::span<const std::uint8_t> b) { return {b.data(), b.size()}; }

template <typename ListBuilder>
void fillIds(ListBuilder list, const std::vector<Digest>& ids) {
  for (unsigned i = 0; i < ids.size(); ++i) list.set(i, asData(ids[i].bytes));
}

/// ids 1..n as 32-byte big-endian-ish counters: sorted and unique.
std::vector<Digest> manyIds(std::size_t n) {
  std::vector<Digest> ids(n);
  for (std::size_t i = 0; i < n; ++i) {
    ids[i].bytes[30] = static_cast<std::uint8_t>((i + 1) >> 8);
    ids[i].bytes[31] = static_cast<std::uint8_t>(i + 1);
    ids[i].bytes[29] = static_cast<std::uint8_t>((i + 1) >> 16);
  }
  return ids;
}

Bytes wordsToBytes(kj::ArrayPtr<const capnp::word> words) {
  auto b = words.asBytes();
  return {b.begin(), b.end()};
}

/// The canonical bytes of a Payload filled by fill, signed by the vector key at VECTOR_SIGNED_AT.
Bytes payloadBytes(const std::function<void(schema::Payload::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  auto p = message.initRoot<schema::Payload>();
  auto pk = vectorKey().publicKey();
  p.setSigner(asData(pk.bytes));
  p.setSignedAt(VECTOR_SIGNED_AT);
  fill(p);
  return wordsToBytes(capnp::canonicalize(p.asReader()));
}

/// A SignedObject around payload, signed (over SIG_TAG || id) by the vector key.
Bytes signedObject(const Bytes& payload) {
  auto id = objectId(payload);
  Bytes message(SIG_TAG.begin(), SIG_TAG.end());
  message.insert(message.end(), id.bytes.begin(), id.bytes.end());
  auto signature = vectorKey().sign(message);
  capnp::MallocMessageBuilder outer;
  auto root = outer.initRoot<schema::SignedObject>();
  root.setPayload(asData(payload));
  root.setSignature(asData(signature.bytes));
  return wordsToBytes(capnp::canonicalize(root.asReader()));
}

/// A message built through AnyPointer, as one canonical segment (the builder allocates in
/// pre-order when filled in pre-order; the test checks canonicity where it matters).
Bytes segmentOf(capnp::MallocMessageBuilder& message) {
  auto flat = capnp::messageToFlatArray(message);
  EXPECT_EQ(message.getSegmentsForOutput().size(), 1u);
  return Bytes(flat.asBytes().begin() + 8, flat.asBytes().end());  // drop the segment table
}

/// With FIELDSYNC_SPEC_PROBES_OUT set, every judged object is appended to that file as
/// "verdict<TAB>test/rule<TAB>hex", so a reader written elsewhere can be run on the same probes.
void record(const Bytes& object, const Expected<VerifiedObject, Rejection>& result,
            std::string_view rule) {
  static const char* path = std::getenv("FIELDSYNC_SPEC_PROBES_OUT");
  if (path == nullptr) return;
  std::ofstream out(path, std::ios::app);
  out << (result ? std::string("accepted") : std::string(reasonName(result.error().reason))) << '\t'
      << ::testing::UnitTest::GetInstance()->current_test_info()->name() << '/' << rule << '\t'
      << toHex(object) << '\n';
}

Expected<VerifiedObject, Rejection> judged(const Bytes& object, std::string_view rule = "") {
  auto result = verify(object);
  record(object, result, rule);
  return result;
}

std::optional<Reason> judge(const Bytes& object) {
  auto result = judged(object);
  if (result) return std::nullopt;
  return result.error().reason;
}

std::string describe(std::optional<Reason> reason) {
  return reason ? std::string(reasonName(*reason)) : std::string("accepted");
}

// --- The probes ------------------------------------------------------------------------------

struct Probe {
  std::string rule;  // the rule of docs/protocol.md it pins
  std::function<void(schema::Payload::Builder)> fill;
  std::optional<Reason> expected;  // empty: accepted
};

constexpr auto INVALID = Reason::InvalidField;
constexpr std::optional<Reason> OK = std::nullopt;

/// A clipping titled "A title" with one text field set by set.
std::function<void(schema::Payload::Builder)> clippingWith(
    std::function<void(schema::Clipping::Builder)> set) {
  return [set](schema::Payload::Builder p) {
    auto c = p.initBody().initClipping();
    c.setTitle("A title");
    set(c);
  };
}

std::function<void(schema::Payload::Builder)> titled(std::string title) {
  return [title](schema::Payload::Builder p) { p.initBody().initClipping().setTitle(text(title)); };
}

std::function<void(schema::Payload::Builder)> tagged(std::vector<std::string> tags) {
  return clippingWith([tags](schema::Clipping::Builder c) {
    auto list = c.initTags(static_cast<unsigned>(tags.size()));
    for (unsigned i = 0; i < tags.size(); ++i) list.set(i, text(tags[i]));
  });
}

std::function<void(schema::Payload::Builder)> authored(std::vector<std::string> authors) {
  return clippingWith([authors](schema::Clipping::Builder c) {
    auto list = c.initAuthors(static_cast<unsigned>(authors.size()));
    for (unsigned i = 0; i < authors.size(); ++i) list.set(i, text(authors[i]));
  });
}

std::function<void(schema::Payload::Builder)> publishedOn(std::string date) {
  return clippingWith([date](schema::Clipping::Builder c) { c.setPublished(text(date)); });
}

std::function<void(schema::Payload::Builder)> bodyOf(std::string body) {
  return clippingWith([body](schema::Clipping::Builder c) { c.setBody(text(body)); });
}

struct ReleaseSpec {
  std::optional<std::string> name = "weekly";
  std::uint64_t sequence = 1;
  std::optional<Bytes> previous{};
  std::vector<Digest> clippings{};
  std::optional<std::string> notes{};
  std::vector<Digest> parts{};
};

std::function<void(schema::Payload::Builder)> release(ReleaseSpec s) {
  return [s](schema::Payload::Builder p) {
    auto r = p.initBody().initRelease();
    if (s.name) r.setName(text(*s.name));
    r.setSequence(s.sequence);
    if (s.previous) r.setPrevious(asData(*s.previous));
    if (!s.clippings.empty())
      fillIds(r.initClippings(static_cast<unsigned>(s.clippings.size())), s.clippings);
    if (s.notes) r.setNotes(text(*s.notes));
    if (!s.parts.empty()) fillIds(r.initParts(static_cast<unsigned>(s.parts.size())), s.parts);
  };
}

struct PartSpec {
  std::optional<std::string> name = "weekly";
  std::uint64_t sequence = 1;
  std::uint32_t index = 1;
  std::vector<Digest> clippings = {filled(1)};
};

std::function<void(schema::Payload::Builder)> part(PartSpec s) {
  return [s](schema::Payload::Builder p) {
    auto r = p.initBody().initReleasePart();
    if (s.name) r.setName(text(*s.name));
    r.setSequence(s.sequence);
    r.setIndex(s.index);
    if (!s.clippings.empty())
      fillIds(r.initClippings(static_cast<unsigned>(s.clippings.size())), s.clippings);
  };
}

struct RetractionSpec {
  std::vector<Digest> clippings = {filled(1)};
  std::optional<Bytes> subject{};
  std::int64_t since = 0;
  std::optional<std::string> reason = "duplicate";
};

std::function<void(schema::Payload::Builder)> retraction(RetractionSpec s) {
  return [s](schema::Payload::Builder p) {
    auto r = p.initBody().initRetraction();
    if (!s.clippings.empty())
      fillIds(r.initClippings(static_cast<unsigned>(s.clippings.size())), s.clippings);
    if (s.subject) r.setSubject(asData(*s.subject));
    r.setSince(s.since);
    if (s.reason) r.setReason(text(*s.reason));
  };
}

Bytes key32() { return Bytes(32, 0x42); }

struct AnnotationSpec {
  std::optional<Bytes> clipping = Bytes(32, 0x11);
  std::optional<std::string> title = "A better title";
  std::vector<std::string> addTags{};
  std::vector<std::string> removeTags{};
  std::optional<Bytes> duplicateOf{};
  std::optional<std::string> reason{};
};

std::function<void(schema::Payload::Builder)> annotation(AnnotationSpec s) {
  return [s](schema::Payload::Builder p) {
    auto a = p.initBody().initAnnotation();
    if (s.clipping) a.setClipping(asData(*s.clipping));
    if (s.title) a.setTitle(text(*s.title));
    auto tags = [](auto list, const std::vector<std::string>& values) {
      for (unsigned i = 0; i < values.size(); ++i) list.set(i, text(values[i]));
    };
    if (!s.addTags.empty()) tags(a.initAddTags(static_cast<unsigned>(s.addTags.size())), s.addTags);
    if (!s.removeTags.empty())
      tags(a.initRemoveTags(static_cast<unsigned>(s.removeTags.size())), s.removeTags);
    if (s.duplicateOf) a.setDuplicateOf(asData(*s.duplicateOf));
    if (s.reason) a.setReason(text(*s.reason));
  };
}

std::vector<std::string> numberedTags(std::size_t n) {
  std::vector<std::string> tags;
  for (std::size_t i = 0; i < n; ++i)
    tags.push_back("t" + std::string(3 - std::to_string(i).size(), '0') + std::to_string(i));
  return tags;
}

std::function<void(schema::Payload::Builder)> keyCert(std::optional<Bytes> subject,
                                                      std::uint16_t role, std::string name,
                                                      std::int64_t validUntil) {
  return [=](schema::Payload::Builder p) {
    auto k = p.initBody().initKeyCert();
    if (subject) k.setSubject(asData(*subject));
    k.setRole(static_cast<schema::Role>(role));
    if (!name.empty()) k.setName(text(name));
    k.setValidUntil(validUntil);
  };
}

std::function<void(schema::Payload::Builder)> revocation(std::optional<Bytes> subject,
                                                         std::int64_t since, std::string reason) {
  return [=](schema::Payload::Builder p) {
    auto r = p.initBody().initRevocation();
    if (subject) r.setSubject(asData(*subject));
    r.setSince(since);
    if (!reason.empty()) r.setReason(text(reason));
  };
}

std::string repeat(std::string_view unit, std::size_t n) {
  std::string s;
  s.reserve(unit.size() * n);
  for (std::size_t i = 0; i < n; ++i) s += unit;
  return s;
}

std::vector<std::string> numbered(std::string_view prefix, std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::string s(prefix);
    s += static_cast<char>('a' + i / 26 % 26);
    s += static_cast<char>('a' + i % 26);
    out.push_back(s);
  }
  return out;
}

std::vector<Probe> probes() {
  const Bytes prev(32, 0x07);
  const Bytes short31(31, 0x07);
  std::vector<Digest> unsorted = {filled(2), filled(1)};
  std::vector<Digest> dup = {filled(1), filled(1)};
  return {
      // Payload
      {"signedAt: any Int64 (least)",
       [](schema::Payload::Builder p) {
         p.setSignedAt(std::numeric_limits<std::int64_t>::min());
         p.initBody().initClipping().setTitle("A title");
       },
       OK},
      {"signedAt: any Int64 (greatest)",
       [](schema::Payload::Builder p) {
         p.setSignedAt(std::numeric_limits<std::int64_t>::max());
         p.initBody().initClipping().setTitle("A title");
       },
       OK},
      {"signer: 32 bytes",
       [](schema::Payload::Builder p) {
         p.setSigner(asData(Bytes(31, 1)));
         p.initBody().initClipping().setTitle("A title");
       },
       INVALID},

      // Clipping: presence
      {"clipping: title required",
       [](schema::Payload::Builder p) { p.initBody().initClipping().setSource("Somewhere"); },
       INVALID},
      {"clipping: a title alone is a clipping", titled("A title"), OK},
      {"unset vs empty: a set but empty text is non-canonical",
       clippingWith([](auto c) { c.setSource(""); }), Reason::NonCanonical},
      {"unset vs empty: a set but empty list is non-canonical",
       clippingWith([](auto c) { c.initTags(0); }), Reason::NonCanonical},
      {"unset vs empty: an empty author is non-canonical", authored({"A", ""}),
       Reason::NonCanonical},
      {"unset vs empty: an empty tag is non-canonical", tagged({""}), Reason::NonCanonical},

      // Whitespace: trimmed and collapsed fields
      {"collapsed: title leading space", titled(" A title"), INVALID},
      {"collapsed: title trailing tab", titled("A title\t"), INVALID},
      {"collapsed: title two spaces", titled("A  title"), INVALID},
      {"collapsed: title inner tab", titled("A\ttitle"), INVALID},
      {"collapsed: title inner LF", titled("A\ntitle"), INVALID},
      {"collapsed: title inner VT", titled("A\vtitle"), INVALID},
      {"collapsed: title inner FF", titled("A\ftitle"), INVALID},
      {"collapsed: title inner CR", titled("A\rtitle"), INVALID},
      {"collapsed: title inner U+00A0", titled("A\xC2\xA0title"), INVALID},
      {"collapsed: title trailing U+00A0", titled("A title\xC2\xA0"), INVALID},
      {"whitespace set: U+2003 em space is not whitespace", titled("A\xE2\x80\x83title"), OK},
      {"whitespace set: U+3000 at the end is not whitespace", titled("A title\xE3\x80\x80"), OK},
      {"whitespace set: U+0085 (NEL) is not whitespace", titled("A\xC2\x85title"), OK},
      {"whitespace set: U+200B is not whitespace",
       titled("\xE2\x80\x8B"
              "A title"),
       OK},
      {"collapsed: source two spaces", clippingWith([](auto c) { c.setSource("Foreign  Policy"); }),
       INVALID},
      {"collapsed: collection two spaces",
       clippingWith([](auto c) { c.setCollection("test  vectors"); }), INVALID},
      {"collapsed: collection inner tab",
       clippingWith([](auto c) { c.setCollection("test\tvectors"); }), INVALID},
      {"collapsed: collection trailing U+00A0",
       clippingWith([](auto c) { c.setCollection("test vectors\xC2\xA0"); }), INVALID},
      {"collapsed: collection one inner space",
       clippingWith([](auto c) { c.setCollection("test vectors"); }), OK},
      {"collapsed: author two spaces", authored({"David  Kaye"}), INVALID},
      {"collapsed: author leading space", authored({" David Kaye"}), INVALID},
      {"authors: order as given, duplicates kept", authored({"Zed", "Abe", "Zed"}), OK},
      {"collapsed: tag two spaces", tagged({"region:  syria"}), INVALID},
      {"collapsed: tag inner U+00A0", tagged({"region:\xC2\xA0syria"}), INVALID},
      {"collapsed: tag one inner space", tagged({"region: syria"}), OK},
      {"trimmed only: url with an inner space",
       clippingWith([](auto c) { c.setUrl("https://example.org/a b"); }), OK},
      {"trimmed only: url with an inner tab and two spaces",
       clippingWith([](auto c) { c.setUrl("https://example.org/a\t  b"); }), OK},
      {"trimmed only: url leading space",
       clippingWith([](auto c) { c.setUrl(" https://example.org/"); }), INVALID},
      {"trimmed only: language trailing space", clippingWith([](auto c) { c.setLanguage("en "); }),
       INVALID},
      {"trimmed only: language inner spaces", clippingWith([](auto c) { c.setLanguage("en  GB"); }),
       OK},
      {"trimmed only: published leading space", publishedOn(" 2013"), INVALID},

      // Body
      {"body: kept as written inside", bodyOf("  Indented.\tTabs  and  runs.\n\n\nStill."), OK},
      {"body: no CR", bodyOf("One.\r\nTwo."), INVALID},
      {"body: no lone CR", bodyOf("One.\rTwo."), INVALID},
      {"body: no trailing LF", bodyOf("One.\n"), INVALID},
      {"body: no trailing space", bodyOf("One. "), INVALID},
      {"body: no trailing U+00A0", bodyOf("One.\xC2\xA0"), INVALID},
      {"body: no blank first line", bodyOf("\nOne."), INVALID},
      {"body: no whitespace-only first line", bodyOf(" \t\nOne."), INVALID},
      {"body: no U+00A0-only first line", bodyOf("\xC2\xA0\nOne."), INVALID},
      {"body: a leading space on a text line is kept", bodyOf(" One.\nTwo."), OK},

      // Tags
      {"tags: ASCII capitals refused", tagged({"Region:syria"}), INVALID},
      {"tags: lowercasing is ASCII only, so non-ASCII capitals stay", tagged({"région:É"}), OK},
      {"tags: sorted", tagged({"b", "a"}), INVALID},
      {"tags: unique", tagged({"a", "a"}), INVALID},
      {"tags: sorted by bytes (0x62 < 0xC3)", tagged({"b", "é"}), OK},
      {"tags: sorted by bytes, not by letters", tagged({"é", "f"}), INVALID},
      {"tags: space sorts before hyphen", tagged({"a b", "a-b"}), OK},

      // Dates
      {"published: year", publishedOn("2013"), OK},
      {"published: month", publishedOn("2013-01"), OK},
      {"published: day", publishedOn("2013-01-11"), OK},
      {"published: year 0000", publishedOn("0000"), OK},
      {"published: month 13", publishedOn("2013-13"), INVALID},
      {"published: month 00", publishedOn("2013-00"), INVALID},
      {"published: day 00", publishedOn("2013-01-00"), INVALID},
      {"published: 2013-02-29 is not a day", publishedOn("2013-02-29"), INVALID},
      {"published: 2012-02-29 is a day", publishedOn("2012-02-29"), OK},
      {"published: 1900-02-29 is not a day", publishedOn("1900-02-29"), INVALID},
      {"published: 2000-02-29 is a day", publishedOn("2000-02-29"), OK},
      {"published: 2013-04-31 is not a day", publishedOn("2013-04-31"), INVALID},
      {"published: one-digit month", publishedOn("2013-1-11"), INVALID},
      {"published: two-digit year", publishedOn("13"), INVALID},
      {"published: five-digit year", publishedOn("20130"), INVALID},
      {"published: with a time", publishedOn("2013-01-11T00:00:00Z"), INVALID},
      {"published: words", publishedOn("January 2013"), INVALID},
      {"published: slashes", publishedOn("2013/01/11"), INVALID},

      // UTF-8
      {"utf-8: NUL refused", titled(std::string("A\0title", 7)), INVALID},
      {"utf-8: stray continuation", titled("A\x80title"), INVALID},
      {"utf-8: overlong two bytes", titled("A\xC0\xAFtitle"), INVALID},
      {"utf-8: overlong two bytes (C1)", titled("A\xC1\xBFtitle"), INVALID},
      {"utf-8: overlong three bytes", titled("A\xE0\x80\xAFtitle"), INVALID},
      {"utf-8: overlong four bytes", titled("A\xF0\x80\x80\xAFtitle"), INVALID},
      {"utf-8: surrogate", titled("A\xED\xA0\x80title"), INVALID},
      {"utf-8: above U+10FFFF", titled("A\xF4\x90\x80\x80title"), INVALID},
      {"utf-8: F5", titled("A\xF5\x80\x80\x80title"), INVALID},
      {"utf-8: truncated", titled("A title\xE2\x82"), INVALID},
      {"utf-8: U+FFFF is allowed", titled("A\xEF\xBF\xBFtitle"), OK},
      {"utf-8: U+10FFFF is allowed", titled("A\xF4\x8F\xBF\xBFtitle"), OK},
      {"utf-8: C0 controls other than whitespace are allowed", titled("A\x01title\x1B"), OK},
      {"utf-8: in the body too", bodyOf("A\xFF"), INVALID},
      {"utf-8: in a tag too", tagged({"a\xFF"}), INVALID},

      // Clipping bounds (bytes, not characters)
      {"bounds: title 1024 bytes", titled(std::string(1024, 'x')), OK},
      {"bounds: title 1025 bytes", titled(std::string(1025, 'x')), INVALID},
      {"bounds: title of 512 two-byte characters", titled(repeat("é", 512)), OK},
      {"bounds: title of 513 two-byte characters", titled(repeat("é", 513)), INVALID},
      {"bounds: source 4096",
       clippingWith([](auto c) { c.setSource(text(std::string(4096, 's'))); }), OK},
      {"bounds: source 4097",
       clippingWith([](auto c) { c.setSource(text(std::string(4097, 's'))); }), INVALID},
      {"bounds: url 4097", clippingWith([](auto c) { c.setUrl(text(std::string(4097, 'u'))); }),
       INVALID},
      {"bounds: language 4097",
       clippingWith([](auto c) { c.setLanguage(text(std::string(4097, 'l'))); }), INVALID},
      {"bounds: collection 4096",
       clippingWith([](auto c) { c.setCollection(text(std::string(4096, 'c'))); }), OK},
      {"bounds: collection 4097",
       clippingWith([](auto c) { c.setCollection(text(std::string(4097, 'c'))); }), INVALID},
      {"bounds: body 1 MiB", bodyOf(std::string(1u << 20, 'b')), OK},
      {"bounds: body 1 MiB + 1", bodyOf(std::string((1u << 20) + 1, 'b')), INVALID},
      {"bounds: author 4096", authored({std::string(4096, 'a')}), OK},
      {"bounds: author 4097", authored({std::string(4097, 'a')}), INVALID},
      {"bounds: 64 authors", authored(numbered("author ", 64)), OK},
      {"bounds: 65 authors", authored(numbered("author ", 65)), INVALID},
      {"bounds: tag 128", tagged({std::string(128, 't')}), OK},
      {"bounds: tag 129", tagged({std::string(129, 't')}), INVALID},
      {"bounds: 64 tags", tagged(numbered("tag:", 64)), OK},
      {"bounds: 65 tags", tagged(numbered("tag:", 65)), INVALID},

      // Release
      {"release: the smallest, no members", release({}), OK},
      {"release: name required", release({.name = std::nullopt}), INVALID},
      {"release: name 128 bytes", release({.name = std::string(128, 'n')}), OK},
      {"release: name 129 bytes", release({.name = std::string(129, 'n')}), INVALID},
      {"release: name not UTF-8", release({.name = "week\xFF"}), INVALID},
      {"release: name with a tab", release({.name = "weekly\tbrief"}), INVALID},
      {"release: name with LF", release({.name = "weekly\nbrief"}), INVALID},
      {"release: name with DEL", release({.name = "weekly\x7F"}), INVALID},
      {"release: name with U+0085 (C1 is allowed)", release({.name = "weekly\xC2\x85"}), OK},
      {"release: name leading space", release({.name = " weekly"}), INVALID},
      {"release: name trailing U+00A0", release({.name = "weekly\xC2\xA0"}), INVALID},
      {"release: name inner runs of spaces are kept", release({.name = "weekly  brief"}), OK},
      {"release: name inner U+00A0",
       release({.name = "weekly\xC2\xA0"
                        "brief"}),
       OK},
      {"release: sequence 0", release({.sequence = 0}), INVALID},
      {"release: sequence 1 with previous", release({.previous = prev}), INVALID},
      {"release: sequence 2 without previous", release({.sequence = 2}), INVALID},
      {"release: sequence 2 with previous", release({.sequence = 2, .previous = prev}), OK},
      {"release: sequence 2^64-1", release({.sequence = ~std::uint64_t{0}, .previous = prev}), OK},
      {"release: previous 31 bytes", release({.sequence = 2, .previous = short31}), INVALID},
      {"unset vs empty: a set but empty Data fails its length", release({.previous = Bytes{}}),
       INVALID},
      {"release: clippings sorted", release({.clippings = unsorted}), INVALID},
      {"release: clippings unique", release({.clippings = dup}), INVALID},
      {"release: 32768 clippings", release({.clippings = manyIds(32768)}), OK},
      {"release: 32769 clippings", release({.clippings = manyIds(32769)}), INVALID},
      {"release: parts and clippings", release({.clippings = {filled(1)}, .parts = {filled(2)}}),
       INVALID},
      {"release: parts in index order, not sorted", release({.parts = unsorted}), OK},
      {"release: parts unique", release({.parts = dup}), INVALID},
      {"release: 1024 parts", release({.parts = manyIds(1024)}), OK},
      {"release: 1025 parts", release({.parts = manyIds(1025)}), INVALID},
      {"release: notes 64 KiB", release({.notes = std::string(65536, 'n')}), OK},
      {"release: notes 64 KiB + 1", release({.notes = std::string(65537, 'n')}), INVALID},
      {"release: notes as written (no whitespace rules)", release({.notes = "  Week 48\r\n\n"}),
       OK},
      {"release: notes with NUL", release({.notes = std::string("a\0b", 3)}), INVALID},

      // Release parts
      {"part: smallest", part({}), OK},
      {"part: name required", part({.name = std::nullopt}), INVALID},
      {"part: name rules as a release's", part({.name = "weekly "}), INVALID},
      {"part: sequence 0", part({.sequence = 0}), INVALID},
      {"part: index 0", part({.index = 0}), INVALID},
      {"part: index 1024", part({.index = 1024}), OK},
      {"part: index 1025", part({.index = 1025}), INVALID},
      {"part: at least one clipping", part({.clippings = {}}), INVALID},
      {"part: clippings sorted", part({.clippings = unsorted}), INVALID},
      {"part: clippings unique", part({.clippings = dup}), INVALID},
      {"part: 32768 clippings", part({.clippings = manyIds(32768)}), OK},
      {"part: 32769 clippings", part({.clippings = manyIds(32769)}), INVALID},

      // Retraction
      {"retraction: listed clippings", retraction({}), OK},
      {"retraction: subject alone", retraction({.clippings = {}, .subject = key32()}), OK},
      {"retraction: subject and since", retraction({.subject = key32(), .since = 100}), OK},
      {"retraction: neither clippings nor subject", retraction({.clippings = {}}), INVALID},
      {"retraction: clippings sorted", retraction({.clippings = unsorted}), INVALID},
      {"retraction: clippings unique", retraction({.clippings = dup}), INVALID},
      {"retraction: 32768 clippings", retraction({.clippings = manyIds(32768)}), OK},
      {"retraction: 32769 clippings", retraction({.clippings = manyIds(32769)}), INVALID},
      {"retraction: subject 31 bytes", retraction({.subject = short31}), INVALID},
      {"retraction: subject set but empty", retraction({.subject = Bytes{}}), INVALID},
      {"retraction: since negative", retraction({.subject = key32(), .since = -1}), INVALID},
      {"retraction: since without subject", retraction({.since = 1}), INVALID},
      {"retraction: reason required", retraction({.reason = std::nullopt}), INVALID},
      {"retraction: reason 4096", retraction({.reason = std::string(4096, 'r')}), OK},
      {"retraction: reason 4097", retraction({.reason = std::string(4097, 'r')}), INVALID},
      {"retraction: reason as written (no whitespace rules)",
       retraction({.reason = " two  lines\r\n"}), OK},
      {"retraction: reason not UTF-8", retraction({.reason = "bad\xC0\xAF"}), INVALID},

      // Annotations
      {"annotation: a new title", annotation({}), OK},
      {"annotation: tags alone", annotation({.title = std::nullopt, .addTags = {"region:mali"}}),
       OK},
      {"annotation: a duplicate mark alone",
       annotation({.title = std::nullopt, .duplicateOf = Bytes(32, 0x22)}), OK},
      {"annotation: everything",
       annotation({.addTags = {"a", "b"},
                   .removeTags = {"c"},
                   .duplicateOf = Bytes(32, 0x22),
                   .reason = "first sentence was the title"}),
       OK},
      {"annotation: clipping required", annotation({.clipping = std::nullopt}), INVALID},
      {"annotation: clipping 31 bytes", annotation({.clipping = Bytes(31, 0x11)}), INVALID},
      {"annotation: changes nothing", annotation({.title = std::nullopt, .reason = "why"}),
       INVALID},
      {"annotation: title 1024", annotation({.title = std::string(1024, 't')}), OK},
      {"annotation: title 1025", annotation({.title = std::string(1025, 't')}), INVALID},
      {"annotation: title untrimmed", annotation({.title = " A title"}), INVALID},
      {"annotation: title two spaces", annotation({.title = "A  title"}), INVALID},
      {"annotation: title not UTF-8", annotation({.title = "A\xC0\xAF"}), INVALID},
      {"annotation: added tags sorted", annotation({.addTags = {"b", "a"}}), INVALID},
      {"annotation: added tags unique", annotation({.addTags = {"a", "a"}}), INVALID},
      {"annotation: added tag lowercase", annotation({.addTags = {"Region:mali"}}), INVALID},
      {"annotation: removed tags sorted", annotation({.removeTags = {"b", "a"}}), INVALID},
      {"annotation: 64 tags", annotation({.addTags = numberedTags(64)}), OK},
      {"annotation: 65 tags", annotation({.addTags = numberedTags(65)}), INVALID},
      {"annotation: 65 removed tags", annotation({.removeTags = numberedTags(65)}), INVALID},
      {"annotation: tag 129 bytes", annotation({.addTags = {std::string(129, 't')}}), INVALID},
      {"annotation: a tag added and removed", annotation({.addTags = {"a"}, .removeTags = {"a"}}),
       INVALID},
      {"annotation: duplicate of itself", annotation({.duplicateOf = Bytes(32, 0x11)}), INVALID},
      {"annotation: duplicateOf 31 bytes", annotation({.duplicateOf = Bytes(31, 0x22)}), INVALID},
      {"annotation: reason 4096", annotation({.reason = std::string(4096, 'r')}), OK},
      {"annotation: reason 4097", annotation({.reason = std::string(4097, 'r')}), INVALID},
      {"annotation: reason as written", annotation({.reason = " two  lines\r\n"}), OK},

      // Key certificates
      {"keyCert: smallest", keyCert(key32(), 0, "", 0), OK},
      {"keyCert: coordinator, named, expiring", keyCert(key32(), 1, "Goma office", 1), OK},
      {"keyCert: subject required", keyCert(std::nullopt, 0, "", 0), INVALID},
      {"keyCert: subject 31 bytes", keyCert(short31, 0, "", 0), INVALID},
      {"keyCert: role 2 is unknown", keyCert(key32(), 2, "", 0), INVALID},
      {"keyCert: name 4096", keyCert(key32(), 0, std::string(4096, 'n'), 0), OK},
      {"keyCert: name 4097", keyCert(key32(), 0, std::string(4097, 'n'), 0), INVALID},
      {"keyCert: name as written", keyCert(key32(), 0, " Goma\toffice ", 0), OK},
      {"keyCert: name not UTF-8", keyCert(key32(), 0, "Goma\xFF", 0), INVALID},
      {"keyCert: validUntil negative", keyCert(key32(), 0, "", -1), INVALID},

      // Revocations
      {"revocation: smallest", revocation(key32(), 0, ""), OK},
      {"revocation: subject required", revocation(std::nullopt, 0, ""), INVALID},
      {"revocation: since negative", revocation(key32(), -1, ""), INVALID},
      {"revocation: reason 4096", revocation(key32(), 0, std::string(4096, 'r')), OK},
      {"revocation: reason 4097", revocation(key32(), 0, std::string(4097, 'r')), INVALID},
      {"revocation: reason not UTF-8", revocation(key32(), 0, "lost\xED\xA0\x80"), INVALID},

      // Order of checks: structure (non-canonical) before field rules
      {"order: a set but empty field is reported before a missing title",
       [](schema::Payload::Builder p) { p.initBody().initClipping().setSource(""); },
       Reason::NonCanonical},
  };
}

TEST(SpecProbes, EveryRuleIsJudgedAsTheDocumentSays) {
  for (const Probe& probe : probes()) {
    SCOPED_TRACE(probe.rule);
    auto object = signedObject(payloadBytes(probe.fill));
    auto result = judged(object, probe.rule);
    const std::optional<Reason> got =
        result ? std::nullopt : std::optional<Reason>(result.error().reason);
    EXPECT_EQ(describe(got), describe(probe.expected))
        << probe.rule << (result ? "" : ": " + result.error().message());
    // What verify() accepts, sign() makes again byte for byte: one content, one encoding.
    if (result) {
      auto again = sign(result->payload(), vectorKey());
      ASSERT_TRUE(again.ok()) << again.error().message();
      EXPECT_TRUE(std::ranges::equal(again->bytes(), object)) << probe.rule;
    }
  }
}

// --- Probes below the schema: framing, canonical form, signatures ----------------------------

Bytes goodObject() { return signedObject(payloadBytes(titled("A title"))); }

TEST(SpecProbes, OversizedIsJudgedBeforeAnythingElse) {
  EXPECT_EQ(judge(Bytes((2u << 20) + 8, 0xff)), Reason::Oversized);
  Bytes justUnder((2u << 20), 0xff);
  EXPECT_NE(judge(justUnder), Reason::Oversized);
}

TEST(SpecProbes, NotWholeWordsIsMalformed) {
  EXPECT_EQ(judge({}), Reason::Malformed);
  auto good = goodObject();
  EXPECT_EQ(judge(Bytes(good.begin(), good.end() - 1)), Reason::Malformed);
}

TEST(SpecProbes, TrailingWordIsNonCanonical) {
  auto bad = goodObject();
  bad.resize(bad.size() + 8, 0);
  EXPECT_EQ(judge(bad), Reason::NonCanonical);
}

TEST(SpecProbes, SignedObjectWithoutPayloadIsMalformed) {
  capnp::MallocMessageBuilder outer;
  auto root = outer.initRoot<schema::SignedObject>();
  root.setSignature(asData(Bytes(64, 1)));
  EXPECT_EQ(judge(wordsToBytes(capnp::canonicalize(root.asReader()))), Reason::Malformed);
}

TEST(SpecProbes, SignatureOfTheWrongLengthIsInvalid) {
  auto payload = payloadBytes(titled("A title"));
  for (std::size_t length : {std::size_t{0}, std::size_t{63}, std::size_t{65}}) {
    capnp::MallocMessageBuilder outer;
    auto root = outer.initRoot<schema::SignedObject>();
    root.setPayload(asData(payload));
    if (length) root.setSignature(asData(Bytes(length, 1)));
    EXPECT_EQ(judge(wordsToBytes(capnp::canonicalize(root.asReader()))), Reason::InvalidField)
        << length;
  }
}

TEST(SpecProbes, SignatureByAnotherKeyOrOverOtherBytesIsBad) {
  auto payload = payloadBytes(titled("A title"));
  auto id = objectId(payload);
  Bytes message(SIG_TAG.begin(), SIG_TAG.end());
  message.insert(message.end(), id.bytes.begin(), id.bytes.end());
  const Bytes idOnly(id.bytes.begin(), id.bytes.end());
  for (Signature signature : {subjectKey().sign(message),    // another key
                              vectorKey().sign(idOnly),      // without the tag
                              vectorKey().sign(payload)}) {  // over the payload, not the id
    capnp::MallocMessageBuilder outer;
    auto root = outer.initRoot<schema::SignedObject>();
    root.setPayload(asData(payload));
    root.setSignature(asData(signature.bytes));
    EXPECT_EQ(judge(wordsToBytes(capnp::canonicalize(root.asReader()))), Reason::BadSignature);
  }
}

TEST(SpecProbes, InvalidFieldIsReportedBeforeABadSignature) {
  auto payload = payloadBytes(titled(" untrimmed"));
  capnp::MallocMessageBuilder outer;
  auto root = outer.initRoot<schema::SignedObject>();
  root.setPayload(asData(payload));
  root.setSignature(asData(Bytes(64, 0)));
  EXPECT_EQ(judge(wordsToBytes(capnp::canonicalize(root.asReader()))), Reason::InvalidField);
}

/// A release payload (its data section holds the union tag, so it has two words): bytes 16
/// and 17 are the tag, bytes 18 to 23 padding.
Bytes releasePayload() { return payloadBytes(release({})); }

TEST(SpecProbes, UnknownBodyKindIsUnknownKind) {
  auto payload = releasePayload();
  ASSERT_EQ(payload[16], 1);  // the release's union tag
  payload[16] = 7;            // the first tag this version does not know
  EXPECT_EQ(judge(signedObject(payload)), Reason::UnknownKind);
}

TEST(SpecProbes, PaddingBitsOutsideTheSchemaAreNonCanonical) {
  auto payload = releasePayload();
  payload[18] = 1;  // bits 80..87 of the data section: no field
  auto result = judged(signedObject(payload));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().reason, Reason::NonCanonical);
  EXPECT_NE(result.error().detail.find("outside the schema"), std::string::npos)
      << result.error().detail;
}

TEST(SpecProbes, InvalidFieldIsReportedBeforeBitsOutsideTheSchema) {
  auto payload = payloadBytes(release({.sequence = 0}));
  payload[18] = 1;
  EXPECT_EQ(judge(signedObject(payload)), Reason::InvalidField);
}

TEST(SpecProbes, AFieldThisVersionDoesNotKnowIsNonCanonical) {
  // A clipping with a tenth pointer (ordinal @9 of a later version), as one canonical segment.
  capnp::MallocMessageBuilder message;
  auto payload = message.getRoot<capnp::AnyPointer>().initAsAnyStruct(1, 2);
  auto pk = vectorKey().publicKey();
  payload.getPointerSection()[0].setAs<capnp::Data>(asData(pk.bytes));
  const std::int64_t at = VECTOR_SIGNED_AT;
  std::memcpy(payload.getDataSection().begin(), &at, sizeof at);  // little-endian hosts
  auto clipping = payload.getPointerSection()[1].initAsAnyStruct(0, 10);
  clipping.getPointerSection()[0].setAs<capnp::Text>("A title");
  clipping.getPointerSection()[9].setAs<capnp::Text>("a later field");
  auto result = judged(signedObject(segmentOf(message)));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().reason, Reason::NonCanonical);
  EXPECT_NE(result.error().detail.find("outside the schema"), std::string::npos)
      << result.error().detail;
}

TEST(SpecProbes, AThirdPointerInTheSignedObjectIsNonCanonical) {
  auto payload = payloadBytes(titled("A title"));
  auto good = signedObject(payload);
  auto decoded = decode(good);
  ASSERT_TRUE(decoded.ok());
  capnp::MallocMessageBuilder message;
  auto object = message.getRoot<capnp::AnyPointer>().initAsAnyStruct(0, 3);
  object.getPointerSection()[0].setAs<capnp::Data>(asData(payload));
  object.getPointerSection()[1].setAs<capnp::Data>(asData(decoded->signature.bytes));
  object.getPointerSection()[2].setAs<capnp::Text>("extra");
  auto result = judged(segmentOf(message));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().reason, Reason::NonCanonical);
  EXPECT_NE(result.error().detail.find("outside the schema"), std::string::npos)
      << result.error().detail;
}

TEST(SpecProbes, TextWithoutItsNulTerminatorIsMalformed) {
  capnp::MallocMessageBuilder message;
  auto payload = message.getRoot<capnp::AnyPointer>().initAsAnyStruct(1, 2);
  auto pk = vectorKey().publicKey();
  payload.getPointerSection()[0].setAs<capnp::Data>(asData(pk.bytes));
  const std::int64_t at = VECTOR_SIGNED_AT;
  std::memcpy(payload.getDataSection().begin(), &at, sizeof at);  // little-endian hosts
  auto clipping = payload.getPointerSection()[1].initAsAnyStruct(0, 1);
  const Bytes title = {'A', ' ', 't', 'i', 't', 'l', 'e', 's'};  // 8 bytes, no NUL
  clipping.getPointerSection()[0].setAs<capnp::Data>(asData(title));
  EXPECT_EQ(judge(signedObject(segmentOf(message))), Reason::Malformed);
}

TEST(SpecProbes, PayloadWhoseRootIsNotAStructIsMalformed) {
  capnp::MallocMessageBuilder message;
  message.getRoot<capnp::AnyPointer>().setAs<capnp::Text>("not a payload");
  EXPECT_EQ(judge(signedObject(segmentOf(message))), Reason::Malformed);
}

TEST(SpecProbes, PayloadWithASegmentTableIsReadAsOneSegmentAndRefused) {
  // The bytes are always one segment: the table's first word (segment count - 1 = 0, then the
  // segment's size in words) reads as a struct pointer to a struct of that many data words and
  // no pointers. That struct is canonical here, and has no signer: refused, though not for its
  // table. What a segment table is refused for depends on what its word reads as.
  capnp::MallocMessageBuilder message;
  auto p = message.initRoot<schema::Payload>();
  auto pk = vectorKey().publicKey();
  p.setSigner(asData(pk.bytes));
  p.initBody().initClipping().setTitle("A title");
  auto flat = capnp::messageToFlatArray(message);
  auto result = judged(signedObject(wordsToBytes(flat)));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().reason, Reason::InvalidField) << result.error().message();
  EXPECT_EQ(result.error().detail, "signer must be 32 bytes");
}

// --- Test vectors ----------------------------------------------------------------------------

struct Vector {
  std::string_view payload;  // hex
  std::string_view id;
  std::string_view signature;
};

/// The smallest clipping: a title, signed at 0. Shows the truncated data and pointer sections.
constexpr Vector MINIMAL_CLIPPING = {
    "00000000000002000500000002010000100000000000010003a107bff3ce10be"
    "1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b80100000042000000"
    "41207469746c6500",
    "f698c990eede97e1cee81ead9fe53cef5477f00a939d3dee533b4d8fe2ab3d8a",
    "9cda53b153ada3c27e1871376d3b7d0c8f4ae4306729a42c9a4750d77ab48648"
    "487e9d8cd3e46662d76e4085b611fdae5f5f9f952945be8b75b74b5cf9d58107",
};

/// Retracts two clippings: 01 02 .. 20 and the clipping vector.
constexpr Vector RETRACTION_OF_TWO = {
    "000000000200020080a7f0500000000004000000000000000500000002010000"
    "100000000000030003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f"
    "1ddc8664125531b809000000160000000000000000000000290000007a010000"
    "050000000201000011000000020100000102030405060708090a0b0c0d0e0f10"
    "1112131415161718191a1b1c1d1e1f2021e8eaebe62adc6c16b23ad27a02f34b"
    "ba1a4ab36e3d1740403b949687bef1157075626c69736865642074776963653b"
    "20746865207365636f6e6420636f7079206c6f73742069747320626f64790000",
    "b5a859b6a5a7d6e7ebf707ac888a0aa787d7a7c528c3c0249f489796b476c5cf",
    "1bb35972ad0c403b350860cf490d84a55887e272abbc6b62d96128da07afdfc8"
    "9466d6bdd52fe03da423376202b65f248710f9795d349b035473c305a459650d",
};

/// Retracts everything the key with seed 01 01 .. 01 signed from the clipping vector's time on.
constexpr Vector RETRACTION_OF_A_KEY = {
    "000000000200020080a7f0500000000004000000000000000500000002010000"
    "100000000100030003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f"
    "1ddc8664125531b80056ef500000000000000000000000000500000002010000"
    "11000000ea0000008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121b"
    "f3748801b40f6f5c6c6170746f702074616b656e206174206120636865636b70"
    "6f696e7400000000",
    "eded32be7377e5273bf60019642dccabdd6a03931fda533b6fee55c3f6118c5e",
    "6e6a84b37502722faa35cbe9b163ced5efb41f4b017d3550a3daa29739cbb657"
    "b43532ffe6d80639538e77edc109cfcb1a697910079d82a54d22ec150c1c8d00",
};

/// Corrects the clipping vector: a new title, a tag each way, a duplicate mark, a reason.
constexpr Vector ANNOTATION_OF_THE_CLIPPING = {
    "000000000200020080a7f0500000000006000000000000000500000002010000"
    "100000000000060003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f"
    "1ddc8664125531b8150000000201000021000000ea0000002d0000000e000000"
    "390000000e00000041000000020100004d0000008201000021e8eaebe62adc6c"
    "16b23ad27a02f34bba1a4ab36e3d1740403b949687bef1155468652072657370"
    "6f6e736962696c69747920746f206f626a65637400000000010000009a000000"
    "726567696f6e3a6d6964646c652d65617374000000000000010000006a000000"
    "726567696f6e3a7379726961000000000102030405060708090a0b0c0d0e0f10"
    "1112131415161718191a1b1c1d1e1f2074686520636f6c756d6e277320666972"
    "7374206c696e65207761732074616b656e20666f7220697473207469746c6500",
    "9de576cca4d3b9eb148496acf22cd49165562157b4a777bb41a3f86daca4f58a",
    "51713f8d15e4e5627afe5d1ac9d3ad62e49a291512212b132cbf7779ebe4ed1b"
    "a70da956a671352f7df3b6bb47e78819e0ee06e0b723dc9797ffb0e9d38ed604",
};

constexpr std::string_view SUBJECT_PUBLIC_KEY =
    "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
constexpr std::string_view CLIPPING_VECTOR_CONTENT_HASH =
    "ccfb160c3b5f86202cf8a3bfd04c93bcb773e4cb9a462c18eea7006224fbc612";

constexpr std::string_view RETRACTION_REASON = "published twice; the second copy lost its body";
constexpr std::string_view SUBJECT_REASON = "laptop taken at a checkpoint";

Payload minimalClipping() {
  Clipping c;
  c.title = "A title";
  return Payload{vectorKey().publicKey(), 0, c};
}

Payload retractionOfTwo() {
  Retraction r;
  r.clippings = {countingId(), digestOf(CLIPPING_VECTOR_ID)};
  r.reason = std::string(RETRACTION_REASON);
  return Payload{vectorKey().publicKey(), RETRACTION_SIGNED_AT, r};
}

Payload retractionOfAKey() {
  Retraction r;
  r.subject = subjectKey().publicKey();
  r.since = VECTOR_SIGNED_AT;
  r.reason = std::string(SUBJECT_REASON);
  return Payload{vectorKey().publicKey(), RETRACTION_SIGNED_AT, r};
}

Payload annotationOfTheClipping() {
  Annotation a;
  a.clipping = digestOf(CLIPPING_VECTOR_ID);
  a.title = "The responsibility to object";
  a.addTags = {"region:middle-east"};
  a.removeTags = {"region:syria"};
  a.duplicateOf = countingId();
  a.reason = "the column's first line was taken for its title";
  return Payload{vectorKey().publicKey(), RETRACTION_SIGNED_AT, a};
}

void expectVector(const Payload& payload, const Vector& vector) {
  auto object = sign(payload, vectorKey());
  ASSERT_TRUE(object.ok()) << object.error().message();
  EXPECT_EQ(toHex(encodePayload(object->payload())), vector.payload);
  EXPECT_EQ(object->id().hex(), vector.id);
  EXPECT_EQ(toHex(object->signature().bytes), vector.signature);
  // And the pinned bytes verify on their own, as a second implementation would feed them.
  auto bytes = fromHex(vector.payload);
  ASSERT_TRUE(bytes.has_value());
  auto verified = verify(signedObject(*bytes));
  ASSERT_TRUE(verified.ok()) << verified.error().message();
  EXPECT_EQ(verified->payload(), payload);
}

TEST(SpecVectors, MinimalClipping) { expectVector(minimalClipping(), MINIMAL_CLIPPING); }
TEST(SpecVectors, RetractionOfTwoClippings) { expectVector(retractionOfTwo(), RETRACTION_OF_TWO); }
TEST(SpecVectors, RetractionOfAKeySince) { expectVector(retractionOfAKey(), RETRACTION_OF_A_KEY); }
TEST(SpecVectors, AnnotationOfTheClippingVector) {
  expectVector(annotationOfTheClipping(), ANNOTATION_OF_THE_CLIPPING);
}

/// The minimal clipping's SignedObject: root, payload and signature pointers, then both.
constexpr std::string_view MINIMAL_OBJECT_HEAD = "000000000000020005000000420200002500000002020000";

TEST(SpecVectors, MinimalClippingObjectIsThreeWordsPayloadAndSignature) {
  auto object = sign(minimalClipping(), vectorKey());
  ASSERT_TRUE(object.ok());
  EXPECT_EQ(toHex(object->bytes()), std::string(MINIMAL_OBJECT_HEAD) +
                                        std::string(MINIMAL_CLIPPING.payload) +
                                        std::string(MINIMAL_CLIPPING.signature));
}

TEST(SpecVectors, SubjectKey) { EXPECT_EQ(subjectKey().publicKey().hex(), SUBJECT_PUBLIC_KEY); }

Clipping clippingVector() {
  Clipping c;
  c.title = "Responsibility to Object";
  c.source = "Foreign Policy";
  c.authors = {"David Kaye"};
  c.published = "2013-01-11";
  c.url = "https://foreignpolicy.com/2013/01/11/responsibility-to-object/";
  c.tags = {"region:syria", "topic:accountability"};
  c.language = "en";
  c.body = "In Syria, the new year begins without change.";
  c.collection = "fieldsync test vectors";
  return c;
}

TEST(SpecVectors, ContentHashCoversTheWholeClippingMessageWithItsRootPointer) {
  auto object = sign(Payload{{}, VECTOR_SIGNED_AT, clippingVector()}, vectorKey());
  ASSERT_TRUE(object.ok());
  ASSERT_EQ(object->id().hex(), CLIPPING_VECTOR_ID);
  EXPECT_EQ(contentHash(clippingVector()).hex(), CLIPPING_VECTOR_CONTENT_HASH);
  // The Clipping message is a root pointer (offset 0, no data, 9 pointers) followed by the
  // payload's bytes from its clipping on (byte 64: root pointer, signedAt, two pointers, the
  // 32-byte signer): pointers are relative, so the bytes are the same.
  auto payload = encodePayload(object->payload());
  Bytes message = {0, 0, 0, 0, 0, 0, 9, 0};
  message.insert(message.end(), payload.begin() + 64, payload.end());
  Bytes hashed(CONTENT_TAG.begin(), CONTENT_TAG.end());
  hashed.insert(hashed.end(), message.begin(), message.end());
  Digest expected;
  crypto_generichash(expected.bytes.data(), expected.bytes.size(), hashed.data(), hashed.size(),
                     nullptr, 0);
  EXPECT_EQ(expected.hex(), CLIPPING_VECTOR_CONTENT_HASH);
}

// --- The document holds what the code pins ---------------------------------------------------

std::string documentWithoutWhitespace() {
  std::ifstream in(std::string(FIELDSYNC_DOCS_DIR) + "/protocol.md");
  EXPECT_TRUE(in.good()) << "cannot read docs/protocol.md";
  std::stringstream all;
  all << in.rdbuf();
  std::string out;
  for (char c : all.str())
    if (c != ' ' && c != '\n' && c != '\t') out += c;
  return out;
}

TEST(SpecVectors, DocsProtocolMdPrintsEveryPinnedHexString) {
  const std::string doc = documentWithoutWhitespace();
  for (const Vector* v :
       {&MINIMAL_CLIPPING, &RETRACTION_OF_TWO, &RETRACTION_OF_A_KEY, &ANNOTATION_OF_THE_CLIPPING})
    for (std::string_view hex : {v->payload, v->id, v->signature})
      EXPECT_NE(doc.find(hex), std::string::npos) << "docs/protocol.md lacks " << hex;
  for (std::string_view hex :
       {SUBJECT_PUBLIC_KEY, CLIPPING_VECTOR_CONTENT_HASH, CLIPPING_VECTOR_ID, MINIMAL_OBJECT_HEAD})
    EXPECT_NE(doc.find(hex), std::string::npos) << "docs/protocol.md lacks " << hex;
  // The clipping vector, pinned in object_test.cpp, is printed there too.
  auto clipping = sign(Payload{{}, VECTOR_SIGNED_AT, clippingVector()}, vectorKey());
  ASSERT_TRUE(clipping.ok());
  for (const std::string& hex :
       {toHex(encodePayload(clipping->payload())), toHex(clipping->signature().bytes)})
    EXPECT_NE(doc.find(hex), std::string::npos) << "docs/protocol.md lacks " << hex;
}

}  // namespace
}  // namespace fieldsync::protocol
