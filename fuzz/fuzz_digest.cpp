// protocol::parseDigest on arbitrary text. Checks, besides the absence of crashes, leaks and
// undefined behaviour, the promise of importers.h (fuzz_check.h: checkParseResult): every
// clipping normalized, valid, signable and verifiable; an error's line within the text. A
// digest is refused when it holds no clipping, so success means at least one.

#include "fuzz/fuzz_check.h"

using namespace fieldsync::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::textOf(data, size);
  const ParseResult result = parseDigest(text);
  fuzz::checkParseResult(result, text);
  if (result) FUZZ_CHECK(!result->empty());
  return 0;
}
