#include "dsl/kernel_index.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.hpp"

namespace pto::ir {

bool is_elementwise(Op op) noexcept {
  switch (category(op)) {
    case OpCategory::binary:
    case OpCategory::compare:
    case OpCategory::select:
    case OpCategory::cast:
    case OpCategory::unary: return true;
    case OpCategory::param:
    case OpCategory::constant:
    case OpCategory::memory:
    case OpCategory::reduce:
    case OpCategory::matmul:
    case OpCategory::shape:
    case OpCategory::control: return false;
  }
  return false;
}

namespace {

struct Use {
  const Node* node = nullptr;
  const Block* block = nullptr;
};

}  // namespace

KernelIndex::KernelIndex(const Kernel& kernel)
    : definition_(kernel.values.size(), nullptr),
      uses_(kernel.values.size(), 0),
      read_outside_matmul_(kernel.values.size(), 0),
      fused_(kernel.values.size(), 0) {
  std::vector<Use> consumer(kernel.values.size());
  std::vector<const Block*> defined_in(kernel.values.size(), nullptr);
  auto walk = [&](const Block& block, auto& self) -> void {
    for (const Node& node : block.nodes) {
      position_.emplace(&node, static_cast<int>(preorder_.size()));
      preorder_.push_back(&node);
      for (std::size_t i = 0; i < node.operands.size(); ++i) {
        const auto operand = static_cast<std::size_t>(node.operands[i]);
        ++uses_.at(operand);
        consumer[operand] = {&node, &block};
        if (node.op != Op::matmul || i >= 2) read_outside_matmul_[operand] = 1;
      }
      for (ValueId result : node.results) {
        definition_.at(static_cast<std::size_t>(result)) = &node;
        defined_in[static_cast<std::size_t>(result)] = &block;
      }
      if (node.body) self(*node.body, self);
    }
  };
  walk(kernel.body, walk);

  for (std::size_t id = 0; id < kernel.values.size(); ++id) {
    const Node* made_by = definition_[id];
    const Type& type = kernel.values[id].type;
    if (made_by == nullptr || !type.is_tile() || !is_elementwise(made_by->op) || uses_[id] != 1) continue;
    if (made_by->op == Op::div && is_integer(type.dtype)) continue;
    const Use& user = consumer[id];
    if (user.block != defined_in[id]) continue;
    const auto value = static_cast<ValueId>(id);
    const bool reads_elementwise =
        is_elementwise(user.node->op) || category(user.node->op) == OpCategory::reduce ||
        (user.node->op == Op::store && user.node->operands.size() >= 2 && user.node->operands[1] == value);
    if (!reads_elementwise) continue;
    // The consumer must index this value with its own shape: same-shape results, or the
    // value is the reduction's / store's input.
    if (is_elementwise(user.node->op)) {
      const Type& out = kernel.type_of(user.node->results[0]);
      if (out.rows != type.rows || out.cols != type.cols) continue;
    }
    fused_[id] = 1;
  }

  // A fused value is computed by recursion through its fused operands in the backends (and
  // rendered as one nested expression in CUDA): chains longer than max_fused_depth are cut,
  // the value ending a run of that many is stored, so no input nests without bound.
  std::vector<int> depth(kernel.values.size(), 0);
  for (const Node* node : preorder_) {
    for (ValueId result : node->results) {
      const auto id = static_cast<std::size_t>(result);
      if (!fused_[id]) continue;
      int deepest = 0;
      for (ValueId operand : node->operands) deepest = std::max(deepest, depth[static_cast<std::size_t>(operand)]);
      depth[id] = deepest + 1;
      if (depth[id] > max_fused_depth) {
        fused_[id] = 0;
        depth[id] = 0;
      }
    }
  }
}

int KernelIndex::position(const Node& node) const {
  const auto found = position_.find(&node);
  if (found == position_.end())
    throw InternalError(fmt::format("a {} node is not in the kernel's index", name(node.op)));
  return found->second;
}

const Node& KernelIndex::node_at(int position) const {
  if (position < 0 || static_cast<std::size_t>(position) >= preorder_.size()) {
    throw InternalError(fmt::format("node position {} is outside the kernel's {} nodes", position, preorder_.size()));
  }
  return *preorder_[static_cast<std::size_t>(position)];
}

}  // namespace pto::ir
