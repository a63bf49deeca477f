// Trust, signed releases and provenance, run as people run them: the real binary, real keys,
// two or three nodes in one temp folder playing the coordinator and the field offices, and
// the stock minisign tool checking an export.
//
// Objects travel between nodes in bundles (carry()), as a USB stick carries them where
// there is no link. Cases that need two archives to disagree (a forked chain, a release
// whose clippings have not arrived) are covered at the library level.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/cli_fixture.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace fieldsync::clitest;

const fs::path FIXTURE = fs::path(FIELDSYNC_FIXTURES_DIR) / "icrtop-listserv-2013-01-11.txt";
const char* MINISIGN = "/usr/bin/minisign";

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string isoTime(std::int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

/// Sleeps until the clock reads at least `seconds`.
void waitUntil(std::int64_t seconds) {
  while (unixNow() < seconds) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

/// The objects of a `verify --json` document whose field equals value.
std::vector<json> objectsWhere(const json& verify, const std::string& field, const json& value) {
  std::vector<json> found;
  for (const auto& o : verify["objects"])
    if (o.contains(field) && o[field] == value) found.push_back(o);
  return found;
}

class Provenance : public ::testing::Test {
 protected:
  fs::path home(const std::string& name) { return m_dir / name; }

  Result run(const std::string& node, const std::vector<std::string>& args,
             const std::string& stdinText = "") {
    return runFieldsync(home(node), args, m_dir, stdinText);
  }
  json runJson(const std::string& node, const std::vector<std::string>& args) {
    auto r = run(node, args);
    EXPECT_EQ(r.status, 0) << r.err;
    return json::parse(r.out);
  }
  /// verify --json, whatever its exit status.
  json verifyJson(const std::string& node, std::vector<std::string> args = {}) {
    args.insert(args.begin(), "verify");
    args.push_back("--json");
    return json::parse(run(node, args).out);
  }
  std::string keyOf(const std::string& node) {
    return runJson(node, {"id", "--json"})["publicKey"].get<std::string>();
  }
  fs::path file(const std::string& name, std::string_view text) {
    spit(m_dir / name, text);
    return m_dir / name;
  }
  /// One clipping as a JSON-lines file, to import.
  fs::path clippingFile(const std::string& title) {
    return file(title + ".jsonl", "{\"title\": \"" + title + "\", \"source\": \"Radio Okapi\"}\n");
  }

  /// HQ, a coordinator node, and Goma, a field office that trusts HQ.
  void startNetwork() {
    ASSERT_EQ(run("hq", {"init", "--name", "HQ", "--coordinator"}).status, 0);
    ASSERT_EQ(run("goma", {"init", "--name", "Goma office"}).status, 0);
    m_hq = keyOf("hq");
    m_goma = keyOf("goma");
    ASSERT_EQ(run("goma", {"keys", "trust", m_hq, "--role", "coordinator", "--name", "HQ"}).status,
              0);
  }

  /// Carries everything node `from` holds to node `to` in a bundle file, as a USB stick
  /// would: `to` stores every object that verifies, and keeps its own anchors.
  void carry(const std::string& from, const std::string& to) {
    const auto bundle = m_dir / (from + "-to-" + to + ".fsb");
    auto exported = run(from, {"bundle", "export", bundle.string()});
    ASSERT_EQ(exported.status, 0) << exported.err;
    auto imported = run(to, {"bundle", "import", bundle.string()});
    ASSERT_EQ(imported.status, 0) << imported.out << imported.err;
  }

  TempFolder m_folder{"fieldsync-provenance-"};
  fs::path m_dir = m_folder.path();
  std::string m_hq, m_goma;
};

// --- anchors ---------------------------------------------------------------------------------

TEST_F(Provenance, InitCoordinatorTrustsItsOwnKeyAndAPlainInitDoesNot) {
  ASSERT_EQ(run("hq", {"init", "--name", "HQ", "--coordinator"}).status, 0);
  ASSERT_EQ(run("office", {"init", "--name", "Office"}).status, 0);
  auto hq = runJson("hq", {"keys", "list", "--json"})["keys"];
  ASSERT_EQ(hq.size(), 1u);
  EXPECT_EQ(hq[0]["self"], true);
  EXPECT_EQ(hq[0]["anchor"], "coordinator");
  EXPECT_EQ(hq[0]["status"], "trusted");
  EXPECT_EQ(hq[0]["name"], "HQ");
  auto office = runJson("office", {"keys", "list", "--json"})["keys"];
  ASSERT_EQ(office.size(), 1u);
  EXPECT_EQ(office[0]["self"], true);
  EXPECT_EQ(office[0]["anchor"], nullptr);
  EXPECT_EQ(office[0]["status"], "unknown");
}

TEST_F(Provenance, AnchorsAreTrustedReplacedAndUntrusted) {
  startNetwork();
  auto keys = runJson("goma", {"keys", "list", "--json"})["keys"];
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0]["key"], m_hq);  // anchors first
  EXPECT_EQ(keys[0]["role"], "coordinator");
  EXPECT_EQ(keys[0]["status"], "trusted");

  auto replaced = run("goma", {"keys", "trust", m_hq, "--role", "field"});
  ASSERT_EQ(replaced.status, 0) << replaced.err;
  EXPECT_NE(replaced.out.find("was coordinator"), std::string::npos) << replaced.out;
  keys = runJson("goma", {"keys", "list", "--json"})["keys"];
  EXPECT_EQ(keys[0]["role"], "field");
  EXPECT_EQ(keys[0]["name"], "HQ") << "replacing an anchor without --name keeps its name";

  EXPECT_EQ(run("goma", {"keys", "untrust", m_hq}).status, 0);
  keys = runJson("goma", {"keys", "list", "--json"})["keys"];
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["self"], true);
  auto again = run("goma", {"keys", "untrust", m_hq});
  EXPECT_EQ(again.status, 2);
  EXPECT_NE(again.err.find("not one of this node's anchors"), std::string::npos) << again.err;
}

