// fieldsync: keeps an archive of signed clippings in step across the offices of a network.
// main() parses the command line, runs the chosen command and turns failures into exit
// statuses (docs/cli.md). It is the only place that catches everything.

#include <iostream>
#include <sstream>
#include <string_view>

#include "cli/command.h"
#include "cli/version.h"

namespace {

using namespace fieldsync::cli;

/// The command asked for a JSON document: --json given to the chosen (sub)command.
bool jsonAsked(CLI::App& app) {
  for (CLI::App* command = &app; command != nullptr;) {
    const auto chosen = command->get_subcommands();
    command = chosen.empty() ? nullptr : chosen.front();
    if (command == nullptr) break;
    if (const auto* json = command->get_option_no_throw("--json"); json && json->count() > 0)
      return true;
  }
  return false;
}

/// For a command line that did not parse: "--json" among the arguments (before any "--").
bool jsonInArguments(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") return false;
    if (arg == "--json") return true;
  }
  return false;
}

/// An error as people and scripts read it: "fieldsync: ..." on standard error, a line each,
/// and with --json the document {"error": {"message", "exit"}} on standard output.
int fail(const std::string& message, int status, bool json) {
  std::istringstream lines(message);
  for (std::string line; std::getline(lines, line);) std::cerr << "fieldsync: " << line << '\n';
  if (json) std::cout << nlohmann::json{{"error", errorJson(message, status)}} << '\n';
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fieldsync: a signed archive of clippings, kept in step across field offices",
               "fieldsync"};
  app.set_version_flag("--version", "fieldsync " FIELDSYNC_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the command

  Invocation invocation;
  app.add_option("--home", invocation.global.home,
                 "Node folder (default: $FIELDSYNC_HOME, else $XDG_DATA_HOME/fieldsync)");
  app.add_option("--passphrase-file", invocation.global.passphraseFile,
                 "File whose first line is the passphrase of the node's secret key "
                 "(default: $FIELDSYNC_PASSPHRASE_FILE)");
  app.add_flag("--quiet,-q", invocation.global.quiet,
               "No progress bars and no hints: only results and errors");

  addInit(app, invocation);
  addId(app, invocation);
  addImport(app, invocation);
  addAdd(app, invocation);
  addList(app, invocation);
  addShow(app, invocation);
  addSearch(app, invocation);
  addVerify(app, invocation);
  addKeys(app, invocation);
  addRelease(app, invocation);
  addRetract(app, invocation);
  addAnnotate(app, invocation);
  addPeers(app, invocation);
  addBundle(app, invocation);
  addSync(app, invocation);
  addServe(app, invocation);
  addStatus(app, invocation);
  addPause(app, invocation);
  addConfig(app, invocation);
  addWeb(app, invocation);
  // Set after the commands: CLI11 gives a new subcommand its parent's footer.
  app.footer(
      "Examples:\n"
      "  fieldsync init --name \"Goma office\"\n"
      "  fieldsync import digest.txt\n"
      "  fieldsync sync hub\n"
      "  fieldsync COMMAND --help    (each command's options and an example)\n"
      "Exit statuses and JSON output: docs/cli.md");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return fail(std::string(e.what()) + " (`fieldsync [COMMAND] --help` shows the options)",
                EXIT_USAGE, jsonInArguments(argc, argv));
  }

  const bool json = jsonAsked(app);
  try {
    return invocation.action();
  } catch (const UsageError& e) {
    return fail(e.what(), EXIT_USAGE, json);
  } catch (const fieldsync::Error& e) {
    return fail(e.what(), EXIT_FAILED, json);
  } catch (const std::exception& e) {
    return fail(std::string("unexpected failure: ") + e.what(), EXIT_FAILED, json);
  }
}
