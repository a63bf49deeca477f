#pragma once
// Range-based set reconciliation: which objects each of two nodes lacks, found by exchanging
// fingerprints of ranges of the (signedAt, id) order, split until the differences are found.
// Pure code over a RangeIndex: no sockets, no LMDB, no clock. docs/protocol.md ("Sync:
// reconciliation") is the specification; this header is its interface.
//
// A session is a sequence of rounds, alternating between the two sides; the initiator sends
// round 1. A round is one or more frames (each at most Tuning::maxFrameBytes, all sent
// together: a round costs one trip however many frames it has). A frame is a list of ranges
// covering a contiguous span of the key space; each range carries a mode:
//   Fingerprint  the salted fingerprint of the sender's items in the range
//   IdList       the salted short ids of all the sender's items in the range; an empty
//                IdList says "I have nothing here: send me all you have"
//   Need         the short ids, from an IdList the receiver sent, that the sender lacks
//   Sketch       count and XOR of the short ids of the sender's items in a small range: when
//                the sides differ by one object, the XOR of the two sketches is its short id,
//                so one difference is found without listing the range
//   Skip         nothing to do (fills the gaps between the ranges that need work)
// Which answer a side gives (how it splits, sketches or lists) is its own choice, made from
// the density of differences the frame shows; the peer answers any choice by the same rules.
// Processing a frame yields the reply ranges and what to push to the peer (objects the peer
// lacks): whole key ranges or single keys. A round needs an answer when it holds a
// Fingerprint, a Sketch, a Need (the id asked for may be no object's when a sketch misled)
// or a non-empty IdList; reconciliation is over after a round that needs none.
//
// Frames are processed independently and statelessly: the archive may grow between rounds
// (other sessions write to it), which can only make a side push an object twice or miss one
// that the closing fingerprint comparison then catches (docs/protocol.md, "Closing").
// Future-dated objects (docs/decisions/0005-future-dated-objects.md): with Tuning::horizon set,
// the keys beyond it are a tail of their own. The initiator's round 1 covers them with one
// range (a Fingerprint, or an empty IdList when it has none) apart from the rest, and keeps
// them out of the "newest" end (the finer split, the in-step IdList); either side that splits
// a range holding keys on both sides of its own horizon splits the two parts apart. The sync
// key is unchanged and a horizon is a local choice of where to split, so the two sides' clocks
// may disagree: the difference is still found exactly, only with more rounds.
// Threads: Reconciler is a value with no mutable state; one RangeIndex per thread.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/error.h"
#include "protocol/range_index.h"

namespace fieldsync::protocol {

inline constexpr std::size_t SALT_BYTES = 16;
inline constexpr std::size_t FINGERPRINT_BYTES = 6;
inline constexpr std::size_t SHORT_ID_BYTES = 5;

using Salt = std::array<std::uint8_t, SALT_BYTES>;
using FingerprintBytes = std::array<std::uint8_t, FINGERPRINT_BYTES>;
using ShortId = std::array<std::uint8_t, SHORT_ID_BYTES>;

/// The salted fingerprint of a range: keyed BLAKE2b of count and sum, truncated.
FingerprintBytes fingerprint(const Salt& salt, const RangeSum& sum);
/// The salted short id of an object: SipHash-2-4 of its id, truncated.
ShortId shortId(const Salt& salt, const ObjectId& id);

/// A range's upper bound: a key, or past every key.
struct Bound {
  SyncKey key;
  bool infinite = false;

  static Bound lowest() { return Bound{SyncKey{INT64_MIN, {}}, false}; }
  static Bound end() { return Bound{SyncKey{}, true}; }
  auto operator<=>(const Bound& other) const {
    if (infinite || other.infinite) return infinite <=> other.infinite;
    return key <=> other.key;
  }
  bool operator==(const Bound& other) const { return (*this <=> other) == 0; }
};

enum class RangeMode : std::uint8_t { Skip = 0, Fingerprint = 1, IdList = 2, Need = 3, Sketch = 4 };

/// One range of a frame: from the previous range's upper bound (or the frame's lower bound)
/// up to, not including, upper.
struct RangeEntry {
  Bound upper;
  RangeMode mode = RangeMode::Skip;
  FingerprintBytes fingerprint{};  // Fingerprint
  std::vector<ShortId> ids;        // IdList, Need
  std::uint64_t count = 0;         // Sketch
  ShortId sketch{};                // Sketch: XOR of the short ids
  bool operator==(const RangeEntry&) const = default;
};

struct Frame {
  Bound lower;
  std::vector<RangeEntry> ranges;
  bool operator==(const Frame&) const = default;
};

/// Knobs of the algorithm; both sides may differ (each decides how to split its own items).
struct Tuning {
  std::size_t leafItems = 24;       // a range this small is sent as an IdList
  std::size_t maxFanout = 128;      // sub-ranges per split
  std::uint32_t plannedRounds = 3;  // splitting rounds before IdLists, for the fan-out
  std::size_t maxFrameBytes = 256 * 1024;
  std::size_t maxIdListItems = 4096;  // an IdList never holds more; larger ranges split
  /// After round 1, a range found to differ is split into parts expected to hold about this
  /// many differences each: as Sketches where the range may be read whole (up to 2,048
  /// items, or dense), else as Fingerprints (docs/protocol.md, "How this implementation
  /// chooses").
  double sketchDifferences = 1.0;
  double fingerprintDifferences = 0.5;
  /// This node's horizon (protocol::horizonFor its clock): keys with a later signedAt are
  /// future-dated, kept apart as the tail. Unset: no tail (the order alone decides).
  std::optional<std::int64_t> horizon;
};

/// A key range whose objects are all to be pushed: [lower, upper).
struct KeyRange {
  Bound lower;
  Bound upper;
};

/// What processing frames produced: the reply and the objects to push.
struct Reply {
  std::vector<Frame> frames;  // reply ranges, Skip-free runs; encode with encodeFrames
  std::vector<KeyRange> pushRanges;
  std::vector<SyncKey> pushKeys;
  /// True when the reply holds a range that needs an answer (see needsAnswer(Frame)).
  bool needsAnswer() const;
};

/// True when frame holds a range that needs an answer: Fingerprint, Sketch, Need, non-empty IdList.
bool needsAnswer(const Frame& frame);

/// Why a peer's frame was refused.
struct FrameProblem {
  std::string detail;
};

/// Bounds on a frame from a peer.
struct FrameLimits {
  std::size_t maxFrameBytes = 1u << 20;
  std::size_t maxRanges = 65536;
  std::size_t maxIds = 1u << 18;  // short ids in one frame, over all ranges
};

/// Encodes ranges into frames of at most maxFrameBytes each (a frame holds at least one range).
std::vector<std::vector<std::uint8_t>> encodeFrames(const std::vector<Frame>& frames,
                                                    std::size_t maxFrameBytes);
std::vector<std::uint8_t> encodeFrame(const Frame& frame);
/// Decodes one frame; refuses anything malformed: truncated, bounds not increasing, an
/// unknown mode, more than limits allow.
Expected<Frame, FrameProblem> decodeFrame(std::span<const std::uint8_t> bytes,
                                          const FrameLimits& limits = {});

class Reconciler {
 public:
  explicit Reconciler(const Salt& salt, Tuning tuning = {}) : m_salt(salt), m_tuning(tuning) {}

