#include "store/home.h"

#include "store/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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

void Home::init(const fs::path& dir, const InitOptions& options) {
  std::error_code ec;
  if (exists(dir))
    throw Error("refusing to init " + dir.string() +
                ": it already holds a fieldsync node (remove it first or choose another --home)");
  bool createdDir = !fs::exists(dir, ec);
  if (createdDir) {
    fs::create_directories(dir, ec);
    if (ec) throw Error("mkdir " + dir.string() + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, ec);
  }
  try {
    auto key = protocol::SecretKey::generate();
    auto archive =
        Archive::open(mapSizesFromEnvironment(Options{.dir = archiveDir(dir), .create = true}));
    archive->write([&](WriteTxn& txn) {
      txn.setMeta(META_NODE_KEY, key.publicKey().hex());
      txn.setMeta(META_NODE_NAME, options.name);
    });
    archive.reset();
    std::optional<std::string_view> passphrase;
    if (options.passphrase) passphrase = *options.passphrase;
    writeFileDurably(keyFile(dir), protocol::encodeKeyFile(key, passphrase, options.sealCost), 0600,
                     /*exclusive=*/true);
  } catch (...) {
    fs::remove_all(archiveDir(dir), ec);
    fs::remove(keyFile(dir), ec);
    if (createdDir) fs::remove(dir, ec);
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

std::unique_ptr<Home> Home::open(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(archiveDir(dir), ec) || !fs::exists(keyFile(dir), ec))
    throw Error("no fieldsync node in " + dir.string() +
                ": run `fieldsync init` first, or point --home or FIELDSYNC_HOME at one");
  return std::unique_ptr<Home>(
      new Home(dir, Archive::open(mapSizesFromEnvironment(Options{.dir = archiveDir(dir)}))));
}

std::string Home::readKeyFile() const {
  std::ifstream in(keyFile(m_dir), std::ios::binary);
  if (!in) fail("open", keyFile(m_dir), errno);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Home::keyIsSealed() const { return protocol::keyFileIsSealed(readKeyFile()); }

Expected<protocol::SecretKey, protocol::KeyFileProblem> Home::loadSecretKey(
    std::optional<std::string_view> passphrase) const {
  auto key = protocol::decodeKeyFile(readKeyFile(), passphrase);
  if (key && key->publicKey() != m_publicKey) return protocol::KeyFileProblem::Malformed;
  return key;
}

}  // namespace fieldsync::store
