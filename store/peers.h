#pragma once
// The peers of this node: the nodes it syncs with, each named by a short name and by its
// Ed25519 public key, with the ZeroMQ address to reach it and what sync last made of it.
// Kept in the archive's `peers` database (name -> record, see encodePeer); local settings,
// never synced. Names are unique and so are keys: a key names one peer.
//
// Threads and lifetime: as the archive's transactions (store/archive.h). Every function
// returns copies, never views into the map.
// Errors: absence is std::optional; refused input (bad name, address or key, a name or key
// already listed) is Expected<..., PeerProblem>; LMDB failures and a damaged record throw
// fieldsync::Error.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/error.h"
#include "protocol/keys.h"
#include "store/archive.h"

namespace fieldsync::store {

inline constexpr std::size_t MAX_PEER_NAME = 64;
inline constexpr std::size_t MAX_PEER_ADDRESS = 255;  // tcp://, a DNS name (253), :port
inline constexpr std::size_t MAX_PEER_ERROR = 1024;   // lastError is cut to this many bytes

/// What sync and gossip remember about a peer. Times are unix seconds, 0 for never. The
/// totals add up every session; roundTrips is the last session's.
struct PeerState {
  std::int64_t lastSuccess = 0;  // the last session that ended well
  std::int64_t lastAttempt = 0;  // the last session begun, whatever came of it
  std::string lastError;         // why the last failed session failed; empty: none
  std::int64_t lastErrorAt = 0;
  std::int64_t nextAttempt = 0;  // when gossip may try again (back-off); 0: any time
  std::int64_t inStepAt = 0;     // the last session that found both archives equal
  std::uint64_t inStepSeq = 0;   // this archive's lastSeq() at inStepAt
  std::uint64_t objectsIn = 0;
  std::uint64_t objectsOut = 0;
  std::uint64_t bytesIn = 0;
  std::uint64_t bytesOut = 0;
  std::uint32_t roundTrips = 0;

  bool neverSynced() const { return lastSuccess == 0; }
  bool operator==(const PeerState&) const = default;
};

struct PeerRecord {
  std::string name;     // 1 to 64 of [A-Za-z0-9._-]
  std::string address;  // a ZeroMQ endpoint: tcp://host:port
  protocol::PublicKey key;
  PeerState state;
  bool operator==(const PeerRecord&) const = default;
};

struct PeerProblem {
  enum Kind {
    BadName,     // not 1-64 of [A-Za-z0-9._-]
    BadAddress,  // not tcp://host:port with a port of 1-65535
    BadKey,      // not a usable Ed25519 public key (no CurveZMQ form)
    NameTaken,   // another peer has this name (and replacing was not asked for)
    KeyTaken,    // another peer, under another name, has this key
  } kind;
  std::string message;  // one sentence for people, naming the value and what is expected
};

/// Why name cannot name a peer; empty when it can.
[[nodiscard]] std::optional<PeerProblem> checkPeerName(std::string_view name);
/// Why address is not one fieldsync connects to; empty when it is. Accepted: tcp://HOST:PORT,
/// HOST a DNS name, an IPv4 address or an IPv6 address in brackets, PORT 1 to 65535.
[[nodiscard]] std::optional<PeerProblem> checkPeerAddress(std::string_view address);

// --- Reading --------------------------------------------------------------------------------

/// Every peer, by name.
std::vector<PeerRecord> listPeers(const ReadTxn& txn);
std::optional<PeerRecord> findPeer(const ReadTxn& txn, std::string_view name);
/// The peer with this key. Peer lists are short (dozens): this walks them.
std::optional<PeerRecord> findPeerByKey(const ReadTxn& txn, const protocol::PublicKey& key);

// --- Writing, inside Archive::write ---------------------------------------------------------

enum class IfNameListed { Refuse, Replace };
enum class PeerPut { Added, Replaced };

/// Adds record, or with IfNameListed::Replace replaces the peer of that name (address, key and
/// state: as given). Refuses a bad name, address or key, and a key another name holds.
[[nodiscard]] Expected<PeerPut, PeerProblem> putPeer(WriteTxn& txn, const PeerRecord& record,
                                                     IfNameListed ifListed);
/// Removes the peer; false when there is none of that name.
[[nodiscard]] bool removePeer(WriteTxn& txn, std::string_view name);
/// Changes the state of the peer with key in place (read, change, write in this batch); false
/// when there is no such peer. lastError is cut to MAX_PEER_ERROR bytes.
[[nodiscard]] bool updatePeerState(WriteTxn& txn, const protocol::PublicKey& key,
                                   const std::function<void(PeerState&)>& change);

// --- The stored form ------------------------------------------------------------------------
// Version byte 1; the key (32 bytes); the address and lastError, each a 2-byte big-endian
// length and the bytes; then the state's numbers, 8 bytes big-endian each (roundTrips too).
// The name is the database key, not part of the value.

std::vector<std::uint8_t> encodePeer(const PeerRecord& record);
/// The record named name from its stored bytes; empty when the bytes are not a record this
/// version wrote (wrong version, truncated, trailing bytes, a bad address or key).
[[nodiscard]] std::optional<PeerRecord> decodePeer(std::string_view name,
                                                   std::span<const std::uint8_t> bytes);

}  // namespace fieldsync::store
