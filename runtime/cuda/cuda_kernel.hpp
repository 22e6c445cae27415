// A kernel instance on the CUDA backend: generated (cuda_codegen.hpp), compiled by NVRTC
// for the target arch (nvrtc_compiler.hpp: the device's own, sm_90 without a device), and
// run through the driver API (device.hpp).
//
//   cuda::CudaKernel kernel(decode.tier(2));       // compiles; needs no GPU
//   kernel.run(KernelArgs().set("q", ...)...);      // one task on the device, host buffers
//
// run() is the single-task convenience the tests use: it checks the arguments exactly as
// the interpreter does, copies every tensor to the device, launches one CTA, copies the
// outputs back and turns a fault into the interpreter's pto::Error. Many tasks at once go
// through launch(): one ArgSlot array per task (device pointers), one CTA per task.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "core/kernel_abi.hpp"
#include "dsl/arguments.hpp"
#include "dsl/builder.hpp"
#include "runtime/cuda/cuda_codegen.hpp"
#include "runtime/cuda/device.hpp"
#include "runtime/cuda/nvrtc_compiler.hpp"

namespace pto::cuda {

// The arch kernels are compiled for on this machine: device 0's, or sm_90 without one.
int target_arch();

class CudaKernel {
 public:
  explicit CudaKernel(tl::KernelInstance instance, int arch = target_arch());

  const tl::KernelInstance& instance() const noexcept { return instance_; }
  const GeneratedKernel& generated() const noexcept { return generated_; }
  const Cubin& cubin() const noexcept { return cubin_; }

  // One task on `device` with host buffers (see above).
  void run(const KernelArgs& args, const std::shared_ptr<Device>& device = Device::get()) const;

  // `tasks` CTAs; task_slots holds tasks x params ArgSlots (device pointers). `fault` holds
  // one KernelFault (zeroed by the caller). Asynchronous on `stream`.
  void launch(const std::shared_ptr<Device>& device, const DeviceBuffer& task_slots, int tasks,
              const DeviceBuffer& fault, const Stream& stream) const;
  // The same with every address given: `tile_scratch` must hold tasks x tile_bytes when the
  // tiles are not in shared memory (scratch_bytes(tasks)); callers that launch on several
  // streams at once give each stream its own.
  void launch(const std::shared_ptr<Device>& device, CUdeviceptr task_slots, int tasks, CUdeviceptr tile_scratch,
              CUdeviceptr fault, const Stream& stream) const;
  std::size_t scratch_bytes(int tasks) const;

  // Throws the interpreter's pto::Error for a recorded fault; `slots` are the faulting
  // task's ArgSlots (for the tensor's shape in bounds messages). No-op without a fault.
  void raise(const KernelFault& fault, std::span<const ArgSlot> slots) const;

 private:
  CUfunction function(const std::shared_ptr<Device>& device) const;

  tl::KernelInstance instance_;
  GeneratedKernel generated_;
  Cubin cubin_;
  std::string what_;  // "kernel '<name>'", for errors (built once: launches are a hot path)
  mutable std::mutex mutex_;
  mutable std::shared_ptr<Module> module_;
  mutable CUfunction function_ = nullptr;
  mutable std::unique_ptr<DeviceBuffer> scratch_;  // tile memory when tiles do not fit in shared memory
};

// The control block's copy to the host by an execution's last persistent CTA
// (generate_persistent); to == 0: none.
struct PersistentPublish {
  CUdeviceptr finished = 0;  // an unsigned counter in the control block
  unsigned ctas = 0;         // of every launch that publishes in this execution
  CUdeviceptr control = 0;   // the control block, zero when the first launch starts
  int control_words = 0;     // its 8-byte words, copied and zeroed by the last CTA
  CUdeviceptr to = 0;        // page-locked host memory
};

// Dispatch::work_steal on the GPU: one persistent kernel over several kernels' task bodies
// (generate_persistent), CTAs claiming tasks through an atomic counter.
//
//   PersistentCudaKernel persistent({&tier0, &tier1});  // compiles; needs no GPU
//   persistent.launch(device, slots, kernel_of, tasks, counter, scratch, fault, stream);
//
// slots: tasks x generated().slots_per_task ArgSlots (a kernel with fewer parameters
// leaves the rest unused); kernel_of: tasks ints, the index of each task's kernel in the
// constructor's list; counter: one int, zero at launch; fault: one KernelFault, whose task
// is an index into these arrays. The arrays' order is the claim order.
class PersistentCudaKernel {
 public:
  explicit PersistentCudaKernel(std::vector<const CudaKernel*> kernels, int arch = target_arch());

  const PersistentKernel& generated() const noexcept { return generated_; }
  const Cubin& cubin() const noexcept { return cubin_; }

  // A launch needs only the tile space of the bodies its tasks run (`tile_bytes`, at most
  // generated().tile_bytes): with tiles in shared memory, that is its dynamic shared
  // memory, so launches of small bodies fit more CTAs per multiprocessor.
  // The grid: CTAs resident on `device` at once with that much shared memory.
  unsigned grid(const std::shared_ptr<Device>& device, std::int64_t tile_bytes) const;
  std::size_t scratch_bytes(const std::shared_ptr<Device>& device) const;  // 0 with tiles in shared memory

  // The CTAs a launch of `tasks` tasks with `tile_bytes` of tile space runs.
  unsigned ctas(const std::shared_ptr<Device>& device, int tasks, std::int64_t tile_bytes) const;
  // `order` and `abort` (0 for none): see generate_persistent.
  void launch(const std::shared_ptr<Device>& device, CUdeviceptr slots, CUdeviceptr kernel_of, int tasks,
              std::int64_t tile_bytes, CUdeviceptr counter, CUdeviceptr tile_scratch, CUdeviceptr fault,
              const Stream& stream, CUdeviceptr order = 0, CUdeviceptr abort = 0,
              const PersistentPublish& publish = {}) const;

 private:
  CUfunction function(const std::shared_ptr<Device>& device) const;
  std::size_t shared_bytes(std::int64_t tile_bytes) const;

  PersistentKernel generated_;
  Cubin cubin_;
  std::string what_;
  mutable std::mutex mutex_;
  mutable std::shared_ptr<Module> module_;
  mutable CUfunction function_ = nullptr;
  mutable std::map<std::size_t, unsigned> grids_;  // by dynamic shared bytes
};

}  // namespace pto::cuda
