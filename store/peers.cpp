#include "store/peers.h"

#include <lmdb.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "store/lmdb.h"
#include "store/peers_access.h"

namespace fieldsync::store {
namespace {

constexpr std::uint8_t RECORD_VERSION_1 = 1;  // before per-peer settings: read, never written
constexpr std::uint8_t RECORD_VERSION_2 = 2;  // before penalties: read, never written
constexpr std::uint8_t RECORD_VERSION_3 = 3;  // before sticks: read, never written
constexpr std::size_t NUMBERS = 21;           // 8-byte numbers in version 4

constexpr std::uint8_t HOLDINGS_VALUE_VERSION = 1;  // the stored form of a peer's holdings
constexpr std::size_t HOLDINGS_VALUE_HEADER = 9;    // version byte, stickAt

PeerProblem problem(PeerProblem::Kind kind, std::string message) {
  return PeerProblem{kind, std::move(message)};
}

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

/// A DNS name or an IPv4 address: labels of [A-Za-z0-9-], joined by single dots.
bool isHostName(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.back() == '.') return false;
  for (std::size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || (c == '.' && host[i - 1] != '.');
    if (!ok) return false;
  }
  return true;
}

/// The inside of [...]: hex digits, colons, and dots for an embedded IPv4 address.
bool isIpv6(std::string_view host) {
  if (host.size() < 2 || host.size() > 45) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
  });
}

bool isPort(std::string_view text) {
  if (text.empty() || text.size() > 5 || text.front() == '0') return false;
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc() && end == text.data() + text.size() && port >= 1 && port <= 65535;
}

// --- The stored form -------------------------------------------------------------------------

void putNumber(std::vector<std::uint8_t>& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(value >> shift));
}

void putText(std::vector<std::uint8_t>& out, std::string_view text) {
  const std::size_t size = std::min<std::size_t>(text.size(), 0xffff);
  out.push_back(static_cast<std::uint8_t>(size >> 8));
  out.push_back(static_cast<std::uint8_t>(size & 0xff));
  out.insert(out.end(), text.begin(), text.begin() + static_cast<std::ptrdiff_t>(size));
}

/// Reads the stored form front to back; every read fails once one has run past the end.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : m_bytes(bytes) {}
  bool ok() const { return m_ok; }
  bool atEnd() const { return m_at == m_bytes.size(); }

  std::span<const std::uint8_t> take(std::size_t size) {
    if (!m_ok || m_bytes.size() - m_at < size) {
      m_ok = false;
      return {};
    }
    auto out = m_bytes.subspan(m_at, size);
    m_at += size;
    return out;
  }
  std::uint64_t number(std::size_t size = 8) {
    std::uint64_t value = 0;
    for (std::uint8_t b : take(size)) value = value << 8 | b;
    return value;
  }
  std::string text() {
    auto bytes = take(static_cast<std::size_t>(number(2)));
    return std::string(bytes.begin(), bytes.end());
  }

 private:
  std::span<const std::uint8_t> m_bytes;
  std::size_t m_at = 0;
  bool m_ok = true;
};

std::optional<PeerRecord> readPeer(MDB_txn* txn, MDB_dbi dbi, std::string_view name) {
  if (name.empty() || name.size() > MAX_PEER_NAME) return std::nullopt;  // never a key there
  MDB_val key = lmdb::val(name);
  MDB_val data{};
  const int rc = ::mdb_get(txn, dbi, &key, &data);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  lmdb::check(rc, "mdb_get(peers)");
  auto record = decodePeer(name, lmdb::bytes(data));
  if (!record)
    throw Error("the peers database is damaged: the record of \"" + std::string(name) + "\"");
  return record;
}

std::vector<PeerRecord> readPeers(MDB_txn* txn, MDB_dbi dbi) {
  std::vector<PeerRecord> out;
  lmdb::Cursor cursor(txn, dbi, "peers");
  MDB_val key{}, data{};
  for (bool more = cursor.get(key, data, MDB_FIRST); more; more = cursor.get(key, data, MDB_NEXT)) {
    const std::string_view name = lmdb::text(key);
    auto record = decodePeer(name, lmdb::bytes(data));
    if (!record)
      throw Error("the peers database is damaged: the record of \"" + std::string(name) + "\"");
    out.push_back(std::move(*record));
  }
  return out;
}

