// fieldsync release: coordinators sign named, numbered, chained sets of clippings; anyone
// lists and shows them; the signer exports a manifest the stock minisign tool verifies.
// Selection, chaining and the coordinator check are store::publishRelease's; this file parses,
// calls and prints.

#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/release_output.h"
#include "protocol/minisign.h"
#include "protocol/text.h"
#include "store/files.h"
#include "store/provenance.h"
#include "store/words.h"

namespace fieldsync::cli {
namespace {
namespace fs = std::filesystem;

/// An --ids file: 65 bytes a line, so a release of a few hundred thousand clippings fits.
constexpr std::size_t MAX_IDS_FILE_BYTES = 32u << 20;
/// Problems listed from a bad --ids file before the rest are only counted.
constexpr std::size_t MAX_REPORTED_LINES = 10;

protocol::DecodedObject decoded(const protocol::VerifiedObject& object) {
  return {object.id(), object.payload(), object.signature()};
}

protocol::DecodedObject load(const store::ReadTxn& txn, const protocol::ObjectId& id) {
  auto bytes = txn.get(id);
  if (!bytes) throw Error(id.hex() + " vanished from the archive while it was read");
  auto object = protocol::decode(*bytes);
  if (!object)
    throw Error("stored object " + id.hex() + " does not decode (" + object.error().message() +
                "): run fieldsync verify " + id.hex());
  return std::move(object).value();
}

std::string releaseRef(const protocol::Release& release) {
  return release.name + "@" + std::to_string(release.sequence);
}

// --- create ----------------------------------------------------------------------------------

struct CreateOptions {
  std::string name;
  std::vector<std::string> tags;
  std::string sinceRelease, idsFile, notes;
  bool includeUntrusted = false;
  bool json = false;
};

/// Left-out clippings listed by name before the rest are only counted.
constexpr std::size_t MAX_LEFT_OUT_SHOWN = 5;

nlohmann::json idsJson(const std::vector<protocol::ObjectId>& ids) {
  auto array = nlohmann::json::array();
  for (const auto& id : ids) array.push_back(id.hex());
  return array;
}

/// The ids in an --ids file: the first word of each line (so a release manifest is itself an
/// ids file), a full id or a unique prefix; blank lines and lines starting with '#' skipped.
/// Every bad line is reported, FILE:LINE, and then nothing is released.
std::vector<protocol::ObjectId> readIds(const store::ReadTxn& txn, const std::string& path) {
  const std::string text = readInput(path, MAX_IDS_FILE_BYTES);
  if (!protocol::isValidUtf8(text)) throw UsageError(path + ": not UTF-8 text");
  std::vector<protocol::ObjectId> ids;
  std::vector<std::string> problems;
  const auto lines = protocol::splitLines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto line = protocol::trimSpace(lines[i]);
    if (line.empty() || line.front() == '#') continue;
    const std::string word(line.substr(0, line.find_first_of(" \t")));
    auto id = txn.resolve(word);
    if (id) {
      ids.push_back(id.value());
    } else {
      problems.push_back(path + ":" + std::to_string(i + 1) + ": " + word + ": " +
                         id.error().message());
    }
  }
  if (!problems.empty()) {
    std::string message;
    for (std::size_t i = 0; i < problems.size() && i < MAX_REPORTED_LINES; ++i)
      message += (i ? "\n" : "") + problems[i];
    if (problems.size() > MAX_REPORTED_LINES)
      message += "\n... and " + std::to_string(problems.size() - MAX_REPORTED_LINES) + " more";
    throw UsageError(message + "\nnothing was released");
  }
  if (ids.empty()) throw UsageError(path + ": no ids in the file; nothing was released");
  return ids;
}

int runCreate(const Global& global, const CreateOptions& o) {
  store::ReleaseSelection selection;
  for (const auto& tag : o.tags) {
    // Tags are stored lowercase (as `import --tag` makes them).
    std::string t(protocol::trimSpace(tag));
    for (char& c : t)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (t.empty()) throw UsageError("--tag: empty tag");
    selection.tags.push_back(std::move(t));
  }
  if (!o.sinceRelease.empty()) selection.sinceRelease = o.sinceRelease;
  auto home = openHome(global);
  auto key = loadSecretKey(global, *home);
  if (!o.idsFile.empty()) {
    auto txn = home->archive().beginRead();
    selection.ids = readIds(txn, o.idsFile);
  }
  selection.includeUntrusted = o.includeUntrusted;
  auto made = store::publishRelease(home->archive(), key, o.name, selection, o.notes, now());
  if (!made) throw UsageError(made.error() + "; nothing was released");
  const auto& object = made->release;
  const auto& leftOut = made->leftOut;
  std::map<std::string, std::size_t> byReason;
  for (const auto& l : leftOut) ++byReason[l.reason];

  const auto& release = std::get<protocol::Release>(object.payload().body);
  if (o.json) {
    auto j = objectJson(decoded(object), false);
    j["parts"] = idsJson(release.parts);
    j["members"] = made->members;
    auto left = nlohmann::json::array();
    for (const auto& l : leftOut)
      left.push_back({{"id", l.id.hex()}, {"title", l.title}, {"reason", l.reason}});
    j["leftOut"] = {{"count", leftOut.size()}, {"byReason", byReason}, {"clippings", left}};
    std::cout << j << '\n';
    return EXIT_OK;
  }
  std::cout << "Signed release " << releaseRef(release) << " " << object.id().hex() << "\n"
            << made->members << " clipping" << (made->members == 1 ? "" : "s");
  if (!release.parts.empty()) std::cout << " in " << release.parts.size() << " parts";
  if (release.previous)
    std::cout << "; follows " << release.name << "@" << release.sequence - 1 << " "
              << shortHex(release.previous->hex());
  std::cout << '\n';
  if (!leftOut.empty()) {
    std::cout << "Left out " << leftOut.size() << " clipping" << (leftOut.size() == 1 ? "" : "s")
              << " (";
    bool first = true;
    for (const auto& [reason, n] : byReason) {
      std::cout << (first ? "" : ", ") << n << " " << reason;
      first = false;
    }
    std::cout << "): their signers were not trusted as field offices when they signed, or they "
                 "do not verify\n";
    for (std::size_t i = 0; i < leftOut.size() && i < MAX_LEFT_OUT_SHOWN; ++i)
      std::cout << "  " << shortHex(leftOut[i].id.hex()) << "  " << leftOut[i].reason << "  "
                << leftOut[i].title << '\n';
    if (leftOut.size() > MAX_LEFT_OUT_SHOWN)
      std::cout << "  … and " << leftOut.size() - MAX_LEFT_OUT_SHOWN
                << " more (--json lists them all)\n";
    if (!global.quiet)
      std::cout << "Checked them by other means? Release them with --include-untrusted.\n";
  }
  if (!global.quiet)
    std::cout << "Export it for minisign: fieldsync release export " << releaseRef(release)
              << " --out DIR\n";
  return EXIT_OK;
}

// --- list ------------------------------------------------------------------------------------

int runList(const Global& global, bool json) {
  auto home = openHome(global);
  auto txn = home->archive().beginRead();
  const auto trust = store::loadTrust(txn);
  auto out = nlohmann::json::array();
  for (const auto& name : txn.releaseNames()) {
    // The trusted chain first, then each other key's releases of the name, shown apart.
    for (const auto& [owner, chain] : store::chainsOf(txn, trust, name)) {
      std::map<std::uint64_t, std::size_t> perSequence;
      for (const auto& entry : chain) ++perSequence[entry.sequence];
      std::vector<std::uint64_t> forks;
      for (const auto& [sequence, n] : perSequence)
        if (n > 1) forks.push_back(sequence);
      // The latest; at a forked head, each of its releases in turn.
      const std::uint64_t latest = chain.back().sequence;
      for (const auto& head : chain) {
        if (head.sequence != latest) continue;
        const auto report = store::verifyObject(txn, trust, head.id);
        const auto object = load(txn, head.id);
        if (json) {
          out.push_back(
              {{"name", name},
               {"sequence", latest},
               {"id", head.id.hex()},
               {"signer", {{"key", object.payload.signer.hex()}, {"name", report.signerName}}},
               {"signedAt", isoTimeJson(object.payload.signedAt)},
               {"clippings", report.members},
               {"parts", report.parts},
               {"trustedChain", !owner.has_value()},
               {"verdict", store::verdictName(report.verdict())},
               {"forks", forks}});
          continue;
        }
        const std::string shown = forTerminal(name);  // names come from any signer
        std::cout << shown << "@" << latest << "  " << shortHex(head.id.hex()) << "  "
                  << isoTime(object.payload.signedAt).substr(0, 10) << "  " << report.members
                  << " clipping" << (report.members == 1 ? "" : "s") << "  signed by "
                  << forTerminal(store::signerLabel(report)) << "  "
                  << store::verdictName(report.verdict());
        if (owner)
          std::cout << "  (" << shown << " by " << forTerminal(store::signerLabel(report))
                    << ", not trusted: not part of the chain of " << shown << ")";
        if (!forks.empty()) {
          std::cout << "  FORK at";
          for (std::size_t i = 0; i < forks.size(); ++i)
            std::cout << (i ? ", " : " ") << shown << "@" << forks[i];
          std::cout << " (fieldsync verify " << shortHex(head.id.hex()) << ")";
        }
        std::cout << '\n';
      }
    }
  }
  if (json) std::cout << nlohmann::json{{"releases", out}} << '\n';
  return EXIT_OK;
}

// --- show ------------------------------------------------------------------------------------

int runShow(const Global& global, const std::string& which, bool json) {
  auto home = openHome(global);
  auto txn = home->archive().beginRead();
  auto id = store::resolveRelease(txn, which);
  if (!id) throw UsageError(id.error());
  const auto object = load(txn, id.value());
  const auto& release = std::get<protocol::Release>(object.payload.body);
  const auto report = store::verifyObject(txn, store::loadTrust(txn), id.value());
  const auto members = store::releaseMembers(txn, object);

  auto listed = nlohmann::json::array();
  if (!json) {
    printObject(std::cout, object);
    if (!release.parts.empty()) std::cout << "parts:      " << release.parts.size() << '\n';
    std::cout << "verify:     ";
    printReport(std::cout, report, false);
    printMembers(std::cout, report, 12);
    std::cout << '\n';
  }
  for (const auto& member : members.clippings) {
    auto bytes = txn.get(member);
    auto decodedMember = bytes ? protocol::decode(*bytes)
                               : Expected<protocol::DecodedObject, protocol::Rejection>(
                                     protocol::Rejection{protocol::Reason::Malformed, ""});
    const bool retracted = !bytes && store::retractedBy(txn, member).has_value();
    if (json) {
      if (decodedMember) {
        listed.push_back(objectJson(decodedMember.value(), false));
      } else {
        listed.push_back(
            {{"id", member.hex()}, {"missing", !bytes && !retracted}, {"retracted", retracted}});
      }
    } else if (decodedMember) {
      printListLine(std::cout, decodedMember.value());
    } else {
      std::cout << shortHex(member.hex()) << "  "
                << (bytes       ? "(does not decode: fieldsync verify " + member.hex() + ")"
                    : retracted ? std::string("(retracted on this node)")
                                : "(missing: not in this archive yet)")
                << '\n';
    }
  }
  if (!json)
    for (const auto part : members.missingParts)
      std::cout << "(part " << part << " of " << members.parts
                << " not here yet: its clippings are not listed above)\n";
  if (json) {
    auto j = objectJson(object, true);
    j["parts"] = idsJson(release.parts);
    j["members"] = listed;
    j["report"] = reportJson(report);
    addMembersJson(j["report"], report);
    std::cout << j << '\n';
  }
  return EXIT_OK;
}

// --- export ----------------------------------------------------------------------------------

int runExport(const Global& global, const std::string& which, const std::string& out, bool json) {
  auto home = openHome(global);
  std::string manifest, signer;
  std::string trustedComment, ref;
  protocol::PublicKey releaseSigner;
  protocol::ObjectId releaseId;
  {
    auto txn = home->archive().beginRead();
    auto id = store::resolveRelease(txn, which);
    if (!id) throw UsageError(id.error());
    const auto object = load(txn, id.value());
    const auto& release = std::get<protocol::Release>(object.payload.body);
    releaseSigner = object.payload.signer;
    if (releaseSigner != home->publicKey())
      throw UsageError(releaseRef(release) + " was signed by " + releaseSigner.hex() +
                       ", not by this node (" + home->publicKey().hex() +
                       "): only the release's signer can sign its manifest; export it on the "
                       "signer's node");
    const auto report = store::verifyObject(txn, store::loadTrust(txn), id.value());
    if (report.verdict() == store::ObjectReport::Verdict::Invalid)
      throw UsageError(releaseRef(release) + " does not verify (" + store::reportProblem(report) +
                       "): nothing was exported");
    if (!report.missingParts.empty())
      throw UsageError(releaseRef(release) + ": part " +
                       std::to_string(report.missingParts.front()) + " of " +
                       std::to_string(report.parts) +
                       " is not here yet, so its clippings are not known: nothing was exported");
    manifest = store::releaseManifest(txn, id.value());
    ref = releaseRef(release);
    releaseId = id.value();
    trustedComment = "fieldsync release " + releaseRef(release) + " " + id.value().hex();
  }
  const fs::path dir(out);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw UsageError("--out " + out + ": exists and is not a folder");
  fs::create_directories(dir, ec);
  if (ec) throw UsageError("--out " + out + ": cannot create the folder (" + ec.message() + ")");

  auto key = loadSecretKey(global, *home);
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(manifest.data()),
                                            manifest.size());
  // No public key is written beside the manifest: whoever can change the manifest can change
  // a key file next to it, and re-sign. The key must reach people by another way.
  store::writeFilesDurably(
      dir, {{"manifest", manifest},
            {"manifest.minisig", protocol::minisignSign(key, bytes, trustedComment)}});
  const std::string keyLine = [&] {
    const auto file = protocol::minisignPublicKey(releaseSigner);
    auto line = file.substr(file.find('\n') + 1);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }();
  if (json) {
    std::cout << nlohmann::json{{"release", ref},
                                {"id", releaseId.hex()},
                                {"manifest", (dir / "manifest").string()},
                                {"signature", (dir / "manifest.minisig").string()},
                                {"signer", releaseSigner.hex()},
                                {"minisignKey", keyLine}}
              << '\n';
    return EXIT_OK;
  }
  std::cout << "Wrote " << (dir / "manifest").string() << " and manifest.minisig\n";
  if (!global.quiet)
    std::cout << "To check it, people need this coordinator's key from another source than the "
                 "manifest (a key sent along with it proves nothing: a forger swaps both):\n"
                 "  minisign -V -P KEY -m "
              << (dir / "manifest").string() << "\nwith KEY from `fieldsync keys export-minisign "
              << releaseSigner.hex()
              << "` on a node that trusts this coordinator, or as published in the office. "
                 "This node's KEY, to publish that way: "
              << keyLine << '\n';
  return EXIT_OK;
}

}  // namespace

