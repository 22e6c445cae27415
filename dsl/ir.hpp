// The kernel IR: typed SSA, the one representation every executor consumes.
//
// A Kernel has parameters and a body Block. A Block is a list of Nodes; a Node applies an
// Op to operand values and defines result values (most ops define one; `store` and
// `yield` none; `for_range` one per carried value). Every value has a Type and is defined
// exactly once, before its uses, in the same block or an enclosing one (checked by
// dsl/verifier.hpp). Loops own a nested Block whose arguments are the induction variable
// followed by the carried values, and which ends in `yield`.
//
// The op kinds are listed once, in PTO_IR_OPS below: adding one is driven by the compile
// errors of every switch over Op (printer, verifier, interpreter, backends).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/dtype.hpp"
#include "runtime/source_location.hpp"

namespace pto::ir {

// X(name, category). Categories: param, constant, memory, binary, compare, unary,
// reduce, matmul, shape, cast, select, control.
#define PTO_IR_OPS(X)                                                                                            \
  X(param, param)        /* a kernel parameter's value (tiles, scalars) or handle (globals) */                   \
  X(constant, constant)  /* scalar constant: number */                                                           \
  X(full, constant)      /* tile filled with `number` */                                                         \
  X(iota, constant)      /* tile of row (axis 0) or column (axis 1) indices */                                   \
  X(load, memory)        /* global[row.., col..] -> tile; operands: global row col vrows vcols; number = pad */  \
  X(load_scalar, memory) /* global[row, col] -> scalar (block tables, index arrays); operands: global row col */ \
  X(read_output, memory) /* an output tile's current contents */                                                 \
  X(store, memory)       /* operands: target value [row col vrows vcols for globals] */                          \
  X(add, binary)                                                                                                 \
  X(sub, binary)                                                                                                 \
  X(mul, binary)                                                                                                 \
  X(div, binary)                                                                                                 \
  X(maximum, binary)                                                                                             \
  X(minimum, binary)                                                                                             \
  X(lt, compare)                                                                                                 \
  X(le, compare)                                                                                                 \
  X(gt, compare)                                                                                                 \
  X(ge, compare)                                                                                                 \
  X(eq, compare)                                                                                                 \
  X(ne, compare)                                                                                                 \
  X(where, select) /* operands: condition (i32, non-zero = true), if_true, if_false */                           \
  X(cast, cast)    /* to the result type's dtype */                                                              \
  X(exp, unary)                                                                                                  \
  X(log, unary)                                                                                                  \
  X(sqrt, unary)                                                                                                 \
  X(rsqrt, unary)                                                                                                \
  X(tanh, unary)                                                                                                 \
  X(sigmoid, unary)                                                                                              \
  X(relu, unary)                                                                                                 \
  X(gelu, unary)                                                                                                 \
  X(silu, unary)                                                                                                 \
  X(neg, unary)                                                                                                  \
  X(abs, unary)                                                                                                  \
  X(sin, unary)                                                                                                  \
  X(cos, unary)                                                                                                  \
  X(rowsum, reduce)                                                                                              \
  X(rowmax, reduce)                                                                                              \
  X(rowmin, reduce)                                                                                              \
  X(rowmean, reduce)                                                                                             \
  X(colsum, reduce)                                                                                              \
  X(colmax, reduce)                                                                                              \
  X(colmin, reduce)                                                                                              \
  X(colmean, reduce)                                                                                             \
  X(matmul, matmul)     /* operands: a b [acc] */                                                                \
  X(trans, shape)       /* transposed view */                                                                    \
  X(for_range, control) /* operands: start end inits...; attribute step; body block */                           \
  X(yield, control)     /* ends a loop body: the next carried values */

enum class Op : std::uint8_t {
#define PTO_IR_ENUM(op, category) op,
  PTO_IR_OPS(PTO_IR_ENUM)
#undef PTO_IR_ENUM
};

enum class OpCategory : std::uint8_t {
  param,
  constant,
  memory,
  binary,
  compare,
  select,
  cast,
  unary,
  reduce,
  matmul,
  shape,
  control
};

std::string_view name(Op op) noexcept;
OpCategory category(Op op) noexcept;

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