/// A text cut to MAX_PEER_ERROR bytes, at a UTF-8 character boundary.
void cutError(std::string& text) {
  if (text.size() <= MAX_PEER_ERROR) return;
  std::size_t size = MAX_PEER_ERROR;
  while (size > 0 && (static_cast<unsigned char>(text[size]) & 0xc0) == 0x80) --size;
  text.resize(size);
}

void writePeer(WriteTxn& txn, PeerRecord record) {
  cutError(record.state.lastError);
  cutError(record.state.refusedReason);
  const auto bytes = encodePeer(record);
  PeersAccess::put(txn, lmdb::val(record.name), lmdb::val(bytes));
}

/// Forgets the stick holdings of the peer with key, if any were recorded.
void removeHoldings(WriteTxn& txn, const protocol::PublicKey& key) {
  const std::string name = stickHoldingsKey(key);
  MDB_val k = lmdb::val(name);
  const int rc = ::mdb_del(PeersAccess::txn(txn), PeersAccess::metaDbi(txn), &k, nullptr);
  if (rc != MDB_NOTFOUND) lmdb::check(rc, "mdb_del(meta)");
}

}  // namespace

std::optional<PeerProblem> checkPeerName(std::string_view name) {
  if (name.empty() || name.size() > MAX_PEER_NAME ||
      !std::all_of(name.begin(), name.end(), isNameChar))
    return problem(PeerProblem::BadName,
                   "not a peer name: \"" + std::string(name) +
                       "\" (1 to 64 letters, digits, dots, dashes or underscores)");
  return std::nullopt;
}

std::optional<PeerProblem> checkPeerAddress(std::string_view address) {
  auto bad = [&] {
    return problem(PeerProblem::BadAddress,
                   "not a peer address: \"" + std::string(address) +
                       "\" (expected tcp://HOST:PORT, for example tcp://192.0.2.7:7200, with a "
                       "port of 1 to 65535)");
  };
  constexpr std::string_view SCHEME = "tcp://";
  if (address.size() > MAX_PEER_ADDRESS || !address.starts_with(SCHEME)) return bad();
  std::string_view rest = address.substr(SCHEME.size());
  std::string_view host, port;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return bad();
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
    if (!isIpv6(host)) return bad();
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad();
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (!isHostName(host)) return bad();
  }
  if (!isPort(port)) return bad();
  return std::nullopt;
}

std::optional<PeerProblem> checkPeerSettings(const PeerSettings& settings) {
  auto period = [](std::string_view what, std::int64_t seconds) -> std::optional<PeerProblem> {
    if (seconds >= MIN_PEER_PERIOD && seconds <= MAX_PEER_PERIOD) return std::nullopt;
    return problem(PeerProblem::BadSetting, std::string(what) + " of " + std::to_string(seconds) +
                                                " s is out of range (1 second to 30 days)");
  };
  if (auto bad = period("an interval", settings.interval)) return bad;
  if (auto bad = period("a maximum back-off", settings.maxBackoff)) return bad;
  if (settings.rate > MAX_PEER_RATE)
    return problem(PeerProblem::BadSetting,
                   "a rate of " + std::to_string(settings.rate) +
                       " bytes per second is out of range (at most 1G; 0 is unlimited)");
  if (settings.dailyBudget > MAX_PEER_DAILY_BUDGET)
    return problem(PeerProblem::BadSetting,
                   "a daily budget of " + std::to_string(settings.dailyBudget) +
                       " bytes is out of range (at most 1000T; 0 is unlimited)");
  return std::nullopt;
}

std::int64_t utcDay(std::int64_t unixSeconds) {
  const std::int64_t day = unixSeconds / SECONDS_PER_DAY;
  return unixSeconds % SECONDS_PER_DAY < 0 ? day - 1 : day;
}

std::int64_t nextUtcDayStart(std::int64_t now) { return (utcDay(now) + 1) * SECONDS_PER_DAY; }

std::uint64_t budgetUsedToday(const PeerState& state, std::int64_t now) {
  return state.budgetDay == utcDay(now) ? state.budgetUsed : 0;
}

std::optional<std::uint64_t> budgetLeftToday(const PeerRecord& peer, std::int64_t now) {
  const std::uint64_t budget = peer.settings.dailyBudget;
  if (budget == 0) return std::nullopt;
  const std::uint64_t used = budgetUsedToday(peer.state, now);
  return used >= budget ? 0 : budget - used;
}

