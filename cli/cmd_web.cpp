// fieldsync web: the reading room, a read-only web server over the archive (node/web_server.h),
// until SIGINT or SIGTERM. Its log: node/log.h on stderr.
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "node/log.h"
#include "node/web_server.h"

namespace fieldsync::cli {
namespace {

struct WebFlags {
  std::string listen = node::DEFAULT_WEB_LISTEN;
  std::string passwordFile;
};

/// The first line of the password file; UsageError when it is missing or empty.
std::string readPassword(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty() || line.size() > 1024)
    throw UsageError("--password-file " + path +
                     ": cannot read a password from its first line (1 to 1024 bytes)");
  return line;
}

int runWeb(const Global& global, const WebFlags& flags) {
  node::Logger logger(std::cerr, node::LogLevel::Info, node::detectLogFormat(STDERR_FILENO));
  auto home = openHome(global);
  node::WebOptions options;
  options.listen = flags.listen;
  options.nodeName = home->name();
  options.nodeKey = home->publicKey().hex();
  if (!flags.passwordFile.empty()) options.password = readPassword(flags.passwordFile);

  // SIGINT and SIGTERM go to one thread that stops the server; blocked before the server's
  // threads start, so none of them receives them.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

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

  std::thread waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    logger.info(std::string("stopping on ") + (signal == SIGINT ? "SIGINT" : "SIGTERM"));
    server->stop();
  });
  try {
    server->run();
  } catch (...) {
    pthread_kill(waiter.native_handle(), SIGTERM);  // wake the waiter, then fail
    waiter.join();
    throw;
  }
  waiter.join();
  logger.info("stopped");
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
