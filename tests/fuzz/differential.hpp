// The differential check of a compiled executor against the interpreter, shared by
// kernel_vs_cpu_fuzz and kernel_vs_cuda_fuzz: a kernel decoded from the input with
// ValueRange::comparable values runs on both, which must give the same fault with the same
// message, or equal outputs: integers bit for bit, NaN for NaN, the same infinities, floats
// within the tolerance of docs/backends.md; neither may write an input or a row's padding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "dsl/arguments.hpp"
#include "dsl/builder.hpp"

namespace pto::fuzz {

struct CompiledExecutor {
  std::string name;  // "the CPU backend"
  // Compiles `kernel` (a pto::Error for what the backend cannot build is a finding too: the
  // interpreter ran it) and runs it on `args`.
  std::function<void(const tl::KernelInstance& kernel, const KernelArgs& args)> run;
};

void differential_test(const std::uint8_t* bytes, std::size_t size, const CompiledExecutor& executor);

// Points PTO_CACHE_DIR at a fresh folder under /tmp, removed at exit (a fuzzing process
// compiles tens of thousands of kernels; they must not fill the user's cache), and prints
// at exit how many kernels were compared, faulted alike, or rejected by the builder
// (libFuzzer's statistics count executions and coverage only).
void use_private_cache_and_report(const std::string& target);

}  // namespace pto::fuzz
