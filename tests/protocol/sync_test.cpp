// Sync session messages: every message survives encoding, and what a peer could send wrong
// (garbage, a lying batch, a decompression bomb, a wrong-sized field) is refused with a reason.
#include "protocol/sync.h"

#include <gtest/gtest.h>

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
