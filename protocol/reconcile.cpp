#include "protocol/reconcile.h"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>

namespace fieldsync::protocol {

namespace {

constexpr std::string_view FINGERPRINT_TAG = "fieldsync/range-fingerprint/v1";
constexpr unsigned PREFIX_CODES = 34;  // prefix lengths 0..32, and 33 for the infinite bound
constexpr unsigned INFINITE_CODE = 33;
constexpr std::uint64_t IN_STEP_NEWEST = 8;  // the in-step opening lists this many newest

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
    split(0, present, Bound::lowest(), upper, m_tuning.plannedRounds, true, m_tuning.maxFanout,
          index, frame.ranges);
  }
  if (tail) {
    frame.ranges.push_back(present == size ? entryOf(Bound::end(), RangeMode::IdList)
                                           : fingerprintEntry(present, size, Bound::end(), index));
  }
  return {std::move(frame)};
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
                       std::uint32_t levelsLeft, bool finerAtEnd, std::size_t maxFanout,
                       const RangeIndex& index, std::vector<RangeEntry>& out) const {
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
  fanout = std::min<std::uint64_t>({fanout, maxFanout, size});
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
      split(start, end, partLower, partUpper, levelsLeft > 1 ? levelsLeft - 1 : 0, true, maxFanout,
            index, out);
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

namespace {

/// What a received Sketch says against this side's items in its range.
enum class SketchOutcome : std::uint8_t {
  Equal,        // same count and XOR
  MineExtra,    // I hold one more, and the XOR names it
  TheirsExtra,  // I hold one fewer, and the XOR names no item of mine: theirs, or misled
  TheirsOnly,   // I hold none
  MineOnly,     // the peer holds none
  Undecodable,  // more than one difference
  TooLarge,     // more items here than a sketch is read for: not read
};

/// A received range as it lies here, worked out before any is answered.
struct Checked {
  std::uint64_t from = 0, to = 0;
  bool observed = false;  // a Fingerprint or a read Sketch over items here: differs is known
  bool differs = false;
  SketchOutcome outcome = SketchOutcome::Equal;
  std::vector<SyncKey> keys;  // Sketch: my keys in the range
  std::vector<ShortId> ids;   // and their short ids
  ShortId odd{};              // Sketch: the XOR of the two sketches
};

/// Expected differences in a range of n items known to differ, at density differences per
/// item: the mean of a Poisson count given that it is not zero (at least 1).
double expectedDifferences(double density, std::uint64_t n) {
  const double mean = density * static_cast<double>(n);
  if (mean < 1e-9) return 1.0;
  return mean / -std::expm1(-mean);
}

/// The density of differences per item that best explains which of a frame's ranges differ
/// (maximum likelihood, each item differing independently), with one equal item assumed
/// besides so that a frame whose ranges all differ still gives a finite answer. Ranges are
/// grouped by the power of two of their size: this is called once per frame.
double densityOf(const std::vector<Checked>& checked) {
  struct Group {
    double differing = 0, differingItems = 0;
  };
  std::array<Group, 64> groups{};
  double equalItems = 1;
  bool anyDiffer = false;
  for (const Checked& range : checked) {
    const std::uint64_t n = range.to - range.from;
    if (n == 0 || !range.observed) continue;
    if (!range.differs) {
      equalItems += static_cast<double>(n);
      continue;
    }
    Group& group = groups[static_cast<std::size_t>(std::bit_width(n) - 1)];
    group.differing += 1;
    group.differingItems += static_cast<double>(n);
    anyDiffer = true;
  }
  if (!anyDiffer) return 0;
  // The likelihood's slope in density falls as density grows: bisect for its zero.
  auto slope = [&](double density) {
    double total = -equalItems;
    for (const Group& group : groups) {
      if (group.differing == 0) continue;
      const double n = group.differingItems / group.differing;
      total += group.differing * n / std::expm1(density * n);
    }
    return total;
  };
  double low = std::log(1e-12), high = std::log(4.0);
  for (int step = 0; step < 48; ++step) {
    const double middle = (low + high) / 2;
    (slope(std::exp(middle)) > 0 ? low : high) = middle;
  }
  return std::exp((low + high) / 2);
}

/// The density of differences around checked[at], from the ranges on either side of it (up to
/// NEARBY of them each way): differences that cluster (the newest objects, a batch) make the
/// ranges around a differing one differ too, which the frame's density alone would miss.
double nearbyDensity(const std::vector<Checked>& checked, std::size_t at) {
  constexpr std::size_t NEARBY = 4, LOOK = 32;
  double ranges = 0, differing = 0, items = 0;
  auto count = [&](std::size_t i) {
    const Checked& range = checked[i];
    if (!range.observed || range.to == range.from) return false;
    ranges += 1;
    differing += range.differs ? 1 : 0;
    items += static_cast<double>(range.to - range.from);
    return true;
  };
  for (std::size_t i = at, found = 0; i > 0 && at - i < LOOK && found < NEARBY;) {
    if (count(--i)) ++found;
  }
  for (std::size_t i = at + 1, found = 0; i < checked.size() && i - at <= LOOK && found < NEARBY;
       ++i) {
    if (count(i)) ++found;
  }
  if (differing == 0) return 0;
  const double share = differing / (ranges + 1);  // one equal range assumed besides
  return -std::log1p(-share) / (items / ranges);
}

std::uint64_t ceilOf(double value) {
  return value >= 1e18 ? std::uint64_t{1} << 60 : static_cast<std::uint64_t>(std::ceil(value));
}

/// A sketch range whose Need may point at no object (sides differing by more than one) is
/// answered with an IdList instead, once the expected number of such ranges in a late frame
/// passes this: a misled Need found only in the last round would cost a round trip more.
constexpr double MISLED_NEEDS_ALLOWED = 0.01;
constexpr std::uint64_t MISLED_LIST_ITEMS = 256;
/// A range larger than Tuning::maxIdListItems is read for sketches of its parts when it is
/// expected to hold a difference in this many items or fewer.
constexpr double READ_PER_DIFFERENCE = 128;
/// A range up to this size is read for sketches of its parts whatever the density: the work
/// of reading is then bounded by the differences found (a few ranges per difference).
constexpr std::uint64_t SKETCHED_ITEMS = 2048;  // larger ranges keep the Need and the risk

}  // namespace

std::uint64_t Reconciler::tailFrom(const RangeIndex& index) const {
  return m_tuning.horizon ? tailRank(index, *m_tuning.horizon) : index.size();
}

void Reconciler::answerDiffering(std::uint64_t from, std::uint64_t to, const Bound& lower,
                                 const Bound& upper, double minDifferences, bool peerHoldsMore,
                                 double density, std::uint64_t tailFrom, const Outlook& outlook,
                                 const RangeIndex& index, const std::vector<SyncKey>* keys,
                                 std::vector<RangeEntry>& out) const {
  if (from < tailFrom && tailFrom < to) {
    // Items on both sides of the horizon: the bound (horizon + 1, zero id) lies above the last
    // present item and at most the first future-dated one, so within (lower, upper).
    const Bound horizon{*tailStart(*m_tuning.horizon), false};
    answerDiffering(from, tailFrom, lower, horizon, 1, false, density, tailFrom, outlook, index,
                    nullptr, out);
    answerDiffering(tailFrom, to, horizon, upper, 1, false, density, tailFrom, outlook, index,
                    nullptr, out);
    return;
  }
  const std::uint32_t planned = m_tuning.plannedRounds;
  if (to <= tailFrom && to + IN_STEP_NEWEST >= tailFrom && outlook.replyRound <= planned &&
      to - from > m_tuning.leafItems) {
    // The range that ends with the newest present items (or just before the in-step
    // opening's list of them): those are the usual difference, and they come in a run, which
    // the density of the rest would not predict. Split it as round 1 does, finer towards the
    // newest.
    // Each level adds a fan-out less one: at most Tuning::maxFanout ranges in all.
    const std::uint32_t levels = planned - outlook.replyRound + 1;
    const std::size_t fanout = std::max<std::size_t>(m_tuning.maxFanout, 1);
    const std::size_t before = out.size();
    split(from, to, lower, upper, levels, true, (fanout - 1) / (levels + 1) + 1, index, out);
    if (out.size() - before <= fanout) return;
    out.resize(before);  // deeper than planned (a small fan-out): split as any other range
  }
  divide(from, to, upper, minDifferences, peerHoldsMore, density, outlook, index, keys, out);
}

void Reconciler::divide(std::uint64_t from, std::uint64_t to, const Bound& upper,
                        double minDifferences, bool peerHoldsMore, double density,
                        const Outlook& outlook, const RangeIndex& index,
                        const std::vector<SyncKey>* keys, std::vector<RangeEntry>& out) const {
  const std::uint64_t size = to - from;
  const double expected = std::max(minDifferences, expectedDifferences(density, size));
  // Sketches need every key of the range read, fingerprints only sums: a large range is read
  // for sketches only where differences are dense enough to pay for it.
  const std::uint32_t round = outlook.replyRound, planned = m_tuning.plannedRounds;
  const bool readable =
      size <= SKETCHED_ITEMS ||
      (round <= planned + 1 && static_cast<double>(size) <= expected * READ_PER_DIFFERENCE &&
       size <= m_tuning.maxIdListItems * std::max<std::size_t>(m_tuning.maxFanout, 1));
  if (!readable) {
    // Fingerprints of parts small enough to be sketched next.
    std::uint64_t parts =
        std::max(ceilOf(static_cast<double>(size) / static_cast<double>(SKETCHED_ITEMS)),
                 ceilOf(expected / m_tuning.fingerprintDifferences));
    parts = std::clamp<std::uint64_t>(parts, 2, std::max<std::size_t>(m_tuning.maxFanout, 2));
    std::uint64_t start = from;
    for (std::uint64_t part = 1; part <= parts; ++part) {
      const std::uint64_t end = from + size * part / parts;
      const Bound partUpper = part == parts ? upper : separator(index.at(end - 1), index.at(end));
      out.push_back(fingerprintEntry(start, end, partUpper, index));
      start = end;
    }
    return;
  }
  // Sketches of parts expecting about sketchDifferences each, half that in the last planned
  // round; after it, one round is left to split in: parts fine enough that two differences
  // rarely share one (a shared part is listed in the round after, and with objects lacking on
  // both sides that list costs a round trip more); then none: list.
  std::uint64_t parts = size;
  if (round <= planned) {
    const double target = m_tuning.sketchDifferences / (round < planned     ? 1.0
                                                        : outlook.bothSides ? 4.0
                                                                            : 2.0);
    parts = ceilOf(expected / target);
    // Both sides lack objects: the parts are answered late, where a misled Need costs a
    // round trip more. Either parts small enough that Needs rarely mislead, or parts whose
    // candidates are listed then (5 bytes an id) against sketches (about 10 bytes a part).
    if (round == planned && outlook.bothSides && outlook.safePart > 0) {
      const double n = static_cast<double>(size);
      const double safe = std::ceil(n / std::max(1.0, outlook.safePart));
      const double listed = std::ceil(std::sqrt(expected * n / 4));
      const double listedCost = 10 * listed + expected / 2 * 5 * n / listed;
      parts = std::max(parts, ceilOf(10 * safe <= listedCost ? safe : listed));
    }
  } else if (round == planned + 1) {
    const double shared = outlook.bothSides ? 0.01 : 0.05;
    parts = ceilOf(expected * std::max(1.0, expected - 1) / (2 * shared));
  }
  // The list costs no more than the sketches (5 bytes an id, about 10 a part), or the range
  // is small: a list settles it a round sooner. Late, when the peer holds more here, a list
  // too: sketches that do not settle would be listed by the peer next round, whose answer
  // (a Need, the peer holding what this side lacks) comes a round trip later.
  // Not when most of the range is known to be one side's lack: the parts one side has nothing
  // in are then settled with "send me all" (a few bytes), where a list is answered id by id.
  const bool lopsided = minDifferences * 2 > static_cast<double>(size);
  if (lopsided && size > m_tuning.leafItems && round <= planned + 1) {
    parts = std::max(parts, ceilOf(static_cast<double>(size) / 8));
  } else if (size <= m_tuning.maxIdListItems && (size <= 2 * parts || size <= m_tuning.leafItems ||
                                                 (round > planned && peerHoldsMore))) {
    out.push_back(idList(from, to, upper, index));
    return;
  }
  parts = std::min<std::uint64_t>({parts, std::max<std::size_t>(m_tuning.maxFanout, 1), size});
  std::vector<SyncKey> read;
  if (!keys) read = index.keys(from, to);
  const std::vector<SyncKey>& all = keys ? *keys : read;
  std::uint64_t start = 0;
  for (std::uint64_t part = 1; part <= parts; ++part) {
    const std::uint64_t end = size * part / parts;
    RangeEntry entry =
        entryOf(part == parts ? upper : separator(all[end - 1], all[end]), RangeMode::Sketch);
    entry.count = end - start;
    for (std::uint64_t i = start; i < end; ++i) xorInto(entry.sketch, shortId(m_salt, all[i].id));
    out.push_back(std::move(entry));
    start = end;
  }
}

void Reconciler::process(const Frame& frame, std::uint32_t round, const RangeIndex& index,
                         Reply& reply) const {
  const std::uint32_t replyRound = round + 1;
  const std::uint64_t tail = tailFrom(index);

  // First where each range lies here and whether it differs: the answer to each depends on
  // how many of them differ (the density of differences) and in which direction.
  std::vector<Checked> checked(frame.ranges.size());
  Bound lower = frame.lower;
  double mineSeen = 0, theirsSeen = 0, equalCountsDiffer = 0;
  for (std::size_t i = 0; i < frame.ranges.size(); ++i) {
    const RangeEntry& range = frame.ranges[i];
    Checked& c = checked[i];
    c.from = rankOf(lower, index);
    c.to = rankOf(range.upper, index);
    lower = range.upper;
    if (range.mode == RangeMode::Fingerprint) {
      c.differs = fingerprint(m_salt, index.sum(c.from, c.to)) != range.fingerprint;
      c.observed = true;
      continue;
    }
    if (range.mode != RangeMode::Sketch) continue;
    const std::uint64_t n = c.to - c.from;
    if (n > m_tuning.maxIdListItems) {  // far more here than a sketch covers: split
      c.outcome = SketchOutcome::TooLarge;
      c.differs = true;
      continue;
    }
    c.keys = index.keys(c.from, c.to);
    ShortId sketch{};
    c.ids.reserve(c.keys.size());
    for (const SyncKey& key : c.keys) {
      c.ids.push_back(shortId(m_salt, key.id));
      xorInto(sketch, c.ids.back());
    }
    c.odd = sketch;  // the one object's short id, if the sides differ by one
    xorInto(c.odd, range.sketch);
    const bool found = std::find(c.ids.begin(), c.ids.end(), c.odd) != c.ids.end();
    if (n == range.count && sketch == range.sketch) {
      c.outcome = SketchOutcome::Equal;
    } else if (n == range.count + 1 && found) {
      c.outcome = SketchOutcome::MineExtra;
    } else if (n + 1 == range.count && !found) {
      c.outcome = SketchOutcome::TheirsExtra;
    } else if (n == 0) {
      c.outcome = SketchOutcome::TheirsOnly;
    } else if (range.count == 0) {
      c.outcome = SketchOutcome::MineOnly;
    } else {
      c.outcome = SketchOutcome::Undecodable;
    }
    c.differs = c.outcome != SketchOutcome::Equal;
    c.observed = true;
    if (c.outcome == SketchOutcome::MineExtra) mineSeen += 1;
    if (c.outcome == SketchOutcome::TheirsExtra) theirsSeen += 1;
    if (c.outcome == SketchOutcome::TheirsOnly) theirsSeen += static_cast<double>(range.count);
    if (c.outcome == SketchOutcome::MineOnly) mineSeen += static_cast<double>(n);
    if (c.outcome == SketchOutcome::Undecodable) {
      mineSeen += static_cast<double>(n > range.count ? n - range.count : 0);
      theirsSeen += static_cast<double>(range.count > n ? range.count - n : 0);
      if (n == range.count) equalCountsDiffer += 1;
    }
  }
  Outlook outlook;
  outlook.replyRound = replyRound;
  outlook.late = replyRound > m_tuning.plannedRounds;
  outlook.density = densityOf(checked);
  outlook.bothSides = equalCountsDiffer > 0 || (mineSeen > 0 && theirsSeen > 0);
  auto densityAt = [&](std::size_t i) {
    return std::max(outlook.density, nearbyDensity(checked, i));
  };
  // Over the whole span of the frame (its Skips included), the differences per item on each
  // side: differences lie independently of each other, so these say how likely a part that
  // holds one is to hold others too, which is what misleads a sketch.
  double differing = 0;  // differences expected in the ranges that differ
  for (std::size_t i = 0; i < checked.size(); ++i) {
    const Checked& c = checked[i];
    if (c.differs) differing += expectedDifferences(densityAt(i), c.to - c.from);
  }
  if (!checked.empty() && checked.back().to > checked.front().from && outlook.bothSides) {
    const double span = static_cast<double>(checked.back().to - checked.front().from);
    const double seen = std::max(differing, mineSeen + theirsSeen + 2 * equalCountsDiffer);
    const double mineShare =
        (mineSeen + equalCountsDiffer) / (mineSeen + theirsSeen + 2 * equalCountsDiffer);
    outlook.mineSpread = seen * mineShare / span;
    outlook.theirsSpread = seen * (1 - mineShare) / span;
  }
  // Late, a Need for the one object the peer seems to hold more in a part misleads when the
  // part holds one more of each side's: about (mine n)(theirs n).
  double misled = 0;
  for (const Checked& c : checked) {
    if (c.outcome != SketchOutcome::TheirsExtra) continue;
    const double n = static_cast<double>(c.to - c.from) + 1;
    misled += outlook.mineSpread * n * outlook.theirsSpread * n;
  }
  const bool listInsteadOfNeed = outlook.late && misled > MISLED_NEEDS_ALLOWED;
  if (outlook.bothSides && replyRound == m_tuning.plannedRounds) {
    // The largest part whose Needs, asked next round, mislead less than allowed in all.
    double candidates = 0;
    for (std::size_t i = 0; i < checked.size(); ++i) {
      const Checked& c = checked[i];
      if (c.differs) candidates += expectedDifferences(densityAt(i), c.to - c.from) / 2;
    }
    // The directions seen so far are few: assume the worst, differences half on each side,
    // and aim at half the allowance.
    const double half = (outlook.mineSpread + outlook.theirsSpread) / 2;
    const double risk = candidates * half * half;
    if (risk > 0) outlook.safePart = std::sqrt(MISLED_NEEDS_ALLOWED / 2 / risk);
  }

  std::vector<RangeEntry> out;
  lower = frame.lower;
  for (std::size_t i = 0; i < frame.ranges.size(); ++i) {
    const RangeEntry& range = frame.ranges[i];
    Checked& c = checked[i];
    const std::uint64_t from = c.from, to = c.to;
    switch (range.mode) {
      case RangeMode::Skip:
        append(out, skipTo(range.upper));
        break;
      case RangeMode::Fingerprint:
        if (!c.differs) {
          append(out, skipTo(range.upper));
        } else if (from == to) {
          append(out, entryOf(range.upper, RangeMode::IdList));  // send me all
        } else {
          answerDiffering(from, to, lower, range.upper, 1, false, densityAt(i), tail, outlook,
                          index, nullptr, out);
        }
        break;
      case RangeMode::Sketch:
        switch (c.outcome) {
          case SketchOutcome::Equal:
            append(out, skipTo(range.upper));
            break;
          case SketchOutcome::MineExtra: {
            const auto at = std::find(c.ids.begin(), c.ids.end(), c.odd);
            reply.pushKeys.push_back(c.keys[static_cast<std::size_t>(at - c.ids.begin())]);
            append(out, skipTo(range.upper));
            break;
          }
          case SketchOutcome::TheirsExtra:
            if (listInsteadOfNeed && to - from <= MISLED_LIST_ITEMS) {
              append(out, entryOf(range.upper, RangeMode::IdList, std::move(c.ids)));
            } else {
              append(out, entryOf(range.upper, RangeMode::Need, {c.odd}));
            }
            break;
          case SketchOutcome::TheirsOnly:
            append(out, entryOf(range.upper, RangeMode::IdList));  // send me all
            break;
          case SketchOutcome::MineOnly:
            reply.pushRanges.push_back(KeyRange{lower, range.upper});
            append(out, skipTo(range.upper));
            break;
          case SketchOutcome::TooLarge:
          case SketchOutcome::Undecodable: {
            // At least the difference of the counts, and two when the sketch did not decode.
            const std::uint64_t apart =
                to - from > range.count ? to - from - range.count : range.count - (to - from);
            const bool read = c.outcome == SketchOutcome::Undecodable;
            answerDiffering(from, to, lower, range.upper,
                            std::max(read ? 2.0 : 1.0, static_cast<double>(apart)),
                            range.count > to - from, densityAt(i), tail, outlook, index,
                            read ? &c.keys : nullptr, out);
            break;
          }
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
        for (std::size_t j = 0; j < theirs.size(); ++j) {
          if (!found[j]) need.ids.push_back(theirs[j]);
        }
        append(out, need.ids.empty() ? skipTo(range.upper) : std::move(need));
        break;
      }
      case RangeMode::Need: {
        // A Need answers an IdList or a Sketch of ours, so the range was small; bound the
        // work anyway, a peer may lie.
        std::vector<ShortId> wanted = range.ids;
        std::sort(wanted.begin(), wanted.end());
        std::vector<bool> found(wanted.size(), false);
        const std::uint64_t end = std::min<std::uint64_t>(to, from + m_tuning.maxIdListItems);
        const std::vector<SyncKey> keys = index.keys(from, end);
        for (const SyncKey& key : keys) {
          const ShortId id = shortId(m_salt, key.id);
          const auto it = std::lower_bound(wanted.begin(), wanted.end(), id);
          if (it != wanted.end() && *it == id) {
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
