#pragma once
// Checks on the files of an LMDB environment that LMDB itself does not make, for the archive
// (store/archive.h) to call on its open and write paths.
//  - data.mdb is read (not mapped) before LMDB maps it: a file shorter than its newest meta
//    page says, or with unreadable meta pages, would otherwise be SIGBUS at the first touch
//    of a page past its end. Damage is an Error naming the file and what is wrong.
//  - lock.mdb is known by its device and inode when the environment is opened: a lock file
//    deleted or replaced meanwhile means another process may now write the same data.mdb
//    under a different lock, and every write of ours could undo one of its commits.
// Threads: free functions with no state. Errors: fieldsync::Error (status 5 in the CLI).

#include <cstdint>
#include <filesystem>
#include <optional>

namespace fieldsync::store {

/// What the newest meta page of a data.mdb says, as checkDataFile read it.
struct DataFileFacts {
  std::uint64_t fileBytes = 0;
  std::uint32_t pageBytes = 0;
  std::uint64_t lastPage = 0;  // the highest page number in use
  std::uint64_t txnId = 0;
};

/// Reads the two meta pages of dir/data.mdb with pread and checks them (page flags, magic,
/// version) and the file's size against the newest one's last page. Empty when the file is
/// missing or empty (LMDB then makes a new one). Throws Error, naming the file, what is wrong
/// and what to do, when it is damaged: nothing of it has been mapped.
std::optional<DataFileFacts> checkDataFile(const std::filesystem::path& dir);

/// A file as the file system knows it: device and inode.
struct FileIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  bool operator==(const FileIdentity&) const = default;
};

/// The identity of the file at path (stat, following no link); empty when there is none.
std::optional<FileIdentity> identityOf(const std::filesystem::path& path);

}  // namespace fieldsync::store
