#pragma once
// Verifying a received batch on several cores: signature checks are most of the cost of
// receiving objects (about 50 µs each, docs/benchmarks.md), and a batch's objects are
// independent. Threads: parallelVerifier's function may be called from one thread at a
// time; it starts its helper threads per call and joins them before returning.

#include <cstddef>

#include "node/session.h"

namespace fieldsync::node {

/// A BatchVerifier that splits a batch over `threads` threads (0: every core). Results are in
/// the batch's order, as protocol::verify gives them.
BatchVerifier parallelVerifier(std::size_t threads, protocol::Limits limits = {});

}  // namespace fieldsync::node
