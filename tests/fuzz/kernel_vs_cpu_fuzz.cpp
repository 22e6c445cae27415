// libFuzzer target: the compiled CPU backend (LLVM) against the interpreter on a kernel
// decoded from the input, with float values kept where executors agree to a tolerance
// (ValueRange::comparable). Both must give the same fault with the same message, or equal
// outputs: integers exactly, floats within the tolerance (docs/backends.md), NaN for NaN,
// the same infinities; neither may write an input or a row's padding.
#include <fuzzer/FuzzedDataProvider.h>

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "dsl/interpreter.hpp"
#include "runtime/cpu/cpu_kernel.hpp"
#include "tests/fuzz/kernel_run.hpp"

using namespace pto;

namespace {

// Each fuzzing process compiles tens of thousands of kernels: they go to a cache folder of
// its own, removed at exit, not to the user's.
std::filesystem::path cache_folder;

// What the inputs became, printed at exit (libFuzzer's own statistics count executions and
// coverage, not how many kernels were compared).
struct Outcomes {
  std::uint64_t rejected = 0, faulted = 0, compared = 0;
} outcomes;

void at_exit() {
  std::error_code ignored;
  std::filesystem::remove_all(cache_folder, ignored);
  std::fprintf(stderr, "kernel_vs_cpu_fuzz: %llu kernels compared, %llu faulted alike, %llu rejected by the builder\n",
               static_cast<unsigned long long>(outcomes.compared), static_cast<unsigned long long>(outcomes.faulted),
               static_cast<unsigned long long>(outcomes.rejected));
}

// An infinity matches a finite value this close to the dtype's largest: a product or cast of
// values within the tolerance may round past it on one executor only.
bool overflow_boundary(double infinite, double finite, DType dtype, double tolerance) {
  const double largest = dtype == DType::f16 ? 65504.0 : dtype == DType::bf16 ? 3.3895313892515355e38 : 3.4028234663852886e38;
  return std::signbit(infinite) == std::signbit(finite) && std::fabs(finite) >= largest * (1 - tolerance);
}

double tolerance(DType dtype) {
  switch (dtype) {
    case DType::f16: return 4e-3;
    case DType::bf16: return 1.6e-2;
    default: return 1e-3;
  }
}

void compare(const fuzz::GeneratedKernel& interpreted, const fuzz::GeneratedKernel& compiled) {
  for (std::size_t t = 0; t < interpreted.tensors.size(); ++t) {
    const fuzz::HostBuffer& want = interpreted.tensors[t];
    const fuzz::HostBuffer& got = compiled.tensors[t];
    double scale = 1.0;
    for (std::int64_t r = 0; r < want.rows; ++r)
      for (std::int64_t c = 0; c < want.cols; ++c)
        if (std::isfinite(want.get(r, c))) scale = std::max(scale, std::fabs(want.get(r, c)));
    for (std::int64_t r = 0; r < want.rows; ++r) {
      for (std::int64_t c = 0; c < want.cols; ++c) {
        const double a = want.get(r, c), b = got.get(r, c);
        const int element = size_bytes(want.dtype);
        const auto at = static_cast<std::size_t>((r * want.row_stride + c) * element);
        const bool same = is_integer(want.dtype) ? std::memcmp(&want.bytes[at], &got.bytes[at], element) == 0
                          : std::isnan(a)        ? std::isnan(b)
                          : std::isinf(a) ? a == b || (std::isfinite(b) && overflow_boundary(a, b, want.dtype, tolerance(want.dtype)))
                          : std::isinf(b) ? overflow_boundary(b, a, want.dtype, tolerance(want.dtype))
                                                 : std::fabs(a - b) <= tolerance(want.dtype) * scale;
        if (!same) {
          fuzz::finding(fmt::format("'{}' [{}, {}]: the CPU backend wrote {}, the interpreter {}\n{}", want.name, r,
                                    c, b, a, fuzz::describe(interpreted)));
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char folder[] = "/tmp/pto-fuzz-cache-XXXXXX";
  if (mkdtemp(folder) == nullptr) fuzz::finding("cannot create a cache folder under /tmp");
  cache_folder = folder;
  setenv("PTO_CACHE_DIR", folder, 1);
  std::atexit(at_exit);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  FuzzedDataProvider data(bytes, size);
  std::string rejection;
  std::optional<fuzz::GeneratedKernel> generated;
  fuzz::expect_user_errors_only(
      [&] { generated = fuzz::generate_kernel(data, fuzz::ValueRange::comparable, rejection); });
  if (!generated) {
    ++outcomes.rejected;
    return 0;
  }
  const fuzz::GeneratedKernel original = *generated;
  fuzz::GeneratedKernel compiled = original;
  const fuzz::RunResult on_cpu =
      fuzz::run_on(compiled, [&](const KernelArgs& args) { cpu::CpuKernel(compiled.kernel).run(args); });
  const fuzz::RunResult interpreted =
      fuzz::run_on(*generated, [&](const KernelArgs& args) { interpret(generated->kernel, args); });
  if (on_cpu.error != interpreted.error) {
    fuzz::finding(fmt::format("the executors disagree:\n  interpreter: {}\n  CPU backend: {}\n{}",
                              interpreted.error.value_or("no error"), on_cpu.error.value_or("no error"),
                              fuzz::describe(original)));
  }
  fuzz::check_untouched(original, *generated, "the interpreter");
  fuzz::check_untouched(original, compiled, "the CPU backend");
  if (interpreted.error) {
    ++outcomes.faulted;
  } else {
    compare(*generated, compiled);
    ++outcomes.compared;
  }
  return 0;
}
