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
  // clamped in double to the largest double below 2^63. On the GPU, this test then found
  // NaN -> INT64_MIN (cvt.rzi.s64.f32, unlike the s32 form, does not give 0).
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

TEST_CASE("i64 and i32 scalars combine on every executor (the CUDA code matched two overloads and did not compile)") {
  // kernel_vs_cuda_fuzz (replayed on an H200): `add %s0, %12 : i64` of an i64 parameter and
  // an i32 element became pto::add_wrap(long long, int), which NVRTC rejected as ambiguous.
  const auto kernel = tl::kernel("mixed_scalars", [](tl::Builder& k) {
    auto wide = k.scalar(i64, "wide");
    auto table = k.in(tl::global(i32, {1, 2}), "table");
    auto narrow = tl::load_scalar(table, 0, 1);
    auto sum = wide + narrow;
    auto product = narrow * wide;
    auto difference = wide - narrow;
    auto larger = tl::maximum(wide, narrow);
    auto smaller = tl::minimum(narrow, wide);
    auto quotient = wide / narrow;
    auto row = tl::zeros(1, 6, i64);
    auto at = tl::iota(1, 6, 1, i64);
    auto pick = [&](int i, const tl::Value& v) { return tl::where(tl::eq(at, static_cast<double>(i)), v, row); };
    tl::store(k.out(tl::tile(1, 6, i64), "out"), pick(0, sum) + pick(1, product) + pick(2, difference) +
                                                     pick(3, larger) + pick(4, smaller) + pick(5, quotient));
  });
  const std::int64_t wide = (std::int64_t{1} << 40) + 3;
  std::vector<std::int32_t> table = {0, -7};
  std::vector<std::int64_t> out(6);
  test::execute(kernel, KernelArgs().set("wide", wide).set("table", view(table, 1, 2)).set("out", view(out, 1, 6)));
  CHECK(out[0] == wide - 7);
  CHECK(out[1] == wide * -7);
  CHECK(out[2] == wide + 7);
  CHECK(out[3] == wide);
  CHECK(out[4] == -7);
  CHECK(out[5] == wide / -7);
}
