#pragma once
// Internal to store/ (and its tests): pieces of archive.cpp that tests reach directly.
// - Id prefix lookup without the minimum length that ReadTxn::resolve() enforces for people,
//   so tests can check ambiguity with prefixes short enough that a collision is cheap to make.
// - The postings encoding of the full-text index (archive.h), tested on its boundaries.
// - Counts of the full-text index's two tiers, so tests can see which tier holds what.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "store/archive.h"

namespace fieldsync::store {

/// The object whose id starts with hexPrefix (any length from 0 to 64 hex characters,
/// either case; an odd length compares the last nibble). NotHex for a non-hex character or
/// more than 64 characters; NotFound; Ambiguous with at most 20 candidates in id order.
/// Never TooShort.
Expected<ObjectId, PrefixProblem> resolvePrefix(const ReadTxn& txn, std::string_view hexPrefix);

/// Appends seqs as postings: LEB128 varints (7 bits a byte, low group first, high bit set on
/// every byte but the last) of seqs[0] - base, then of each seq minus the one before.
/// Precondition (asserted): base <= seqs[0] < seqs[1] < ... An empty seqs appends nothing.
void encodePostings(std::uint64_t base, std::span<const std::uint64_t> seqs,
                    std::vector<std::uint8_t>& out);

/// Appends the seqs that encodePostings(base, ...) wrote to bytes. False, with out holding
/// what was decoded before the fault, when bytes are not such postings: a varint cut short or
/// longer than 64 bits, a later delta of 0 (seqs must ascend) or a sum beyond 2^64 - 1.
[[nodiscard]] bool decodePostings(std::uint64_t base, std::span<const std::uint8_t> bytes,
                                  std::vector<std::uint64_t>& out);

/// What the two tiers of the full-text index hold.
struct TermIndexStats {
  std::uint64_t recentEntries = 0;  // (batch, term) entries in terms_recent
  std::uint64_t recentBatches = 0;  // batches in terms_recent
  std::uint64_t chunks = 0;         // (term, chunk) entries in terms
};
TermIndexStats termIndexStats(const ReadTxn& txn);

}  // namespace fieldsync::store
