#pragma once
// Clippings for the benchmarks, in one place so every benchmark measures the same text: the
// shared fixture digest's, copies of them, and synthetic ones drawn from its vocabulary.
// The including target defines FIELDSYNC_FIXTURES_DIR.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/clipping.h"
#include "protocol/importers.h"
#include "protocol/text.h"

namespace fieldsync::bench {

inline constexpr std::uint64_t SYNTHETIC_SEED = 20131101;

/// The fixture digest's twelve clippings.
inline const std::vector<protocol::Clipping>& fixtureClippings() {
  static const std::vector<protocol::Clipping> clippings = [] {
    std::ifstream in(std::filesystem::path(FIELDSYNC_FIXTURES_DIR) /
                     "icrtop-listserv-2013-01-11.txt");
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = protocol::parseDigest(text.str());
    if (!parsed) throw std::runtime_error("fixture does not parse: " + parsed.error().message);
    return parsed.value();
  }();
  return clippings;
}

/// The fixture's clippings cycled, each made unique by its title (from `offset` on). Copies
/// compress far better than a real archive: an optimistic case for sizes on the wire.
inline std::vector<protocol::Clipping> fixtureCopies(std::size_t n, std::size_t offset = 0) {
  std::vector<protocol::Clipping> out;
  out.reserve(n);
  const auto& base = fixtureClippings();
  for (std::size_t i = 0; i < n; ++i) {
    auto c = base[(offset + i) % base.size()];
    c.title += " #" + std::to_string(offset + i);
    out.push_back(std::move(c));
  }
  return out;
}

/// n clippings of text drawn word by word from the fixture's vocabulary, at the fixture's
/// word frequencies and lengths: no two alike, but the words and mix of a real digest, so they
/// compress as a real archive does. Different seeds give sets that share no clipping.
inline std::vector<protocol::Clipping> syntheticClippings(std::size_t n,
                                                          std::uint64_t seed = SYNTHETIC_SEED) {
  std::vector<std::string> words, sources, tags;  // every occurrence: sampling follows frequency
  for (const auto& c : fixtureClippings()) {
    std::istringstream in(c.body + " " + c.title);
    for (std::string w; in >> w;) words.push_back(w);
    sources.push_back(c.source);
    tags.insert(tags.end(), c.tags.begin(), c.tags.end());
  }
  const std::size_t bodyWords = words.size() / fixtureClippings().size();
  std::mt19937_64 random(seed);
  auto pick = [&](const std::vector<std::string>& from) {
    return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(random)];
  };
  const std::string urlBase =
      "https://example.org/" + (seed == SYNTHETIC_SEED ? "" : std::to_string(seed) + "/");
  std::vector<protocol::Clipping> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    protocol::Clipping c;
    for (int w = 0; w < 10; ++w) c.title += (w ? " " : "") + pick(words);
    c.source = pick(sources);
    const std::size_t length = bodyWords / 2 + random() % bodyWords;
    for (std::size_t w = 0; w < length; ++w) c.body += (w ? " " : "") + pick(words);
    c.published = "2013-01-" + std::to_string(10 + random() % 20);
    c.url = urlBase + std::to_string(i);
    c.tags = {pick(tags)};
    c.collection = "synthetic digest " + std::to_string(i / 500);
    auto normal = protocol::normalizeClipping(std::move(c));
    if (!normal) throw std::runtime_error("synthetic clipping: " + normal.error());
    out.push_back(std::move(normal).value());
  }
  return out;
}

}  // namespace fieldsync::bench
