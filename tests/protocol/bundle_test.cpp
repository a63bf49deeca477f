#include "protocol/bundle.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>

namespace fieldsync::protocol {
namespace {

using Bytes = std::vector<std::uint8_t>;

SecretKey testKey() {
  std::array<std::uint8_t, SEED_BYTES> seed{};
  seed.fill(7);
  return SecretKey::fromSeed(seed);
}

/// n signed clippings' bytes, each a few hundred bytes of text that compresses.
std::vector<Bytes> objects(std::size_t n) {
  const auto key = testKey();
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < n; ++i) {
    Clipping c;
    c.title = "Floods in Uvira, report " + std::to_string(i);
    c.source = "Radio Okapi";
    c.body = "The river rose again overnight in the lower town; " + std::string(i % 7 + 1, 'x') +
             " residents moved to the school on the hill, and the road to Bukavu is cut.";
    auto object = sign({key.publicKey(), 1357862400 + static_cast<std::int64_t>(i), c}, key);
    EXPECT_TRUE(object.ok());
    out.emplace_back(object->bytes().begin(), object->bytes().end());
  }
  return out;
}

struct ReadBack {
  std::optional<BundleRejection> refused;  // open() refused the file
  BundleHeader header;
  std::vector<BundleObject> objects;
  std::vector<BundleRejection> problems;
  bool intact = false;

