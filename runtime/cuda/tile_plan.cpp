#include "runtime/cuda/tile_plan.hpp"

#include "runtime/cuda/cuda_codegen.hpp"

namespace pto::cuda {

namespace {

constexpr int tile_alignment = 16;

class TileAllocator {
 public:
  TileAllocator(const ir::Kernel& kernel, const ir::KernelIndex& index, TilePlan& plan)
      : kernel_(kernel), index_(index), plan_(plan) {}

  // Every stored tile gets a slot of its own, in the order the nodes run.
  void run() {
    plan_.slots.assign(kernel_.values.size(), TileSlot{});
    for (const ir::Node* node : index_.preorder()) {
      for (ir::ValueId result : node->results) {
        if (!kernel_.type_of(result).is_tile() || !stored(*node, result)) continue;
        allocate(result, copied_from_global(*node));
      }
      if (node->op == ir::Op::for_range) {
        // Carried tiles live in the body arguments' slots; the loop's results alias them.
        const ir::Block& body = *node->body;
        for (std::size_t i = 0; i < node->results.size(); ++i) {
          const ir::ValueId argument = body.arguments[i + 1];
          if (!kernel_.type_of(argument).is_tile()) continue;
          allocate(argument, /*copied_from_global=*/false);
          plan_.slots[static_cast<std::size_t>(node->results[i])] = plan_.slots[static_cast<std::size_t>(argument)];
        }
      }
    }
  }

 private:
  // Whether a tile result gets storage of its own.
  bool stored(const ir::Node& node, ir::ValueId result) const {
    if (index_.fused(result)) return false;
    switch (node.op) {
      case ir::Op::full:
      case ir::Op::iota:
      case ir::Op::trans:
      case ir::Op::for_range: return false;  // inline, a view, or the carried slots
      case ir::Op::param: return kernel_.params[static_cast<std::size_t>(node.param)].type.is_tile();
      default: return true;
    }
  }

  // Whether the tile `node` defines holds a copy of global memory (a load, or a tile
  // parameter's binding).
  static bool copied_from_global(const ir::Node& node) {
    return node.op == ir::Op::load || node.op == ir::Op::load_rows || node.op == ir::Op::param;
  }

  // Rows are padded so that reads across rows spread over the 32 banks. A tile copied from
  // global memory whose rows are whole 16-byte units gets an odd number of them per row: its
  // copies are 16-byte cp.async, and threads reading 16 bytes (or a tensor-core fragment's 4
  // bytes) of different rows hit distinct banks. Other tiles get an odd number of 32-bit
  // words, so that threads walking a column element by element hit distinct banks.
  void allocate(ir::ValueId id, bool copied_from_global) {
    const ir::Type& type = kernel_.type_of(id);
    const int element = size_bytes(type.dtype);
    std::int64_t stride = type.cols;
    if (type.rows > 1) {
      const std::int64_t row_bytes = stride * element;
      const int unit = copied_from_global && row_bytes % 16 == 0 ? 16 : 4;
      std::int64_t units = (row_bytes + unit - 1) / unit;
      if (units % 2 == 0) ++units;
      stride = units * unit / element;
    }
    TileSlot& slot = plan_.slots[static_cast<std::size_t>(id)];
    slot.offset = plan_.tile_bytes;
    slot.stride = stride;
    const std::int64_t bytes = ((type.rows - 1) * stride + type.cols) * element;
    plan_.tile_bytes += (bytes + tile_alignment - 1) / tile_alignment * tile_alignment;
  }

  const ir::Kernel& kernel_;
  const ir::KernelIndex& index_;
  TilePlan& plan_;
};

}  // namespace

TilePlan plan_tiles(const ir::Kernel& kernel, const ir::KernelIndex& index) {
  TilePlan plan;
  TileAllocator(kernel, index, plan).run();
  plan.tiles_in_shared = plan.tile_bytes <= shared_limit_bytes;
  // cp.async copies into shared memory: tiles in global scratch are loaded synchronously.
  if (plan.tiles_in_shared) plan.prefetch = plan_prefetches(kernel, index);
  for (const auto& [loop, fetches] : plan.prefetch)
    for (const PrefetchedLoad& load : fetches.loads) plan.prefetched[load.load] = &load;
  return plan;
}

}  // namespace pto::cuda
