#include "node/verifier.h"

#include <algorithm>
#include <optional>
#include <thread>

#include "store/parallel.h"

namespace fieldsync::node {

BatchVerifier parallelVerifier(std::size_t threads, protocol::Limits limits) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  return [threads, limits](const std::vector<std::span<const std::uint8_t>>& objects) {
    using Result = Expected<protocol::VerifiedObject, protocol::Rejection>;
    std::vector<std::optional<Result>> slots(objects.size());
    store::forEachPart(
        objects.size(),
        [&](std::size_t first, std::size_t last) {
          for (std::size_t i = first; i < last; ++i)
            slots[i].emplace(protocol::verify(objects[i], limits));
        },
        threads, 16);
    std::vector<Result> out;
    out.reserve(objects.size());
    for (auto& slot : slots) out.push_back(std::move(*slot));
    return out;
  };
}

}  // namespace fieldsync::node
