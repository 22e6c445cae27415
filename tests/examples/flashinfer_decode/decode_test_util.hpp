// A small decode problem whose plan uses all four tiers and splits some (request, head)s,
// shared by the CPU and GPU tests of the example.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "examples/flashinfer_decode/planner.hpp"
#include "examples/flashinfer_decode/problem.hpp"

namespace flashinfer::test {

// Chunks of at most 2560 tokens: tier 3 takes 2049..2560, longer requests split.
inline PlannerOptions mixed_planner_options() {
  return {.chunk_min = 256, .chunk_max = 2560};
}

// Lengths off every block and page boundary: masked tails everywhere.
inline DecodeShape mixed_shape() {
  return {{300, 700, 1500, 2500, 5001, 33}, 3, 64};
}

inline Plan mixed_plan(const DecodeShape& shape) {
  return AttentionPlanner(mixed_planner_options()).plan(shape.seq_lens, shape.heads);
}

// The largest |a[i] - b[i]| (the sizes must match).
inline double max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(a[i] - b[i])));
  return worst;
}

}  // namespace flashinfer::test
