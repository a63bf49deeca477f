#include "cli/command.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>

namespace fieldsync::cli {
namespace fs = std::filesystem;

fs::path homePath(const Global& global) {
  if (!global.home.empty()) return global.home;
  if (const char* env = std::getenv("FIELDSYNC_HOME"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return fs::path(xdg) / "fieldsync";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".local" / "share" / "fieldsync";
  throw UsageError("no home folder: set --home, FIELDSYNC_HOME or HOME");
}

std::unique_ptr<store::Home> openHome(const Global& global) {
  auto dir = homePath(global);
  if (!store::Home::exists(dir))
    throw UsageError("no fieldsync node in " + dir.string() +
                     ": run `fieldsync init` first, or point --home or FIELDSYNC_HOME at one");
  return store::Home::open(dir);
}

std::unique_ptr<store::Home> openHomeToRead(const Global& global) {
  auto dir = homePath(global);
  if (!store::Home::exists(dir))
    throw UsageError("no fieldsync node in " + dir.string() +
                     ": run `fieldsync init` first, or point --home or FIELDSYNC_HOME at one");
  return store::Home::open(dir, /*readOnly=*/true);
}

fs::path temporaryFolder() {
  std::error_code ec;
  auto dir = fs::temp_directory_path(ec);
  if (!ec) return dir;
  const char* tmpdir = std::getenv("TMPDIR");
  if (tmpdir && *tmpdir)
    throw UsageError(std::string("TMPDIR is ") + tmpdir +
                     ", which is not an existing folder: temporary files go there. Create it, "
                     "point TMPDIR at a folder that exists, or unset it (then /tmp is used)");
  throw UsageError(
      "no folder for temporary files: /tmp does not exist or is not a folder; set "
      "TMPDIR to a folder that exists");
}

std::optional<std::string> readPassphrase(const Global& global) {
  std::string path = global.passphraseFile;
  if (path.empty()) {
    if (const char* env = std::getenv("FIELDSYNC_PASSPHRASE_FILE"); env && *env) path = env;
  }
  if (path.empty()) return std::nullopt;
  return readSecretLine(path, "passphrase file");
}

std::string readSecretLine(const std::string& path, const std::string& what) {
  constexpr std::size_t MAX_SECRET_FILE_BYTES = 4096;
  std::string text = readInput(path, MAX_SECRET_FILE_BYTES);
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) throw UsageError("the " + what + " " + path + " is empty");
  return line;
}

protocol::SecretKey loadSecretKey(const Global& global, const store::Home& home) {
  auto passphrase = readPassphrase(global);
  std::optional<std::string_view> view;
  if (passphrase) view = *passphrase;
  if (auto warning = home.keyFileWarning()) std::cerr << *warning << '\n';
  auto key = home.loadSecretKey(view);
  if (!key) throw UsageError(std::string(protocol::describe(key.error())));
  return std::move(key).value();
}

std::string readInput(const std::string& path, std::size_t maxBytes) {
  std::string text;
  auto readAll = [&](std::istream& in) {
    char buffer[1 << 16];
    while (in) {
      in.read(buffer, sizeof buffer);
      text.append(buffer, static_cast<std::size_t>(in.gcount()));
      if (text.size() > maxBytes)
        throw UsageError(path + ": larger than the limit of " + std::to_string(maxBytes) +
                         " bytes");
    }
    if (in.bad()) throw UsageError(path + ": read error");
  };
  if (path == "-") {
    readAll(std::cin);
    return text;
  }
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw UsageError(path + ": no such file");
  if (!fs::is_regular_file(status)) throw UsageError(path + ": not a regular file");
  if (fs::file_size(path, ec) > maxBytes)
    throw UsageError(path + ": larger than the limit of " + std::to_string(maxBytes) + " bytes");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(path + ": cannot be read (permissions?)");
  readAll(in);
  return text;
}

protocol::ObjectId resolveId(const store::ReadTxn& txn, const std::string& text) {
  auto id = txn.resolve(text);
  if (!id) throw UsageError(text + ": " + id.error().message());
  return id.value();
}

nlohmann::json errorJson(const std::string& message, int exitStatus) {
  return {{"message", message}, {"exit", exitStatus}};
}

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// KEY arguments are public keys in full: a prefix could name a key nobody meant to trust.
protocol::PublicKey parseKey(const std::string& text) {
  auto key = protocol::PublicKey::fromHex(text);
  if (!key)
    throw UsageError("not a public key: \"" + text +
                     "\" (expected 64 hex digits, as `fieldsync id` prints them)");
  return *key;
}

/// A moment on the command line, in UTC: "2026-11-27T10:00:00Z", or a date "2026-11-27" taken
/// at the start (00:00:00) or the end (23:59:59) of that day. Empty when text is neither or
/// names no real moment (2026-02-30, 24:00:00).
static std::optional<std::int64_t> parseMoment(std::string_view text, DayEdge edge) {
  if (text.size() != 10 && text.size() != 20) return std::nullopt;
  auto number = [&](std::size_t at, std::size_t digits) -> std::optional<int> {
    int value = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  auto year = number(0, 4), month = number(5, 2), day = number(8, 2);
  if (!year || !month || !day || text[4] != '-' || text[7] != '-') return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  if (text.size() == 20) {
    auto hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
    if (!hour || !minute || !second || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
        text[19] != 'Z')
      return std::nullopt;
    tm.tm_hour = *hour;
    tm.tm_min = *minute;
    tm.tm_sec = *second;
  } else if (edge == DayEdge::End) {
    tm.tm_hour = 23;
    tm.tm_min = 59;
    tm.tm_sec = 59;
  }
  const std::tm asked = tm;
  const std::time_t t = timegm(&tm);
  std::tm back{};
  gmtime_r(&t, &back);
  // timegm normalises out-of-range fields (February 30th becomes March 2nd): refuse those.
  if (back.tm_year != asked.tm_year || back.tm_mon != asked.tm_mon ||
      back.tm_mday != asked.tm_mday || back.tm_hour != asked.tm_hour ||
      back.tm_min != asked.tm_min || back.tm_sec != asked.tm_sec)
    return std::nullopt;
  return static_cast<std::int64_t>(t);
}

std::int64_t parseMomentOption(const std::string& option, const std::string& text, DayEdge edge) {
  auto moment = parseMoment(text, edge);
  if (!moment)
    throw UsageError(option + ": not a UTC date or time: \"" + text +
                     "\" (give 2026-11-27 or 2026-11-27T10:00:00Z)");
  return *moment;
}

}  // namespace fieldsync::cli
