// One test per DSL error message: each names the op, the types involved, the user's line
// (where the op has one) and the fix.
#include <doctest/doctest.h>

#include <string>

#include "core/error.hpp"
#include "dsl/builder.hpp"
#include "dsl/interpreter.hpp"
#include "tests/dsl/dsl_test_util.hpp"

using namespace pto;
using tl::bf16;
using tl::f16;
using tl::f32;
using tl::i32;

namespace {

// Builds `body` as a kernel and returns the error it throws, failing the test if none.
pto::Error build_error(const std::function<void(tl::Builder&)>& body) {
  try {
    tl::kernel("k", body);
  } catch (const pto::Error& error) {
    return error;
  }
  FAIL("building the kernel did not throw");
  return pto::Error("unreachable");
}

void check_message(const pto::Error& error, std::initializer_list<const char*> parts) {
  const std::string text = error.what();
  for (const char* part : parts) {
    INFO("message: ", text);
    INFO("missing: ", part);
    CHECK(text.find(part) != std::string::npos);
  }
}

// The error points at this test file (the user's code), not at the library.
void check_user_line(const pto::Error& error, unsigned line) {
  REQUIRE(error.where().has_value());
  CHECK(std::string(error.where()->file).find("errors_test.cpp") != std::string::npos);
  CHECK(error.where()->line == line);
}

}  // namespace

TEST_CASE("error: shapes that do not broadcast") {
  unsigned line = 0;
  auto error = build_error([&](tl::Builder& k) {
    auto a = k.in(tl::tile(4, 8, f32), "a");
    auto b = k.in(tl::tile(4, 6, f32), "b");
    line = __LINE__ + 1;
    tl::store(k.out(tl::tile(4, 8, f32), "y"), tl::add(a, b));
  });
  check_message(error, {"add(tile<4x8xf32>, tile<4x6xf32>)", "shapes [4,8] and [4,6] do not broadcast", "equal, or 1"});
  check_user_line(error, line);
}

TEST_CASE("error: operator forms name where their operands were defined") {
  unsigned line_a = 0;
  auto error = build_error([&](tl::Builder& k) {
    line_a = __LINE__ + 1;
    auto a = k.in(tl::tile(2, 3, f32), "a");
    auto b = k.in(tl::tile(3, 2, f32), "b");
    tl::store(k.out(tl::tile(2, 3, f32), "y"), a * b);
  });
  check_message(error, {"mul(tile<2x3xf32>, tile<3x2xf32>)", "operator*", "do not broadcast"});
  CHECK(std::string(error.what()).find("errors_test.cpp:" + std::to_string(line_a)) != std::string::npos);
}

TEST_CASE("error: mixing float and integer dtypes") {
  auto error = build_error([&](tl::Builder& k) {
    auto a = k.in(tl::tile(2, 2, f32), "a");
    auto b = k.in(tl::tile(2, 2, i32), "b");
    tl::store(k.out(tl::tile(2, 2, f32), "y"), tl::sub(a, b));
  });
  check_message(error, {"sub(tile<2x2xf32>, tile<2x2xi32>)", "dtypes f32 and i32 do not mix", "tl::cast"});
}

TEST_CASE("error: matmul with mismatched inner dimensions") {
  unsigned line = 0;
  auto error = build_error([&](tl::Builder& k) {
    auto q = k.in(tl::tile(1, 128, f16), "q");
    auto kb = k.in(tl::tile(64, 128, f16), "kb");
    line = __LINE__ + 1;
    tl::store(k.out(tl::tile(1, 64, f32), "s"), tl::matmul(q, kb));
  });
  check_message(error, {"matmul(tile<1x128xf16>, tile<64x128xf16>)", "inner dimensions differ",
                        "a is [1,128], b is [64,128]", "tl::trans(b)"});
  check_user_line(error, line);
}

