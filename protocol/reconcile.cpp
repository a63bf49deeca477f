#include "protocol/reconcile.h"

#include <sodium.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

namespace fieldsync::protocol {

namespace {

constexpr std::string_view FINGERPRINT_TAG = "fieldsync/range-fingerprint/v1";
constexpr unsigned PREFIX_CODES = 34;  // prefix lengths 0..32, and 33 for the infinite bound
constexpr unsigned INFINITE_CODE = 33;

std::uint64_t biased(std::int64_t signedAt) {
  return static_cast<std::uint64_t>(signedAt) ^ (std::uint64_t{1} << 63);
}
std::int64_t unbiased(std::uint64_t value) {
  return static_cast<std::int64_t>(value ^ (std::uint64_t{1} << 63));
}

void putVarint(std::vector<std::uint8_t>& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

/// Reads bytes front to back; any read past the end or malformed value sets failed.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : m_bytes(bytes) {}
  bool done() const { return m_pos == m_bytes.size(); }
  std::optional<std::uint64_t> varint() {
    std::uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (m_pos == m_bytes.size()) return std::nullopt;
      const std::uint8_t byte = m_bytes[m_pos++];
      if (shift == 63 && byte > 1) return std::nullopt;  // more than 64 bits
      value |= std::uint64_t{byte & 0x7fu} << shift;
      if (!(byte & 0x80)) return value;
    }
    return std::nullopt;
  }
  std::optional<std::uint8_t> byte() {
    if (m_pos == m_bytes.size()) return std::nullopt;
    return m_bytes[m_pos++];
  }
  bool read(std::span<std::uint8_t> out) {
    if (m_bytes.size() - m_pos < out.size()) return false;
    std::memcpy(out.data(), m_bytes.data() + m_pos, out.size());
    m_pos += out.size();
    return true;
  }
  std::size_t remaining() const { return m_bytes.size() - m_pos; }

 private:
  std::span<const std::uint8_t> m_bytes;
  std::size_t m_pos = 0;
};

/// Length of the id prefix a bound needs: the id without its trailing zero bytes.
unsigned prefixLength(const ObjectId& id) {
  unsigned length = ID_BYTES;
  while (length > 0 && id.bytes[length - 1] == 0) --length;
  return length;
}

/// Bounds are written as: one head byte (mode * PREFIX_CODES + prefix code), the signedAt
/// (zigzag for the first bound of a frame, else the increase over the previous bound), then
/// the id prefix. The infinite bound has no signedAt and no prefix.
void putBound(std::vector<std::uint8_t>& out, const Bound& bound, RangeMode mode,
              std::optional<std::int64_t>& previous) {
  const unsigned modeCode = static_cast<unsigned>(mode) * PREFIX_CODES;
  if (bound.infinite) {
    out.push_back(static_cast<std::uint8_t>(modeCode + INFINITE_CODE));
    return;
  }
  const unsigned length = prefixLength(bound.key.id);
  out.push_back(static_cast<std::uint8_t>(modeCode + length));
  const std::int64_t at = bound.key.signedAt;
  if (!previous) {
    const auto value = static_cast<std::uint64_t>(at);
    putVarint(out, (value << 1) ^ (at < 0 ? ~std::uint64_t{0} : 0));  // zigzag
  } else {
    putVarint(out, biased(at) - biased(*previous));
  }
  previous = at;
  out.insert(out.end(), bound.key.id.bytes.begin(), bound.key.id.bytes.begin() + length);
}

void putIds(std::vector<std::uint8_t>& out, const std::vector<ShortId>& ids) {
  putVarint(out, ids.size());
  for (const ShortId& id : ids) out.insert(out.end(), id.begin(), id.end());
}

void putEntry(std::vector<std::uint8_t>& out, const RangeEntry& entry,
              std::optional<std::int64_t>& previous) {
  putBound(out, entry.upper, entry.mode, previous);
  switch (entry.mode) {
    case RangeMode::Skip:
      break;
    case RangeMode::Fingerprint:
      out.insert(out.end(), entry.fingerprint.begin(), entry.fingerprint.end());
      break;
    case RangeMode::IdList:
    case RangeMode::Need:
      putIds(out, entry.ids);
      break;
    case RangeMode::Sketch:
      putVarint(out, entry.count);
      out.insert(out.end(), entry.sketch.begin(), entry.sketch.end());
      break;
  }
}

std::uint64_t rankOf(const Bound& bound, const RangeIndex& index) {
  return bound.infinite ? index.size() : index.rank(bound.key);
}

/// Appends entry, merging it into a Skip just before it.
void append(std::vector<RangeEntry>& out, RangeEntry entry) {
  if (entry.mode == RangeMode::Skip && !out.empty() && out.back().mode == RangeMode::Skip) {
    out.back().upper = entry.upper;
    return;
  }
  out.push_back(std::move(entry));
}

RangeEntry entryOf(const Bound& upper, RangeMode mode, std::vector<ShortId> ids = {}) {
  RangeEntry entry;
  entry.upper = upper;
  entry.mode = mode;
  entry.ids = std::move(ids);
  return entry;
}
RangeEntry skipTo(const Bound& upper) { return entryOf(upper, RangeMode::Skip); }

void xorInto(ShortId& into, const ShortId& id) {
  for (std::size_t i = 0; i < SHORT_ID_BYTES; ++i) into[i] ^= id[i];
}

}  // namespace

