// A kernel instance ready to run on the CPU: compiled by the LLVM backend (llvm_jit.hpp),
// or, in a build without LLVM, run by the reference interpreter (said once on stderr).
//
//   cpu::CpuKernel kernel(decode.tier(2));
//   kernel.run(KernelArgs().set("q", ...).set("k", ...)...);   // any thread, concurrently
//
// Arguments are checked against the kernel's parameters exactly as the interpreter checks
// them; faults while running (out-of-bounds valid regions, integer division by zero) throw
// the interpreter's pto::Error.
#pragma once

#include <cstddef>
#include <string>

#include "core/kernel_abi.hpp"
#include "dsl/arguments.hpp"
#include "dsl/builder.hpp"

namespace pto::cpu {

enum class Engine { llvm, interpreter };

// The most nodes a kernel the LLVM backend compiles may have (docs/backends.md): every tile
// op is a loop nest of its own, and LLVM's optimiser is superlinear in the size of one
// function, so a larger kernel is rejected naming the limit instead of exhausting memory.
inline constexpr std::size_t max_llvm_kernel_nodes = 32768;

class CpuKernel {
 public:
  explicit CpuKernel(tl::KernelInstance instance);

  void run(const KernelArgs& args) const;
  // Positional bindings. Precondition: they passed check_bindings (Programs check each
  // task's once, when they enumerate it).
  void run_bound(const Bindings& bindings) const;
  // ABI slots, one per parameter (core/kernel_abi.hpp), under the same precondition.
  void run_slots(const ArgSlot* slots) const;

  Engine engine() const noexcept { return engine_; }
  const tl::KernelInstance& instance() const noexcept { return instance_; }
  // How the compiled code was obtained ("compiled", "disk", "memory") and how long it took.
  const std::string& source() const noexcept { return source_; }
  double compile_ms() const noexcept { return compile_ms_; }

 private:
  tl::KernelInstance instance_;
  Engine engine_ = Engine::interpreter;
  void* function_ = nullptr;  // KernelFunction when engine_ == llvm
  std::int64_t scratch_bytes_ = 0;
  std::string source_;
  double compile_ms_ = 0.0;
};

// True when this build has the LLVM backend.
bool llvm_available() noexcept;

}  // namespace pto::cpu
