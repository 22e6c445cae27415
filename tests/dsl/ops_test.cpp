// Every tl op on the reference interpreter against values computed directly in double,
// over a sweep of shapes including single rows/columns and non-powers of two.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include "dsl/builder.hpp"
#include "dsl/interpreter.hpp"
#include "tests/dsl/dsl_test_util.hpp"

using namespace pto;
using pto::test::check_close;
using pto::test::HostTensor;
using pto::test::shape_sweep;
using tl::bf16;
using tl::f16;
using tl::f32;
using tl::i32;

namespace {

using UnaryOp = std::function<tl::Value(const tl::Value&)>;
using BinaryOp = std::function<tl::Value(const tl::Value&, const tl::Value&)>;

void check_unary(const UnaryOp& op, const std::function<double(double)>& reference, DType in, double low, double high,
                 double rel_tol = 2e-6) {
  std::mt19937 rng(7);
  for (const auto& shape : shape_sweep) {
    // Named copies, not structured bindings: clang 14 cannot capture those in lambdas.
    const std::int64_t rows = shape.first, cols = shape.second;
    CAPTURE(rows);
    CAPTURE(cols);
    auto kernel = tl::kernel("unary", [&](tl::Builder& k) {
      auto x = k.in(tl::tile(rows, cols, in), "x");
      auto y = k.out(tl::tile(rows, cols, is_float(in) ? DType::f32 : in), "y");
      tl::store(y, op(x));
    });
    HostTensor x(in, rows, cols), y(is_float(in) ? DType::f32 : in, rows, cols);
    x.fill_random(rng, low, high);
    pto::test::execute(kernel, KernelArgs().set("x", x.view()).set("y", y.view()));
    std::vector<double> expected;
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) expected.push_back(reference(x.get(r, c)));
    check_close(y, expected, rel_tol, 1e-6);
  }
}

enum class Broadcast { same, column, row, scalar };

void check_binary(const BinaryOp& op, const std::function<double(double, double)>& reference, DType a_type,
                  DType b_type, DType out_type, double low = -4, double high = 4) {
  std::mt19937 rng(11);
  for (const auto& shape : shape_sweep) {
    // Named copies, not structured bindings: clang 14 cannot capture those in lambdas.
    const std::int64_t rows = shape.first, cols = shape.second;
    for (Broadcast mode : {Broadcast::same, Broadcast::column, Broadcast::row, Broadcast::scalar}) {
      CAPTURE(rows);
      CAPTURE(cols);
      CAPTURE(static_cast<int>(mode));
      const std::int64_t b_rows = mode == Broadcast::row || mode == Broadcast::scalar ? 1 : rows;
      const std::int64_t b_cols = mode == Broadcast::column || mode == Broadcast::scalar ? 1 : cols;
      HostTensor a(a_type, rows, cols), b(b_type, b_rows, b_cols), y(out_type, rows, cols);
      a.fill_random(rng, low, high);
      b.fill_random(rng, low, high);
      if (out_type == DType::i32 && is_integer(a_type)) {  // keep integer divisors non-zero
        for (std::int64_t r = 0; r < b_rows; ++r)
          for (std::int64_t c = 0; c < b_cols; ++c)
            if (b.get(r, c) == 0) b.set(r, c, 3);
      }
      auto kernel = tl::kernel("binary", [&](tl::Builder& k) {
        auto x = k.in(tl::tile(rows, cols, a_type), "a");
        // Scalars are i32/i64/f32: an f16/bf16 operand comes in as an f32 scalar holding a rounded value.
        tl::Value other = mode == Broadcast::scalar ? k.scalar(is_float(b_type) ? DType::f32 : b_type, "b")
                                                    : k.in(tl::tile(b_rows, b_cols, b_type), "b");
        auto out = k.out(tl::tile(rows, cols, out_type), "y");
        tl::store(out, op(x, other));
      });
      KernelArgs args;
      args.set("a", a.view()).set("y", y.view());
      if (mode == Broadcast::scalar) {
        if (is_integer(b_type)) {
          args.set("b", static_cast<std::int64_t>(b.get(0, 0)));
        } else {
          args.set("b", b.get(0, 0));
        }
      } else {
        args.set("b", b.view());
      }
      pto::test::execute(kernel, args);
      std::vector<double> expected;
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < cols; ++c)
          expected.push_back(reference(a.get(r, c), b.get(b_rows == 1 ? 0 : r, b_cols == 1 ? 0 : c)));
      check_close(y, expected, 2e-6, 1e-6);
    }
  }
}

double as_f32(double x) {
  return static_cast<float>(x);
}

}  // namespace

TEST_CASE("binary arithmetic on f32, with same-shape, column, row and scalar broadcasting") {
  check_binary([](auto& a, auto& b) { return a + b; }, [](double a, double b) { return a + b; }, DType::f32, DType::f32,
               DType::f32);
  check_binary([](auto& a, auto& b) { return a - b; }, [](double a, double b) { return a - b; }, DType::f32, DType::f32,
               DType::f32);
  check_binary([](auto& a, auto& b) { return a * b; }, [](double a, double b) { return a * b; }, DType::f32, DType::f32,
               DType::f32);
  check_binary([](auto& a, auto& b) { return tl::div(a, b); }, [](double a, double b) { return a / b; }, DType::f32,
               DType::f32, DType::f32, 0.5, 4);
  check_binary([](auto& a, auto& b) { return tl::maximum(a, b); }, [](double a, double b) { return std::max(a, b); },
               DType::f32, DType::f32, DType::f32);
  check_binary([](auto& a, auto& b) { return tl::minimum(a, b); }, [](double a, double b) { return std::min(a, b); },
               DType::f32, DType::f32, DType::f32);
}

TEST_CASE("binary arithmetic on f16 and bf16 storage computes in f32") {
  check_binary([](auto& a, auto& b) { return a * b; }, [](double a, double b) { return as_f32(a * b); }, DType::f16,
               DType::f16, DType::f32);
  check_binary([](auto& a, auto& b) { return a + b; }, [](double a, double b) { return as_f32(a + b); }, DType::bf16,
               DType::f32, DType::f32);
  check_binary([](auto& a, auto& b) { return a - b; }, [](double a, double b) { return as_f32(a - b); }, DType::f16,
               DType::bf16, DType::f32);
}

