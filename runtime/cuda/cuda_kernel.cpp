#include "runtime/cuda/cuda_kernel.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/kernel_abi.hpp"
#include "dsl/kernel_faults.hpp"
#include "runtime/arg_slot.hpp"
#include "runtime/cuda/device_probe.hpp"
#include "runtime/cuda/nvrtc_info.hpp"

namespace pto::cuda {

int target_arch() {
  static const int arch = [] {
    const CudaProbe probe = probe_cuda();
    const NvrtcInfo nvrtc = query_nvrtc();
    return choose_target_arch(probe.devices, nvrtc.supported_archs).arch;
  }();
  return arch;
}

CudaKernel::CudaKernel(tl::KernelInstance instance, int arch) : instance_(std::move(instance)) {
  if (!instance_.valid()) throw Error("cuda kernel: the kernel instance is empty (default-constructed)");
  generated_ = generate_cuda(instance_.ir(), instance_.index(), instance_.hash());
  what_ = fmt::format("kernel '{}'", instance_.name());
  cubin_ = NvrtcCompiler::instance().compile(generated_, instance_.name(), arch);
}

CUfunction CudaKernel::function(const std::shared_ptr<Device>& device) const {
  std::lock_guard<std::mutex> guard(mutex_);
  if (function_ == nullptr) {
    if (device->arch() != cubin_.arch) {
      throw Error(fmt::format("cuda kernel '{}' was compiled for sm_{}, but {} is sm_{}", instance_.name(), cubin_.arch,
                              device->name(), device->arch()));
    }
    module_ = std::make_shared<Module>(device, cubin_.image, what_);
    function_ = module_->function(generated_.symbol);
  }
  return function_;
}

std::size_t CudaKernel::scratch_bytes(int tasks) const {
  if (generated_.tiles_in_shared) return 0;
  return static_cast<std::size_t>(generated_.tile_bytes) * static_cast<std::size_t>(tasks);
}

void CudaKernel::launch(const std::shared_ptr<Device>& device, const DeviceBuffer& task_slots, int tasks,
                        const DeviceBuffer& fault, const Stream& stream) const {
  CUdeviceptr scratch = 0;
  if (!generated_.tiles_in_shared) {
    // Tiles too large for shared memory live in global memory, a slice per CTA. The buffer
    // only grows; launches of one such kernel on two streams at once would share it, so
    // they are serialised by the caller (the single-task run() and the benchmarks are).
    std::lock_guard<std::mutex> guard(mutex_);
    const std::size_t bytes = scratch_bytes(tasks);
    if (!scratch_ || scratch_->bytes() < bytes) scratch_ = std::make_unique<DeviceBuffer>(device, bytes);
    scratch = scratch_->address();
  }
  launch(device, task_slots.address(), tasks, scratch, fault.address(), stream);
}

void CudaKernel::launch(const std::shared_ptr<Device>& device, CUdeviceptr task_slots, int tasks,
                        CUdeviceptr tile_scratch, CUdeviceptr fault, const Stream& stream) const {
  const CUfunction entry = function(device);
  int task_count = tasks;
  void* parameters[] = {&task_slots, &task_count, &tile_scratch, &fault};
  LaunchShape shape;
  shape.grid = static_cast<unsigned>(tasks);
  shape.block = static_cast<unsigned>(generated_.threads);
  shape.shared_bytes = static_cast<std::size_t>(generated_.shared_bytes());
  cuda::launch(*device, entry, shape, stream, parameters, what_);
}

void CudaKernel::raise(const KernelFault& fault, std::span<const ArgSlot> slots) const {
  if (fault.code == 0) return;
  raise_fault(instance_.ir(), instance_.index(), fault, slots, "cuda");
}

void CudaKernel::run(const KernelArgs& args, const std::shared_ptr<Device>& device) const {
  const ir::Kernel& kernel = instance_.ir();
  const Bindings bindings = args.positional(kernel);
  Stream stream(device);
  std::vector<ArgSlot> slots(kernel.params.size());
  std::vector<DeviceBuffer> buffers(kernel.params.size());
  std::vector<std::size_t> sizes(kernel.params.size(), 0);
  for (std::size_t i = 0; i < kernel.params.size(); ++i) {
    const Binding& binding = bindings[i];
    ArgSlot& slot = slots[i];
    slot = slot_for(binding);
    if (const auto* tensor = std::get_if<TensorView>(&binding)) {
      // The whole strided extent goes over, so the device sees the same layout.
      const std::size_t bytes = static_cast<std::size_t>(
          ((tensor->rows > 0 ? tensor->rows - 1 : 0) * tensor->stride() + tensor->cols) * size_bytes(tensor->dtype));
      buffers[i] = DeviceBuffer(device, bytes);
      sizes[i] = bytes;
      // Outputs go over too: a store to part of a global leaves the rest as it was.
      if (tensor->data != nullptr) {
        buffers[i].upload(tensor->data, bytes, stream);
      } else {
        buffers[i].fill_zero(stream);
      }
      slot.data = buffers[i].pointer();
    }
  }
  DeviceBuffer slot_buffer(device, slots.size() * sizeof(ArgSlot));
  slot_buffer.upload(slots.data(), slots.size() * sizeof(ArgSlot), stream);
  DeviceBuffer fault_buffer(device, sizeof(KernelFault));
  fault_buffer.fill_zero(stream);
  launch(device, slot_buffer, 1, fault_buffer, stream);
  KernelFault fault;
  fault_buffer.download(&fault, sizeof(fault), stream);
  stream.synchronize();
  raise(fault, slots);
  // Outputs come back only after a clean run (a faulting kernel leaves them untouched, as
  // the interpreter's exception does not).
  for (std::size_t i = 0; i < kernel.params.size(); ++i) {
    if (kernel.params[i].role == ir::ParamRole::in || kernel.params[i].type.is_scalar()) continue;
    const auto& tensor = std::get<TensorView>(args.bindings().at(kernel.params[i].name));
    if (tensor.data != nullptr) buffers[i].download(tensor.data, sizes[i], stream);
  }
  stream.synchronize();
}

}  // namespace pto::cuda

