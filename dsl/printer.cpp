#include "dsl/printer.hpp"

#include "dsl/op_table.hpp"

#include <fmt/format.h>

#include <cmath>

namespace pto::ir {

namespace {

class Printer {
 public:
  explicit Printer(const Kernel& kernel) : kernel_(kernel) {}

  std::string run(PrintOptions options) {
    std::string params;
    for (const Param& param : kernel_.params) {
      params +=
          fmt::format("{}{}: {} {}", params.empty() ? "" : ", ", param.name, name(param.role), to_string(param.type));
    }
    out_ = fmt::format("kernel {}({}) {{\n", options.kernel_name ? kernel_.name : std::string("_"), params);
    block(kernel_.body, 1);
    out_ += "}\n";
    return std::move(out_);
  }

 private:
  std::string value(ValueId id) const {
    const ValueInfo& info = kernel_.values.at(static_cast<std::size_t>(id));
    return info.hint.empty() ? fmt::format("%{}", id) : fmt::format("%{}", info.hint);
  }

  std::string list(const std::vector<ValueId>& ids, std::size_t from = 0) const {
    std::string text;
    for (std::size_t i = from; i < ids.size(); ++i) text += (i == from ? "" : ", ") + value(ids[i]);
    return text;
  }

  static std::string number(double x) {
    if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
    return fmt::format("{}", x);
  }

  // The attributes dsl/op_table.hpp lists for the op, so that the structural hash sees every
  // one. A parameter is shown by the operand the verifier ties to it, when there is one.
  std::string attributes(const Node& node) const {
    const std::uint8_t used = info(node.op).attributes;
    std::string text;
    if (used & attribute_number) text += " number=" + number(node.number);
    if (used & attribute_step) text += fmt::format(" step={}", node.step);
    if (used & attribute_axis) text += fmt::format(" axis={}", node.axis);
    if (used & attribute_param) {
      const bool shown = node.param >= 0 && static_cast<std::size_t>(node.param) < kernel_.params.size() &&
                         !node.operands.empty() &&
                         node.operands[0] == kernel_.params[static_cast<std::size_t>(node.param)].value;
      if (!shown) text += fmt::format(" param={}", node.param);
    }
    return text;
  }

  void line(int depth, const std::string& text) {
    out_ += std::string(static_cast<std::size_t>(depth) * 2, ' ') + text + "\n";
  }

  void block(const Block& body, int depth) {
    for (const Node& node : body.nodes) statement(node, depth);
  }

  void statement(const Node& node, int depth) {
    const std::string result = node.results.empty() ? std::string() : list(node.results) + " = ";
    const std::string type = node.results.empty() ? std::string() : " : " + to_string(kernel_.type_of(node.results[0]));
    switch (node.op) {
      case Op::param: return;  // shown in the header
      case Op::constant:
      case Op::full: line(depth, fmt::format("{}{} {}{}", result, name(node.op), number(node.number), type)); return;
      case Op::iota: line(depth, fmt::format("{}iota axis={}{}", result, node.axis, type)); return;
      case Op::load:
        line(depth, fmt::format("{}load {}[{}, {}] valid({}, {}) pad {}{}", result, value(node.operands[0]),
                                value(node.operands[1]), value(node.operands[2]), value(node.operands[3]),
                                value(node.operands[4]), number(node.number), type));
        return;
      case Op::load_rows:
        line(depth, fmt::format("{}load_rows {}[{} x {}, {}] valid({}, {}) pad {}{}", result, value(node.operands[0]),
                                value(node.operands[1]), node.step, value(node.operands[2]), value(node.operands[3]),
                                value(node.operands[4]), number(node.number), type));
        return;
      case Op::load_scalar:
        line(depth, fmt::format("{}load_scalar {}[{}, {}]{}", result, value(node.operands[0]), value(node.operands[1]),
                                value(node.operands[2]), type));
        return;
      case Op::store:
        if (node.operands.size() == 2) {
          line(depth, fmt::format("store {}, {}", value(node.operands[0]), value(node.operands[1])));
        } else {
          line(depth, fmt::format("store {}[{}, {}] valid({}, {}), {}", value(node.operands[0]),
                                  value(node.operands[2]), value(node.operands[3]), value(node.operands[4]),
                                  value(node.operands[5]), value(node.operands[1])));
        }
        return;
      case Op::for_range: {
        std::string carried;
        for (std::size_t i = 2; i < node.operands.size(); ++i) {
          carried +=
              fmt::format("{}{} = {}", i == 2 ? "" : ", ", value(node.body->arguments[i - 1]), value(node.operands[i]));
        }
        line(depth, fmt::format("{}for {} = {} to {} step {}{} {{", result, value(node.body->arguments[0]),
                                value(node.operands[0]), value(node.operands[1]), node.step,
                                carried.empty() ? "" : " iter(" + carried + ")"));
        block(*node.body, depth + 1);
        line(depth, "}");
        return;
      }
      case Op::yield: line(depth, "yield " + list(node.operands)); return;
      default:  // the value ops: name, operands, the attributes the op table says it reads, type
        line(depth, fmt::format("{}{} {}{}{}", result, name(node.op), list(node.operands), attributes(node), type));
        return;
    }
  }

  const Kernel& kernel_;
  std::string out_;
};

}  // namespace

std::string print(const Kernel& kernel, PrintOptions options) {
  return Printer(kernel).run(options);
}

}  // namespace pto::ir