  /// How the initiator opens.
  enum class Opening {
    /// Its whole set split into ranges, finer towards the newest keys (the usual difference
    /// is what arrived since the last session), ending with an IdList of the newest items.
    /// Then the future-dated tail as one range.
    Full,
    /// When nothing arrived here since the last session found both sides equal: one
    /// Fingerprint of everything but the newest few items, and their IdList, then the
    /// future-dated tail as one range. The peer's newer objects are still found at once;
    /// anything else costs a round trip more than Full.
    InStep,
  };
  /// Round 1, from the initiator.
  std::vector<Frame> initiate(const RangeIndex& index, Opening opening = Opening::Full) const;

  /// Processes the ranges of one received frame of round `round` (the peer's round number)
  /// against index; appends the reply (for round + 1) and the pushes to reply.
  void process(const Frame& frame, std::uint32_t round, const RangeIndex& index,
               Reply& reply) const;

  const Salt& salt() const { return m_salt; }

 private:
  /// What this side reads from a received frame before answering it: how dense the
  /// differences are there and whether objects lack on both sides (docs/protocol.md, "How this
  /// implementation chooses").
  struct Outlook {
    std::uint32_t replyRound = 0;
    bool late = false;        // replyRound is past the planned splitting rounds
    double density = 0;       // expected differences per item, in ranges like the frame's
    bool bothSides = false;   // its sketches show objects lacking on each side
    double mineSpread = 0;    // with both sides: objects only this side holds, per item
    double theirsSpread = 0;  // and only the peer holds
    /// In the last planned round with both sides: the part size whose Needs next round would
    /// rarely mislead (0: no estimate).
    double safePart = 0;
  };
  /// Round 1's split: the items [from, to) (ranks), lying in [lower, upper), in at most
  /// maxFanout ranges per level, planned to reach the leaves in levelsLeft rounds; finerAtEnd:
  /// the last range split again at each level.
  void split(std::uint64_t from, std::uint64_t to, const Bound& lower, const Bound& upper,
             std::uint32_t levelsLeft, bool finerAtEnd, std::size_t maxFanout,
             const RangeIndex& index, std::vector<RangeEntry>& out) const;
  /// The answer to a range [from, to) found to differ, holding at least minDifferences
  /// differences (peerHoldsMore: the peer holds more items there; density: differences per
  /// item around it): an IdList, or Sketches or Fingerprints of its parts, sized from these
  /// and the outlook. A range holding items on both sides of the horizon (tailFrom: the rank
  /// of the first future-dated item) is answered as two parts; the range ending with the
  /// newest items is split as round 1 splits. keys: the range's keys when already read.
  void answerDiffering(std::uint64_t from, std::uint64_t to, const Bound& lower, const Bound& upper,
                       double minDifferences, bool peerHoldsMore, double density,
                       std::uint64_t tailFrom, const Outlook& outlook, const RangeIndex& index,
                       const std::vector<SyncKey>* keys, std::vector<RangeEntry>& out) const;
  /// answerDiffering for a range on one side of the horizon.
  void divide(std::uint64_t from, std::uint64_t to, const Bound& upper, double minDifferences,
              bool peerHoldsMore, double density, const Outlook& outlook, const RangeIndex& index,
              const std::vector<SyncKey>* keys, std::vector<RangeEntry>& out) const;
  /// The rank of the first future-dated item of index (its size when there is no horizon).
  std::uint64_t tailFrom(const RangeIndex& index) const;
  RangeEntry idList(std::uint64_t from, std::uint64_t to, const Bound& upper,
                    const RangeIndex& index) const;
  RangeEntry fingerprintEntry(std::uint64_t from, std::uint64_t to, const Bound& upper,
                              const RangeIndex& index) const;

  Salt m_salt;
  Tuning m_tuning;
};

/// The smallest bound that is above `before` and at most `at`: a key with the same signedAt
/// as `at` and the shortest id prefix that tells them apart. Precondition: before < at.
Bound separator(const SyncKey& before, const SyncKey& at);

}  // namespace fieldsync::protocol
