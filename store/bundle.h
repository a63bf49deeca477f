#pragma once
// Offline bundles and the archive: choosing what a bundle carries and writing it, importing
// one (every object verified, as sync does), and checking one without a node's archive.
// The format is protocol/bundle.h; the file handling is the caller's (cli/cmd_bundle.cpp).
//
// Threads: as Archive (exportBundle holds one read transaction for the whole export;
// importBundle writes through Archive::write and may verify on several threads).
// Errors: a file that is not a bundle is a value (BundleRejection); damage and invalid
// objects are reported in the result; LMDB and I/O failures throw Error.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "protocol/bundle.h"
#include "protocol/trust.h"
#include "store/archive.h"
#include "store/peers.h"
#include "store/progress.h"
#include "store/provenance.h"

namespace fieldsync::store {

/// Which clippings a bundle carries. Every filter given must hold; none given: every object
/// in the archive. docs/bundle.md gives the rules for the other objects that come along.
struct BundleSelection {
  /// "NAME", "NAME@SEQ" or a release id: the clippings that release and the releases before
  /// it in its chain (followed through `previous`) do not list.
  std::optional<std::string> sinceRelease;
  /// Clippings that have every one of these tags.
  std::vector<std::string> tags;
  /// Only objects that arrived in this archive after this local seq (ReadTxn::since).
  /// Applies to clippings and releases; key certificates, revocations, retractions and
  /// annotations always come along.
  std::optional<std::uint64_t> afterSeq;
  /// `bundle export --for PEER`: only what the listed peer of this name is not known to hold.
  /// It is known to hold what this archive held at its last in-step session (the objects up
  /// to PeerState::inStepSeq) and what its latest recorded stick lists (peerHoldings). Unlike
  /// the filters above this one applies to every kind: key certificates, revocations and the
  /// links of release chains that it holds are left out too (it has them, so leaving them out
  /// hides nothing from it). Refused when no peer has this name.
  std::optional<std::string> forPeer;
};

/// Who writes a bundle, for a bundle that says what this archive holds (a holdings block,
/// protocol/bundle.h): the node's public key and a way to sign with its secret key, which the
/// store never sees.
struct BundleSigner {
  protocol::PublicKey key;
  protocol::HoldingsSigner sign;
};

/// The ids a bundle of selection carries, in bundle order: key certificates, revocations,
/// retractions, releases (by name and sequence, each with its chain back to sequence 1 and
/// each followed by the parts of it this archive holds), then clippings
/// in the order they arrived in this archive. Refuses (the reason) an unknown or forked
/// release name.
Expected<std::vector<ObjectId>, std::string> selectForBundle(const ReadTxn& txn,
                                                             const BundleSelection& selection);

struct ExportSummary {
  std::uint64_t objects = 0;
  std::uint64_t clippings = 0;
  std::uint64_t releases = 0;
  std::uint64_t keyCerts = 0;
  std::uint64_t revocations = 0;
  std::uint64_t retractions = 0;
  std::uint64_t annotations = 0;
  /// The ids the bundle's holdings block lists (every object of this archive); empty when the
  /// bundle has no block: none was asked for, or the archive holds more than
  /// BundleLimits::maxHeldIds objects.
  std::optional<std::uint64_t> heldIds;
  /// For forPeer: objects the peer is known to hold that the selection would otherwise carry.
  std::uint64_t leftOut = 0;
};

/// Writes the selected objects, as stored, to sink as a bundle. One read transaction.
/// progress is told of each object written (done of total = the objects selected, bytes of
/// the objects as stored, before compression). With holdings, the bundle also says what this
/// archive holds, signed by holdings->sign (16 bytes per object held, see docs/bundle.md), so
/// the node that imports it can send back only what this one lacks.
Expected<ExportSummary, std::string> exportBundle(
    const Archive& archive, const BundleSelection& selection, const protocol::Sink& sink,
    std::int64_t createdAt, protocol::BundleWriterOptions options = {},
    const ProgressCallback& progress = {},
    const std::optional<BundleSigner>& holdings = std::nullopt);

/// What an import found. Problems are in file order: damage (a lost frame, truncation, a bad
/// hash) and objects refused by protocol::verify (damage InvalidObject, the reason in
/// detail). Nothing else in the bundle is lost by them.
struct ImportReport {
  protocol::BundleHeader header;
  std::uint64_t read = 0;            // objects read from intact frames
  std::uint64_t stored = 0;          // verified and newly stored
  std::uint64_t alreadyPresent = 0;  // verified, already in the archive
  std::uint64_t retracted = 0;       // verified clippings a retraction in effect here took:
                                     // refused (store/retraction.h)
  std::vector<protocol::BundleRejection> problems;
  bool intact = false;  // the bundle was read whole: no damage (invalid objects aside)
  /// The bundle's holdings block, when it had one that checked: who wrote it, when, how many
  /// ids it lists, and whether they were recorded for that peer (recordStick).
  struct Stick {
    protocol::PublicKey writer;
    std::int64_t at = 0;
    std::uint64_t ids = 0;
    StickOutcome outcome{StickOutcome::NotListed, "", 0};
  };
  std::optional<Stick> stick;
  bool ok() const { return problems.empty(); }
};

struct ImportOptions {
  /// A write transaction (and the objects held in memory to verify) ends at whichever comes
  /// first. Larger batches import faster (fewer commits and term-index batches, see
  /// docs/benchmarks.md). One batch is stored while the next is read, verified and prepared:
  /// the peak heap is about eleven times a batch's bytes (316 MB for batches of 8,192
  /// clippings of 3.4 kB: the batch read, its verified objects, the batch being written with
  /// its search terms, and LMDB's dirty pages; heaptrack, docs/benchmarks.md).
  std::size_t batchObjects = 8192;
  std::size_t batchBytes = 32u << 20;
  unsigned threads = 0;  // to verify signatures; 0: one per core
  protocol::BundleLimits limits;
  /// Told after each batch is stored: done = objects read so far, total = the count the
  /// header announces (a damaged bundle may hold fewer), bytes = their bytes.
  ProgressCallback progress;
};

/// Reads a bundle and stores every object that protocol::verify() accepts, whoever signed
/// it (trust is judged by `verify`, not by how an object travelled), in batches of one
/// write transaction each. Idempotent. When the bundle's holdings block checks and its writer
/// is a listed peer, records them for that peer (recordStick) after the objects: a stranger's
/// block, or one older than the peer's latest stick, changes nothing (see report.stick).
/// An object is stored verified or not at all; a failure
/// of the environment (Error) leaves the batches committed before it, each whole.
/// A refusal: the input is not a bundle this version reads, and nothing was stored.
Expected<ImportReport, protocol::BundleRejection> importBundle(Archive& archive,
                                                               protocol::Source source,
                                                               const ImportOptions& options = {});

/// Checks a bundle without a node's archive: ids and signatures of every object, trust from
/// `anchors` and the bundle's own key certificates and revocations, release chains, exactly
/// as `fieldsync verify` judges an archive. It does so by importing the bundle into a
/// temporary archive under scratchParent (removed on return) and running store's
/// provenance checks on it, so both commands share one judgement. Reports reach sink in id
/// order; damage and invalid objects are in the returned report.
Expected<ImportReport, protocol::BundleRejection> verifyBundle(
    protocol::Source source, std::vector<protocol::Anchor> anchors,
    const std::function<void(ObjectReport&&)>& sink,
    const std::filesystem::path& scratchParent = std::filesystem::temp_directory_path(),
    const ImportOptions& options = {});

/// verifyBundle judged by a node's keyring as well, when keyring is not null: its anchors join
/// `anchors`, and its key certificates and revocations join the bundle's own (checked again on
/// the way into the temporary archive). Reports still cover the bundle's objects only.
Expected<ImportReport, protocol::BundleRejection> verifyBundle(
    protocol::Source source, std::vector<protocol::Anchor> anchors, const Archive* keyring,
    const std::function<void(ObjectReport&&)>& sink,
    const std::filesystem::path& scratchParent = std::filesystem::temp_directory_path(),
    const ImportOptions& options = {});

}  // namespace fieldsync::store