FingerprintBytes fingerprint(const Salt& salt, const RangeSum& sum) {
  std::array<std::uint8_t, 8 + ID_BYTES> input{};
  for (int i = 0; i < 8; ++i) input[i] = static_cast<std::uint8_t>(sum.count >> (8 * i));
  std::copy(sum.sum.begin(), sum.sum.end(), input.begin() + 8);
  crypto_generichash_state state;
  std::array<std::uint8_t, crypto_generichash_BYTES_MIN> digest{};
  crypto_generichash_init(&state, salt.data(), salt.size(), digest.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(FINGERPRINT_TAG.data()),
                            FINGERPRINT_TAG.size());
  crypto_generichash_update(&state, input.data(), input.size());
  crypto_generichash_final(&state, digest.data(), digest.size());
  FingerprintBytes out{};
  std::copy_n(digest.begin(), out.size(), out.begin());
  return out;
}

ShortId shortId(const Salt& salt, const ObjectId& id) {
  static_assert(crypto_shorthash_KEYBYTES == SALT_BYTES);
  std::array<std::uint8_t, crypto_shorthash_BYTES> hash{};
  crypto_shorthash(hash.data(), id.bytes.data(), id.bytes.size(), salt.data());
  ShortId out{};
  std::copy_n(hash.begin(), out.size(), out.begin());
  return out;
}

Bound separator(const SyncKey& before, const SyncKey& at) {
  assert(before < at);
  Bound bound{SyncKey{at.signedAt, {}}, false};
  if (before.signedAt != at.signedAt) return bound;
  std::size_t common = 0;
  while (common < ID_BYTES && before.id.bytes[common] == at.id.bytes[common]) ++common;
  std::copy_n(at.id.bytes.begin(), common + 1, bound.key.id.bytes.begin());
  return bound;
}

bool needsAnswer(const Frame& frame) {
  return std::any_of(frame.ranges.begin(), frame.ranges.end(), [](const RangeEntry& range) {
    return range.mode == RangeMode::Fingerprint || range.mode == RangeMode::Sketch ||
           range.mode == RangeMode::Need || (range.mode == RangeMode::IdList && !range.ids.empty());
  });
}

bool Reply::needsAnswer() const {
  return std::any_of(frames.begin(), frames.end(),
                     [](const Frame& frame) { return protocol::needsAnswer(frame); });
}

std::vector<std::uint8_t> encodeFrame(const Frame& frame) {
  std::vector<std::uint8_t> out;
  std::optional<std::int64_t> previous;
  putBound(out, frame.lower, RangeMode::Skip, previous);
  for (const RangeEntry& entry : frame.ranges) putEntry(out, entry, previous);
  return out;
}