TEST_CASE("error: matmul of integer tiles") {
  auto error = build_error([&](tl::Builder& k) {
    auto a = k.in(tl::tile(2, 2, i32), "a");
    tl::store(k.out(tl::tile(2, 2, f32), "y"), tl::matmul(a, a));
  });
  check_message(error, {"matmul", "needs float tiles", "i32"});
}

TEST_CASE("error: matmul accumulator of the wrong shape") {
  auto error = build_error([&](tl::Builder& k) {
    auto a = k.in(tl::tile(2, 3, f32), "a");
    auto b = k.in(tl::tile(3, 4, f32), "b");
    tl::store(k.out(tl::tile(2, 4, f32), "y"), tl::matmul(a, b, tl::zeros(4, 2, f32)));
  });
  check_message(error, {"matmul", "accumulator must be a float tile [2,4]", "tile<4x2xf32>"});
}

TEST_CASE("error: storing to an input") {
  unsigned line = 0;
  auto error = build_error([&](tl::Builder& k) {
    auto src = k.in(tl::global(f32, {tl::dyn, 4}), "src");
    line = __LINE__ + 1;
    tl::store(src, 0, 0, tl::zeros(1, 4, f32));
  });
  check_message(error, {"store: 'src' is an input", "k.out or k.inout"});
  check_user_line(error, line);
}

TEST_CASE("error: reading an output never written") {
  unsigned line = 0;
  auto error = build_error([&](tl::Builder& k) {
    auto y = k.out(tl::tile(2, 2, f32), "y");
    line = __LINE__ + 1;
    auto current = tl::read(y);
    tl::store(y, current);
  });
  check_message(error, {"read: output 'y' is read before anything was stored", "k.inout"});
  check_user_line(error, line);
}

TEST_CASE("error: loading from an output global never written") {
  auto error = build_error([&](tl::Builder& k) {
    auto y = k.out(tl::global(f32, {tl::dyn, 4}), "y");
    tl::store(y, 0, 0, tl::load(y, 0, 0, 1, 4));
  });
  check_message(error, {"load: reads output 'y' before anything was stored", "k.inout"});
}

TEST_CASE("error: an output that is never written") {
  auto error = build_error([&](tl::Builder& k) {
    k.in(tl::tile(2, 2, f32), "x");
    k.out(tl::tile(2, 2, f32), "forgotten");
  });
  check_message(error, {"output 'forgotten' is never written", "tl::store"});
}

TEST_CASE("error: a loop-carried value that changes type") {
  unsigned line = 0;
  auto error = build_error([&](tl::Builder& k) {
    auto n = k.scalar(i32, "n");
    line = __LINE__ + 1;
    auto [acc] = tl::for_range(0, n, 1, {tl::zeros(1, 4, f16)}, [](tl::Scalar, tl::Value a) {
      return tl::carry(a + 1.0);  // f16 + f32 computes in f32
    });
    tl::store(k.out(tl::tile(1, 4, f16), "y"), acc);
  });
  check_message(error, {"for_range: carried value 0 changes type from tile<1x4xf16> to tile<1x4xf32>", "tl::cast"});
  check_user_line(error, line);
}

TEST_CASE("error: a loop body that carries the wrong number of values") {
  auto error = build_error([&](tl::Builder& k) {
    auto n = k.scalar(i32, "n");
    auto [a, b] = tl::for_range(0, n, 1, {tl::zeros(1, 1, f32), tl::zeros(1, 1, f32)},
                                [](tl::Scalar, tl::Value x, tl::Value) { return tl::carry(x); });
    tl::store(k.out(tl::tile(1, 1, f32), "y"), a + b);
  });
  check_message(error, {"the body carries 1 values but the loop was started with 2"});
}

TEST_CASE("error: a value used after the loop body that defined it") {
  auto error = build_error([&](tl::Builder& k) {
    auto n = k.scalar(i32, "n");
    tl::Value leaked;
    tl::for_range(0, n, 1, [&](tl::Scalar j) { leaked = tl::cast(j, f32); });
    tl::store(k.out(tl::tile(1, 1, f32), "y"), tl::zeros(1, 1, f32) + leaked);
  });
  check_message(error, {"defined inside a loop body that has ended", "tl::carry"});
}

