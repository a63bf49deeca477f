#include "protocol/sync.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <sodium.h>
#include <zstd.h>

#include <cstring>

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
    out.setCompression(batch->compression == Compression::Zstd ? schema::Compression::ZSTD
                                                               : schema::Compression::NONE);
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

Expected<std::vector<std::span<const std::uint8_t>>, MessageProblem> unpackBatch(
    const Batch& batch, const MessageLimits& limits, std::vector<std::uint8_t>& storage) {
  if (batch.rawBytes > limits.maxBatchRawBytes) {
    return MessageProblem{"batch of " + std::to_string(batch.rawBytes) +
                          " bytes, over the limit of " + std::to_string(limits.maxBatchRawBytes)};
  }
  if (batch.objects > limits.maxBatchObjects) {
    return MessageProblem{"batch of " + std::to_string(batch.objects) +
                          " objects, over the limit of " + std::to_string(limits.maxBatchObjects)};
  }
  std::span<const std::uint8_t> raw;
  if (batch.compression == Compression::Zstd) {
    const unsigned long long declared =
        ZSTD_getFrameContentSize(batch.content.data(), batch.content.size());
    if (declared != batch.rawBytes) {
      return MessageProblem{"compressed batch does not declare its size as rawBytes"};
    }
    storage.resize(batch.rawBytes);
    const std::size_t size =
        ZSTD_decompress(storage.data(), storage.size(), batch.content.data(), batch.content.size());
    if (ZSTD_isError(size) || size != batch.rawBytes) {
      return MessageProblem{std::string("batch does not decompress: ") +
                            (ZSTD_isError(size) ? ZSTD_getErrorName(size) : "wrong size")};
    }
    raw = storage;
  } else {
    if (batch.content.size() != batch.rawBytes) {
      return MessageProblem{"batch content is not rawBytes long"};
    }
    raw = batch.content;
  }
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

}  // namespace fieldsync::protocol::sync
