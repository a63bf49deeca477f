// fieldsync pause and fieldsync resume: stop and restart all traffic with peers, for metered
// links and for people who need the line. The pause is kept in the archive (store/pause.h),
// where a running daemon reads it; this file parses, calls and prints.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/units.h"
#include "store/pause.h"

namespace fieldsync::cli {
namespace {

constexpr std::int64_t MAX_PAUSE = 365 * 86400;

std::string describeEnd(std::int64_t until) {
  return until == store::PAUSED_INDEFINITELY ? "until `fieldsync resume`"
                                             : "until " + isoTime(until);
}

nlohmann::json untilJson(std::int64_t until) {
  return until == store::PAUSED_INDEFINITELY ? nlohmann::json("indefinitely")
                                             : nlohmann::json(isoTimeJson(until));
}

int runPause(const Global& global, const std::optional<std::string>& forText, bool json) {
  std::optional<std::int64_t> seconds;
  if (forText) {
    seconds = parseDuration(*forText);
    if (!seconds)
      throw UsageError("--for: not a duration: \"" + *forText +
                       "\" (expected a number with a unit s, m, h or d, such as 30m, 2h, 1d or "
                       "1h30m)");
    if (*seconds < 1 || *seconds > MAX_PAUSE)
      throw UsageError("--for: " + *forText +
                       " is out of range (1s to 365d; without --for the pause lasts until "
                       "`fieldsync resume`); nothing changed");
  }
  auto home = openHome(global);
  const std::int64_t at = now();
  const std::int64_t until = seconds ? at + *seconds : store::PAUSED_INDEFINITELY;
  home->archive().write([&](store::WriteTxn& txn) { store::pauseTraffic(txn, until); });
  if (json) {
    std::cout << nlohmann::json{{"pausedUntil", untilJson(until)}} << '\n';
    return EXIT_OK;
  }
  std::cout << "Paused all traffic with peers " << describeEnd(until);
  if (seconds) {
    std::cout << " (for " << formatDuration(*seconds) << ")";
    if (!global.quiet)
      std::cout << "; it resumes by itself then, or sooner with `fieldsync resume`";
  }
  std::cout << '\n';
  return EXIT_OK;
}

int runResume(const Global& global, bool json) {
  auto home = openHome(global);
  const std::int64_t at = now();
  std::optional<std::int64_t> was;
  home->archive().write([&](store::WriteTxn& txn) { was = store::resumeTraffic(txn, at); });
  if (json) {
    std::cout << nlohmann::json{{"wasPausedUntil", was ? untilJson(*was) : nlohmann::json(nullptr)}}
              << '\n';
    return EXIT_OK;
  }
  if (was)
    std::cout << "Resumed traffic with peers (it was paused " << describeEnd(*was) << ")\n";
  else
    std::cout << "Traffic with peers was not paused; nothing changed\n";
  return EXIT_OK;
}

}  // namespace

void addPause(CLI::App& app, Invocation& invocation) {
  auto forText = std::make_shared<std::optional<std::string>>();
  auto* cmd =
      app.add_subcommand("pause", "Stop all traffic with peers, for a time or until resumed");
  cmd->add_option("--for", *forText, "How long: 30m, 2h, 1d, 1h30m (default: until resumed)");
  auto pauseJson = std::make_shared<bool>(false);
  cmd->add_flag("--json", *pauseJson, "Print {\"pausedUntil\"} as JSON");
  cmd->footer("Example: keep the line free for a call\n  fieldsync pause --for 2h");
  cmd->callback([&invocation, forText, pauseJson] {
    invocation.action = [&invocation, forText, pauseJson] {
      return runPause(invocation.global, *forText, *pauseJson);
    };
  });

  auto resumeJson = std::make_shared<bool>(false);
  cmd = app.add_subcommand("resume", "End a pause: traffic with peers flows again");
  cmd->add_flag("--json", *resumeJson, "Print {\"wasPausedUntil\"} as JSON");
  cmd->footer("Example:\n  fieldsync resume");
  cmd->callback([&invocation, resumeJson] {
    invocation.action = [&invocation, resumeJson] {
      return runResume(invocation.global, *resumeJson);
    };
  });
}

}  // namespace fieldsync::cli
