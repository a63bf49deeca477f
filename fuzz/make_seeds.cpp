// Writes the seed inputs that need keys or signatures: signed objects of every kind for
// fuzz_verify (the first is the docs/protocol.md test vector, checked against its id), key
// files for fuzz_keyfile, and minisign signatures for fuzz_minisign. For the sync targets it
// writes what the real code produces: a real session between two archives (every message the
// initiator sent, for fuzz_session, and each kind of message, for fuzz_sync_message), real
// reconciliation rounds (fuzz_reconcile), real batches (fuzz_batch), beacons (fuzz_beacon) and
// peer records (fuzz_peer_record). The text seeds of the other targets are plain files, cut by
// hand (fuzz/CMakeLists.txt says from where).
//
//   fuzz_seeds <corpus dir>       e.g. build-fuzz/fuzz/fuzz_seeds fuzz/corpus
//
// Deterministic, apart from the random salt and nonce of the sealed key files and the random
// salt of the recorded sessions.

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <deque>

#include "fuzz/fuzz_check.h"
#include "fuzz/sync_fixture.h"
#include "node/session.h"
#include "node/verifier.h"
#include "protocol/beacon.h"
#include "protocol/bundle.h"
#include "protocol/minisign.h"
#include "protocol/sync.h"
#include "store/peers.h"

using namespace fieldsync::protocol;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view VECTOR_ID =
    "21e8eaebe62adc6c16b23ad27a02f34bba1a4ab36e3d1740403b949687bef115";

void write(const fs::path& file, std::span<const std::uint8_t> bytes) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

void write(const fs::path& file, std::string_view text) {
  write(file, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()),
                                            text.size()));
}

