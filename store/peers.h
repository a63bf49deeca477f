#pragma once
// The peers of this node: the nodes it syncs with, each named by a short name and by its
// Ed25519 public key, with the ZeroMQ address to reach it (none for a partner reached only by
// USB stick) and what sync last made of it.
// Kept in the archive's `peers` database (name -> record, see encodePeer); local settings,
// never synced. Names are unique and so are keys: a key names one peer. Besides where a peer
// is, the record holds how gossip treats it (PeerSettings, set by people) and what gossip
// remembers of it (PeerState), including the bytes counted against its daily budget. What a
// peer's latest stick (a bundle with a holdings block, protocol/bundle.h) said it holds is kept
// beside its record, in meta (see recordStick), and goes with it when it is removed.
//
// Threads and lifetime: as the archive's transactions (store/archive.h). Every function
// returns copies, never views into the map.
// Errors: absence is std::optional; refused input (bad name, address, key or setting, a name
// or key already listed) is Expected<..., PeerProblem>; LMDB failures and a damaged record
// throw fieldsync::Error.
// Time: functions that depend on the day take `now` (unix seconds) from the caller, so tests
// and the daemon decide what the clock says. Days are UTC days.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/bundle.h"
#include "protocol/error.h"
#include "protocol/keys.h"
#include "store/archive.h"

namespace fieldsync::store {

inline constexpr std::size_t MAX_PEER_NAME = 64;
inline constexpr std::size_t MAX_PEER_ADDRESS = 255;  // tcp://, a DNS name (253), :port
inline constexpr std::size_t MAX_PEER_ERROR = 1024;   // lastError is cut to this many bytes
                                                      // (and refusedReason too)

inline constexpr std::int64_t DEFAULT_PEER_INTERVAL = 300;      // seconds: 5 minutes
inline constexpr std::int64_t DEFAULT_PEER_MAX_BACKOFF = 3600;  // seconds: 1 hour
inline constexpr std::int64_t MIN_PEER_PERIOD = 1;              // interval and maxBackoff
inline constexpr std::int64_t MAX_PEER_PERIOD = 30 * 86400;     // 30 days
inline constexpr std::uint64_t MAX_PEER_RATE = 1'000'000'000;   // 1 GB/s; 0 is unlimited
inline constexpr std::uint64_t MAX_PEER_DAILY_BUDGET = 1'000'000'000'000'000;  // 1 PB
inline constexpr std::int64_t SECONDS_PER_DAY = 86400;
/// A peer that sent something invalid is refused for FIRST_REFUSAL seconds, four times as long
/// for each refusal since it was last forgiven, at most MAX_REFUSAL (see refusalPeriod).
inline constexpr std::int64_t FIRST_REFUSAL = 600;      // 10 minutes
inline constexpr std::int64_t MAX_REFUSAL = 7 * 86400;  // 7 days

/// How gossip treats a peer: local settings people choose (`fieldsync peers set`), read by the
/// daemon at each session. Checked by checkPeerSettings; every record stored satisfies it.
struct PeerSettings {
  /// Seconds between anti-entropy sessions with this peer (the daemon adds jitter).
  std::int64_t interval = DEFAULT_PEER_INTERVAL;
  /// The longest wait, in seconds, that the exponential back-off after failures in a row
  /// reaches; a success resets the back-off.
  std::int64_t maxBackoff = DEFAULT_PEER_MAX_BACKOFF;
  /// Bytes per second on this link, each way; 0: unlimited.
  std::uint64_t rate = 0;
  /// Bytes per UTC day, both directions together; 0: unlimited.
  std::uint64_t dailyBudget = 0;
  bool operator==(const PeerSettings&) const = default;
};

/// What sync and gossip remember about a peer. Times are unix seconds, 0 for never. The
/// totals add up every session; roundTrips is the last session's.
struct PeerState {
  std::int64_t lastSuccess = 0;  // the last session that ended well
  std::int64_t lastAttempt = 0;  // the last session begun, whatever came of it
  std::string lastError{};       // why the last failed session failed; empty: none
  std::int64_t lastErrorAt = 0;
  std::int64_t nextAttempt = 0;  // when gossip may try again (back-off); 0: any time
  std::int64_t inStepAt = 0;     // the last session that found both archives equal
  std::uint64_t inStepSeq = 0;   // this archive's lastSeq() at inStepAt
  std::uint64_t objectsIn = 0;
  std::uint64_t objectsOut = 0;
  std::uint64_t bytesIn = 0;
  std::uint64_t bytesOut = 0;
  std::uint32_t roundTrips = 0;
  std::uint32_t failures = 0;    // sessions in a row that failed: the back-off's exponent
  std::int64_t budgetDay = 0;    // the UTC day (days since 1970-01-01) budgetUsed counts
  std::uint64_t budgetUsed = 0;  // bytes both ways on budgetDay: see countTraffic
  /// The penalty for misbehaviour (see refusePeer): until this time the peer is neither
  /// admitted nor dialed; 0: never refused, or forgiven.
  std::int64_t refusedUntil = 0;
  std::string refusedReason{};  // what it sent: "object 3: bad signature"
  std::uint32_t refusals = 0;   // refusals since it was last forgiven: the escalation's exponent
  /// When the peer wrote its latest stick whose holdings were recorded (recordStick), by the
  /// peer's clock; 0: none. What it held then is peerHoldings().
  std::int64_t stickAt = 0;

