#include "frontend/expr.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.hpp"

namespace pto {

namespace {
enum Op : int { add, sub, mul, div_, mod, lt, le, gt, ge, eq, ne, bit_and, logical_and, logical_or, min_, max_ };
const char* const op_names[] = {"+",  "-",  "*",  "/", "%",  "<",  "<=",  ">",
                                ">=", "==", "!=", "&", "&&", "||", "min", "max"};
}  // namespace

struct ExprNode {
  enum class Kind { constant, var, size, field, table_rows, binary, logical_not };
  Kind kind = Kind::constant;
  std::int64_t value = 0;                    // constant
  int slot = 0;                              // var slot, binary op
  std::shared_ptr<const TableSource> table;  // field, table_rows
  std::size_t offset = 0;                    // field byte offset
  IntKind int_kind = IntKind::i64;
  std::string name;            // leaves: for messages and printing
  std::vector<Expr> operands;  // the row (field); the operands (binary, logical_not)

  ExprNode() = default;
  explicit ExprNode(std::int64_t constant) : value(constant) {}
};

namespace {

std::int64_t read_int(const std::byte* at, IntKind kind) {
  auto read = [&]<typename T>(T) {
    T value;
    std::memcpy(&value, at, sizeof(T));
    return static_cast<std::int64_t>(value);
  };
  switch (kind) {
    case IntKind::i8: return read(std::int8_t{});
    case IntKind::u8: return read(std::uint8_t{});
    case IntKind::i16: return read(std::int16_t{});
    case IntKind::u16: return read(std::uint16_t{});
    case IntKind::i32: return read(std::int32_t{});
    case IntKind::u32: return read(std::uint32_t{});
    case IntKind::i64: return read(std::int64_t{});
    case IntKind::u64: return read(std::uint64_t{});
  }
  return 0;
}

}  // namespace

Expr::Expr(std::int64_t value) : node_(std::make_shared<const ExprNode>(value)) {}

Expr Expr::var(int slot, std::string name) {
  auto node = std::make_shared<ExprNode>();
  node->kind = ExprNode::Kind::var;
  node->slot = slot;
  node->name = std::move(name);
  return Expr(std::move(node));
}

Expr Expr::size(std::string name) {
  auto node = std::make_shared<ExprNode>();
  node->kind = ExprNode::Kind::size;
  node->name = std::move(name);
  return Expr(std::move(node));
}

Expr Expr::field(std::shared_ptr<const TableSource> table, Expr row, std::size_t offset, IntKind kind,
                 std::string name) {
  auto node = std::make_shared<ExprNode>();
  node->kind = ExprNode::Kind::field;
  node->table = std::move(table);
  node->operands.push_back(std::move(row));
  node->offset = offset;
  node->int_kind = kind;
  node->name = std::move(name);
  return Expr(std::move(node));
}

Expr Expr::table_rows(std::shared_ptr<const TableSource> table) {
  auto node = std::make_shared<ExprNode>();
  node->kind = ExprNode::Kind::table_rows;
  node->name = table->name();
  node->table = std::move(table);
  return Expr(std::move(node));
}

Expr Expr::binary(int op, const Expr& a, const Expr& b) {
  auto node = std::make_shared<ExprNode>();
  node->kind = ExprNode::Kind::binary;
  node->slot = op;
  node->operands = {a, b};
  Expr expr(std::move(node));
  // Fold constants (division is left to eval, whose error names the expression).
  if (a.is_constant() && b.is_constant() && op != div_ && op != mod) return expr.eval(ExprEnv{});
  return expr;
}

bool Expr::is_constant() const {
  return node_->kind == ExprNode::Kind::constant;
}
std::int64_t Expr::constant_value() const {
  return node_->value;
}

std::int64_t Expr::eval(const ExprEnv& env) const {
  const ExprNode& n = *node_;
  switch (n.kind) {
    case ExprNode::Kind::constant: return n.value;
    case ExprNode::Kind::var: return env.vars.at(static_cast<std::size_t>(n.slot));
    case ExprNode::Kind::size:
      if (env.sizes != nullptr) {
        for (const auto& [name, value] : *env.sizes)
          if (name == n.name) return value;
      }
      throw Error(fmt::format("the DenseDyn axis '{0}' has no size: call program.set_size(\"{0}\", n) before execute()",
                              n.name));
    case ExprNode::Kind::table_rows: return n.table->rows();
    case ExprNode::Kind::field: {
      const TableSource& table = *n.table;
      const std::int64_t row = n.operands[0].eval(env);
      if (row < 0 || row >= table.rows()) {
        throw Error(fmt::format("{}: row {} is outside the table '{}' of {} rows (row expression: {})", n.name, row,
                                table.name(), table.rows(), n.operands[0].to_string()));
      }
      return read_int(table.data() + static_cast<std::size_t>(row) * table.row_bytes() + n.offset, n.int_kind);
    }
    case ExprNode::Kind::logical_not: return n.operands[0].eval(env) == 0 ? 1 : 0;
    case ExprNode::Kind::binary: break;
  }
  const std::int64_t a = n.operands[0].eval(env), b = n.operands[1].eval(env);
  switch (n.slot) {
    case add: return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
    case sub: return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
    case mul: return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
    case div_:
    case mod:
      if (b == 0) throw Error(fmt::format("workload expression {} divides by zero", to_string()));
      if (b == -1) return n.slot == div_ ? static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(a)) : 0;
      return n.slot == div_ ? a / b : a % b;
    case lt: return a < b;
    case le: return a <= b;
    case gt: return a > b;
    case ge: return a >= b;
    case eq: return a == b;
    case ne: return a != b;
    case bit_and: return a & b;
    case logical_and: return (a != 0 && b != 0) ? 1 : 0;
    case logical_or: return (a != 0 || b != 0) ? 1 : 0;
    case min_: return std::min(a, b);
    case max_: return std::max(a, b);
    default: break;
  }
  return 0;
}

