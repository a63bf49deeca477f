// Verdicts where people read: list, search, show and status mark what is not trusted, the
// same way `verify` judges it; text from a clipping cannot act on the reader's terminal; small
// holes of issue 14 (tags in any case, keys trust of a key nothing is signed by, bundle
// verify inside a node). The real binary, real keys, real archives in a temp folder.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>

#include "cli/cli_fixture.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace fieldsync::clitest;

std::string isoTime(std::int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The line of text that holds needle, or "".
std::string lineWith(const std::string& text, const std::string& needle) {
  const auto at = text.find(needle);
  if (at == std::string::npos) return "";
  const auto start = text.rfind('\n', at);
  const auto end = text.find('\n', at);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end == std::string::npos ? std::string::npos
                                              : end - (start == std::string::npos ? 0 : start + 1));
}

/// Whether text holds a byte that acts on a terminal: C0 controls but newline, and DEL.
bool hasControl(const std::string& text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n') || u == 0x7f) return true;
  }
  return false;
}

class Verdicts : public NodesTest {
 protected:
  Verdicts() : NodesTest("fieldsync-cli-verdicts-") {}

  /// HQ, a coordinator, and Goma, an office that trusts HQ but is not yet certified by it.
  void startNetwork() {
    m_hq = Node{"hq", m_dir / "hq", ""};
    ASSERT_EQ(run(m_hq, {"init", "--name", "HQ", "--coordinator"}).status, 0);
    m_hq.key = run(m_hq, {"id"}).out.substr(0, 64);
    m_goma = makeNode("goma");
    ASSERT_EQ(
        run(m_goma, {"keys", "trust", m_hq.key, "--role", "coordinator", "--name", "HQ"}).status,
        0);
  }

  /// Imports clippings as JSON lines (each a JSON object) at node.
  void importLines(const Node& node, const std::vector<json>& clippings) {
    std::string text;
    for (const auto& c : clippings) text += c.dump() + "\n";
    const auto file = m_dir / ("import-" + std::to_string(++m_files) + ".jsonl");
    spit(file, text);
    auto r = run(node, {"import", file.string()});
    ASSERT_EQ(r.status, 0) << r.err;
  }

  /// Everything `from` holds, carried to `to` in a bundle.
  void carry(const Node& from, const Node& to) {
    const auto bundle = m_dir / (from.name + "-to-" + to.name + ".fsb");
    ASSERT_EQ(run(from, {"bundle", "export", bundle.string()}).status, 0);
    auto imported = run(to, {"bundle", "import", bundle.string()});
    ASSERT_EQ(imported.status, 0) << imported.out << imported.err;
  }

  Node m_hq, m_goma;
  int m_files = 0;
};

