#include "dsl/verifier.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "dsl/type_rules.hpp"

namespace pto::ir {

namespace {

class Verifier {
 public:
  explicit Verifier(const Kernel& kernel)
      : kernel_(kernel), defined_(kernel.values.size(), false), visible_(kernel.values.size(), false) {}

  void run() {
    for (std::size_t i = 0; i < kernel_.params.size(); ++i) {
      const Param& param = kernel_.params[i];
      check_id(param.value, fmt::format("parameter '{}'", param.name));
      if (kernel_.type_of(param.value) != param.type)
        fail_at(nullptr, fmt::format("parameter '{}' has two types", param.name));
    }
    block(kernel_.body, /*loop=*/nullptr);
  }

 private:
  [[noreturn]] void fail_at(const Node* node, const std::string& problem) const {
    const std::string where =
        node == nullptr ? std::string("kernel") : fmt::format("{} (line {})", name(node->op), node->where.line);
    throw Error(fmt::format("verifier: kernel '{}': {}: {}", kernel_.name, where, problem));
  }

  void check_id(ValueId id, const std::string& what) const {
    if (id < 0 || static_cast<std::size_t>(id) >= kernel_.values.size()) {
      throw Error(
          fmt::format("verifier: kernel '{}': {} refers to value %{} which does not exist", kernel_.name, what, id));
    }
  }

  void define(ValueId id, const Node* node) {
    check_id(id, "a result");
    if (defined_[static_cast<std::size_t>(id)]) fail_at(node, fmt::format("value %{} is defined twice", id));
    defined_[static_cast<std::size_t>(id)] = true;
    visible_[static_cast<std::size_t>(id)] = true;
  }

  const Type& use(ValueId id, const Node& node) const {
    check_id(id, fmt::format("an operand of {}", name(node.op)));
    if (!visible_[static_cast<std::size_t>(id)]) {
      fail_at(&node, fmt::format("operand %{} is used where it is not defined (before its definition, or outside "
                                 "the loop body that defines it)",
                                 id));
    }
    return kernel_.type_of(id);
  }

  const Param& param_of(const Node& node) const {
    if (node.param < 0 || static_cast<std::size_t>(node.param) >= kernel_.params.size()) {
      fail_at(&node, fmt::format("refers to parameter {} which does not exist", node.param));
    }
    return kernel_.params[static_cast<std::size_t>(node.param)];
  }

  void expect_index(ValueId id, const Node& node, std::string_view what) const {
    const Type& type = use(id, node);
    if (!type.is_scalar() || !is_integer(type.dtype)) {
      fail_at(&node, fmt::format("{} must be an integer scalar, is {}", what, to_string(type)));
    }
  }

  void expect_result(const Node& node, const Type& expected) const {
    if (node.results.size() != 1) fail_at(&node, fmt::format("must define one value, defines {}", node.results.size()));
    const Type& actual = kernel_.type_of(node.results[0]);
    if (actual != expected) {
      fail_at(&node, fmt::format("result type is {} but its operands give {}", to_string(actual), to_string(expected)));
    }
  }

  void block(const Block& body, const Node* loop) {
    std::vector<ValueId> scope;  // values defined in this block, hidden again when it ends
    for (ValueId argument : body.arguments) {
      define(argument, loop);
      scope.push_back(argument);
    }
    for (std::size_t i = 0; i < body.nodes.size(); ++i) {
      const Node& node = body.nodes[i];
      if (node.op == Op::yield && (loop == nullptr || i + 1 != body.nodes.size())) {
        fail_at(&node, "yield may only end a loop body");
      }
      check_node(node, loop);
      for (ValueId result : node.results) {
        define(result, &node);
        scope.push_back(result);
      }
    }
    if (loop != nullptr && (body.nodes.empty() || body.nodes.back().op != Op::yield)) {
      fail_at(loop, "loop body does not end with yield");
    }
    for (ValueId id : scope) visible_[static_cast<std::size_t>(id)] = false;
    if (loop == nullptr) {
      for (ValueId id : scope) visible_[static_cast<std::size_t>(id)] = true;  // the kernel's top level stays
    }
  }

