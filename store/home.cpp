#include "store/home.h"

#include "store/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace fieldsync::store {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const std::string& call, const fs::path& path, int err) {
  throw Error(call + " " + path.string() + ": " + std::strerror(err));
}

}  // namespace

bool Home::exists(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(keyFile(dir), ec) || fs::exists(archiveDir(dir), ec);
}

std::optional<std::string> Home::partial(const fs::path& dir) {
  std::error_code ec;
  const bool archive = fs::exists(archiveDir(dir), ec);
  const bool key = fs::exists(keyFile(dir), ec);
  if (archive == key) return std::nullopt;
  if (archive)
    return dir.string() + " holds a partial fieldsync home: an archive but no node.key (an " +
           "init that was interrupted, or a key file removed by hand). Without its key it " +
           "cannot be used. If you have its node.key, put it back in " + dir.string() +
           "; otherwise remove " + archiveDir(dir).string() + " and run `fieldsync init` again";
  return dir.string() + " holds a partial fieldsync home: a node.key but no archive. If you " +
         "have the archive folder, put it back as " + archiveDir(dir).string() +
         "; otherwise move " + keyFile(dir).string() + " somewhere safe (it is an identity) " +
         "and run `fieldsync init` again";
}

void Home::init(const fs::path& given, const InitOptions& options) {
  std::error_code ec;
  if (auto what = partial(given)) throw Error("refusing to init: " + *what);
  if (exists(given))
    throw Error("refusing to init " + given.string() +
                ": it already holds a fieldsync node (remove it first or choose another --home)");
  fs::path dir = given.lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();
  if (fs::is_symlink(dir, ec)) dir = fs::canonical(dir);  // a home linked to another disk
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec) throw Error("mkdir " + parent.string() + ": " + ec.message());
  // Leftovers of inits killed before their rename: never a home, always safe to remove.
  const std::string prefix = "." + dir.filename().string() + ".init-";
  for (const auto& entry : fs::directory_iterator(parent, ec))
    if (entry.path().filename().string().rfind(prefix, 0) == 0) fs::remove_all(entry.path(), ec);
  const fs::path building = parent / (prefix + std::to_string(::getpid()));
  if (!fs::create_directory(building, ec) || ec)
    throw Error("mkdir " + building.string() + ": " + (ec ? ec.message() : "exists"));
  fs::permissions(building, fs::perms::owner_all, ec);
  try {
    auto key = protocol::SecretKey::generate();
    auto archive = Archive::open(
        mapSizesFromEnvironment(Options{.dir = archiveDir(building), .create = true}));
    archive->write([&](WriteTxn& txn) {
      txn.setMeta(META_NODE_KEY, key.publicKey().hex());
      txn.setMeta(META_NODE_NAME, options.name);
      if (options.coordinator)
        txn.setAnchor({key.publicKey(), protocol::Role::Coordinator, *options.coordinator});
    });
    archive.reset();
    std::optional<std::string_view> passphrase;
    if (options.passphrase) passphrase = *options.passphrase;
    writeFileDurably(keyFile(building), protocol::encodeKeyFile(key, passphrase, options.sealCost),
                     0600, /*exclusive=*/true);
    // Whole or nothing: the built home takes the place of nothing or of an empty folder in
    // one rename. Into a folder holding other files, the archive goes first and the key file
    // last (a kill between leaves a partial home that partial() recognises).
    if (::rename(building.c_str(), dir.c_str()) != 0) {
      if (errno != ENOTEMPTY && errno != EEXIST) fail("rename", dir, errno);
      if (::rename(archiveDir(building).c_str(), archiveDir(dir).c_str()) != 0)
        fail("rename", archiveDir(dir), errno);
      if (::rename(keyFile(building).c_str(), keyFile(dir).c_str()) != 0) {
        const int err = errno;
        fs::remove_all(archiveDir(dir), ec);
        fail("rename", keyFile(dir), err);
      }
      fs::remove_all(building, ec);
    }
    if (const int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  } catch (...) {
    fs::remove_all(building, ec);
    throw;
  }
}

Home::Home(fs::path dir, std::unique_ptr<Archive> archive)
    : m_dir(std::move(dir)), m_archive(std::move(archive)) {
  auto txn = m_archive->beginRead();
  auto key = txn.getMeta(META_NODE_KEY);
  auto parsed = key ? protocol::PublicKey::fromHex(*key) : std::nullopt;
  if (!parsed)
    throw Error("the archive in " + m_dir.string() + " has no node key: is it a fieldsync home?");
  m_publicKey = *parsed;
  m_name = txn.getMeta(META_NODE_NAME).value_or("");
}

std::unique_ptr<Home> Home::open(const fs::path& dir, bool readOnly) {
  std::error_code ec;
  if (auto what = partial(dir)) throw Error(*what);
  if (!fs::exists(archiveDir(dir), ec) || !fs::exists(keyFile(dir), ec))
    throw Error("no fieldsync node in " + dir.string() +
                ": run `fieldsync init` first, or point --home or FIELDSYNC_HOME at one");
  return std::unique_ptr<Home>(
      new Home(dir, Archive::open(mapSizesFromEnvironment(
                        Options{.dir = archiveDir(dir), .readOnly = readOnly}))));
}

std::string Home::readKeyFile() const {
  return readFileBounded(keyFile(m_dir), MAX_KEY_FILE_BYTES, "the key file");
}

std::optional<std::string> Home::keyFileWarning() const {
  struct stat st {};
  if (::stat(keyFile(m_dir).c_str(), &st) != 0 || (st.st_mode & 077) == 0) return std::nullopt;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return "warning: the secret key file " + keyFile(m_dir).string() + " has mode " + mode +
         ": others on this machine can read it (or write it). Run `chmod 600 " +
         keyFile(m_dir).string() + "`";
}

bool Home::keyIsSealed() const { return protocol::keyFileIsSealed(readKeyFile()); }

Expected<protocol::SecretKey, protocol::KeyFileProblem> Home::loadSecretKey(
    std::optional<std::string_view> passphrase) const {
  auto key = protocol::decodeKeyFile(readKeyFile(), passphrase);
  if (key && key->publicKey() != m_publicKey) return protocol::KeyFileProblem::OtherNode;
  return key;
}

}  // namespace fieldsync::store
