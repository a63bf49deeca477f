#pragma once
// Internal to store/ (and its tests): id prefix lookup without the minimum length that
// ReadTxn::resolve() enforces for people. Tests use it to check ambiguity with prefixes
// short enough that a collision can be made cheaply.

#include <string_view>

#include "store/archive.h"

namespace fieldsync::store {

/// The object whose id starts with hexPrefix (any length from 0 to 64 hex characters,
/// either case; an odd length compares the last nibble). NotHex for a non-hex character or
/// more than 64 characters; NotFound; Ambiguous with at most 20 candidates in id order.
/// Never TooShort.
Expected<ObjectId, PrefixProblem> resolvePrefix(const ReadTxn& txn, std::string_view hexPrefix);

}  // namespace fieldsync::store
