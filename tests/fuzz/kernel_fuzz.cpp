// libFuzzer target: the DSL builder, the verifier, the printer, the CUDA code generator and
// the interpreter on a kernel decoded from the input (every value allowed: inf, NaN,
// offsets at the ends of int64). Each must answer with a kernel, a pto::Error or a fault
// (a pto::Error too); the interpreter must not write an input or a row's padding.
#include <fuzzer/FuzzedDataProvider.h>

#include "dsl/interpreter.hpp"
#include "dsl/printer.hpp"
#include "runtime/build_config.hpp"
#include "tests/fuzz/kernel_run.hpp"
#if PTO_HAVE_CUDA
#include "runtime/cuda/cuda_codegen.hpp"
#endif

using namespace pto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  FuzzedDataProvider data(bytes, size);
  std::string rejection;
  std::optional<fuzz::GeneratedKernel> generated;
  fuzz::expect_user_errors_only([&] { generated = fuzz::generate_kernel(data, fuzz::ValueRange::any, rejection); });
  if (!generated) return 0;
  const fuzz::GeneratedKernel original = *generated;
  PTO_FUZZ_CHECK(!ir::print(generated->kernel.ir()).empty(), "an empty printout");
#if PTO_HAVE_CUDA
  fuzz::expect_user_errors_only([&] { (void)cuda::generate_cuda(generated->kernel.ir(), generated->kernel.hash()); });
#endif
  fuzz::run_on(*generated, [&](const KernelArgs& args) { interpret(generated->kernel, args); });
  fuzz::check_untouched(original, *generated, "the interpreter");
  return 0;
}
