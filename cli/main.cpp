// fieldsync: keeps an archive of signed clippings in step across the offices of a network.
// main() parses the command line, runs the chosen command and turns failures into exit
// statuses (docs/cli.md). It is the only place that catches everything.

#include <iostream>

#include "cli/command.h"
#include "cli/version.h"

int main(int argc, char** argv) {
  using namespace fieldsync::cli;
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
  addPeers(app, invocation);
  addBundle(app, invocation);
  addSync(app, invocation);
  addServe(app, invocation);
  addStatus(app, invocation);
  addPause(app, invocation);
  addConfig(app, invocation);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? EXIT_OK : EXIT_USAGE;
  }

  try {
    return invocation.action();
  } catch (const UsageError& e) {
    std::cerr << "fieldsync: " << e.what() << '\n';
    return EXIT_USAGE;
  } catch (const fieldsync::Error& e) {
    std::cerr << "fieldsync: " << e.what() << '\n';
    return EXIT_FAILED;
  } catch (const std::exception& e) {
    std::cerr << "fieldsync: unexpected failure: " << e.what() << '\n';
    return EXIT_FAILED;
  }
}
