// NodeVisitor: dispatches a node to its handler (Halide's IRVisitor is the model). A visitor
// derives from NodeVisitor<Self, Result> (befriending it, so the handlers may stay private)
// and defines
//   visit_param, visit_constant, visit_elementwise (binary, compare, select, cast, unary),
//   visit_reduce, visit_matmul, visit_shape,
//   and one visit_<op> per memory and control op (visit_load, visit_store, visit_for_range, ...),
// each `Result (const ir::Node&)`. The dispatch is generated from dsl/ir.hpp's op lists, so a
// visitor lacking a handler does not build; inside visit_elementwise and visit_reduce the
// category's enum (as_unary(op), as_reduce(op), ...) is switched over without a `default:`,
// so a new op of those does not build either until the visitor handles it.
#pragma once

#include <fmt/format.h>

#include "core/error.hpp"
#include "dsl/ir.hpp"

namespace pto::ir {

template <typename Derived, typename Result = void>
class NodeVisitor {
 public:
  Result visit(const Node& node) {
    Derived& self = static_cast<Derived&>(*this);
    switch (node.op) {
#define PTO_VISIT_param(op) return self.visit_param(node);
#define PTO_VISIT_constant(op) return self.visit_constant(node);
#define PTO_VISIT_memory(op) return self.visit_##op(node);
#define PTO_VISIT_binary(op) return self.visit_elementwise(node);
#define PTO_VISIT_compare(op) return self.visit_elementwise(node);
#define PTO_VISIT_select(op) return self.visit_elementwise(node);
#define PTO_VISIT_cast(op) return self.visit_elementwise(node);
#define PTO_VISIT_unary(op) return self.visit_elementwise(node);
#define PTO_VISIT_reduce(op) return self.visit_reduce(node);
#define PTO_VISIT_matmul(op) return self.visit_matmul(node);
#define PTO_VISIT_shape(op) return self.visit_shape(node);
#define PTO_VISIT_control(op) return self.visit_##op(node);
#define PTO_VISIT_OP(op, category) \
  case Op::op: PTO_VISIT_##category(op)
      PTO_IR_OPS(PTO_VISIT_OP)
#undef PTO_VISIT_OP
#undef PTO_VISIT_param
#undef PTO_VISIT_constant
#undef PTO_VISIT_memory
#undef PTO_VISIT_binary
#undef PTO_VISIT_compare
#undef PTO_VISIT_select
#undef PTO_VISIT_cast
#undef PTO_VISIT_unary
#undef PTO_VISIT_reduce
#undef PTO_VISIT_matmul
#undef PTO_VISIT_shape
#undef PTO_VISIT_control
    }
    throw InternalError(fmt::format("op {} is out of range", static_cast<int>(node.op)));
  }
};

}  // namespace pto::ir
