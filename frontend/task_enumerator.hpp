// The part of executing a workload that every target shares: walk the statements for the
// current sizes and tables, resolve each call's views and scalars, and hand one task per
// call to the target's TaskSink with the tasks it must follow (for_each order, Deps::stages).
// Deps::infer is left to the sink, which gets each task's read and write byte ranges.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "dsl/arguments.hpp"
#include "frontend/workload.hpp"
#include "runtime/dependency_tracker.hpp"

namespace pto {

using TaskId = std::int64_t;

// One kernel call of one execution, resolved.
struct CallTask {
  const tl::KernelInstance* instance = nullptr;  // owned by the workload's call site
  Bindings args;                                 // one per kernel parameter, checked (check_binding) when enumerated
  std::vector<const Tensor*> tensors;            // per kernel parameter: the tensor its view is of, else null
  std::vector<ByteRange> reads, writes;          // the views' bytes by parameter role (Deps::infer only)
  std::int64_t bytes = 0;                        // bytes of its views' elements (read or written once)
  std::uint64_t key = 0;                         // the outermost loop index (TaskInfo::key)
  std::int64_t ordinal = 0;                      // 0, 1, ... in enumeration order
};

class TaskSink {
 public:
  virtual ~TaskSink() = default;
  // Adds a task that starts after all of `after`; returns its id.
  virtual TaskId add(CallTask task, std::vector<TaskId> after) = 0;
  // Adds a task without work that completes after all of `after` (a join point).
  virtual TaskId join(std::vector<TaskId> after) = 0;
};

using SizeBindings = std::vector<std::pair<std::string, std::int64_t>>;

class TaskEnumerator {
 public:
  TaskEnumerator(const Workload& workload, const SizeBindings& sizes, TaskSink& sink);

  // Enumerates every task; throws pto::Error (naming the call site) on a bad index or tier.
  void run();

  std::int64_t tasks() const { return tasks_; }
  std::int64_t bytes() const { return bytes_; }

 private:
  void run(const std::vector<Statement>& statements);
  void run_one(const Statement& statement);
  std::vector<TaskId> join(std::vector<TaskId> tasks);
  void call(const CallSite& site);

  const Workload& workload_;
  TaskSink& sink_;
  ExprEnv env_;
  std::vector<TaskId> after_;
  std::vector<std::vector<TaskId>*> collectors_;
  std::int64_t tasks_ = 0, bytes_ = 0;
};

// The names of the sizes (DenseDyn axes, Expr::size) anything in `statements` reads.
std::vector<std::string> size_names(const std::vector<Statement>& statements);

// Calls fn(site) for every call in `statements`, and fn(view, site) for every view argument.
void for_each_call(const std::vector<Statement>& statements, const std::function<void(const CallSite&)>& fn);
void for_each_view(const std::vector<Statement>& statements,
                   const std::function<void(const View&, const CallSite&)>& fn);

}  // namespace pto
