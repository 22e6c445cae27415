#include "runtime/cuda/prefetch_plan.hpp"

#include <algorithm>
#include <unordered_set>

#include "dsl/kernel_index.hpp"

namespace pto::cuda {

namespace {

bool reads_input(const ir::Kernel& kernel, const ir::Node& node) {
  return kernel.params.at(static_cast<std::size_t>(node.param)).role == ir::ParamRole::in;
}

// Whether `node` (or a node of its loop body, at any depth) has an operand in `values`.
bool reads_any(const ir::Node& node, const std::unordered_set<ir::ValueId>& values) {
  for (ir::ValueId operand : node.operands)
    if (values.contains(operand)) return true;
  if (node.body) {
    for (const ir::Node& inner : node.body->nodes)
      if (reads_any(inner, values)) return true;
  }
  return false;
}

class LoopAnalysis {
 public:
  LoopAnalysis(const ir::Kernel& kernel, const ir::Node& loop) : kernel_(kernel), body_(*loop.body) {
    for (const ir::Node& node : body_.nodes)
      for (ir::ValueId result : node.results) defined_here_[result] = &node;
  }

  LoopPrefetch run() {
    LoopPrefetch out;
    for (std::size_t i = 0; i < body_.nodes.size(); ++i) {
      const ir::Node& node = body_.nodes[i];
      const bool gather = node.op == ir::Op::load_rows;
      if ((node.op != ir::Op::load && !gather) || !reads_input(kernel_, node)) continue;
      std::unordered_set<const ir::Node*> needed;
      const ir::Node* index_load = nullptr;
      bool computable = !gather || index_computable_ahead(node.operands[1], needed, index_load);
      for (std::size_t k = gather ? 2 : 1; k < node.operands.size() && computable; ++k)
        computable = computable_ahead(node.operands[k], needed);
      if (!computable) continue;
      PrefetchedLoad load;
      load.load = &node;
      load.index_load = index_load;
      load.position = i;
      load.issue_after = last_reader(i);
      for (const ir::Node& candidate : body_.nodes)
        if (needed.contains(&candidate)) load.chain.push_back(&candidate);
      out.loads.push_back(std::move(load));
    }
    std::stable_sort(out.loads.begin(), out.loads.end(),
                     [](const PrefetchedLoad& a, const PrefetchedLoad& b) { return a.issue_after < b.issue_after; });
    for (std::size_t i = 0; i < out.loads.size(); ++i) {
      PrefetchedLoad& load = out.loads[i];
      load.groups_after = static_cast<int>(out.loads.size() - 1 - i);  // fetched after it in the same round
      for (const PrefetchedLoad& other : out.loads)
        if (other.issue_after < load.position) ++load.groups_after;  // fetched before it is consumed
    }
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

  // Whether a load_rows' index tile can be had for the next index: defined before the loop
  // (the same tile), or loaded in the body from an `in` global at a region computable
  // ahead, whose entries the fetch then reads from the global itself (`index_load`).
  bool index_computable_ahead(ir::ValueId index, std::unordered_set<const ir::Node*>& needed,
                              const ir::Node*& index_load) const {
    for (std::size_t i = 1; i < body_.arguments.size(); ++i)
      if (index == body_.arguments[i]) return false;  // carried: the next iteration's tile is not known yet
    const auto defined = defined_here_.find(index);
    if (defined == defined_here_.end()) return true;
    const ir::Node& node = *defined->second;
    if (node.op != ir::Op::load || !reads_input(kernel_, node)) return false;
    for (std::size_t k = 1; k < node.operands.size(); ++k)
      if (!computable_ahead(node.operands[k], needed)) return false;
    index_load = &node;
    return true;
  }

  // The index of the last body node that reads the block loaded at `position`, directly or
  // through a view or elementwise expression of it (fused expressions are read where they
  // are consumed); the load itself when nothing does.
  std::size_t last_reader(std::size_t position) const {
    std::unordered_set<ir::ValueId> block = {body_.nodes[position].results[0]};
    std::size_t last = position;
    for (std::size_t i = position + 1; i < body_.nodes.size(); ++i) {
      const ir::Node& node = body_.nodes[i];
      if (!reads_any(node, block)) continue;
      last = i;
      const bool view_or_expression = ir::is_elementwise(node.op) || node.op == ir::Op::trans;
      if (view_or_expression && !node.results.empty() && kernel_.type_of(node.results[0]).is_tile())
        block.insert(node.results[0]);
    }
    return last;
  }

  const ir::Kernel& kernel_;
  const ir::Block& body_;
  std::unordered_map<ir::ValueId, const ir::Node*> defined_here_;
};

}  // namespace

std::unordered_map<const ir::Node*, LoopPrefetch> plan_prefetches(const ir::Kernel& kernel) {
  return plan_prefetches(kernel, ir::KernelIndex(kernel));
}

std::unordered_map<const ir::Node*, LoopPrefetch> plan_prefetches(const ir::Kernel& kernel,
                                                                  const ir::KernelIndex& index) {
  std::unordered_map<const ir::Node*, LoopPrefetch> plan;
  for (const ir::Node* node : index.preorder()) {
    if (node->op != ir::Op::for_range) continue;
    LoopPrefetch loop = LoopAnalysis(kernel, *node).run();
    if (!loop.loads.empty()) plan.emplace(node, std::move(loop));
  }
  return plan;
}

}  // namespace pto::cuda
