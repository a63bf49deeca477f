#pragma once
// Import of files: read here, parsed by protocol/'s pure parsers (importers.h), signed and
// stored through ingestClippings. An mbox and a jsonl file are read a record at a time (a
// message, a line: protocol::RecordSplitter) and stored in batches, so memory stays flat
// whatever the file's size (a 2 GB mbox: docs/benchmarks.md); the other formats are read
// whole, at most protocol::MAX_IMPORT_BYTES.
//
// Two passes keep "a bad file imports nothing": every file is read and checked first, then
// read again and stored. A file whose clippings fit one batch keeps them from the first pass
// (so small files are parsed once); a larger one is parsed again, from the same open file.
// Standard input ("-") cannot be read twice: it is held, at most MAX_IMPORT_BYTES.
//
// Threads: as Archive::write(). Lifetime: nothing is kept after the call.
// Errors: files refused by the check come back as ImportRefused (nothing stored). An
// unreadable file in the second pass, or one that changed between the passes, throws
// fieldsync::Error; the batches committed before it stay (each is whole, and a second import
// stores the rest without storing anything twice). Archive problems throw as Archive does.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "protocol/importers.h"
#include "protocol/keys.h"
#include "store/archive.h"
#include "store/progress.h"

namespace fieldsync::store {

struct ImportOptions {
  std::optional<protocol::Format> format{};  // empty: detected for each file (detectFormat)
  std::vector<std::string> tags{};           // added to every clipping
  bool keepIds = false;                      // FileImported holds the ids, not only counts
  std::size_t batchClippings = 4096;         // at most this many clippings a transaction
  std::size_t batchBytes = 4u << 20;         // and about this many bytes of clippings
  /// A PDF is read in a child process with these limits (RLIMIT_DATA, RLIMIT_CPU): poppler
  /// inflates streams as it extracts text, so a small PDF can hold gigabytes of text.
  std::size_t pdfMemoryBytes = 512u << 20;
  unsigned pdfCpuSeconds = 30;
};

/// What one file gave, told once all of it is committed.
struct FileImported {
  std::string file;
  protocol::Format format = protocol::Format::Digest;
  std::size_t stored = 0;                // newly signed and stored
  std::size_t duplicates = 0;            // content this key had already signed
  std::size_t retracted = 0;             // taken back by a retraction here (not signed again)
  std::vector<ObjectId> storedIds{};     // with keepIds, in the file's order
  std::vector<ObjectId> duplicateIds{};  // with keepIds
};

/// The files the check refused, one line each: "FILE:LINE: reason" or "FILE: reason".
struct ImportRefused {
  std::vector<std::string> problems;
};

/// Imports files in order: checks them all, then stores each in batches of one transaction.
/// fileDone is called after a file's last commit; progress counts clippings over all files
/// (total known after the check). Empty when every file passed the check.
[[nodiscard]] std::optional<ImportRefused> importFiles(
    Archive& archive, const protocol::SecretKey& key, const std::vector<std::string>& files,
    const ImportOptions& options, std::int64_t signedAt,
    const std::function<void(const FileImported&)>& fileDone,
    const ProgressCallback& progress = {});

}  // namespace fieldsync::store
