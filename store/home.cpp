#include "store/home.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

/// Writes text to path with mode 0600, durably: a temp file, fsync, rename, fsync folder.
void writePrivateFile(const fs::path& path, std::string_view text) {
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) fail("open", tmp, errno);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail("write", tmp, err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail("fsync", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail("rename", tmp, err);
  }
  int dirFd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd >= 0) {
    ::fsync(dirFd);
    ::close(dirFd);
  }
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
    auto archive = Archive::open(Options{.dir = archiveDir(dir), .create = true});
    archive->write([&](WriteTxn& txn) {
      txn.setMeta(META_NODE_KEY, key.publicKey().hex());
      txn.setMeta(META_NODE_NAME, options.name);
    });
    archive.reset();
    std::optional<std::string_view> passphrase;
    if (options.passphrase) passphrase = *options.passphrase;
    writePrivateFile(keyFile(dir), protocol::encodeKeyFile(key, passphrase, options.sealCost));
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
  return std::unique_ptr<Home>(new Home(dir, Archive::open(Options{.dir = archiveDir(dir)})));
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
