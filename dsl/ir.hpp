// The kernel IR: typed SSA, the one representation every executor consumes.
//
// A Kernel has parameters and a body Block. A Block is a list of Nodes; a Node applies an
// Op to operand values and defines result values (most ops define one; `store` and
// `yield` none; `for_range` one per carried value). Every value has a Type and is defined
// exactly once, before its uses, in the same block or an enclosing one (checked by
// dsl/verifier.hpp). Loops own a nested Block whose arguments are the induction variable
// followed by the carried values, and which ends in `yield`.
//
// The op kinds are listed once, below, one list per category; everything an executor needs
// to know about an op that is not its implementation is data in dsl/op_table.hpp. Each
// category has its own enum (UnaryOp, ReduceOp, ...) generated from its list, and every
// executor switches over those without a `default:`, so adding an op to a list is driven by
// the compile errors (-Werror=switch) of every executor that lacks it (interpreter, LLVM
// and CUDA backends) and by tests/dsl/op_table_test.cpp (the ops sweep and docs/dsl.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/source_location.hpp"
#include "dsl/dtype.hpp"

namespace pto::ir {

// X(name, category). Operands and attributes per op: dsl/op_table.hpp.
#define PTO_IR_PARAM_OPS(X) X(param, param) /* a kernel parameter's value (tiles, scalars) or handle (globals) */
#define PTO_IR_CONSTANT_OPS(X)                          \
  X(constant, constant) /* scalar constant: number */   \
  X(full, constant)     /* tile filled with `number` */ \
  X(iota, constant)     /* tile of row (axis 0) or column (axis 1) indices */
#define PTO_IR_MEMORY_OPS(X)                                                                                     \
  X(load, memory)        /* global[row.., col..] -> tile; operands: global row col vrows vcols; number = pad */  \
  X(load_scalar, memory) /* global[row, col] -> scalar (block tables, index arrays); operands: global row col */ \
  X(load_rows, memory)   /* rows gathered through an index tile; operands: global index col vrows vcols;      */ \
                         /* number = pad, step = rows per index entry (the page size)                        */  \
  X(read_output, memory) /* an output tile's current contents */                                                 \
  X(store, memory)       /* operands: target value [row col vrows vcols for globals] */
#define PTO_IR_BINARY_OPS(X) \
  X(add, binary)             \
  X(sub, binary)             \
  X(mul, binary)             \
  X(div, binary)             \
  X(maximum, binary)         \
  X(minimum, binary)
#define PTO_IR_COMPARE_OPS(X) \
  X(lt, compare)              \
  X(le, compare)              \
  X(gt, compare)              \
  X(ge, compare)              \
  X(eq, compare)              \
  X(ne, compare)
#define PTO_IR_SELECT_OPS(X) X(where, select) /* operands: condition (i32, non-zero = true), if_true, if_false */
#define PTO_IR_CAST_OPS(X) X(cast, cast)      /* to the result type's dtype */
#define PTO_IR_UNARY_OPS(X) \
  X(exp, unary)             \
  X(log, unary)             \
  X(sqrt, unary)            \
  X(rsqrt, unary)           \
  X(tanh, unary)            \
  X(sigmoid, unary)         \
  X(relu, unary)            \
  X(gelu, unary)            \
  X(silu, unary)            \
  X(neg, unary)             \
  X(abs, unary)             \
  X(sin, unary)             \
  X(cos, unary)
#define PTO_IR_REDUCE_OPS(X) \
  X(rowsum, reduce)          \
  X(rowmax, reduce)          \
  X(rowmin, reduce)          \
  X(rowmean, reduce)         \
  X(colsum, reduce)          \
  X(colmax, reduce)          \
  X(colmin, reduce)          \
  X(colmean, reduce)
#define PTO_IR_MATMUL_OPS(X) X(matmul, matmul) /* operands: a b [acc] */
#define PTO_IR_SHAPE_OPS(X) X(trans, shape)    /* transposed view */
#define PTO_IR_CONTROL_OPS(X)                                                          \
  X(for_range, control) /* operands: start end inits...; attribute step; body block */ \
  X(yield, control)     /* ends a loop body: the next carried values */

// Every op, category by category (each category's ops are contiguous in Op).
#define PTO_IR_OPS(X)    \
  PTO_IR_PARAM_OPS(X)    \
  PTO_IR_CONSTANT_OPS(X) \
  PTO_IR_MEMORY_OPS(X)   \
  PTO_IR_BINARY_OPS(X)   \
  PTO_IR_COMPARE_OPS(X)  \
  PTO_IR_SELECT_OPS(X)   \
  PTO_IR_CAST_OPS(X)     \
  PTO_IR_UNARY_OPS(X)    \
  PTO_IR_REDUCE_OPS(X)   \
  PTO_IR_MATMUL_OPS(X)   \
  PTO_IR_SHAPE_OPS(X)    \
  PTO_IR_CONTROL_OPS(X)

#define PTO_IR_ENUMERATOR(op, category) op,
enum class Op : std::uint8_t { PTO_IR_OPS(PTO_IR_ENUMERATOR) };

// One enum per category with more than one op: what executors switch over.
enum class ConstantOp : std::uint8_t { PTO_IR_CONSTANT_OPS(PTO_IR_ENUMERATOR) };
enum class MemoryOp : std::uint8_t { PTO_IR_MEMORY_OPS(PTO_IR_ENUMERATOR) };
enum class BinaryOp : std::uint8_t { PTO_IR_BINARY_OPS(PTO_IR_ENUMERATOR) };
enum class CompareOp : std::uint8_t { PTO_IR_COMPARE_OPS(PTO_IR_ENUMERATOR) };
enum class UnaryOp : std::uint8_t { PTO_IR_UNARY_OPS(PTO_IR_ENUMERATOR) };
enum class ReduceOp : std::uint8_t { PTO_IR_REDUCE_OPS(PTO_IR_ENUMERATOR) };
enum class ControlOp : std::uint8_t { PTO_IR_CONTROL_OPS(PTO_IR_ENUMERATOR) };
#undef PTO_IR_ENUMERATOR

#define PTO_IR_CATEGORIES(X) \
  X(param)                   \
  X(constant)                \
  X(memory)                  \
  X(binary)                  \
  X(compare)                 \
  X(select)                  \
  X(cast)                    \
  X(unary)                   \
  X(reduce)                  \
  X(matmul)                  \
  X(shape)                   \
  X(control)

enum class OpCategory : std::uint8_t {
#define PTO_IR_CATEGORY_ENUMERATOR(category) category,
  PTO_IR_CATEGORIES(PTO_IR_CATEGORY_ENUMERATOR)
#undef PTO_IR_CATEGORY_ENUMERATOR
};

std::string_view name(Op op) noexcept;
std::string_view name(OpCategory category) noexcept;
OpCategory category(Op op) noexcept;

// An op's place in its category's enum, and back. Precondition (checked: InternalError):
// the op is of that category.
ConstantOp as_constant(Op op);
MemoryOp as_memory(Op op);
BinaryOp as_binary(Op op);
CompareOp as_compare(Op op);
UnaryOp as_unary(Op op);
ReduceOp as_reduce(Op op);
ControlOp as_control(Op op);
Op op_of(ConstantOp op) noexcept;
Op op_of(MemoryOp op) noexcept;
Op op_of(BinaryOp op) noexcept;
Op op_of(CompareOp op) noexcept;
Op op_of(UnaryOp op) noexcept;
Op op_of(ReduceOp op) noexcept;
Op op_of(ControlOp op) noexcept;

// ---- types ----------------------------------------------------------------------------------

enum class TypeKind : std::uint8_t { none, scalar, tile, global };

inline constexpr std::int64_t dynamic_extent = -1;

struct Type {
  TypeKind kind = TypeKind::none;
  DType dtype = DType::f32;
  std::int64_t rows = 1;  // tiles: static; globals: static or dynamic_extent
  std::int64_t cols = 1;

