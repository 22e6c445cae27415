#include "frontend/task_recipes.hpp"

#include <limits>

#include "dsl/type_rules.hpp"
#include "frontend/compiled_tasks.hpp"
#include "frontend/tensor.hpp"

namespace pto {

bool resolve_view_slot(const ArgRecipe& arg, const std::int64_t* r, ArgSlot& slot, std::int64_t& bytes) {
  for (const ArgRecipe::Bound& check : arg.bounds) {
    if (!View::in_bounds(r[check.value], r[check.count], r[check.extent])) return false;
  }
  slot.data = arg.base + r[arg.offset] * arg.element;
  if (arg.rank == 0) {
    slot.rows = slot.cols = slot.stride = 1;
  } else if (arg.rank == 1) {
    slot.rows = 1;
    slot.cols = slot.stride = r[arg.cols];
  } else {
    slot.rows = r[arg.rows];
    slot.cols = r[arg.cols];
    slot.stride = arg.row_stride != 0 ? arg.row_stride : slot.cols;  // TensorView::stride()
  }
  // check_binding's shape rules.
  if (slot.rows < 0 || slot.cols < 0 || slot.stride < slot.cols) return false;
  if ((arg.want_rows != ir::dynamic_extent && arg.want_rows != slot.rows) ||
      (arg.want_cols != ir::dynamic_extent && arg.want_cols != slot.cols)) {
    return false;
  }
  bytes += slot.rows * slot.cols * arg.element;
  return true;
}

bool resolve_scalar_slot(const ArgRecipe& arg, const std::int64_t* r, ArgSlot& slot) {
  if (arg.kind == ArgRecipe::Kind::number) {
    slot.number = arg.number;
    return true;
  }
  const std::int64_t value = r[arg.value];
  if (arg.to_number) {
    slot.number = static_cast<double>(value);
    return !arg.check_float || ir::check_number(arg.param_dtype, slot.number).empty();
  }
  if (arg.check_i32 &&
      (value < std::numeric_limits<std::int32_t>::min() || value > std::numeric_limits<std::int32_t>::max())) {
    return false;
  }
  slot.integer = value;
  slot.number = static_cast<double>(value);
  return true;
}

bool has_loop(const std::vector<CompiledStatement>& list) {
  for (const CompiledStatement& s : list) {
    if (s.kind != Statement::Kind::call && s.kind != Statement::Kind::when) return true;
    if (has_loop(s.body) || has_loop(s.otherwise)) return true;
  }
  return false;
}

void for_each_block(const std::vector<CompiledStatement>& list, const std::vector<SiteRecipe>& sites,
                    const std::function<void(const ExprBlock&)>& fn) {
  for (const CompiledStatement& s : list) {
    if (s.kind == Statement::Kind::call) {
      fn(sites[static_cast<std::size_t>(s.site)].block);
    } else {
      fn(s.block);
      for_each_block(s.body, sites, fn);
      for_each_block(s.otherwise, sites, fn);
    }
  }
}

void for_each_site(const std::vector<CompiledStatement>& list, const std::function<void(int)>& fn) {
  for (const CompiledStatement& s : list) {
    if (s.kind == Statement::Kind::call) fn(s.site);
    for_each_site(s.body, fn);
    for_each_site(s.otherwise, fn);
  }
}

std::string stage_structure_problem(const Workload& workload, const CompiledTasks& compiled) {
  const Schedule& schedule = workload.schedule();
  if (schedule.dispatch.kind != Dispatch::Kind::work_steal) return "only Dispatch::work_steal()";
  if (schedule.deps.kind == Deps::Kind::infer) return "Deps::infer finds dependencies from every task's views";
  if (schedule.timing.kind != Timing::Kind::immediate) return "Timing::batched splits the tasks into batches";
  for (const CompiledStatement& s : compiled.statements()) {
    if (s.kind != pto::Statement::Kind::parallel_for) return "a top-level statement that is not a parallel_for";
    if (!s.block.invariant(s.first) || !s.block.invariant(s.second)) return "a loop whose bounds vary";
    if (has_loop(s.body)) return "a loop inside a parallel_for body";
    std::string problem;
    for_each_block(s.body, compiled.sites(), [&](const ExprBlock& block) {
      for (const int slot : block.vars_read())
        if (slot != s.slot) problem = "an index expression reading another loop's index";
    });
    for_each_site(s.body, [&](int site) {
      for (const ArgRecipe& arg : compiled.sites()[static_cast<std::size_t>(site)].args)
        if (arg.fails) problem = "an argument its parameter rejects";
    });
    if (!problem.empty()) return problem;
  }
  return {};
}

std::int64_t stage_join_edges(Deps::Kind deps, const std::vector<std::int64_t>& tasks_per_statement) {
  if (deps != Deps::Kind::stages) return 0;
  std::int64_t edges = 0, after = 0;
  for (const std::int64_t tasks : tasks_per_statement) {
    edges += tasks * after;
    if (tasks > 1) {
      edges += tasks;  // into the join
      after = 1;
    } else if (tasks == 1) {
      after = 1;
    }
  }
  return edges;
}

}  // namespace pto