TEST_F(Verdicts, ListSearchAndShowMarkAnUnknownSignerUntilItsCertificateArrives) {
  startNetwork();
  importLines(m_goma, {{{"title", "Floods in Uvira"}, {"source", "Radio Okapi"}}});

  auto listed = run(m_goma, {"list"});
  ASSERT_EQ(listed.status, 0) << listed.err;
  // The mark comes first, before anything the clipping says.
  EXPECT_EQ(listed.out.substr(0, 11), "UNTRUSTED  ") << listed.out;
  auto j = runJson(m_goma, {"list", "--json"});
  ASSERT_EQ(j["count"], 1);
  EXPECT_EQ(j["objects"][0]["trust"], "unknown");
  EXPECT_EQ(runJson(m_goma, {"list", "--trusted", "--json"})["count"], 0);
  EXPECT_EQ(run(m_goma, {"list", "--trusted"}).out, "");
  auto found = run(m_goma, {"search", "uvira"});
  EXPECT_EQ(found.out.substr(0, 11), "UNTRUSTED  ") << found.out;
  EXPECT_EQ(runJson(m_goma, {"search", "uvira", "--trusted", "--json"})["count"], 0);

  const std::string id = j["objects"][0]["id"];
  auto shown = run(m_goma, {"show", id});
  ASSERT_EQ(shown.status, 0) << shown.err;
  EXPECT_NE(shown.out.find("trust:      UNTRUSTED\n"), std::string::npos) << shown.out;
  // An unknown signer is named by its whole key, as `keys trust` takes it.
  EXPECT_NE(shown.out.find("signer:     goma (this node), key " + m_goma.key), std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("verify:     UNTRUSTED: signed by goma (this node), unknown key " +
                           m_goma.key),
            std::string::npos)
      << shown.out;
  auto shownJson = runJson(m_goma, {"show", id, "--json"});
  EXPECT_EQ(shownJson["trust"], "unknown");
  EXPECT_EQ(shownJson["verify"]["verdict"], "untrusted");

  auto status = runJson(m_goma, {"status", "--json"});
  EXPECT_EQ(status["archive"]["untrusted"], 1);
  EXPECT_EQ(status["archive"]["trust"]["unknown"], 1);
  EXPECT_NE(run(m_goma, {"status"}).out.find("not trusted: 1 object (1 unknown signer)"),
            std::string::npos);

  // HQ certifies Goma; once the certificate arrives the same clipping is trusted everywhere.
  ASSERT_EQ(
      run(m_hq, {"keys", "certify", m_goma.key, "--role", "field", "--name", "Goma office"}).status,
      0);
  carry(m_hq, m_goma);
  listed = run(m_goma, {"list"});
  EXPECT_EQ(listed.out.substr(0, 11), std::string(11, ' ')) << listed.out;
  EXPECT_EQ(runJson(m_goma, {"list", "--trusted", "--json"})["count"], 1);
  EXPECT_EQ(runJson(m_goma, {"show", id, "--json"})["trust"], "trusted");
  shown = run(m_goma, {"show", id});
  EXPECT_NE(shown.out.find("trust:      trusted\n"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("signer:     Goma office, key " + m_goma.key), std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("verify:     OK: signed by Goma office (field)"), std::string::npos)
      << shown.out;
  status = runJson(m_goma, {"status", "--json"});
  EXPECT_EQ(status["archive"]["untrusted"], 0);
  EXPECT_EQ(run(m_goma, {"status"}).out.find("not trusted"), std::string::npos);
}

TEST_F(Verdicts, ARevokedSignerIsMarkedRevokedAndLeftOutByTrusted) {
  startNetwork();
  ASSERT_EQ(
      run(m_hq, {"keys", "certify", m_goma.key, "--role", "field", "--name", "Goma office"}).status,
      0);
  // The laptop was lost an hour ago: what it signed since is not to be believed.
  ASSERT_EQ(run(m_hq, {"keys", "revoke", m_goma.key, "--since", isoTime(unixNow() - 3600),
                       "--reason", "laptop stolen"})
                .status,
            0);
  carry(m_hq, m_goma);
  importLines(m_goma, {{{"title", "After the theft"}}});
  importLines(m_hq, {{{"title", "From HQ"}}});
  carry(m_hq, m_goma);

  auto listed = run(m_goma, {"list"});
  EXPECT_EQ(lineWith(listed.out, "After the theft").substr(0, 11), "REVOKED    ") << listed.out;
  EXPECT_EQ(lineWith(listed.out, "From HQ").substr(0, 11), std::string(11, ' ')) << listed.out;
  auto trusted = runJson(m_goma, {"list", "--trusted", "--json"});
  ASSERT_EQ(trusted["count"], 1);
  EXPECT_EQ(trusted["objects"][0]["title"], "From HQ");
  // --limit counts what is printed, after --trusted has left some out.
  EXPECT_EQ(runJson(m_goma, {"list", "--trusted", "--limit", "1", "--json"})["count"], 1);
  auto status = runJson(m_goma, {"status", "--json"});
  EXPECT_EQ(status["archive"]["trust"]["revoked"], 1);
}

TEST_F(Verdicts, AHostileTitleCannotActOnTheTerminal) {
  startNetwork();
  // A title that erases its own line and writes a verdict of its own, rings the bell, and
  // turns the rest of the line around.
  const std::string hostile =
      "\x1b[2K\x1b[1GOK harmless\x07 \xe2\x80\xae"
      "desrever";
  importLines(m_goma, {{{"title", hostile},
                        {"source", "Evil\x1b]0;owned\x07"},
                        {"body", "line one\n\x1b[31mred\x1b[0m\nline three"}}});
  const std::string id = runJson(m_goma, {"list", "--json"})["objects"][0]["id"];

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"list"}, {"search", "harmless"}, {"show", id}, {"verify", id}, {"status"}}) {
    auto r = run(m_goma, args);
    EXPECT_FALSE(hasControl(r.out)) << args[0] << ": " << r.out;
    EXPECT_EQ(r.out.find("\xe2\x80\xae"), std::string::npos) << args[0];
    // Shown, not obeyed: whole where the title is printed whole, its start in a list line.
    const bool whole = args[0] == "show" || args[0] == "verify";
    EXPECT_NE(r.out.find(whole ? "\\x1b[2K\\x1b[1GOK harmless\\x07 \\u202edesrever"
                               : "\\x1b[2K\\x1b[1GOK"),
              std::string::npos)
        << args[0] << ": " << r.out;
  }
  auto shown = run(m_goma, {"show", id});
  // The body keeps its lines; its escapes are shown, not obeyed.
  EXPECT_NE(shown.out.find("line one\n\\x1b[31mred\\x1b[0m\nline three"), std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("Evil\\x1b]0;owned\\x07"), std::string::npos) << shown.out;

  // JSON keeps the title exact, escaped by the JSON encoder.
  auto listed = run(m_goma, {"list", "--json"});
  EXPECT_FALSE(hasControl(listed.out));
  EXPECT_NE(listed.out.find("\\u001b[2K"), std::string::npos) << listed.out;
  EXPECT_EQ(json::parse(listed.out)["objects"][0]["title"], hostile);
}