namespace pto::cuda {

namespace {

std::vector<GeneratedKernel> generated_of(const std::vector<const CudaKernel*>& kernels) {
  std::vector<GeneratedKernel> out;
  out.reserve(kernels.size());
  for (const CudaKernel* kernel : kernels) out.push_back(kernel->generated());
  return out;
}

std::string names_of(const std::vector<const CudaKernel*>& kernels) {
  std::string out;
  for (const CudaKernel* kernel : kernels) out += (out.empty() ? "" : ", ") + kernel->instance().name();
  return out;
}

}  // namespace

PersistentCudaKernel::PersistentCudaKernel(std::vector<const CudaKernel*> kernels, int arch)
    : generated_(generate_persistent(generated_of(kernels))),
      what_(fmt::format("persistent kernel over [{}]", names_of(kernels))) {
  GeneratedKernel compiled;
  compiled.source = generated_.source;
  compiled.symbol = generated_.symbol;
  cubin_ = NvrtcCompiler::instance().compile(compiled, "persistent", arch);
}

CUfunction PersistentCudaKernel::function(const std::shared_ptr<Device>& device) const {
  std::lock_guard<std::mutex> guard(mutex_);
  if (function_ == nullptr) {
    if (device->arch() != cubin_.arch) {
      throw Error(fmt::format("the {} was compiled for sm_{}, but {} is sm_{}", what_, cubin_.arch, device->name(),
                              device->arch()));
    }
    module_ = std::make_shared<Module>(device, cubin_.image, what_);
    function_ = module_->function(generated_.symbol);
  }
  return function_;
}

std::size_t PersistentCudaKernel::shared_bytes(std::int64_t tile_bytes) const {
  if (!generated_.tiles_in_shared) return 0;
  if (tile_bytes < 0 || tile_bytes > generated_.tile_bytes) {
    throw InternalError(fmt::format("{}: a launch asked for {} bytes of tiles; its bodies need at most {}", what_,
                                    tile_bytes, generated_.tile_bytes));
  }
  return static_cast<std::size_t>(tile_bytes);
}

unsigned PersistentCudaKernel::grid(const std::shared_ptr<Device>& device, std::int64_t tile_bytes) const {
  const CUfunction entry = function(device);
  const std::size_t shared = shared_bytes(tile_bytes);
  std::lock_guard<std::mutex> guard(mutex_);
  auto found = grids_.find(shared);
  if (found == grids_.end()) {
    found = grids_.emplace(shared, resident_ctas(*device, entry, threads_per_cta, shared, what_)).first;
  }
  return found->second;
}

std::size_t PersistentCudaKernel::scratch_bytes(const std::shared_ptr<Device>& device) const {
  if (generated_.tiles_in_shared) return 0;
  return static_cast<std::size_t>(generated_.tile_bytes) * grid(device, generated_.tile_bytes);
}

unsigned PersistentCudaKernel::ctas(const std::shared_ptr<Device>& device, int tasks, std::int64_t tile_bytes) const {
  // More CTAs than tasks would only claim past the end.
  return std::min(grid(device, tile_bytes), static_cast<unsigned>(std::max(tasks, 0)));
}

void PersistentCudaKernel::launch(const std::shared_ptr<Device>& device, CUdeviceptr slots, CUdeviceptr kernel_of,
                                  int tasks, std::int64_t tile_bytes, CUdeviceptr counter, CUdeviceptr tile_scratch,
                                  CUdeviceptr fault, const Stream& stream, CUdeviceptr order, CUdeviceptr abort,
                                  const PersistentPublish& publish) const {
  const CUfunction entry = function(device);
  int task_count = tasks;
  CUdeviceptr finished = publish.finished, control = publish.control, to = publish.to;
  unsigned publish_ctas = publish.ctas;
  int control_words = publish.control_words;
  void* parameters[] = {&slots, &kernel_of, &task_count,   &counter, &tile_scratch,  &fault, &order,
                        &abort, &finished,  &publish_ctas, &control, &control_words, &to};
  LaunchShape shape;
  shape.shared_bytes = shared_bytes(tile_bytes);
  shape.grid = ctas(device, tasks, tile_bytes);
  shape.block = static_cast<unsigned>(threads_per_cta);
  cuda::launch(*device, entry, shape, stream, parameters, what_);
}

}  // namespace pto::cuda
