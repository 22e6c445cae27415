// Which loads a loop fetches one iteration ahead, for the CUDA backend's cp.async pipeline:
// as soon as an iteration is done reading a loaded block, the copy of the next iteration's
// block into the same shared-memory slot starts, and it lands while the CTA computes. A CTA
// then keeps memory requests in flight through its compute instead of stalling at every load
// (the attention KV loop: K of the next step streams in during this step's softmax and PV,
// V during the next step's QK^T), with no extra shared memory.
//
// A load qualifies when
// - it is a node of the loop's own body (a load in a nested loop belongs to that loop),
// - it reads a tile from an `in` global: the kernel never writes one, so reading it early
//   sees the same data,
// - for a load_rows (rows gathered through an index tile, paged KV), its index tile is
//   defined before the loop or is itself a body load of an `in` global computable ahead
//   (a block-table slice): the fetch reads the next iteration's entries from that global, and
// - its row, column and valid extents can be computed for the next index ahead of time:
//   they are built from the induction variable, values defined before the loop, constants,
//   scalar elementwise ops and load_scalar of `in` globals (block tables). A carried scalar
//   (known only at the end of the iteration) or a nested loop's result disqualifies it.
//
// The protocol, per prefetched load L of a loop body (one cp.async group per fetch):
// - before the loop, every L's first block is fetched, in issue order, a group each;
// - at L's node the iteration waits until at most `groups_after` groups are pending (the
//   ones committed after L's: static, as every fetch point commits one group per iteration,
//   empty when it has nothing to fetch), then a barrier publishes the block;
// - after the body node `issue_after` (the last to read the block, or any view or
//   elementwise expression of it; its barrier ends every thread's reads) the next
//   iteration's block is fetched into the same slot and committed.
// A nested prefetching loop commits groups of its own in between; they only make an
// enclosing loop's waits more conservative, never too short.
#pragma once

#include <cstddef>
#include <unordered_map>
#include <vector>

#include "dsl/ir.hpp"
#include "dsl/kernel_index.hpp"

namespace pto::cuda {

struct PrefetchedLoad {
  const ir::Node* load = nullptr;        // a load, or a load_rows
  const ir::Node* index_load = nullptr;  // a load_rows': the body's load of its index tile, if any
  std::vector<const ir::Node*> chain;    // the body's scalar nodes its operands need, in body order
  std::size_t position = 0;              // the load's index in the body
  std::size_t issue_after = 0;           // index of the body node after which the next block is fetched
  int groups_after = 0;                  // groups committed after this load's when it is consumed
};

struct LoopPrefetch {
  std::vector<PrefetchedLoad> loads;  // in issue order: by issue_after, then body order
};

// Loop node (for_range) -> what it fetches ahead; loops with nothing to fetch are absent.
std::unordered_map<const ir::Node*, LoopPrefetch> plan_prefetches(const ir::Kernel& kernel,
                                                                  const ir::KernelIndex& index);
// The same, indexing the kernel first (tests; the code generator passes its instance's index).
std::unordered_map<const ir::Node*, LoopPrefetch> plan_prefetches(const ir::Kernel& kernel);

}  // namespace pto::cuda
