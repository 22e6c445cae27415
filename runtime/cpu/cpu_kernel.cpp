#include "runtime/cpu/cpu_kernel.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include "core/kernel_abi.hpp"
#include "dsl/interpreter.hpp"
#include "dsl/kernel_faults.hpp"
#include "runtime/arg_slot.hpp"
#include "runtime/build_config.hpp"
#if PTO_HAVE_LLVM
#include "runtime/cpu/llvm_jit.hpp"
#include "runtime/cpu/llvm_lowering.hpp"
#endif

namespace pto::cpu {

bool llvm_available() noexcept {
  return PTO_HAVE_LLVM;
}

CpuKernel::CpuKernel(tl::KernelInstance instance) : instance_(std::move(instance)) {
  if (!instance_.valid()) throw Error("cpu kernel: the kernel instance is empty (default-constructed)");
#if PTO_HAVE_LLVM
  const CompiledFunction compiled = LlvmJit::instance().get(instance_.ir(), instance_.hash(), &instance_.index());
  engine_ = Engine::llvm;
  function_ = reinterpret_cast<void*>(compiled.function);
  scratch_bytes_ = compiled.scratch_bytes;
  source_ = compiled.source == CompiledFunction::Source::compiled ? "compiled"
            : compiled.source == CompiledFunction::Source::disk   ? "disk"
                                                                  : "memory";
  compile_ms_ = compiled.milliseconds;
#else
  static std::once_flag said;
  std::call_once(said, [] {
    fmt::print(stderr, "PTO-RT: this build has no LLVM backend; CPU kernels run on the reference interpreter\n");
  });
  source_ = "interpreter";
#endif
}

void CpuKernel::run(const KernelArgs& args) const {
  run_bound(args.positional(instance_.ir()));
}

void CpuKernel::run_bound(const Bindings& bindings) const {
  if (engine_ == Engine::interpreter) {
    interpret_bound(instance_.ir(), bindings);
    return;
  }
  thread_local std::vector<ArgSlot> slots;  // reused: no allocation per call
  slots.resize(bindings.size());
  for (std::size_t i = 0; i < bindings.size(); ++i) slots[i] = slot_for(bindings[i]);
  run_slots(slots.data());
}

void CpuKernel::run_slots(const ArgSlot* slots) const {
  const ir::Kernel& kernel = instance_.ir();
  if (engine_ == Engine::interpreter) {
    interpret_bound(kernel, bindings_for(kernel, slots));
    return;
  }
  // Tiles live in per-thread scratch memory, grown on demand and reused across calls.
  struct Scratch {
    void* memory = nullptr;
    std::int64_t bytes = 0;
    ~Scratch() { std::free(memory); }
  };
  thread_local Scratch scratch;
  if (scratch.bytes < scratch_bytes_) {
    std::free(scratch.memory);
    const std::int64_t rounded = (scratch_bytes_ + 63) / 64 * 64;
    scratch.memory = std::aligned_alloc(64, static_cast<std::size_t>(rounded));
    if (scratch.memory == nullptr) {
      scratch.bytes = 0;
      throw Error(
          fmt::format("cpu kernel '{}': cannot allocate {} bytes of tile scratch memory", kernel.name, rounded));
    }
    scratch.bytes = rounded;
  }
  KernelFault fault;
  const auto function = reinterpret_cast<KernelFunction>(function_);
  if (function(slots, scratch.memory, &fault) == static_cast<std::int32_t>(FaultCode::none)) return;
  raise_fault(kernel, instance_.index(), fault, std::span<const ArgSlot>(slots, kernel.params.size()), "cpu");
}

}  // namespace pto::cpu
