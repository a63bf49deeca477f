// Sync session messages: every message survives encoding, and what a peer could send wrong
// (garbage, a lying batch, a decompression bomb, a wrong-sized field) is refused with a reason.
#include "protocol/sync.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <iterator>

namespace fieldsync::protocol::sync {
namespace {

ArchiveState someState() {
  RangeSum sum;
  sum.add(Digest{{1, 2, 3}});
  return archiveState(sum);
}

TEST(SyncMessage, EveryMessageSurvivesEncoding) {
  Hello hello;
  hello.salt.fill(9);
  hello.state = someState();
  const auto decodedHello = decode(encode(hello));
  ASSERT_TRUE(decodedHello.ok()) << decodedHello.error().detail;
  EXPECT_EQ(std::get<Hello>(*decodedHello).salt, hello.salt);
  EXPECT_EQ(std::get<Hello>(*decodedHello).state, hello.state);
  EXPECT_EQ(std::get<Hello>(*decodedHello).rate, 0u);  // no cap unless one is asked for
  EXPECT_EQ(std::get<Hello>(*decodedHello).budget, 0u);

  const auto reconcile = decode(encode(Reconcile{3, true, {1, 2, 3}}));
  ASSERT_TRUE(reconcile.ok());
  EXPECT_EQ(std::get<Reconcile>(*reconcile).round, 3u);
  EXPECT_EQ(std::get<Reconcile>(*reconcile).frame, (std::vector<std::uint8_t>{1, 2, 3}));

  const auto ack = decode(encode(Ack{4, someState()}));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(std::get<Ack>(*ack).batch, 4u);

  ASSERT_TRUE(decode(encode(Done{someState()})).ok());
  const auto failure = decode(encode(Failure{"bad\nthing"}));
  ASSERT_TRUE(failure.ok());
  EXPECT_EQ(std::get<Failure>(*failure).reason, "bad thing");  // no line breaks into logs
}

TEST(SyncMessage, HelloCarriesTheSendersCapAndBudget) {
  Hello hello;
  hello.rate = 16'000;
  hello.budget = 5'000'000'000'000;
  const auto decoded = decode(encode(hello));
  ASSERT_TRUE(decoded.ok()) << decoded.error().detail;
  EXPECT_EQ(std::get<Hello>(*decoded).rate, 16'000u);
  EXPECT_EQ(std::get<Hello>(*decoded).budget, 5'000'000'000'000u);
}

TEST(SyncMessage, EqualSetsHaveEqualStatesAndOthersDiffer) {
  RangeSum a, b;
  a.add(Digest{{1}});
  a.add(Digest{{2}});
  b.add(Digest{{2}});
  b.add(Digest{{1}});
  EXPECT_EQ(archiveState(a), archiveState(b));
  b.add(Digest{{3}});
  EXPECT_NE(archiveState(a), archiveState(b));
}

TEST(SyncMessage, GarbageAndOddSizesAreRefused) {
  EXPECT_FALSE(decode(std::vector<std::uint8_t>{}).ok());
  EXPECT_FALSE(decode(std::vector<std::uint8_t>(7, 1)).ok());
  EXPECT_FALSE(decode(std::vector<std::uint8_t>(64, 0xff)).ok());
  MessageLimits limits;
  limits.maxMessageBytes = 16;
  EXPECT_FALSE(decode(encode(Reconcile{1, true, std::vector<std::uint8_t>(100)}), limits).ok());
}

TEST(SyncMessage, TrailingBytesAfterAMessageAreRefused) {
  auto bytes = encode(Hello{});
  EXPECT_TRUE(decode(bytes).ok());
  bytes.insert(bytes.end(), 8, 0);
  EXPECT_FALSE(decode(bytes).ok());
}

TEST(SyncBatch, ObjectsSurvivePackingAndCompressionIsUsedWhenItHelps) {
  const std::vector<std::uint8_t> a(3000, 'a'), b(10, 'b');
  const auto batch = packBatch(1, {a, b});
  EXPECT_EQ(batch.compression, Compression::Zstd);
  EXPECT_LT(batch.content.size(), 200u);
  const auto decoded = std::get<Batch>(*decode(encode(batch)));
  std::vector<std::uint8_t> storage;
  const auto objects = unpackBatch(decoded, {}, storage);
  ASSERT_TRUE(objects.ok()) << objects.error().detail;
  ASSERT_EQ(objects->size(), 2u);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), (*objects)[0].begin(), (*objects)[0].end()));
  EXPECT_TRUE(std::equal(b.begin(), b.end(), (*objects)[1].begin(), (*objects)[1].end()));