std::vector<std::vector<std::uint8_t>> encodeFrames(const std::vector<Frame>& frames,
                                                    std::size_t maxFrameBytes) {
  std::vector<std::vector<std::uint8_t>> out;
  for (const Frame& frame : frames) {
    std::vector<std::uint8_t> bytes;
    std::optional<std::int64_t> previous;
    Bound lower = frame.lower;
    putBound(bytes, lower, RangeMode::Skip, previous);
    std::size_t inFrame = 0;
    for (const RangeEntry& entry : frame.ranges) {
      std::vector<std::uint8_t> encoded;
      std::optional<std::int64_t> probe = previous;
      putEntry(encoded, entry, probe);
      if (inFrame > 0 && bytes.size() + encoded.size() > maxFrameBytes) {
        out.push_back(std::move(bytes));
        bytes.clear();
        previous.reset();
        putBound(bytes, lower, RangeMode::Skip, previous);
        encoded.clear();
        probe = previous;
        putEntry(encoded, entry, probe);
      }
      bytes.insert(bytes.end(), encoded.begin(), encoded.end());
      previous = probe;
      lower = entry.upper;
      ++inFrame;
    }
    out.push_back(std::move(bytes));
  }
  return out;
}

Expected<Frame, FrameProblem> decodeFrame(std::span<const std::uint8_t> bytes,
                                          const FrameLimits& limits) {
  if (bytes.size() > limits.maxFrameBytes) {
    return FrameProblem{"frame of " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                        std::to_string(limits.maxFrameBytes)};
  }
  Reader reader(bytes);
  std::optional<std::int64_t> previous;
  std::size_t ids = 0;
  // One bound and its mode; the problem text when malformed.
  auto readBound = [&](Bound& bound, RangeMode& mode) -> std::optional<std::string> {
    const auto head = reader.byte();
    if (!head) return "truncated bound";
    const unsigned modeCode = *head / PREFIX_CODES;
    const unsigned length = *head % PREFIX_CODES;
    if (modeCode > static_cast<unsigned>(RangeMode::Sketch)) return "unknown range mode";
    mode = static_cast<RangeMode>(modeCode);
    if (length == INFINITE_CODE) {
      bound = Bound::end();
      return std::nullopt;
    }
    const auto time = reader.varint();
    if (!time) return "truncated or overlong signedAt";
    std::int64_t at = 0;
    if (!previous) {
      at = static_cast<std::int64_t>((*time >> 1) ^ (~(*time & 1) + 1));  // un-zigzag
    } else {
      if (*time > ~biased(*previous)) return "signedAt out of range";
      at = unbiased(biased(*previous) + *time);
    }
    previous = at;
    bound = Bound{SyncKey{at, {}}, false};
    if (!reader.read(std::span(bound.key.id.bytes.data(), length))) return "truncated id prefix";
    return std::nullopt;
  };

  Frame frame;
  RangeMode lowerMode{};
  if (auto problem = readBound(frame.lower, lowerMode)) return FrameProblem{*problem};
  if (lowerMode != RangeMode::Skip) return FrameProblem{"frame lower bound with a range mode"};
  if (frame.lower.infinite) return FrameProblem{"frame starts at the end of the key space"};
  Bound previousBound = frame.lower;
  while (!reader.done()) {
    if (frame.ranges.size() == limits.maxRanges) {
      return FrameProblem{"more than " + std::to_string(limits.maxRanges) + " ranges in a frame"};
    }
    if (previousBound.infinite) return FrameProblem{"a range after the end of the key space"};
    RangeEntry entry;
    if (auto problem = readBound(entry.upper, entry.mode)) return FrameProblem{*problem};
    if (!(previousBound < entry.upper)) return FrameProblem{"range bounds not increasing"};
    switch (entry.mode) {
      case RangeMode::Skip:
        break;
      case RangeMode::Fingerprint:
        if (!reader.read(entry.fingerprint)) return FrameProblem{"truncated fingerprint"};
        break;
      case RangeMode::IdList:
      case RangeMode::Need: {
        const auto count = reader.varint();
        if (!count) return FrameProblem{"truncated id count"};
        if (*count > limits.maxIds - ids || *count > reader.remaining() / SHORT_ID_BYTES) {
          return FrameProblem{"id list longer than the frame or the limit"};
        }
        ids += *count;
        entry.ids.resize(*count);
        for (ShortId& id : entry.ids) reader.read(id);
        break;
      }
      case RangeMode::Sketch: {
        const auto count = reader.varint();
        if (!count) return FrameProblem{"truncated sketch count"};
        entry.count = *count;
        if (!reader.read(entry.sketch)) return FrameProblem{"truncated sketch"};
        break;
      }
    }
    previousBound = entry.upper;
    frame.ranges.push_back(std::move(entry));
  }
  return frame;
}

