// Regression tests of issue #17 (fuzzing found them): no input reaches an overflow or a
// conversion outside its range in any executor. Each case failed on fb9f0f2 (an unfaulted
// write outside a tensor, a segfault, a loop that never ended, or undefined behaviour under
// UBSan) and is held here to the same result on the interpreter, the LLVM backend and the
// CUDA backend (NVRTC-compiled everywhere, run where a GPU is present).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "dsl/builder.hpp"
#include "runtime/build_config.hpp"
#include "runtime/cpu/cpu_kernel.hpp"
#include "tests/dsl/dsl_test_util.hpp"

using namespace pto;
using tl::f32;
using tl::i32;
using tl::i64;

namespace {

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();

std::string build_error(const std::function<void(tl::Builder&)>& body) {
  try {
    tl::kernel("k", body);
  } catch (const Error& error) {
    return error.what();
  }
  FAIL("building the kernel did not throw");
  return {};
}

}  // namespace

TEST_CASE("#17.1 a store or load whose row + valid rows overflows faults instead of writing outside") {
  const auto store = tl::kernel("store_far", [](tl::Builder& k) {
    auto x = k.in(tl::tile(2, 4, f32), "x");
    auto g = k.out(tl::global(f32, {tl::dyn, 4}), "g");
    auto row = k.scalar(i64, "row");
    tl::store(g, row, 0, x, 2, 4);
  });
  std::vector<float> x(8, 1.0f), g(16, 0.0f);
  for (const std::int64_t row : {int64_max, int64_max - 1, std::int64_t{4} + 1}) {
    CHECK_THROWS_WITH_AS(
        test::execute(store, KernelArgs().set("x", view(x, 2, 4)).set("g", view(g, 4, 4)).set("row", row)),
        doctest::Contains("store to 'g' [4,4]: valid region rows ["), Error);
  }
  CHECK_THROWS_WITH_AS(
      test::execute(store, KernelArgs().set("x", view(x, 2, 4)).set("g", view(g, 4, 4)).set("row", int64_max)),
      doctest::Contains("rows [9223372036854775807, 9223372036854775807 + 2) x cols [0, 4) is outside"), Error);
  for (float value : g) CHECK(value == 0.0f);  // nothing was written anywhere

  const auto load = tl::kernel("load_far", [](tl::Builder& k) {
    auto source = k.in(tl::global(f32, {tl::dyn, 4}), "g");
    auto row = k.scalar(i64, "row");
    tl::store(k.out(tl::tile(2, 4, f32), "y"), tl::load(source, row, 0, 2, 4));
  });
  std::vector<float> y(8);
  CHECK_THROWS_WITH_AS(
      test::execute(load, KernelArgs().set("g", view(g, 4, 4)).set("y", view(y, 2, 4)).set("row", int64_max)),
      doctest::Contains("load from 'g' [4,4]: valid region rows [9223372036854775807, 9223372036854775807 + 2)"),
      Error);
}

TEST_CASE("#17.2 tile shapes whose element count overflows are rejected at build time") {
  CHECK(build_error([](tl::Builder& k) {
          tl::store(k.out(tl::tile(1, 4, f32), "y"), tl::full(std::int64_t{1} << 62, 4, f32, 1.0));
        }).find("tile [4611686018427387904,4] has more elements than an int64 counts") != std::string::npos);
  CHECK(build_error([](tl::Builder& k) {
          auto x = k.in(tl::tile(std::int64_t{1} << 32, std::int64_t{1} << 32, f32), "x");
          (void)x;
        }).find("more than the limit of 65536") != std::string::npos);
}