  std::vector<std::uint8_t> noise(64);
  for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<std::uint8_t>(i * 151 + 7);
  EXPECT_EQ(packBatch(2, {noise}).compression, Compression::None);
}

TEST(SyncBatch, ALyingOrBombingBatchIsRefused) {
  const std::vector<std::uint8_t> object(1000, 'x');
  std::vector<std::uint8_t> storage;
  Batch batch = packBatch(1, {object});

  Batch wrongCount = batch;
  wrongCount.objects = 2;
  EXPECT_FALSE(unpackBatch(wrongCount, {}, storage).ok());

  Batch wrongSize = batch;
  wrongSize.rawBytes += 1;
  EXPECT_FALSE(unpackBatch(wrongSize, {}, storage).ok());

  // A bomb: a small content that would decompress far beyond the limit.
  const std::vector<std::uint8_t> huge(9u << 20, 0);
  Batch bomb = packBatch(1, {huge});
  EXPECT_LT(bomb.content.size(), 4096u);
  const auto refused = unpackBatch(bomb, {}, storage);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().detail.find("over the limit"), std::string::npos);

  Batch cut = batch;
  cut.content.resize(cut.content.size() / 2);
  EXPECT_FALSE(unpackBatch(cut, {}, storage).ok());

  Batch tooMany = batch;
  MessageLimits limits;
  limits.maxBatchObjects = 0;
  EXPECT_FALSE(unpackBatch(tooMany, limits, storage).ok());
}

/// Text like a clipping's, different every time: words drawn from a small vocabulary.
std::vector<std::uint8_t> clippingLike(std::uint32_t seed) {
  static const char* const WORDS[] = {"displaced", "families", "district", "reported", "water",
                                      "council",   "the",      "of",       "and",      "aid",
                                      "convoy",    "road",     "clinic",   "rains",    "market",
                                      "prices",    "rose",     "north"};
  std::string text = "Title " + std::to_string(seed) + "\n";
  std::uint32_t state = seed * 2654435761u + 1;
  while (text.size() < 1500) {
    state = state * 1664525u + 1013904223u;
    text += WORDS[(state >> 16) % std::size(WORDS)];
    text += ' ';
  }
  return {text.begin(), text.end()};
}

TEST(SyncBatch, AStreamOfSmallBatchesPacksTighterThanAFramePerBatchAndUnpacksExactly) {
  BatchPacker framed, streamed;
  streamed.useStream();
  BatchUnpacker unpacker;
  std::size_t framedBytes = 0, streamedBytes = 0;
  for (std::uint32_t n = 1; n <= 40; ++n) {
    const auto object = clippingLike(n);  // one 1.5 kB object a batch, as on a slow link
    framedBytes += framed.pack(n, {object}).content.size();
    const Batch batch = streamed.pack(n, {object});
    EXPECT_EQ(batch.compression, Compression::ZstdStream);
    streamedBytes += batch.content.size();
    const auto decoded = std::get<Batch>(*decode(encode(batch)));
    std::vector<std::uint8_t> storage;
    const auto objects = unpacker.unpack(decoded, {}, storage);
    ASSERT_TRUE(objects.ok()) << "batch " << n << ": " << objects.error().detail;
    ASSERT_EQ(objects->size(), 1u);
    EXPECT_TRUE(
        std::equal(object.begin(), object.end(), (*objects)[0].begin(), (*objects)[0].end()));
  }
  // Each batch alone has no history to draw on; in a stream every earlier batch is one.
  EXPECT_LT(streamedBytes * 5, framedBytes * 4) << streamedBytes << " vs " << framedBytes;
}

