// The unit the executor runs. The task graph (runtime/task_graph.hpp) owns tasks and their
// dependency bookkeeping; the executor only moves ready tasks to workers and calls
// runner->run_task(task, worker) on one of them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "schedulers/policies.hpp"
#include "schedulers/spin_lock.hpp"

namespace pto::sched {

struct Task;

class TaskRunner {
 public:
  // Runs `task` on worker `worker`, then makes its successors ready. Completions may be
  // counted worker-locally and published in batches; returns true when this worker holds
  // completions of this runner not yet published. The executor then calls
  // publish_completions(worker) before the worker idles or runs another runner's task, and
  // never touches the runner again after a run_task that returned false (the runner may
  // be gone by then: its owner saw every completion).
  virtual bool run_task(Task& task, int worker) = 0;
  virtual void publish_completions(int worker) = 0;

 protected:
  ~TaskRunner() = default;
};

struct Task {
  std::string name;
  TaskInfo info;  // info.name views `name`
  TaskRunner* runner = nullptr;
  std::function<void()> work;
  int target_worker = -1;         // affinity/hash dispatch: fixed at submission
  std::uint64_t ready_order = 0;  // FIFO tie-break among equal priorities

  // Dependency counting: unfinished predecessors, plus one "submission hold" that the
  // graph drops once every edge into the task is in place (so a task cannot start while
  // its edges are still being added, even while the graph runs).
  std::atomic<std::int32_t> pending{1};
  SpinLock lock;  // guards finished and successors
  bool finished = false;
  std::vector<Task*> successors;
};

}  // namespace pto::sched
