#include "protocol/sync.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <sodium.h>
#include <zstd.h>

#include <cstring>
#include <optional>
#include <stdexcept>

#include "schema/sync.capnp.h"

namespace fieldsync::protocol::sync {

namespace {

capnp::Data::Reader dataOf(std::span<const std::uint8_t> bytes) {
  return {bytes.data(), bytes.size()};
}

void setState(schema::ArchiveState::Builder builder, const ArchiveState& state) {
  builder.setCount(state.count);
  builder.setFingerprint(dataOf(state.fingerprint.bytes));
}

struct Refused {
  std::string detail;
};

template <std::size_t N>
std::array<std::uint8_t, N> fixed(capnp::Data::Reader data, const char* field) {
  if (data.size() != N) {
    throw Refused{std::string(field) + " is " + std::to_string(data.size()) + " bytes, not " +
                  std::to_string(N)};
  }
  std::array<std::uint8_t, N> out{};
  std::memcpy(out.data(), data.begin(), N);
  return out;
}

ArchiveState readState(schema::ArchiveState::Reader reader) {
  ArchiveState state;
  state.count = reader.getCount();
  state.fingerprint.bytes = fixed<ID_BYTES>(reader.getFingerprint(), "archive fingerprint");
  return state;
}

void putVarint(std::vector<std::uint8_t>& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

Message decodeOrThrow(std::span<const std::uint8_t> bytes, const MessageLimits& limits) {
  if (bytes.size() > limits.maxMessageBytes) {
    throw Refused{"message of " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                  std::to_string(limits.maxMessageBytes)};
  }
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) {
    throw Refused{"message of " + std::to_string(bytes.size()) +
                  " bytes is not a whole number of 8-byte words"};
  }
  auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  capnp::ReaderOptions options;
  options.traversalLimitInWords = 4 * words.size() + 16;
  options.nestingLimit = 8;
  capnp::FlatArrayMessageReader reader(words, options);
  if (reader.getEnd() != words.end()) throw Refused{"bytes after the end of the message"};
  const auto root = reader.getRoot<schema::SyncMessage>();
  switch (root.which()) {
    case schema::SyncMessage::HELLO: {
      const auto hello = root.getHello();
      Hello out;
      out.version = hello.getVersion();
      out.salt = fixed<SALT_BYTES>(hello.getSalt(), "salt");
      out.state = readState(hello.getState());
      out.rate = hello.getRate();
      out.budget = hello.getBudget();
      out.features = hello.getFeatures();
      return out;
    }
    case schema::SyncMessage::RECONCILE: {
      const auto reconcile = root.getReconcile();
      const auto frame = reconcile.getFrame();
      return Reconcile{reconcile.getRound(), reconcile.getLast(), {frame.begin(), frame.end()}};
    }
    case schema::SyncMessage::BATCH: {
      const auto batch = root.getBatch();
      Batch out;
      out.number = batch.getNumber();
      out.objects = batch.getObjects();
      out.rawBytes = batch.getRawBytes();
      switch (batch.getCompression()) {
        case schema::Compression::NONE:
          out.compression = Compression::None;
          break;
        case schema::Compression::ZSTD:
          out.compression = Compression::Zstd;
          break;
        case schema::Compression::ZSTD_STREAM:
          out.compression = Compression::ZstdStream;
          break;
        default:
          throw Refused{"unknown batch compression"};
      }
      const auto content = batch.getContent();
      out.content.assign(content.begin(), content.end());
      return out;
    }
    case schema::SyncMessage::ACK: {
      const auto ack = root.getAck();
      return Ack{ack.getBatch(), readState(ack.getState())};
    }
    case schema::SyncMessage::DONE:
      return Done{readState(root.getDone().getState())};
    case schema::SyncMessage::ERROR: {
      const auto text = root.getError();
      std::string reason(text.begin(), std::min<std::size_t>(text.size(), limits.maxFailureChars));
      for (char& c : reason) {
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';  // it goes into a log line
      }
      return Failure{reason};
    }
  }
  throw Refused{"unknown message type " + std::to_string(static_cast<unsigned>(root.which()))};
}

}  // namespace

ArchiveState archiveState(const RangeSum& everything) {
  std::array<std::uint8_t, 8> count{};
  for (int i = 0; i < 8; ++i) count[i] = static_cast<std::uint8_t>(everything.count >> (8 * i));
  crypto_generichash_state state;
  ArchiveState out;
  out.count = everything.count;
  crypto_generichash_init(&state, nullptr, 0, ID_BYTES);
  crypto_generichash_update(&state,
                            reinterpret_cast<const unsigned char*>(ARCHIVE_FINGERPRINT_TAG.data()),
                            ARCHIVE_FINGERPRINT_TAG.size());
  crypto_generichash_update(&state, count.data(), count.size());
  crypto_generichash_update(&state, everything.sum.data(), everything.sum.size());
  crypto_generichash_final(&state, out.fingerprint.bytes.data(), ID_BYTES);
  return out;
}

std::string_view messageName(const Message& message) {
  static constexpr std::string_view names[] = {"hello", "reconcile", "batch",
                                               "ack",   "done",      "error"};
  return names[message.index()];
}

std::vector<std::uint8_t> encode(const Message& message) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::SyncMessage>();
  if (const auto* hello = std::get_if<Hello>(&message)) {
    auto out = root.initHello();
    out.setVersion(hello->version);
    out.setSalt(dataOf(hello->salt));
    setState(out.initState(), hello->state);
    out.setRate(hello->rate);
    out.setBudget(hello->budget);
    out.setFeatures(hello->features);
  } else if (const auto* reconcile = std::get_if<Reconcile>(&message)) {
    auto out = root.initReconcile();
    out.setRound(reconcile->round);
    out.setLast(reconcile->last);
    if (!reconcile->frame.empty()) out.setFrame(dataOf(reconcile->frame));
  } else if (const auto* batch = std::get_if<Batch>(&message)) {
    auto out = root.initBatch();
    out.setNumber(batch->number);
    out.setObjects(batch->objects);
    out.setRawBytes(batch->rawBytes);
    switch (batch->compression) {
      case Compression::None:
        out.setCompression(schema::Compression::NONE);
        break;
      case Compression::Zstd:
        out.setCompression(schema::Compression::ZSTD);
        break;
      case Compression::ZstdStream:
        out.setCompression(schema::Compression::ZSTD_STREAM);
        break;
    }
    out.setContent(dataOf(batch->content));
  } else if (const auto* ack = std::get_if<Ack>(&message)) {
    auto out = root.initAck();
    out.setBatch(ack->batch);
    setState(out.initState(), ack->state);
  } else if (const auto* done = std::get_if<Done>(&message)) {
    setState(root.initDone().initState(), done->state);
  } else {
    root.setError(std::get<Failure>(message).reason);
  }
  const auto words = capnp::messageToFlatArray(builder);
  const auto bytes = words.asBytes();
  return {bytes.begin(), bytes.end()};
}

