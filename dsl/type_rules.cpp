#include "dsl/type_rules.hpp"

#include "dsl/op_table.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace pto::ir {

namespace {

TypeError error(std::string message) {
  return TypeError{std::move(message)};
}

bool is_value(const Type& type) {
  return type.is_scalar() || type.is_tile();
}

// Arithmetic dtype of two operands: floats compute in f32 (f16/bf16 are storage types),
// integers in the wider integer; mixing a float and an integer needs an explicit cast.
std::variant<DType, TypeError> arithmetic_dtype(DType a, DType b) {
  if (is_float(a) && is_float(b)) return DType::f32;
  if (is_integer(a) && is_integer(b)) return (a == DType::i64 || b == DType::i64) ? DType::i64 : DType::i32;
  return error(fmt::format("operands of dtypes {} and {} do not mix: convert one with tl::cast", name(a), name(b)));
}

// Broadcast shape of two values: scalars broadcast to anything; tile extents must be
// equal or 1 (a [r,1] column or [1,c] row stretches across the other operand).
Inferred broadcast(const Type& a, const Type& b, DType dtype) {
  if (a.is_scalar() && b.is_scalar()) return Type::scalar(dtype);
  if (a.is_scalar()) return Type::tile(b.rows, b.cols, dtype);
  if (b.is_scalar()) return Type::tile(a.rows, a.cols, dtype);
  auto extent = [](std::int64_t x, std::int64_t y) -> std::int64_t {
    return x == y ? x : (x == 1 ? y : (y == 1 ? x : -1));
  };
  const std::int64_t rows = extent(a.rows, b.rows);
  const std::int64_t cols = extent(a.cols, b.cols);
  if (rows < 0 || cols < 0) {
    return error(fmt::format("shapes [{},{}] and [{},{}] do not broadcast: each extent must be equal, or 1 on one side",
                             a.rows, a.cols, b.rows, b.cols));
  }
  return Type::tile(rows, cols, dtype);
}

std::string not_a_value(const Type& type) {
  return fmt::format("operand of type {} is not a tile or scalar: load a tile from a global with tl::load",
                     to_string(type));
}

Inferred infer_binary(Op op, const Type& a, const Type& b) {
  if (!is_value(a)) return error(not_a_value(a));
  if (!is_value(b)) return error(not_a_value(b));
  const auto dtype = arithmetic_dtype(a.dtype, b.dtype);
  if (const auto* problem = std::get_if<TypeError>(&dtype)) return *problem;
  const DType result = category(op) == OpCategory::compare ? DType::i32 : std::get<DType>(dtype);
  return broadcast(a, b, result);
}

Inferred infer_unary(Op op, const Type& a) {
  if (!is_value(a)) return error(not_a_value(a));
  if (is_integer(a.dtype) && info(op).operands == Operands::floats) {
    return error(fmt::format("needs a float operand, got {}: convert it with tl::cast(x, f32)", name(a.dtype)));
  }
  Type result = a;
  if (is_float(a.dtype)) result.dtype = DType::f32;
  return result;
}

Inferred infer_reduce(Op op, const Type& a) {
  if (!a.is_tile()) return error(fmt::format("needs a tile, got {}", to_string(a)));
  const ReduceInfo reduce = reduce_info(as_reduce(op));
  if (is_integer(a.dtype) && info(op).operands == Operands::floats) {
    return error(
        fmt::format("a mean of {} is not an integer: convert the tile with tl::cast(x, f32) first", name(a.dtype)));
  }
  const DType dtype = is_float(a.dtype) ? DType::f32 : a.dtype;
  return reduce.axis == ReduceAxis::rows ? Type::tile(a.rows, 1, dtype) : Type::tile(1, a.cols, dtype);
}

Inferred infer_matmul(std::span<const Type> operands) {
  if (operands.size() != 2 && operands.size() != 3) return error("takes a, b and an optional accumulator");
  const Type& a = operands[0];
  const Type& b = operands[1];
  if (!a.is_tile() || !b.is_tile()) {
    return error(fmt::format("needs two tiles, got {} and {}", to_string(a), to_string(b)));
  }
  if (!is_float(a.dtype) || !is_float(b.dtype)) {
    return error(fmt::format("needs float tiles (f16, bf16, f32), got {} and {}: convert with tl::cast", name(a.dtype),
                             name(b.dtype)));
  }
  if (a.cols != b.rows) {
    return error(
        fmt::format("inner dimensions differ: a is [{},{}], b is [{},{}] (a's columns must equal b's rows); "
                    "did you mean tl::trans(b)?",
                    a.rows, a.cols, b.rows, b.cols));
  }
  const Type result = Type::tile(a.rows, b.cols, DType::f32);
  if (std::string shape = check_tile_shape(result.rows, result.cols); !shape.empty()) return error(shape);
  if (operands.size() == 3) {
    const Type& acc = operands[2];
    if (!acc.is_tile() || acc.rows != result.rows || acc.cols != result.cols || !is_float(acc.dtype)) {
      return error(
          fmt::format("accumulator must be a float tile [{},{}], got {}", result.rows, result.cols, to_string(acc)));
    }
  }
  return result;
}

}  // namespace