TEST_F(Provenance, KeysMustBeGivenInFullAndRolesByName) {
  startNetwork();
  for (const std::string& bad :
       {std::string("abc"), m_hq.substr(0, 63), m_hq + "0", std::string(64, 'g')}) {
    auto r = run("goma", {"keys", "trust", bad, "--role", "field"});
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_NE(r.err.find("64 hex digits"), std::string::npos) << r.err;
  }
  auto role = run("goma", {"keys", "trust", m_hq, "--role", "boss"});
  EXPECT_EQ(role.status, 2);
  EXPECT_NE(role.err.find("coordinator or field"), std::string::npos) << role.err;
  EXPECT_EQ(run("goma", {"keys", "trust", m_hq}).status, 2) << "--role is required";
}

TEST_F(Provenance, DatesOnTheCommandLineAreUtcMoments) {
  startNetwork();
  auto cert = runJson("hq", {"keys", "certify", m_goma, "--role", "field", "--name", "Goma office",
                             "--until", "2099-06-30", "--json"});
  EXPECT_EQ(cert["validUntil"], "2099-06-30T23:59:59Z") << "a date --until is the end of that day";
  EXPECT_EQ(cert["kind"], "keyCert");
  EXPECT_EQ(cert["subject"], m_goma);
  auto exact = runJson("hq", {"keys", "certify", m_goma, "--role", "field", "--name", "Goma",
                              "--until", "2099-06-30T10:00:00Z", "--json"});
  EXPECT_EQ(exact["validUntil"], "2099-06-30T10:00:00Z");
  auto revocation = runJson("hq", {"keys", "revoke", m_goma, "--since", "2099-06-30", "--reason",
                                   "laptop stolen", "--json"});
  EXPECT_EQ(revocation["since"], "2099-06-30T00:00:00Z") << "a date --since is the start of it";
  EXPECT_EQ(revocation["reason"], "laptop stolen");

  for (const char* bad : {"2099-02-30", "2099-06-30T24:00:00Z", "2099-06-30T10:00:00", "2099-6-30",
                          "tomorrow", "2099-06-30 10:00:00Z"}) {
    auto r = run("hq", {"keys", "revoke", m_goma, "--since", bad});
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_NE(r.err.find("not a UTC date or time"), std::string::npos) << r.err;
  }
  auto past = run(
      "hq", {"keys", "certify", m_goma, "--role", "field", "--name", "G", "--until", "2001-01-01"});
  EXPECT_EQ(past.status, 2);
  EXPECT_NE(past.err.find("already past"), std::string::npos) << past.err;
}