std::span<const std::uint8_t> bytesOf(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

VerifiedObject signOrDie(Body body) {
  auto object = sign(Payload{{}, fuzz::FIXED_SIGNED_AT, std::move(body)}, fuzz::fixedKey());
  if (!object) throw std::runtime_error("sign: " + object.error().message());
  return std::move(object).value();
}

Clipping vectorClipping() {
  Clipping c;
  c.title = "Responsibility to Object";
  c.source = "Foreign Policy";
  c.authors = {"David Kaye"};
  c.published = "2013-01-11";
  c.url = "https://foreignpolicy.com/2013/01/11/responsibility-to-object/";
  c.tags = {"region:syria", "topic:accountability"};
  c.language = "en";
  c.body = "In Syria, the new year begins without change.";
  c.collection = "fieldsync test vectors";
  return c;
}

void writeVerifySeeds(const fs::path& dir) {
  const VerifiedObject vector = signOrDie(vectorClipping());
  if (vector.id().hex() != VECTOR_ID)
    throw std::runtime_error("the test vector's id is not the one docs/protocol.md gives");
  write(dir / "clipping-test-vector", vector.bytes());

  Clipping minimal;
  minimal.title = "T";
  write(dir / "clipping-title-only", signOrDie(minimal).bytes());

  Clipping accents = vectorClipping();
  accents.title = "Côte d’Ivoire: élections à Abidjan";
  accents.authors = {"Zoë Ngũgĩ", "Łukasz Żółw"};
  accents.published = "2012-12";
  accents.body = "Première ligne.\n\nSecond paragraph\nwith two lines.";
  write(dir / "clipping-utf8", signOrDie(accents).bytes());

  Release first{"weekly-digest", 1, std::nullopt, {vector.id()}, "first release"};
  const VerifiedObject release = signOrDie(first);
  write(dir / "release-first", release.bytes());
  Release second{"weekly-digest", 2, release.id(), {release.id(), vector.id()}, ""};
  std::sort(second.clippings.begin(), second.clippings.end());
  write(dir / "release-second", signOrDie(second).bytes());

  write(dir / "keycert", signOrDie(KeyCert{fuzz::fixedKey().publicKey(), Role::Coordinator,
                                           "Goma office", 1893456000})
                             .bytes());
  write(dir / "revocation",
        signOrDie(Revocation{fuzz::fixedKey().publicKey(), 1357862400, "laptop stolen"}).bytes());
}

/// Small bundles: one of a few objects, one of several frames, an empty one, and one that
/// says what its writer holds (a version 2 bundle with a holdings block).
void writeBundleSeeds(const fs::path& dir) {
  const VerifiedObject vector = signOrDie(vectorClipping());
  Clipping minimal;
  minimal.title = "T";
  const VerifiedObject small = signOrDie(minimal);
  auto bytes = [](const VerifiedObject& o) {
    return std::vector<std::uint8_t>(o.bytes().begin(), o.bytes().end());
  };
  write(dir / "bundle-two", writeBundle({bytes(vector), bytes(small)}, fuzz::FIXED_SIGNED_AT));
  BundleWriterOptions frames;
  frames.frameBytes = 256;
  write(dir / "bundle-frames",
        writeBundle({bytes(vector), bytes(small), bytes(small)}, fuzz::FIXED_SIGNED_AT, frames));
  write(dir / "bundle-empty", writeBundle({}, fuzz::FIXED_SIGNED_AT));
  const SecretKey& key = fuzz::fixedKey();
  const auto holdings = encodeHoldings(
      key.publicKey(), fuzz::FIXED_SIGNED_AT, {heldId(vector.id()), heldId(small.id())},
      [&](std::span<const std::uint8_t> message) { return key.sign(message); });
  write(dir / "bundle-holdings",
        writeBundle({bytes(small)}, fuzz::FIXED_SIGNED_AT, frames, holdings));
}

void writeKeyFileSeeds(const fs::path& dir) {
  const SecretKey& key = fuzz::fixedKey();
  write(dir / "plain", encodeKeyFile(key, std::nullopt));
  // Argon2id at libsodium's minimum: the only sealed files fuzz_keyfile opens.
  write(dir / "sealed-minimum-cost",
        encodeKeyFile(key, fuzz::FIXED_PASSPHRASE,
                      SealCost{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}));
  // The default cost: fuzz_keyfile only reads it without a passphrase.
  write(dir / "sealed-default-cost", encodeKeyFile(key, fuzz::FIXED_PASSPHRASE));
}

/// One fuzz_minisign input: a length byte, the message, the signature file.
std::string minisignInput(std::string_view message, std::string_view signatureFile) {
  std::string input(1, static_cast<char>(message.size()));
  input += message;
  input += signatureFile;
  return input;
}

void writeMinisignSeeds(const fs::path& dir) {
  const SecretKey& key = fuzz::fixedKey();
  const std::string_view manifest = "weekly-digest 2\nclippings.jsonl 4f2a\n";
  write(dir / "prehashed",
        minisignInput(manifest, minisignSign(key, bytesOf(manifest), "release weekly-digest 2")));
  write(dir / "prehashed-empty-message", minisignInput("", minisignSign(key, {}, "")));

  // Legacy "Ed": the signature is over the message itself. Built here: fieldsync only reads it.
  const std::string_view message = "legacy";
  const Signature signature = key.sign(bytesOf(message));
  std::vector<std::uint8_t> blob = {'E', 'd'};
  const auto id = minisignKeyId(key.publicKey());
  blob.insert(blob.end(), id.begin(), id.end());
  blob.insert(blob.end(), signature.bytes.begin(), signature.bytes.end());
  const std::string_view comment = "timestamp:1357862400";
  std::vector<std::uint8_t> signedComment(signature.bytes.begin(), signature.bytes.end());
  signedComment.insert(signedComment.end(), comment.begin(), comment.end());
  const Signature global = key.sign(signedComment);
  const std::string file = "untrusted comment: legacy signature\n" + base64Encode(blob) +
                           "\ntrusted comment: " + std::string(comment) + "\n" +
                           base64Encode(global.bytes) + "\n";
  write(dir / "legacy", minisignInput(message, file));
}

// --- The sync targets -------------------------------------------------------------------------

namespace wire = fieldsync::protocol::sync;
using fieldsync::node::Bytes;
using fieldsync::node::Session;

/// Every message the initiator sends in a real session between an archive of `peer` and one of
/// `server` (the archive fuzz_session serves), in the order the responder receives them; and
/// every message the responder sends.
struct Recorded {
  std::vector<Bytes> toResponder;
  std::vector<Bytes> toInitiator;
  bool finished = false;
};

Recorded recordSession(const std::vector<VerifiedObject>& peer,
                       const std::vector<VerifiedObject>& server,
                       fieldsync::node::SessionOptions options) {
  fuzz::TempDir dir;
  auto peerArchive = fuzz::archiveWith(dir.path() / "peer", peer);
  auto serverArchive = fuzz::archiveWith(dir.path() / "server", server);
  options.verifier = fieldsync::node::parallelVerifier(1, options.limits.object);
  Session initiator(*peerArchive, Session::Role::Initiator, options);
  Session responder(*serverArchive, Session::Role::Responder, options);
  Recorded recorded;
  std::deque<Bytes> toResponder, toInitiator;
  for (auto& m : initiator.start()) toResponder.push_back(std::move(m));
  while (!toResponder.empty() || !toInitiator.empty()) {
    if (!toResponder.empty()) {
      recorded.toResponder.push_back(toResponder.front());
      for (auto& m : responder.receive(toResponder.front())) {
        recorded.toInitiator.push_back(m);
        toInitiator.push_back(std::move(m));
      }
      toResponder.pop_front();
    } else {
      for (auto& m : initiator.receive(toInitiator.front())) toResponder.push_back(std::move(m));
      toInitiator.pop_front();
    }
  }
  recorded.finished = initiator.finished() && responder.finished();
  if (!recorded.finished) throw std::runtime_error("the recorded session did not finish");
  return recorded;
}

void writeSessionSeeds(const fs::path& sessionDir, const fs::path& messageDir) {
  const Recorded full = recordSession(fuzz::peerObjects(), fuzz::serverObjects(), {});
  write(sessionDir / "session-full", fuzz::joinMessages(full.toResponder));
  write(sessionDir / "session-hello-only", fuzz::joinMessages({full.toResponder.front()}));
  fieldsync::node::SessionOptions inStep;
  inStep.opening = Reconciler::Opening::InStep;
  const Recorded equal = recordSession(fuzz::serverObjects(), fuzz::serverObjects(), inStep);
  write(sessionDir / "session-in-step", fuzz::joinMessages(equal.toResponder));
  fieldsync::node::SessionOptions small;  // many rounds and batches
  small.tuning.leafItems = 4;
  small.tuning.maxFanout = 4;
  small.batchObjects = 3;
  small.window = 2;
  const Recorded smallBatches = recordSession(fuzz::peerObjects(), fuzz::serverObjects(), small);
  write(sessionDir / "session-small-batches", fuzz::joinMessages(smallBatches.toResponder));

  // One message of each kind, as the real session sent them.
  std::vector<std::size_t> written(6, 0);
  auto keep = [&](const Bytes& bytes) {
    const auto message = wire::decode(bytes);
    if (!message) throw std::runtime_error("a recorded message does not decode");
    const std::size_t kind = message->index();
    if (written[kind]++ >= 2) return;
    write(messageDir /
              (std::string(wire::messageName(*message)) + "-" + std::to_string(written[kind])),
          bytes);
  };
  for (const auto& m : full.toResponder) keep(m);
  for (const auto& m : full.toInitiator) keep(m);
  keep(wire::encode(wire::Failure{"peer: batch 3, object 2: bad signature"}));
}

/// Rounds of a real reconciliation between the keys 0-299 (index A) and 100-399 (index B) of
/// fuzz_reconcile, each as fuzz_reconcile reads it: the round byte (round - 1, bit 3 for the
/// small tuning, bit 4 when B is to process it), then the frame.
void writeReconcileSeeds(const fs::path& dir) {
  const VectorRangeIndex a(fuzz::fixedKeys(0, 300)), b(fuzz::fixedKeys(100, 300));
  const Tuning small{.leafItems = 4,
                     .maxFanout = 4,
                     .plannedRounds = 2,
                     .maxFrameBytes = 512,
                     .maxIdListItems = 8};
  struct Run {
    std::string name;
    bool smallTuning;
    Reconciler::Opening opening;
  };
  for (const Run& run : {Run{"full", false, Reconciler::Opening::Full},
                         Run{"in-step", false, Reconciler::Opening::InStep},
                         Run{"small", true, Reconciler::Opening::Full}}) {
    const Reconciler reconciler(fuzz::fixedSalt(), run.smallTuning ? small : Tuning{});
    std::vector<Frame> frames = reconciler.initiate(b, run.opening);  // B opens: A processes
    for (std::uint32_t round = 1; round <= 8 && !frames.empty(); ++round) {
      const bool bProcesses = round % 2 == 0;
      Reply reply;
      int piece = 0;
      for (const auto& bytes : encodeFrames(frames, run.smallTuning ? 512 : 256 * 1024)) {
        std::vector<std::uint8_t> input = {static_cast<std::uint8_t>(
            (round - 1) | (run.smallTuning ? 8u : 0u) | (bProcesses ? 16u : 0u))};
        input.insert(input.end(), bytes.begin(), bytes.end());
        if (piece < 3)
          write(dir / (run.name + "-round" + std::to_string(round) + "-" + std::to_string(++piece)),
                input);
        const auto frame = decodeFrame(bytes);
        if (!frame) throw std::runtime_error("a real frame does not decode");
        reconciler.process(*frame, round, bProcesses ? b : a, reply);
      }
      frames = std::move(reply.frames);
    }
  }
}

/// fuzz_batch's input for a batch: flags, object count, raw size, content.
std::vector<std::uint8_t> batchInput(std::uint8_t flags, std::uint32_t objects,
                                     std::uint32_t rawBytes,
                                     std::span<const std::uint8_t> content) {
  std::vector<std::uint8_t> out = {flags,
                                   static_cast<std::uint8_t>(objects >> 8),
                                   static_cast<std::uint8_t>(objects),
                                   static_cast<std::uint8_t>(rawBytes >> 16),
                                   static_cast<std::uint8_t>(rawBytes >> 8),
                                   static_cast<std::uint8_t>(rawBytes)};
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

void writeBatchSeeds(const fs::path& dir) {
  const auto objects = fuzz::serverObjects();
  std::vector<std::span<const std::uint8_t>> some;
  for (std::size_t i = 0; i < 6; ++i) some.push_back(objects[i].bytes());
  const wire::Batch packed = wire::packBatch(1, some);
  if (packed.compression != wire::Compression::Zstd)
    throw std::runtime_error("six clippings did not compress");
  write(dir / "zstd-six-clippings", batchInput(1, packed.objects, packed.rawBytes, packed.content));
  const wire::Batch single = wire::packBatch(1, {objects[0].bytes()});
  std::vector<std::uint8_t> raw;
  std::vector<std::uint8_t> storage;
  const auto unpacked = wire::unpackBatch(single, {}, storage);
  if (!unpacked) throw std::runtime_error("a real batch does not unpack");
  // The raw form (varint length, object) of one clipping, stored and compressed by the target.
  raw.push_back(static_cast<std::uint8_t>(objects[0].bytes().size() | 0x80));
  raw.push_back(static_cast<std::uint8_t>(objects[0].bytes().size() >> 7));
  raw.insert(raw.end(), objects[0].bytes().begin(), objects[0].bytes().end());
  write(dir / "raw-one-clipping", batchInput(0, 1, static_cast<std::uint32_t>(raw.size()), raw));
  write(dir / "compress-one-clipping", batchInput(3, 1, 0, raw));
  write(dir / "empty", batchInput(0, 0, 0, {}));
}

std::vector<std::uint8_t> beaconInput(std::int64_t now, const BeaconBytes& beacon) {
  std::vector<std::uint8_t> out;
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(now) >> shift));
  out.insert(out.end(), beacon.begin(), beacon.end());
  return out;
}