std::vector<Frame> Reconciler::initiate(const RangeIndex& index, Opening opening) const {
  Frame frame{Bound::lowest(), {}};
  const std::uint64_t size = index.size();
  constexpr std::uint64_t IN_STEP_NEWEST = 8;
  // The future-dated tail (keys beyond the horizon) is one range of its own, after the rest:
  // it never takes the newest slots of the finer split or of the in-step IdList.
  const std::optional<SyncKey> tail =
      m_tuning.horizon ? tailStart(*m_tuning.horizon) : std::nullopt;
  const std::uint64_t present = tail ? index.rank(*tail) : size;
  const Bound upper = tail ? Bound{*tail, false} : Bound::end();
  if (present == 0) {
    frame.ranges.push_back(entryOf(upper, RangeMode::IdList));  // none here: send me yours
  } else if (opening == Opening::InStep && present > IN_STEP_NEWEST) {
    const std::uint64_t split = present - IN_STEP_NEWEST;
    const Bound bound = separator(index.at(split - 1), index.at(split));
    frame.ranges.push_back(fingerprintEntry(0, split, bound, index));
    frame.ranges.push_back(idList(split, present, upper, index));
  } else if (opening == Opening::InStep) {
    frame.ranges.push_back(idList(0, present, upper, index));
  } else {
    split(0, present, Bound::lowest(), upper, m_tuning.plannedRounds, true, index, frame.ranges);
  }
  if (tail) {
    frame.ranges.push_back(present == size ? entryOf(Bound::end(), RangeMode::IdList)
                                           : fingerprintEntry(present, size, Bound::end(), index));
  }
  return {std::move(frame)};
}

std::uint64_t Reconciler::tailFrom(const RangeIndex& index) const {
  return m_tuning.horizon ? tailRank(index, *m_tuning.horizon) : index.size();
}

void Reconciler::splitApart(std::uint64_t from, std::uint64_t to, const Bound& lower,
                            const Bound& upper, std::uint32_t levelsLeft, std::uint64_t tailFrom,
                            const RangeIndex& index, std::vector<RangeEntry>& out) const {
  if (from < tailFrom && tailFrom < to) {
    // Items on both sides of the horizon: the bound (horizon + 1, zero id) lies above the last
    // present item and at most the first future-dated one, so within (lower, upper).
    const Bound horizon{*tailStart(*m_tuning.horizon), false};
    split(from, tailFrom, lower, horizon, levelsLeft, false, index, out);
    split(tailFrom, to, horizon, upper, levelsLeft, false, index, out);
    return;
  }
  split(from, to, lower, upper, levelsLeft, false, index, out);
}

RangeEntry Reconciler::idList(std::uint64_t from, std::uint64_t to, const Bound& upper,
                              const RangeIndex& index) const {
  RangeEntry entry = entryOf(upper, RangeMode::IdList);
  for (const SyncKey& key : index.keys(from, to)) entry.ids.push_back(shortId(m_salt, key.id));
  return entry;
}

RangeEntry Reconciler::fingerprintEntry(std::uint64_t from, std::uint64_t to, const Bound& upper,
                                        const RangeIndex& index) const {
  RangeEntry entry = entryOf(upper, RangeMode::Fingerprint);
  entry.fingerprint = fingerprint(m_salt, index.sum(from, to));
  return entry;
}