  static Type none() { return {}; }
  static Type scalar(DType dtype) { return {TypeKind::scalar, dtype, 1, 1}; }
  static Type tile(std::int64_t rows, std::int64_t cols, DType dtype) { return {TypeKind::tile, dtype, rows, cols}; }
  static Type global(std::int64_t rows, std::int64_t cols, DType dtype) {
    return {TypeKind::global, dtype, rows, cols};
  }

  bool is_scalar() const noexcept { return kind == TypeKind::scalar; }
  bool is_tile() const noexcept { return kind == TypeKind::tile; }
  bool is_global() const noexcept { return kind == TypeKind::global; }
  std::int64_t elements() const noexcept { return rows * cols; }
  friend bool operator==(const Type&, const Type&) = default;
};

// "tile<64x128xf16>", "i32", "global<?x128xf16>".
std::string to_string(const Type& type);

// ---- values, nodes, blocks, kernels ----------------------------------------------------------

using ValueId = std::int32_t;
inline constexpr ValueId no_value = -1;

struct Block;

struct Node {
  Op op = Op::constant;
  std::vector<ValueId> operands;
  std::vector<ValueId> results;
  // Attributes; which ones an op uses is documented at PTO_IR_OPS.
  double number = 0.0;          // constant / full value, load pad
  std::int64_t step = 1;        // for_range step
  int axis = 0;                 // iota: 0 rows, 1 columns
  int param = -1;               // param / store target / read_output: the parameter's index
  std::unique_ptr<Block> body;  // for_range
  SourceLocation where;         // the user's line that built this node
};

struct Block {
  std::vector<ValueId> arguments;  // loop body: induction variable, then carried values
  std::vector<Node> nodes;
};

enum class ParamRole : std::uint8_t { in, out, inout };
std::string_view name(ParamRole role) noexcept;

struct Param {
  std::string name;
  ParamRole role = ParamRole::in;
  Type type;
  ValueId value = no_value;  // the param node's result
  SourceLocation where;
};

struct ValueInfo {
  Type type;
  std::string hint;      // a readable name for the printer (parameters); may be empty
  SourceLocation where;  // the user's line that defined it
};

struct Kernel {
  std::string name;
  std::vector<Param> params;
  std::vector<ValueInfo> values;  // indexed by ValueId
  Block body;

  const Type& type_of(ValueId value) const { return values.at(static_cast<std::size_t>(value)).type; }
  // The parameter with this name, or nullptr.
  const Param* find_param(std::string_view param_name) const;
};

}  // namespace pto::ir