  bool neverSynced() const { return lastSuccess == 0; }
  /// The peer is refused at now (a penalty runs).
  bool refusedAt(std::int64_t now) const { return refusedUntil > now; }
  bool operator==(const PeerState&) const = default;
};

struct PeerRecord {
  std::string name;     // 1 to 64 of [A-Za-z0-9._-]
  std::string address;  // a ZeroMQ endpoint, tcp://host:port; empty: stick only
  protocol::PublicKey key;
  PeerState state;
  PeerSettings settings;
  /// A partner reached only by USB stick (bundles): nobody dials it; it may still dial us.
  bool stickOnly() const { return address.empty(); }
  bool operator==(const PeerRecord&) const = default;
};

struct PeerProblem {
  enum Kind {
    BadName,     // not 1-64 of [A-Za-z0-9._-]
    BadAddress,  // not tcp://host:port with a port of 1-65535
    BadKey,      // not a usable Ed25519 public key (no CurveZMQ form)
    NameTaken,   // another peer has this name (and replacing was not asked for)
    KeyTaken,    // another peer, under another name, has this key
    BadSetting,  // a PeerSettings value out of its range
    NotListed,   // no peer has this name
  } kind;
  std::string message;  // one sentence for people, naming the value and what is expected
};

/// Why name cannot name a peer; empty when it can.
[[nodiscard]] std::optional<PeerProblem> checkPeerName(std::string_view name);
/// Why address is not one fieldsync connects to; empty when it is. Accepted: tcp://HOST:PORT,
/// HOST a DNS name, an IPv4 address or an IPv6 address in brackets, PORT 1 to 65535. The empty
/// address is refused here too: a record may have none (stick only), an address may not be
/// empty.
[[nodiscard]] std::optional<PeerProblem> checkPeerAddress(std::string_view address);

/// Why settings are not ones gossip can follow; empty when they are. interval and maxBackoff:
/// MIN_PEER_PERIOD to MAX_PEER_PERIOD seconds; rate at most MAX_PEER_RATE; dailyBudget at most
/// MAX_PEER_DAILY_BUDGET.
[[nodiscard]] std::optional<PeerProblem> checkPeerSettings(const PeerSettings& settings);

// --- The daily budget -----------------------------------------------------------------------
// Pure functions of a record and the time, so the daemon can count inside the write that
// records a session (updatePeerState) and decide from a record it already holds.

/// The UTC day of a unix time: days since 1970-01-01 (floor, so also right before 1970).
[[nodiscard]] std::int64_t utcDay(std::int64_t unixSeconds);
/// When the UTC day after the one of now begins (unix seconds): when a spent budget refills.
[[nodiscard]] std::int64_t nextUtcDayStart(std::int64_t now);
/// Bytes counted on the UTC day of now; 0 when the count is of an earlier day.
[[nodiscard]] std::uint64_t budgetUsedToday(const PeerState& state, std::int64_t now);
/// Bytes the daily budget still allows on the UTC day of now (0 once it is spent or overrun);
/// empty when the peer has no budget (dailyBudget 0: unlimited).
[[nodiscard]] std::optional<std::uint64_t> budgetLeftToday(const PeerRecord& peer,
                                                           std::int64_t now);
/// Counts bytes (either direction) against the day of now: starts a new count when the stored
/// one is of another day. Counts whether or not the peer has a budget, so setting one later
/// knows today's use. The count saturates instead of wrapping.
void countTraffic(PeerState& state, std::uint64_t bytes, std::int64_t now);

// --- The penalty for misbehaviour -----------------------------------------------------------
// Only what the peer's own authenticated sessions sent counts (a session under its key,
// admitted by CurveZMQ): nobody else can get a peer refused. Lifted by forgivePeer
// (`fieldsync peers forgive NAME`) or when refusedUntil passes; the count stays until forgiven,
// so a peer that misbehaves again after its refusal ends is refused four times as long.

/// How long the count-th refusal lasts: FIRST_REFUSAL * 4^(count-1), at most MAX_REFUSAL.
[[nodiscard]] std::int64_t refusalPeriod(std::uint32_t count);
/// Records misbehaviour in state at now: when no refusal runs, counts one more and refuses
/// until now + refusalPeriod(count); while one runs, changes nothing (the sessions it had open
/// when it began are one offence). Returns whether a new refusal began.
bool refuse(PeerState& state, std::string reason, std::int64_t now);
/// "refused until 2026-11-28T01:20:00Z: object 3: bad signature" (UTC), for logs, `status`
/// and `peers list`; control characters in the reason (it is the peer's doing) become spaces.
[[nodiscard]] std::string describeRefusal(const PeerState& state);

// --- Reading --------------------------------------------------------------------------------

/// Every peer, by name.
std::vector<PeerRecord> listPeers(const ReadTxn& txn);
std::optional<PeerRecord> findPeer(const ReadTxn& txn, std::string_view name);
/// The peer with this key. Peer lists are short (dozens): this walks them.
std::optional<PeerRecord> findPeerByKey(const ReadTxn& txn, const protocol::PublicKey& key);

// --- Writing, inside Archive::write ---------------------------------------------------------

enum class IfNameListed { Refuse, Replace };
enum class PeerPut { Added, Replaced };

/// Adds record, or with IfNameListed::Replace replaces the peer of that name (address, key,
/// settings and state: as given; a replaced key's stick holdings are removed). Refuses a bad
/// name, address (empty is none: stick only), key or setting, and a key another name holds.
[[nodiscard]] Expected<PeerPut, PeerProblem> putPeer(WriteTxn& txn, const PeerRecord& record,
                                                     IfNameListed ifListed);
/// Removes the peer and its stick holdings; false when there is none of that name.
[[nodiscard]] bool removePeer(WriteTxn& txn, std::string_view name);
/// Changes the state of the peer with key in place (read, change, write in this batch); false
/// when there is no such peer. lastError is cut to MAX_PEER_ERROR bytes.
[[nodiscard]] bool updatePeerState(WriteTxn& txn, const protocol::PublicKey& key,
                                   const std::function<void(PeerState&)>& change);
/// refuse() on the stored record of the peer with key, in this batch; empty when there is no
/// such peer, else whether a new refusal began.
[[nodiscard]] std::optional<bool> refusePeer(WriteTxn& txn, const protocol::PublicKey& key,
                                             const std::string& reason, std::int64_t now);
/// Lifts the penalty of the peer named name and forgets its count of refusals; returns the
/// record as stored. NotListed when there is no such peer.
[[nodiscard]] Expected<PeerRecord, PeerProblem> forgivePeer(WriteTxn& txn, std::string_view name);
/// countTraffic on the stored record of the peer with key, in this batch; false when there is
/// no such peer.
[[nodiscard]] bool addPeerTraffic(WriteTxn& txn, const protocol::PublicKey& key,
                                  std::uint64_t bytes, std::int64_t now);
/// Changes the settings of the peer named name in place (read, change, check, write in this
/// batch) and leaves the rest of its record alone; returns the record as stored. NotListed
/// when there is no such peer, BadSetting (nothing written) when the changed settings fail
/// checkPeerSettings.
[[nodiscard]] Expected<PeerRecord, PeerProblem> updatePeerSettings(
    WriteTxn& txn, std::string_view name, const std::function<void(PeerSettings&)>& change);

/// Sets the address of the peer named name in place, leaving the rest of its record alone;
/// empty: none (stick only). Returns the record as stored. NotListed when there is no such
/// peer, BadAddress (nothing written) for an address checkPeerAddress refuses.
[[nodiscard]] Expected<PeerRecord, PeerProblem> setPeerAddress(WriteTxn& txn, std::string_view name,
                                                               std::string_view address);

// --- Sticks: what a peer's bundles say it holds ---------------------------------------------
// A bundle may carry its writer's holdings (protocol/bundle.h), signed by the writer. Importing
// one whose writer is a listed peer records them, so the next `bundle export --for PEER` leaves
// out what the peer holds. Kept in meta under stickHoldingsKey (version byte 1, the stick's time
// as 8 bytes big-endian, then the 16-byte ids in ascending order): one value per peer,
// replaced by each newer stick, removed with the peer; at most BundleLimits::maxHeldIds ids.

/// The meta key of the holdings of the peer with key: "peers.holdings." and the key's hex.
[[nodiscard]] std::string stickHoldingsKey(const protocol::PublicKey& key);
/// What the latest recorded stick of the peer with key said it holds; empty when none was
/// recorded. Throws Error when the stored value is damaged.
[[nodiscard]] std::optional<protocol::Holdings> peerHoldings(const ReadTxn& txn,
                                                             const protocol::PublicKey& key);

struct StickOutcome {
  enum Kind {
    Recorded,   // the peer's stickAt and holdings are now these
    Older,      // a stick written before the one recorded: nothing changed
    NotListed,  // the writer is no peer of this node: nothing written
  } kind;
  std::string peer;             // the peer's name, for Recorded and Older
  std::int64_t recordedAt = 0;  // the peer's stickAt after the call
};
/// Records holdings that decodeHoldings accepted (so they are the writer's own word) for the
/// listed peer whose key wrote them, in this batch: its PeerState::stickAt and its ids,
/// replacing those of a stick of the same time or older.
[[nodiscard]] StickOutcome recordStick(WriteTxn& txn, const protocol::Holdings& holdings);

// --- The stored form ------------------------------------------------------------------------
// Version byte 3; the key (32 bytes); the address and lastError, each a 2-byte big-endian
// length and the bytes; then numbers, 8 bytes big-endian each (two's complement for the
// signed ones):
//   lastSuccess lastAttempt lastErrorAt nextAttempt inStepAt inStepSeq
//   objectsIn objectsOut bytesIn bytesOut roundTrips                 (version 1 ends here)
//   failures budgetDay budgetUsed interval maxBackoff rate dailyBudget (version 2 ends here)
//   refusedUntil refusals, then refusedReason as a 2-byte length and the bytes
//                                                                  (version 3 ends here)
//   stickAt
// An empty address is a stick-only peer. Versions 1 (before per-peer settings), 2 (before
// penalties) and 3 (before sticks) are read too, with the defaults of what they lack
// (PeerSettings{}, zero counts, never refused, no stick); every write stores version 4. The
// name is the database key, not part of the value.

inline constexpr std::uint8_t PEER_RECORD_VERSION = 4;

std::vector<std::uint8_t> encodePeer(const PeerRecord& record);
/// The record named name from its stored bytes, version 1 to 4; empty when the bytes are not
/// a record (unknown version, truncated, trailing bytes, a bad address, key or setting).
[[nodiscard]] std::optional<PeerRecord> decodePeer(std::string_view name,
                                                   std::span<const std::uint8_t> bytes);

}  // namespace fieldsync::store