void Reconciler::split(std::uint64_t from, std::uint64_t to, const Bound& lower, const Bound& upper,
                       std::uint32_t levelsLeft, bool finerAtEnd, const RangeIndex& index,
                       std::vector<RangeEntry>& out) const {
  (void)lower;
  const std::uint64_t size = to - from;
  const double leafCount = static_cast<double>(size) / static_cast<double>(m_tuning.leafItems);
  auto fanout = static_cast<std::uint64_t>(
      std::ceil(std::pow(leafCount, 1.0 / std::max<std::uint32_t>(levelsLeft, 1)) - 1e-9));
  if (size <= m_tuning.leafItems || fanout <= 1 ||
      (levelsLeft == 0 && size <= m_tuning.maxIdListItems)) {
    out.push_back(idList(from, to, upper, index));
    return;
  }
  fanout = std::min<std::uint64_t>({fanout, m_tuning.maxFanout, size});
  // At the last level, sketches: the answer then finds a single difference at once.
  const bool leaves = levelsLeft <= 1 && size <= m_tuning.maxIdListItems;
  const std::vector<SyncKey> keys = leaves ? index.keys(from, to) : std::vector<SyncKey>{};
  auto keyAt = [&](std::uint64_t rank) { return leaves ? keys[rank - from] : index.at(rank); };
  std::uint64_t start = from;
  for (std::uint64_t part = 1; part <= fanout; ++part) {
    const std::uint64_t end = from + size * part / fanout;
    const Bound partUpper = part == fanout ? upper : separator(keyAt(end - 1), keyAt(end));
    if (part == fanout && finerAtEnd) {
      const Bound partLower = out.empty() ? lower : out.back().upper;
      split(start, end, partLower, partUpper, levelsLeft > 1 ? levelsLeft - 1 : 0, true, index,
            out);
    } else if (leaves) {
      RangeEntry entry = entryOf(partUpper, RangeMode::Sketch);
      entry.count = end - start;
      for (std::uint64_t i = start; i < end; ++i) {
        xorInto(entry.sketch, shortId(m_salt, keys[i - from].id));
      }
      out.push_back(std::move(entry));
    } else {
      out.push_back(fingerprintEntry(start, end, partUpper, index));
    }
    start = end;
  }
}

void Reconciler::processSketch(const RangeEntry& range, std::uint64_t from, std::uint64_t to,
                               const Bound& lower, std::uint32_t levelsLeft, std::uint64_t tailFrom,
                               const RangeIndex& index, Reply& reply,
                               std::vector<RangeEntry>& out) const {
  if (to - from > m_tuning.maxIdListItems) {  // far more here than a sketch covers: split
    splitApart(from, to, lower, range.upper, levelsLeft, tailFrom, index, out);
    return;
  }
  const std::vector<SyncKey> keys = index.keys(from, to);
  std::vector<ShortId> mine;
  mine.reserve(keys.size());
  ShortId sketch{};
  for (const SyncKey& key : keys) {
    mine.push_back(shortId(m_salt, key.id));
    xorInto(sketch, mine.back());
  }
  if (keys.size() == range.count && sketch == range.sketch) {
    append(out, skipTo(range.upper));
    return;
  }
  ShortId odd = sketch;  // the one object's short id, if the sides differ by one
  xorInto(odd, range.sketch);
  const auto at = std::find(mine.begin(), mine.end(), odd);
  if (keys.size() == range.count + 1 && at != mine.end()) {
    reply.pushKeys.push_back(keys[static_cast<std::size_t>(at - mine.begin())]);
    append(out, skipTo(range.upper));
  } else if (keys.size() + 1 == range.count && at == mine.end()) {
    append(out, entryOf(range.upper, RangeMode::Need, {odd}));
  } else if (keys.empty()) {
    append(out, entryOf(range.upper, RangeMode::IdList));  // send me all
  } else if (range.count == 0) {
    reply.pushRanges.push_back(KeyRange{lower, range.upper});
    append(out, skipTo(range.upper));
  } else {
    append(out, entryOf(range.upper, RangeMode::IdList, std::move(mine)));
  }
}

