#pragma once
// Internal to store/: reading back an object the archive holds. The store verified every
// object on the way in, so these decode without checking the signature again (provenance
// reports do check the object they report on).

#include <optional>

#include "protocol/object.h"
#include "store/archive.h"

namespace fieldsync::store {

/// The stored object with id, decoded; empty when absent or (damage) undecodable.
inline std::optional<protocol::DecodedObject> loadStored(const ReadTxn& txn, const ObjectId& id) {
  auto bytes = txn.get(id);
  if (!bytes) return std::nullopt;
  auto decoded = protocol::decode(*bytes);
  if (!decoded) return std::nullopt;
  return std::move(decoded).value();
}

/// The release an object holds, or nullptr.
inline const protocol::Release* asRelease(const std::optional<protocol::DecodedObject>& object) {
  return object ? std::get_if<protocol::Release>(&object->payload.body) : nullptr;
}

}  // namespace fieldsync::store