TEST_CASE("binary arithmetic on i32 is integer arithmetic (division truncates toward zero)") {
  check_binary([](auto& a, auto& b) { return a + b; }, [](double a, double b) { return a + b; }, DType::i32, DType::i32,
               DType::i32, -100, 100);
  check_binary([](auto& a, auto& b) { return a * b; }, [](double a, double b) { return a * b; }, DType::i32, DType::i32,
               DType::i32, -100, 100);
  check_binary([](auto& a, auto& b) { return tl::div(a, b); }, [](double a, double b) { return std::trunc(a / b); },
               DType::i32, DType::i32, DType::i32, -100, 100);
  check_binary([](auto& a, auto& b) { return tl::maximum(a, b); }, [](double a, double b) { return std::max(a, b); },
               DType::i32, DType::i32, DType::i32, -100, 100);
}

TEST_CASE("comparisons give i32 0/1 and where selects by them") {
  check_binary([](auto& a, auto& b) { return tl::lt(a, b); }, [](double a, double b) { return double(a < b); },
               DType::f32, DType::f32, DType::i32);
  check_binary([](auto& a, auto& b) { return tl::le(a, b); }, [](double a, double b) { return double(a <= b); },
               DType::f16, DType::f32, DType::i32);
  check_binary([](auto& a, auto& b) { return tl::gt(a, b); }, [](double a, double b) { return double(a > b); },
               DType::i32, DType::i32, DType::i32, -3, 3);
  check_binary([](auto& a, auto& b) { return tl::ge(a, b); }, [](double a, double b) { return double(a >= b); },
               DType::i32, DType::i32, DType::i32, -3, 3);
  check_binary([](auto& a, auto& b) { return tl::eq(a, b); }, [](double a, double b) { return double(a == b); },
               DType::i32, DType::i32, DType::i32, -3, 3);
  check_binary([](auto& a, auto& b) { return tl::ne(a, b); }, [](double a, double b) { return double(a != b); },
               DType::i32, DType::i32, DType::i32, -3, 3);
  check_binary([](auto& a, auto& b) { return tl::where(tl::gt(a, b), a, b); },
               [](double a, double b) { return a > b ? a : b; }, DType::f32, DType::f32, DType::f32);
  check_binary([](auto& a, auto& b) { return tl::where(tl::lt(a, b), a, -1.5); },
               [](double a, double b) { return a < b ? a : -1.5; }, DType::f32, DType::f32, DType::f32);
}

TEST_CASE("rowadd/rowmul/coladd/colmul broadcast a column or a row") {
  std::mt19937 rng(3);
  for (const auto& shape : shape_sweep) {
    // Named copies, not structured bindings: clang 14 cannot capture those in lambdas.
    const std::int64_t rows = shape.first, cols = shape.second;
    CAPTURE(rows);
    CAPTURE(cols);
    HostTensor a(DType::f32, rows, cols), col(DType::f32, rows, 1), row(DType::f32, 1, cols);
    a.fill_random(rng, -2, 2);
    col.fill_random(rng, -2, 2);
    row.fill_random(rng, -2, 2);
    HostTensor y1(DType::f32, rows, cols), y2(DType::f32, rows, cols), y3(DType::f32, rows, cols),
        y4(DType::f32, rows, cols);
    auto kernel = tl::kernel("broadcasts", [&](tl::Builder& k) {
      auto x = k.in(tl::tile(rows, cols, f32), "a");
      auto c = k.in(tl::tile(rows, 1, f32), "col");
      auto r = k.in(tl::tile(1, cols, f32), "row");
      tl::store(k.out(tl::tile(rows, cols, f32), "y1"), tl::rowadd(x, c));
      tl::store(k.out(tl::tile(rows, cols, f32), "y2"), tl::rowmul(x, c));
      tl::store(k.out(tl::tile(rows, cols, f32), "y3"), tl::coladd(x, r));
      tl::store(k.out(tl::tile(rows, cols, f32), "y4"), tl::colmul(x, r));
    });
    pto::test::execute(kernel, KernelArgs()
                                   .set("a", a.view())
                                   .set("col", col.view())
                                   .set("row", row.view())
                                   .set("y1", y1.view())
                                   .set("y2", y2.view())
                                   .set("y3", y3.view())
                                   .set("y4", y4.view()));
    std::vector<double> e1, e2, e3, e4;
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) {
        e1.push_back(a.get(i, j) + col.get(i, 0));
        e2.push_back(a.get(i, j) * col.get(i, 0));
        e3.push_back(a.get(i, j) + row.get(0, j));
        e4.push_back(a.get(i, j) * row.get(0, j));
      }
    }
    check_close(y1, e1, 2e-6);
    check_close(y2, e2, 2e-6);
    check_close(y3, e3, 2e-6);
    check_close(y4, e4, 2e-6);
  }
}

