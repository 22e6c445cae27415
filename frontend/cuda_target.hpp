// The CUDA target of a Program (docs/workloads.md, "The CUDA target").
//
// compile: every kernel instance the workload calls is compiled by NVRTC once; with
// Dispatch::work_steal, one persistent kernel over all of their task bodies as well.
//
// execute: the tasks are enumerated as on the other targets, then grouped into launches:
// a task's level is the length of the longest dependency chain before it, and the tasks of
// one level become one launch per kernel instance (a grid, one CTA per task: Dispatch::
// round_robin) or one launch of the persistent kernel (Dispatch::work_steal), at most
// Timing::batched(n) tasks each. Launches go round robin over streams(n) CUDA streams; a
// launch whose tasks depend on another stream's launch waits for that launch's event. Each
// task's arguments (ArgSlots with device pointers) for the whole execution are uploaded in
// one copy. Host tensors are copied to the device before the first launch and the ones
// written are copied back in synchronize(); device tensors (Tensor::device) stay put.
//
// synchronize: waits, copies written host tensors back, and turns the first recorded fault
// (in launch order) into the same pto::Error the interpreter raises.
#pragma once

#include <memory>

#include "frontend/task_enumerator.hpp"

namespace pto {

struct ProgramStats;

class CudaTarget {
 public:
  // Checks the schedule against what the GPU honours and compiles (errors name the option).
  CudaTarget(const Workload& workload, int device, ProgramStats& stats);
  ~CudaTarget();
  CudaTarget(const CudaTarget&) = delete;
  CudaTarget& operator=(const CudaTarget&) = delete;

  // Enumerates, uploads and queues every launch; returns while they run.
  void execute(const SizeBindings& sizes, ProgramStats& stats);
  // Waits for the launches and the copies back; throws the first fault's error.
  void synchronize(ProgramStats& stats);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pto