Expected<Message, MessageProblem> decode(std::span<const std::uint8_t> bytes,
                                         const MessageLimits& limits) {
  try {
    return decodeOrThrow(bytes, limits);
  } catch (const Refused& refused) {
    return MessageProblem{refused.detail};
  } catch (const kj::Exception& e) {
    return MessageProblem{std::string("malformed message: ") + e.getDescription().cStr()};
  }
}

struct BatchPacker::Context {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ~Context() { ZSTD_freeCCtx(cctx); }
};

BatchPacker::BatchPacker(int level) : m_context(std::make_unique<Context>()), m_level(level) {
  if (m_context->cctx == nullptr) throw std::bad_alloc();
}

BatchPacker::~BatchPacker() = default;

void BatchPacker::useStream() {
  if (m_streaming) return;
  ZSTD_CCtx* cctx = m_context->cctx;
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, m_level)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, STREAM_WINDOW_LOG))) {
    throw std::invalid_argument("zstd refused the stream's parameters");
  }
  m_streaming = true;
}

std::size_t streamOverhead(std::size_t rawBytes) { return rawBytes / 128 + 64; }

Batch BatchPacker::pack(std::uint32_t number,
                        const std::vector<std::span<const std::uint8_t>>& objects) {
  std::vector<std::uint8_t> raw;
  for (const auto& object : objects) {
    putVarint(raw, object.size());
    raw.insert(raw.end(), object.begin(), object.end());
  }
  Batch batch;
  batch.number = number;
  batch.objects = static_cast<std::uint32_t>(objects.size());
  batch.rawBytes = static_cast<std::uint32_t>(raw.size());
  std::vector<std::uint8_t> packed(ZSTD_compressBound(raw.size()));
  if (m_streaming) {
    // Every batch goes through the stream, compressible or not: the receiver's stream must see
    // what this side's saw. Incompressible bytes cost zstd's block headers, streamOverhead.
    ZSTD_inBuffer in{raw.data(), raw.size(), 0};
    ZSTD_outBuffer out{packed.data(), packed.size(), 0};
    for (;;) {
      const std::size_t left = ZSTD_compressStream2(m_context->cctx, &out, &in, ZSTD_e_flush);
      if (ZSTD_isError(left)) {
        throw std::runtime_error(std::string("zstd stream: ") + ZSTD_getErrorName(left));
      }
      if (left == 0) break;
      packed.resize(packed.size() + left);
      out.dst = packed.data();
      out.size = packed.size();
    }
    packed.resize(out.pos);
    batch.compression = Compression::ZstdStream;
    batch.content = std::move(packed);
    return batch;
  }
  const std::size_t size = ZSTD_compressCCtx(m_context->cctx, packed.data(), packed.size(),
                                             raw.data(), raw.size(), m_level);
  if (!ZSTD_isError(size) && size < raw.size()) {
    packed.resize(size);
    batch.compression = Compression::Zstd;
    batch.content = std::move(packed);
  } else {
    batch.content = std::move(raw);
  }
  return batch;
}

