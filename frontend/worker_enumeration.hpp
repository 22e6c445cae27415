// Worker enumeration: the host targets' workers enumerate the tasks they run
// (docs/workloads.md, "Worker enumeration"), as the CUDA target's kernels do on the device
// (frontend/device_enumeration.hpp).
//
// For a workload of the shape both take (stage_structure_problem in
// frontend/task_recipes.hpp), and with no option that needs each task in a task graph
// (Ready::work_steal, an unbounded window, no trace), execute() evaluates only what is
// execution-invariant (every block's prepared part, the loops' bounds) and gives each
// worker one claim loop: a worker claims a run of iterations of the current statement (runs
// shrink as the statement drains, so the last ones balance), evaluates their index
// expressions into its own argument slots with the compiled recipes, and calls the kernels.
// Under Deps::stages a worker goes on to the next statement once every iteration of this one
// has finished; under streams(n) it claims a lane instead (the statement's tasks whose
// ordinal is k modulo n, run in order), which needs a fixed number of calls per iteration.
// No task graph, no per-task allocation, nothing per task on the submitting thread.
//
// A failed check stops the claims, and synchronize() reports the reference enumerator's
// error (the tasks that ran before have written their outputs); a kernel's exception stops
// them as well and is rethrown.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/kernel_abi.hpp"
#include "frontend/compiled_tasks.hpp"

namespace pto {

class WorkerEnumeration {
 public:
  using Runner = std::function<void(const ArgSlot*)>;  // one kernel on one task's slots

  // Why the workers cannot enumerate `workload` (empty: they can).
  static std::string unsupported(const Workload& workload, const CompiledTasks& compiled);

  // `runners` by CompiledTasks::instances() index; `claim_loops` loops run per execution.
  WorkerEnumeration(const Workload& workload, CompiledTasks& compiled, const std::vector<Runner>& runners,
                    int claim_loops);
  ~WorkerEnumeration();
  WorkerEnumeration(const WorkerEnumeration&) = delete;
  WorkerEnumeration& operator=(const WorkerEnumeration&) = delete;

  enum class Planned {
    on_workers,  // the claim loops may run
    failed,      // a loop's bound failed its check: nothing may run, the reference names it
    on_host,     // an execution-invariant part failed (a size not bound, a fixed row past its
                 // table): only the compiled task list knows whether a task reaches it
  };
  // On the submitting thread, before the claim loops of this execution run.
  Planned begin(const SizeBindings& sizes);
  int claim_loops() const noexcept;
  // Claim loop `loop` (< claim_loops()), run by executor worker `worker` (its tasks are
  // counted there).
  void work(int loop, int worker);

  // After every claim loop of the execution returned.
  bool failed() const noexcept;  // a task's check failed (its loop stopped the others)
  struct Totals {
    std::int64_t tasks = 0, bytes = 0, edges = 0;  // edges: stage_join_edges, as the list would have
    std::vector<std::int64_t> per_worker;          // by executor worker index (`workers` entries)
    std::vector<std::int64_t> per_stream;          // by lane; empty without streams(n)
  };
  Totals totals(int workers) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pto