TEST_CASE("unary math ops match the C library in double") {
  check_unary([](auto& x) { return tl::exp(x); }, [](double x) { return std::exp(x); }, DType::f32, -5, 5);
  check_unary([](auto& x) { return tl::log(x); }, [](double x) { return std::log(x); }, DType::f32, 0.01, 50);
  check_unary([](auto& x) { return tl::sqrt(x); }, [](double x) { return std::sqrt(x); }, DType::f16, 0, 100);
  check_unary([](auto& x) { return tl::rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, DType::f32, 0.01, 100);
  check_unary([](auto& x) { return tl::tanh(x); }, [](double x) { return std::tanh(x); }, DType::bf16, -4, 4);
  check_unary([](auto& x) { return tl::sigmoid(x); }, [](double x) { return 1 / (1 + std::exp(-x)); }, DType::f32, -8,
              8);
  check_unary([](auto& x) { return tl::relu(x); }, [](double x) { return std::max(x, 0.0); }, DType::f32, -3, 3);
  check_unary([](auto& x) { return tl::gelu(x); },
              [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, DType::f32, -4, 4, 1e-5);
  check_unary([](auto& x) { return tl::silu(x); }, [](double x) { return x / (1 + std::exp(-x)); }, DType::f16, -6, 6);
  check_unary([](auto& x) { return -x; }, [](double x) { return -x; }, DType::f32, -3, 3);
  check_unary([](auto& x) { return tl::abs(x); }, [](double x) { return std::fabs(x); }, DType::f32, -3, 3);
  check_unary([](auto& x) { return tl::sin(x); }, [](double x) { return std::sin(x); }, DType::f32, -3, 3, 1e-5);
  check_unary([](auto& x) { return tl::cos(x); }, [](double x) { return std::cos(x); }, DType::f32, -3, 3, 1e-5);
}

TEST_CASE("neg, abs and relu also work on integers") {
  check_unary([](auto& x) { return tl::neg(x); }, [](double x) { return -x; }, DType::i32, -50, 50);
  check_unary([](auto& x) { return tl::abs(x); }, [](double x) { return std::fabs(x); }, DType::i32, -50, 50);
  check_unary([](auto& x) { return tl::relu(x); }, [](double x) { return std::max(x, 0.0); }, DType::i32, -50, 50);
}

TEST_CASE("casts: to f16/bf16 round to nearest even, to i32 truncate and saturate") {
  check_unary([](auto& x) { return tl::cast(tl::cast(x, f16), f32); },
              [](double x) { return round_to(DType::f16, float(x)); }, DType::f32, -70000, 70000, 0);
  check_unary([](auto& x) { return tl::cast(tl::cast(x, bf16), f32); },
              [](double x) { return round_to(DType::bf16, float(x)); }, DType::f32, -10, 10, 0);
  check_unary([](auto& x) { return tl::cast(tl::cast(x, i32), f32); }, [](double x) { return std::trunc(x); },
              DType::f32, -1000, 1000, 0);
  check_unary(
      [](auto& x) { return tl::cast(tl::cast(x * 1.0e10, i32), f32); },
      [](double x) { return as_f32(std::clamp(std::trunc(as_f32(as_f32(x) * 1.0e10)), -2147483648.0, 2147483647.0)); },
      DType::f32, -1, 1, 0);
  check_unary([](auto& x) { return tl::cast(tl::cast(x, f32) * 0.5, i32); },
              [](double x) { return std::trunc(x * 0.5); }, DType::i32, -1000, 1000, 0);
}

TEST_CASE("reductions over rows and columns (f16 in, f32 out)") {
  std::mt19937 rng(5);
  for (DType in : {DType::f32, DType::f16}) {
    for (const auto& shape : shape_sweep) {
      // Named copies, not structured bindings: clang 14 cannot capture those in lambdas.
      const std::int64_t rows = shape.first, cols = shape.second;
      CAPTURE(rows);
      CAPTURE(cols);
      HostTensor x(in, rows, cols);
      x.fill_random(rng, -3, 3);
      std::vector<HostTensor> row_out(4, HostTensor(DType::f32, rows, 1));
      std::vector<HostTensor> col_out(4, HostTensor(DType::f32, 1, cols));
      auto kernel = tl::kernel("reductions", [&](tl::Builder& k) {
        auto t = k.in(tl::tile(rows, cols, in), "x");
        tl::store(k.out(tl::tile(rows, 1, f32), "rowsum"), tl::rowsum(t));
        tl::store(k.out(tl::tile(rows, 1, f32), "rowmax"), tl::rowmax(t));
        tl::store(k.out(tl::tile(rows, 1, f32), "rowmin"), tl::rowmin(t));
        tl::store(k.out(tl::tile(rows, 1, f32), "rowmean"), tl::rowmean(t));
        tl::store(k.out(tl::tile(1, cols, f32), "colsum"), tl::colsum(t));
        tl::store(k.out(tl::tile(1, cols, f32), "colmax"), tl::colmax(t));
        tl::store(k.out(tl::tile(1, cols, f32), "colmin"), tl::colmin(t));
        tl::store(k.out(tl::tile(1, cols, f32), "colmean"), tl::colmean(t));
      });
      KernelArgs args;
      args.set("x", x.view());
      const char* row_names[] = {"rowsum", "rowmax", "rowmin", "rowmean"};
      const char* col_names[] = {"colsum", "colmax", "colmin", "colmean"};
      for (int i = 0; i < 4; ++i) {
        args.set(row_names[i], row_out[static_cast<std::size_t>(i)].view());
        args.set(col_names[i], col_out[static_cast<std::size_t>(i)].view());
      }
      pto::test::execute(kernel, args);
      auto reduce = [&](bool by_row, int which) {
        std::vector<double> out;
        const std::int64_t outer = by_row ? rows : cols, inner = by_row ? cols : rows;
        for (std::int64_t o = 0; o < outer; ++o) {
          double sum = 0, mx = -INFINITY, mn = INFINITY;
          for (std::int64_t n = 0; n < inner; ++n) {
            const double v = by_row ? x.get(o, n) : x.get(n, o);
            sum += v;
            mx = std::max(mx, v);
            mn = std::min(mn, v);
          }
          out.push_back(which == 0 ? sum : which == 1 ? mx : which == 2 ? mn : sum / double(inner));
        }
        return out;
      };
      for (int i = 0; i < 4; ++i) {
        check_close(row_out[static_cast<std::size_t>(i)], reduce(true, i), 1e-5, 1e-4);
        check_close(col_out[static_cast<std::size_t>(i)], reduce(false, i), 1e-5, 1e-4);
      }
    }
  }
}

TEST_CASE("matmul, with trans views and an accumulator, over a sweep of M, K, N") {
  std::mt19937 rng(9);
  const std::vector<std::array<std::int64_t, 3>> shapes = {
      {1, 1, 1}, {1, 128, 64}, {5, 3, 7}, {16, 33, 8}, {64, 64, 128}};
  for (const auto& shape : shapes) {
    const std::int64_t m = shape[0], kk = shape[1], n = shape[2];
    CAPTURE(m);
    CAPTURE(kk);
    CAPTURE(n);
    HostTensor a(DType::f16, m, kk), bt(DType::f16, n, kk), acc(DType::f32, m, n);
    HostTensor y(DType::f32, m, n), y_acc(DType::f32, m, n), y_t(DType::f32, n, m);
    a.fill_random(rng, -1, 1);
    bt.fill_random(rng, -1, 1);
    acc.fill_random(rng, -1, 1);
    auto kernel = tl::kernel("matmul", [&](tl::Builder& k) {
      auto x = k.in(tl::tile(m, kk, f16), "a");
      auto w = k.in(tl::tile(n, kk, f16), "bt");  // b given transposed, as K is in attention
      auto c = k.in(tl::tile(m, n, f32), "acc");
      tl::store(k.out(tl::tile(m, n, f32), "y"), tl::matmul(x, tl::trans(w)));
      tl::store(k.out(tl::tile(m, n, f32), "y_acc"), tl::matmul(x, tl::trans(w), c));
      tl::store(k.out(tl::tile(n, m, f32), "y_t"), tl::trans(tl::matmul(x, tl::trans(w))));
    });
    pto::test::execute(kernel, KernelArgs()
                                   .set("a", a.view())
                                   .set("bt", bt.view())
                                   .set("acc", acc.view())
                                   .set("y", y.view())
                                   .set("y_acc", y_acc.view())
                                   .set("y_t", y_t.view()));
    std::vector<double> expected, expected_acc, expected_t(static_cast<std::size_t>(m * n));
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double dot = 0;
        for (std::int64_t p = 0; p < kk; ++p) dot += a.get(i, p) * bt.get(j, p);
        expected.push_back(dot);
        expected_acc.push_back(dot + acc.get(i, j));
        expected_t[static_cast<std::size_t>(j * m + i)] = dot;
      }
    }
    check_close(y, expected, 1e-5, 1e-5);
    check_close(y_acc, expected_acc, 1e-5, 1e-5);
    check_close(y_t, expected_t, 1e-5, 1e-5);
  }
}

