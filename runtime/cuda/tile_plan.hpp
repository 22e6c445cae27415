// The CUDA backend's tile plan of one kernel, decided before any code is printed (the
// tinygrad/Triton split: cuda_codegen renders what this decides). Per tile value: a slot
// of the CTA's tile space (its byte offset and padded row stride), or no storage (fused
// into its consumer, a view such as `trans`, an inline `full`/`iota`, or a loop's result,
// which aliases its carried slot); the tile space's size and whether it fits in shared
// memory; and which loads each loop fetches one iteration ahead (prefetch_plan.hpp), which
// needs the tiles in shared memory (cp.async copies there).
//
// Layouts today: every stored tile is row-major in shared memory (or per-CTA global
// scratch when the kernel's tiles exceed shared_limit_bytes), rows padded to an odd number
// of 16-byte units (tiles loaded from global memory, for 16-byte copies) or of 32-bit words
// (the rest) so that reads across rows hit distinct banks. Issue #19's
// per-value layouts (thread layouts, swizzled shared layouts, register-resident tiles)
// belong here.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "dsl/ir.hpp"
#include "dsl/kernel_index.hpp"
#include "runtime/cuda/prefetch_plan.hpp"

namespace pto::cuda {

struct TileSlot {
  std::int64_t offset = -1;  // bytes into the tile space; -1: not stored
  std::int64_t stride = 0;   // row stride in elements (padded)
};

struct TilePlan {
  std::vector<TileSlot> slots;                                            // by value id
  std::int64_t tile_bytes = 0;                                            // the tile space one task needs
  bool tiles_in_shared = true;                                            // else per-CTA global scratch
  std::unordered_map<const ir::Node*, LoopPrefetch> prefetch;             // loop -> what it fetches ahead
  std::unordered_map<const ir::Node*, const PrefetchedLoad*> prefetched;  // load node -> its entry in `prefetch`

  TilePlan() = default;
  TilePlan(TilePlan&&) = default;  // (a moved map keeps its elements where they are)
  TilePlan& operator=(TilePlan&&) = default;
  TilePlan(const TilePlan&) = delete;  // `prefetched` points into `prefetch`
  TilePlan& operator=(const TilePlan&) = delete;

  const TileSlot& slot(ir::ValueId id) const { return slots.at(static_cast<std::size_t>(id)); }
};

TilePlan plan_tiles(const ir::Kernel& kernel, const ir::KernelIndex& index);

}  // namespace pto::cuda