void countTraffic(PeerState& state, std::uint64_t bytes, std::int64_t now) {
  const std::int64_t today = utcDay(now);
  if (state.budgetDay != today) {
    state.budgetDay = today;
    state.budgetUsed = 0;
  }
  state.budgetUsed = bytes > UINT64_MAX - state.budgetUsed ? UINT64_MAX : state.budgetUsed + bytes;
}

std::int64_t refusalPeriod(std::uint32_t count) {
  std::int64_t period = FIRST_REFUSAL;
  for (std::uint32_t i = 1; i < count && period < MAX_REFUSAL; ++i) period *= 4;
  return std::min(period, MAX_REFUSAL);
}

bool refuse(PeerState& state, std::string reason, std::int64_t now) {
  if (state.refusedAt(now)) return false;
  if (state.refusals < UINT32_MAX) ++state.refusals;
  state.refusedUntil = now + refusalPeriod(state.refusals);
  state.refusedReason = std::move(reason);
  cutError(state.refusedReason);
  return true;
}

std::string describeRefusal(const PeerState& state) {
  const auto seconds = static_cast<std::time_t>(state.refusedUntil);
  std::tm utc{};
  char when[32] = "?";
  if (::gmtime_r(&seconds, &utc) != nullptr)
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
  std::string reason = state.refusedReason;
  for (char& c : reason)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return std::string("refused until ") + when + ": " + reason;
}

std::vector<std::uint8_t> encodePeer(const PeerRecord& record) {
  std::vector<std::uint8_t> out;
  out.reserve(1 + protocol::PUBLIC_KEY_BYTES + 6 + record.address.size() +
              record.state.lastError.size() + record.state.refusedReason.size() + 8 * NUMBERS);
  out.push_back(PEER_RECORD_VERSION);
  out.insert(out.end(), record.key.bytes.begin(), record.key.bytes.end());
  putText(out, record.address);
  putText(out, record.state.lastError);
  const PeerState& s = record.state;
  const PeerSettings& p = record.settings;
  auto u = [](std::int64_t n) { return static_cast<std::uint64_t>(n); };
  for (std::uint64_t n : {u(s.lastSuccess),
                          u(s.lastAttempt),
                          u(s.lastErrorAt),
                          u(s.nextAttempt),
                          u(s.inStepAt),
                          s.inStepSeq,
                          s.objectsIn,
                          s.objectsOut,
                          s.bytesIn,
                          s.bytesOut,
                          std::uint64_t{s.roundTrips},
                          std::uint64_t{s.failures},
                          u(s.budgetDay),
                          s.budgetUsed,
                          u(p.interval),
                          u(p.maxBackoff),
                          p.rate,
                          p.dailyBudget,
                          u(s.refusedUntil),
                          std::uint64_t{s.refusals}})
    putNumber(out, n);
  putText(out, s.refusedReason);
  putNumber(out, u(s.stickAt));
  return out;
}

std::optional<PeerRecord> decodePeer(std::string_view name, std::span<const std::uint8_t> bytes) {
  Reader in(bytes);
  const auto version = in.number(1);
  if (version < RECORD_VERSION_1 || version > PEER_RECORD_VERSION) return std::nullopt;
  PeerRecord record;
  record.name = name;
  auto key = in.take(protocol::PUBLIC_KEY_BYTES);
  if (!in.ok()) return std::nullopt;
  std::copy(key.begin(), key.end(), record.key.bytes.begin());
  record.address = in.text();
  PeerState& s = record.state;
  s.lastError = in.text();
  auto time = [&] { return static_cast<std::int64_t>(in.number()); };
  s.lastSuccess = time();
  s.lastAttempt = time();
  s.lastErrorAt = time();
  s.nextAttempt = time();
  s.inStepAt = time();
  s.inStepSeq = in.number();
  s.objectsIn = in.number();
  s.objectsOut = in.number();
  s.bytesIn = in.number();
  s.bytesOut = in.number();
  const std::uint64_t roundTrips = in.number();
  std::uint64_t failures = 0, refusals = 0;
  if (version >= RECORD_VERSION_2) {
    failures = in.number();
    s.budgetDay = time();
    s.budgetUsed = in.number();
    PeerSettings& p = record.settings;
    p.interval = time();
    p.maxBackoff = time();
    p.rate = in.number();
    p.dailyBudget = in.number();
  }
  if (version >= RECORD_VERSION_3) {
    s.refusedUntil = time();
    refusals = in.number();
    s.refusedReason = in.text();
  }
  if (version >= PEER_RECORD_VERSION) s.stickAt = time();
  if (!in.ok() || !in.atEnd() || roundTrips > UINT32_MAX || failures > UINT32_MAX ||
      refusals > UINT32_MAX)
    return std::nullopt;
  s.roundTrips = static_cast<std::uint32_t>(roundTrips);
  s.failures = static_cast<std::uint32_t>(failures);
  s.refusals = static_cast<std::uint32_t>(refusals);
  if (checkPeerName(name) || (!record.address.empty() && checkPeerAddress(record.address)) ||
      !protocol::toCurve(record.key) || checkPeerSettings(record.settings))
    return std::nullopt;
  return record;
}