TEST_CASE(
    "matmul of 16-bit tiles on tensor-core shapes: f16 and bf16, padded M, row-major, transposed and computed B") {
  std::mt19937 rng(11);
  const std::vector<std::array<std::int64_t, 3>> shapes = {{16, 16, 8}, {1, 128, 64}, {33, 32, 24}, {64, 64, 128}};
  for (const DType dtype : {DType::f16, DType::bf16}) {
    for (const auto& shape : shapes) {
      const std::int64_t m = shape[0], kk = shape[1], n = shape[2];
      CAPTURE(dtype);
      CAPTURE(m);
      CAPTURE(kk);
      CAPTURE(n);
      HostTensor a(dtype, m, kk), b(dtype, kk, n), bt(dtype, n, kk), x(DType::f32, m, kk), acc(DType::f32, m, n);
      HostTensor y(DType::f32, m, n), y_t(DType::f32, m, n), y_cast(DType::f32, m, n);
      a.fill_random(rng, -1, 1);
      b.fill_random(rng, -1, 1);
      bt.fill_random(rng, -1, 1);
      x.fill_random(rng, -2, 2);
      acc.fill_random(rng, -1, 1);
      auto kernel = tl::kernel("matmul16", [&](tl::Builder& k) {
        auto ta = k.in(tl::tile(m, kk, dtype), "a");
        auto tb = k.in(tl::tile(kk, n, dtype), "b");
        auto tbt = k.in(tl::tile(n, kk, dtype), "bt");
        auto tx = k.in(tl::tile(m, kk, f32), "x");
        auto tacc = k.in(tl::tile(m, n, f32), "acc");
        tl::store(k.out(tl::tile(m, n, f32), "y"), tl::matmul(ta, tb, tacc));
        tl::store(k.out(tl::tile(m, n, f32), "y_t"), tl::matmul(ta, tl::trans(tbt)));
        tl::store(k.out(tl::tile(m, n, f32), "y_cast"), tl::matmul(tl::cast(tx * 0.5f, dtype), tb));
      });
      pto::test::execute(kernel, KernelArgs()
                                     .set("a", a.view())
                                     .set("b", b.view())
                                     .set("bt", bt.view())
                                     .set("x", x.view())
                                     .set("acc", acc.view())
                                     .set("y", y.view())
                                     .set("y_t", y_t.view())
                                     .set("y_cast", y_cast.view()));
      HostTensor a_cast(dtype, m, kk);  // x * 0.5 rounded to the 16-bit dtype
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t p = 0; p < kk; ++p) a_cast.set(i, p, x.get(i, p) * 0.5);
      std::vector<double> expected, expected_t, expected_cast;
      for (std::int64_t i = 0; i < m; ++i) {
        for (std::int64_t j = 0; j < n; ++j) {
          double dot = 0, dot_t = 0, dot_cast = 0;
          for (std::int64_t p = 0; p < kk; ++p) {
            dot += a.get(i, p) * b.get(p, j);
            dot_t += a.get(i, p) * bt.get(j, p);
            dot_cast += a_cast.get(i, p) * b.get(p, j);
          }
          expected.push_back(dot + acc.get(i, j));
          expected_t.push_back(dot_t);
          expected_cast.push_back(dot_cast);
        }
      }
      check_close(y, expected, 1e-5, 1e-5);
      check_close(y_t, expected_t, 1e-5, 1e-5);
      check_close(y_cast, expected_cast, 1e-5, 1e-5);
    }
  }
}

TEST_CASE("full, zeros, iota and scalar constants") {
  for (const auto& shape : shape_sweep) {
    // Named copies, not structured bindings: clang 14 cannot capture those in lambdas.
    const std::int64_t rows = shape.first, cols = shape.second;
    HostTensor y(DType::f32, rows, cols), r_idx(DType::i32, rows, cols), c_idx(DType::i32, rows, cols);
    auto kernel = tl::kernel("constants", [&](tl::Builder& k) {
      auto three = tl::constant(3.0, f32);
      tl::store(k.out(tl::tile(rows, cols, f32), "y"),
                tl::full(rows, cols, f32, 0.25) + tl::zeros(rows, cols, f16) + three);
      tl::store(k.out(tl::tile(rows, cols, i32), "r"), tl::iota(rows, cols, 0));
      tl::store(k.out(tl::tile(rows, cols, i32), "c"), tl::iota(rows, cols, 1));
    });
    pto::test::execute(kernel, KernelArgs().set("y", y.view()).set("r", r_idx.view()).set("c", c_idx.view()));
    std::vector<double> ey, er, ec;
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) {
        ey.push_back(3.25);
        er.push_back(double(i));
        ec.push_back(double(j));
      }
    }
    check_close(y, ey, 0, 0);
    check_close(r_idx, er, 0, 0);
    check_close(c_idx, ec, 0, 0);
  }
}

TEST_CASE("load: offsets, valid extents and pad, store to a global writes only the valid region") {
  std::mt19937 rng(13);
  const std::int64_t total_rows = 37, cols = 24;
  HostTensor src(DType::f16, total_rows, cols), dst(DType::f32, total_rows, cols);
  src.fill_random(rng, -2, 2);
  for (std::int64_t r = 0; r < total_rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) dst.set(r, c, -7);  // poison: unwritten elements stay -7
  auto kernel = tl::kernel("copy_blocks", [&](tl::Builder& k) {
    auto in = k.in(tl::global(f16, {tl::dyn, cols}), "src");
    auto out = k.out(tl::global(f32, {tl::dyn, cols}), "dst");
    auto n = k.scalar(i32, "n");
    tl::for_range(0, n, 8, [&](tl::Scalar j) {
      auto block = tl::load(in, j, 8, n - j, tl::Pad{100.0});         // masked tail reads 100
      tl::store(out, j, 0, tl::cast(block, f32) * 2.0, n - j, cols);  // only the valid rows are written
    });
  });
  pto::test::execute(kernel, KernelArgs().set("src", src.view()).set("dst", dst.view()).set("n", 30));
  std::vector<double> expected;
  for (std::int64_t r = 0; r < total_rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) expected.push_back(r < 30 ? 2 * src.get(r, c) : -7);
  check_close(dst, expected, 0, 0);

  // A sub-block with a column offset and both extents masked: the pad fills the rest.
  HostTensor block(DType::f32, 4, 5);
  auto window = tl::kernel("window", [&](tl::Builder& k) {
    auto in = k.in(tl::global(f16, {tl::dyn, cols}), "src");
    tl::store(k.out(tl::tile(4, 5, f32), "y"), tl::cast(tl::load(in, 35, 20, 4, 5, 2, 3, -1.0), f32));
  });
  pto::test::execute(window, KernelArgs().set("src", src.view()).set("y", block.view()));
  std::vector<double> expected_block;
  for (std::int64_t r = 0; r < 4; ++r)
    for (std::int64_t c = 0; c < 5; ++c) expected_block.push_back(r < 2 && c < 3 ? src.get(35 + r, 20 + c) : -1.0);
  check_close(block, expected_block, 0, 0);
}