TEST_CASE("error: a non-positive loop step") {
  auto error = build_error([&](tl::Builder& k) {
    tl::for_range(0, 10, 0, [](tl::Scalar) {});
    tl::store(k.out(tl::tile(1, 1, f32), "y"), tl::zeros(1, 1, f32));
  });
  check_message(error, {"for_range: step is 0", "positive"});
}

TEST_CASE("error: a tile larger than the documented limit") {
  unsigned line = 0;
  auto error = build_error([&](tl::Builder& k) {
    line = __LINE__ + 1;
    auto big = tl::zeros(512, 256, f32);
    tl::store(k.out(tl::tile(1, 1, f32), "y"), tl::rowsum(tl::colsum(big)));
  });
  check_message(error, {"tile [512,256] has 131072 elements, more than the limit of 65536", "tl::for_range"});
  check_user_line(error, line);
}

TEST_CASE("error: an empty tile shape") {
  auto error = build_error([&](tl::Builder& k) { k.in(tl::tile(0, 4, f32), "x"); });
  check_message(error, {"parameter 'x'", "tile shape [0,4] is empty"});
}

TEST_CASE("error: a store whose shape differs from the output's") {
  auto error = build_error([&](tl::Builder& k) { tl::store(k.out(tl::tile(2, 4, f32), "y"), tl::zeros(4, 2, f32)); });
  check_message(error, {"store to 'y' (tile<2x4xf32>): the value is tile<4x2xf32>", "shapes must match"});
}

TEST_CASE("error: storing floats into an integer output") {
  auto error = build_error([&](tl::Builder& k) { tl::store(k.out(tl::tile(2, 2, i32), "y"), tl::zeros(2, 2, f32)); });
  check_message(error, {"store to 'y' (tile<2x2xi32>): the value is tile<2x2xf32>", "tl::cast(x, i32)"});
}

TEST_CASE("error: float math on integers") {
  auto error = build_error([&](tl::Builder& k) {
    auto x = k.in(tl::tile(2, 2, i32), "x");
    tl::store(k.out(tl::tile(2, 2, f32), "y"), tl::exp(x));
  });
  check_message(error, {"exp(tile<2x2xi32>)", "needs a float operand", "tl::cast(x, f32)"});
}

TEST_CASE("error: the mean of integers") {
  auto error = build_error([&](tl::Builder& k) {
    auto x = k.in(tl::tile(2, 2, i32), "x");
    tl::store(k.out(tl::tile(2, 1, f32), "y"), tl::rowmean(x));
  });
  check_message(error, {"rowmean(tile<2x2xi32>)", "not an integer", "tl::cast(x, f32)"});
}

TEST_CASE("error: where with a non-i32 condition") {
  auto error = build_error([&](tl::Builder& k) {
    auto x = k.in(tl::tile(2, 2, f32), "x");
    tl::store(k.out(tl::tile(2, 2, f32), "y"), tl::where(x, x, x));
  });
  check_message(error, {"where", "condition must be an i32 tile or scalar", "tile<2x2xf32>"});
}

TEST_CASE("error: rowadd with an operand that is not a column") {
  auto error = build_error([&](tl::Builder& k) {
    auto x = k.in(tl::tile(4, 8, f32), "x");
    auto r = k.in(tl::tile(1, 8, f32), "r");
    tl::store(k.out(tl::tile(4, 8, f32), "y"), tl::rowadd(x, r));
  });
  check_message(error, {"rowadd(tile<4x8xf32>, tile<1x8xf32>)", "[4,1] column"});
}

