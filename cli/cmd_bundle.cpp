// fieldsync bundle: archives carried as files (USB stick, e-mail). export writes a bundle
// durably; import stores every object that verifies; verify judges a bundle without storing
// it (by this node's keyring with the bundle's own, when there is a node); list shows what one
// holds. The work is store/bundle.h's; this file reads
// files and prints.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "protocol/bundle.h"
#include "protocol/text.h"
#include "store/bundle.h"
#include "store/files.h"
#include "store/peers.h"

namespace fieldsync::cli {
namespace {

using Verdict = store::ObjectReport::Verdict;

/// An open input file (or standard input, "-") as a bundle Source. A file larger than the
/// reader's limit is refused before reading; the reader also stops at the limit.
class InputFile {
 public:
  InputFile(const std::string& path, const protocol::BundleLimits& limits) : m_path(path) {
    if (path == "-") return;
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) throw UsageError(path + ": no such file");
    if (!std::filesystem::is_regular_file(status)) throw UsageError(path + ": not a regular file");
    if (std::filesystem::file_size(path, ec) > limits.maxBundleBytes)
      throw UsageError(path + ": larger than the limit of " +
                       std::to_string(limits.maxBundleBytes) + " bytes for a bundle");
    m_file.open(path, std::ios::binary);
    if (!m_file) throw UsageError(path + ": cannot be read (permissions?)");
  }

  protocol::Source source() {
    std::istream& in = m_path == "-" ? std::cin : m_file;
    return [&in, path = m_path](std::span<std::uint8_t> buffer) -> std::size_t {
      in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(buffer.size()));
      if (in.bad()) throw Error("read " + path + ": read error");
      return static_cast<std::size_t>(in.gcount());
    };
  }

 private:
  std::string m_path;
  std::ifstream m_file;
};

/// A file that is not a bundle: exit 2, nothing changed.
[[noreturn]] void refuse(const std::string& file, const protocol::BundleRejection& rejection) {
  throw UsageError(file + ": " + rejection.detail);
}

nlohmann::json problemJson(const protocol::BundleRejection& problem) {
  return {{"frame", problem.position.frame},
          {"index", problem.position.index ? nlohmann::json(*problem.position.index) : nullptr},
          {"offset", problem.position.offset},
          {"damage", protocol::bundleDamageName(problem.damage)},
          {"detail", problem.detail}};
}

/// One line per problem: INVALID for a refused object, DAMAGED for lost or altered bytes.
void printProblems(std::ostream& out, const std::vector<protocol::BundleRejection>& problems) {
  for (const auto& p : problems) {
    const bool object = p.damage == protocol::BundleDamage::InvalidObject;
    out << (object ? "INVALID    " : "DAMAGED    ") << forTerminal(p.message()) << '\n';
  }
}

