// protocol::parseEmail on arbitrary bytes: an mbox or one e-mail message (GMime 3). Checks, besides
// the absence of crashes, leaks and undefined behaviour in our code (the libraries are not
// instrumented, but their crashes and leaks are seen), the promise of importers.h (fuzz_check.h:
// checkParseResult): every clipping normalized, valid, signable and verifiable; an error's line
// within the input. Success means at least one clipping. The mbox splitter (RecordSplitter)
// gives the same messages whatever the size of the pieces it is fed, and they are the input.

#include "fuzz/fuzz_check.h"

using namespace fieldsync::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes = fuzz::textOf(data, size);
  const ParseResult result = parseEmail(bytes);
  fuzz::checkParseResult(result, bytes);
  if (result) FUZZ_CHECK(!result->empty());

  std::vector<Record> whole, pieces;
  RecordSplitter all(RecordSplitter::Kind::MboxMessages, MAX_MESSAGE_BYTES);
  FUZZ_CHECK(!all.feed(bytes, whole) && !all.finish(whole));
  std::string joined;
  for (const Record& r : whole) joined += r.bytes;
  FUZZ_CHECK(joined == bytes);
  const std::size_t piece = size == 0 ? 1 : data[0] % 13 + 1;
  RecordSplitter cut(RecordSplitter::Kind::MboxMessages, MAX_MESSAGE_BYTES);
  for (std::size_t at = 0; at < bytes.size(); at += piece)
    FUZZ_CHECK(!cut.feed(bytes.substr(at, piece), pieces));
  FUZZ_CHECK(!cut.finish(pieces));
  FUZZ_CHECK(pieces.size() == whole.size());
  for (std::size_t i = 0; i < whole.size() && i < pieces.size(); ++i) {
    FUZZ_CHECK(pieces[i].bytes == whole[i].bytes);
    FUZZ_CHECK(pieces[i].line == whole[i].line);
  }
  return 0;
}
