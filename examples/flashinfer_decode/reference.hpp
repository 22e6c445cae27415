// The float64 reference every run is checked against: softmax(q K^T / sqrt(d)) V and its
// log-sum-exp for every (request, head), from the same f16 inputs, in double precision.
//
// Tolerance: an element passes when |got - want| <= atol + rtol * |want|, atol = rtol =
// 1e-3. The kernels compute in f32 from f16 inputs (exactly representable in both), so the
// differences are f32 rounding in the dot products, the exponentials and the merge:
// ~1e-6 on unit-scale data; 1e-3 leaves room for longer sequences and larger magnitudes
// while still catching a wrong scale, a missed mask or a dropped chunk (each >= 1e-2).
#pragma once

#include <vector>

#include "examples/flashinfer_decode/problem.hpp"

namespace flashinfer {

inline constexpr double reference_atol = 1e-3;
inline constexpr double reference_rtol = 1e-3;

struct ReferenceCheck {
  double o_max_abs = 0.0, o_max_rel = 0.0;  // rel: |got - want| / |want|, over |want| >= atol
  double lse_max_abs = 0.0, lse_max_rel = 0.0;
  std::int64_t failures = 0;  // elements outside the tolerance (NaN counts)
  std::int64_t checked = 0;   // elements compared
  bool passed() const { return failures == 0 && checked > 0; }
};

// o [batch, heads, head_dim], lse [batch, heads] as produced by the run.
ReferenceCheck check_against_reference(const DecodeShape& shape, const DecodeInputs& inputs,
                                       const std::vector<float>& o, const std::vector<float>& lse);

}  // namespace flashinfer