  bool hasProblem(BundleDamage damage) const {
    return std::any_of(problems.begin(), problems.end(),
                       [&](const BundleRejection& r) { return r.damage == damage; });
  }
  std::string describe() const {
    std::string s = refused ? "refused: " + refused->message() + "\n" : "";
    for (const auto& p : problems) s += p.message() + "\n";
    return s;
  }
};

ReadBack readAll(Expected<BundleReader, BundleRejection> opened) {
  ReadBack out;
  if (!opened) {
    out.refused = opened.error();
    return out;
  }
  auto& reader = opened.value();
  out.header = reader.header();
  while (auto item = reader.next()) {
    if (item->ok()) {
      out.objects.push_back(std::move(item->value()));
    } else {
      out.problems.push_back(item->error());
    }
  }
  out.intact = reader.intact();
  return out;
}

ReadBack readAll(const Bytes& bundle, BundleLimits limits = {}) {
  return readAll(BundleReader::open(bundle, limits));
}

/// Every object read is one of the originals, in their order: damage may lose objects but
/// never alters or invents one.
void expectSubsequenceOf(const ReadBack& read, const std::vector<Bytes>& originals) {
  std::size_t at = 0;
  for (const auto& o : read.objects) {
    while (at < originals.size() && originals[at] != o.bytes) ++at;
    ASSERT_LT(at, originals.size())
        << "an object that was not written, at " << o.position.describe();
    ++at;
  }
}

BundleWriterOptions smallFrames() {
  BundleWriterOptions options;
  options.frameBytes = 2048;  // a few objects a frame
  return options;
}

// --- A second writer, from docs/bundle.md, to build hostile bundles -------------------------

void putU32(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void putU64(Bytes& b, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void putText(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }
void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

Bytes blake2b(const Bytes& data, std::size_t size) {
  Bytes out(size);
  crypto_generichash(out.data(), size, data.data(), data.size(), nullptr, 0);
  return out;
}

Bytes headerBlock(std::uint64_t count, std::uint32_t version = 1) {
  Bytes b;
  putU32(b, 0x184D2A5F);
  putU32(b, 48);
  putText(b, "FSYNCBDL");
  putU32(b, version);
  putU32(b, 0);
  putU64(b, 1357862400);
  putU64(b, count);
  append(b, blake2b(b, 16));
  return b;
}

Bytes frameBlock(std::uint32_t number, std::uint32_t count, const Bytes& compressed,
                 std::uint32_t contentBytes) {
  Bytes b;
  putU32(b, 0x184D2A5F);
  putU32(b, 40);
  putText(b, "FSYNCFRM");
  putU32(b, number);
  putU32(b, count);
  putU32(b, static_cast<std::uint32_t>(compressed.size()));
  putU32(b, contentBytes);
  Bytes checked = b;
  append(checked, compressed);
  append(b, blake2b(checked, 16));
  append(b, compressed);
  return b;
}

/// The trailer for everything in `before`.
Bytes trailerBlock(const Bytes& before, std::uint32_t frames, std::uint64_t count) {
  Bytes b;
  putU32(b, 0x184D2A5F);
  putU32(b, 56);
  putText(b, "FSYNCEND");
  putU32(b, frames);
  putU32(b, 0);
  putU64(b, count);
  Bytes all = before;
  append(all, b);
  append(b, blake2b(all, 32));
  return b;
}

Bytes zstdCompress(const Bytes& content) {
  Bytes out(ZSTD_compressBound(content.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), content.data(), content.size(), 3);
  out.resize(n);
  return out;
}

/// Objects in Cap'n Proto stream framing, one segment each: a frame's content.
Bytes frameContent(const std::vector<Bytes>& objs) {
  Bytes content;
  for (const auto& o : objs) {
    putU32(content, 0);
    putU32(content, static_cast<std::uint32_t>(o.size() / 8));
    append(content, o);
  }
  return content;
}

/// A whole bundle of one frame per group of objects, built by the second writer.
Bytes craft(const std::vector<std::vector<Bytes>>& frames) {
  std::uint64_t count = 0;
  for (const auto& f : frames) count += f.size();
  Bytes b = headerBlock(count);
  std::uint32_t number = 0;
  for (const auto& f : frames) {
    const Bytes content = frameContent(f);
    append(b, frameBlock(number++, static_cast<std::uint32_t>(f.size()), zstdCompress(content),
                         static_cast<std::uint32_t>(content.size())));
  }
  append(b, trailerBlock(b, number, count));
  return b;
}

/// A holdings block as docs/bundle.md lays it out, signed by key (countField: a count other
/// than the ids', for hostile blocks).
Bytes holdingsBlock(const SecretKey& key, std::int64_t at, const std::vector<HeldId>& ids,
                    std::optional<std::uint64_t> countField = std::nullopt) {
  Bytes b;
  putU32(b, 0x184D2A5F);
  putU32(b, static_cast<std::uint32_t>(120 + 16 * ids.size()));
  putText(b, "FSYNCHLD");
  const auto writer = key.publicKey();
  b.insert(b.end(), writer.bytes.begin(), writer.bytes.end());
  putU64(b, static_cast<std::uint64_t>(at));
  putU64(b, countField.value_or(ids.size()));
  for (const auto& id : ids) b.insert(b.end(), id.begin(), id.end());
  Bytes message;
  putText(message, "fieldsync/bundle-holdings/v1");
  append(message, blake2b(Bytes(b.begin() + 16, b.end()), 32));
  const auto signature = key.sign(message);
  b.insert(b.end(), signature.bytes.begin(), signature.bytes.end());
  return b;
}

/// A whole version 2 bundle of one frame per group, with block before the trailer.
Bytes craftWithHoldings(const std::vector<std::vector<Bytes>>& frames, const Bytes& block,
                        std::uint32_t version = 2) {
  std::uint64_t count = 0;
  for (const auto& f : frames) count += f.size();
  Bytes b = headerBlock(count, version);
  std::uint32_t number = 0;
  for (const auto& f : frames) {
    const Bytes content = frameContent(f);
    append(b, frameBlock(number++, static_cast<std::uint32_t>(f.size()), zstdCompress(content),
                         static_cast<std::uint32_t>(content.size())));
  }
  append(b, block);
  append(b, trailerBlock(b, number, count));
  return b;
}

HeldId heldOf(std::uint8_t first, std::uint8_t last = 0) {
  HeldId id{};
  id[0] = first;
  id[15] = last;
  return id;
}

HoldingsSigner signerOf(const SecretKey& key) {
  return [&key](std::span<const std::uint8_t> message) { return key.sign(message); };
}

/// Offsets of the frame blocks in a bundle, found by their markers.
std::vector<std::size_t> frameOffsets(const Bytes& bundle) {
  std::vector<std::size_t> out;
  const std::string_view marker = "FSYNCFRM";
  for (std::size_t i = 8; i + marker.size() <= bundle.size(); ++i)
    if (std::memcmp(bundle.data() + i, marker.data(), marker.size()) == 0) out.push_back(i - 8);
  return out;
}

// --- Round trip ------------------------------------------------------------------------------

TEST(Bundle, RoundTripGivesBackEveryObjectsBytesInOrder) {
  const auto originals = objects(40);
  const Bytes bundle = writeBundle(originals, 1700000000, smallFrames());
  auto read = readAll(bundle);
  ASSERT_FALSE(read.refused) << read.describe();
  EXPECT_TRUE(read.intact) << read.describe();
  EXPECT_TRUE(read.problems.empty()) << read.describe();
  EXPECT_EQ(read.header.version, BUNDLE_VERSION_1);  // no holdings block
  EXPECT_EQ(read.header.createdAt, 1700000000);
  EXPECT_EQ(read.header.objectCount, 40u);
  ASSERT_EQ(read.objects.size(), originals.size());
  for (std::size_t i = 0; i < originals.size(); ++i) {
    EXPECT_EQ(read.objects[i].bytes, originals[i]) << i;
    EXPECT_TRUE(verify(read.objects[i].bytes).ok());
  }
  EXPECT_GT(frameOffsets(bundle).size(), 3u) << "the test needs several frames";
  EXPECT_EQ(read.objects.back().position.frame + 1, frameOffsets(bundle).size());
  EXPECT_LT(bundle.size(),
            std::accumulate(originals.begin(), originals.end(), std::size_t{0},
                            [](std::size_t n, const Bytes& b) { return n + b.size(); }));
}

TEST(Bundle, AnEmptyBundleIsIntact) {
  auto read = readAll(writeBundle({}, 5));
  ASSERT_FALSE(read.refused);
  EXPECT_TRUE(read.intact) << read.describe();
  EXPECT_TRUE(read.objects.empty());
  EXPECT_EQ(read.header.objectCount, 0u);
}

TEST(Bundle, TheSecondWriterFromTheDocsWritesWhatTheReaderReads) {
  const auto originals = objects(6);
  auto read = readAll(craft(
      {{originals[0], originals[1]}, {originals[2]}, {originals[3], originals[4], originals[5]}}));
  EXPECT_TRUE(read.intact) << read.describe();
  ASSERT_EQ(read.objects.size(), 6u);
  EXPECT_EQ(read.objects[3].position.frame, 2u);
  EXPECT_EQ(read.objects[3].position.index, 0u);
  EXPECT_EQ(read.objects[5].position.index, 2u);
}

TEST(Bundle, ASourceThatGivesOneByteAtATimeReadsTheSame) {
  const auto originals = objects(20);
  const Bytes bundle = writeBundle(originals, 1, smallFrames());
  std::size_t at = 0;
  auto read = readAll(BundleReader::open([&](std::span<std::uint8_t> buffer) -> std::size_t {
    if (at == bundle.size() || buffer.empty()) return 0;
    buffer[0] = bundle[at++];
    return 1;
  }));
  EXPECT_TRUE(read.intact) << read.describe();
  EXPECT_EQ(read.objects.size(), originals.size());
}

TEST(Bundle, WriterRefusesMoreOrFewerObjectsThanAnnounced) {
  const auto originals = objects(2);
  Bytes out;
  BundleWriter writer(
      [&](std::span<const std::uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); }, 1, 1);
  writer.add(originals[0]);
  EXPECT_THROW(writer.add(originals[1]), std::logic_error);
  BundleWriter shortOne([](std::span<const std::uint8_t>) {}, 1, 2);
  shortOne.add(originals[0]);
  EXPECT_THROW(shortOne.finish(), std::logic_error);
}

// --- Damage ----------------------------------------------------------------------------------

TEST(Bundle, TruncatedAtAnyOffsetLosesOnlyWhatFollowsAndSaysSo) {
  const auto originals = objects(24);
  const Bytes bundle = writeBundle(originals, 1, smallFrames());
  const auto frames = frameOffsets(bundle);
  for (std::size_t cut = 0; cut < bundle.size(); ++cut) {
    const Bytes part(bundle.begin(), bundle.begin() + static_cast<std::ptrdiff_t>(cut));
    auto read = readAll(part);
    SCOPED_TRACE("cut at " + std::to_string(cut));
    if (cut < 56) {
      ASSERT_TRUE(read.refused);
      EXPECT_EQ(read.refused->damage,
                cut == 0 ? BundleDamage::NotABundle : BundleDamage::Truncated);
      continue;
    }
    ASSERT_FALSE(read.refused) << read.describe();
    EXPECT_FALSE(read.intact);
    ASSERT_FALSE(read.problems.empty());
    EXPECT_EQ(read.problems.back().damage, BundleDamage::Truncated) << read.describe();
    expectSubsequenceOf(read, originals);
    // Every frame wholly before the cut is read in full.
    std::size_t whole = 0;
    while (whole + 1 < frames.size() && frames[whole + 1] <= cut) ++whole;
    if (cut >= bundle.size() - 64) whole = frames.size();
    std::size_t expected = 0;
    for (const auto& o : read.objects)
      expected = std::max<std::size_t>(expected, o.position.frame + 1);
    EXPECT_GE(expected, whole) << read.describe();
  }
}

TEST(Bundle, AFlippedByteAnywhereLosesAtMostItsFrameAndNeverAltersAnObject) {
  const auto originals = objects(24);
  const Bytes bundle = writeBundle(originals, 1, smallFrames());
  const auto frames = frameOffsets(bundle);
  std::size_t largestFrame = 0;
  {
    auto read = readAll(bundle);
    std::vector<std::size_t> perFrame(frames.size());
    for (const auto& o : read.objects) ++perFrame[o.position.frame];
    largestFrame = *std::max_element(perFrame.begin(), perFrame.end());
  }
  for (std::size_t at = 0; at < bundle.size(); ++at) {
    Bytes damaged = bundle;
    damaged[at] ^= 0x20;
    auto read = readAll(damaged);
    SCOPED_TRACE("byte " + std::to_string(at));
    if (at < 16) {  // the magic: not recognisable as a bundle
      ASSERT_TRUE(read.refused);
      EXPECT_EQ(read.refused->damage, BundleDamage::NotABundle);
      continue;
    }
    ASSERT_FALSE(read.refused) << read.describe();
    EXPECT_FALSE(read.intact) << read.describe();
    EXPECT_FALSE(read.problems.empty());
    expectSubsequenceOf(read, originals);
    EXPECT_GE(read.objects.size(), originals.size() - largestFrame) << read.describe();
  }
}

TEST(Bundle, EachRegionsDamageIsNamed) {
  const auto originals = objects(24);
  const Bytes bundle = writeBundle(originals, 1, smallFrames());
  const auto frames = frameOffsets(bundle);
  auto flip = [&](std::size_t at) {
    Bytes damaged = bundle;
    damaged[at] ^= 0x01;
    return readAll(damaged);
  };
  // Header fields: the header's checksum fails, every object is still read.
  auto header = flip(30);
  EXPECT_TRUE(header.hasProblem(BundleDamage::BadHeader)) << header.describe();
  EXPECT_EQ(header.objects.size(), originals.size());
  // A frame's header or compressed bytes: that frame is lost, the others read.
  for (std::size_t at : {frames[1] + 20, frames[1] + 60}) {
    auto frame = flip(at);
    ASSERT_EQ(frame.problems.size(), 1u) << frame.describe();
    EXPECT_EQ(frame.problems[0].damage, BundleDamage::DamagedFrame);
    EXPECT_EQ(frame.problems[0].position.frame, 1u);
    EXPECT_NE(frame.problems[0].message().find("checksum mismatch"), std::string::npos);
    for (const auto& o : frame.objects) EXPECT_NE(o.position.frame, 1u);
    EXPECT_LT(frame.objects.size(), originals.size());
  }
  // The trailer's counts or hash: the hash says so; every object is read.
  for (std::size_t at : {bundle.size() - 40, bundle.size() - 1}) {
    auto trailer = flip(at);
    EXPECT_TRUE(trailer.hasProblem(BundleDamage::HashMismatch)) << trailer.describe();
    EXPECT_EQ(trailer.objects.size(), originals.size());
  }
}

TEST(Bundle, ARemovedFrameIsReportedMissing) {
  const auto originals = objects(24);
  Bytes bundle = writeBundle(originals, 1, smallFrames());
  const auto frames = frameOffsets(bundle);
  bundle.erase(bundle.begin() + static_cast<std::ptrdiff_t>(frames[1]),
               bundle.begin() + static_cast<std::ptrdiff_t>(frames[2]));
  auto read = readAll(bundle);
  EXPECT_TRUE(read.hasProblem(BundleDamage::MissingFrames)) << read.describe();
  expectSubsequenceOf(read, originals);
  EXPECT_FALSE(read.intact);
}

TEST(Bundle, BytesAfterTheTrailerAreReported) {
  Bytes bundle = writeBundle(objects(3), 1);
  bundle.push_back('\n');
  auto read = readAll(bundle);
  EXPECT_EQ(read.objects.size(), 3u);
  EXPECT_TRUE(read.hasProblem(BundleDamage::TrailingBytes)) << read.describe();
}

TEST(Bundle, FilesThatAreNotBundlesAreRefusedAsSuch) {
  const std::vector<std::string> texts = {
      "", "fieldsync", "From: hq@example.org\nSubject: weekly\n\nhello\n", std::string(4096, '\0')};
  for (const auto& text : texts) {
    auto read = readAll(Bytes(text.begin(), text.end()));
    ASSERT_TRUE(read.refused) << text;
    EXPECT_EQ(read.refused->damage, BundleDamage::NotABundle);
  }
  // A plain zstd file is not a bundle either.
  auto zstd = readAll(zstdCompress(Bytes(1000, 'a')));
  ASSERT_TRUE(zstd.refused);
  EXPECT_EQ(zstd.refused->damage, BundleDamage::NotABundle);
  // A bundle of a version this reader does not know (3) is refused as such.
  auto other = readAll(headerBlock(0, 3));
  ASSERT_TRUE(other.refused);
  EXPECT_EQ(other.refused->damage, BundleDamage::UnsupportedVersion);
}

// --- Hostile lengths ---------------------------------------------------------------------------

TEST(Bundle, AZipBombIsNotDecompressedBeyondItsDeclaredSize) {
  // 64 MiB of zeros compress to a few KB; the frame claims 4 KB.
  const Bytes bomb = zstdCompress(Bytes(64u << 20, 0));
  ASSERT_LT(bomb.size(), 64u << 10);
  Bytes b = headerBlock(1);
  append(b, frameBlock(0, 1, bomb, 4096));
  append(b, trailerBlock(b, 1, 1));
  auto small = readAll(b);
  ASSERT_FALSE(small.refused);
  EXPECT_TRUE(small.hasProblem(BundleDamage::DamagedFrame)) << small.describe();
  EXPECT_TRUE(small.objects.empty());

  // Claiming its true size is over the frame limit: refused before any decompression.
  Bytes c = headerBlock(1);
  append(c, frameBlock(0, 1, bomb, 64u << 20));
  append(c, trailerBlock(c, 1, 1));
  auto big = readAll(c);
  EXPECT_TRUE(big.hasProblem(BundleDamage::Oversized)) << big.describe();
  EXPECT_TRUE(big.objects.empty());
}

TEST(Bundle, AZstdFrameWithoutItsSizeIsRefused) {
  const Bytes content = frameContent(objects(1));
  Bytes streamed(ZSTD_compressBound(content.size()));
  {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    ZSTD_outBuffer out{streamed.data(), streamed.size(), 0};
    ZSTD_inBuffer in{content.data(), content.size(), 0};
    ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end);
    streamed.resize(out.pos);
    ZSTD_freeCCtx(cctx);
  }
  Bytes b = headerBlock(1);
  append(b, frameBlock(0, 1, streamed, static_cast<std::uint32_t>(content.size())));
  append(b, trailerBlock(b, 1, 1));
  auto read = readAll(b);
  EXPECT_TRUE(read.hasProblem(BundleDamage::DamagedFrame)) << read.describe();
  EXPECT_TRUE(read.objects.empty());
}

TEST(Bundle, OversizedCountsAreRefused) {
  // The header announces more objects than the limit.
  auto header = readAll(headerBlock(std::uint64_t{1} << 40));
  ASSERT_TRUE(header.refused);
  EXPECT_EQ(header.refused->damage, BundleDamage::Oversized);

  // A frame that declares more objects than a frame may hold.
  const auto originals = objects(2);
  const Bytes content = frameContent(originals);
  Bytes b = headerBlock(2);
  append(b, frameBlock(0, 1u << 20, zstdCompress(content),
                       static_cast<std::uint32_t>(content.size())));
  append(b, trailerBlock(b, 1, 2));
  auto frame = readAll(b);
  EXPECT_TRUE(frame.hasProblem(BundleDamage::Oversized)) << frame.describe();
  EXPECT_TRUE(frame.objects.empty());

  // An object whose length is over the object limit.
  Bytes huge;
  putU32(huge, 0);
  putU32(huge, 1u << 20);  // 8 MiB of words
  append(huge, Bytes(64, 0));
  Bytes h = headerBlock(1);
  append(h, frameBlock(0, 1, zstdCompress(huge), static_cast<std::uint32_t>(huge.size())));
  append(h, trailerBlock(h, 1, 1));
  auto object = readAll(h);
  EXPECT_TRUE(object.hasProblem(BundleDamage::Oversized)) << object.describe();

  // More objects than the reader's limit for the whole bundle.
  BundleLimits limits;
  limits.maxObjects = 3;
  auto many = readAll(writeBundle(objects(2), 1), limits);
  EXPECT_TRUE(many.intact) << many.describe();
  auto tooMany =
      readAll(craft({{originals[0], originals[1]}, {originals[0], originals[1]}}), limits);
  EXPECT_TRUE(tooMany.refused || tooMany.hasProblem(BundleDamage::Oversized)) << tooMany.describe();
}

TEST(Bundle, AFrameWhoseContentDoesNotSplitIntoObjectsIsReported) {
  const auto originals = objects(2);
  Bytes content = frameContent(originals);
  content[0] = 1;  // two segments: not the framing a bundle uses
  Bytes b = headerBlock(2);
  append(b, frameBlock(0, 2, zstdCompress(content), static_cast<std::uint32_t>(content.size())));
  append(b, trailerBlock(b, 1, 2));
  auto read = readAll(b);
  EXPECT_TRUE(read.hasProblem(BundleDamage::BadObjectFraming)) << read.describe();

  // Fewer objects than declared.
  Bytes c = headerBlock(3);
  const Bytes two = frameContent(originals);
  append(c, frameBlock(0, 3, zstdCompress(two), static_cast<std::uint32_t>(two.size())));
  append(c, trailerBlock(c, 1, 3));
  auto fewer = readAll(c);
  EXPECT_EQ(fewer.objects.size(), 2u);
  EXPECT_TRUE(fewer.hasProblem(BundleDamage::BadObjectFraming)) << fewer.describe();
}

TEST(Bundle, ALimitOnTheWholeFileStopsReading) {
  BundleLimits limits;
  limits.maxBundleBytes = 200;
  auto read = readAll(writeBundle(objects(20), 1), limits);
  EXPECT_TRUE(read.hasProblem(BundleDamage::Oversized)) << read.describe();
  EXPECT_FALSE(read.intact);
}

// --- Holdings -----------------------------------------------------------------------------------

TEST(BundleHoldings, ABlockRoundTripsWithItsWriterTimeAndIdsSortedOnce) {
  const auto key = testKey();
  const auto block = encodeHoldings(key.publicKey(), 1796400000,
                                    {heldOf(9), heldOf(3), heldOf(9), heldOf(3, 1)}, signerOf(key));
  EXPECT_EQ(block.size(), 128u + 3 * 16);  // 16 bytes per id held
  auto decoded = decodeHoldings(block);
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(decoded->writer, key.publicKey());
  EXPECT_EQ(decoded->at, 1796400000);
  EXPECT_EQ(decoded->ids, (std::vector<HeldId>{heldOf(3), heldOf(3, 1), heldOf(9)}));
  ObjectId id{};
  id.bytes[0] = 9;
  id.bytes[31] = 0xff;  // past the prefix: not part of what a block names
  EXPECT_TRUE(decoded->holds(id));
  id.bytes[15] = 1;
  EXPECT_FALSE(decoded->holds(id));
}

TEST(BundleHoldings, TheSecondWriterFromTheDocsMakesTheSameBytes) {
  const auto key = testKey();
  const std::vector<HeldId> ids{heldOf(1), heldOf(2, 7), heldOf(200)};
  EXPECT_EQ(encodeHoldings(key.publicKey(), -5, ids, signerOf(key)), holdingsBlock(key, -5, ids));
  EXPECT_EQ(encodeHoldings(key.publicKey(), 0, {}, signerOf(key)), holdingsBlock(key, 0, {}));
}

TEST(BundleHoldings, TheWriterRefusesASignerThatIsNotTheWritersKey) {
  const auto key = testKey();
  const auto other = SecretKey::generate();
  EXPECT_THROW((void)encodeHoldings(key.publicKey(), 1, {heldOf(1)}, signerOf(other)),
               std::logic_error);
}

TEST(BundleHoldings, ABundleWithHoldingsIsVersion2AndHandsThemOutAfterItsObjects) {
  const auto key = testKey();
  const auto originals = objects(12);
  const auto block = encodeHoldings(key.publicKey(), 77, {heldOf(4), heldOf(5)}, signerOf(key));
  const Bytes bundle = writeBundle(originals, 1, smallFrames(), block);
  auto opened = BundleReader::open(bundle);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->header().version, BUNDLE_VERSION);
  std::size_t count = 0;
  while (auto item = opened->next()) {
    ASSERT_TRUE(item->ok()) << item->error().message();
    ++count;
  }
  EXPECT_EQ(count, originals.size());
  EXPECT_TRUE(opened->intact());
  ASSERT_TRUE(opened->holdings().has_value());
  EXPECT_EQ(*opened->holdings(), decodeHoldings(block).value());

