// Import speed by format, each beside a bare reference measured in the same run:
//  - e-mail: messages/s of `import` (store::importFiles: read, cut, parse, sign, store) on an
//    mbox of distinct forwarded articles, beside GMime alone constructing the same messages;
//  - feeds: items/s of `import` on an RSS 2.0 feed, beside libxml2 alone parsing the document;
//  - jsonl: lines/s of `import`, beside signing the same clippings alone and writing the
//    signed objects through the archive's put alone.
// A plain program printing a table; results and the command: docs/benchmarks.md.
// Usage: import_bench [MESSAGES] [ITEMS] [LINES]   (defaults 5000 20000 20000)
#include <gmime/gmime.h>
#include <libxml/parser.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "protocol/importers.h"
#include "protocol/object.h"
#include "store/archive.h"
#include "store/import.h"

namespace {
namespace fs = std::filesystem;
using namespace fieldsync;
using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

class TempDir {
 public:
  TempDir()
      : m_path(fs::temp_directory_path() /
               ("fieldsync-import-bench-" + std::to_string(std::random_device{}()))) {
    fs::create_directories(m_path);
  }
  ~TempDir() { fs::remove_all(m_path); }
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

// Paragraphs of news-like text, different for each n.
std::string paragraphs(std::size_t n, int count) {
  static const char* words[] = {"displaced", "families", "Mopti",     "council", "security",
                                "ceasefire", "monitors", "the",       "in",      "of",
                                "region",    "report",   "civilians", "aid",     "northern"};
  std::mt19937_64 rng(n);
  std::string out;
  for (int p = 0; p < count; ++p) {
    if (p) out += "\n\n";
    for (int w = 0; w < 90; ++w) {
      out += words[rng() % 15];
      out += (w % 12 == 11) ? "\n" : " ";
    }
    out += "end.";
  }
  return out;
}

std::string mbox(std::size_t messages) {
  std::string out;
  for (std::size_t i = 0; i < messages; ++i) {
    out +=
        "From field@example.org Mon Jan 14 09:00:00 2013\n"
        "From: Field office <field@example.org>\n"
        "Subject: Fwd: Mopti report " +
        std::to_string(i) +
        "\nDate: Mon, 14 Jan 2013 09:00:00 +0000\n"
        "Message-ID: <" +
        std::to_string(i) +
        "@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
        "FYI\n\n---------- Forwarded message ---------\nFrom: IRIN <news@irin.example>\n"
        "Subject: Mopti report\n\n" +
        paragraphs(i, 3) + "\n\n-- \nField office\n";
  }
  return out;
}

std::string feed(std::size_t items) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>"
      "<title>ReliefWeb - Mali</title><link>https://reliefweb.example/</link>\n";
  for (std::size_t i = 0; i < items; ++i) {
    out += "<item><title>Mali update " + std::to_string(i) +
           "</title><link>https://reliefweb.example/report/" + std::to_string(i) +
           "</link><pubDate>Mon, 14 Jan 2013 09:00:00 GMT</pubDate><description>&lt;p&gt;" +
           paragraphs(i, 1) + "&lt;/p&gt;</description></item>\n";
  }
  return out + "</channel></rss>\n";
}

std::string jsonl(std::size_t lines) {
  std::string out;
  for (std::size_t i = 0; i < lines; ++i) {
    std::string body = paragraphs(i, 2);
    for (std::size_t at; (at = body.find('\n')) != std::string::npos;) body.replace(at, 1, "\\n");
    out += "{\"title\": \"Report " + std::to_string(i) +
           "\", \"source\": \"IRIN\", \"published\": \"2013-01-14\", \"tags\": [\"region:mali\"], "
           "\"body\": \"" +
           body + "\"}\n";
  }
  return out;
}

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// One import of file into a fresh archive: items/s.
double importRate(const fs::path& file, std::size_t items) {
  TempDir dir;
  auto archive = store::Archive::open({.dir = dir.path() / "archive", .create = true});
  const auto key = protocol::SecretKey::generate();
  std::size_t stored = 0;
  const auto start = Clock::now();
  const auto refused = store::importFiles(*archive, key, {file.string()}, {}, 1'700'000'000,
                                          [&](const store::FileImported& f) { stored = f.stored; });
  const double s = seconds(start);
  if (refused || stored != items) {
    std::fprintf(stderr, "import of %s: %s (%zu stored of %zu)\n", file.c_str(),
                 refused ? refused->problems.front().c_str() : "ok", stored, items);
    std::exit(1);
  }
  return static_cast<double>(items) / s;
}

void row(const char* what, double rate, double reference, const char* referenceName) {
  std::printf("| %-34s | %10.0f/s | %-40s | %10.0f/s | %5.1fx |\n", what, rate, referenceName,
              reference, reference / rate);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t messages = argc > 1 ? std::stoul(argv[1]) : 5000;
  const std::size_t items = argc > 2 ? std::stoul(argv[2]) : 20000;
  const std::size_t lines = argc > 3 ? std::stoul(argv[3]) : 20000;
  TempDir dir;
  g_mime_init();

  std::printf("| import of | rate | bare reference | its rate | import slower by |\n");
  std::printf("| --- | ---: | --- | ---: | ---: |\n");

  // E-mail.
  {
    const std::string text = mbox(messages);
    write(dir.path() / "inbox.mbox", text);
    const auto start = Clock::now();
    std::size_t parsed = 0;
    GMimeStream* stream = g_mime_stream_mem_new_with_buffer(text.data(), text.size());
    GMimeParser* parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MBOX);
    while (!g_mime_parser_eos(parser)) {
      GMimeMessage* m = g_mime_parser_construct_message(parser, nullptr);
      if (m == nullptr) break;
      ++parsed;
      g_object_unref(m);
    }
    g_object_unref(parser);
    g_object_unref(stream);
    const double gmime = static_cast<double>(parsed) / seconds(start);
    const auto parseStart = Clock::now();
    const auto clippings = protocol::parseEmail(text);
    const double parseOnly = static_cast<double>(messages) / seconds(parseStart);
    if (!clippings || clippings->size() != messages) return 1;
    row("e-mail: parseEmail alone", parseOnly, gmime, "GMime constructing the messages");
    row("e-mail: import (messages)", importRate(dir.path() / "inbox.mbox", messages), gmime,
        "GMime constructing the messages");
  }

