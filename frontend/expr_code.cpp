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

int ExprBlock::emit(const Instruction& instruction, bool varies) {
  const auto key = std::make_tuple(static_cast<int>(instruction.op), static_cast<int>(instruction.kind),
                                   instruction.binary, instruction.a, instruction.b, instruction.immediate);
  const auto [found, inserted] = numbered_.try_emplace(key, static_cast<int>(code_.size()));
  if (inserted) {
    code_.push_back(instruction);
    varies_.push_back(varies ? 1 : 0);
    (varies ? varying_ : invariant_).push_back(found->second);
    registers_.push_back(0);
  }
  return found->second;
}

int ExprBlock::add(const Expr& expr, ExprLeaves& leaves) {
  const ExprNode& n = expr.node();
  Instruction instruction;
  bool varies = false;
  const auto operand = [&](const Expr& e) {
    const int reg = add(e, leaves);
    varies = varies || varies_[static_cast<std::size_t>(reg)] != 0;
    return reg;
  };
  switch (n.kind) {
    case ExprNode::Kind::constant:
      instruction.op = Op::constant;
      instruction.immediate = n.value;
      break;
    case ExprNode::Kind::var:
      instruction.op = Op::var;
      instruction.a = n.slot;
      varies = true;
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
      instruction.b = operand(n.operands[0]);
      instruction.immediate = static_cast<std::int64_t>(n.offset);
      break;
    case ExprNode::Kind::logical_not:
      instruction.op = Op::logical_not;
      instruction.a = operand(n.operands[0]);
      break;
    case ExprNode::Kind::binary:
      instruction.op = Op::binary;
      instruction.binary = n.slot;
      instruction.a = operand(n.operands[0]);
      instruction.b = operand(n.operands[1]);
      break;
  }
  return emit(instruction, varies);
}

bool ExprBlock::execute(const Instruction& c, const CodeInputs& in, std::int64_t& out) const {
  const std::int64_t* r = registers_.data();
  switch (c.op) {
    case Op::constant: out = c.immediate; return true;
    case Op::var: out = in.vars[c.a]; return true;
    case Op::size:
      if (!in.bound[c.a]) return false;
      out = in.sizes[c.a];
      return true;
    case Op::table_rows: out = in.tables[c.a].rows; return true;
    case Op::field: {
      const TableSnapshot& table = in.tables[c.a];
      const std::int64_t row = r[c.b];
      if (row < 0 || row >= table.rows) return false;
      out = read_int(
          table.data + static_cast<std::size_t>(row) * table.row_bytes + static_cast<std::size_t>(c.immediate), c.kind);
      return true;
    }
    case Op::logical_not: out = r[c.a] == 0 ? 1 : 0; return true;
    case Op::binary: return apply_expr_op(c.binary, r[c.a], r[c.b], out);
  }
  return false;
}

void ExprBlock::prepare(const CodeInputs& in) const {
  prepared_ = true;
  for (const int i : invariant_) {
    const auto at = static_cast<std::size_t>(i);
    if (!execute(code_[at], in, registers_[at])) {
      prepared_ = false;  // reported by run(), if the block is reached at all
      return;
    }
  }
}

bool ExprBlock::run(const CodeInputs& in) const {
  if (!prepared_) return false;
  for (const int i : varying_) {
    const auto at = static_cast<std::size_t>(i);
    if (!execute(code_[at], in, registers_[at])) return false;
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
