// libFuzzer target: the CUDA backend against the interpreter on a kernel decoded from the
// input (tests/fuzz/differential.hpp says what must hold). Every kernel is compiled by
// NVRTC; it runs, and is compared, where a CUDA device is present. Without one, a kernel the
// code generator or NVRTC cannot build is the only finding.
#include "dsl/interpreter.hpp"
#include "runtime/cuda/cuda_kernel.hpp"
#include "runtime/cuda/device_probe.hpp"
#include "tests/fuzz/differential.hpp"

using namespace pto;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::use_private_cache_and_report("kernel_vs_cuda_fuzz");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  static const bool on_gpu = cuda::probe_cuda().status == cuda::CudaStatus::devices_found;
  static const fuzz::CompiledExecutor gpu{"the CUDA backend",
                                          [](const tl::KernelInstance& kernel, const KernelArgs& args) {
                                            const cuda::CudaKernel compiled(kernel);
                                            if (on_gpu) {
                                              compiled.run(args);
                                            } else {
                                              interpret(kernel, args);  // compiled only: nothing to compare
                                            }
                                          }};
  fuzz::differential_test(bytes, size, gpu);
  return 0;
}