TEST_CASE("load_scalar: a block table's entries pick the rows a loop gathers (paged KV)") {
  std::mt19937 rng(17);
  const std::int64_t page = 4, pages = 9, cols = 12;
  HostTensor pool(DType::f16, pages * page, cols), gathered(DType::f32, 5 * page, cols);
  pool.fill_random(rng, -2, 2);
  std::vector<std::int32_t> table = {7, 2, 8, 0, 5};
  auto kernel = tl::kernel("gather_pages", [&](tl::Builder& k) {
    auto in = k.in(tl::global(f16, {tl::dyn, cols}), "pool");
    auto pages_of = k.in(tl::global(i32, {tl::dyn, 1}), "table");
    auto out = k.out(tl::global(f32, {tl::dyn, cols}), "out");
    auto n = k.scalar(i32, "n");
    tl::for_range(0, n, 1, [&](tl::Scalar j) {
      auto row = tl::load_scalar(pages_of, j) * page;
      tl::store(out, j * page, 0, tl::cast(tl::load(in, row, page, page), f32), page, cols);
    });
  });
  pto::test::execute(
      kernel,
      KernelArgs().set("pool", pool.view()).set("table", view(table, 5, 1)).set("out", gathered.view()).set("n", 5));
  std::vector<double> expected;
  for (std::int64_t r = 0; r < 5 * page; ++r)
    for (std::int64_t c = 0; c < cols; ++c)
      expected.push_back(pool.get(table[static_cast<std::size_t>(r / page)] * page + r % page, c));
  check_close(gathered, expected, 0, 0);

  // i64 and float globals, a column offset and a strided view.
  std::vector<std::int64_t> wide = {1, 2, 3, 4, 5, 6};
  std::vector<float> numbers = {0.5f, -1.25f, 3.0f, 8.0f};
  std::vector<float> y(2);
  auto mixed = tl::kernel("scalars", [&](tl::Builder& k) {
    auto w = k.in(tl::global(tl::i64, {tl::dyn, tl::dyn}), "w");
    auto f = k.in(tl::global(f32, {tl::dyn, 2}), "f");
    auto index = tl::load_scalar(w, 1, 2);  // 6
    auto out =
        tl::zeros(1, 2, f32) + tl::cast(tl::full(1, 1, tl::i64, 0) + index, f32) + tl::load_scalar(f, 1, 1);  // 6 + 8
    tl::store(k.out(tl::tile(1, 2, f32), "y"), out);
  });
  pto::test::execute(mixed,
                     KernelArgs().set("w", view(wide, 2, 3)).set("f", view(numbers, 2, 2)).set("y", view(y, 1, 2)));
  CHECK(y[0] == 14.0f);
  CHECK(y[1] == 14.0f);
}

// tl::load_rows (issue #19, paged KV at contiguous speed): one step gathers a block of
// tokens through the block table's entries, whatever the page size; the masked tail reads
// the pad. Every backend gives the interpreter's values (pto::test::execute).
TEST_CASE("load_rows: a block of rows gathered through an index tile, for page sizes 1, 4 and 16") {
  std::mt19937 rng(23);
  const std::int64_t cols = 24, block = 16;
  for (const std::int64_t page : {1, 4, 16}) {
    CAPTURE(page);
    const std::int64_t pages = 64 / page + 3;
    HostTensor pool(DType::f16, pages * page, cols);
    pool.fill_random(rng, -2, 2);
    std::vector<std::int32_t> table(static_cast<std::size_t>(pages));
    for (std::size_t i = 0; i < table.size(); ++i) table[i] = static_cast<std::int32_t>((i * 5 + 3) % table.size());
    for (const std::int64_t length : {0, 1, 15, 16, 37, 64}) {
      CAPTURE(length);
      HostTensor gathered(DType::f32, 64, cols);
      auto kernel = tl::kernel("gather_rows", [&](tl::Builder& k) {
        auto in = k.in(tl::global(f16, {tl::dyn, cols}), "pool");
        auto pages_of = k.in(tl::global(i32, {tl::dyn, 1}), "table");
        auto out = k.out(tl::global(f32, {tl::dyn, cols}), "out");
        auto n = k.scalar(i32, "n");
        tl::for_range(0, n, block, [&](tl::Scalar j) {
          const std::int64_t entries = std::max<std::int64_t>(block / page, 1);
          auto first = j / page;
          auto index = tl::load(pages_of, first, entries, (n + (page - 1)) / page - first);
          auto rows = tl::load_rows(in, index, page, block, n - j, tl::Pad{-3.0});
          tl::store(out, j, 0, tl::cast(rows, f32), block, cols);
        });
      });
      pto::test::execute(kernel, KernelArgs()
                                     .set("pool", pool.view())
                                     .set("table", view(table, pages, 1))
                                     .set("out", gathered.view())
                                     .set("n", static_cast<std::int32_t>(length)));
      std::vector<double> expected;
      const std::int64_t stored = (length + block - 1) / block * block;
      for (std::int64_t r = 0; r < 64; ++r) {
        for (std::int64_t c = 0; c < cols; ++c) {
          const double value =
              r < length ? pool.get(table[static_cast<std::size_t>(r / page)] * page + r % page, c) : -3.0;
          expected.push_back(r < stored ? value : 0.0);
        }
      }
      check_close(gathered, expected, 0, 0);
    }
  }
}

