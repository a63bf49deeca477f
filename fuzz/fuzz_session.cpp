// A whole server-side sync session (node::Session as responder) fed hostile bytes: the input is
// cut into messages (sync_fixture.h: splitMessages, a 2-byte length before each) and handed
// to the session one by one, as `serve` would hand over what a connected peer sends. The
// session reads and writes a real archive: one LMDB archive per process, in a temporary folder
// (under /dev/shm when there is one: a batch commits with fsync), created on first use with
// the 40 clippings of serverObjects(). The seeds are real sessions against that archive,
// recorded by make_seeds.cpp. Checks, besides the absence of crashes, leaks and undefined
// behaviour:
//  - nothing stored fails verification: every object the archive gained during the input is
//    read back and verified (protocol::verify: id, signature, canonical form), and the count
//    of them is what the session says it stored;
//  - nothing is lost: the archive never holds fewer objects than before, and its sync index
//    (what the next session reconciles) holds every object;
//  - what the session sends is valid protocol: every reply decodes with the default limits,
//    and a reconcile reply's frame decodes too;
//  - a session that is over stays over: it answers nothing more, and one that failed for the
//    peer's fault said why in a final error message.
// The archive grows only by objects the fuzzer can replay from the seeds (it cannot sign), so
// runs stay close to deterministic.

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/sync_fixture.h"
#include "node/session.h"
#include "node/verifier.h"
#include "protocol/sync.h"
#include "store/sync_index.h"

using namespace fieldsync;
namespace wire = fieldsync::protocol::sync;

namespace {

struct Server {
  std::unique_ptr<fuzz::TempDir> dir;
  std::unique_ptr<store::Archive> archive;
};

Server& server() {
  static Server instance = [] {
    if (std::filesystem::is_directory("/dev/shm") && ::access("/dev/shm", W_OK) == 0)
      ::setenv("TMPDIR", "/dev/shm", 1);
    Server s;
    s.dir = std::make_unique<fuzz::TempDir>();
    s.archive = fuzz::archiveWith(s.dir->path() / "archive", fuzz::serverObjects());
    return s;
  }();
  return instance;
}

void checkReply(const node::Bytes& bytes, const wire::MessageLimits& limits) {
  const auto message = wire::decode(bytes, limits);
  FUZZ_CHECK(message.ok());
  if (const auto* reconcile = std::get_if<wire::Reconcile>(&*message)) {
    if (!reconcile->frame.empty()) FUZZ_CHECK(protocol::decodeFrame(reconcile->frame).ok());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  store::Archive& archive = *server().archive;
  std::uint64_t seqBefore = 0, countBefore = 0;
  {
    const auto txn = archive.beginRead();
    seqBefore = txn.lastSeq();
    countBefore = txn.count();
  }

  node::SessionOptions options;
  options.verifier = node::parallelVerifier(1, options.limits.object);  // no threads per input
  node::Session session(archive, node::Session::Role::Responder, options);
  FUZZ_CHECK(session.start().empty());  // a responder does not open

  std::uint64_t bytesIn = 0;
  for (const auto message : fuzz::splitMessages({data, size})) {
    if (session.over()) {
      FUZZ_CHECK(session.receive(message).empty());
      break;
    }
    bytesIn += message.size();
    const auto replies = session.receive(message);
    for (const auto& reply : replies) checkReply(reply, options.limits);
    if (session.failed() && session.peerMisbehaved()) {
      FUZZ_CHECK(!replies.empty());
      const auto last = wire::decode(replies.back());
      FUZZ_CHECK(last.ok() && std::holds_alternative<wire::Failure>(*last));
      FUZZ_CHECK(!session.failure().empty());
    }
  }
  FUZZ_CHECK(session.stats().bytesIn == bytesIn);

  const auto txn = archive.beginRead();
  FUZZ_CHECK(txn.count() >= countBefore);
  const auto added = txn.since(seqBefore);
  FUZZ_CHECK(added.size() == session.stats().objectsIn);
  FUZZ_CHECK(txn.count() == countBefore + added.size());
  FUZZ_CHECK(store::ArchiveRangeIndex(txn).size() == txn.count());  // stored ones are synced on
  for (const store::SeqEntry& entry : added) {
    const auto bytes = txn.get(entry.id);
    FUZZ_CHECK(bytes.has_value());
    const auto verified = protocol::verify(*bytes);
    FUZZ_CHECK(verified.ok());
    FUZZ_CHECK(verified->id() == entry.id);
  }
  return 0;
}