  // Feeds.
  {
    const std::string text = feed(items);
    write(dir.path() / "feed.xml", text);
    const auto start = Clock::now();
    xmlDoc* doc = xmlReadMemory(text.data(), static_cast<int>(text.size()), nullptr, nullptr,
                                XML_PARSE_NONET | XML_PARSE_NOCDATA);
    const double libxml = static_cast<double>(items) / seconds(start);
    xmlFreeDoc(doc);
    const auto parseStart = Clock::now();
    const auto clippings = protocol::parseFeed(text);
    const double parseOnly = static_cast<double>(items) / seconds(parseStart);
    if (!clippings || clippings->size() != items) return 1;
    row("feed: parseFeed alone", parseOnly, libxml, "libxml2 parsing the document");
    row("feed: import (items)", importRate(dir.path() / "feed.xml", items), libxml,
        "libxml2 parsing the document");
  }

  // JSON lines.
  {
    const std::string text = jsonl(lines);
    write(dir.path() / "batch.jsonl", text);
    const auto clippings = protocol::parseJsonl(text);
    if (!clippings || clippings->size() != lines) return 1;
    const auto key = protocol::SecretKey::generate();
    const auto signStart = Clock::now();
    std::vector<protocol::VerifiedObject> objects;
    for (const auto& c : clippings.value()) {
      protocol::Payload payload;
      payload.signer = key.publicKey();
      payload.signedAt = 1'700'000'000;
      payload.body = c;
      objects.push_back(protocol::sign(std::move(payload), key).value());
    }
    const double sign = static_cast<double>(lines) / seconds(signStart);
    TempDir putDir;
    auto archive = store::Archive::open({.dir = putDir.path() / "archive", .create = true});
    const auto putStart = Clock::now();
    for (std::size_t at = 0; at < objects.size(); at += 4096) {
      archive->write([&](store::WriteTxn& txn) {
        for (std::size_t i = at; i < std::min(objects.size(), at + 4096); ++i)
          (void)txn.put(objects[i]);
      });
    }
    const double put = static_cast<double>(lines) / seconds(putStart);
    const double both = 1.0 / (1.0 / sign + 1.0 / put);
    row("jsonl: import (lines)", importRate(dir.path() / "batch.jsonl", lines), both,
        "signing, then the archive's put, alone");
    std::printf("\n(signing alone %.0f/s, put alone %.0f/s)\n", sign, put);
  }
  return 0;
}