TEST_CASE("#17.4 numbers that are no value of their dtype are rejected at build time, not converted") {
  CHECK(build_error([](tl::Builder& k) {
          tl::store(k.out(tl::tile(1, 1, i32), "y"), tl::zeros(1, 1, i32) + tl::constant(1e30, i32));
        }).find("constant: the constant 1e+30 does not fit i32 [-2147483648, 2147483647]") != std::string::npos);
  CHECK(build_error([](tl::Builder& k) {
          auto x = k.in(tl::tile(1, 4, i32), "x");
          tl::store(k.out(tl::tile(1, 4, i32), "y"), x + 1e30);
        }).find("does not fit i32") != std::string::npos);
  CHECK(build_error([](tl::Builder& k) {
          auto g = k.in(tl::global(i32, {tl::dyn, 4}), "g");
          tl::store(k.out(tl::tile(2, 4, i32), "y"), tl::load(g, 0, 0, 2, 4, 1, 4, NAN));
        }).find("load from 'g' (global<?x4xi32>): the pad nan is not an integer") != std::string::npos);
  CHECK(build_error([](tl::Builder& k) {
          tl::store(k.out(tl::tile(1, 1, i32), "y"), tl::full(1, 1, i32, INFINITY));
        }).find("full: the value inf is not an integer") != std::string::npos);
  CHECK(build_error([](tl::Builder& k) {
          tl::store(k.out(tl::tile(1, 1, f32), "y"), tl::full(1, 1, f32, 1e300));
        }).find("beyond the range of f32") != std::string::npos);
  // An index literal beyond 2^53 would be stored inexactly (INT64_MAX became 2^63, printed
  // as -9223372036854775808): the message names the literal as written.
  const std::string literal = build_error([](tl::Builder& k) {
    auto g = k.in(tl::global(f32, {tl::dyn, 4}), "g");
    tl::store(k.out(tl::tile(1, 4, f32), "y"), tl::load(g, int64_max, 0, 1, 4));
  });
  CHECK(literal.find("the row offset is the literal 9223372036854775807, beyond +-2^53") != std::string::npos);
  CHECK(literal.find("-9223372036854775808") == std::string::npos);
}

TEST_CASE("#17.4 an f32 load padded with -inf (the attention mask) is defined on every executor") {
  const auto kernel = tl::kernel("masked", [](tl::Builder& k) {
    auto g = k.in(tl::global(f32, {tl::dyn, 4}), "g");
    tl::store(k.out(tl::tile(3, 4, f32), "y"), tl::load(g, 0, 0, 3, 4, 1, 4, -INFINITY));
  });
  std::vector<float> g(12, 2.0f), y(12, 0.0f);
  test::execute(kernel, KernelArgs().set("g", view(g, 3, 4)).set("y", view(y, 3, 4)));
  CHECK(y[0] == 2.0f);
  CHECK(std::isinf(y[4]));
  CHECK(y[4] < 0);
}

TEST_CASE("#17.5 neg and abs of INT64_MIN and an overflowing i64 row sum wrap on every executor") {
  const auto kernel = tl::kernel("wraps", [](tl::Builder& k) {
    auto x = k.in(tl::tile(1, 2, i64), "x");
    tl::store(k.out(tl::tile(1, 2, i64), "negated"), tl::neg(x));
    tl::store(k.out(tl::tile(1, 2, i64), "absolute"), tl::abs(x));
    tl::store(k.out(tl::tile(1, 1, i64), "sum"), tl::rowsum(x));
  });
  std::vector<std::int64_t> x = {int64_min, int64_max}, negated(2), absolute(2), sum(1);
  test::execute(kernel, KernelArgs()
                            .set("x", view(x, 1, 2))
                            .set("negated", view(negated, 1, 2))
                            .set("absolute", view(absolute, 1, 2))
                            .set("sum", view(sum, 1, 1)));
  CHECK(negated[0] == int64_min);  // -(-2^63) wraps to itself
  CHECK(negated[1] == -int64_max);
  CHECK(absolute[0] == int64_min);
  CHECK(sum[0] == -1);  // -2^63 + (2^63 - 1)
  x = {int64_max, 1};
  test::execute(kernel, KernelArgs()
                            .set("x", view(x, 1, 2))
                            .set("negated", view(negated, 1, 2))
                            .set("absolute", view(absolute, 1, 2))
                            .set("sum", view(sum, 1, 1)));
  CHECK(sum[0] == int64_min);  // 2^63 - 1 + 1 wraps
}

TEST_CASE("#17.5 a loop whose index would pass INT64_MAX ends, with the exact count, on every executor") {
  // for (j = start; j < end; j += 2^62) with end = 2^63 - 1024: j = 0 and 2^62 run; the
  // next, 2^63, does not fit and is past end. On fb9f0f2, j += step wrapped and never ended.
  const auto kernel = tl::kernel("count", [](tl::Builder& k) {
    auto start = k.scalar(i64, "start");
    auto end = k.scalar(i64, "end");
    auto [count, last] = tl::for_range(start, end, std::int64_t{1} << 62, {tl::constant(0, i64), tl::constant(-1, i64)},
                                       [&](tl::Scalar j, tl::Value n, tl::Value) { return tl::carry(n + 1, j); });
    tl::store(k.out(tl::tile(1, 1, i64), "count"), tl::zeros(1, 1, i64) + count);
    tl::store(k.out(tl::tile(1, 1, i64), "last"), tl::zeros(1, 1, i64) + last);
  });
  std::vector<std::int64_t> count(1), last(1);
  auto run = [&](std::int64_t start, std::int64_t end) {
    test::execute(
        kernel,
        KernelArgs().set("start", start).set("end", end).set("count", view(count, 1, 1)).set("last", view(last, 1, 1)));
  };
  run(0, int64_max - 1023);
  CHECK(count[0] == 2);
  CHECK(last[0] == std::int64_t{1} << 62);
  run(int64_min, int64_max);  // end - start does not fit an int64 either
  CHECK(count[0] == 4);
  CHECK(last[0] == std::int64_t{1} << 62);  // -2^63, -2^62, 0, 2^62
  run(5, 5);
  CHECK(count[0] == 0);
}

