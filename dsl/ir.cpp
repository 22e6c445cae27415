#include "dsl/ir.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace pto::ir {

std::string_view name(Op op) noexcept {
  switch (op) {
#define PTO_IR_NAME(op, category) \
  case Op::op: return #op;
    PTO_IR_OPS(PTO_IR_NAME)
#undef PTO_IR_NAME
  }
  return "?";
}

std::string_view name(OpCategory category) noexcept {
  switch (category) {
#define PTO_IR_CATEGORY_NAME(category) \
  case OpCategory::category: return #category;
    PTO_IR_CATEGORIES(PTO_IR_CATEGORY_NAME)
#undef PTO_IR_CATEGORY_NAME
  }
  return "?";
}

OpCategory category(Op op) noexcept {
  switch (op) {
#define PTO_IR_CATEGORY(op, cat) \
  case Op::op: return OpCategory::cat;
    PTO_IR_OPS(PTO_IR_CATEGORY)
#undef PTO_IR_CATEGORY
  }
  return OpCategory::control;
}

namespace {

// A category's ops are contiguous in Op: its enum is an offset from the first one.
#define PTO_IR_OP_VALUE(op, category) Op::op,
constexpr Op constant_ops[] = {PTO_IR_CONSTANT_OPS(PTO_IR_OP_VALUE)};
constexpr Op memory_ops[] = {PTO_IR_MEMORY_OPS(PTO_IR_OP_VALUE)};
constexpr Op binary_ops[] = {PTO_IR_BINARY_OPS(PTO_IR_OP_VALUE)};
constexpr Op compare_ops[] = {PTO_IR_COMPARE_OPS(PTO_IR_OP_VALUE)};
constexpr Op unary_ops[] = {PTO_IR_UNARY_OPS(PTO_IR_OP_VALUE)};
constexpr Op reduce_ops[] = {PTO_IR_REDUCE_OPS(PTO_IR_OP_VALUE)};
constexpr Op control_ops[] = {PTO_IR_CONTROL_OPS(PTO_IR_OP_VALUE)};
#undef PTO_IR_OP_VALUE

template <typename Sub, std::size_t N>
Sub narrow_op(Op op, const Op (&ops)[N], OpCategory expected) {
  const auto offset = static_cast<int>(op) - static_cast<int>(ops[0]);
  if (offset < 0 || offset >= static_cast<int>(N) || category(op) != expected) {
    throw InternalError(fmt::format("op {} is not a {} op", name(op), name(expected)));
  }
  return static_cast<Sub>(offset);
}

template <typename Sub, std::size_t N>
Op widen_op(Sub op, const Op (&ops)[N]) noexcept {
  return static_cast<Op>(static_cast<int>(ops[0]) + static_cast<int>(op));
}

}  // namespace

#define PTO_IR_CATEGORY_ENUM(Sub, lower, ops, cat)   \
  Sub as_##lower(Op op) {                            \
    return narrow_op<Sub>(op, ops, OpCategory::cat); \
  }                                                  \
  Op op_of(Sub op) noexcept {                        \
    return widen_op(op, ops);                        \
  }
PTO_IR_CATEGORY_ENUM(ConstantOp, constant, constant_ops, constant)
PTO_IR_CATEGORY_ENUM(MemoryOp, memory, memory_ops, memory)
PTO_IR_CATEGORY_ENUM(BinaryOp, binary, binary_ops, binary)
PTO_IR_CATEGORY_ENUM(CompareOp, compare, compare_ops, compare)
PTO_IR_CATEGORY_ENUM(UnaryOp, unary, unary_ops, unary)
PTO_IR_CATEGORY_ENUM(ReduceOp, reduce, reduce_ops, reduce)
PTO_IR_CATEGORY_ENUM(ControlOp, control, control_ops, control)
#undef PTO_IR_CATEGORY_ENUM

std::string_view name(ParamRole role) noexcept {
  switch (role) {
    case ParamRole::in: return "in";
    case ParamRole::out: return "out";
    case ParamRole::inout: return "inout";
  }
  return "?";
}

std::string to_string(const Type& type) {
  auto extent = [](std::int64_t n) { return n == dynamic_extent ? std::string("?") : std::to_string(n); };
  switch (type.kind) {
    case TypeKind::none: return "none";
    case TypeKind::scalar: return std::string(pto::name(type.dtype));
    case TypeKind::tile: return fmt::format("tile<{}x{}x{}>", type.rows, type.cols, pto::name(type.dtype));
    case TypeKind::global:
      return fmt::format("global<{}x{}x{}>", extent(type.rows), extent(type.cols), pto::name(type.dtype));
  }
  return "?";
}

const Param* Kernel::find_param(std::string_view param_name) const {
  for (const Param& param : params) {
    if (param.name == param_name) return &param;
  }
  return nullptr;
}

}  // namespace pto::ir
