#pragma once
// What every command shares: global options, exit statuses, opening the home, reading
// outside input with bounds. Each command lives in its own cmd_<verb>.cpp, parses its
// arguments, calls one library function and prints.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "protocol/keys.h"
#include "store/home.h"

namespace fieldsync::cli {

/// Exit statuses, documented in docs/cli.md.
enum Exit : int {
  EXIT_OK = 0,
  EXIT_INVALID = 1,      // verification found invalid bytes or signatures
  EXIT_USAGE = 2,        // bad arguments or unreadable/invalid input; nothing was changed
  EXIT_UNTRUSTED = 3,    // valid but not trusted: unknown, revoked or wrong-role signer
  EXIT_UNREACHABLE = 4,  // a peer could not be reached (sync; reserved)
  EXIT_FAILED = 5,       // the environment failed: disk, database, memory
};

/// Input the user can fix: printed as "fieldsync: <message>" (each line of a message of
/// several), exit status 2; with --json also as {"error": {"message", "exit"}} on stdout.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Global {
  std::string home;            // --home
  std::string passphraseFile;  // --passphrase-file
  bool quiet = false;          // --quiet: no progress bars, no hints; results and errors only
};

/// The member of a --json document that says a run failed: {"message": "...", "exit": N}.
nlohmann::json errorJson(const std::string& message, int exitStatus);

/// The parsed command line: global options and the action of the chosen command.
struct Invocation {
  Global global;
  std::function<int()> action;
};

/// --home, else $FIELDSYNC_HOME, else $XDG_DATA_HOME/fieldsync, else ~/.local/share/fieldsync.
std::filesystem::path homePath(const Global& global);
std::unique_ptr<store::Home> openHome(const Global& global);
/// As openHome, the archive opened read-only: for commands that only read (list, show,
/// search, verify), so a read-only home still answers them.
std::unique_ptr<store::Home> openHomeToRead(const Global& global);
/// The folder for temporary files (TMPDIR, else /tmp); UsageError naming TMPDIR and what to
/// do when it is not an existing folder.
std::filesystem::path temporaryFolder();
/// The passphrase in --passphrase-file or $FIELDSYNC_PASSPHRASE_FILE (first line), if any.
std::optional<std::string> readPassphrase(const Global& global);
/// The node's secret key, opened with the passphrase when it is sealed; UsageError if not.
protocol::SecretKey loadSecretKey(const Global& global, const store::Home& home);
/// The first line, without its line end, of a small file holding a secret (a passphrase, a
/// password); UsageError naming it as `what` ("password file") when it cannot be read, is
/// over 4 KiB or starts with an empty line.
std::string readSecretLine(const std::string& path, const std::string& what);
/// The whole of a file ("-" is standard input) of at most maxBytes; UsageError otherwise.
std::string readInput(const std::string& path, std::size_t maxBytes);
/// Resolves an id or unique prefix; UsageError naming the candidates when ambiguous.
protocol::ObjectId resolveId(const store::ReadTxn& txn, const std::string& text);
/// Unix seconds now.
std::int64_t now();

/// KEY arguments are public keys in full (a prefix could name a key nobody meant); UsageError
/// otherwise.
protocol::PublicKey parseKey(const std::string& text);

enum class DayEdge { Start, End };
/// A moment given to option, in UTC: "2026-11-27T10:00:00Z", or a date "2026-11-27" taken at the
/// start (00:00:00) or the end (23:59:59) of that day; UsageError naming option otherwise.
std::int64_t parseMomentOption(const std::string& option, const std::string& text, DayEdge edge);

void addInit(CLI::App& app, Invocation& invocation);
void addId(CLI::App& app, Invocation& invocation);
void addImport(CLI::App& app, Invocation& invocation);
void addAdd(CLI::App& app, Invocation& invocation);
void addList(CLI::App& app, Invocation& invocation);
void addShow(CLI::App& app, Invocation& invocation);
void addSearch(CLI::App& app, Invocation& invocation);
void addVerify(CLI::App& app, Invocation& invocation);
void addKeys(CLI::App& app, Invocation& invocation);
void addRelease(CLI::App& app, Invocation& invocation);
void addPeers(CLI::App& app, Invocation& invocation);
void addBundle(CLI::App& app, Invocation& invocation);
void addSync(CLI::App& app, Invocation& invocation);
void addServe(CLI::App& app, Invocation& invocation);
void addStatus(CLI::App& app, Invocation& invocation);
void addPause(CLI::App& app, Invocation& invocation);  // pause and resume
void addConfig(CLI::App& app, Invocation& invocation);
void addRetract(CLI::App& app, Invocation& invocation);
void addAnnotate(CLI::App& app, Invocation& invocation);
void addWeb(CLI::App& app, Invocation& invocation);

}  // namespace fieldsync::cli