TEST_CASE("error: a float used as an offset") {
  auto error = build_error([&](tl::Builder& k) {
    auto g = k.in(tl::global(f32, {tl::dyn, 4}), "g");
    auto row = k.scalar(f32, "row");
    tl::store(k.out(tl::tile(1, 4, f32), "y"), tl::load(g, row, 0, 1, 4));
  });
  check_message(error, {"load: the row offset must be an integer scalar", "got f32", "tl::cast(x, i32)"});
}

TEST_CASE("error: a load wider than the global tensor") {
  auto error = build_error([&](tl::Builder& k) {
    auto g = k.in(tl::global(f32, {tl::dyn, 4}), "g");
    tl::store(k.out(tl::tile(1, 8, f32), "y"), tl::load(g, 0, 0, 1, 8));
  });
  check_message(error, {"load from 'g' (global<?x4xf32>)", "8 columns is wider than the tensor's 4"});
}

TEST_CASE("error: a full-row load from a global with dynamic columns") {
  auto error = build_error([&](tl::Builder& k) {
    auto g = k.in(tl::global(f32, {tl::dyn, tl::dyn}), "g");
    tl::store(k.out(tl::tile(2, 4, f32), "y"), tl::load(g, 0, 2, 2));
  });
  check_message(error, {"full-row loads need a static column count"});
}

TEST_CASE("error: a non-integer constant with an integer operand") {
  auto error = build_error([&](tl::Builder& k) {
    auto n = k.scalar(i32, "n");
    tl::store(k.out(tl::tile(1, 1, i32), "y"), tl::zeros(1, 1, i32) + (n * 0.5));
  });
  check_message(error, {"the constant 0.5 is not an integer", "i32"});
}

TEST_CASE("error: iota with an invalid axis") {
  auto error = build_error([&](tl::Builder& k) { tl::store(k.out(tl::tile(2, 2, i32), "y"), tl::iota(2, 2, 2)); });
  check_message(error, {"iota: axis is 2", "0 for row indices or 1 for column indices"});
}

TEST_CASE("error: a parameter declared twice") {
  auto error = build_error([&](tl::Builder& k) {
    k.in(tl::tile(1, 1, f32), "x");
    k.scalar(i32, "x");
  });
  check_message(error, {"parameter 'x' is declared twice"});
}

TEST_CASE("error: an f16 scalar parameter") {
  auto error = build_error([&](tl::Builder& k) { k.scalar(f16, "s"); });
  check_message(error, {"scalar 's' of dtype f16", "i32, i64 or f32"});
}

TEST_CASE("error: a value from another kernel") {
  tl::Value foreign;
  tl::Builder other("other");
  foreign = other.in(tl::tile(1, 1, f32), "x");
  auto error = build_error([&](tl::Builder& k) { tl::store(k.out(tl::tile(1, 1, f32), "y"), tl::exp(foreign)); });
  check_message(error, {"belongs to kernel 'other', not to 'k'", "values cannot cross kernels"});
}

TEST_CASE("error: an op called outside a kernel body") {
  try {
    tl::zeros(1, 1, f32);
    FAIL("expected an error");
  } catch (const pto::Error& error) {
    check_message(error, {"full: called outside a kernel body", "tl::kernel or tl::family"});
  }
}

TEST_CASE("error: an empty (default-constructed) value") {
  auto error = build_error([&](tl::Builder& k) {
    tl::Value nothing;
    tl::store(k.out(tl::tile(1, 1, f32), "y"), tl::exp(nothing));
  });
  check_message(error, {"exp: an operand is an empty tl::Value"});
}

TEST_CASE("error: family with a repeated tier or a tier out of range") {
  CHECK_THROWS_WITH_AS(tl::family("f", {512, 512}, [](tl::Builder&, std::int64_t) {}),
                       doctest::Contains("parameter 512 is listed twice"), pto::Error);
  CHECK_THROWS_WITH_AS(tl::family("f", {}, [](tl::Builder&, std::int64_t) {}),
                       doctest::Contains("needs at least one parameter"), pto::Error);
  auto fam = tl::family("f", {1, 2}, [](tl::Builder& k, std::int64_t n) {
    tl::store(k.out(tl::tile(1, n, f32), "y"), tl::zeros(1, n, f32));
  });
  CHECK_THROWS_WITH_AS(fam.tier(2), doctest::Contains("tier 2 does not exist; it has tiers 0..1"), pto::Error);
  CHECK_THROWS_WITH_AS(fam.for_param(3), doctest::Contains("no instance for parameter 3; its parameters are 1, 2"),
                       pto::Error);
}

