#include "frontend/expr_code.hpp"

#include <algorithm>
#include <bit>

#include "frontend/expr_node.hpp"

namespace pto {

int ExprLeaves::table(const TableSource* source) {
  const auto found = std::find(tables_.begin(), tables_.end(), source);
  if (found != tables_.end()) return static_cast<int>(found - tables_.begin());
  tables_.push_back(source);
  return static_cast<int>(tables_.size() - 1);
}

int ExprLeaves::size(const std::string& name) {
  const auto found = std::find(sizes_.begin(), sizes_.end(), name);
  if (found != sizes_.end()) return static_cast<int>(found - sizes_.begin());
  sizes_.push_back(name);
  return static_cast<int>(sizes_.size() - 1);
}

int ExprBlock::emit(const Instruction& instruction) {
  const auto key = std::make_tuple(static_cast<int>(instruction.op), static_cast<int>(instruction.kind),
                                   instruction.binary, instruction.a, instruction.b, instruction.immediate);
  const auto [found, inserted] = numbered_.try_emplace(key, static_cast<int>(code_.size()));
  if (inserted) code_.push_back(instruction);
  return found->second;
}

int ExprBlock::add(const Expr& expr, ExprLeaves& leaves) {
  const ExprNode& n = expr.node();
  Instruction instruction;
  switch (n.kind) {
    case ExprNode::Kind::constant:
      instruction.op = Op::constant;
      instruction.immediate = n.value;
      break;
    case ExprNode::Kind::var:
      instruction.op = Op::var;
      instruction.a = n.slot;
      break;
    case ExprNode::Kind::size:
      instruction.op = Op::size;
      instruction.a = leaves.size(n.name);
      break;
    case ExprNode::Kind::table_rows:
      instruction.op = Op::table_rows;
      instruction.a = leaves.table(n.table.get());
      break;
    case ExprNode::Kind::field:
      instruction.op = Op::field;
      instruction.kind = n.int_kind;
      instruction.a = leaves.table(n.table.get());
      instruction.b = add(n.operands[0], leaves);
      instruction.immediate = static_cast<std::int64_t>(n.offset);
      break;
    case ExprNode::Kind::logical_not:
      instruction.op = Op::logical_not;
      instruction.a = add(n.operands[0], leaves);
      break;
    case ExprNode::Kind::binary:
      instruction.op = Op::binary;
      instruction.binary = n.slot;
      instruction.a = add(n.operands[0], leaves);
      instruction.b = add(n.operands[1], leaves);
      break;
  }
  return emit(instruction);
}

bool ExprBlock::run(const CodeInputs& in, std::int64_t* registers) const {
  const std::size_t count = code_.size();
  for (std::size_t i = 0; i < count; ++i) {
    const Instruction& c = code_[i];
    switch (c.op) {
      case Op::constant: registers[i] = c.immediate; break;
      case Op::var: registers[i] = in.vars[c.a]; break;
      case Op::size:
        if (!in.bound[c.a]) return false;
        registers[i] = in.sizes[c.a];
        break;
      case Op::table_rows: registers[i] = in.tables[c.a].rows; break;
      case Op::field: {
        const TableSnapshot& table = in.tables[c.a];
        const std::int64_t row = registers[c.b];
        if (row < 0 || row >= table.rows) return false;
        registers[i] = read_int(
            table.data + static_cast<std::size_t>(row) * table.row_bytes + static_cast<std::size_t>(c.immediate),
            c.kind);
        break;
      }
      case Op::logical_not: registers[i] = registers[c.a] == 0 ? 1 : 0; break;
      case Op::binary:
        if (!apply_expr_op(c.binary, registers[c.a], registers[c.b], registers[i])) return false;
        break;
    }
  }
  return true;
}

int power_of_two_exponent(const Expr& expr) {
  constexpr int most = 62;
  const ExprNode& n = expr.node();
  switch (n.kind) {
    case ExprNode::Kind::constant:
      return n.value == 0 ? most : std::min(most, std::countr_zero(static_cast<std::uint64_t>(n.value)));
    case ExprNode::Kind::binary:
      switch (n.slot) {
        case add:
        case sub:
        case min_:
        case max_: return std::min(power_of_two_exponent(n.operands[0]), power_of_two_exponent(n.operands[1]));
        case mul: return std::min(most, power_of_two_exponent(n.operands[0]) + power_of_two_exponent(n.operands[1]));
        default: return 0;
      }
    default: return 0;
  }
}

}  // namespace pto
