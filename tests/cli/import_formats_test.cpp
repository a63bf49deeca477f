// fieldsync import on the formats that are not UTF-8 text files of our own: e-mail, web pages,
// feeds and PDF, through the real binary. Detection by content (the files are given names
// that say nothing), and importing the same file again stores nothing twice.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/cli_fixture.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace fieldsync::clitest;

const fs::path FIXTURES = fs::path(FIELDSYNC_FIXTURES_DIR);

class ImportFormats : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(run({"init", "--name", "Test office"}).status, 0); }
  Result run(const std::vector<std::string>& args) { return runFieldsync(m_home, args, m_dir, ""); }
  json runJson(const std::vector<std::string>& args) {
    auto r = run(args);
    EXPECT_EQ(r.status, 0) << r.err;
    return json::parse(r.out);
  }
  /// A copy of a fixture under a name that does not tell its format.
  std::string anonymous(const std::string& fixture) {
    const fs::path to = m_dir / ("input-" + std::to_string(++m_files));
    fs::copy_file(FIXTURES / fixture, to);
    return to.string();
  }

  TempFolder m_folder{"fieldsync-import-"};
  fs::path m_dir = m_folder.path();
  fs::path m_home = m_dir / "home";
  int m_files = 0;
};

TEST_F(ImportFormats, EachFormatIsDetectedByContentAndImported) {
  struct Case {
    std::string fixture, format;
    int clippings;
  };
  for (const Case& c :
       {Case{"email/icrtop-digest.mbox", "email", 13},
        Case{"email/forwarded-latin1.eml", "email", 1},
        Case{"web/kenya-elections-article.html", "html", 1},
        Case{"feeds/reliefweb-mali-rss.xml", "feed", 3}, Case{"feeds/hrw-drc-atom.xml", "feed", 2},
        Case{"pdf/report.pdf", "pdf", 1}}) {
    const auto report = runJson({"import", anonymous(c.fixture), "--json"});
    ASSERT_EQ(report["files"].size(), 1u) << c.fixture;
    EXPECT_EQ(report["files"][0]["format"], c.format) << c.fixture;
    EXPECT_EQ(report["stored"].get<int>() + report["duplicates"].get<int>(), c.clippings)
        << c.fixture;
  }
}

TEST_F(ImportFormats, ImportingTheSameFeedAgainStoresNothingTwice) {
  const std::string feed = anonymous("feeds/reliefweb-mali-rss.xml");
  EXPECT_EQ(runJson({"import", feed, "--json"})["stored"], 3);
  const auto again = runJson({"import", feed, "--json"});
  EXPECT_EQ(again["stored"], 0);
  EXPECT_EQ(again["duplicates"], 3);
  EXPECT_EQ(runJson({"list", "--json"})["count"], 3);
}

TEST_F(ImportFormats, TheMailedDigestGivesTheSameClippingsAsTheDigestFile) {
  EXPECT_EQ(runJson({"import", anonymous("icrtop-listserv-2013-01-11.txt"), "--json"})["stored"],
            12);
  const auto mailed = runJson({"import", anonymous("email/icrtop-digest.mbox"), "--json"});
  EXPECT_EQ(mailed["duplicates"], 12);  // the same content: not signed again
  EXPECT_EQ(mailed["stored"], 1);       // the forwarded article
}

TEST_F(ImportFormats, AScannedPdfIsRefusedAndNothingIsImported) {
  std::string pdf = slurp(FIXTURES / "pdf/report.pdf");
  for (std::size_t at; (at = pdf.find(" Tj ")) != std::string::npos;) pdf.replace(at, 4, " n  ");
  spit(m_dir / "scan", pdf);
  const auto r = run({"import", (m_dir / "scan").string(), anonymous("pdf/report.pdf")});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("no text"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was imported"), std::string::npos) << r.err;
}

/// fieldsync --home home args..., output thrown away: the exit status and the peak resident
/// memory of that process alone (wait4), in bytes.
std::pair<int, long> runMeasured(const fs::path& home, const std::vector<std::string>& args) {
  std::vector<std::string> all{FIELDSYNC_BIN, "--home", home.string(), "--quiet"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, usage.ru_maxrss * 1024L};
}

// A large mbox and a large jsonl stream: a message or a line at a time, stored in batches, so
// the import's peak memory grows far less than the input (it used to hold the whole text and
// every clipping parsed from it: 2 GB for a 33 MB jsonl). The records repeat one clipping, so
// that signing and the archive stay small and only reading and parsing grow with the input.
TEST_F(ImportFormats, ALargeMboxOrJsonlStreamsWithMemoryFarBelowItsSize) {
  spit(m_dir / "one.jsonl", "{\"title\": \"One\"}\n");
  const auto [baseStatus, baseline] =
      runMeasured(m_home, {"import", (m_dir / "one.jsonl").string()});
  ASSERT_EQ(baseStatus, 0);

  // Written by a child process: a child forked later for an import starts with this process's
  // memory, which would count in its peak.
  const pid_t writer = ::fork();
  if (writer == 0) {
    const std::string line =
        "{\"title\": \"Mali: displaced families\", \"source\": \"IRIN\", \"body\": \"" +
        std::string(120, 'w') + "\", \"tags\": [\"region:mali\"]}\n";
    {
      std::string jsonl;
      while (jsonl.size() < (16u << 20)) jsonl += line;
      spit(m_dir / "large.jsonl", jsonl);
    }

    const std::string message =
        "From field@example.org Mon Jan 14 09:00:00 2013\n"
        "From: Field office <field@example.org>\nSubject: Fwd: Mopti\n"
        "Date: Mon, 14 Jan 2013 09:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n\n" +
        [] {
          std::string body;
          for (int i = 0; i < 60; ++i)
            body += "Thousands of families displaced by the conflict in the north have arrived.\n";
          return body;
        }();
    {
      std::string mbox;
      while (mbox.size() < (16u << 20)) mbox += message;
      spit(m_dir / "large.mbox", mbox);
    }

    ::_exit(0);
  }
  int written = 0;
  ::waitpid(writer, &written, 0);
  ASSERT_TRUE(WIFEXITED(written) && WEXITSTATUS(written) == 0);

  for (const char* name : {"large.jsonl", "large.mbox"}) {
    const auto [status, peak] = runMeasured(m_home, {"import", (m_dir / name).string()});
    EXPECT_EQ(status, 0) << name;
    std::cout << name << ": " << (16 << 20) / (1 << 20) << " MiB, peak memory " << (peak >> 20)
              << " MiB (" << (baseline >> 20) << " MiB importing one line)" << std::endl;
#ifndef FIELDSYNC_SANITIZED  // ASan's quarantine keeps freed batches: its peak is not ours
    EXPECT_LT(peak - baseline, (16L << 20) / 2) << name;
#endif
  }
  EXPECT_EQ(runJson({"list", "--json"})["count"], 3);  // one, and one of each large file
}

}  // namespace
