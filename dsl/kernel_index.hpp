// What every executor wants to know about a kernel's structure, computed once per kernel
// instance (tl::KernelInstance::index()): the nodes in pre-order with their positions, each
// value's defining node, use counts, and the fused set. The interpreter, the LLVM and CUDA
// backends, the CUDA prefetch plan and the fault decoders all read this one index.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "dsl/ir.hpp"

namespace pto::ir {

inline constexpr int max_fused_depth = 64;

class KernelIndex {
 public:
  // Precondition: `kernel` is verified and outlives the index (it points into its nodes).
  explicit KernelIndex(const Kernel& kernel);

  // The kernel's nodes in pre-order (loop bodies after their loop node). Faults name a node
  // by its position here.
  const std::vector<const Node*>& preorder() const noexcept { return preorder_; }
  int position(const Node& node) const;     // InternalError for a node of another kernel
  const Node& node_at(int position) const;  // InternalError when out of range

  // The node that defines a value; nullptr for loop body arguments (induction variable and
  // carried values).
  const Node* definition(ValueId id) const { return definition_.at(static_cast<std::size_t>(id)); }
  // How many operand slots read the value (a value used twice by one node counts twice).
  int uses(ValueId id) const { return uses_.at(static_cast<std::size_t>(id)); }
  // Whether any node other than a matmul (as its a or b operand) reads the value.
  bool read_outside_matmul(ValueId id) const { return read_outside_matmul_.at(static_cast<std::size_t>(id)) != 0; }

  // Expression fusion: an elementwise tile result computed inside its one consumer's loop
  // instead of in a loop of its own. A tile defined by an elementwise node, used exactly
  // once, by an elementwise op, a store or a reduction of the same shape in the same block.
  // Chains like exp(s - m) * scale become one loop, with no intermediate tile in memory.
  // Integer divisions are never fused: their zero check faults at their own node, in
  // program order, in every backend. A chain of more than max_fused_depth fused values is
  // cut (the value ending each run is stored), bounding the backends' recursion.
  bool fused(ValueId id) const { return fused_.at(static_cast<std::size_t>(id)) != 0; }

 private:
  std::vector<const Node*> preorder_;
  std::unordered_map<const Node*, int> position_;
  std::vector<const Node*> definition_;
  std::vector<int> uses_;
  std::vector<char> read_outside_matmul_;
  std::vector<char> fused_;
};

// Binary, compare, select, cast and unary ops: one result element from the operands'
// elements at the same (broadcast) position.
bool is_elementwise(Op op) noexcept;

}  // namespace pto::ir