void writeBeaconSeeds(const fs::path& dir) {
  // fuzz_beacon hears as the fixed key, listing P (seed 7s) and Q (seed 8s).
  const auto keyOf = [](std::uint8_t fill) {
    std::array<std::uint8_t, SEED_BYTES> seed{};
    seed.fill(fill);
    return SecretKey::fromSeed(seed);
  };
  const SecretKey p = keyOf(7), q = keyOf(8);
  const PublicKey fixed = fuzz::fixedKey().publicKey();
  const auto pair = [](const SecretKey& own, const PublicKey& peer) {
    return *BeaconPairKey::derive(own, peer);
  };
  const std::int64_t at = fuzz::FIXED_SIGNED_AT;
  BeaconRandom random;  // fixed, so the seeds are the same on every run
  for (std::size_t i = 0; i < random.nonce.size(); ++i)
    random.nonce[i] = static_cast<std::uint8_t>(i);
  for (std::size_t i = 0; i < random.filler.size(); ++i)
    random.filler[i].fill(static_cast<std::uint8_t>(0x80 + i));
  const std::vector<BeaconPairKey> fromP{pair(p, fixed)};
  write(dir / "from-p", beaconInput(at + 5, encodeBeacon(fromP, 7800, at, random)));
  write(dir / "from-q-edge-of-window",
        beaconInput(at - 299, encodeBeacon(std::vector{pair(q, fixed)}, 65535, at, random)));
  // P naming 32 peers, the fixed key among them.
  std::vector<BeaconPairKey> many{pair(p, fixed)};
  for (std::uint8_t n = 20; many.size() < BEACON_TAG_SLOTS; ++n)
    many.push_back(pair(p, keyOf(n).publicKey()));
  write(dir / "from-p-to-32", beaconInput(at, encodeBeacon(many, 7420, at, random)));
  // The fixed key's own beacon for P, heard back: NotForUs.
  write(dir / "own",
        beaconInput(at, encodeBeacon(std::vector{pair(fuzz::fixedKey(), p.publicKey())}, 7420, at,
                                     random)));
  write(dir / "stale", beaconInput(at + 3600 + 301, encodeBeacon(fromP, 1, at, random)));
  write(dir / "negative-time", beaconInput(-100, encodeBeacon(fromP, 443, -1, random)));
}