// --- certificates ----------------------------------------------------------------------------

TEST_F(Provenance, OnlyACoordinatorNodeCertifies) {
  startNetwork();
  auto refused = run("goma", {"keys", "certify", m_hq, "--role", "field", "--name", "x"});
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("not a coordinator in its own keyring"), std::string::npos)
      << refused.err;
  EXPECT_EQ(runJson("goma", {"verify", "--json"})["checked"], 0) << "nothing was stored";
}

TEST_F(Provenance, ACertifiedKeyIsTrustedThroughItsCoordinator) {
  startNetwork();
  auto certified = run("hq", {"keys", "certify", m_goma, "--role", "field", "--name", "Goma office",
                              "--until", "2099-12-31"});
  ASSERT_EQ(certified.status, 0) << certified.err;
  auto cert = runJson("hq", {"list", "--json"});  // clippings only: the certificate is not one
  EXPECT_EQ(cert["count"], 0);

  // On the coordinator's node: the office key, trusted through the certificate.
  auto keys = runJson("hq", {"keys", "list", "--json"})["keys"];
  ASSERT_EQ(keys.size(), 2u);
  const auto& goma = keys[1];
  EXPECT_EQ(goma["key"], m_goma);
  EXPECT_EQ(goma["status"], "trusted");
  EXPECT_EQ(goma["role"], "field");
  EXPECT_EQ(goma["name"], "Goma office");
  ASSERT_EQ(goma["path"].size(), 2u);
  EXPECT_EQ(goma["path"][0]["key"], m_hq);
  EXPECT_EQ(goma["path"][0]["certificate"], nullptr);
  const std::string certId = goma["path"][1]["certificate"].get<std::string>();
  EXPECT_EQ(goma["certificates"][0]["id"], certId);
  EXPECT_EQ(goma["certificates"][0]["validUntil"], "2099-12-31T23:59:59Z");
  auto human = run("hq", {"keys", "list"});
  EXPECT_NE(human.out.find("via HQ (coordinator anchor) → certificate " + certId.substr(0, 12)),
            std::string::npos)
      << human.out;

  // The certificate itself verifies, signed by the coordinator anchor.
  auto verified = run("hq", {"verify", certId});
  EXPECT_EQ(verified.status, 0) << verified.out;
  EXPECT_NE(verified.out.find("OK"), std::string::npos) << verified.out;

  // Goma's clippings in an archive that holds the certificate (carried in a bundle) are
  // trusted through it, and the path is shown.
  carry("hq", "goma");
  ASSERT_EQ(run("goma", {"import", FIXTURE.string()}).status, 0);
  auto report = run("goma", {"verify", "--all", "--verbose"});
  EXPECT_EQ(report.status, 0) << report.out;
  EXPECT_NE(report.out.find("signed by Goma office (field)"), std::string::npos) << report.out;
  EXPECT_NE(
      report.out.find("trusted via HQ (coordinator anchor) → certificate " + certId.substr(0, 12)),
      std::string::npos)
      << report.out;
  auto j = verifyJson("goma");
  auto clippings = objectsWhere(j, "kind", "clipping");
  ASSERT_EQ(clippings.size(), 12u);
  const auto& signer = clippings[0]["signer"];
  EXPECT_EQ(signer["key"], m_goma);
  EXPECT_EQ(signer["status"], "trusted");
  ASSERT_EQ(signer["path"].size(), 2u);
  EXPECT_EQ(signer["path"][1]["certificate"], certId);

  // A field key may not sign a release, even on its own node.
  auto release = run("goma", {"release", "create", "weekly"});
  EXPECT_EQ(release.status, 2);
  EXPECT_NE(release.err.find("not a coordinator"), std::string::npos) << release.err;
}

