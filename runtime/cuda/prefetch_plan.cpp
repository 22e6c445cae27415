#include "runtime/cuda/prefetch_plan.hpp"

#include <unordered_set>

#include "dsl/ir_analysis.hpp"

namespace pto::cuda {

namespace {

bool reads_input(const ir::Kernel& kernel, const ir::Node& node) {
  return kernel.params.at(static_cast<std::size_t>(node.param)).role == ir::ParamRole::in;
}

class LoopAnalysis {
 public:
  LoopAnalysis(const ir::Kernel& kernel, const ir::Node& loop) : kernel_(kernel), body_(*loop.body) {
    for (const ir::Node& node : body_.nodes)
      for (ir::ValueId result : node.results) defined_here_[result] = &node;
  }

  LoopPrefetch run() {
    LoopPrefetch out;
    std::unordered_set<const ir::Node*> chain;
    for (const ir::Node& node : body_.nodes) {
      if (node.op != ir::Op::load || !reads_input(kernel_, node)) continue;
      std::unordered_set<const ir::Node*> needed;
      bool computable = true;
      for (std::size_t i = 1; i < node.operands.size() && computable; ++i)
        computable = computable_ahead(node.operands[i], needed);
      if (!computable) continue;
      out.loads.push_back(&node);
      chain.insert(needed.begin(), needed.end());
    }
    for (const ir::Node& node : body_.nodes)
      if (chain.contains(&node)) out.chain.push_back(&node);
    return out;
  }

 private:
  // Whether `value` can be computed for the next index; the body nodes that computing it
  // runs are added to `needed`.
  bool computable_ahead(ir::ValueId value, std::unordered_set<const ir::Node*>& needed) const {
    if (value == body_.arguments[0]) return true;  // the induction variable
    for (std::size_t i = 1; i < body_.arguments.size(); ++i)
      if (value == body_.arguments[i]) return false;  // carried: known only after this iteration
    const auto defined = defined_here_.find(value);
    if (defined == defined_here_.end()) return true;  // defined before the loop: the same every iteration
    const ir::Node& node = *defined->second;
    if (!kernel_.type_of(value).is_scalar()) return false;
    bool computable = false;
    if (node.op == ir::Op::constant) {
      computable = true;
    } else if (ir::is_elementwise(node.op)) {
      computable = true;
      for (ir::ValueId operand : node.operands) computable = computable && computable_ahead(operand, needed);
    } else if (node.op == ir::Op::load_scalar && reads_input(kernel_, node)) {
      computable = computable_ahead(node.operands[1], needed) && computable_ahead(node.operands[2], needed);
    }
    if (computable) needed.insert(&node);
    return computable;
  }

  const ir::Kernel& kernel_;
  const ir::Block& body_;
  std::unordered_map<ir::ValueId, const ir::Node*> defined_here_;
};

}  // namespace

std::unordered_map<const ir::Node*, LoopPrefetch> plan_prefetches(const ir::Kernel& kernel) {
  std::unordered_map<const ir::Node*, LoopPrefetch> plan;
  for (const ir::Node* node : ir::preorder_nodes(kernel)) {
    if (node->op != ir::Op::for_range) continue;
    LoopPrefetch loop = LoopAnalysis(kernel, *node).run();
    if (!loop.loads.empty()) plan.emplace(node, std::move(loop));
  }
  return plan;
}

}  // namespace pto::cuda