std::string plural(std::uint64_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string plural(std::uint64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::size_t invalidObjects(const std::vector<protocol::BundleRejection>& problems) {
  return static_cast<std::size_t>(std::count_if(
      problems.begin(), problems.end(),
      [](const auto& p) { return p.damage == protocol::BundleDamage::InvalidObject; }));
}

// --- export ------------------------------------------------------------------------------------

struct ExportOptions {
  std::string file;
  bool all = false;
  std::string sinceRelease;
  std::vector<std::string> tags;
  std::string forPeer;
  bool holdings = false;
  bool json = false;
};

nlohmann::json timeJson(std::int64_t unixSeconds) {
  return unixSeconds != 0 ? nlohmann::json(isoTimeJson(unixSeconds)) : nlohmann::json(nullptr);
}

/// "for hub: 3 objects it is not known to hold (in step as of the stick of ...)".
std::string forNote(const store::PeerRecord& peer, const store::ExportSummary& s) {
  std::string text =
      "for " + peer.name + ": " + plural(s.objects, "object") + " it is not known to hold";
  std::vector<std::string> known;
  if (peer.state.inStepAt != 0) known.push_back("in step at " + isoTime(peer.state.inStepAt));
  if (peer.state.stickAt != 0)
    known.push_back("in step as of the stick of " + isoTime(peer.state.stickAt));
  if (known.empty()) return text + " (never in step with it, no stick from it: everything)";
  text += " (";
  for (std::size_t i = 0; i < known.size(); ++i) text += (i ? "; " : "") + known[i];
  return text + "; " + plural(s.leftOut, "object") + " left out)";
}

int runExport(const Global& global, const ExportOptions& o) {
  store::BundleSelection selection;
  if (!o.sinceRelease.empty()) selection.sinceRelease = o.sinceRelease;
  for (const auto& tag : o.tags) {
    std::string t = protocol::normalizeTag(tag);  // as stored tags are
    if (t.empty()) throw UsageError("--tag: empty tag");
    selection.tags.push_back(std::move(t));
  }
  if (o.all && (selection.sinceRelease || !selection.tags.empty() || !o.forPeer.empty()))
    throw UsageError("--all takes no --since-release, --tag or --for");
  auto home = openHome(global);
  std::optional<store::PeerRecord> peer;
  if (!o.forPeer.empty()) {
    // What the peer is not known to hold: the store leaves out what this archive held at its
    // last in-step session and what its latest stick lists (store/bundle.h, forPeer).
    peer = store::findPeer(home->archive().beginRead(), o.forPeer);
    if (!peer)
      throw UsageError("there is no peer named \"" + o.forPeer +
                       "\" (`fieldsync peers list` shows them); no bundle was written");
    selection.forPeer = peer->name;
  }
  // A stick for a peer always says what this node holds, so the peer's next stick for this
  // node carries only what it lacks; --holdings asks for it on any export.
  std::optional<store::BundleSigner> signer;
  std::optional<protocol::SecretKey> key;
  if (peer || o.holdings) {
    key.emplace(loadSecretKey(global, *home));
    signer = store::BundleSigner{key->publicKey(), [&key](std::span<const std::uint8_t> message) {
                                   return key->sign(message);
                                 }};
  }

  {
    // A typo in the path is the user's to fix (status 2), not a failing disk (5).
    const std::filesystem::path target(o.file);
    const auto parent = target.has_parent_path() ? target.parent_path() : ".";
    std::error_code ec;
    if (!std::filesystem::is_directory(parent, ec))
      throw UsageError(o.file + ": the folder " + parent.string() +
                       " does not exist; no bundle was written");
    if (std::filesystem::is_directory(target, ec))
      throw UsageError(o.file + ": is a folder; give a file name; no bundle was written");
  }
  store::DurableFile out(o.file, 0644);
  auto bar = terminalProgressBar(global.quiet, "exporting");
  auto summary = store::exportBundle(
      home->archive(), selection, [&](std::span<const std::uint8_t> bytes) { out.write(bytes); },
      now(), {}, progressCallback(bar.get()), signer);
  if (!summary) throw UsageError(summary.error() + "; no bundle was written");
  out.commit();
  bar.reset();  // erased before the result is printed

  const auto& s = summary.value();
  if (o.json) {
    nlohmann::json doc{{"file", o.file},
                       {"objects", s.objects},
                       {"clippings", s.clippings},
                       {"releases", s.releases},
                       {"keyCerts", s.keyCerts},
                       {"revocations", s.revocations},
                       {"retractions", s.retractions},
                       {"annotations", s.annotations},
                       {"bytes", out.size()}};
    doc["heldIds"] = s.heldIds ? nlohmann::json(*s.heldIds) : nlohmann::json(nullptr);
    if (peer && peer->state.inStepAt != 0) doc["afterSeq"] = peer->state.inStepSeq;
    if (peer) {
      doc["for"] = {{"peer", peer->name},
                    {"leftOut", s.leftOut},
                    {"inStepAt", timeJson(peer->state.inStepAt)},
                    {"stickAt", timeJson(peer->state.stickAt)}};
    }
    std::cout << doc << '\n';
  } else {
    if (peer) std::cout << forNote(*peer, s) << '\n';
    std::cout << "wrote " << o.file << ": " << plural(s.objects, "object") << " ("
              << plural(s.clippings, "clipping") << ", " << plural(s.releases, "release") << ", "
              << plural(s.keyCerts, "key certificate") << ", "
              << plural(s.revocations, "revocation");
    if (s.retractions) std::cout << ", " << plural(s.retractions, "retraction");
    if (s.annotations) std::cout << ", " << plural(s.annotations, "annotation");
    std::cout << "), " << out.size() << " bytes\n";
    if (s.heldIds)
      std::cout << "it says what this node holds: " << plural(*s.heldIds, "object")
                << " (16 bytes each), so what comes back can leave them out\n";
    else if (signer)
      std::cout << "it does not say what this node holds: the archive has more objects than a "
                   "bundle's holdings may list\n";
  }
  return EXIT_OK;
}

// --- import ------------------------------------------------------------------------------------

struct ImportOptions {
  std::string file;
  bool json = false;
  std::size_t batchObjects = store::ImportOptions{}.batchObjects;
};

/// What came of a bundle's holdings block, for people.
std::string describeStick(const store::ImportReport::Stick& stick) {
  const std::string what = "the stick says what its writer held at " + isoTime(stick.at) + " (" +
                           plural(stick.ids, "object") + ")";
  switch (stick.outcome.kind) {
    case store::StickOutcome::Recorded:
      return what + ": recorded for peer " + stick.outcome.peer + ", so `bundle export --for " +
             stick.outcome.peer + "` leaves those out";
    case store::StickOutcome::Older:
      return what + ": ignored, peer " + stick.outcome.peer + "'s stick of " +
             isoTime(stick.outcome.recordedAt) + " is newer";
    case store::StickOutcome::NotListed:
      break;
  }
  return what + ": ignored, its writer " + stick.writer.hex() +
         " is not a peer of this node (`fieldsync peers add NAME --key KEY` lists it)";
}

nlohmann::json stickJson(const std::optional<store::ImportReport::Stick>& stick) {
  if (!stick) return nullptr;
  static constexpr const char* OUTCOMES[] = {"recorded", "older", "stranger"};
  return {{"writer", stick->writer.hex()},
          {"at", isoTimeJson(stick->at)},
          {"ids", stick->ids},
          {"outcome", OUTCOMES[stick->outcome.kind]},
          {"peer", stick->outcome.peer.empty() ? nlohmann::json(nullptr)
                                               : nlohmann::json(stick->outcome.peer)}};
}

int runImport(const Global& global, const ImportOptions& o) {
  auto home = openHome(global);
  store::ImportOptions options;
  options.batchObjects = o.batchObjects;
  InputFile input(o.file, options.limits);
  auto bar = terminalProgressBar(global.quiet, "importing");
  options.progress = progressCallback(bar.get());
  auto result = store::importBundle(home->archive(), input.source(), options);
  bar.reset();  // erased before the result is printed
  if (!result) refuse(o.file, result.error());
  const auto& r = result.value();
  const std::size_t invalid = invalidObjects(r.problems);
  if (o.json) {
    auto problems = nlohmann::json::array();
    for (const auto& p : r.problems) problems.push_back(problemJson(p));
    std::cout << nlohmann::json{{"file", o.file},
                                {"announced", r.header.objectCount},
                                {"read", r.read},
                                {"stored", r.stored},
                                {"alreadyPresent", r.alreadyPresent},
                                {"retracted", r.retracted},
                                {"invalid", invalid},
                                {"intact", r.intact},
                                {"ok", r.ok()},
                                {"problems", problems},
                                {"stick", stickJson(r.stick)}}
              << '\n';
  } else {
    printProblems(std::cout, r.problems);
    std::cout << o.file << ": " << plural(r.read, "object") << " read, " << r.stored << " stored, "
              << r.alreadyPresent << " already present";
    if (r.retracted) std::cout << ", " << r.retracted << " retracted here (refused)";
    if (invalid) std::cout << ", " << invalid << " invalid (not stored)";
    std::cout << '\n';
    if (r.stick) std::cout << describeStick(*r.stick) << '\n';
    if (!r.intact)
      std::cout << "the bundle is damaged: objects in the damaged parts were not imported; "
                   "the valid objects that could be read are stored\n";
  }
  return r.ok() ? EXIT_OK : EXIT_INVALID;
}

// --- verify ------------------------------------------------------------------------------------

struct VerifyOptions {
  std::string file;
  std::vector<std::string> trust;
  bool json = false;
  bool verbose = false;
};

/// What a bundle is judged by: the keys given with --trust (as coordinators) with the
/// bundle's own certificates and revocations; else, inside a node's home, that node's anchors,
/// certificates and revocations together with the bundle's; else the bundle's alone, which
/// can trust nobody. `words` says which, for the summary line.
struct Judges {
  std::vector<protocol::Anchor> anchors;
  std::unique_ptr<store::Home> home;  // its archive is the keyring, when there is one
  std::string words;
};

Judges judgesFor(const Global& global, const VerifyOptions& o) {
  Judges judges;
  for (const auto& text : o.trust) {
    auto key = protocol::PublicKey::fromHex(text);
    if (!key) throw UsageError("--trust " + text + ": not a public key (64 hex digits)");
    judges.anchors.push_back({*key, protocol::Role::Coordinator, "given with --trust"});
  }
  if (!judges.anchors.empty()) {
    judges.words = "the " + plural(judges.anchors.size(), "key") +
                   " given with --trust and the bundle's own certificates";
    return judges;
  }
  std::string why;
  try {
    const auto dir = homePath(global);
    if (store::Home::exists(dir)) {
      judges.home = store::Home::open(dir);
      auto txn = judges.home->archive().beginRead();
      const auto anchors = txn.anchors().size();
      const auto records = txn.ofKind(protocol::Kind::KeyCert).size() +
                           txn.ofKind(protocol::Kind::Revocation).size();
      judges.words = "this node's " + plural(anchors, "anchor") + " and " +
                     plural(records, "certificate and revocation", "certificates and revocations") +
                     " with the bundle's own";
      return judges;
    }
    why = "no node in " + dir.string();
  } catch (const UsageError& e) {
    why = e.what();  // no home folder at all
  }
  judges.words = "the bundle's own certificates only (" + why +
                 "; give --trust KEY): no signer can be trusted";
  return judges;
}

int runVerify(const Global& global, const VerifyOptions& o) {
  auto judges = judgesFor(global, o);
  store::ImportOptions options;
  InputFile input(o.file, options.limits);
  // The bar shows the bundle being read and its signatures checked; trust and chains after.
  auto bar = terminalProgressBar(global.quiet, "checking");
  options.progress = progressCallback(bar.get());

  VerifyTotals totals;
  auto objects = nlohmann::json::array();
  std::ostringstream lines;  // the reports, printed after the damage
  auto result = store::verifyBundle(
      input.source(), std::move(judges.anchors), judges.home ? &judges.home->archive() : nullptr,
      [&](store::ObjectReport&& report) {
        if (bar) bar->clear();  // reading is over: the reports follow
        totals.add(report);
        if (o.json) {
          objects.push_back(reportJson(report));
        } else if (o.verbose || report.verdict() != Verdict::Valid || !report.missing.empty()) {
          printReport(lines, report);
        }
      },
      temporaryFolder(), options);
  bar.reset();
  if (!result) refuse(o.file, result.error());
  const auto& r = result.value();
  const std::size_t refused = invalidObjects(r.problems);
  const int status = !r.problems.empty() || totals.invalid ? EXIT_INVALID
                     : totals.untrusted                    ? EXIT_UNTRUSTED
                                                           : EXIT_OK;
  if (o.json) {
    auto problems = nlohmann::json::array();
    for (const auto& p : r.problems) problems.push_back(problemJson(p));
    std::cout << nlohmann::json{{"file", o.file},
                                {"createdAt", isoTimeJson(r.header.createdAt)},
                                {"announced", r.header.objectCount},
                                {"checked", totals.checked + refused},
                                {"valid", totals.valid},
                                {"invalid", totals.invalid + refused},
                                {"untrusted", totals.untrusted},
                                {"missing", totals.missing},
                                {"intact", r.intact},
                                {"ok", status == EXIT_OK},
                                {"problems", problems},
                                {"objects", objects}}
              << '\n';
    return status;
  }
  printProblems(std::cout, r.problems);
  std::cout << lines.str();
  std::cout << o.file << ": bundle of " << plural(r.header.objectCount, "object") << " made "
            << isoTime(r.header.createdAt) << ", judged by " << judges.words << '\n';
  std::cout << "checked " << plural(totals.checked + refused, "object") << ": ";
  if (totals.checked + refused == 0) {
    std::cout << "the bundle is empty";
  } else if (totals.valid == totals.checked + refused) {
    std::cout << "all valid and trusted";
  } else {
    std::cout << totals.valid << " valid and trusted, " << totals.invalid + refused << " invalid, "
              << totals.untrusted << " untrusted";
  }
  if (totals.missing)
    std::cout << "; releases list " << plural(totals.missing, "clipping")
              << " the bundle does not carry";
  std::cout << '\n';
  if (!r.intact) std::cout << "the bundle is damaged: objects in the damaged parts are lost\n";
  return status;
}

// --- list --------------------------------------------------------------------------------------

struct ListOptions {
  std::string file;
  bool json = false;
};

int runList(const ListOptions& o) {
  protocol::BundleLimits limits;
  InputFile input(o.file, limits);
  auto opened = protocol::BundleReader::open(input.source(), limits);
  if (!opened) refuse(o.file, opened.error());
  auto& reader = opened.value();
  const auto header = reader.header();

  std::vector<protocol::BundleRejection> problems;
  auto objects = nlohmann::json::array();
  std::size_t count = 0;
  if (!o.json)
    std::cout << o.file << ": fieldsync bundle version " << header.version << ", made "
              << isoTime(header.createdAt) << ", " << plural(header.objectCount, "object") << '\n';
  while (auto item = reader.next()) {
    if (!item->ok()) {
      problems.push_back(item->error());
      if (!o.json) printProblems(std::cout, {item->error()});
      continue;
    }
    const auto& object = item->value();
    auto decoded = protocol::decode(object.bytes);
    if (!decoded) {
      problems.push_back(
          {object.position, protocol::BundleDamage::InvalidObject, decoded.error().message()});
      if (!o.json) printProblems(std::cout, {problems.back()});
      continue;
    }
    ++count;
    if (o.json) {
      auto j = objectJson(decoded.value(), false);
      j["frame"] = object.position.frame;
      j["index"] = *object.position.index;
      objects.push_back(std::move(j));
    } else {
      printListLine(std::cout, decoded.value());
    }
  }
  const bool whole = reader.intact() && problems.empty();
  const auto& held = reader.holdings();
  if (o.json) {
    auto list = nlohmann::json::array();
    for (const auto& p : problems) list.push_back(problemJson(p));
    nlohmann::json holdings = nullptr;
    if (held)
      holdings = {
          {"writer", held->writer.hex()}, {"at", isoTimeJson(held->at)}, {"ids", held->ids.size()}};
    std::cout << nlohmann::json{{"file", o.file},
                                {"version", header.version},
                                {"createdAt", isoTimeJson(header.createdAt)},
                                {"announced", header.objectCount},
                                {"count", count},
                                {"intact", whole},
                                {"problems", list},
                                {"holdings", holdings},
                                {"objects", objects}}
              << '\n';
  } else {
    if (held)
      std::cout << "it says what its writer " << held->writer.hex() << " held at "
                << isoTime(held->at) << ": " << plural(held->ids.size(), "object") << '\n';
    std::cout << plural(count, "object") << " listed"
              << (whole ? "" : "; the bundle is damaged (see the lines above)") << '\n';
  }
  return whole ? EXIT_OK : EXIT_INVALID;
}

}  // namespace

void addBundle(CLI::App& app, Invocation& invocation) {
  auto* bundle = app.add_subcommand(
      "bundle", "Carry objects as a file (USB stick, e-mail): export, import, verify, list");
  bundle->require_subcommand(1);
  bundle->footer(
      "Examples:\n"
      "  fieldsync bundle export /media/usb/goma.fsb --for hub\n"
      "  fieldsync bundle import /media/usb/hub.fsb\n"
      "  fieldsync bundle SUBCOMMAND --help");

  auto ex = std::make_shared<ExportOptions>();
  auto* exportCmd = bundle->add_subcommand("export", "Write a bundle of this archive's objects");
  exportCmd->add_option("file", ex->file, "The bundle to write (replaced whole)")->required();
  exportCmd->add_flag("--all", ex->all, "Every object (the default)");
  exportCmd->add_option("--since-release", ex->sinceRelease,
                        "Only clippings that release NAME[@SEQ] and its chain do not list");
  exportCmd->add_option("--tag", ex->tags,
                        "Only clippings with this tag (repeatable: all of them)");
  exportCmd->add_option("--for", ex->forPeer,
                        "Only what peer NAME is not known to hold (from its last in-step session "
                        "and its latest stick); implies --holdings");
  exportCmd->add_flag("--holdings", ex->holdings,
                      "Say what this node holds (16 bytes per object), so the bundle for it "
                      "that comes back carries only what it lacks");
  exportCmd->add_flag("--json", ex->json, "Print the result as JSON");
  exportCmd->footer(
      "Examples:\n"
      "  fieldsync bundle export /media/usb/for-hub.fsb --for hub\n"
      "  fieldsync bundle export weekly.fsb --since-release weekly@2 --tag region:mali");
  exportCmd->callback([&invocation, ex] {
    invocation.action = [&invocation, ex] { return runExport(invocation.global, *ex); };
  });

  auto im = std::make_shared<ImportOptions>();
  auto* importCmd =
      bundle->add_subcommand("import", "Store every object of a bundle that verifies");
  importCmd->add_option("file", im->file, "The bundle (- for standard input)")->required();
  importCmd->add_flag("--json", im->json, "Print the result as JSON");
  // Hidden from --help (documented in docs/cli.md): objects per write transaction, so the
  // crash tests can cut an import between many small batches.
  importCmd->add_option("--batch-objects", im->batchObjects, "Objects per write transaction")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->group("");
  importCmd->footer(
      "Example:\n"
      "  fieldsync bundle import /media/usb/from-hub.fsb\n"
      "Exit status 1 when the bundle is damaged or holds invalid objects (the valid ones are "
      "stored)");
  importCmd->callback([&invocation, im] {
    invocation.action = [&invocation, im] { return runImport(invocation.global, *im); };
  });

  auto ve = std::make_shared<VerifyOptions>();
  auto* verifyCmd = bundle->add_subcommand(
      "verify", "Check a bundle without importing it: ids, signatures, trust, release chains");
  verifyCmd->add_option("file", ve->file, "The bundle (- for standard input)")->required();
  verifyCmd->add_option("--trust", ve->trust,
                        "Judge trust from this coordinator key (repeatable; default: this "
                        "node's anchors, certificates and revocations, if there is a node)");
  verifyCmd->add_flag("--verbose,-v", ve->verbose, "Print every object, not only problems");
  verifyCmd->add_flag("--json", ve->json, "Print a JSON document");
  verifyCmd->footer(
      "Example: judge a bundle by the coordinator's key, with no node on this machine\n"
      "  fieldsync bundle verify weekly.fsb --trust 043bca2532a5...(64 hex)");
  verifyCmd->callback([&invocation, ve] {
    invocation.action = [&invocation, ve] { return runVerify(invocation.global, *ve); };
  });

  auto li = std::make_shared<ListOptions>();
  auto* listCmd = bundle->add_subcommand("list", "Show what a bundle holds");
  listCmd->add_option("file", li->file, "The bundle (- for standard input)")->required();
  listCmd->add_flag("--json", li->json, "Print a JSON document");
  listCmd->footer("Example:\n  fieldsync bundle list weekly.fsb");
  listCmd->callback([&invocation, li] { invocation.action = [li] { return runList(*li); }; });
}

}  // namespace fieldsync::cli