// --- revocation ------------------------------------------------------------------------------

TEST_F(Provenance, ARevokedOfficeKeyKeepsWhatItSignedBeforeSince) {
  startNetwork();
  ASSERT_EQ(
      run("hq", {"keys", "certify", m_goma, "--role", "field", "--name", "Goma office"}).status, 0);
  // Goma signs one clipping; the laptop is then lost and HQ revokes from the next second, so
  // "Before" was signed before `since` and "After" at or after it, however slow the machine.
  ASSERT_EQ(run("goma", {"import", clippingFile("Before the theft").string()}).status, 0);
  const std::int64_t since = unixNow() + 1;
  waitUntil(since);
  auto revoked = runJson("hq", {"keys", "revoke", m_goma, "--since", isoTime(since), "--reason",
                                "laptop stolen", "--json"});
  EXPECT_EQ(revoked["since"], isoTime(since));
  ASSERT_EQ(run("goma", {"import", clippingFile("After the theft").string()}).status, 0);
  carry("hq", "goma");

  auto human = run("goma", {"verify"});
  EXPECT_EQ(human.status, 3) << human.out;
  EXPECT_NE(human.out.find("UNTRUSTED"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("key revoked since " + isoTime(since)), std::string::npos) << human.out;

  auto j = verifyJson("goma");
  auto before = objectsWhere(j, "title", "Before the theft");
  auto after = objectsWhere(j, "title", "After the theft");
  ASSERT_EQ(before.size(), 1u);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(before[0]["verdict"], "valid");
  EXPECT_EQ(before[0]["signer"]["status"], "trusted");
  EXPECT_EQ(after[0]["verdict"], "untrusted");
  EXPECT_EQ(after[0]["signer"]["status"], "revoked");
  EXPECT_EQ(after[0]["revocation"]["since"], isoTime(since));
  EXPECT_EQ(after[0]["revocation"]["reason"], "laptop stolen");
  EXPECT_EQ(after[0]["revocation"]["signer"], m_hq);
  EXPECT_EQ(j["untrusted"], 1);
  EXPECT_EQ(j["invalid"], 0);

  auto keys = runJson("goma", {"keys", "list", "--json"})["keys"];
  bool listed = false;
  for (const auto& k : keys)
    if (k["key"] == m_goma) {
      listed = true;
      EXPECT_EQ(k["status"], "revoked");
      EXPECT_EQ(k["revocation"]["reason"], "laptop stolen");
    }
  EXPECT_TRUE(listed);
}

TEST_F(Provenance, ACoordinatorCanRevokeItsOwnKeyAndThenReleasesNothing) {
  ASSERT_EQ(run("hq", {"init", "--name", "HQ", "--coordinator"}).status, 0);
  const std::string hq = keyOf("hq");
  ASSERT_EQ(run("hq", {"import", clippingFile("Signed in time").string()}).status, 0);
  const std::int64_t since = unixNow() + 1;
  waitUntil(since);
  ASSERT_EQ(run("hq", {"keys", "revoke", hq, "--since", isoTime(since)}).status, 0);
  ASSERT_EQ(run("hq", {"import", clippingFile("Signed too late").string()}).status, 0);

  auto j = verifyJson("hq");
  EXPECT_EQ(objectsWhere(j, "title", "Signed in time")[0]["verdict"], "valid");
  EXPECT_EQ(objectsWhere(j, "title", "Signed too late")[0]["signer"]["status"], "revoked");
  auto refused = run("hq", {"release", "create", "weekly"});
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("revoked"), std::string::npos) << refused.err;
}

