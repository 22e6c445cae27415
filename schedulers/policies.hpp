// Scheduling policies: the options a schedule selects (`wl.dispatch(...).streams(n)...`).
// Each is either honoured by the executor/task graph or rejected with an error that says
// which combination cannot work and why (validate()). Nothing is silently ignored.
//
//   Dispatch  where a ready task goes: a worker chosen round robin, by affinity(fn) (the
//             function picks the worker), by hash(fn) (key % workers), or work_steal (the
//             worker that made it ready, others steal).
//   Ready     the order a worker takes its ready tasks in: fifo (oldest first), work_steal
//             (own newest first, thieves take the oldest: Chase-Lev), priority (highest
//             TaskOptions::priority first, FIFO among equals).
//   Start     when tasks begin to run: threshold(n) (once n tasks were submitted, or the
//             graph was sealed) or after_orchestration (only once sealed).
//   Window    at most `limit` unfinished tasks (or declared bytes) in flight; a submission
//             beyond it stalls the submitter until tasks finish, or aborts with an error.
//   Timing    immediate (each ready task is handed to the workers at once) or batched(n)
//             (the submitter hands them over n at a time, and at seal/wait).
//   streams(n) n in-order lanes: tasks of one lane run one after another, in submission order.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace pto::sched {

using TaskId = std::int64_t;

// What policies see of a task.
struct TaskInfo {
  TaskId id = 0;
  std::string_view name;
  int priority = 0;
  int stream = -1;         // lane, or -1 for none
  std::uint64_t key = 0;   // user data for affinity/hash dispatch (e.g. a request index)
  std::int64_t bytes = 0;  // declared footprint, for byte windows
};

struct Dispatch {
  enum class Kind { round_robin, affinity, hash, work_steal };
  Kind kind = Kind::work_steal;
  std::function<int(const TaskInfo&)> affinity_fn;
  std::function<std::uint64_t(const TaskInfo&)> hash_fn;

  static Dispatch round_robin() { return {Kind::round_robin, {}, {}}; }
  static Dispatch affinity(std::function<int(const TaskInfo&)> fn) { return {Kind::affinity, std::move(fn), {}}; }
  static Dispatch hash(std::function<std::uint64_t(const TaskInfo&)> fn) { return {Kind::hash, {}, std::move(fn)}; }
  static Dispatch work_steal() { return {Kind::work_steal, {}, {}}; }
};

struct Ready {
  enum class Kind { fifo, work_steal, priority };
  Kind kind = Kind::work_steal;
  static Ready fifo() { return {Kind::fifo}; }
  static Ready work_steal() { return {Kind::work_steal}; }
  static Ready priority() { return {Kind::priority}; }
};

struct Start {
  enum class Kind { threshold, after_orchestration };
  Kind kind = Kind::threshold;
  std::int64_t threshold_tasks = 1;
  static Start threshold(std::int64_t n) { return {Kind::threshold, n}; }
  static Start after_orchestration() { return {Kind::after_orchestration, 0}; }
};

struct Window {
  enum class Unit { unbounded, tasks, bytes };
  enum class Mode { stall, abort };
  Unit unit = Unit::unbounded;
  std::int64_t limit = 0;
  Mode mode = Mode::stall;
  static Window unbounded() { return {}; }
  static Window tasks(std::int64_t n, Mode mode = Mode::stall) { return {Unit::tasks, n, mode}; }
  static Window bytes(std::int64_t n, Mode mode = Mode::stall) { return {Unit::bytes, n, mode}; }
};

struct Timing {
  enum class Kind { immediate, batched };
  Kind kind = Kind::immediate;
  std::int64_t batch = 1;
  static Timing immediate() { return {Kind::immediate, 1}; }
  static Timing batched(std::int64_t n) { return {Kind::batched, n}; }
};

// The executor's part: worker count and queue structure.
struct ExecutorOptions {
  int workers = 0;  // 0: std::thread::hardware_concurrency()
  Dispatch dispatch = Dispatch::work_steal();
  Ready ready = Ready::work_steal();
};

// The task graph's part: submission-side policies.
struct GraphOptions {
  Start start = Start::threshold(1);
  Window window = Window::unbounded();
  int streams = 0;  // 0: no lanes
  Timing timing = Timing::immediate();
  bool trace = false;  // record per-task start/end for a Perfetto trace
};

// Throw pto::Error naming the option and the fix when a value or combination cannot work.
void validate(const ExecutorOptions& options);
void validate(const GraphOptions& options);

std::string_view name(Dispatch::Kind kind) noexcept;
std::string_view name(Ready::Kind kind) noexcept;

}  // namespace pto::sched
