#pragma once
// A node's home folder: its archive, its identity and its local settings.
//
//   HOME/archive/   the LMDB environment (see archive.h)
//   HOME/node.key   the Ed25519 secret key file, mode 0600, optionally sealed (protocol/keys.h)
//
// The node's name and public key are also kept in the archive's meta database, so commands
// that only read never touch the secret key.
// Threads: as Archive. Errors: fieldsync::Error with what to do ("run fieldsync init").

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/keys.h"
#include "store/archive.h"

namespace fieldsync::store {

/// Where the archive's meta database keeps the node's public key (hex) and name.
inline constexpr std::string_view META_NODE_KEY = "node.publicKey";
inline constexpr std::string_view META_NODE_NAME = "node.name";

struct InitOptions {
  std::string name;                       // shown to peers and in provenance; may be empty
  std::optional<std::string> passphrase;  // seal the secret key with it
  protocol::SealCost sealCost = protocol::defaultSealCost();
  /// Set: the node trusts its own key as coordinator, under this note (`init --coordinator`),
  /// written with the identity so that no home is ever left half a coordinator.
  std::optional<std::string> coordinator;
};

class Home {
 public:
  /// Creates a new node in dir: the folder (0700), a fresh identity and an empty archive.
  /// Refuses (Error) when dir already holds a key file or an archive (a partial one: an
  /// Error saying what is there and what to do). The home is built in a folder beside dir
  /// and renamed into place, so a kill at any moment leaves no home or a whole one (when dir
  /// exists already and holds other files, the archive and then the key file are moved in:
  /// a kill between the two leaves a partial home, which every command recognises).
  static void init(const std::filesystem::path& dir, const InitOptions& options);

  /// True when dir holds a node (a key file or an archive), whole or partial.
  static bool exists(const std::filesystem::path& dir);
  /// When dir holds only one of the archive and the key file (an init killed by an older
  /// version, or a file removed by hand): what is there and what to do. Empty otherwise.
  static std::optional<std::string> partial(const std::filesystem::path& dir);

  /// The most bytes a key file may have (a sealed key is a few hundred).
  static constexpr std::size_t MAX_KEY_FILE_BYTES = 64 * 1024;

  /// Opens an initialised home; Error naming `fieldsync init` when there is none. readOnly:
  /// for commands that only read (list, show, search, verify): the archive is opened
  /// read-only, so a home on read-only media or without write permission still answers.
  static std::unique_ptr<Home> open(const std::filesystem::path& dir, bool readOnly = false);

  Archive& archive() { return *m_archive; }
  const Archive& archive() const { return *m_archive; }
  const std::filesystem::path& dir() const { return m_dir; }
  const protocol::PublicKey& publicKey() const { return m_publicKey; }
  const std::string& name() const { return m_name; }

  /// True when the secret key needs a passphrase.
  bool keyIsSealed() const;
  /// Reads the secret key; Error when the file cannot be read (not a regular file, larger
  /// than MAX_KEY_FILE_BYTES); OtherNode when it is a valid key but not this archive's.
  Expected<protocol::SecretKey, protocol::KeyFileProblem> loadSecretKey(
      std::optional<std::string_view> passphrase) const;
  /// A warning when the key file can be read or written by others than its owner (mode
  /// beyond 0600), naming the command that fixes it; empty when it is private.
  std::optional<std::string> keyFileWarning() const;

  static std::filesystem::path keyFile(const std::filesystem::path& dir) {
    return dir / "node.key";
  }
  static std::filesystem::path archiveDir(const std::filesystem::path& dir) {
    return dir / "archive";
  }

 private:
  Home(std::filesystem::path dir, std::unique_ptr<Archive> archive);
  std::string readKeyFile() const;

  std::filesystem::path m_dir;
  std::unique_ptr<Archive> m_archive;
  protocol::PublicKey m_publicKey;
  std::string m_name;
};

}  // namespace fieldsync::store