// --- releases --------------------------------------------------------------------------------

TEST_F(Provenance, ReleasesChainAndSelectClippings) {
  startNetwork();
  ASSERT_EQ(run("hq", {"import", FIXTURE.string()}).status, 0);
  auto mali = runJson("hq", {"release", "create", "weekly", "--tag", "Region:Mali", "--notes",
                             "Mali first", "--json"});
  EXPECT_EQ(mali["sequence"], 1);
  EXPECT_EQ(mali["previous"], nullptr);
  EXPECT_EQ(mali["clippings"].size(), 1u);
  EXPECT_EQ(mali["notes"], "Mali first");
  auto rest = runJson("hq", {"release", "create", "weekly", "--since-release", "weekly", "--json"});
  EXPECT_EQ(rest["sequence"], 2);
  EXPECT_EQ(rest["previous"], mali["id"]);
  EXPECT_EQ(rest["clippings"].size(), 11u);
  auto nothing = run("hq", {"release", "create", "weekly", "--since-release", "weekly"});
  EXPECT_EQ(nothing.status, 2);
  EXPECT_NE(nothing.err.find("nothing"), std::string::npos) << nothing.err;

  // --ids: prefixes, comments, blank lines, and trailing words (a manifest line works).
  auto clippings = runJson("hq", {"list", "--json"})["objects"];
  auto ids =
      file("ids.txt", "# two clippings\n\n" + clippings[0]["id"].get<std::string>().substr(0, 10) +
                          "\n" + clippings[1]["id"].get<std::string>() + " 2013-01 a title\n");
  auto picked = runJson("hq", {"release", "create", "picked", "--ids", ids.string(), "--json"});
  EXPECT_EQ(picked["clippings"].size(), 2u);
  auto badIds = file("bad-ids.txt", clippings[0]["id"].get<std::string>() + "\nzz-not-an-id\n");
  auto bad = run("hq", {"release", "create", "picked", "--ids", badIds.string()});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("bad-ids.txt:2:"), std::string::npos) << bad.err;
  auto certId =
      runJson("hq", {"keys", "certify", m_goma, "--role", "field", "--name", "G", "--json"})["id"]
          .get<std::string>();
  auto notClipping = run(
      "hq", {"release", "create", "picked", "--ids", file("cert-id.txt", certId + "\n").string()});
  EXPECT_EQ(notClipping.status, 2);
  EXPECT_NE(notClipping.err.find("not a clipping"), std::string::npos) << notClipping.err;
  EXPECT_EQ(run("hq", {"release", "create", "bad@name"}).status, 2);

  auto list = runJson("hq", {"release", "list", "--json"})["releases"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "picked");
  EXPECT_EQ(list[1]["name"], "weekly");
  EXPECT_EQ(list[1]["sequence"], 2);
  EXPECT_EQ(list[1]["id"], rest["id"]);
  EXPECT_EQ(list[1]["clippings"], 11);
  EXPECT_EQ(list[1]["signer"]["name"], "HQ");
  EXPECT_EQ(list[1]["verdict"], "valid");
  EXPECT_EQ(list[1]["forks"], json::array());

  auto shown = runJson("hq", {"release", "show", "weekly@1", "--json"});
  EXPECT_EQ(shown["id"], mali["id"]);
  ASSERT_EQ(shown["members"].size(), 1u);
  EXPECT_EQ(shown["members"][0]["tags"][0], "region:mali");
  EXPECT_EQ(shown["report"]["verdict"], "valid");
  EXPECT_EQ(runJson("hq", {"release", "show", "weekly", "--json"})["sequence"], 2);
  EXPECT_EQ(runJson("hq", {"release", "show", rest["id"].get<std::string>().substr(0, 12),
                           "--json"})["sequence"],
            2);
  auto humanShow = run("hq", {"release", "show", "weekly"});
  EXPECT_NE(humanShow.out.find("weekly@2"), std::string::npos) << humanShow.out;
  EXPECT_NE(humanShow.out.find("chain intact back to weekly@1"), std::string::npos)
      << humanShow.out;
  EXPECT_EQ(run("hq", {"release", "show", "monthly"}).status, 2);
  EXPECT_EQ(run("hq", {"release", "show", "weekly@7"}).status, 2);

  // Verify tells which releases hold a clipping, and that the chain holds.
  auto verify = verifyJson("hq");
  EXPECT_EQ(verify["ok"], true);
  auto inMali = objectsWhere(verify, "id", mali["clippings"][0]);
  ASSERT_EQ(inMali.size(), 1u);
  ASSERT_EQ(inMali[0]["releases"].size(), 1u);
  EXPECT_EQ(inMali[0]["releases"][0]["name"], "weekly");
  EXPECT_EQ(inMali[0]["releases"][0]["sequence"], 1);
  auto one = run("hq", {"verify", mali["clippings"][0].get<std::string>()});
  EXPECT_EQ(one.status, 0);
  EXPECT_NE(one.out.find("in release weekly@1"), std::string::npos) << one.out;
  auto release = objectsWhere(verify, "id", rest["id"]);
  ASSERT_EQ(release.size(), 1u);
  EXPECT_EQ(release[0]["chainProblems"], json::array());
  EXPECT_EQ(release[0]["missing"], json::array());
  EXPECT_EQ(release[0]["signer"]["role"], "coordinator");
}

