// Helpers for the DSL tests: random host tensors and element-wise comparison.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "dsl/arguments.hpp"
#include "dsl/dtype.hpp"

namespace pto::test {

// The tile shapes every op is swept over: single rows and columns, non-powers of two, and
// one realistic attention block.
inline const std::vector<std::pair<std::int64_t, std::int64_t>> shape_sweep = {{1, 1}, {1, 7},   {5, 1},
                                                                               {3, 5}, {16, 33}, {64, 128}};

// Host storage of one tensor in any dtype, plus a double copy of its (rounded) values.
struct HostTensor {
  DType dtype = DType::f32;
  std::int64_t rows = 0, cols = 0;
  std::vector<unsigned char> bytes;

  HostTensor(DType type, std::int64_t r, std::int64_t c)
      : dtype(type), rows(r), cols(c), bytes(static_cast<std::size_t>(r * c * size_bytes(type)), 0) {}

  TensorView view() { return TensorView{bytes.data(), dtype, rows, cols, cols}; }

  double get(std::int64_t r, std::int64_t c) const {
    const std::size_t k = static_cast<std::size_t>(r * cols + c);
    switch (dtype) {
      case DType::f16: return f16_bits_to_f32(reinterpret_cast<const std::uint16_t*>(bytes.data())[k]);
      case DType::bf16: return bf16_bits_to_f32(reinterpret_cast<const std::uint16_t*>(bytes.data())[k]);
      case DType::f32: return reinterpret_cast<const float*>(bytes.data())[k];
      case DType::i32: return reinterpret_cast<const std::int32_t*>(bytes.data())[k];
      case DType::i64: return static_cast<double>(reinterpret_cast<const std::int64_t*>(bytes.data())[k]);
    }
    return 0;
  }
  void set(std::int64_t r, std::int64_t c, double x) {
    const std::size_t k = static_cast<std::size_t>(r * cols + c);
    switch (dtype) {
      case DType::f16: reinterpret_cast<std::uint16_t*>(bytes.data())[k] = f32_to_f16_bits(float(x)); return;
      case DType::bf16: reinterpret_cast<std::uint16_t*>(bytes.data())[k] = f32_to_bf16_bits(float(x)); return;
      case DType::f32: reinterpret_cast<float*>(bytes.data())[k] = float(x); return;
      case DType::i32: reinterpret_cast<std::int32_t*>(bytes.data())[k] = std::int32_t(x); return;
      case DType::i64: reinterpret_cast<std::int64_t*>(bytes.data())[k] = std::int64_t(x); return;
    }
  }
  void fill_random(std::mt19937& rng, double low, double high) {
    std::uniform_real_distribution<double> dist(low, high);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) set(r, c, is_float(dtype) ? dist(rng) : std::floor(dist(rng)));
  }
};

// |actual - expected| <= abs_tol + rel_tol * |expected| for every element (NaN must match NaN).
inline void check_close(const HostTensor& actual, const std::vector<double>& expected, double rel_tol,
                        double abs_tol = 1e-6) {
  REQUIRE(expected.size() == static_cast<std::size_t>(actual.rows * actual.cols));
  for (std::int64_t r = 0; r < actual.rows; ++r) {
    for (std::int64_t c = 0; c < actual.cols; ++c) {
      const double want = expected[static_cast<std::size_t>(r * actual.cols + c)];
      const double got = actual.get(r, c);
      INFO("element [", r, ",", c, "] of [", actual.rows, ",", actual.cols, "]: got ", got, ", expected ", want);
      if (std::isnan(want)) {
        CHECK(std::isnan(got));
      } else if (std::isinf(want)) {
        CHECK(got == want);
      } else {
        CHECK(std::fabs(got - want) <= abs_tol + rel_tol * std::fabs(want));
      }
    }
  }
}

}  // namespace pto::test
