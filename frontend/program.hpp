// Program: a compiled workload. compile(target) compiles every kernel instance the workload
// calls (each once); execute() enumerates the tasks for the current sizes and tables and
// starts them; synchronize() waits and rethrows the first error; stats() says what ran.
//
//   Program program = wl.compile(Target::cpu());
//   program.set_size("n", 1000);          // DenseDyn("n") axes
//   program.execute();                    // returns while tasks run
//   program.synchronize();
//   fmt::print("{}\n", program.stats());
//
// Reuse: execute again after synchronize(), with new sizes and new table contents; no
// kernel is compiled again (stats().kernels_compiled counts compilations, all at compile).
//
// Targets (docs/workloads.md): interpreter (each task runs the reference interpreter on the
// executor's threads), cpu (LLVM-compiled kernels; a build without LLVM runs the
// interpreter and says so) and cuda (NVRTC-compiled kernels, tasks batched into launches:
// frontend/cuda_target.hpp). Every schedule option is honoured on the first two; the CUDA
// target rejects those it cannot honour when compiling.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "frontend/workload.hpp"

namespace pto {

struct ProgramStats {
  std::string target;
  std::int64_t executions = 0;        // execute() calls so far
  std::int64_t tasks = 0;             // tasks of the last execution
  std::int64_t kernels = 0;           // distinct kernel instances the program holds
  std::int64_t kernels_compiled = 0;  // compilations (all made by compile())
  double compile_ms = 0.0;
  double execute_ms = 0.0;  // last execute() to the end of its synchronize()
  // The host's part of the last execute(): enumerating its tasks (index expressions,
  // argument slots, dependencies: the compiled task list) and handing them over (the CPU:
  // task graph submission; CUDA: launch planning, the argument upload and the launches).
  double enumerate_ms = 0.0;
  double submit_ms = 0.0;
  std::vector<std::int64_t> tasks_per_worker;
  std::vector<std::int64_t> tasks_per_stream;  // empty without streams(n)
  std::int64_t steals = 0;
  std::int64_t bytes = 0;  // bytes of the tasks' views' elements, read and written (last execution)
  // Dependency edges between the last execution's tasks: inferred from their views
  // (Deps::infer, exact for strided views) and from stage and for_each order.
  std::int64_t edges = 0;
  double gb_per_s() const { return execute_ms > 0 ? static_cast<double>(bytes) / (execute_ms * 1e6) : 0.0; }
  // The host targets: whether the last execution's tasks were enumerated by the workers that
  // ran them (docs/workloads.md, "Worker enumeration"): no task graph, nothing per task on
  // the thread that called execute().
  bool workers_enumerated = false;
  // The CUDA target only (zero elsewhere):
  std::int64_t launches = 0;        // kernel launches of the last execution
  double device_ms = 0.0;           // GPU time from the inputs on the device to the last launch's end
  std::int64_t transfer_bytes = 0;  // host tensors copied to the device and back
  // Whether the last execution's tasks were enumerated on the device (docs/workloads.md,
  // "Device enumeration"): the kernels read the descriptor tables themselves.
  bool device_enumerated = false;
  // Graphs::on(), over all executions: graphs captured and instantiated, captured and
  // updated in place (same topology, new parameters), and replayed as they were.
  std::int64_t graph_captures = 0;
  std::int64_t graph_updates = 0;
  std::int64_t graph_replays = 0;
  double device_gb_per_s() const { return device_ms > 0 ? static_cast<double>(bytes) / (device_ms * 1e6) : 0.0; }

  std::string to_string() const;
  nlohmann::json to_json() const;
};

class Program {
 public:
  Program(const Workload& workload, Target target);  // Workload::compile
  ~Program();  // waits for running tasks (errors are dropped: call synchronize() to see them)
  Program(Program&&) noexcept;
  Program& operator=(Program&&) noexcept;

  void set_size(const std::string& name, std::int64_t value);
  void execute();
  void synchronize();

  const ProgramStats& stats() const;
  const Target& target() const;
  // Perfetto trace of the last execution (one track per worker); needs Trace::on().
  nlohmann::json trace() const;

 public:
  struct Impl;  // program.cpp; public so that its task enumerator can name it

 private:
  std::unique_ptr<Impl> impl_;
  nlohmann::json last_trace_;
};

}  // namespace pto

template <>
struct fmt::formatter<pto::ProgramStats> : fmt::formatter<std::string> {
  auto format(const pto::ProgramStats& stats, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(stats.to_string(), ctx);
  }
};