std::string check_tile_shape(std::int64_t rows, std::int64_t cols) {
  if (rows < 1 || cols < 1) return fmt::format("tile shape [{},{}] is empty: both extents must be >= 1", rows, cols);
  std::int64_t elements = 0;
  if (__builtin_mul_overflow(rows, cols, &elements)) {
    return fmt::format(
        "tile [{},{}] has more elements than an int64 counts, more than the limit of {}: split the work into blocks "
        "with tl::for_range",
        rows, cols, max_tile_elements);
  }
  if (elements > max_tile_elements) {
    return fmt::format(
        "tile [{},{}] has {} elements, more than the limit of {}: split the work into blocks with tl::for_range", rows,
        cols, elements, max_tile_elements);
  }
  return {};
}

std::string check_number(DType dtype, double number) {
  if (is_float(dtype)) {
    if (std::isfinite(number) && std::fabs(number) > static_cast<double>(std::numeric_limits<float>::max())) {
      return fmt::format("{} is beyond the range of {} (about +-3.4e38); write +-INFINITY if that is what you mean",
                         number, name(dtype));
    }
    return {};
  }
  if (!std::isfinite(number) || std::trunc(number) != number) {
    return fmt::format("{} is not an integer, so it is no value of {}", number, name(dtype));
  }
  // The bounds are powers of two, exact as doubles: [-2^31, 2^31) and [-2^63, 2^63).
  const bool i32 = dtype == DType::i32;
  const double limit = i32 ? 2147483648.0 : 9223372036854775808.0;
  if (number < -limit || number >= limit) {
    return fmt::format("{} does not fit {} [{}, {}]", number, name(dtype), i32 ? "-2147483648" : "-9223372036854775808",
                       i32 ? "2147483647" : "9223372036854775807");
  }
  return {};
}

Inferred infer(Op op, std::span<const Type> operands, DType cast_to) {
  // Operand counts come from the op table (a fixed count for every value op but matmul).
  auto arity = [&]() -> std::string {
    const OpInfo rule = info(op);
    const auto count = static_cast<int>(operands.size());
    if (count >= rule.min_operands && (rule.max_operands == variadic_operands || count <= rule.max_operands)) return {};
    return fmt::format("takes {} operands, got {}", rule.min_operands, operands.size());
  };
  switch (category(op)) {
    case OpCategory::binary:
    case OpCategory::compare:
      if (auto bad = arity(); !bad.empty()) return error(bad);
      return infer_binary(op, operands[0], operands[1]);
    case OpCategory::unary:
      if (auto bad = arity(); !bad.empty()) return error(bad);
      return infer_unary(op, operands[0]);
    case OpCategory::reduce:
      if (auto bad = arity(); !bad.empty()) return error(bad);
      return infer_reduce(op, operands[0]);
    case OpCategory::matmul: return infer_matmul(operands);
    case OpCategory::shape: {
      if (auto bad = arity(); !bad.empty()) return error(bad);
      const Type& a = operands[0];
      if (!a.is_tile()) return error(fmt::format("needs a tile, got {}", to_string(a)));
      return Type::tile(a.cols, a.rows, a.dtype);
    }
    case OpCategory::cast: {
      if (auto bad = arity(); !bad.empty()) return error(bad);
      if (!is_value(operands[0])) return error(not_a_value(operands[0]));
      Type result = operands[0];
      result.dtype = cast_to;
      return result;
    }
    case OpCategory::select: {
      if (auto bad = arity(); !bad.empty()) return error(bad);
      const Type& condition = operands[0];
      if (!is_value(condition) || condition.dtype != DType::i32) {
        return error(fmt::format("condition must be an i32 tile or scalar (a comparison's result), got {}",
                                 to_string(condition)));
      }
      Inferred values = infer_binary(Op::add, operands[1], operands[2]);
      if (failed(values)) return values;
      return broadcast(condition, get(values), get(values).dtype);
    }
    case OpCategory::param:
    case OpCategory::constant:
    case OpCategory::memory:
    case OpCategory::control: break;
  }
  return error(fmt::format("op {} has no operand-only typing rule", name(op)));
}

const Type& get(const Inferred& inferred) {
  return std::get<Type>(inferred);
}
bool failed(const Inferred& inferred) {
  return std::holds_alternative<TypeError>(inferred);
}
const std::string& message(const Inferred& inferred) {
  return std::get<TypeError>(inferred).message;
}

}  // namespace pto::ir