void Reconciler::process(const Frame& frame, std::uint32_t round, const RangeIndex& index,
                         Reply& reply) const {
  const std::uint32_t replyRound = round + 1;
  const std::uint32_t levelsLeft =
      replyRound <= m_tuning.plannedRounds ? m_tuning.plannedRounds - replyRound + 1 : 0;
  const std::uint64_t tail = tailFrom(index);
  std::vector<RangeEntry> out;
  Bound lower = frame.lower;
  for (const RangeEntry& range : frame.ranges) {
    const std::uint64_t from = rankOf(lower, index);
    const std::uint64_t to = rankOf(range.upper, index);
    switch (range.mode) {
      case RangeMode::Skip:
        append(out, skipTo(range.upper));
        break;
      case RangeMode::Fingerprint:
        if (fingerprint(m_salt, index.sum(from, to)) == range.fingerprint) {
          append(out, skipTo(range.upper));
        } else if (from == to) {
          append(out, entryOf(range.upper, RangeMode::IdList));  // send me all
        } else {
          splitApart(from, to, lower, range.upper, levelsLeft, tail, index, out);
        }
        break;
      case RangeMode::IdList: {
        if (range.ids.empty()) {
          if (from != to) reply.pushRanges.push_back(KeyRange{lower, range.upper});
          append(out, skipTo(range.upper));
          break;
        }
        if (from == to) {
          // I have nothing here: "send me all" needs no answer, where a Need of every id would.
          append(out, entryOf(range.upper, RangeMode::IdList));
          break;
        }
        std::vector<ShortId> theirs = range.ids;
        std::sort(theirs.begin(), theirs.end());
        std::vector<bool> found(theirs.size(), false);
        if (to - from > m_tuning.maxIdListItems * 16) {
          // Far more here than the peer listed: send it all rather than list it.
          reply.pushRanges.push_back(KeyRange{lower, range.upper});
          append(out, entryOf(range.upper, RangeMode::Need, theirs));
          break;
        }
        for (const SyncKey& key : index.keys(from, to)) {
          const ShortId id = shortId(m_salt, key.id);
          const auto it = std::lower_bound(theirs.begin(), theirs.end(), id);
          if (it != theirs.end() && *it == id) {
            found[static_cast<std::size_t>(it - theirs.begin())] = true;
          } else {
            reply.pushKeys.push_back(key);
          }
        }
        RangeEntry need = entryOf(range.upper, RangeMode::Need);
        for (std::size_t i = 0; i < theirs.size(); ++i) {
          if (!found[i]) need.ids.push_back(theirs[i]);
        }
        append(out, need.ids.empty() ? skipTo(range.upper) : std::move(need));
        break;
      }
      case RangeMode::Sketch:
        processSketch(range, from, to, lower, levelsLeft, tail, index, reply, out);
        break;
      case RangeMode::Need: {
        // A Need answers an IdList or a Sketch of ours, so the range was small; bound the
        // work anyway, a peer may lie.
        std::vector<ShortId> wanted = range.ids;
        std::sort(wanted.begin(), wanted.end());
        std::vector<bool> found(wanted.size(), false);
        const std::uint64_t end = std::min<std::uint64_t>(to, from + m_tuning.maxIdListItems);
        const std::vector<SyncKey> keys = index.keys(from, end);
        for (const SyncKey& key : keys) {
          const auto it = std::lower_bound(wanted.begin(), wanted.end(), shortId(m_salt, key.id));
          if (it != wanted.end() && *it == shortId(m_salt, key.id)) {
            found[static_cast<std::size_t>(it - wanted.begin())] = true;
            reply.pushKeys.push_back(key);
          }
        }
        // A sketch can mislead when the sides differ by more than one object: the id asked
        // for is then no object's. List the range so the next answer settles it.
        if (std::find(found.begin(), found.end(), false) != found.end()) {
          append(out, idList(from, end, range.upper, index));
        } else {
          append(out, skipTo(range.upper));
        }
        break;
      }
    }
    lower = range.upper;
  }
  // Keep only the part that needs the peer's attention: no leading or trailing Skip.
  Bound replyLower = frame.lower;
  std::size_t first = 0;
  while (first < out.size() && out[first].mode == RangeMode::Skip) replyLower = out[first++].upper;
  std::size_t last = out.size();
  while (last > first && out[last - 1].mode == RangeMode::Skip) --last;
  if (first == last) return;
  reply.frames.push_back(Frame{
      replyLower,
      {std::make_move_iterator(out.begin() + first), std::make_move_iterator(out.begin() + last)}});
}

}  // namespace fieldsync::protocol
