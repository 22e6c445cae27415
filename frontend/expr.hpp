// Index expressions of a workload: the integers a workload computes per task, symbolically,
// when it is built, and evaluates when it runs. Loop indices, descriptor fields, entries of
// integer arrays (ragged lengths, sparse indptr/indices) and sizes bound at execute time are
// leaves; + - * / % min max and comparisons combine them.
//
//   Expr i = ...;                        // a loop index (Workload::parallel_for gives it)
//   Expr start = d[&WorkDescriptor::kv_start] + 64 * i;
//
// Why symbolic: a Program is compiled once and executed many times with new descriptors and
// sizes, so nothing a task binds may be fixed at build time. Evaluation walks the tree per
// task; a workload's expressions are a handful of nodes, evaluated a few times per task.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace pto {

// What an integer field or array element is stored as.
enum class IntKind : std::uint8_t { i8, u8, i16, u16, i32, u32, i64, u64 };

template <typename T>
constexpr IntKind int_kind_of() {
  static_assert(std::is_integral_v<T> && sizeof(T) <= 8, "descriptor fields and index arrays must be integers");
  if constexpr (sizeof(T) == 1) return std::is_signed_v<T> ? IntKind::i8 : IntKind::u8;
  if constexpr (sizeof(T) == 2) return std::is_signed_v<T> ? IntKind::i16 : IntKind::u16;
  if constexpr (sizeof(T) == 4) return std::is_signed_v<T> ? IntKind::i32 : IntKind::u32;
  return std::is_signed_v<T> ? IntKind::i64 : IntKind::u64;
}

// A host table that index expressions read: a descriptor array or an integer array (ragged
// lengths, sparse indptr/indices). Read through the user's vector when a Program executes,
// so new contents (and a new row count) are picked up without recompiling anything.
class TableSource {
 public:
  explicit TableSource(std::string name) : name_(std::move(name)) {}
  virtual ~TableSource() = default;
  virtual const std::byte* data() const = 0;
  virtual std::int64_t rows() const = 0;
  virtual std::size_t row_bytes() const = 0;
  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
};

// Reads the user's vector (which must outlive every Program using it), or one it shares
// (pinned: alive as long as the table).
template <typename T>
class VectorTable final : public TableSource {
 public:
  VectorTable(const std::vector<T>& rows, std::string name) : TableSource(std::move(name)), rows_(&rows) {}
  VectorTable(std::shared_ptr<const std::vector<T>> rows, std::string name)
      : TableSource(std::move(name)), owner_(std::move(rows)), rows_(owner_.get()) {}
  const std::byte* data() const override { return reinterpret_cast<const std::byte*>(rows_->data()); }
  std::int64_t rows() const override { return static_cast<std::int64_t>(rows_->size()); }
  std::size_t row_bytes() const override { return sizeof(T); }

 private:
  std::shared_ptr<const std::vector<T>> owner_;  // set when pinned
  const std::vector<T>* rows_;
};

// Values of the leaves while a Program enumerates its tasks.
struct ExprEnv {
  std::vector<std::int64_t> vars;                                            // loop indices, by slot
  const std::vector<std::pair<std::string, std::int64_t>>* sizes = nullptr;  // DenseDyn sizes by name
};

struct ExprNode;

class Expr {
 public:
  Expr(std::int64_t value);  // NOLINT(google-explicit-constructor): literals mix freely
  Expr(int value) : Expr(static_cast<std::int64_t>(value)) {}  // NOLINT(google-explicit-constructor)

  // Leaves (made by the workload builder, axes and tables).
  static Expr var(int slot, std::string name);
  static Expr size(std::string name);  // bound with Program::set_size before execute()
  // The integer of `kind` at byte `offset` of row `row` of `table`.
  static Expr field(std::shared_ptr<const TableSource> table, Expr row, std::size_t offset, IntKind kind,
                    std::string name);
  static Expr table_rows(std::shared_ptr<const TableSource> table);

  std::int64_t eval(const ExprEnv& env) const;
  bool is_constant() const;
  std::int64_t constant_value() const;  // only when is_constant()
  std::string to_string() const;
  // Adds the names of the sizes (Expr::size) this expression reads to `names`.
  void collect_sizes(std::vector<std::string>& names) const;

  friend Expr operator+(const Expr& a, const Expr& b);
  friend Expr operator-(const Expr& a, const Expr& b);
  friend Expr operator*(const Expr& a, const Expr& b);
  friend Expr operator/(const Expr& a, const Expr& b);  // truncating; a zero divisor is an error
  friend Expr operator%(const Expr& a, const Expr& b);
  friend Expr operator<(const Expr& a, const Expr& b);  // 1 or 0
  friend Expr operator<=(const Expr& a, const Expr& b);
  friend Expr operator>(const Expr& a, const Expr& b);
  friend Expr operator>=(const Expr& a, const Expr& b);
  friend Expr operator==(const Expr& a, const Expr& b);
  friend Expr operator!=(const Expr& a, const Expr& b);
  friend Expr operator&(const Expr& a, const Expr& b);   // bitwise: flags & 1
  friend Expr operator&&(const Expr& a, const Expr& b);  // both operands evaluated
  friend Expr operator||(const Expr& a, const Expr& b);
  friend Expr operator!(const Expr& a);
  friend Expr min(const Expr& a, const Expr& b);
  friend Expr max(const Expr& a, const Expr& b);

  const ExprNode& node() const { return *node_; }

 private:
  explicit Expr(std::shared_ptr<const ExprNode> node) : node_(std::move(node)) {}
  static Expr binary(int op, const Expr& a, const Expr& b);
  std::shared_ptr<const ExprNode> node_;
};

// The loop index a P loop body receives.
using Idx = Expr;

}  // namespace pto
