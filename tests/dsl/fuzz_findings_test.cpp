// Regression tests of what the fuzz targets (tests/fuzz/) found, each shrunk to its cause
// and held on every executor (the interpreter, the LLVM backend, the CUDA backend compiled
// by NVRTC everywhere and run where a GPU is present). The inputs that found them are in
// the targets' seed corpora as regression_*.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "dsl/builder.hpp"
#include "tests/dsl/dsl_test_util.hpp"

using namespace pto;
using tl::f32;
using tl::i32;
using tl::i64;

TEST_CASE("a float cast to i64 saturates at INT64_MAX and INT64_MIN (the interpreter stopped at 2^63 - 1024)") {
  // kernel_vs_cpu_fuzz: the CPU backend (llvm.fptosi.sat) gave INT64_MAX, the interpreter
  // clamped in double to the largest double below 2^63.
  const float inputs[] = {INFINITY, 1e30f, 0x1p63f, -INFINITY, -1e30f, -0x1p63f, NAN, -2.75f, 3e9f, 0x1p62f};
  const std::int64_t as_i64[] = {std::numeric_limits<std::int64_t>::max(),
                                 std::numeric_limits<std::int64_t>::max(),
                                 std::numeric_limits<std::int64_t>::max(),
                                 std::numeric_limits<std::int64_t>::min(),
                                 std::numeric_limits<std::int64_t>::min(),
                                 std::numeric_limits<std::int64_t>::min(),
                                 0,
                                 -2,
                                 3000000000,
                                 std::int64_t{1} << 62};
  const std::int32_t as_i32[] = {std::numeric_limits<std::int32_t>::max(),
                                 std::numeric_limits<std::int32_t>::max(),
                                 std::numeric_limits<std::int32_t>::max(),
                                 std::numeric_limits<std::int32_t>::min(),
                                 std::numeric_limits<std::int32_t>::min(),
                                 std::numeric_limits<std::int32_t>::min(),
                                 0,
                                 -2,
                                 std::numeric_limits<std::int32_t>::max(),
                                 std::numeric_limits<std::int32_t>::max()};
  constexpr int n = 10;
  const auto kernel = tl::kernel("saturate", [](tl::Builder& k) {
    auto x = k.in(tl::tile(1, n, f32), "x");
    tl::store(k.out(tl::tile(1, n, i64), "wide"), tl::cast(x, i64));
    tl::store(k.out(tl::tile(1, n, i32), "narrow"), tl::cast(x, i32));
  });
  std::vector<float> x(inputs, inputs + n);
  std::vector<std::int64_t> wide(n);
  std::vector<std::int32_t> narrow(n);
  test::execute(kernel,
                KernelArgs().set("x", view(x, 1, n)).set("wide", view(wide, 1, n)).set("narrow", view(narrow, 1, n)));
  for (int i = 0; i < n; ++i) {
    CAPTURE(inputs[i]);
    CHECK(wide[static_cast<std::size_t>(i)] == as_i64[i]);
    CHECK(narrow[static_cast<std::size_t>(i)] == as_i32[i]);
  }
}