  // The same, a byte at a time: the block is read as the bytes come, whatever their pieces.
  std::size_t at = 0;
  auto slow = BundleReader::open([&](std::span<std::uint8_t> buffer) -> std::size_t {
    if (at == bundle.size() || buffer.empty()) return 0;
    buffer[0] = bundle[at++];
    return 1;
  });
  ASSERT_TRUE(slow.ok());
  while (slow->next()) {
  }
  EXPECT_TRUE(slow->intact());
  EXPECT_EQ(slow->holdings(), opened->holdings());
}

TEST(BundleHoldings, AVersion1BundleStillReadsAndHasNoHoldings) {
  const auto originals = objects(3);
  auto read = readAll(craft({{originals[0]}, {originals[1], originals[2]}}));
  EXPECT_FALSE(read.refused) << read.describe();
  EXPECT_EQ(read.header.version, 1u);
  EXPECT_TRUE(read.intact) << read.describe();
  EXPECT_EQ(read.objects.size(), 3u);
  auto opened = BundleReader::open(craft({{originals[0]}}));
  while (opened->next()) {
  }
  EXPECT_FALSE(opened->holdings().has_value());
}

TEST(BundleHoldings, AForgedOrAlteredBlockIsReportedAndIgnoredAndTheObjectsStillRead) {
  const auto key = testKey();
  const auto originals = objects(4);
  const Bytes genuine = holdingsBlock(key, 100, {heldOf(1), heldOf(2)});
  auto expectIgnored = [&](Bytes block, const std::string& why) {
    auto opened = BundleReader::open(craftWithHoldings({originals}, block));
    ASSERT_TRUE(opened.ok());
    std::vector<BundleRejection> problems;
    std::size_t read = 0;
    while (auto item = opened->next()) {
      if (item->ok()) {
        ++read;
      } else {
        problems.push_back(item->error());
      }
    }
    EXPECT_EQ(read, originals.size()) << why;
    ASSERT_EQ(problems.size(), 1u) << why;
    EXPECT_EQ(problems[0].damage, BundleDamage::BadHoldings)
        << why << ": " << problems[0].message();
    EXPECT_FALSE(opened->holdings().has_value()) << why;
    EXPECT_FALSE(opened->intact()) << why;
  };
  // Another node's key in the writer field: the signature is not by the key it names.
  Bytes forged = genuine;
  forged[16] ^= 1;
  expectIgnored(forged, "a writer that did not sign");
  // An id added or changed after signing.
  Bytes altered = genuine;
  altered[64 + 16] ^= 0x80;
  expectIgnored(altered, "an altered id");
  // A later time than the writer signed.
  Bytes later = genuine;
  later[48] += 1;
  expectIgnored(later, "an altered time");
  // Ids out of order, however well signed: a reader would search them wrongly.
  expectIgnored(holdingsBlock(key, 100, {heldOf(2), heldOf(1)}), "unsorted ids");
  expectIgnored(holdingsBlock(key, 100, {heldOf(2), heldOf(2)}), "a repeated id");
}

