#include "protocol/range_index.h"

#include <algorithm>
#include <cassert>

namespace fieldsync::protocol {

std::array<std::uint8_t, SYNC_KEY_BYTES> SyncKey::bytes() const {
  std::array<std::uint8_t, SYNC_KEY_BYTES> out{};
  const std::uint64_t biased = static_cast<std::uint64_t>(signedAt) ^ (std::uint64_t{1} << 63);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(biased >> (56 - 8 * i));
  std::copy(id.bytes.begin(), id.bytes.end(), out.begin() + 8);
  return out;
}

SyncKey SyncKey::fromBytes(std::span<const std::uint8_t, SYNC_KEY_BYTES> bytes) {
  std::uint64_t biased = 0;
  for (int i = 0; i < 8; ++i) biased = (biased << 8) | bytes[i];
  SyncKey key;
  key.signedAt = static_cast<std::int64_t>(biased ^ (std::uint64_t{1} << 63));
  std::copy(bytes.begin() + 8, bytes.end(), key.id.bytes.begin());
  return key;
}

std::int64_t horizonFor(std::int64_t now) {
  return now > INT64_MAX - FUTURE_TOLERANCE_SECONDS ? INT64_MAX : now + FUTURE_TOLERANCE_SECONDS;
}

std::optional<SyncKey> tailStart(std::int64_t horizon) {
  if (horizon == INT64_MAX) return std::nullopt;
  return SyncKey{horizon + 1, {}};
}

std::uint64_t tailRank(const RangeIndex& index, std::int64_t horizon) {
  const auto start = tailStart(horizon);
  return start ? index.rank(*start) : index.size();
}

std::vector<SyncKey> tailKeys(const RangeIndex& index, std::int64_t horizon) {
  return index.keys(tailRank(index, horizon), index.size());
}

namespace {
void addBytes(std::array<std::uint8_t, ID_BYTES>& sum,
              const std::array<std::uint8_t, ID_BYTES>& x) {
  unsigned carry = 0;
  for (std::size_t i = 0; i < ID_BYTES; ++i) {
    const unsigned v = unsigned{sum[i]} + x[i] + carry;
    sum[i] = static_cast<std::uint8_t>(v);
    carry = v >> 8;
  }
}
}  // namespace

void RangeSum::add(const ObjectId& id) {
  ++count;
  addBytes(sum, id.bytes);
}

void RangeSum::add(const RangeSum& other) {
  count += other.count;
  addBytes(sum, other.sum);
}

void RangeSum::subtract(const RangeSum& other) {
  count -= other.count;
  int borrow = 0;
  for (std::size_t i = 0; i < ID_BYTES; ++i) {
    const int v = int{sum[i]} - other.sum[i] - borrow;
    sum[i] = static_cast<std::uint8_t>(v);
    borrow = v < 0 ? 1 : 0;
  }
}

VectorRangeIndex::VectorRangeIndex(std::vector<SyncKey> keys) : m_keys(std::move(keys)) {
  std::sort(m_keys.begin(), m_keys.end());
  m_keys.erase(std::unique(m_keys.begin(), m_keys.end()), m_keys.end());
}

bool VectorRangeIndex::insert(const SyncKey& key) {
  const auto it = std::lower_bound(m_keys.begin(), m_keys.end(), key);
  if (it != m_keys.end() && *it == key) return false;
  m_keys.insert(it, key);
  m_prefixValid = false;
  return true;
}

bool VectorRangeIndex::contains(const SyncKey& key) const {
  return std::binary_search(m_keys.begin(), m_keys.end(), key);
}

std::uint64_t VectorRangeIndex::rank(const SyncKey& key) const {
  return static_cast<std::uint64_t>(std::lower_bound(m_keys.begin(), m_keys.end(), key) -
                                    m_keys.begin());
}

void VectorRangeIndex::rebuildPrefix() const {
  m_prefix.assign(m_keys.size() + 1, RangeSum{});
  for (std::size_t i = 0; i < m_keys.size(); ++i) {
    m_prefix[i + 1] = m_prefix[i];
    m_prefix[i + 1].add(m_keys[i].id);
  }
  m_prefixValid = true;
}

RangeSum VectorRangeIndex::sum(std::uint64_t from, std::uint64_t to) const {
  assert(from <= to && to <= m_keys.size());
  if (!m_prefixValid) rebuildPrefix();
  RangeSum out = m_prefix[to];
  out.subtract(m_prefix[from]);
  return out;
}

std::vector<SyncKey> VectorRangeIndex::keys(std::uint64_t from, std::uint64_t to) const {
  assert(from <= to && to <= m_keys.size());
  return {m_keys.begin() + static_cast<std::ptrdiff_t>(from),
          m_keys.begin() + static_cast<std::ptrdiff_t>(to)};
}

}  // namespace fieldsync::protocol