// ---- errors when running on the interpreter ---------------------------------------------------

namespace {
tl::KernelInstance copy_rows() {
  return tl::kernel("copy_rows", [](tl::Builder& k) {
    auto g = k.in(tl::global(f32, {tl::dyn, 4}), "g");
    auto row = k.scalar(i32, "row");
    tl::store(k.out(tl::tile(2, 4, f32), "y"), tl::load(g, row, 0, 2, 4));
  });
}
}  // namespace

TEST_CASE("error: running with a missing, unknown or mismatched argument") {
  const auto kernel = copy_rows();
  std::vector<float> g(12), y(8);
  std::vector<std::int32_t> wrong_dtype(8);
  CHECK_THROWS_WITH_AS(pto::test::execute(kernel, KernelArgs().set("g", view(g, 3, 4)).set("y", view(y, 2, 4))),
                       doctest::Contains("parameter 'row' (i32): no argument bound"), pto::Error);
  CHECK_THROWS_WITH_AS(
      pto::test::execute(kernel,
                         KernelArgs().set("g", view(g, 3, 4)).set("y", view(y, 2, 4)).set("row", 0).set("rows", 1)),
      doctest::Contains("has no parameter 'rows'; its parameters are: g, row, y"), pto::Error);
  CHECK_THROWS_WITH_AS(
      pto::test::execute(kernel, KernelArgs().set("g", view(g, 3, 4)).set("y", view(y, 4, 2)).set("row", 0)),
      doctest::Contains("parameter 'y' (tile<2x4xf32>): the tensor is [4,2]"), pto::Error);
  CHECK_THROWS_WITH_AS(
      pto::test::execute(kernel, KernelArgs().set("g", view(g, 3, 4)).set("y", view(wrong_dtype, 2, 4)).set("row", 0)),
      doctest::Contains("the tensor holds i32, the parameter is f32"), pto::Error);
  CHECK_THROWS_WITH_AS(
      pto::test::execute(kernel, KernelArgs().set("g", view(g, 3, 4)).set("y", view(y, 2, 4)).set("row", 0.5)),
      doctest::Contains("bound to a floating-point number; pass an integer"), pto::Error);
}

TEST_CASE("error: a load whose valid region leaves the tensor") {
  const auto kernel = copy_rows();
  std::vector<float> g(12), y(8);
  CHECK_THROWS_WITH_AS(
      pto::test::execute(kernel, KernelArgs().set("g", view(g, 3, 4)).set("y", view(y, 2, 4)).set("row", 2)),
      doctest::Contains("load from 'g' [3,4]: valid region rows [2, 4) x cols [0, 4) is outside"), pto::Error);
}

TEST_CASE("error: a load_scalar outside its global") {
  auto kernel = tl::kernel("lookup", [](tl::Builder& k) {
    auto table = k.in(tl::global(i32, {tl::dyn, 1}), "table");
    auto at = k.scalar(i32, "at");
    tl::store(k.out(tl::tile(1, 1, i32), "y"), tl::zeros(1, 1, i32) + tl::load_scalar(table, at));
  });
  std::vector<std::int32_t> table = {4, 5, 6}, y(1);
  CHECK_THROWS_WITH_AS(
      pto::test::execute(kernel, KernelArgs().set("table", view(table, 3, 1)).set("at", 3).set("y", view(y, 1, 1))),
      doctest::Contains("load_scalar: load from 'table' [3,1]: valid region rows [3, 4) x cols [0, 1) is outside"),
      pto::Error);
}