TEST_F(Provenance, AReleaseSignedByAFieldKeyIsUntrustedAndRefused) {
  ASSERT_EQ(run("hq", {"init", "--name", "HQ", "--coordinator"}).status, 0);
  ASSERT_EQ(run("hq", {"import", FIXTURE.string()}).status, 0);
  auto release = runJson("hq", {"release", "create", "weekly", "--json"});
  // The same key, now trusted only as a field office (an office node that knows HQ's key
  // only as a field key sees the same).
  ASSERT_EQ(run("hq", {"keys", "trust", keyOf("hq"), "--role", "field"}).status, 0);

  auto human = run("hq", {"verify", release["id"].get<std::string>()});
  EXPECT_EQ(human.status, 3) << human.out;
  EXPECT_NE(human.out.find("trusted only as field; a release needs a coordinator"),
            std::string::npos)
      << human.out;
  auto j = verifyJson("hq");
  auto r = objectsWhere(j, "id", release["id"]);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["verdict"], "untrusted");
  EXPECT_EQ(r[0]["signer"]["status"], "wrong-role");
  EXPECT_EQ(j["untrusted"], 1) << "its clippings need only the field role";
  EXPECT_EQ(run("hq", {"verify"}).status, 3);

  auto refused = run("hq", {"release", "create", "weekly"});
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("not a coordinator in its own keyring"), std::string::npos)
      << refused.err;
}

TEST_F(Provenance, ATamperedReleaseIsInvalid) {
  ASSERT_EQ(run("hq", {"init", "--name", "HQ", "--coordinator"}).status, 0);
  ASSERT_EQ(run("hq", {"import", FIXTURE.string()}).status, 0);
  const std::string notes = "Reviewed by the Nairobi desk";
  auto release = runJson("hq", {"release", "create", "weekly", "--notes", notes, "--json"});
  ASSERT_EQ(run("hq", {"verify"}).status, 0);

  // Every copy in the file, as LMDB may keep stale copies in free pages besides the live one.
  auto db = home("hq") / "archive" / "data.mdb";
  std::string bytes = slurp(db);
  std::size_t changed = 0;
  for (auto at = bytes.find(notes); at != std::string::npos; at = bytes.find(notes, at + 1)) {
    bytes[at + notes.find("Nairobi")] = 'M';  // "Mairobi"
    ++changed;
  }
  ASSERT_GT(changed, 0u);
  spit(db, bytes);

  auto human = run("hq", {"verify"});
  EXPECT_EQ(human.status, 1) << human.out;
  EXPECT_NE(human.out.find("INVALID"), std::string::npos) << human.out;
  auto j = verifyJson("hq");
  EXPECT_EQ(j["invalid"], 1);
  auto r = objectsWhere(j, "id", release["id"]);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["verdict"], "invalid");
  EXPECT_FALSE(r[0]["problem"].get<std::string>().empty());

  auto exported = run("hq", {"release", "export", "weekly", "--out", (m_dir / "out").string()});
  EXPECT_EQ(exported.status, 2) << "a release that does not verify is not signed again";
  EXPECT_FALSE(fs::exists(m_dir / "out" / "manifest"));
}

