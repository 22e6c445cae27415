// Which loads a loop can fetch one iteration ahead, for the CUDA backend's cp.async double
// buffering: while iteration i computes, the blocks iteration i + 1 will load are already
// on their way into a second shared-memory buffer, so a CTA keeps memory requests in flight
// through its compute instead of stalling at every load (the attention KV loop, whose one
// CTA must pull megabytes on its own when few long chunks are left).
//
// A load qualifies when
// - it is a node of the loop's own body (a load in a nested loop belongs to that loop),
// - it reads a tile from an `in` global: the kernel never writes one, so reading it an
//   iteration early sees the same data, and
// - its row, column and valid extents can be computed for the next index before the next
//   iteration starts: they are built from the induction variable, values defined before the
//   loop, constants, scalar elementwise ops and load_scalar of `in` globals (block tables).
//   A carried scalar (known only at the end of the iteration) or a nested loop's result
//   disqualifies it.
#pragma once

#include <unordered_map>
#include <vector>

#include "dsl/ir.hpp"

namespace pto::cuda {

struct LoopPrefetch {
  std::vector<const ir::Node*> loads;  // the body's qualifying loads, in body order
  std::vector<const ir::Node*> chain;  // the body's scalar nodes their operands need, in body order
};

// Loop node (for_range) -> what it fetches ahead; loops with nothing to fetch are absent.
std::unordered_map<const ir::Node*, LoopPrefetch> plan_prefetches(const ir::Kernel& kernel);

}  // namespace pto::cuda