// The CUDA backend fetches a loop's load_rows one step ahead (cp.async) and reads the next
// step's block-table entries from the table itself; these loops' gathers are fetched ahead,
// with aligned and unaligned rows, an index loaded before the loop, and a bad entry that
// only a later step reaches (the fetch ahead skips it; that step reports it).
TEST_CASE("load_rows fetched ahead in a loop: per-step and fixed index tiles, alignments, a bad later entry") {
  std::mt19937 rng(29);
  const std::int64_t cols = 24, block = 16, page = 4, entries = block / page, pages = 20;
  HostTensor wide(DType::f16, pages * page, cols + 1);
  wide.fill_random(rng, -2, 2);
  std::vector<std::int32_t> table(static_cast<std::size_t>(pages));
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = static_cast<std::int32_t>((i * 7 + 2) % table.size());
  auto kernel = tl::kernel("gather_ahead", [&](tl::Builder& k) {
    auto pool = k.in(tl::global(f16, {tl::dyn, cols}), "pool");
    auto pages_of = k.in(tl::global(i32, {tl::dyn, 1}), "table");
    auto n = k.scalar(i32, "n");
    auto [sum] = tl::for_range(0, n, block, {tl::zeros(1, cols, f32)}, [&](tl::Scalar j, tl::Value acc) {
      auto first = j / page;
      auto index = tl::load(pages_of, first, entries, (n + (page - 1)) / page - first);
      return tl::carry(acc + tl::colsum(tl::cast(tl::load_rows(pool, index, page, block, n - j, tl::Pad{0.5}), f32)));
    });
    auto fixed = tl::load(pages_of, 0, entries, entries);
    auto [again] = tl::for_range(0, 3, 1, {tl::zeros(1, cols, f32)}, [&](tl::Scalar j, tl::Value acc) {
      return tl::carry(acc + tl::colsum(tl::cast(tl::load_rows(pool, fixed, page, block, block - j), f32)));
    });
    tl::store(k.out(tl::tile(1, cols, f32), "sum"), sum);
    tl::store(k.out(tl::tile(1, cols, f32), "again"), again);
  });
  for (const std::int64_t offset : {0, 1}) {  // column 1 on: rows not 16-byte aligned
    CAPTURE(offset);
    TensorView pool{wide.bytes.data() + offset * 2, DType::f16, pages * page, cols, cols + 1};
    const auto gathered = [&](std::int64_t r, std::int64_t c) {
      return wide.get(table[static_cast<std::size_t>(r / page)] * page + r % page, c + offset);
    };
    for (const std::int32_t n : {0, 5, 16, 45, 80}) {
      CAPTURE(n);
      HostTensor sum(DType::f32, 1, cols), again(DType::f32, 1, cols);
      pto::test::execute(kernel, KernelArgs()
                                     .set("pool", pool)
                                     .set("table", view(table, pages, 1))
                                     .set("n", n)
                                     .set("sum", sum.view())
                                     .set("again", again.view()));
      std::vector<double> want_sum(cols, 0.0), want_again(cols, 0.0);
      const std::int64_t padded = (n + block - 1) / block * block;
      for (std::int64_t c = 0; c < cols; ++c) {
        for (std::int64_t r = 0; r < padded; ++r) want_sum[c] += r < n ? gathered(r, c) : 0.5;
        for (std::int64_t j = 0; j < 3; ++j)
          for (std::int64_t r = 0; r < block - j; ++r) want_again[c] += gathered(r, c);
      }
      check_close(sum, want_sum, 1e-5, 1e-5);
      check_close(again, want_again, 1e-5, 1e-5);
    }
  }
  // Entry 9 (rows 36..39, the third step's) names rows past the pool: the error comes from
  // that step on every backend, though the CUDA backend's fetch ahead met it a step earlier.
  table[9] = static_cast<std::int32_t>(pages);
  HostTensor sum(DType::f32, 1, cols), again(DType::f32, 1, cols);
  const KernelArgs bad = KernelArgs()
                             .set("pool", TensorView{wide.bytes.data(), DType::f16, pages * page, cols, cols + 1})
                             .set("table", view(table, pages, 1))
                             .set("n", 45)
                             .set("sum", sum.view())
                             .set("again", again.view());
  try {
    interpret(kernel, bad);
    FAIL("the interpreter read past the pool");
  } catch (const Error& error) {
    CHECK(std::string(error.what()).find("gathered row 80 (cols [0, 24)) is outside the tensor") != std::string::npos);
  }
  CHECK_THROWS_AS(pto::test::execute(kernel, bad), Error);  // every backend: the interpreter's message
}

// Page size 1, 32 rows a step: more entries per step than the CUDA fetch ahead keeps in
// registers, so it reads each group's entry from the table where it copies the group.
TEST_CASE("load_rows fetched ahead with more block-table entries per step than registers hold") {
  std::mt19937 rng(31);
  const std::int64_t cols = 16, block = 32, pool_rows = 100;
  HostTensor pool(DType::f16, pool_rows, cols);
  pool.fill_random(rng, -2, 2);
  std::vector<std::int32_t> table(static_cast<std::size_t>(pool_rows));
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = static_cast<std::int32_t>((i * 37 + 11) % table.size());
  auto kernel = tl::kernel("gather_single_rows", [&](tl::Builder& k) {
    auto in = k.in(tl::global(f16, {tl::dyn, cols}), "pool");
    auto rows_of = k.in(tl::global(i32, {tl::dyn, 1}), "table");
    auto n = k.scalar(i32, "n");
    auto [sum] = tl::for_range(0, n, block, {tl::zeros(1, cols, f32)}, [&](tl::Scalar j, tl::Value acc) {
      auto index = tl::load(rows_of, j, block, n - j);
      return tl::carry(acc + tl::colsum(tl::cast(tl::load_rows(in, index, 1, block, n - j), f32)));
    });
    tl::store(k.out(tl::tile(1, cols, f32), "sum"), sum);
  });
  for (const std::int32_t n : {0, 7, 33, 90}) {
    CAPTURE(n);
    HostTensor sum(DType::f32, 1, cols);
    pto::test::execute(kernel, KernelArgs()
                                   .set("pool", pool.view())
                                   .set("table", view(table, pool_rows, 1))
                                   .set("n", n)
                                   .set("sum", sum.view()));
    std::vector<double> want(cols, 0.0);
    for (std::int64_t c = 0; c < cols; ++c)
      for (std::int64_t r = 0; r < n; ++r) want[c] += pool.get(table[static_cast<std::size_t>(r)], c);
    check_close(sum, want, 1e-5, 1e-5);
  }
}

