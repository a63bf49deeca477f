// protocol::parseJsonl on arbitrary text. Checks, besides the absence of crashes, leaks and
// undefined behaviour, the promise of importers.h (fuzz_check.h: checkParseResult): every
// clipping normalized, valid, signable and verifiable; an error's line within the text. One
// clipping a non-blank line, so success means as many clippings as non-blank lines. And the two
// readers of a line agree: whenever the fast one reads a line, the full one (nlohmann) gives
// the same clipping.

#include <algorithm>

#include "fuzz/fuzz_check.h"

using namespace fieldsync::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::textOf(data, size);
  for (std::string_view line : splitLines(text)) {
    if (!isValidUtf8(line)) continue;  // parseJsonlLine's precondition
    const auto fast = readJsonlLineFast(line);
    if (!fast) continue;
    const auto full = readJsonlLineFull(line);
    FUZZ_CHECK(full.ok());
    FUZZ_CHECK(*fast == full.value());
  }

  const ParseResult result = parseJsonl(text);
  fuzz::checkParseResult(result, text);
  if (!result) return 0;

  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  const auto lines = splitLines(text);
  const auto nonBlank = static_cast<std::size_t>(std::count_if(
      lines.begin(), lines.end(), [](std::string_view line) { return !trimSpace(line).empty(); }));
  FUZZ_CHECK(result->size() == nonBlank);
  return 0;
}
