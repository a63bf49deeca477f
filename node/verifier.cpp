#include "node/verifier.h"

#include <algorithm>
#include <thread>

#include "store/parallel.h"

namespace fieldsync::node {

BatchVerifier parallelVerifier(std::size_t threads, protocol::Limits limits) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  return [threads, limits](const std::vector<std::span<const std::uint8_t>>& objects) {
    return store::mapOnEveryCore(
        objects.size(), [&](std::size_t i) { return protocol::verify(objects[i], limits); },
        threads, 16);
  };
}

}  // namespace fieldsync::node