std::vector<PeerRecord> listPeers(const ReadTxn& txn) {
  return readPeers(PeersAccess::txn(txn), PeersAccess::dbi(txn));
}

std::optional<PeerRecord> findPeer(const ReadTxn& txn, std::string_view name) {
  return readPeer(PeersAccess::txn(txn), PeersAccess::dbi(txn), name);
}

std::optional<PeerRecord> findPeerByKey(const ReadTxn& txn, const protocol::PublicKey& key) {
  for (auto& peer : listPeers(txn))
    if (peer.key == key) return std::move(peer);
  return std::nullopt;
}

Expected<PeerPut, PeerProblem> putPeer(WriteTxn& txn, const PeerRecord& record,
                                       IfNameListed ifListed) {
  if (auto bad = checkPeerName(record.name)) return std::move(*bad);
  if (!record.address.empty())
    if (auto bad = checkPeerAddress(record.address)) return std::move(*bad);
  if (auto bad = checkPeerSettings(record.settings)) return std::move(*bad);
  if (!protocol::toCurve(record.key))
    return problem(PeerProblem::BadKey, "not a usable public key: " + record.key.hex() +
                                            " (not a point of Ed25519, so no peer holds it)");
  MDB_txn* raw = PeersAccess::txn(txn);
  const MDB_dbi dbi = PeersAccess::dbi(txn);
  const auto before = readPeer(raw, dbi, record.name);
  const bool listed = before.has_value();
  if (listed && ifListed == IfNameListed::Refuse)
    return problem(PeerProblem::NameTaken, "there is already a peer named \"" + record.name +
                                               "\" (remove it first, or choose another name)");
  for (const auto& other : readPeers(raw, dbi)) {
    if (other.key == record.key && other.name != record.name)
      return problem(PeerProblem::KeyTaken, "key " + record.key.hex() +
                                                " is already listed as peer \"" + other.name +
                                                "\": a key names one peer");
  }
  if (before && before->key != record.key) removeHoldings(txn, before->key);  // another node
  writePeer(txn, record);
  return listed ? PeerPut::Replaced : PeerPut::Added;
}

bool removePeer(WriteTxn& txn, std::string_view name) {
  const auto peer = readPeer(PeersAccess::txn(txn), PeersAccess::dbi(txn), name);
  if (!peer) return false;
  MDB_val key = lmdb::val(name);
  lmdb::check(::mdb_del(PeersAccess::txn(txn), PeersAccess::dbi(txn), &key, nullptr),
              "mdb_del(peers)");
  removeHoldings(txn, peer->key);
  return true;
}

Expected<PeerRecord, PeerProblem> setPeerAddress(WriteTxn& txn, std::string_view name,
                                                 std::string_view address) {
  auto peer = readPeer(PeersAccess::txn(txn), PeersAccess::dbi(txn), name);
  if (!peer)
    return problem(PeerProblem::NotListed, "there is no peer named \"" + std::string(name) + "\"");
  if (!address.empty())
    if (auto bad = checkPeerAddress(address)) return std::move(*bad);
  peer->address = address;
  writePeer(txn, *peer);
  return std::move(*peer);
}

std::string stickHoldingsKey(const protocol::PublicKey& key) {
  return "peers.holdings." + key.hex();
}

