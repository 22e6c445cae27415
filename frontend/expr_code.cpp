#include "frontend/expr_code.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <limits>

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

namespace {

std::string int_literal(std::int64_t value) {
  // INT64_MIN has no literal: -9223372036854775808 is the negation of an out-of-range one.
  if (value == std::numeric_limits<std::int64_t>::min()) return "(-9223372036854775807LL - 1)";
  return fmt::format("{}LL", value);
}

const char* read_type(IntKind kind) {
  switch (kind) {
    case IntKind::i8: return "signed char";
    case IntKind::u8: return "unsigned char";
    case IntKind::i16: return "short";
    case IntKind::u16: return "unsigned short";
    case IntKind::i32: return "int";
    case IntKind::u32: return "unsigned int";
    case IntKind::i64: return "long long";
    case IntKind::u64: return "unsigned long long";
  }
  return "long long";
}

}  // namespace

std::string ExprBlock::render_cuda(const std::string& prefix, const CudaNames& names, const ExprLeaves& leaves,
                                   const std::string& on_fail) const {
  std::string out;
  const auto reg = [&](int i) { return prefix + std::to_string(i); };
  const auto u = [&](int i) { return fmt::format("(unsigned long long){}", reg(i)); };
  for (std::size_t at = 0; at < code_.size(); ++at) {
    const Instruction& c = code_[at];
    const std::string name = reg(static_cast<int>(at));
    switch (c.op) {
      case Op::constant: out += fmt::format("const long long {} = {};\n", name, int_literal(c.immediate)); break;
      case Op::var: out += fmt::format("const long long {} = {};\n", name, names.var(c.a)); break;
      case Op::size: out += fmt::format("const long long {} = {};\n", name, names.size(c.a)); break;
      case Op::table_rows: out += fmt::format("const long long {} = {};\n", name, names.table_rows(c.a)); break;
      case Op::field:
        out += fmt::format("if ({0} < 0 || {0} >= {1}) {2}\n", reg(c.b), names.table_rows(c.a), on_fail);
        out += fmt::format("const long long {} = pto::read_int<{}>({} + {} * {}ULL + {});\n", name, read_type(c.kind),
                           names.table_data(c.a), u(c.b), leaves.tables()[static_cast<std::size_t>(c.a)]->row_bytes(),
                           c.immediate);
        break;
      case Op::logical_not: out += fmt::format("const long long {} = {} == 0 ? 1 : 0;\n", name, reg(c.a)); break;
      case Op::binary: {
        const std::string a = reg(c.a), b = reg(c.b);
        switch (c.binary) {
          case ExprOp::add:
            out += fmt::format("const long long {} = (long long)({} + {});\n", name, u(c.a), u(c.b));
            break;
          case ExprOp::sub:
            out += fmt::format("const long long {} = (long long)({} - {});\n", name, u(c.a), u(c.b));
            break;
          case ExprOp::mul:
            out += fmt::format("const long long {} = (long long)({} * {});\n", name, u(c.a), u(c.b));
            break;
          case ExprOp::div_:
          case ExprOp::mod:
            out += fmt::format("if ({} == 0) {}\n", b, on_fail);
            out += fmt::format("const long long {} = {} == -1 ? {} : {} {} {};\n", name, b,
                               c.binary == ExprOp::div_ ? fmt::format("(long long)(0ULL - {})", u(c.a)) : "0LL", a,
                               c.binary == ExprOp::div_ ? "/" : "%", b);
            break;
          case ExprOp::min_: out += fmt::format("const long long {} = {} < {} ? {} : {};\n", name, a, b, a, b); break;
          case ExprOp::max_: out += fmt::format("const long long {} = {} > {} ? {} : {};\n", name, a, b, a, b); break;
          case ExprOp::bit_and: out += fmt::format("const long long {} = {} & {};\n", name, a, b); break;
          case ExprOp::logical_and:
            out += fmt::format("const long long {} = ({} != 0 && {} != 0) ? 1 : 0;\n", name, a, b);
            break;
          case ExprOp::logical_or:
            out += fmt::format("const long long {} = ({} != 0 || {} != 0) ? 1 : 0;\n", name, a, b);
            break;
          default:  // comparisons
            out += fmt::format("const long long {} = ({} {} {}) ? 1 : 0;\n", name, a, expr_op_names[c.binary], b);
            break;
        }
        break;
      }
    }
  }
  return out;
}

std::vector<int> ExprBlock::vars_read() const {
  std::vector<int> out;
  for (const Instruction& c : code_) {
    if (c.op == Op::var && std::find(out.begin(), out.end(), c.a) == out.end()) out.push_back(c.a);
  }
  return out;
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
