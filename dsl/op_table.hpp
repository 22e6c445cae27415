// What every executor needs to know about an op besides how to run it, as data: operand
// counts, the dtypes it accepts, which attributes it reads, and, for reductions, the axis,
// combiner and identity. The type rules, the verifier, the printer (and so the structural
// hash), the interpreter and both backends read this table instead of listing ops.
//
// Each table is a switch over its enum without a `default:`, so a new op in dsl/ir.hpp's
// lists fails to build here until its row is written.
#pragma once

#include <cstdint>

#include "dsl/ir.hpp"

namespace pto::ir {

// Which dtypes an op's value operands may have. `any`: floats or integers (the category's
// rule says how two of them mix); `floats`: f16, bf16 or f32 only (use tl::cast first).
enum class Operands : std::uint8_t { any, floats };

// The Node attributes an op uses (the printer prints these, so the structural hash sees them).
enum Attribute : std::uint8_t {
  attribute_number = 1,  // Node::number
  attribute_step = 2,    // Node::step
  attribute_axis = 4,    // Node::axis
  attribute_param = 8,   // Node::param
};

struct OpInfo {
  int min_operands = 0;
  int max_operands = 0;  // variadic_operands: any number from min_operands on
  Operands operands = Operands::any;
  std::uint8_t attributes = 0;  // Attribute bits
};
inline constexpr int variadic_operands = -1;

constexpr OpInfo info(Op op) noexcept {
  constexpr std::uint8_t none = 0;
  switch (op) {
    case Op::param: return {0, 0, Operands::any, attribute_param};
    case Op::constant: return {0, 0, Operands::any, attribute_number};
    case Op::full: return {0, 0, Operands::any, attribute_number};
    case Op::iota: return {0, 0, Operands::any, attribute_axis};
    case Op::load: return {5, 5, Operands::any, attribute_number | attribute_param};  // number: the pad
    case Op::load_scalar: return {3, 3, Operands::any, attribute_param};
    case Op::load_rows:  // number: the pad; step: the rows each index entry names
      return {5, 5, Operands::any, attribute_number | attribute_step | attribute_param};
    case Op::read_output: return {1, 1, Operands::any, attribute_param};
    case Op::store: return {2, 6, Operands::any, attribute_param};  // 2 for output tiles, 6 for globals
    case Op::add:
    case Op::sub:
    case Op::mul:
    case Op::div:
    case Op::maximum:
    case Op::minimum:
    case Op::lt:
    case Op::le:
    case Op::gt:
    case Op::ge:
    case Op::eq:
    case Op::ne: return {2, 2, Operands::any, none};
    case Op::where: return {3, 3, Operands::any, none};
    case Op::cast: return {1, 1, Operands::any, none};
    case Op::exp:
    case Op::log:
    case Op::sqrt:
    case Op::rsqrt:
    case Op::tanh:
    case Op::sigmoid:
    case Op::gelu:
    case Op::silu:
    case Op::sin:
    case Op::cos: return {1, 1, Operands::floats, none};
    case Op::relu:
    case Op::neg:
    case Op::abs: return {1, 1, Operands::any, none};  // integers too (wrapping)
    case Op::rowsum:
    case Op::rowmax:
    case Op::rowmin:
    case Op::colsum:
    case Op::colmax:
    case Op::colmin: return {1, 1, Operands::any, none};
    case Op::rowmean:
    case Op::colmean: return {1, 1, Operands::floats, none};  // a mean of integers is not an integer
    case Op::matmul: return {2, 3, Operands::floats, none};
    case Op::trans: return {1, 1, Operands::any, none};
    case Op::for_range: return {2, variadic_operands, Operands::any, attribute_step};
    case Op::yield: return {0, variadic_operands, Operands::any, none};
  }
  return {};
}

// ---- reductions ----------------------------------------------------------------------------

// rows: one result per row ([r, c] -> [r, 1]); cols: one per column ([r, c] -> [1, c]).
enum class ReduceAxis : std::uint8_t { rows, cols };
enum class ReduceKind : std::uint8_t { sum, max, min, mean };
// The accumulator's start: 0, the dtype's lowest value (-inf for floats) or its highest.
enum class ReduceIdentity : std::uint8_t { zero, lowest, highest };

struct ReduceInfo {
  ReduceAxis axis = ReduceAxis::rows;
  ReduceKind kind = ReduceKind::sum;
};

constexpr ReduceInfo reduce_info(ReduceOp op) noexcept {
  switch (op) {
    case ReduceOp::rowsum: return {ReduceAxis::rows, ReduceKind::sum};
    case ReduceOp::rowmax: return {ReduceAxis::rows, ReduceKind::max};
    case ReduceOp::rowmin: return {ReduceAxis::rows, ReduceKind::min};
    case ReduceOp::rowmean: return {ReduceAxis::rows, ReduceKind::mean};
    case ReduceOp::colsum: return {ReduceAxis::cols, ReduceKind::sum};
    case ReduceOp::colmax: return {ReduceAxis::cols, ReduceKind::max};
    case ReduceOp::colmin: return {ReduceAxis::cols, ReduceKind::min};
    case ReduceOp::colmean: return {ReduceAxis::cols, ReduceKind::mean};
  }
  return {};
}

// A mean sums, then divides by the count.
constexpr ReduceIdentity identity(ReduceKind kind) noexcept {
  switch (kind) {
    case ReduceKind::sum:
    case ReduceKind::mean: return ReduceIdentity::zero;
    case ReduceKind::max: return ReduceIdentity::lowest;
    case ReduceKind::min: return ReduceIdentity::highest;
  }
  return ReduceIdentity::zero;
}

}  // namespace pto::ir