TEST(SyncBatch, AStreamBatchOutOfTurnTamperedOrLyingIsRefusedAndTheStreamStaysBroken) {
  BatchPacker packer;
  packer.useStream();
  const Batch first = packer.pack(1, {clippingLike(1)});
  const Batch second = packer.pack(2, {clippingLike(2)});
  std::vector<std::uint8_t> storage;

  // Outside a session's stream, or the second batch without the first.
  EXPECT_FALSE(unpackBatch(first, {}, storage).ok());
  {
    BatchUnpacker unpacker;
    EXPECT_FALSE(unpacker.unpack(second, {}, storage).ok());
  }
  // rawBytes one short, or one long: not exactly what the content holds.
  for (const int delta : {-1, 1}) {
    BatchUnpacker unpacker;
    Batch lying = first;
    lying.rawBytes = static_cast<std::uint32_t>(static_cast<int>(lying.rawBytes) + delta);
    EXPECT_FALSE(unpacker.unpack(lying, {}, storage).ok()) << delta;
    EXPECT_FALSE(unpacker.unpack(second, {}, storage).ok()) << "the stream broke";
  }
  {
    BatchUnpacker unpacker;
    Batch flipped = first;
    flipped.content[flipped.content.size() / 2] ^= 0x40;
    const auto refused = unpacker.unpack(flipped, {}, storage);
    if (refused.ok()) {
      // zstd keeps no checksum in a stream; a flip in a literal changes the object, which its
      // verification refuses. Either way the batch's bytes are not the sender's.
      EXPECT_FALSE(std::equal((*refused)[0].begin(), (*refused)[0].end(), clippingLike(1).begin()));
    }
  }
  {
    BatchUnpacker unpacker;
    ASSERT_TRUE(unpacker.unpack(first, {}, storage).ok());
    ASSERT_TRUE(unpacker.unpack(second, {}, storage).ok());
  }
}

TEST(SyncBatch, AStreamAskingForAWindowPastTheBoundIsRefused) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ASSERT_NE(cctx, nullptr);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, STREAM_WINDOW_LOG + 4);
  const auto raw = clippingLike(7);
  std::vector<std::uint8_t> content(ZSTD_compressBound(raw.size() + 2));
  std::vector<std::uint8_t> framedRaw{static_cast<std::uint8_t>(0x80 | (raw.size() & 0x7f)),
                                      static_cast<std::uint8_t>(raw.size() >> 7)};
  framedRaw.insert(framedRaw.end(), raw.begin(), raw.end());
  ZSTD_inBuffer in{framedRaw.data(), framedRaw.size(), 0};
  ZSTD_outBuffer out{content.data(), content.size(), 0};
  ASSERT_EQ(ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_flush), 0u);
  ZSTD_freeCCtx(cctx);
  content.resize(out.pos);
  Batch batch{1, 1, static_cast<std::uint32_t>(framedRaw.size()), Compression::ZstdStream, content};
  BatchUnpacker unpacker;
  std::vector<std::uint8_t> storage;
  const auto refused = unpacker.unpack(batch, {}, storage);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().detail.find("decompress"), std::string::npos) << refused.error().detail;
}

TEST(SyncMessage, HelloCarriesItsFeaturesAndAnOlderHelloHasNone) {
  Hello hello;
  hello.features = FEATURE_ZSTD_STREAM;
  EXPECT_EQ(std::get<Hello>(*decode(encode(hello))).features, FEATURE_ZSTD_STREAM);
  EXPECT_EQ(std::get<Hello>(*decode(encode(Hello{}))).features, 0u);
}

}  // namespace
}  // namespace fieldsync::protocol::sync

namespace fieldsync::protocol::sync {
namespace {

TEST(SyncVectors, ArchiveFingerprintMatchesDocsProtocol) {
  ObjectId a, b;
  for (std::size_t i = 0; i < ID_BYTES; ++i) {
    a.bytes[i] = static_cast<std::uint8_t>(i + 1);
    b.bytes[i] = static_cast<std::uint8_t>(0xff - i);
  }
  RangeSum sum;
  sum.add(a);
  sum.add(b);
  EXPECT_EQ(archiveState(sum).fingerprint.hex(),
            "298b07430d3c00e4159fc08d9b37b84b0c36f1906db4149199db581d756a78a9");
}

}  // namespace
}  // namespace fieldsync::protocol::sync