void Expr::collect_sizes(std::vector<std::string>& names) const {
  const ExprNode& n = *node_;
  if (n.kind == ExprNode::Kind::size && std::find(names.begin(), names.end(), n.name) == names.end()) {
    names.push_back(n.name);
  }
  for (const Expr& operand : n.operands) operand.collect_sizes(names);
}

std::string Expr::to_string() const {
  const ExprNode& n = *node_;
  switch (n.kind) {
    case ExprNode::Kind::constant: return std::to_string(n.value);
    case ExprNode::Kind::var:
    case ExprNode::Kind::size: return n.name;
    case ExprNode::Kind::table_rows: return fmt::format("rows({})", n.name);
    case ExprNode::Kind::field: return fmt::format("{}[{}]", n.name, n.operands[0].to_string());
    case ExprNode::Kind::logical_not: return fmt::format("!{}", n.operands[0].to_string());
    case ExprNode::Kind::binary: break;
  }
  if (n.slot == min_ || n.slot == max_)
    return fmt::format("{}({}, {})", op_names[n.slot], n.operands[0].to_string(), n.operands[1].to_string());
  return fmt::format("({} {} {})", n.operands[0].to_string(), op_names[n.slot], n.operands[1].to_string());
}

Expr operator+(const Expr& a, const Expr& b) {
  return Expr::binary(add, a, b);
}
Expr operator-(const Expr& a, const Expr& b) {
  return Expr::binary(sub, a, b);
}
Expr operator*(const Expr& a, const Expr& b) {
  return Expr::binary(mul, a, b);
}
Expr operator/(const Expr& a, const Expr& b) {
  return Expr::binary(div_, a, b);
}
Expr operator%(const Expr& a, const Expr& b) {
  return Expr::binary(mod, a, b);
}
Expr operator<(const Expr& a, const Expr& b) {
  return Expr::binary(lt, a, b);
}
Expr operator<=(const Expr& a, const Expr& b) {
  return Expr::binary(le, a, b);
}
Expr operator>(const Expr& a, const Expr& b) {
  return Expr::binary(gt, a, b);
}
Expr operator>=(const Expr& a, const Expr& b) {
  return Expr::binary(ge, a, b);
}
Expr operator==(const Expr& a, const Expr& b) {
  return Expr::binary(eq, a, b);
}
Expr operator!=(const Expr& a, const Expr& b) {
  return Expr::binary(ne, a, b);
}
Expr operator&(const Expr& a, const Expr& b) {
  return Expr::binary(bit_and, a, b);
}
Expr operator&&(const Expr& a, const Expr& b) {
  return Expr::binary(logical_and, a, b);
}
Expr operator||(const Expr& a, const Expr& b) {
  return Expr::binary(logical_or, a, b);
}
Expr operator!(const Expr& a) {
  if (a.is_constant()) return a.constant_value() == 0 ? 1 : 0;
  auto node = std::make_shared<ExprNode>();
  node->kind = ExprNode::Kind::logical_not;
  node->operands = {a};
  return Expr(std::move(node));
}
Expr min(const Expr& a, const Expr& b) {
  return Expr::binary(min_, a, b);
}
Expr max(const Expr& a, const Expr& b) {
  return Expr::binary(max_, a, b);
}

}  // namespace pto
