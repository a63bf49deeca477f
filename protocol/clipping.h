#pragma once
// The clipping: one article, report or statement, as imported. A plain value type; its
// canonical encoding lives in object.h. Field names are the schema's, the JSON output's and
// the jsonl importer's (see docs/protocol.md).

#include <string>
#include <vector>

namespace fieldsync::protocol {

struct Clipping {
  std::string title;                 // required, non-empty
  std::string source;                // the outlet or publisher
  std::vector<std::string> authors;  // in the order given
  std::string published;             // ISO 8601 at the precision known: 2013, 2013-01, 2013-01-11
  std::string url;
  std::vector<std::string> tags;  // e.g. "region:mali"; sorted and unique once validated
  std::string language;           // BCP 47 tag such as "en", or empty when unknown
  std::string body;               // plain text, paragraphs separated by one blank line
  std::string collection;         // the digest or batch it came from

  bool operator==(const Clipping&) const = default;
};

}  // namespace fieldsync::protocol
