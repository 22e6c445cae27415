#include "dsl/ir.hpp"

#include <fmt/format.h>

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

OpCategory category(Op op) noexcept {
  switch (op) {
#define PTO_IR_CATEGORY(op, cat) \
  case Op::op: return OpCategory::cat;
    PTO_IR_OPS(PTO_IR_CATEGORY)
#undef PTO_IR_CATEGORY
  }
  return OpCategory::control;
}

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
