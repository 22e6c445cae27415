#include "frontend/expr.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "core/error.hpp"
#include "frontend/expr_node.hpp"

namespace pto {

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
  std::int64_t out = 0;
  if (!apply_expr_op(n.slot, a, b, out))
    throw Error(fmt::format("workload expression {} divides by zero", to_string()));
  return out;
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
    return fmt::format("{}({}, {})", expr_op_names[n.slot], n.operands[0].to_string(), n.operands[1].to_string());
  return fmt::format("({} {} {})", n.operands[0].to_string(), expr_op_names[n.slot], n.operands[1].to_string());
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
