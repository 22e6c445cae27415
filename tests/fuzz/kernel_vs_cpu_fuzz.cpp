// libFuzzer target: the compiled CPU backend (LLVM) against the interpreter on a kernel
// decoded from the input (tests/fuzz/differential.hpp says what must hold).
#include "runtime/cpu/cpu_kernel.hpp"
#include "tests/fuzz/differential.hpp"

using namespace pto;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::use_private_cache_and_report("kernel_vs_cpu_fuzz");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  static const fuzz::CompiledExecutor cpu{
      "the CPU backend",
      [](const tl::KernelInstance& kernel, const KernelArgs& args) { cpu::CpuKernel(kernel).run(args); }};
  fuzz::differential_test(bytes, size, cpu);
  return 0;
}