// A loop whose block table picks the rows each iteration loads, as paged attention's: the
// CUDA backend fetches each iteration's block during the one before, and must still report
// the fault of the iteration that reads outside, as the interpreter does.
tl::KernelInstance gather_pages_loop() {
  return tl::kernel("gather", [](tl::Builder& k) {
    auto pool = k.in(tl::global(f32, {tl::dyn, 4}), "pool");
    auto table = k.in(tl::global(i32, {tl::dyn, 1}), "table");
    auto pages = k.scalar(i32, "pages");
    auto [sum] = tl::for_range(0, pages * 2, 2, {tl::zeros(2, 4, f32)}, [&](tl::Scalar j, tl::Value acc) {
      auto row = tl::load_scalar(table, j / 2) * 2;
      return tl::carry(acc + tl::load(pool, row, 2, 2));
    });
    tl::store(k.out(tl::tile(2, 4, f32), "y"), sum);
  });
}

TEST_CASE("error: a later iteration's load leaves the tensor (a block table entry past the pool)") {
  const auto kernel = gather_pages_loop();
  std::vector<float> pool(6 * 4, 1.0f), y(8);
  std::vector<std::int32_t> table = {1, 0, 2, 7, 1};
  CHECK_THROWS_WITH_AS(pto::test::execute(kernel, KernelArgs()
                                                      .set("pool", view(pool, 6, 4))
                                                      .set("table", view(table, 5, 1))
                                                      .set("pages", 5)
                                                      .set("y", view(y, 2, 4))),
                       doctest::Contains("load from 'pool' [6,4]: valid region rows [14, 16) x cols [0, 4) is outside"),
                       pto::Error);
}

TEST_CASE("error: a later iteration reads past the end of its block table") {
  const auto kernel = gather_pages_loop();
  std::vector<float> pool(6 * 4, 1.0f), y(8);
  std::vector<std::int32_t> table = {1, 0, 2};
  CHECK_THROWS_WITH_AS(pto::test::execute(kernel, KernelArgs()
                                                      .set("pool", view(pool, 6, 4))
                                                      .set("table", view(table, 3, 1))
                                                      .set("pages", 4)
                                                      .set("y", view(y, 2, 4))),
                       doctest::Contains("load_scalar: load from 'table' [3,1]: valid region rows [3, 4)"), pto::Error);
}

TEST_CASE("error: a later iteration divides by zero while computing the row it loads") {
  auto kernel = tl::kernel("divided_rows", [](tl::Builder& k) {
    auto g = k.in(tl::global(f32, {tl::dyn, 4}), "g");
    auto [sum] = tl::for_range(0, 4, 1, {tl::zeros(1, 4, f32)}, [&](tl::Scalar j, tl::Value acc) {
      return tl::carry(acc + tl::load(g, tl::div(j * 0 + 4, 2 - j), 1, 1));  // 2, 4, then 4 / 0
    });
    tl::store(k.out(tl::tile(1, 4, f32), "y"), sum);
  });
  std::vector<float> g(5 * 4, 1.0f), y(4);
  CHECK_THROWS_WITH_AS(pto::test::execute(kernel, KernelArgs().set("g", view(g, 5, 4)).set("y", view(y, 1, 4))),
                       doctest::Contains("integer division by zero"), pto::Error);
}

TEST_CASE("error: integer division by zero when running") {
  auto kernel = tl::kernel("divide", [](tl::Builder& k) {
    auto a = k.scalar(i32, "a");
    auto b = k.scalar(i32, "b");
    tl::store(k.out(tl::tile(1, 1, i32), "y"), tl::zeros(1, 1, i32) + tl::div(a, b));
  });
  std::vector<std::int32_t> y(1);
  CHECK_THROWS_WITH_AS(pto::test::execute(kernel, KernelArgs().set("a", 1).set("b", 0).set("y", view(y, 1, 1))),
                       doctest::Contains("integer division by zero"), pto::Error);
}
