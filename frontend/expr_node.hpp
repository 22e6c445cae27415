// The node behind an Expr, for the code that reads expressions (expr.cpp evaluates and
// prints them, expr_code.cpp compiles them); workloads only ever hold Exprs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "frontend/expr.hpp"

namespace pto {

// Binary operators, in ExprNode::slot.
enum ExprOp : int { add, sub, mul, div_, mod, lt, le, gt, ge, eq, ne, bit_and, logical_and, logical_or, min_, max_ };
inline constexpr const char* expr_op_names[] = {"+",  "-",  "*",  "/", "%",  "<",  "<=",  ">",
                                                ">=", "==", "!=", "&", "&&", "||", "min", "max"};

struct ExprNode {
  enum class Kind { constant, var, size, field, table_rows, binary, logical_not };
  Kind kind = Kind::constant;
  std::int64_t value = 0;                    // constant
  int slot = 0;                              // var slot, binary op
  std::shared_ptr<const TableSource> table;  // field, table_rows
  std::size_t offset = 0;                    // field byte offset
  IntKind int_kind = IntKind::i64;
  std::string name;            // leaves: for messages and printing
  std::vector<Expr> operands;  // the row (field); the operands (binary, logical_not)

  ExprNode() = default;
  explicit ExprNode(std::int64_t constant) : value(constant) {}
};

// The integer of `kind` stored at `at` (any alignment).
inline std::int64_t read_int(const std::byte* at, IntKind kind) {
  auto read = [&]<typename T>(T) {
    T value;
    std::memcpy(&value, at, sizeof(T));
    return static_cast<std::int64_t>(value);
  };
  switch (kind) {
    case IntKind::i8: return read(std::int8_t{});
    case IntKind::u8: return read(std::uint8_t{});
    case IntKind::i16: return read(std::int16_t{});
    case IntKind::u16: return read(std::uint16_t{});
    case IntKind::i32: return read(std::int32_t{});
    case IntKind::u32: return read(std::uint32_t{});
    case IntKind::i64: return read(std::int64_t{});
    case IntKind::u64: return read(std::uint64_t{});
  }
  return 0;
}

// a op b as Expr::eval computes it (wrapping + - *, truncating / and %, 1/0 comparisons);
// false for a zero divisor (eval's error).
inline bool apply_expr_op(int op, std::int64_t a, std::int64_t b, std::int64_t& out) {
  const auto ua = static_cast<std::uint64_t>(a), ub = static_cast<std::uint64_t>(b);
  switch (op) {
    case add: out = static_cast<std::int64_t>(ua + ub); return true;
    case sub: out = static_cast<std::int64_t>(ua - ub); return true;
    case mul: out = static_cast<std::int64_t>(ua * ub); return true;
    case div_:
    case mod:
      if (b == 0) return false;
      if (b == -1) {
        out = op == div_ ? static_cast<std::int64_t>(0 - ua) : 0;
      } else {
        out = op == div_ ? a / b : a % b;
      }
      return true;
    case lt: out = a < b; return true;
    case le: out = a <= b; return true;
    case gt: out = a > b; return true;
    case ge: out = a >= b; return true;
    case eq: out = a == b; return true;
    case ne: out = a != b; return true;
    case bit_and: out = a & b; return true;
    case logical_and: out = (a != 0 && b != 0) ? 1 : 0; return true;
    case logical_or: out = (a != 0 || b != 0) ? 1 : 0; return true;
    case min_: out = a < b ? a : b; return true;
    case max_: out = a > b ? a : b; return true;
    default: break;
  }
  out = 0;
  return true;
}

}  // namespace pto