void addRelease(CLI::App& app, Invocation& invocation) {
  auto* release = app.add_subcommand("release", "Signed, numbered, chained sets of clippings");
  release->require_subcommand(1);
  release->footer(
      "Examples:\n"
      "  fieldsync release create weekly --since-release weekly\n"
      "  fieldsync release list\n"
      "  fieldsync release SUBCOMMAND --help");

  auto create = std::make_shared<CreateOptions>();
  auto* cmd = release->add_subcommand("create", "Sign the next release of NAME (coordinators)");
  cmd->add_option("name", create->name, "Release name, e.g. weekly")->required();
  cmd->add_option("--tag", create->tags, "Only clippings with this tag (repeatable: all of them)");
  cmd->add_option("--since-release", create->sinceRelease,
                  "Only clippings no release of this name lists yet");
  cmd->add_option("--ids", create->idsFile,
                  "Only these clippings: a file with one id or unique prefix per line");
  cmd->add_option("--notes", create->notes, "Notes kept in the signed release");
  cmd->add_flag("--include-untrusted", create->includeUntrusted,
                "Also list clippings whose signer this node does not trust (checked another way)");
  cmd->add_flag("--json", create->json, "Print the release as JSON");
  cmd->footer(
      "Example: this week's clippings, those no earlier weekly release lists\n"
      "  fieldsync release create weekly --since-release weekly --notes \"Week 48\"");
  cmd->callback([&invocation, create] {
    invocation.action = [&invocation, create] { return runCreate(invocation.global, *create); };
  });

  auto listJson = std::make_shared<bool>(false);
  cmd = release->add_subcommand("list", "Every release name with its latest release");
  cmd->add_flag("--json", *listJson, "Print a JSON document");
  cmd->footer("Example:\n  fieldsync release list");
  cmd->callback([&invocation, listJson] {
    invocation.action = [&invocation, listJson] { return runList(invocation.global, *listJson); };
  });

  auto show = std::make_shared<std::string>();
  auto showJson = std::make_shared<bool>(false);
  cmd = release->add_subcommand("show", "One release and its clippings");
  cmd->add_option("release", *show, "NAME (latest), NAME@SEQ, or an id or unique prefix")
      ->required();
  cmd->add_flag("--json", *showJson, "Print a JSON document");
  cmd->footer(
      "Examples:\n  fieldsync release show weekly\n  fieldsync release show weekly@2 --json");
  cmd->callback([&invocation, show, showJson] {
    invocation.action = [&invocation, show, showJson] {
      return runShow(invocation.global, *show, *showJson);
    };
  });

  auto exportWhich = std::make_shared<std::string>();
  auto exportOut = std::make_shared<std::string>();
  cmd = release->add_subcommand("export", "Write a manifest and its minisign signature");
  cmd->add_option("release", *exportWhich, "NAME (latest), NAME@SEQ, or an id or unique prefix")
      ->required();
  cmd->add_option("--out", *exportOut, "Folder to write into (created if needed)")->required();
  auto exportJson = std::make_shared<bool>(false);
  cmd->add_flag("--json", *exportJson, "Print the files written as JSON");
  cmd->footer(
      "Example:\n"
      "  fieldsync release export weekly@3 --out weekly-3\n"
      "  minisign -V -P KEY -m weekly-3/manifest   (KEY obtained another way, e.g.\n"
      "  `fieldsync keys export-minisign COORDINATOR` on a node you trust)");
  cmd->callback([&invocation, exportWhich, exportOut, exportJson] {
    invocation.action = [&invocation, exportWhich, exportOut, exportJson] {
      return runExport(invocation.global, *exportWhich, *exportOut, *exportJson);
    };
  });
}

}  // namespace fieldsync::cli
