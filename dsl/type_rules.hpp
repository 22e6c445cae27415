// The typing rules of the tile ops, in one place: the builder applies them to report the
// user's mistake at the user's line, the verifier applies them again to every node after
// each pass. Each rule returns the result type, or a message saying what is wrong and how
// to fix it (without the op's name or location, which the caller adds).
#pragma once

#include <span>
#include <string>
#include <variant>

#include "dsl/ir.hpp"

namespace pto::ir {

// The largest tile, in elements (256 KiB as f32): a tile lives in one CTA's registers and
// shared memory on the GPU, so anything larger must be split into blocks by a loop.
inline constexpr std::int64_t max_tile_elements = 65536;

struct TypeError {
  std::string message;
};
using Inferred = std::variant<Type, TypeError>;

// Checks a tile shape: both extents >= 1 and at most max_tile_elements in all.
std::string check_tile_shape(std::int64_t rows, std::int64_t cols);

// Checks that `number` is a value of `dtype` (a constant, a fill value or a pad): for
// integer dtypes an integer within the dtype's range (NaN, infinities, fractions and
// out-of-range numbers are rejected, never converted: a double -> integer conversion out of
// range is undefined behaviour), for floats anything f32 holds (NaN and +-inf included;
// finite numbers beyond f32's range are rejected). Returns the problem, or "" when fine.
std::string check_number(DType dtype, double number);

// Result type of an op from its operand types (and, for casts, the target dtype).
// Covers the value ops: binary, compare, select, cast, unary, reduce, matmul, shape.
Inferred infer(Op op, std::span<const Type> operands, DType cast_to = DType::f32);

const Type& get(const Inferred& inferred);  // precondition: holds a Type
bool failed(const Inferred& inferred);
const std::string& message(const Inferred& inferred);  // precondition: holds a TypeError

}  // namespace pto::ir