Batch packBatch(std::uint32_t number, const std::vector<std::span<const std::uint8_t>>& objects) {
  return BatchPacker().pack(number, objects);
}

namespace {

/// Why a batch's declared size or count is over the limits, if it is.
std::optional<MessageProblem> boundsProblem(const Batch& batch, const MessageLimits& limits) {
  if (batch.rawBytes > limits.maxBatchRawBytes) {
    return MessageProblem{"batch of " + std::to_string(batch.rawBytes) +
                          " bytes, over the limit of " + std::to_string(limits.maxBatchRawBytes)};
  }
  if (batch.objects > limits.maxBatchObjects) {
    return MessageProblem{"batch of " + std::to_string(batch.objects) +
                          " objects, over the limit of " + std::to_string(limits.maxBatchObjects)};
  }
  return std::nullopt;
}

/// The objects of a batch's raw content: each preceded by its length as a LEB128 varint.
Expected<std::vector<std::span<const std::uint8_t>>, MessageProblem> splitObjects(
    std::span<const std::uint8_t> raw, const Batch& batch, const MessageLimits& limits) {
  std::vector<std::span<const std::uint8_t>> objects;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    std::uint64_t length = 0;
    unsigned shift = 0;
    while (true) {
      if (pos == raw.size() || shift > 28) return MessageProblem{"batch object length is cut"};
      const std::uint8_t byte = raw[pos++];
      length |= std::uint64_t{byte & 0x7fu} << shift;
      shift += 7;
      if (!(byte & 0x80)) break;
    }
    if (length > limits.object.maxObjectBytes || length > raw.size() - pos) {
      return MessageProblem{"batch object of " + std::to_string(length) +
                            " bytes is oversized or cut"};
    }
    if (objects.size() == batch.objects) {
      return MessageProblem{"batch holds more objects than it says"};
    }
    objects.push_back(raw.subspan(pos, length));
    pos += length;
  }
  if (objects.size() != batch.objects) {
    return MessageProblem{"batch holds " + std::to_string(objects.size()) + " objects, not " +
                          std::to_string(batch.objects)};
  }
  return objects;
}

}  // namespace

