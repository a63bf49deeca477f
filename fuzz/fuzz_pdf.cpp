// protocol::parsePdf on arbitrary bytes: a PDF report (poppler-cpp). Checks, besides the absence of
// crashes, leaks and undefined behaviour in our code (the libraries are not instrumented, but their
// crashes and leaks are seen), the promise of importers.h (fuzz_check.h: checkParseResult):
// every clipping normalized, valid, signable and verifiable; an error's line within the
// input. Success means at least one clipping.

#include "fuzz/fuzz_check.h"

using namespace fieldsync::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes = fuzz::textOf(data, size);
  const ParseResult result = parsePdf(bytes);
  fuzz::checkParseResult(result, bytes);
  if (result) FUZZ_CHECK(!result->empty());
  return 0;
}
