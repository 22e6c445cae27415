#include "dsl/ir_analysis.hpp"

#include <functional>
#include <unordered_map>

namespace pto::ir {

namespace {

void collect_preorder(const Block& block, std::vector<const Node*>& out) {
  for (const Node& node : block.nodes) {
    out.push_back(&node);
    if (node.body) collect_preorder(*node.body, out);
  }
}

}  // namespace

std::vector<const Node*> preorder_nodes(const Kernel& kernel) {
  std::vector<const Node*> out;
  collect_preorder(kernel.body, out);
  return out;
}

bool is_elementwise(Op op) {
  switch (category(op)) {
    case OpCategory::binary:
    case OpCategory::compare:
    case OpCategory::select:
    case OpCategory::cast:
    case OpCategory::unary: return true;
    default: return false;
  }
}

std::unordered_set<ValueId> fusible_values(const Kernel& kernel) {
  std::unordered_map<ValueId, int> uses;
  std::unordered_map<ValueId, std::pair<const Node*, const Block*>> consumer;
  std::unordered_map<ValueId, std::pair<const Node*, const Block*>> producer;
  std::function<void(const Block&)> walk = [&](const Block& block) {
    for (const Node& node : block.nodes) {
      for (ValueId operand : node.operands) {
        ++uses[operand];
        consumer[operand] = {&node, &block};
      }
      for (ValueId result : node.results) producer[result] = {&node, &block};
      if (node.body) walk(*node.body);
    }
  };
  walk(kernel.body);
  std::unordered_set<ValueId> fused;
  for (const auto& [value, made_by] : producer) {
    const Type& type = kernel.type_of(value);
    if (!type.is_tile() || !is_elementwise(made_by.first->op) || uses[value] != 1) continue;
    const auto& [user, user_block] = consumer.at(value);
    if (user_block != made_by.second) continue;
    const bool user_reads_elementwise =
        is_elementwise(user->op) || category(user->op) == OpCategory::reduce ||
        (user->op == Op::store && user->operands.size() >= 2 && user->operands[1] == value);
    if (!user_reads_elementwise) continue;
    // The consumer must index this value with its own shape: same-shape results, or the
    // value is the reduction's / store's input.
    if (is_elementwise(user->op)) {
      const Type& out = kernel.type_of(user->results[0]);
      if (out.rows != type.rows || out.cols != type.cols) continue;
    }
    fused.insert(value);
  }
  return fused;
}

}  // namespace pto::ir
