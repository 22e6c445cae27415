#include "schedulers/policies.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace pto::sched {

std::string_view name(Dispatch::Kind kind) noexcept {
  switch (kind) {
    case Dispatch::Kind::round_robin: return "Dispatch::round_robin";
    case Dispatch::Kind::affinity: return "Dispatch::affinity";
    case Dispatch::Kind::hash: return "Dispatch::hash";
    case Dispatch::Kind::work_steal: return "Dispatch::work_steal";
  }
  return "?";
}

std::string_view name(Ready::Kind kind) noexcept {
  switch (kind) {
    case Ready::Kind::fifo: return "Ready::fifo";
    case Ready::Kind::work_steal: return "Ready::work_steal";
    case Ready::Kind::priority: return "Ready::priority";
  }
  return "?";
}

void validate(const ExecutorOptions& options) {
  if (options.workers < 0) {
    throw Error(
        fmt::format("executor: workers = {}; use a positive count, or 0 for one per hardware thread", options.workers));
  }
  if (options.ready.kind == Ready::Kind::work_steal && options.dispatch.kind != Dispatch::Kind::work_steal) {
    throw Error(
        fmt::format("executor: Ready::work_steal needs Dispatch::work_steal (with {} a task belongs to the "
                    "worker it was dispatched to, so nobody may steal it); use Ready::fifo or Ready::priority",
                    name(options.dispatch.kind)));
  }
  if (options.dispatch.kind == Dispatch::Kind::affinity && !options.dispatch.affinity_fn) {
    throw Error("executor: Dispatch::affinity needs a function from TaskInfo to a worker index");
  }
  if (options.dispatch.kind == Dispatch::Kind::hash && !options.dispatch.hash_fn) {
    throw Error("executor: Dispatch::hash needs a function from TaskInfo to a key");
  }
}

void validate(const GraphOptions& options) {
  if (options.start.kind == Start::Kind::threshold && options.start.threshold_tasks < 1) {
    throw Error(fmt::format("task graph: Start::threshold({}): the threshold must be at least 1 task",
                            options.start.threshold_tasks));
  }
  if (options.window.unit != Window::Unit::unbounded && options.window.limit < 1) {
    throw Error(fmt::format("task graph: a window of {} {} admits nothing; use a limit of at least 1",
                            options.window.limit, options.window.unit == Window::Unit::tasks ? "tasks" : "bytes"));
  }
  const bool stalls = options.window.unit != Window::Unit::unbounded && options.window.mode == Window::Mode::stall;
  if (stalls && options.start.kind == Start::Kind::after_orchestration) {
    throw Error(
        "task graph: a stalling Window with Start::after_orchestration would deadlock (nothing runs until the "
        "graph is sealed, so a full window never drains); use Start::threshold(n) or Window::Mode::abort");
  }
  if (stalls && options.window.unit == Window::Unit::tasks && options.start.kind == Start::Kind::threshold &&
      options.start.threshold_tasks > options.window.limit) {
    throw Error(
        fmt::format("task graph: Start::threshold({}) with a stalling window of {} tasks would deadlock (the "
                    "window fills before the threshold is reached); use a threshold <= the window",
                    options.start.threshold_tasks, options.window.limit));
  }
  if (options.streams < 0)
    throw Error(fmt::format("task graph: streams({}) must be 0 (no lanes) or more", options.streams));
  if (options.timing.kind == Timing::Kind::batched && options.timing.batch < 1) {
    throw Error(
        fmt::format("task graph: Timing::batched({}): the batch must hold at least 1 task", options.timing.batch));
  }
}

}  // namespace pto::sched
