// Schedule options of a workload and the targets it compiles for.
//
//   auto program = wl.dispatch(Dispatch::work_steal()).streams(4).timing(Timing::immediate())
//                    .task_graph(Deps::infer(), Ready::work_steal(), Start::threshold(1))
//                    .compile(Target::cpu());
//
// Dispatch, Ready, Start, Window and Timing are the executor's and task graph's policies
// (schedulers/policies.hpp). Added here:
//   Deps    how tasks are ordered besides for_each: infer (from the bytes each task's views
//           read and write: read-after-write, write-after-write, write-after-read), stages
//           (every task of a top-level statement waits for all tasks of the one before),
//           none (only for_each order and stream lanes).
//   Trace   record per-task start/end times (Program::trace(), Perfetto JSON).
//   Pools   worker threads of the CPU target (0: one per hardware thread).
//   Graphs  replay an execution's launches as a CUDA graph (the CUDA target).
// Each option is honoured by a target or rejected by compile() with an error naming the
// target (docs/workloads.md has the table).
#pragma once

#include <string>
#include <string_view>

#include "schedulers/policies.hpp"

namespace pto {

using sched::Dispatch;
using sched::Ready;
using sched::Start;
using sched::Timing;
using sched::Window;

struct Deps {
  enum class Kind { infer, stages, none };
  Kind kind = Kind::infer;
  static Deps infer() { return {Kind::infer}; }
  static Deps stages() { return {Kind::stages}; }
  static Deps none() { return {Kind::none}; }
};

struct Trace {
  bool enabled = false;
  static Trace on() { return {true}; }
  static Trace off() { return {false}; }
};

// CUDA graphs (the CUDA target): an execution's argument copy and launches are captured
// once as a graph and replayed; a later execution of another shape (other task counts)
// updates the graph in place. Host targets reject it.
struct Graphs {
  bool enabled = false;
  static Graphs on() { return {true}; }
  static Graphs off() { return {false}; }
};

struct Pools {
  int threads = 0;  // 0: one per hardware thread
  static Pools workers(int n) { return {n}; }
};

struct Target {
  enum class Kind { interpreter, cpu, cuda };
  Kind kind = Kind::cpu;
  int device = 0;
  static Target interpreter() { return {Kind::interpreter, 0}; }  // the reference semantics
  static Target cpu() { return {Kind::cpu, 0}; }                  // LLVM kernels on worker threads
  static Target cuda(int device = 0) { return {Kind::cuda, device}; }
};

std::string_view name(Target::Kind kind) noexcept;
std::string_view name(Deps::Kind kind) noexcept;

// Everything a schedule sets.
struct Schedule {
  Dispatch dispatch = Dispatch::work_steal();
  int streams = 0;
  Timing timing = Timing::immediate();
  Deps deps = Deps::infer();
  Window window = Window::unbounded();
  Ready ready = Ready::work_steal();
  Start start = Start::threshold(1);
  bool start_given = false;  // set by task_graph(Start): targets that launch later reject a threshold
  Trace trace = Trace::off();
  Graphs graphs = Graphs::off();
  Pools pools;
};

}  // namespace pto
