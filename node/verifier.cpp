#include "node/verifier.h"

#include <algorithm>
#include <optional>
#include <thread>

namespace fieldsync::node {

BatchVerifier parallelVerifier(std::size_t threads, protocol::Limits limits) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  return [threads, limits](const std::vector<std::span<const std::uint8_t>>& objects) {
    using Result = Expected<protocol::VerifiedObject, protocol::Rejection>;
    std::vector<std::optional<Result>> slots(objects.size());
    auto work = [&](std::size_t first, std::size_t last) {
      for (std::size_t i = first; i < last; ++i)
        slots[i].emplace(protocol::verify(objects[i], limits));
    };
    // Small batches are not worth a thread.
    const std::size_t parts = std::min(threads, std::max<std::size_t>(1, objects.size() / 16));
    {
      std::vector<std::jthread> helpers;
      for (std::size_t part = 1; part < parts; ++part) {
        helpers.emplace_back(work, objects.size() * part / parts,
                             objects.size() * (part + 1) / parts);
      }
      work(0, objects.size() / parts);
    }  // joins the helpers
    std::vector<Result> out;
    out.reserve(objects.size());
    for (auto& slot : slots) out.push_back(std::move(*slot));
    return out;
  };
}

}  // namespace fieldsync::node
