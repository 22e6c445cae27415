// NodeVisitor: dispatches a node to its category's handler (Halide's IRVisitor is the
// model). A visitor derives from NodeVisitor<Self, Result> and defines one
// `Result visit_<category>(const ir::Node&)` per category of dsl/ir.hpp's PTO_IR_CATEGORIES;
// a missing one does not build. Inside a handler, the category's own enum (as_unary(op),
// as_reduce(op), ...) is switched over without a `default:`, so a new op does not build
// either until the visitor handles it.
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
    switch (category(node.op)) {
#define PTO_IR_VISIT(category) \
  case OpCategory::category: return self.visit_##category(node);
      PTO_IR_CATEGORIES(PTO_IR_VISIT)
#undef PTO_IR_VISIT
    }
    throw InternalError(fmt::format("op {} has no category", static_cast<int>(node.op)));
  }
};

}  // namespace pto::ir
