// fieldsync web: the reading room, a read-only web server over the archive (node/web_server.h),
// until SIGINT or SIGTERM. Its log: node/log.h on stderr.
#include <unistd.h>

#include <iostream>

#include "cli/command.h"
#include "cli/stop_signals.h"
#include "node/log.h"
#include "node/web_server.h"

namespace fieldsync::cli {
namespace {

struct WebFlags {
  std::string listen = node::DEFAULT_WEB_LISTEN;
  std::string passwordFile;
};

int runWeb(const Global& global, const WebFlags& flags) {
  node::Logger logger(std::cerr, node::LogLevel::Info, node::detectLogFormat(STDERR_FILENO));
  auto home = openHome(global);
  node::WebOptions options;
  options.listen = flags.listen;
  options.nodeName = home->name();
  options.nodeKey = home->publicKey().hex();
  if (!flags.passwordFile.empty())
    options.password = readSecretLine(flags.passwordFile, "password file");

  // Before the server's threads start (cli/stop_signals.h).
  const StopSignals signals;

  std::unique_ptr<node::WebServer> server;
  try {
    server = std::make_unique<node::WebServer>(home->archive(), options, logger.sink());
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  if (server->beyondLoopback())
    logger.warn("listening beyond loopback on " + server->address() +
                ": anyone who can reach this computer can read the archive" +
                (options.password.empty() ? " (no --password-file given)" : " with the password"));
  logger.info("reading room for " + home->archive().dir().parent_path().string() + " on http://" +
              server->address() + "/ (read-only; Ctrl-C stops)");

  signals.runUntilStopped(
      logger, [&] { server->run(); }, [&] { server->stop(); });
  return EXIT_OK;
}

}  // namespace

void addWeb(CLI::App& app, Invocation& invocation) {
  auto flags = std::make_shared<WebFlags>();
  auto* cmd = app.add_subcommand(
      "web", "Serve a read-only reading room of the archive to a browser until stopped");
  cmd->add_option("--listen", flags->listen,
                  "HOST:PORT to listen on (default 127.0.0.1:7480, this computer only)");
  cmd->add_option("--password-file", flags->passwordFile,
                  "File whose first line is a password every browser must give (HTTP Basic)");
  cmd->footer(
      "Examples:\n"
      "  fieldsync web                       then open http://127.0.0.1:7480/\n"
      "  fieldsync web --listen 0.0.0.0:7480 --password-file room.pass   (the office LAN)");
  cmd->callback([&invocation, flags] {
    invocation.action = [&invocation, flags] { return runWeb(invocation.global, *flags); };
  });
}

}  // namespace fieldsync::cli
