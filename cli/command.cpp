#include "cli/command.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
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

std::optional<std::string> readPassphrase(const Global& global) {
  std::string path = global.passphraseFile;
  if (path.empty()) {
    if (const char* env = std::getenv("FIELDSYNC_PASSPHRASE_FILE"); env && *env) path = env;
  }
  if (path.empty()) return std::nullopt;
  constexpr std::size_t MAX_PASSPHRASE_BYTES = 4096;
  std::string text = readInput(path, MAX_PASSPHRASE_BYTES);
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) throw UsageError("the passphrase file " + path + " is empty");
  return line;
}

protocol::SecretKey loadSecretKey(const Global& global, const store::Home& home) {
  auto passphrase = readPassphrase(global);
  std::optional<std::string_view> view;
  if (passphrase) view = *passphrase;
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

}  // namespace fieldsync::cli