TEST_F(Verdicts, ListLinesFitAnEightyColumnTerminal) {
  startNetwork();
  // The digest's titles and sources are long; no line may wrap, or the rest of a title would
  // start a row of its own, unmarked.
  ASSERT_EQ(
      run(m_goma, {"import",
                   (fs::path(FIELDSYNC_FIXTURES_DIR) / "icrtop-listserv-2013-01-11.txt").string()})
          .status,
      0);
  importLines(m_goma, {{{"title", std::string(300, 'x')}, {"source", std::string(300, 'y')}},
                       {{"title", "\xe6\x97\xa5\xe6\x9c\xac" + std::string(100, 'z')}}});
  auto listed = run(m_goma, {"list"});
  std::istringstream lines(listed.out);
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    std::size_t columns = 0;  // as a terminal counts them: wide characters take two
    for (std::size_t i = 0; i < line.size(); ++i) {
      const auto u = static_cast<unsigned char>(line[i]);
      if (u >= 0xE6 && u <= 0xE9)
        columns += 2;  // CJK ideographs
      else if ((u & 0xC0) != 0x80)
        columns += 1;
    }
    EXPECT_LE(columns, 80u) << line;
    EXPECT_EQ(line.substr(0, 11), "UNTRUSTED  ") << line;
  }
  EXPECT_EQ(n, 14u) << listed.out;
}

TEST_F(Verdicts, TagFiltersIgnoreCase) {
  startNetwork();
  importLines(m_goma, {{{"title", "Kenya votes"}, {"tags", {"region:kenya"}}},
                       {{"title", "Mali votes"}, {"tags", {"Region:Mali"}}}});
  auto kenya = runJson(m_goma, {"list", "--tag", "Region:KENYA", "--json"});
  ASSERT_EQ(kenya["count"], 1);
  EXPECT_EQ(kenya["objects"][0]["title"], "Kenya votes");
  EXPECT_EQ(runJson(m_goma, {"list", "--tag", "  region:mali ", "--json"})["count"], 1);
  EXPECT_EQ(run(m_goma, {"list", "--tag", "  "}).status, 2);
  const auto bundle = m_dir / "kenya.fsb";
  auto exported =
      runJson(m_goma, {"bundle", "export", bundle.string(), "--tag", "REGION:Kenya", "--json"});
  EXPECT_EQ(exported["clippings"], 1);
}

TEST_F(Verdicts, TrustingAKeyNothingIsSignedByWarnsAndShowsItWhole) {
  startNetwork();
  const std::string typo = std::string(63, 'a') + "b";
  auto r = run(m_goma, {"keys", "trust", typo, "--role", "field", "--name", "Typo"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.err.find("warning: no object in this archive is signed by " + typo +
                       "; check it was not mistyped"),
            std::string::npos)
      << r.err;
  auto j = runJson(m_goma, {"keys", "trust", typo, "--role", "field", "--json"});
  EXPECT_NE(j["warning"].get<std::string>().find(typo), std::string::npos);
  // A key this archive holds something of: no warning.
  importLines(m_hq, {{{"title", "From HQ"}}});
  carry(m_hq, m_goma);
  auto known = run(m_goma, {"keys", "trust", m_hq.key, "--role", "coordinator"});
  EXPECT_EQ(known.status, 0);
  EXPECT_EQ(known.err, "");
}

TEST_F(Verdicts, BundleVerifyInsideANodeUsesItsCertificatesWithTheBundles) {
  startNetwork();
  // Bunia trusts HQ and holds HQ's certificate for Goma; Goma's bundle carries only its
  // clipping, not the certificate.
  Node bunia = makeNode("bunia");
  ASSERT_EQ(run(bunia, {"keys", "trust", m_hq.key, "--role", "coordinator"}).status, 0);
  ASSERT_EQ(
      run(m_hq, {"keys", "certify", m_goma.key, "--role", "field", "--name", "Goma office"}).status,
      0);
  carry(m_hq, bunia);
  importLines(m_goma, {{{"title", "Floods in Uvira"}}});
  const auto bundle = m_dir / "goma.fsb";
  ASSERT_EQ(run(m_goma, {"bundle", "export", bundle.string()}).status, 0);

  auto inside = run(bunia, {"bundle", "verify", bundle.string()});
  EXPECT_EQ(inside.status, 0) << inside.out << inside.err;
  EXPECT_NE(inside.out.find("judged by this node's 1 anchor and 1 certificate and revocation "
                            "with the bundle's own"),
            std::string::npos)
      << inside.out;
  auto j = json::parse(run(bunia, {"bundle", "verify", bundle.string(), "--json"}).out);
  EXPECT_EQ(j["checked"], 1);  // the node's certificate judges; it is not reported on

  Node nowhere{"nowhere", m_dir / "nowhere", ""};
  auto outside = run(nowhere, {"bundle", "verify", bundle.string()});
  EXPECT_EQ(outside.status, 3) << outside.out << outside.err;
  EXPECT_NE(outside.out.find("judged by the bundle's own certificates only"), std::string::npos)
      << outside.out;
}

}  // namespace
