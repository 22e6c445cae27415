// The compiled form of a workload's task list: what a Program re-executes (docs/workloads.md,
// "Re-execution").
//
// Built once, when the workload is compiled: every statement's index expressions become a
// block of straight-line code (frontend/expr_code.hpp), every kernel call a list of argument
// recipes (view base, offset, extents, bounds and the parameter's shape checks), and what the
// dependency rules need is decided once: which tensors can order tasks at all. Under
// Deps::infer only tensors that some call writes, and tensors whose memory overlaps those,
// are tracked: reads of memory no task writes never order tasks, so q, K and V of decode
// attention cost nothing.
//
// enumerate() then walks the statements for the current sizes and tables and fills a
// TaskList: per task its kernel, its ABI argument slots (ArgSlot rows in one flat array, the
// layout every backend reads), its bytes and its predecessors (for_each order, Deps::stages
// joins, Deps::infer), with no allocation per task once the list's capacity suffices. It
// returns false when a check fails (a bad index, tier, bound, shape or divisor); the caller
// then runs the reference enumerator (frontend/task_enumerator.hpp) for the error, which
// names the call site.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/kernel_abi.hpp"
#include "frontend/task_enumerator.hpp"

namespace pto {

struct CompiledStatement;
struct SiteRecipe;
class ExprLeaves;
struct CodeInputs;

// One execution's tasks and joins, in enumeration order (node ids are indices).
struct TaskList {
  struct Node {
    int kernel = -1;                              // index into CompiledTasks::instances(); -1: a join (no work)
    int site = -1;                                // index into CompiledTasks::sites()
    std::int64_t first_slot = 0;                  // its kernel's parameters' slots: slots[first_slot ...]
    std::int64_t bytes = 0;                       // bytes of its views' elements
    std::uint64_t key = 0;                        // the outermost loop index (TaskInfo::key)
    std::int64_t ordinal = 0;                     // among tasks (joins not counted)
    std::int64_t first_after = 0, end_after = 0;  // its predecessors: after[first_after, end_after)
  };
  std::vector<Node> nodes;
  std::vector<ArgSlot> slots;
  std::vector<TaskId> after;
  // Per CompiledTasks::tensors(): whether this execution's tasks view it, and write it.
  std::vector<char> used, written;
  std::int64_t tasks = 0, bytes = 0;

  std::int64_t edges() const noexcept { return static_cast<std::int64_t>(after.size()); }
};

class CompiledTasks {
 public:
  explicit CompiledTasks(const Workload& workload);
  ~CompiledTasks();
  CompiledTasks(CompiledTasks&&) noexcept;
  CompiledTasks& operator=(CompiledTasks&&) noexcept;

  // The distinct kernel instances the workload calls (one per structural hash, in call
  // order): a target compiles each once; TaskList::Node::kernel indexes this list.
  const std::vector<const tl::KernelInstance*>& instances() const noexcept;
  // The distinct tensors the workload views; for each call site, per argument, the index of
  // the tensor its view is of (-1 for scalars).
  const std::vector<Tensor>& tensors() const noexcept;
  const std::vector<int>& site_tensors(int site) const;
  // Whether Deps::infer tracks a tensor's bytes (it is written, or overlaps one that is).
  bool tracked(int tensor) const;

  // Fills `list` for the current sizes and tables (reusing its capacity); false when a check
  // failed, and `list` is then incomplete.
  bool enumerate(const SizeBindings& sizes, TaskList& list);

  // The parts (frontend/task_recipes.hpp), for the CUDA target's device enumeration.
  const std::vector<CompiledStatement>& statements() const noexcept;
  const std::vector<SiteRecipe>& sites() const noexcept;
  const ExprLeaves& leaves() const noexcept;
  // Evaluates every block's execution-invariant part (prepare) for these sizes and tables;
  // returns the inputs the blocks read.
  const CodeInputs& prepare(const SizeBindings& sizes);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Runs the reference enumerator for the error that made enumerate() return false (it names
// the call site, the argument and the values); an InternalError if it finds none.
[[noreturn]] void throw_enumeration_error(const Workload& workload, const SizeBindings& sizes);

}  // namespace pto
