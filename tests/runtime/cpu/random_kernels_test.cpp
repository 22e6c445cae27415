// Random kernels (random op chains over random shapes and dtypes) on the compiled CPU
// backend against the interpreter. Op choices keep values bounded (tanh before exp,
// 1 + |x| as divisor) so that both sides stay finite and the comparison tests the code,
// not overflow thresholds.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <random>

#include "tests/dsl/dsl_test_util.hpp"

using namespace pto;

namespace {

struct RandomKernel {
  tl::KernelInstance kernel;
  std::vector<std::pair<std::string, test::HostTensor>> inputs;
  std::int64_t rows = 0, cols = 0;
  std::string ops;  // what was generated, for failure messages
};

RandomKernel generate(std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const auto shape = test::shape_sweep[static_cast<std::size_t>(pick(static_cast<int>(test::shape_sweep.size())))];
  RandomKernel out;
  out.rows = shape.first;
  out.cols = shape.second;
  const DType dtypes[] = {DType::f32, DType::f16, DType::bf16};
  const int input_count = 2 + pick(2);
  for (int i = 0; i < input_count; ++i) {
    test::HostTensor tensor(dtypes[pick(3)], out.rows, out.cols);
    tensor.fill_random(rng, -2, 2);
    out.inputs.emplace_back(fmt::format("x{}", i), std::move(tensor));
  }
  const int steps = 4 + pick(12);
  out.kernel = tl::kernel(fmt::format("random_{}", seed), [&](tl::Builder& k) {
    std::vector<tl::Value> full;    // [rows, cols] values
    std::vector<tl::Value> column;  // [rows, 1]
    std::vector<tl::Value> row;     // [1, cols]
    for (const auto& [name, tensor] : out.inputs)
      full.push_back(k.in(tl::tile(out.rows, out.cols, tensor.dtype), name));
    auto y = k.out(tl::tile(out.rows, out.cols, tl::f32), "y");
    auto any_full = [&] { return full[static_cast<std::size_t>(pick(static_cast<int>(full.size())))]; };
    for (int step = 0; step < steps; ++step) {
      const int choice = pick(14);
      tl::Value a = any_full();
      tl::Value b = any_full();
      switch (choice) {
        case 0:
          full.push_back(a + b);
          out.ops += "add ";
          break;
        case 1:
          full.push_back(a - b * 0.5);
          out.ops += "sub ";
          break;
        case 2:
          full.push_back(a * b);
          out.ops += "mul ";
          break;
        case 3:
          full.push_back(a / (tl::abs(b) + 1.0));
          out.ops += "div ";
          break;
        case 4:
          full.push_back(tl::maximum(a, b));
          out.ops += "max ";
          break;
        case 5:
          full.push_back(tl::exp(tl::tanh(a)));
          out.ops += "exp(tanh) ";
          break;
        case 6:
          full.push_back(tl::sigmoid(a) + tl::silu(b));
          out.ops += "sigmoid+silu ";
          break;
        case 7:
          full.push_back(tl::sin(a) * tl::cos(b));
          out.ops += "sin*cos ";
          break;
        case 8:
          full.push_back(tl::where(tl::gt(a, b), tl::relu(a), tl::neg(b)));
          out.ops += "where ";
          break;
        case 9:
          column.push_back(pick(2) ? tl::rowmax(a) : tl::rowmean(a));
          out.ops += "rowreduce ";
          break;
        case 10:
          row.push_back(pick(2) ? tl::colmin(a) : tl::colsum(a) * 0.1);
          out.ops += "colreduce ";
          break;
        case 11:
          if (!column.empty()) {
            full.push_back(a - column[static_cast<std::size_t>(pick(static_cast<int>(column.size())))]);
            out.ops += "rowbcast ";
          }
          break;
        case 12:
          if (!row.empty()) {
            full.push_back(a * row[static_cast<std::size_t>(pick(static_cast<int>(row.size())))]);
            out.ops += "colbcast ";
          }
          break;
        case 13:  // a [r,c] x b^T [c,r] -> [r,r]; fold back to [r,c] with a row reduction
          if (out.rows * out.rows <= 4096) {
            column.push_back(tl::rowsum(tl::matmul(a, tl::trans(b))) * 0.01);
            out.ops += "matmul ";
          }
          break;
        default: break;
      }
    }
    tl::Value result = full.back();
    if (!column.empty()) result = result + column.back();
    if (!row.empty()) result = result + row.back();
    tl::store(y, result);
  });
  return out;
}

}  // namespace

TEST_CASE("200 random kernels: the compiled CPU backend equals the interpreter") {
  for (std::uint32_t seed = 0; seed < 200; ++seed) {
    RandomKernel generated = generate(seed);
    CAPTURE(seed);
    CAPTURE(generated.ops);
    KernelArgs args;
    for (auto& [name, tensor] : generated.inputs) args.set(name, tensor.view());
    test::HostTensor y(DType::f32, generated.rows, generated.cols);
    args.set("y", y.view());
    test::execute(generated.kernel, args);
  }
}