TEST_CASE("#17.5 an i32 loop with a step beyond 2^31 runs once (the LLVM backend truncated the step to 0)") {
  const auto kernel = tl::kernel("big_step", [](tl::Builder& k) {
    auto end = k.scalar(i32, "end");
    auto [count] = tl::for_range(0, end, std::int64_t{1} << 33, {tl::constant(0, i32)},
                                 [&](tl::Scalar, tl::Value n) { return tl::carry(n + 1); });
    tl::store(k.out(tl::tile(1, 1, i32), "count"), tl::zeros(1, 1, i32) + count);
  });
  std::vector<std::int32_t> count(1);
  test::execute(kernel, KernelArgs().set("end", 100).set("count", view(count, 1, 1)));
  CHECK(count[0] == 1);
}

TEST_CASE("#17.11 a tl::Value or handle kept after its kernel was built is an error, not a dangling read") {
  tl::Value kept;
  std::optional<tl::Global> kept_global;
  tl::kernel("first", [&](tl::Builder& k) {
    kept = k.in(tl::tile(1, 4, f32), "x");
    kept_global = k.in(tl::global(f32, {tl::dyn, 4}), "g");
    tl::store(k.out(tl::tile(1, 4, f32), "y"), kept);
  });
  CHECK_THROWS_WITH_AS((void)kept.type(), doctest::Contains("a tl::Value of a kernel whose body has ended was used"),
                       Error);
  CHECK_THROWS_WITH_AS(tl::exp(kept), doctest::Contains("whose body has ended"), Error);
  CHECK(build_error([&](tl::Builder& k) {
          tl::store(k.out(tl::tile(1, 4, f32), "y"), kept * 2.0);
        }).find("whose body has ended") != std::string::npos);
  const std::string in_another = build_error(
      [&](tl::Builder& k) { tl::store(k.out(tl::tile(1, 4, f32), "y"), tl::load(*kept_global, 0, 0, 1, 4)); });
  CHECK(in_another.find("a parameter handle of a kernel whose body has ended was used") != std::string::npos);
}

TEST_CASE("#17.8 a long chain of fused elementwise ops is cut, and compiles and runs on every executor") {
  constexpr int chain = 2000;
  const auto kernel = tl::kernel("chain", [](tl::Builder& k) {
    tl::Value v = k.in(tl::tile(1, 8, f32), "x");
    for (int i = 0; i < chain; ++i) v = v + 1.0;  // each result used once, by the next: all fusible
    tl::store(k.out(tl::tile(1, 8, f32), "y"), v);
  });
  int fused = 0, longest = 0, run = 0;
  for (const ir::Node* node : kernel.index().preorder()) {
    if (node->op != ir::Op::add) continue;
    const bool is_fused = kernel.index().fused(node->results[0]);
    fused += is_fused ? 1 : 0;
    run = is_fused ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  CHECK(fused > chain / 2);               // fusion still does its job ...
  CHECK(longest == ir::max_fused_depth);  // ... in runs of at most max_fused_depth
  std::vector<float> x(8, 0.25f), y(8, 0.0f);
  test::execute(kernel, KernelArgs().set("x", view(x, 1, 8)).set("y", view(y, 1, 8)));
  CHECK(y[7] == doctest::Approx(0.25 + chain));
}

TEST_CASE("#17.8 a kernel beyond the LLVM backend's node limit is rejected naming the limit") {
  if (!cpu::llvm_available()) return;  // the interpreter has no such limit
  const auto kernel = tl::kernel("huge", [](tl::Builder& k) {
    auto x = k.in(tl::tile(1, 1, f32), "x");
    auto y = k.out(tl::tile(1, 1, f32), "y");
    tl::Value v = x;
    for (std::size_t i = 0; i < cpu::max_llvm_kernel_nodes; ++i) v = tl::maximum(v, x);
    tl::store(y, v);
  });
  CHECK_THROWS_WITH_AS(cpu::CpuKernel{kernel},
                       doctest::Contains("nodes; the LLVM CPU backend compiles at most 32768 in one kernel"), Error);
}