  void check_node(const Node& node, const Node* loop) {
    switch (category(node.op)) {
      case OpCategory::param: {
        const Param& param = param_of(node);
        if (node.results.size() != 1 || node.results[0] != param.value) {
          fail_at(&node, fmt::format("does not define parameter '{}''s value", param.name));
        }
        return;
      }
      case OpCategory::constant: check_constant(node); return;
      case OpCategory::memory: check_memory(node); return;
      case OpCategory::control:
        switch (as_control(node.op)) {
          case ControlOp::for_range: check_loop(node); return;
          case ControlOp::yield: check_yield(node, *loop); return;
        }
        return;
      case OpCategory::binary:
      case OpCategory::compare:
      case OpCategory::select:
      case OpCategory::cast:
      case OpCategory::unary:
      case OpCategory::reduce:
      case OpCategory::matmul:
      case OpCategory::shape: break;  // the value ops: their typing rule (type_rules.hpp)
    }
    std::vector<Type> types;
    for (ValueId id : node.operands) types.push_back(use(id, node));
    const DType cast_to = node.results.empty() ? DType::f32 : kernel_.type_of(node.results[0]).dtype;
    const Inferred inferred = infer(node.op, types, cast_to);
    if (failed(inferred)) fail_at(&node, message(inferred));
    expect_result(node, get(inferred));
  }

  void check_constant(const Node& node) const {
    if (!node.operands.empty()) fail_at(&node, "takes no operands");
    if (node.results.size() != 1) fail_at(&node, "must define one value");
    const Type& type = kernel_.type_of(node.results[0]);
    if (node.op == Op::constant && !type.is_scalar()) fail_at(&node, "must define a scalar");
    if (node.op != Op::constant) {
      if (!type.is_tile()) fail_at(&node, "must define a tile");
      if (std::string problem = check_tile_shape(type.rows, type.cols); !problem.empty()) fail_at(&node, problem);
    }
    if (node.op == Op::iota && node.axis != 0 && node.axis != 1) fail_at(&node, "axis must be 0 or 1");
    if (node.op != Op::iota) {
      if (std::string problem = check_number(type.dtype, node.number); !problem.empty()) fail_at(&node, problem);
    }
  }

  // What load and load_rows share: operands 2-4 (col, valid rows, valid cols) are indices,
  // and the one result is a tile of the global's dtype with a pad of that dtype.
  void check_loaded_tile(const Node& node, const Param& param) const {
    expect_index(node.operands[2], node, "col");
    expect_index(node.operands[3], node, "valid rows");
    expect_index(node.operands[4], node, "valid cols");
    if (node.results.size() != 1) fail_at(&node, "must define one value");
    const Type& type = kernel_.type_of(node.results[0]);
    if (!type.is_tile() || type.dtype != param.type.dtype) fail_at(&node, "must load a tile of the global's dtype");
    if (std::string problem = check_number(type.dtype, node.number); !problem.empty())
      fail_at(&node, "the pad " + problem);
    if (std::string problem = check_tile_shape(type.rows, type.cols); !problem.empty()) fail_at(&node, problem);
  }