/// fuzz_peer_record's input: the name's length, the name, the stored value.
std::vector<std::uint8_t> peerInput(std::string_view name, std::span<const std::uint8_t> value) {
  std::vector<std::uint8_t> out = {static_cast<std::uint8_t>(name.size())};
  out.insert(out.end(), name.begin(), name.end());
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

void writePeerSeeds(const fs::path& dir) {
  using fieldsync::store::PeerRecord;
  PeerRecord fresh;
  fresh.name = "goma";
  fresh.address = "tcp://goma.example.org:7800";
  fresh.key = fuzz::fixedKey().publicKey();
  write(dir / "fresh", peerInput(fresh.name, fieldsync::store::encodePeer(fresh)));

  PeerRecord used = fresh;
  used.name = "kinshasa-hub.2";
  used.address = "tcp://[2001:db8::7]:65535";
  used.state.lastSuccess = fuzz::FIXED_SIGNED_AT;
  used.state.lastAttempt = fuzz::FIXED_SIGNED_AT + 300;
  used.state.lastError = "peer: batch 3, object 2: bad signature — refusée";
  used.state.lastErrorAt = fuzz::FIXED_SIGNED_AT + 300;
  used.state.nextAttempt = fuzz::FIXED_SIGNED_AT + 900;
  used.state.objectsIn = 1234;
  used.state.bytesIn = 1u << 30;
  used.state.roundTrips = 3;
  used.state.failures = 2;
  used.state.budgetDay = fieldsync::store::utcDay(fuzz::FIXED_SIGNED_AT);
  used.state.budgetUsed = 5'000'000;
  used.settings.interval = 60;
  used.settings.rate = 20'000;
  used.settings.dailyBudget = 50'000'000;
  const auto bytes = fieldsync::store::encodePeer(used);
  write(dir / "used", peerInput(used.name, bytes));

  // Version 1: the fields up to roundTrips, no settings, failures or budget.
  const std::size_t v1 =
      1 + PUBLIC_KEY_BYTES + 2 + used.address.size() + 2 + used.state.lastError.size() + 11 * 8;
  std::vector<std::uint8_t> old(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(v1));
  old[0] = 1;
  if (!fieldsync::store::decodePeer(used.name, old))
    throw std::runtime_error("the version-1 peer record does not decode");
  write(dir / "version-1", peerInput(used.name, old));

  // Version 3: before sticks, no stickAt at the end.
  std::vector<std::uint8_t> v3(bytes.begin(), bytes.end() - 8);
  v3[0] = 3;
  if (!fieldsync::store::decodePeer(used.name, v3))
    throw std::runtime_error("the version-3 peer record does not decode");
  write(dir / "version-3", peerInput(used.name, v3));

  // A partner reached only by stick: no address, the time of its latest stick.
  PeerRecord stick = fresh;
  stick.name = "bunia";
  stick.address.clear();
  stick.state.stickAt = fuzz::FIXED_SIGNED_AT;
  write(dir / "stick-only", peerInput(stick.name, fieldsync::store::encodePeer(stick)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seeds <corpus dir>\n";
    return 2;
  }
  try {
    const fs::path corpus = argv[1];
    writeVerifySeeds(corpus / "fuzz_verify");
    writeKeyFileSeeds(corpus / "fuzz_keyfile");
    writeMinisignSeeds(corpus / "fuzz_minisign");
    writeBundleSeeds(corpus / "fuzz_bundle");
    writeSessionSeeds(corpus / "fuzz_session", corpus / "fuzz_sync_message");
    writeReconcileSeeds(corpus / "fuzz_reconcile");
    writeBatchSeeds(corpus / "fuzz_batch");
    writeBeaconSeeds(corpus / "fuzz_beacon");
    writePeerSeeds(corpus / "fuzz_peer_record");
  } catch (const std::exception& e) {
    std::cerr << "fuzz_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
