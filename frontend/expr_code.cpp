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
    (varies ? steps_ : invariant_steps_).push_back(step_of(instruction, found->second));
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

void ExprBlock::prepare(const CodeInputs& in) const {
  // A failure is reported by run(), if the block is reached at all.
  prepared_ = run_steps(invariant_steps_, in, registers_.data());
}

bool ExprBlock::run(const CodeInputs& in) const {
  return run(in, registers_.data());
}

void ExprBlock::copy_registers(std::int64_t* out) const noexcept {
  std::copy(registers_.begin(), registers_.end(), out);
}

namespace {

// Step codes: the leaves, then a field per IntKind, then a binary operator per ExprOp.
enum StepCode : std::uint8_t { step_constant, step_var, step_size, step_rows, step_not, step_field };
constexpr int int_kinds = 8;
constexpr std::uint8_t step_binary = step_field + int_kinds;

// A field of `kind` (a constant where it is called, so read_int's switch folds away).
inline bool read_field(const CodeInputs& in, std::int32_t table_index, std::int64_t row, std::int64_t offset,
                       IntKind kind, std::int64_t& out) {
  const TableSnapshot& table = in.tables[table_index];
  if (row < 0 || row >= table.rows) return false;
  out = read_int(table.data + static_cast<std::size_t>(row) * table.row_bytes + static_cast<std::size_t>(offset), kind);
  return true;
}

}  // namespace

ExprBlock::Step ExprBlock::step_of(const Instruction& c, int out) {
  Step step;
  step.out = out;
  step.a = c.a;
  step.b = c.b;
  step.immediate = c.immediate;
  switch (c.op) {
    case Op::constant: step.code = step_constant; break;
    case Op::var: step.code = step_var; break;
    case Op::size: step.code = step_size; break;
    case Op::table_rows: step.code = step_rows; break;
    case Op::logical_not: step.code = step_not; break;
    case Op::field: step.code = static_cast<std::uint8_t>(step_field + static_cast<int>(c.kind)); break;
    case Op::binary: step.code = static_cast<std::uint8_t>(step_binary + c.binary); break;
  }
  return step;
}

// The switch over every code inlines apply_expr_op with a constant operator, so each case
// is the operation itself.
bool ExprBlock::run(const CodeInputs& in, std::int64_t* registers) const {
  return prepared_ && run_steps(steps_, in, registers);
}

bool ExprBlock::run_steps(const std::vector<Step>& steps, const CodeInputs& in, std::int64_t* r) {
  for (const Step& s : steps) {
    std::int64_t& v = r[s.out];
    bool ok = true;
    switch (s.code) {
      case step_constant: v = s.immediate; break;
      case step_var: v = in.vars[s.a]; break;
      case step_size:
        ok = in.bound[s.a];
        v = in.sizes[s.a];
        break;
      case step_rows: v = in.tables[s.a].rows; break;
      case step_not: v = r[s.a] == 0 ? 1 : 0; break;
      case step_field + static_cast<int>(IntKind::i8):
        ok = read_field(in, s.a, r[s.b], s.immediate, IntKind::i8, v);
        break;
      case step_field + static_cast<int>(IntKind::u8):
        ok = read_field(in, s.a, r[s.b], s.immediate, IntKind::u8, v);
        break;
      case step_field + static_cast<int>(IntKind::i16):
        ok = read_field(in, s.a, r[s.b], s.immediate, IntKind::i16, v);
        break;
      case step_field + static_cast<int>(IntKind::u16):
        ok = read_field(in, s.a, r[s.b], s.immediate, IntKind::u16, v);
        break;
      case step_field + static_cast<int>(IntKind::i32):
        ok = read_field(in, s.a, r[s.b], s.immediate, IntKind::i32, v);
        break;
      case step_field + static_cast<int>(IntKind::u32):
        ok = read_field(in, s.a, r[s.b], s.immediate, IntKind::u32, v);
        break;
      case step_field + static_cast<int>(IntKind::i64):
        ok = read_field(in, s.a, r[s.b], s.immediate, IntKind::i64, v);
        break;
      case step_field + static_cast<int>(IntKind::u64):
        ok = read_field(in, s.a, r[s.b], s.immediate, IntKind::u64, v);
        break;
      case step_binary + ExprOp::add: ok = apply_expr_op(ExprOp::add, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::sub: ok = apply_expr_op(ExprOp::sub, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::mul: ok = apply_expr_op(ExprOp::mul, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::div_: ok = apply_expr_op(ExprOp::div_, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::mod: ok = apply_expr_op(ExprOp::mod, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::lt: ok = apply_expr_op(ExprOp::lt, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::le: ok = apply_expr_op(ExprOp::le, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::gt: ok = apply_expr_op(ExprOp::gt, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::ge: ok = apply_expr_op(ExprOp::ge, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::eq: ok = apply_expr_op(ExprOp::eq, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::ne: ok = apply_expr_op(ExprOp::ne, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::bit_and: ok = apply_expr_op(ExprOp::bit_and, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::logical_and: ok = apply_expr_op(ExprOp::logical_and, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::logical_or: ok = apply_expr_op(ExprOp::logical_or, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::min_: ok = apply_expr_op(ExprOp::min_, r[s.a], r[s.b], v); break;
      case step_binary + ExprOp::max_: ok = apply_expr_op(ExprOp::max_, r[s.a], r[s.b], v); break;
      default: v = 0; break;  // apply_expr_op's answer for an operator it does not know
    }
    if (!ok) return false;
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