  void check_memory(const Node& node) const {
    const Param& param = param_of(node);
    if (node.operands.empty() || node.operands[0] != param.value) fail_at(&node, "first operand must be its parameter");
    switch (as_memory(node.op)) {
      case MemoryOp::load: {
        if (!param.type.is_global() || node.operands.size() != 5)
          fail_at(&node, "loads from a global: global row col vrows vcols");
        expect_index(node.operands[1], node, "row");
        check_loaded_tile(node, param);
        return;
      }
      case MemoryOp::load_scalar: {
        if (!param.type.is_global() || node.operands.size() != 3) fail_at(&node, "loads from a global: global row col");
        expect_index(node.operands[1], node, "row");
        expect_index(node.operands[2], node, "col");
        expect_result(node, Type::scalar(is_float(param.type.dtype) ? DType::f32 : param.type.dtype));
        return;
      }
      case MemoryOp::load_rows: {
        if (!param.type.is_global() || node.operands.size() != 5)
          fail_at(&node, "gathers from a global: global index col vrows vcols");
        const Type& index = use(node.operands[1], node);
        if (!index.is_tile() || index.dtype != DType::i32 || index.cols != 1)
          fail_at(&node, "needs an i32 index [n, 1]");
        check_loaded_tile(node, param);
        const Type& type = kernel_.type_of(node.results[0]);
        if (node.step < 1 || node.step > type.rows || index.rows * node.step < type.rows)
          fail_at(&node, fmt::format("an index of {} entries x {} rows for a tile of {} rows", index.rows, node.step,
                                     type.rows));
        return;
      }
      case MemoryOp::read_output:
        if (!param.type.is_tile() || param.role == ParamRole::in) fail_at(&node, "reads an output tile");
        expect_result(node, param.type);
        return;
      case MemoryOp::store: {
        if (param.role == ParamRole::in) fail_at(&node, fmt::format("stores to input '{}'", param.name));
        if (!node.results.empty()) fail_at(&node, "defines no value");
        const Type& value = use(node.operands.at(1), node);
        if (param.type.is_tile()) {
          if (node.operands.size() != 2 || value.rows != param.type.rows || value.cols != param.type.cols) {
            fail_at(&node, fmt::format("stores {} to {}", to_string(value), to_string(param.type)));
          }
        } else {
          if (node.operands.size() != 6 || !value.is_tile())
            fail_at(&node, "stores a tile: global value row col vrows vcols");
          for (std::size_t i = 2; i < 6; ++i) expect_index(node.operands[i], node, "an offset or extent");
        }
        if (is_float(value.dtype) != is_float(param.type.dtype)) fail_at(&node, "stores between float and integer");
        return;
      }
    }
  }

  void check_loop(const Node& node) {
    if (node.body == nullptr) fail_at(&node, "has no body");
    if (node.operands.size() < 2) fail_at(&node, "needs start and end");
    if (node.step < 1) fail_at(&node, fmt::format("step {} is not positive", node.step));
    expect_index(node.operands[0], node, "start");
    expect_index(node.operands[1], node, "end");
    const std::size_t carried = node.operands.size() - 2;
    if (node.body->arguments.size() != carried + 1 || node.results.size() != carried) {
      fail_at(&node, "needs one body argument per carried value plus the index, and one result per carried value");
    }
    const Type& index = kernel_.type_of(node.body->arguments[0]);
    if (!index.is_scalar() || !is_integer(index.dtype)) fail_at(&node, "index must be an integer scalar");
    for (std::size_t i = 0; i < carried; ++i) {
      const Type& init = use(node.operands[i + 2], node);
      if (kernel_.type_of(node.body->arguments[i + 1]) != init || kernel_.type_of(node.results[i]) != init) {
        fail_at(&node, fmt::format("carried value {} changes type", i));
      }
    }
    block(*node.body, &node);
  }

  void check_yield(const Node& node, const Node& loop) const {
    if (node.operands.size() != loop.results.size())
      fail_at(&node, "yields a different number of values than the loop carries");
    for (std::size_t i = 0; i < node.operands.size(); ++i) {
      if (use(node.operands[i], node) != kernel_.type_of(loop.results[i])) {
        fail_at(&node, fmt::format("yields value {} with a type other than the carried one", i));
      }
    }
  }

  const Kernel& kernel_;
  std::vector<bool> defined_;
  std::vector<bool> visible_;
};

}  // namespace

void verify(const Kernel& kernel) {
  Verifier(kernel).run();
}

}  // namespace pto::ir