TEST_F(Provenance, AReleaseVouchesOnlyForTrustedClippingsAndAStrangersNameIsNoHijack) {
  startNetwork();
  // Goma is not certified: its clippings reach HQ forwarded, from a key HQ does not trust.
  ASSERT_EQ(run("goma", {"import", FIXTURE.string()}).status, 0);
  carry("goma", "hq");
  ASSERT_EQ(run("hq", {"import", clippingFile("From HQ").string()}).status, 0);

  auto created = run("hq", {"release", "create", "weekly"});
  ASSERT_EQ(created.status, 0) << created.err;
  EXPECT_NE(created.out.find("1 clipping"), std::string::npos) << created.out;
  EXPECT_NE(created.out.find("Left out 12 clippings (12 unknown)"), std::string::npos)
      << created.out;
  EXPECT_NE(created.out.find("--include-untrusted"), std::string::npos) << created.out;
  auto shown = run("hq", {"release", "show", "weekly"});
  EXPECT_NE(shown.out.find("members: 1 clipping, all trusted"), std::string::npos) << shown.out;

  // Checked by other means: the coordinator vouches for them, and every reader sees it.
  auto vouched = runJson("hq", {"release", "create", "weekly", "--since-release", "weekly",
                                "--include-untrusted", "--json"});
  EXPECT_EQ(vouched["clippings"].size(), 12u);
  EXPECT_EQ(vouched["leftOut"]["count"], 0);
  shown = run("hq", {"release", "show", "weekly"});
  EXPECT_NE(shown.out.find("members: 12 of 12 clippings untrusted"), std::string::npos)
      << shown.out;
  auto report = runJson("hq", {"release", "show", "weekly", "--json"})["report"];
  EXPECT_EQ(report["verdict"], "valid");
  EXPECT_EQ(report["untrustedMembers"].size(), 12u);
  EXPECT_EQ(report["untrustedMembers"][0]["status"], "unknown");

  // A stranger who is coordinator on its own node signs weekly@1 and weekly@3; sync carries
  // them to HQ. They are shown apart and change nothing in HQ's chain.
  ASSERT_EQ(run("evil", {"init", "--name", "Evil", "--coordinator"}).status, 0);
  ASSERT_EQ(run("evil", {"import", clippingFile("Planted").string()}).status, 0);
  ASSERT_EQ(run("evil", {"release", "create", "weekly"}).status, 0);
  carry("evil", "hq");
  auto list = runJson("hq", {"release", "list", "--json"})["releases"];
  ASSERT_EQ(list.size(), 2u) << list;
  EXPECT_EQ(list[0]["trustedChain"], true);
  EXPECT_EQ(list[0]["sequence"], 2);
  EXPECT_EQ(list[0]["verdict"], "valid");
  EXPECT_EQ(list[0]["forks"], json::array());
  EXPECT_EQ(list[1]["trustedChain"], false);
  EXPECT_EQ(list[1]["verdict"], "untrusted");
  auto human = run("hq", {"release", "list"});
  EXPECT_NE(human.out.find("not trusted: not part of the chain of weekly"), std::string::npos)
      << human.out;
  EXPECT_EQ(run("hq", {"verify", vouched["id"].get<std::string>()}).status, 0);
  auto next = runJson("hq", {"release", "create", "weekly", "--since-release", "weekly",
                             "--include-untrusted", "--json"});
  EXPECT_EQ(next["sequence"], 3);
  EXPECT_EQ(next["previous"], vouched["id"]);
  EXPECT_EQ(next["clippings"].size(), 1u) << "the planted clipping: no trusted weekly lists it";
}