std::optional<protocol::Holdings> peerHoldings(const ReadTxn& txn, const protocol::PublicKey& key) {
  const std::string name = stickHoldingsKey(key);
  MDB_val k = lmdb::val(name);
  MDB_val data{};
  const int rc = ::mdb_get(PeersAccess::txn(txn), PeersAccess::metaDbi(txn), &k, &data);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  lmdb::check(rc, "mdb_get(meta)");
  const auto bytes = lmdb::bytes(data);
  auto damaged = [&] {
    return Error("the archive's meta \"" + name + "\" is damaged (the stick holdings of " +
                 key.hex() + ")");
  };
  if (bytes.size() < HOLDINGS_VALUE_HEADER || bytes[0] != HOLDINGS_VALUE_VERSION ||
      (bytes.size() - HOLDINGS_VALUE_HEADER) % protocol::HELD_ID_BYTES != 0)
    throw damaged();
  protocol::Holdings out;
  out.writer = key;
  Reader in(bytes.subspan(1, 8));
  out.at = static_cast<std::int64_t>(in.number());
  out.ids.resize((bytes.size() - HOLDINGS_VALUE_HEADER) / protocol::HELD_ID_BYTES);
  if (!out.ids.empty())
    std::memcpy(out.ids.data(), bytes.data() + HOLDINGS_VALUE_HEADER,
                bytes.size() - HOLDINGS_VALUE_HEADER);
  if (std::adjacent_find(out.ids.begin(), out.ids.end(), std::greater_equal<>()) != out.ids.end())
    throw damaged();
  return out;
}

StickOutcome recordStick(WriteTxn& txn, const protocol::Holdings& holdings) {
  std::optional<PeerRecord> peer;
  for (auto& listed : readPeers(PeersAccess::txn(txn), PeersAccess::dbi(txn)))
    if (listed.key == holdings.writer) peer = std::move(listed);
  if (!peer) return {StickOutcome::NotListed, "", 0};
  // The same second counts as newer: two sticks written within a second of each other are
  // taken in the order they are imported.
  if (holdings.at < peer->state.stickAt)
    return {StickOutcome::Older, peer->name, peer->state.stickAt};
  std::vector<std::uint8_t> value;
  value.reserve(HOLDINGS_VALUE_HEADER + holdings.ids.size() * protocol::HELD_ID_BYTES);
  value.push_back(HOLDINGS_VALUE_VERSION);
  putNumber(value, static_cast<std::uint64_t>(holdings.at));
  for (const auto& id : holdings.ids) value.insert(value.end(), id.begin(), id.end());
  txn.setMeta(stickHoldingsKey(holdings.writer),
              std::string_view(reinterpret_cast<const char*>(value.data()), value.size()));
  peer->state.stickAt = holdings.at;
  writePeer(txn, *peer);
  return {StickOutcome::Recorded, peer->name, holdings.at};
}

bool updatePeerState(WriteTxn& txn, const protocol::PublicKey& key,
                     const std::function<void(PeerState&)>& change) {
  for (auto& peer : readPeers(PeersAccess::txn(txn), PeersAccess::dbi(txn))) {
    if (peer.key != key) continue;
    change(peer.state);
    writePeer(txn, std::move(peer));
    return true;
  }
  return false;
}

std::optional<bool> refusePeer(WriteTxn& txn, const protocol::PublicKey& key,
                               const std::string& reason, std::int64_t now) {
  std::optional<bool> began;
  if (!updatePeerState(txn, key, [&](PeerState& state) { began = refuse(state, reason, now); }))
    return std::nullopt;
  return began;
}

Expected<PeerRecord, PeerProblem> forgivePeer(WriteTxn& txn, std::string_view name) {
  auto peer = readPeer(PeersAccess::txn(txn), PeersAccess::dbi(txn), name);
  if (!peer)
    return problem(PeerProblem::NotListed, "there is no peer named \"" + std::string(name) + "\"");
  peer->state.refusedUntil = 0;
  peer->state.refusedReason.clear();
  peer->state.refusals = 0;
  writePeer(txn, *peer);
  return std::move(*peer);
}

bool addPeerTraffic(WriteTxn& txn, const protocol::PublicKey& key, std::uint64_t bytes,
                    std::int64_t now) {
  return updatePeerState(txn, key, [&](PeerState& state) { countTraffic(state, bytes, now); });
}

Expected<PeerRecord, PeerProblem> updatePeerSettings(
    WriteTxn& txn, std::string_view name, const std::function<void(PeerSettings&)>& change) {
  auto peer = readPeer(PeersAccess::txn(txn), PeersAccess::dbi(txn), name);
  if (!peer)
    return problem(PeerProblem::NotListed, "there is no peer named \"" + std::string(name) + "\"");
  change(peer->settings);
  if (auto bad = checkPeerSettings(peer->settings)) return std::move(*bad);
  writePeer(txn, *peer);
  return std::move(*peer);
}

}  // namespace fieldsync::store
