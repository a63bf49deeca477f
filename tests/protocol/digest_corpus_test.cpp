// The digest corpus (tests/fixtures/digests/): listserv digests of 2009-2016 in the layouts the
// listserv used, each beside the clippings a careful reader takes from it (NAME.json). Every
// digest goes through the real parser and is scored field by field: title, source, authors,
// published, tags, url, and the body's first and last words (body_start, body_end: the body
// must start and end with them, whitespace runs counted as one space). An expected clipping
// the parser misses counts all its fields wrong; a clipping the parser makes that is not
// expected (a contents list, an events section) counts as that many fields wrong too.
//
// The digests of heldout/ were written before the parser was tuned to the others and never
// looked at while tuning: their score says how the parser does on a layout it has not seen.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/importers.h"

namespace fieldsync::protocol {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t FIELDS_PER_CLIPPING = 8;

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Whitespace runs as one space, none at the ends.
std::string squeezed(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

struct Score {
  std::size_t right = 0;
  std::size_t total = 0;
  double percent() const { return total == 0 ? 0.0 : 100.0 * double(right) / double(total); }
};

std::string shown(const nlohmann::json& value) { return value.dump(); }

// Scores one digest against NAME.json; prints each wrong field.
Score scoreDigest(const fs::path& digest, std::ostream& out) {
  fs::path expectedPath = digest;
  expectedPath.replace_extension(".json");
  const nlohmann::json expected = nlohmann::json::parse(readFile(expectedPath));
  const nlohmann::json& want = expected.at("clippings");

  Score score;
  score.total = want.size() * FIELDS_PER_CLIPPING;
  const ParseResult result = parseDigest(readFile(digest));
  if (!result.ok()) {
    out << "  refused: line " << result.error().line << ": " << result.error().message << "\n";
    return score;
  }
  const std::vector<Clipping>& got = result.value();

  // Pair expected with found clippings: equal titles first, then the rest in order.
  std::vector<std::size_t> pairOf(want.size(), got.size());
  std::vector<bool> used(got.size(), false);
  for (std::size_t w = 0; w < want.size(); ++w) {
    for (std::size_t g = 0; g < got.size(); ++g) {
      if (!used[g] && got[g].title == want[w].at("title").get<std::string>()) {
        pairOf[w] = g;
        used[g] = true;
        break;
      }
    }
  }
  std::size_t next = 0;
  for (std::size_t w = 0; w < want.size(); ++w) {
    if (pairOf[w] != got.size()) continue;
    while (next < got.size() && used[next]) ++next;
    if (next == got.size()) break;
    pairOf[w] = next;
    used[next] = true;
  }

  for (std::size_t w = 0; w < want.size(); ++w) {
    const nlohmann::json& e = want[w];
    if (pairOf[w] == got.size()) {
      out << "  missing: " << e.at("title").get<std::string>() << "\n";
      continue;
    }
    const Clipping& c = got[pairOf[w]];
    std::vector<std::string> expectedTags = e.at("tags").get<std::vector<std::string>>();
    std::sort(expectedTags.begin(), expectedTags.end());
    const std::string bodyStart = squeezed(e.at("body_start").get<std::string>());
    const std::string bodyEnd = squeezed(e.at("body_end").get<std::string>());
    const std::string body = squeezed(c.body);
    const struct {
      const char* name;
      bool right;
      nlohmann::json found;
    } fields[] = {
        {"title", c.title == e.at("title").get<std::string>(), c.title},
        {"source", c.source == e.at("source").get<std::string>(), c.source},
        {"authors", c.authors == e.at("authors").get<std::vector<std::string>>(), c.authors},
        {"published", c.published == e.at("published").get<std::string>(), c.published},
        {"tags", c.tags == expectedTags, c.tags},
        {"url", c.url == e.at("url").get<std::string>(), c.url},
        {"body_start", body.starts_with(bodyStart), body.substr(0, bodyStart.size())},
        {"body_end", body.ends_with(bodyEnd),
         body.substr(body.size() - std::min(body.size(), bodyEnd.size()))},
    };
    static_assert(std::size(fields) == FIELDS_PER_CLIPPING);
    for (const auto& f : fields) {
      if (f.right) {
        ++score.right;
      } else {
        out << "  " << e.at("title").get<std::string>().substr(0, 40) << ": " << f.name
            << " expected "
            << shown(f.name == std::string("body_start") ? nlohmann::json(bodyStart)
                     : f.name == std::string("body_end") ? nlohmann::json(bodyEnd)
                                                         : e.at(f.name))
            << ", got " << shown(f.found) << "\n";
      }
    }
  }
  for (std::size_t g = 0; g < got.size(); ++g) {
    if (used[g]) continue;
    score.total += FIELDS_PER_CLIPPING;
    out << "  unexpected clipping: " << got[g].title.substr(0, 60) << "\n";
  }
  return score;
}

// Scores every digest of dir (not its subfolders), prints a line per digest and the sum.
Score scoreCorpus(const fs::path& dir, std::string_view name) {
  std::vector<fs::path> digests;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".txt")
      digests.push_back(entry.path());
  std::sort(digests.begin(), digests.end());
  EXPECT_FALSE(digests.empty()) << "no digests in " << dir;

  Score all;
  std::ostringstream report;
  for (const fs::path& digest : digests) {
    std::ostringstream details;
    const Score s = scoreDigest(digest, details);
    report << "  " << digest.filename().string() << ": " << s.right << "/" << s.total << " ("
           << static_cast<int>(s.percent()) << "%)\n"
           << details.str();
    all.right += s.right;
    all.total += s.total;
  }
  std::cout << name << " digest corpus, " << digests.size() << " digests:\n"
            << report.str() << name << " overall: " << all.right << "/" << all.total << " fields ("
            << static_cast<int>(all.percent() * 10) / 10.0 << "%)\n";
  return all;
}

const fs::path CORPUS = fs::path(FIELDSYNC_FIXTURES_DIR) / "digests";

TEST(DigestCorpus, TunedSetHasAtLeast95PercentOfFieldsRight) {
  const Score score = scoreCorpus(CORPUS, "tuned");
  EXPECT_GE(score.percent(), 95.0);
}

// Held out of tuning. Scored once when the parser was done: 72/72 fields. Asserted at the
// same 95% as the tuned set (below what it reached), so that a change that makes the parser
// worse on layouts it was not tuned to fails here too.
TEST(DigestCorpus, HeldOutSetHasAtLeast95PercentOfFieldsRight) {
  const Score score = scoreCorpus(CORPUS / "heldout", "held-out");
  EXPECT_GE(score.percent(), 95.0);
}

}  // namespace
}  // namespace fieldsync::protocol