Expected<std::vector<std::span<const std::uint8_t>>, MessageProblem> unpackBatch(
    const Batch& batch, const MessageLimits& limits, std::vector<std::uint8_t>& storage) {
  if (auto problem = boundsProblem(batch, limits)) return *problem;
  switch (batch.compression) {
    case Compression::Zstd: {
      const unsigned long long declared =
          ZSTD_getFrameContentSize(batch.content.data(), batch.content.size());
      if (declared != batch.rawBytes) {
        return MessageProblem{"compressed batch does not declare its size as rawBytes"};
      }
      storage.resize(batch.rawBytes);
      const std::size_t size = ZSTD_decompress(storage.data(), storage.size(), batch.content.data(),
                                               batch.content.size());
      if (ZSTD_isError(size) || size != batch.rawBytes) {
        return MessageProblem{std::string("batch does not decompress: ") +
                              (ZSTD_isError(size) ? ZSTD_getErrorName(size) : "wrong size")};
      }
      return splitObjects(storage, batch, limits);
    }
    case Compression::None:
      if (batch.content.size() != batch.rawBytes) {
        return MessageProblem{"batch content is not rawBytes long"};
      }
      return splitObjects(batch.content, batch, limits);
    case Compression::ZstdStream:
      break;
  }
  return MessageProblem{"a stream batch outside a session's stream"};
}

struct BatchUnpacker::Context {
  ZSTD_DCtx* dctx = nullptr;  // made at the first stream batch
  ~Context() { ZSTD_freeDCtx(dctx); }
};

BatchUnpacker::BatchUnpacker() : m_context(std::make_unique<Context>()) {}

BatchUnpacker::~BatchUnpacker() = default;

Expected<std::vector<std::span<const std::uint8_t>>, MessageProblem> BatchUnpacker::unpack(
    const Batch& batch, const MessageLimits& limits, std::vector<std::uint8_t>& storage) {
  if (batch.compression != Compression::ZstdStream) return unpackBatch(batch, limits, storage);
  if (auto problem = boundsProblem(batch, limits)) return *problem;
  if (m_broken) return MessageProblem{"the batch stream broke earlier"};
  if (m_context->dctx == nullptr) {
    m_context->dctx = ZSTD_createDCtx();
    if (m_context->dctx == nullptr) throw std::bad_alloc();
    if (ZSTD_isError(
            ZSTD_DCtx_setParameter(m_context->dctx, ZSTD_d_windowLogMax, STREAM_WINDOW_LOG))) {
      throw std::invalid_argument("zstd refused the stream's window");
    }
  }
  // The content must decompress to exactly rawBytes, all of it read; output past rawBytes has
  // no room, so a batch that holds more is refused, never buffered.
  storage.resize(batch.rawBytes);
  ZSTD_inBuffer in{batch.content.data(), batch.content.size(), 0};
  ZSTD_outBuffer out{storage.data(), storage.size(), 0};
  for (;;) {
    const std::size_t inBefore = in.pos;
    const std::size_t outBefore = out.pos;
    const std::size_t result = ZSTD_decompressStream(m_context->dctx, &out, &in);
    if (ZSTD_isError(result)) {
      m_broken = true;
      return MessageProblem{std::string("batch does not decompress: ") + ZSTD_getErrorName(result)};
    }
    if (in.pos == in.size && out.pos == out.size) break;
    if (in.pos == inBefore && out.pos == outBefore) break;  // no progress: short or too long
  }
  if (in.pos != in.size || out.pos != out.size) {
    m_broken = true;
    return MessageProblem{"stream batch does not decompress to exactly rawBytes"};
  }
  return splitObjects(storage, batch, limits);
}

}  // namespace fieldsync::protocol::sync
