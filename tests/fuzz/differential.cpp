#include "tests/fuzz/differential.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "dsl/interpreter.hpp"
#include "tests/fuzz/kernel_run.hpp"

namespace pto::fuzz {

namespace {

struct Outcomes {
  std::uint64_t rejected = 0, faulted = 0, compared = 0;
} outcomes;
std::filesystem::path cache_folder;
std::string target_name;

void at_exit() {
  std::error_code ignored;
  if (!cache_folder.empty()) std::filesystem::remove_all(cache_folder, ignored);
  std::fprintf(stderr, "%s: %llu kernels compared, %llu faulted alike, %llu rejected by the builder\n",
               target_name.c_str(), static_cast<unsigned long long>(outcomes.compared),
               static_cast<unsigned long long>(outcomes.faulted), static_cast<unsigned long long>(outcomes.rejected));
}

double tolerance(DType dtype) {
  switch (dtype) {
    case DType::f16: return 4e-3;
    case DType::bf16: return 1.6e-2;
    default: return 1e-3;
  }
}

// An infinity matches a finite value this close to the dtype's largest: a product or cast of
// values within the tolerance may round past it on one executor only.
bool overflow_boundary(double infinite, double finite, DType dtype) {
  const double largest = dtype == DType::f16    ? 65504.0
                         : dtype == DType::bf16 ? 3.3895313892515355e38
                                                : 3.4028234663852886e38;
  return std::isinf(infinite) && std::isfinite(finite) && std::signbit(infinite) == std::signbit(finite) &&
         std::fabs(finite) >= largest * (1 - tolerance(dtype));
}

void compare(const GeneratedKernel& interpreted, const GeneratedKernel& compiled, const std::string& executor) {
  for (std::size_t t = 0; t < interpreted.tensors.size(); ++t) {
    const HostBuffer& want = interpreted.tensors[t];
    const HostBuffer& got = compiled.tensors[t];
    double scale = 1.0;
    for (std::int64_t r = 0; r < want.rows; ++r)
      for (std::int64_t c = 0; c < want.cols; ++c)
        if (std::isfinite(want.get(r, c))) scale = std::max(scale, std::fabs(want.get(r, c)));
    const int element = size_bytes(want.dtype);
    for (std::int64_t r = 0; r < want.rows; ++r) {
      for (std::int64_t c = 0; c < want.cols; ++c) {
        const double a = want.get(r, c), b = got.get(r, c);
        const auto at = static_cast<std::size_t>((r * want.row_stride + c) * element);
        bool same = false;
        if (is_integer(want.dtype)) {
          same = std::memcmp(&want.bytes[at], &got.bytes[at], static_cast<std::size_t>(element)) == 0;
        } else if (std::isnan(a) || std::isnan(b)) {
          same = std::isnan(a) && std::isnan(b);
        } else if (std::isinf(a) || std::isinf(b)) {
          same = a == b || overflow_boundary(a, b, want.dtype) || overflow_boundary(b, a, want.dtype);
        } else {
          same = std::fabs(a - b) <= tolerance(want.dtype) * scale;
        }
        if (!same) {
          finding(fmt::format("'{}' [{}, {}]: {} wrote {}, the interpreter {}\n{}", want.name, r, c, executor, b, a,
                              describe(interpreted)));
        }
      }
    }
  }
}

}  // namespace

void differential_test(const std::uint8_t* bytes, std::size_t size, const CompiledExecutor& executor) {
  FuzzedDataProvider data(bytes, size);
  std::string rejection;
  std::optional<GeneratedKernel> generated;
  expect_user_errors_only([&] { generated = generate_kernel(data, ValueRange::comparable, rejection); });
  if (!generated) {
    ++outcomes.rejected;
    return;
  }
  const GeneratedKernel original = *generated;
  GeneratedKernel compiled = original;
  const RunResult on_executor = run_on(compiled, [&](const KernelArgs& args) { executor.run(compiled.kernel, args); });
  const RunResult interpreted = run_on(*generated, [&](const KernelArgs& args) { interpret(generated->kernel, args); });
  if (on_executor.error != interpreted.error) {
    finding(fmt::format("the executors disagree:\n  interpreter: {}\n  {}: {}\n{}",
                        interpreted.error.value_or("no error"), executor.name, on_executor.error.value_or("no error"),
                        describe(original)));
  }
  check_untouched(original, *generated, "the interpreter");
  check_untouched(original, compiled, executor.name);
  if (interpreted.error) {
    ++outcomes.faulted;
  } else {
    compare(*generated, compiled, executor.name);
    ++outcomes.compared;
  }
}

void use_private_cache_and_report(const std::string& target) {
  target_name = target;
  char folder[] = "/tmp/pto-fuzz-cache-XXXXXX";
  if (mkdtemp(folder) == nullptr) finding("cannot create a cache folder under /tmp");
  cache_folder = folder;
  setenv("PTO_CACHE_DIR", folder, 1);
  std::atexit(at_exit);
}

}  // namespace pto::fuzz
