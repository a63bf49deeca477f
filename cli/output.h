#pragma once
// How objects look to people and to scripts. JSON field names are the schema's and are
// documented in docs/cli.md.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>

#include "protocol/object.h"

namespace fieldsync::cli {

/// "2013-01-11T00:00:00Z".
std::string isoTime(std::int64_t unixSeconds);

/// id, kind, signer, signedAt and the body's fields; the clipping body text only withBody.
nlohmann::json objectJson(const protocol::DecodedObject& object, bool withBody);

/// One line per object for lists: short id, published date, title, source.
void printListLine(std::ostream& out, const protocol::DecodedObject& object);

/// Every field, then the body: for `show`.
void printObject(std::ostream& out, const protocol::DecodedObject& object);

}  // namespace fieldsync::cli