TEST(BundleHoldings, HostileCountsAndLengthsAreRefusedBeforeAnythingIsAllocated) {
  const auto key = testKey();
  // decodeHoldings: a count far over the limit, or one the block's length does not hold.
  auto huge = decodeHoldings(holdingsBlock(key, 1, {heldOf(1)}, std::uint64_t{1} << 60));
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().find("over the limit"), std::string::npos) << huge.error();
  auto mismatch = decodeHoldings(holdingsBlock(key, 1, {heldOf(1), heldOf(2)}, 3));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().find("room for 2"), std::string::npos) << mismatch.error();
  EXPECT_FALSE(decodeHoldings(Bytes(64, 0)).ok());
  EXPECT_FALSE(decodeHoldings(holdingsBlock(key, 1, {heldOf(1), heldOf(2)}), 1).ok());

  // In a bundle: a block whose length field claims nearly 4 GiB, beyond maxHeldIds, is not
  // read on trust: the reader reports it and finds the trailer after it.
  const auto originals = objects(3);
  Bytes block = holdingsBlock(key, 1, {heldOf(1)});
  block[4] = block[5] = block[6] = 0xf0;
  block[7] = 0xff;
  auto read = readAll(craftWithHoldings({originals}, block));
  EXPECT_EQ(read.objects.size(), 3u) << read.describe();
  EXPECT_TRUE(read.hasProblem(BundleDamage::BadHoldings)) << read.describe();
  EXPECT_FALSE(read.hasProblem(BundleDamage::Truncated)) << read.describe();
  EXPECT_FALSE(read.hasProblem(BundleDamage::HashMismatch)) << read.describe();

  // A reader with a lower limit refuses a block over it the same way.
  BundleLimits limits;
  limits.maxHeldIds = 1;
  read = readAll(craftWithHoldings({originals}, holdingsBlock(key, 1, {heldOf(1), heldOf(2)})),
                 limits);
  EXPECT_EQ(read.objects.size(), 3u) << read.describe();
  EXPECT_TRUE(read.hasProblem(BundleDamage::BadHoldings)) << read.describe();
}

