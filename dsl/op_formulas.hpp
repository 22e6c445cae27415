// Unary ops defined in terms of simpler ones, written once. Each executor instantiates them
// with its own `Math`: float arithmetic (the interpreter), IRBuilder calls (the LLVM
// backend), C++ expression text (the CUDA backend and its support header), so the three
// compute the same operations in the same order.
//
// Math provides: a `Value` type and constant(double), add, sub, mul, div, neg, exp, sqrt, erf.
#pragma once

namespace pto::ir::formulas {

template <typename Math>
typename Math::Value rsqrt(Math& m, typename Math::Value x) {
  return m.div(m.constant(1.0), m.sqrt(x));
}

template <typename Math>
typename Math::Value sigmoid(Math& m, typename Math::Value x) {
  return m.div(m.constant(1.0), m.add(m.constant(1.0), m.exp(m.neg(x))));
}

template <typename Math>
typename Math::Value silu(Math& m, typename Math::Value x) {
  return m.div(x, m.add(m.constant(1.0), m.exp(m.neg(x))));
}

// The exact GELU, 0.5 x (1 + erf(x / sqrt 2)) (not the tanh approximation).
template <typename Math>
typename Math::Value gelu(Math& m, typename Math::Value x) {
  return m.mul(m.mul(m.constant(0.5), x), m.add(m.constant(1.0), m.erf(m.mul(x, m.constant(0.70710678118654752)))));
}

}  // namespace pto::ir::formulas