// --- export ----------------------------------------------------------------------------------

TEST_F(Provenance, MinisignAcceptsAnExportAndRejectsAChangedManifest) {
  ASSERT_TRUE(fs::exists(MINISIGN)) << "install the Debian package minisign";
  startNetwork();
  ASSERT_EQ(run("hq", {"import", FIXTURE.string()}).status, 0);
  auto release = runJson("hq", {"release", "create", "weekly", "--json"});
  const auto out = m_dir / "export" / "weekly";  // created, parents too
  auto exported = run("hq", {"release", "export", "weekly@1", "--out", out.string()});
  ASSERT_EQ(exported.status, 0) << exported.err;
  for (const char* name : {"manifest", "manifest.minisig"})
    EXPECT_TRUE(fs::exists(out / name)) << name;
  EXPECT_FALSE(fs::exists(out / "minisign.pub"))
      << "a key beside the manifest proves nothing: a forger swaps both";
  EXPECT_EQ(exported.out.find("-p "), std::string::npos) << exported.out;
  EXPECT_NE(exported.out.find("minisign -V -P KEY -m"), std::string::npos) << exported.out;
  EXPECT_NE(exported.out.find("another source"), std::string::npos) << exported.out;
  for (const auto& entry : fs::directory_iterator(out))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos)
        << "no temporary file is left behind";

  auto manifest = slurp(out / "manifest");
  EXPECT_EQ(manifest.rfind("# fieldsync release weekly@1", 0), 0u) << manifest;
  for (const auto& id : release["clippings"])
    EXPECT_NE(manifest.find(id.get<std::string>() + " "), std::string::npos) << id;
  // The key as a reader gets it another way: from a node that trusts HQ.
  const auto keyFile = run("goma", {"keys", "export-minisign", m_hq}).out;
  EXPECT_EQ(keyFile, run("hq", {"keys", "export-minisign"}).out);
  const auto key = keyFile.substr(
      keyFile.find('\n') + 1, keyFile.find('\n', keyFile.find('\n') + 1) - keyFile.find('\n') - 1);
  EXPECT_NE(exported.out.find(key), std::string::npos) << "the signer is told its key to publish";

  auto checked = runProgram(MINISIGN, {"-V", "-P", key, "-m", (out / "manifest").string()}, m_dir);
  EXPECT_EQ(checked.status, 0) << checked.out << checked.err;
  EXPECT_NE((checked.out + checked.err)
                .find("fieldsync release weekly@1 " + release["id"].get<std::string>()),
            std::string::npos)
      << "the trusted comment names the release: " << checked.out << checked.err;

  // Exporting again replaces the files whole; then one changed byte and minisign refuses.
  ASSERT_EQ(run("hq", {"release", "export", "weekly", "--out", out.string()}).status, 0);
  auto at = manifest.find('\n') + 1;
  manifest[at] = manifest[at] == '0' ? '1' : '0';
  spit(out / "manifest", manifest);
  auto changed = runProgram(MINISIGN, {"-V", "-P", key, "-m", (out / "manifest").string()}, m_dir);
  EXPECT_NE(changed.status, 0) << changed.out << changed.err;

  // Only the release's signer signs its manifest.
  carry("hq", "goma");
  auto notSigner =
      run("goma", {"release", "export", "weekly", "--out", (m_dir / "goma-export").string()});
  EXPECT_EQ(notSigner.status, 2);
  EXPECT_NE(notSigner.err.find("only the release's signer"), std::string::npos) << notSigner.err;
  EXPECT_FALSE(fs::exists(m_dir / "goma-export" / "manifest"));
}

}  // namespace