TEST(BundleHoldings, ABlockCutShortIsATruncation) {
  const auto key = testKey();
  const auto originals = objects(2);
  const Bytes block = holdingsBlock(key, 1, {heldOf(1), heldOf(2), heldOf(3)});
  Bytes bundle = craftWithHoldings({originals}, block);
  bundle.resize(bundle.size() - 64 - 40);  // the trailer and the end of the block
  auto read = readAll(bundle);
  EXPECT_EQ(read.objects.size(), 2u);
  EXPECT_TRUE(read.hasProblem(BundleDamage::Truncated)) << read.describe();
}

TEST(BundleHoldings, ABlockInAVersion1BundleOrASecondBlockIsReported) {
  const auto key = testKey();
  const auto originals = objects(2);
  const Bytes block = holdingsBlock(key, 1, {heldOf(1)});
  auto read = readAll(craftWithHoldings({originals}, block, 1));
  EXPECT_EQ(read.objects.size(), 2u);
  EXPECT_TRUE(read.hasProblem(BundleDamage::BadHoldings)) << read.describe();

  Bytes twice = block;
  append(twice, holdingsBlock(key, 2, {heldOf(2)}));
  auto opened = BundleReader::open(craftWithHoldings({originals}, twice));
  std::vector<BundleRejection> problems;
  while (auto item = opened->next())
    if (!item->ok()) problems.push_back(item->error());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].damage, BundleDamage::BadHoldings);
  ASSERT_TRUE(opened->holdings().has_value());
  EXPECT_EQ(opened->holdings()->at, 1);  // the first block; the second is ignored
}

TEST(BundleHoldings, AFlippedByteNeverMakesOtherHoldingsThanTheWritersOwn) {
  const auto key = testKey();
  const auto originals = objects(3);
  const auto block =
      encodeHoldings(key.publicKey(), 5, {heldOf(1), heldOf(2), heldOf(3)}, signerOf(key));
  const auto genuine = decodeHoldings(block).value();
  const Bytes bundle = writeBundle(originals, 1, {}, block);
  const std::size_t blockAt = bundle.size() - 64 - block.size();
  for (std::size_t i = blockAt; i < bundle.size(); ++i) {
    Bytes damaged = bundle;
    damaged[i] ^= 0x04;
    auto opened = BundleReader::open(damaged);
    ASSERT_TRUE(opened.ok());
    while (opened->next()) {
    }
    if (opened->holdings()) {
      EXPECT_EQ(*opened->holdings(), genuine) << "byte " << i;
    }
    EXPECT_FALSE(opened->intact()) << "byte " << i;
  }
}

}  // namespace
}  // namespace fieldsync::protocol
