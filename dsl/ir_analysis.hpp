// Analyses of the kernel IR that every compiled backend shares.
#pragma once

#include <unordered_set>
#include <vector>

#include "dsl/ir.hpp"

namespace pto::ir {

// The kernel's nodes in pre-order (loop bodies after their loop node). Backends name the
// node of a run-time fault by its index in this list.
std::vector<const Node*> preorder_nodes(const Kernel& kernel);

// Binary, compare, select, cast and unary ops: one result element from the operands'
// elements at the same (broadcast) position.
bool is_elementwise(Op op);

// Elementwise results computed inside their one consumer's loop instead of in a loop of
// their own (expression fusion): a tile defined by an elementwise node, used exactly once,
// by an elementwise op, a store or a reduction of the same shape in the same block. Chains
// like exp(s - m) * scale become one loop, with no intermediate tile in memory.
std::unordered_set<ValueId> fusible_values(const Kernel& kernel);

}  // namespace pto::ir