TEST_CASE("load_rows: an entry naming a row outside the global is the same error on every backend") {
  HostTensor pool(DType::f32, 8, 4), out(DType::f32, 8, 4);
  std::vector<std::int32_t> table = {1, 0, 5, 3};  // entry 2: rows 10 and 11 of 8
  auto kernel = tl::kernel("gather_bad", [&](tl::Builder& k) {
    auto in = k.in(tl::global(f32, {tl::dyn, 4}), "pool");
    auto pages_of = k.in(tl::global(i32, {tl::dyn, 1}), "table");
    auto n = k.scalar(i32, "n");
    auto rows = tl::load_rows(in, tl::load(pages_of, 0, 4, 4), 2, 8, n);
    tl::store(k.out(tl::global(f32, {tl::dyn, 4}), "out"), 0, 0, rows, 8, 4);
  });
  const auto args = [&](std::int32_t n) {
    return KernelArgs().set("pool", pool.view()).set("table", view(table, 4, 1)).set("out", out.view()).set("n", n);
  };
  pto::test::execute(kernel, args(4));  // rows of entries 0 and 1 only: fine
  // The interpreter's error for n valid rows.
  const auto message_for = [&](std::int32_t n) {
    try {
      interpret(kernel, args(n));
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  CHECK(message_for(6).find("load_rows: load from 'pool' [8,4]: gathered row 10 (cols [0, 4)) is outside the tensor") !=
        std::string::npos);
  // The CPU backend (and a GPU, when present) report the same message; execute() checks it
  // and rethrows the interpreter's.
  CHECK_THROWS_AS(pto::test::execute(kernel, args(6)), Error);
  pto::test::execute(kernel, args(-2));  // no valid rows: nothing read, all pad
  table = {1, -1, 0, 3};                 // entry 1: rows -2 and -1
  CHECK(message_for(6).find("gathered row -2 (cols [0, 4)) is outside the tensor") != std::string::npos);
  CHECK_THROWS_AS(pto::test::execute(kernel, args(6)), Error);
  pto::test::execute(kernel, args(2));  // only entry 0's rows are valid: the negative entry is never read
}

TEST_CASE("load_rows: the errors name what is wrong with the index, the group or the global") {
  const auto error_of = [](const std::function<void(tl::Builder&)>& body) {
    try {
      (void)tl::kernel("bad", body);
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  const auto gather = [](std::optional<tl::Value> index, std::int64_t group, std::int64_t rows) {
    return [=](tl::Builder& k) {
      auto in = k.in(tl::global(f32, {tl::dyn, 4}), "pool");
      auto out = k.out(tl::tile(8, 4, f32), "out");
      tl::Value entries = index ? *index : tl::load(k.in(tl::global(i32, {tl::dyn, 1}), "table"), 0, 4, 4);
      tl::store(out, tl::load_rows(in, entries, group, rows, rows));
    };
  };
  CHECK(error_of(gather(std::nullopt, 2, 8)) == "no error");
  CHECK(error_of(gather(std::nullopt, 0, 8)).find("0 rows per index entry; give 1 to 8") != std::string::npos);
  CHECK(error_of(gather(std::nullopt, 9, 8)).find("9 rows per index entry; give 1 to 8") != std::string::npos);
  CHECK(error_of(gather(std::nullopt, 1, 8))
            .find("an index of 4 entries x 1 rows covers 4 rows, fewer than the "
                  "tile's 8") != std::string::npos);
  CHECK(error_of([](tl::Builder& k) {
          auto in = k.in(tl::global(f32, {tl::dyn, 4}), "pool");
          auto index = tl::zeros(4, 2, i32);
          tl::store(k.out(tl::tile(8, 4, f32), "out"), tl::load_rows(in, index, 2, 8, 8));
        }).find("the index must be an i32 tile [n, 1]") != std::string::npos);
  CHECK(error_of([](tl::Builder& k) {
          auto in = k.in(tl::global(f32, {tl::dyn, 4}), "pool");
          auto index = tl::zeros(4, 1, f32);
          tl::store(k.out(tl::tile(8, 4, f32), "out"), tl::load_rows(in, index, 2, 8, 8));
        }).find("the index must be an i32 tile [n, 1]") != std::string::npos);
  CHECK(error_of([](tl::Builder& k) {
          auto in = k.in(tl::global(f32, {tl::dyn, tl::dyn}), "pool");
          tl::store(k.out(tl::tile(8, 4, f32), "out"), tl::load_rows(in, tl::zeros(4, 1, i32), 2, 8, 8));
        }).find("needs a static column count") != std::string::npos);
}

// The CUDA backend fetches these loops' blocks one iteration ahead (cp.async into a second
// buffer): 16-byte copies of single f32 rows, 4-byte copies of padded f16 rows, element
// copies where a column offset leaves the rows unaligned, pads past the valid rows, loops
// nested in loops, a last step past the end, and loops that run once or not at all.
TEST_CASE("loops that load their next blocks ahead: alignments, pads, nesting and trip counts") {
  std::mt19937 rng(19);
  const std::int64_t rows = 45, cols = 40;
  HostTensor f32_rows(DType::f32, rows, cols), f16_rows(DType::f16, rows, cols);
  f32_rows.fill_random(rng, -2, 2);
  f16_rows.fill_random(rng, -2, 2);
  for (int first : {0, 3}) {
    for (int n : {0, 1, 7, 45}) {
      CAPTURE(first);
      CAPTURE(n);
      HostTensor rows_out(DType::f32, 1, cols), blocks_out(DType::f32, 1, cols), shifted_out(DType::f32, 1, cols - 8),
          nested_out(DType::f32, 1, cols);
      auto kernel = tl::kernel("ahead", [&](tl::Builder& k) {
        auto a = k.in(tl::global(f32, {tl::dyn, cols}), "a");
        auto b = k.in(tl::global(f16, {tl::dyn, cols}), "b");
        auto start = k.scalar(i32, "start");
        auto end = k.scalar(i32, "end");
        // Single f32 rows; the last one is masked (valid rows end - j - 1) and reads the pad 0.25.
        auto [row_sum] = tl::for_range(start, end, 1, {tl::zeros(1, cols, f32)}, [&](tl::Scalar j, tl::Value acc) {
          return tl::carry(acc + tl::load(a, j, 1, end - j - 1, tl::Pad{0.25}));
        });
        // 8 f16 rows per step (a last step past the end) and the same rows from column 1 on
        // (unaligned), as column sums.
        auto [block_sum, shifted_sum] = tl::for_range(
            start, end, 8, {tl::zeros(1, cols, f32), tl::zeros(1, cols - 8, f32)},
            [&](tl::Scalar j, tl::Value acc, tl::Value shifted) {
              return tl::carry(acc + tl::colsum(tl::cast(tl::load(b, j, 8, end - j), f32)),
                               shifted + tl::colsum(tl::cast(tl::load(b, j, 1, 8, cols - 8, end - j, cols - 8), f32)));
            });
        tl::store(k.out(tl::tile(1, cols, f32), "row_sum"), row_sum);
        tl::store(k.out(tl::tile(1, cols, f32), "block_sum"), block_sum);
        tl::store(k.out(tl::tile(1, cols - 8, f32), "shifted_sum"), shifted_sum);
        // An inner loop over each outer step's 5 rows.
        auto [outer] = tl::for_range(start, end, 5, {tl::zeros(1, cols, f32)}, [&](tl::Scalar i, tl::Value acc) {
          auto [inner] = tl::for_range(i, tl::minimum(i + 5, end), 1, {tl::zeros(1, cols, f32)},
                                       [&](tl::Scalar j, tl::Value a_in) {
                                         return tl::carry(a_in + tl::cast(tl::load(b, j, 1, 1), f32) * 2.0);
                                       });
          return tl::carry(acc + inner);
        });
        tl::store(k.out(tl::tile(1, cols, f32), "nested"), outer);
      });
      pto::test::execute(kernel, KernelArgs()
                                     .set("a", f32_rows.view())
                                     .set("b", f16_rows.view())
                                     .set("start", first)
                                     .set("end", n)
                                     .set("row_sum", rows_out.view())
                                     .set("block_sum", blocks_out.view())
                                     .set("shifted_sum", shifted_out.view())
                                     .set("nested", nested_out.view()));
      std::vector<double> expected_rows(cols, 0.0), expected_blocks(cols, 0.0), expected_shifted(cols - 8, 0.0),
          expected_nested(cols, 0.0);
      for (std::size_t c = 0; c < static_cast<std::size_t>(cols); ++c) {
        const auto column = static_cast<std::int64_t>(c);
        for (int j = first; j < n; ++j) {
          expected_rows[c] += j + 1 < n ? f32_rows.get(j, column) : 0.25;
          expected_blocks[c] += f16_rows.get(j, column);
          if (c < expected_shifted.size()) expected_shifted[c] += f16_rows.get(j, column + 1);
          expected_nested[c] += 2 * f16_rows.get(j, column);
        }
      }
      check_close(rows_out, expected_rows, 1e-5, 1e-5);
      check_close(blocks_out, expected_blocks, 1e-5, 1e-5);
      check_close(shifted_out, expected_shifted, 1e-5, 1e-5);
      check_close(nested_out, expected_nested, 1e-5, 1e-5);
    }
  }
}

TEST_CASE("outputs can be read back after a store, inout tiles hold data on entry") {
  HostTensor acc(DType::f32, 2, 3), y(DType::f32, 2, 3);
  for (int i = 0; i < 6; ++i) acc.set(i / 3, i % 3, i);
  auto kernel = tl::kernel("accumulate", [&](tl::Builder& k) {
    auto io = k.inout(tl::tile(2, 3, f32), "acc");
    auto out = k.out(tl::tile(2, 3, f32), "y");
    tl::store(io, tl::read(io) + 1.0);
    tl::store(out, tl::read(io) * 10.0);
    tl::store(out, tl::read(out) + 0.5);
  });
  pto::test::execute(kernel, KernelArgs().set("acc", acc.view()).set("y", y.view()));
  check_close(acc, {1, 2, 3, 4, 5, 6}, 0, 0);
  check_close(y, {10.5, 20.5, 30.5, 40.5, 50.5, 60.5}, 0, 0);
}

TEST_CASE("scalar expressions over parameters and loop indices work as offsets and extents") {
  HostTensor y(DType::i32, 1, 6);
  auto kernel = tl::kernel("scalars", [&](tl::Builder& k) {
    auto a = k.scalar(i32, "a");
    auto b = k.scalar(i32, "b");
    auto out = k.out(tl::global(i32, {1, 6}), "y");
    auto values = tl::iota(1, 6, 1) * 0;
    // Several scalar divisions in one scope (their zero checks must not collide).
    auto sum = a + b, diff = a - b, prod = a * b, quot = tl::div(a, b) + tl::div(a, b + 0) - tl::div(a, b + 0);
    auto lo = tl::minimum(a, b), hi = tl::maximum(a, b);
    auto pack = tl::where(tl::eq(tl::iota(1, 6, 1), 0), sum, values);
    pack = tl::where(tl::eq(tl::iota(1, 6, 1), 1), diff, pack);
    pack = tl::where(tl::eq(tl::iota(1, 6, 1), 2), prod, pack);
    pack = tl::where(tl::eq(tl::iota(1, 6, 1), 3), quot, pack);
    pack = tl::where(tl::eq(tl::iota(1, 6, 1), 4), lo, pack);
    pack = tl::where(tl::eq(tl::iota(1, 6, 1), 5), hi + tl::lt(a, b), pack);
    tl::store(out, 0, hi - hi, pack, 1, tl::minimum(b + 4, 6));  // valid_cols = min(b+4, 6) = 6 for b >= 2
  });
  pto::test::execute(kernel, KernelArgs().set("a", 17).set("b", -5).set("y", y.view()));
  // b = -5: valid_cols = min(-1, 6) -> clamped to 0: nothing is written.
  check_close(y, {0, 0, 0, 0, 0, 0}, 0, 0);
  pto::test::execute(kernel, KernelArgs().set("a", -17).set("b", 5).set("y", y.view()));
  check_close(y, {-12, -22, -85, -3, -17, 5 + 1}, 0, 0);
}

TEST_CASE("loops carry tiles and scalars, zero-trip loops return their inits") {
  for (int n : {0, 1, 7, 64}) {
    CAPTURE(n);
    HostTensor y(DType::f32, 2, 3), count(DType::i32, 1, 1);
    auto kernel = tl::kernel("loop", [&](tl::Builder& k) {
      auto trips = k.scalar(i32, "n");
      auto [acc, c] = tl::for_range(
          0, trips, 1, {tl::full(2, 3, f32, 1.0), tl::zeros(1, 1, i32)},
          [](tl::Scalar j, tl::Value a, tl::Value cnt) { return tl::carry(a * 0.5 + tl::cast(j, f32), cnt + 1); });
      tl::store(k.out(tl::tile(2, 3, f32), "y"), acc);
      tl::store(k.out(tl::tile(1, 1, i32), "count"), c);
    });
    pto::test::execute(kernel, KernelArgs().set("n", n).set("y", y.view()).set("count", count.view()));
    float expected = 1.0f;
    for (int j = 0; j < n; ++j) expected = expected * 0.5f + static_cast<float>(j);
    check_close(y, std::vector<double>(6, expected), 0, 0);
    check_close(count, {double(n)}, 0, 0);
  }
}
