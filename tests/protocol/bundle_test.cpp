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
  EXPECT_EQ(read.header.version, BUNDLE_VERSION);
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
  // A bundle of another version is refused as such.
  auto other = readAll(headerBlock(0, 2));
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

}  // namespace
}  // namespace fieldsync::protocol
