// Code generation: a verified kernel instance -> readable CUDA C++ (one CTA per task).
//
// The generated function has the CUDA task ABI:
//
//   extern "C" __global__ void pto_kernel_<hash>(const pto::ArgSlot* tasks, int task_count,
//                                                unsigned char* tile_scratch, pto::Fault* fault)
//
// CTA b runs task b: its parameters are tasks[b * params .. b * params + params), one
// ArgSlot per parameter as on the CPU (core/kernel_abi.hpp), with device pointers.
// The entry calls the task body, `pto_body_<hash>(args, task, tiles, fault)`, a device
// function that persistent kernels (generate_persistent, below) call too.
//
// How values map onto the CTA (`threads_per_cta` threads):
// - scalars are registers, computed redundantly by every thread (so control flow that
//   depends on them is uniform: loops, bounds checks and early exits need no vote);
// - elementwise chains are fused: a single-use elementwise result is computed inside its
//   consumer's loop, in registers (ir::KernelIndex::fused), and `full`, `iota` and `trans` are
//   never stored (a literal, an index, swapped indices);
// - every other tile is stored once, in shared memory (or, when the kernel's tiles exceed
//   shared_limit_bytes, in a per-CTA slice of `tile_scratch` in global memory), each
//   thread writing elements tid, tid + threads, ... and a barrier publishing it. Rows of
//   multi-row tiles are padded to an odd number of 32-bit words so that column walks (the
//   K operand of QK^T) are free of bank conflicts;
// - loads move 16 bytes per thread per step when the rows are full and aligned (checked at
//   run time), element by element otherwise; a loop fetches the loads it can compute for
//   its next index one iteration ahead with cp.async (prefetch_plan.hpp); row reductions give each warp a row and
//   finish with warp shuffles; matmul of f16/bf16 operands on mma shapes runs on tensor
//   cores (mma.sync m16n8k16, M padded to 16), every other matmul gives each thread output
//   elements and runs FMA over K.
// Faults (a valid region outside its tensor, integer division by zero) are recorded in
// `fault` (first one wins) and end the task.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dsl/ir.hpp"
#include "dsl/kernel_index.hpp"

namespace pto::cuda {

inline constexpr int threads_per_cta = 128;
inline constexpr std::int64_t shared_limit_bytes = 160 * 1024;

struct GeneratedKernel {
  std::string source;       // includes "pto_cuda_support.h" (support_header.hpp)
  std::string symbol;       // pto_kernel_<hash>: the grid entry
  std::string body;         // the task body, a __device__ function (part of `source`)
  std::string body_symbol;  // pto_body_<hash>
  int params = 0;           // ArgSlots per task
  int threads = threads_per_cta;
  std::int64_t tile_bytes = 0;  // per CTA
  bool tiles_in_shared = true;  // false: the launcher passes tile_bytes of global memory per CTA
  bool async_copies = false;    // some loop fetches its blocks ahead with cp.async (sm_80+)
  std::int64_t shared_bytes() const { return tiles_in_shared ? tile_bytes : 0; }
};

GeneratedKernel generate_cuda(const ir::Kernel& kernel, const ir::KernelIndex& index, std::uint64_t structural_hash);
// The same, indexing the kernel first (tests; CudaKernel passes its instance's index).
GeneratedKernel generate_cuda(const ir::Kernel& kernel, std::uint64_t structural_hash);

// A persistent kernel over several kernel instances' bodies (Dispatch::work_steal on the
// CUDA target):
//
//   extern "C" __global__ void pto_persistent_<hash>(const pto::ArgSlot* tasks,
//       const int* kernel_of, int task_count, int* counter, unsigned char* tile_scratch,
//       pto::Fault* fault, const int* order, const unsigned long long* abort,
//       unsigned* finished, unsigned ctas, unsigned long long* control, int control_words,
//       unsigned long long* publish_to)
//
// The grid is as many CTAs as fit on the device at once; each CTA claims indices from
// *counter (zeroed by the launcher) with atomicAdd until task_count is reached; claim c is
// task t = order[c] (t = c without an order) and runs body number kernel_of[t] on
// tasks[t * slots_per_task ..] (a kernel index that names no body: an empty slot, skipped).
// Claims follow the array order, which the host sorts longest task first, or the order a
// device enumeration computed. A nonzero *abort (a failed device enumeration) runs nothing.
// With a non-null publish_to, every CTA of the execution's launches counts itself in
// *finished (a word of the control block), and the one that makes it `ctas` copies the
// control_words words of `control` (faults, counters) to publish_to (page-locked host
// memory) and zeroes them: the host needs no copy after the launches, and the next
// execution no reset before them.
struct PersistentKernel {
  std::string source;
  std::string symbol;
  int kernel_count = 0;
  int slots_per_task = 0;       // the most parameters of any body
  std::int64_t tile_bytes = 0;  // the largest body's tile space, per CTA
  bool tiles_in_shared = true;
  bool async_copies = false;
  std::int64_t shared_bytes() const { return tiles_in_shared ? tile_bytes : 0; }
};

PersistentKernel generate_persistent(const std::vector<GeneratedKernel>& kernels);

}  // namespace pto::cuda
