// The tl ops: each checks its operands with the typing rules (dsl/type_rules.hpp) and
// appends one node to the kernel being built.
#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"
#include "dsl/builder.hpp"
#include "dsl/type_rules.hpp"

namespace pto::tl {

namespace {

// The builder of an op's operands (every operand checked to be usable there).
Builder& builder_of(std::initializer_list<const Value*> operands, std::string_view op, Where where) {
  Builder* builder = active_builder();
  for (const Value* operand : operands) {
    if (builder != nullptr) break;
    builder = operand->builder();
  }
  if (builder == nullptr) builder = &current_builder(op, where);
  for (const Value* operand : operands) builder->check_usable(*operand, op, where);
  return *builder;
}

std::string describe(std::span<const ir::Type> types) {
  std::string out;
  for (const ir::Type& type : types) out += (out.empty() ? "" : ", ") + ir::to_string(type);
  return out;
}

// Emits a value op whose result type follows from its operands.
Value emit_typed(ir::Op op, std::initializer_list<const Value*> operands, Where where, DType cast_to = DType::f32) {
  Builder& builder = builder_of(operands, ir::name(op), where);
  std::vector<ir::Type> types;
  ir::Node node;
  node.op = op;
  node.where = where;
  for (const Value* operand : operands) {
    types.push_back(operand->type());
    node.operands.push_back(operand->id());
  }
  const ir::Inferred result = ir::infer(op, types, cast_to);
  if (ir::failed(result)) {
    throw Error(fmt::format("{}({}): {}", ir::name(op), describe(types), ir::message(result)), where);
  }
  if (ir::get(result).is_tile()) {
    if (std::string problem = ir::check_tile_shape(ir::get(result).rows, ir::get(result).cols); !problem.empty()) {
      throw Error(fmt::format("{}({}): {}", ir::name(op), describe(types), problem), where);
    }
  }
  return builder.emit(std::move(node), ir::get(result));
}

// A C++ number as a scalar constant matching `like`'s dtype class (f32 for floats).
Value number_like(const Value& like, double number, std::string_view op, Where where) {
  Builder& builder = builder_of({&like}, op, where);
  if (is_integer(like.dtype())) {
    if (std::trunc(number) != number || !std::isfinite(number)) {
      throw Error(fmt::format("{}: the constant {} is not an integer but the other operand is {}; cast that operand "
                              "with tl::cast(x, f32)",
                              op, number, ir::to_string(like.type())),
                  where);
    }
    return builder.constant(number, like.dtype(), where, op);
  }
  return builder.constant(number, DType::f32, where, op);
}

Value tile_constant(ir::Op op, std::int64_t rows, std::int64_t cols, DType dtype, double number, int axis,
                    Where where) {
  Builder& builder = current_builder(ir::name(op), where);
  if (std::string problem = ir::check_tile_shape(rows, cols); !problem.empty()) {
    throw Error(fmt::format("{}: {}", ir::name(op), problem), where);
  }
  if (std::string problem = ir::check_number(dtype, number); !problem.empty()) {
    throw Error(fmt::format("{}: the value {}", ir::name(op), problem), where);
  }
  ir::Node node;
  node.op = op;
  node.number = number;
  node.axis = axis;
  node.where = where;
  return builder.emit(std::move(node), ir::Type::tile(rows, cols, dtype));
}

// "file:line" where a value was defined, for errors of the operator forms, which have no
// call-site location of their own (C++ operators cannot take a defaulted source location).
// Nodes made by operators inherit the location of their left operand, so a chain of
// operators reports the line of the named op or parameter it started from.
Where origin(const Value& value) {
  if (value.builder() == nullptr) return Where{};
  return value.builder()->kernel().values.at(static_cast<std::size_t>(value.id())).where;
}

std::string defined_at(const Value& value) {
  if (value.builder() == nullptr) return "an empty tl::Value";
  const Where where = origin(value);
  return fmt::format("{}:{}", where.file, where.line);
}

template <typename Make>
Value operator_form(std::string_view symbol, const Value& a, const Value* b, Make&& make) {
  try {
    return make();
  } catch (const Error& error) {
    const std::string operands = b != nullptr ? fmt::format("were defined at {} and {}", defined_at(a), defined_at(*b))
                                              : fmt::format("was defined at {}", defined_at(a));
    throw Error(fmt::format("{} (in an expression with operator{}; the operand{} {})", error.message(), symbol,
                            b != nullptr ? "s" : "", operands));
  }
}

void check_broadcast_operand(const Value& a, const Value& b, bool by_row, std::string_view op, Where where) {
  builder_of({&a, &b}, op, where);
  const bool ok = a.type().is_tile() && b.type().is_tile() &&
                  (by_row ? (b.rows() == a.rows() && b.cols() == 1) : (b.rows() == 1 && b.cols() == a.cols()));
  if (!ok) {
    throw Error(fmt::format("{}({}, {}): the second operand must be a {} of the first", op, ir::to_string(a.type()),
                            ir::to_string(b.type()),
                            by_row ? fmt::format("[{},1] column (one value per row)", a.rows())
                                   : fmt::format("[1,{}] row (one value per column)", a.cols())),
                where);
  }
}

// The checks every store shares: the target is writable and the value's dtype class fits.
void check_store_target(const ir::Param& param, const ir::Type& type, Where where) {
  if (param.role == ir::ParamRole::in) {
    throw Error(fmt::format("store: '{}' is an input; declare it with k.out or k.inout to write it", param.name),
                where);
  }
  if (is_float(type.dtype) != is_float(param.type.dtype)) {
    throw Error(fmt::format("store to '{}' ({}): the value is {}; convert it with tl::cast(x, {})", param.name,
                            ir::to_string(param.type), ir::to_string(type), name(param.type.dtype)),
                where);
  }
}

}  // namespace

// ---- constants -------------------------------------------------------------------------------

Value full(std::int64_t rows, std::int64_t cols, DType dtype, double value, Where where) {
  return tile_constant(ir::Op::full, rows, cols, dtype, value, 0, where);
}
Value zeros(std::int64_t rows, std::int64_t cols, DType dtype, Where where) {
  return tile_constant(ir::Op::full, rows, cols, dtype, 0.0, 0, where);
}
Scalar constant(double value, DType dtype, Where where) {
  return current_builder("constant", where).constant(value, dtype, where);
}
Value iota(std::int64_t rows, std::int64_t cols, int axis, DType dtype, Where where) {
  if (axis != 0 && axis != 1) {
    throw Error(fmt::format("iota: axis is {}; use 0 for row indices or 1 for column indices", axis), where);
  }
  return tile_constant(ir::Op::iota, rows, cols, dtype, 0.0, axis, where);
}

// ---- memory ----------------------------------------------------------------------------------

namespace {

// The parameter of a global about to be read; an output global must have been stored to.
const ir::Param& readable_global(Builder& builder, const Global& src, const char* op, Where where) {
  const ir::Param& param = builder.param(src.index());
  if (param.role == ir::ParamRole::out && !builder.written(src.index())) {
    throw Error(fmt::format("{}: reads output '{}' before anything was stored to it; declare it with k.inout if it "
                            "holds data on entry",
                            op, param.name),
                where);
  }
  return param;
}

}  // namespace

Value load(const Global& src, Index row, Index col, std::int64_t rows, std::int64_t cols, Index valid_rows,
           Index valid_cols, double pad, Where where) {
  Builder& builder = builder_for_handle(src.builder(), "load", where);
  const ir::Param& param = readable_global(builder, src, "load", where);
  if (std::string problem = ir::check_tile_shape(rows, cols); !problem.empty()) {
    throw Error(fmt::format("load from '{}': {}", param.name, problem), where);
  }
  if (param.type.cols != ir::dynamic_extent && cols > param.type.cols) {
    throw Error(fmt::format("load from '{}' ({}): a tile of {} columns is wider than the tensor's {}", param.name,
                            ir::to_string(param.type), cols, param.type.cols),
                where);
  }
  if (std::string problem = ir::check_number(param.type.dtype, pad); !problem.empty()) {
    throw Error(fmt::format("load from '{}' ({}): the pad {}", param.name, ir::to_string(param.type), problem), where);
  }
  ir::Node node;
  node.op = ir::Op::load;
  node.param = src.index();
  node.number = pad;
  node.where = where;
  node.operands = {param.value, builder.index_value(row, "load", "the row offset", where).id(),
                   builder.index_value(col, "load", "the column offset", where).id(),
                   builder.index_value(valid_rows, "load", "valid_rows", where).id(),
                   builder.index_value(valid_cols, "load", "valid_cols", where).id()};
  return builder.emit(std::move(node), ir::Type::tile(rows, cols, param.type.dtype));
}

Value load(const Global& src, Index row, Index col, std::int64_t rows, std::int64_t cols, Where where) {
  return load(src, std::move(row), std::move(col), rows, cols, rows, cols, 0.0, where);
}

Value load(const Global& src, Index row, std::int64_t rows, Index valid_rows, Where where) {
  return load(src, std::move(row), rows, std::move(valid_rows), Pad{}, where);
}

Value load(const Global& src, Index row, std::int64_t rows, Index valid_rows, Pad pad, Where where) {
  const ir::Param& param = builder_for_handle(src.builder(), "load", where).param(src.index());
  if (param.type.cols == ir::dynamic_extent) {
    throw Error(fmt::format("load from '{}' ({}): full-row loads need a static column count; give the column "
                            "offset and tile width explicitly",
                            param.name, ir::to_string(param.type)),
                where);
  }
  return load(src, std::move(row), 0, rows, param.type.cols, std::move(valid_rows), param.type.cols, pad.value, where);
}

Scalar load_scalar(const Global& src, Index row, Index col, Where where) {
  Builder& builder = builder_for_handle(src.builder(), "load_scalar", where);
  const ir::Param& param = readable_global(builder, src, "load_scalar", where);
  ir::Node node;
  node.op = ir::Op::load_scalar;
  node.param = src.index();
  node.where = where;
  node.operands = {param.value, builder.index_value(row, "load_scalar", "the row", where).id(),
                   builder.index_value(col, "load_scalar", "the column", where).id()};
  return builder.emit(std::move(node), ir::Type::scalar(is_float(param.type.dtype) ? DType::f32 : param.type.dtype));
}

Value load_rows(const Global& src, const Value& index, std::int64_t group, std::int64_t rows, Index valid_rows, Pad pad,
                Where where) {
  Builder& builder = builder_for_handle(src.builder(), "load_rows", where);
  const ir::Param& param = readable_global(builder, src, "load_rows", where);
  builder.check_usable(index, "load_rows", where);
  const std::string what = fmt::format("load_rows from '{}' ({})", param.name, ir::to_string(param.type));
  if (param.type.cols == ir::dynamic_extent) {
    throw Error(what + ": gathered rows are full-width, so the global needs a static column count", where);
  }
  if (std::string problem = ir::check_tile_shape(rows, param.type.cols); !problem.empty()) {
    throw Error(fmt::format("{}: {}", what, problem), where);
  }
  if (!index.type().is_tile() || index.dtype() != DType::i32 || index.cols() != 1) {
    throw Error(fmt::format("{}: the index must be an i32 tile [n, 1] (the block table's entries, e.g. tl::load of "
                            "its rows), not {}",
                            what, ir::to_string(index.type())),
                where);
  }
  if (group < 1 || group > rows) {
    throw Error(fmt::format("{}: {} rows per index entry; give 1 to {} (the tile's rows)", what, group, rows), where);
  }
  if (index.rows() * group < rows) {
    throw Error(fmt::format("{}: an index of {} entries x {} rows covers {} rows, fewer than the tile's {}", what,
                            index.rows(), group, index.rows() * group, rows),
                where);
  }
  if (std::string problem = ir::check_number(param.type.dtype, pad.value); !problem.empty()) {
    throw Error(fmt::format("{}: the pad {}", what, problem), where);
  }
  ir::Node node;
  node.op = ir::Op::load_rows;
  node.param = src.index();
  node.number = pad.value;
  node.step = group;
  node.where = where;
  node.operands = {param.value, index.id(), builder.index_value(0, "load_rows", "the column offset", where).id(),
                   builder.index_value(valid_rows, "load_rows", "valid_rows", where).id(),
                   builder.index_value(param.type.cols, "load_rows", "valid_cols", where).id()};
  return builder.emit(std::move(node), ir::Type::tile(rows, param.type.cols, param.type.dtype));
}

void store(const Output& dst, const Value& value, Where where) {
  Builder& builder = builder_for_handle(dst.builder(), "store", where);
  builder.check_usable(value, "store", where);
  const ir::Param& param = dst.param();
  const ir::Type& type = value.type();
  check_store_target(param, type, where);
  if (!type.is_tile() || type.rows != param.type.rows || type.cols != param.type.cols) {
    throw Error(fmt::format("store to '{}' ({}): the value is {}; shapes must match exactly", param.name,
                            ir::to_string(param.type), ir::to_string(type)),
                where);
  }
  ir::Node node;
  node.op = ir::Op::store;
  node.param = dst.index();
  node.where = where;
  node.operands = {param.value, value.id()};
  builder.emit_void(std::move(node));
  builder.mark_written(dst.index());
}

void store(const Global& dst, Index row, Index col, const Value& value, Index valid_rows, Index valid_cols,
           Where where) {
  Builder& builder = builder_for_handle(dst.builder(), "store", where);
  builder.check_usable(value, "store", where);
  const ir::Param& param = dst.param();
  const ir::Type& type = value.type();
  check_store_target(param, type, where);
  if (!type.is_tile()) {
    throw Error(fmt::format("store to '{}': the value is {}, not a tile", param.name, ir::to_string(type)), where);
  }
  if (param.type.cols != ir::dynamic_extent && type.cols > param.type.cols) {
    throw Error(fmt::format("store to '{}' ({}): a tile of {} columns is wider than the tensor's {}", param.name,
                            ir::to_string(param.type), type.cols, param.type.cols),
                where);
  }
  ir::Node node;
  node.op = ir::Op::store;
  node.param = dst.index();
  node.where = where;
  node.operands = {param.value,
                   value.id(),
                   builder.index_value(row, "store", "the row offset", where).id(),
                   builder.index_value(col, "store", "the column offset", where).id(),
                   builder.index_value(valid_rows, "store", "valid_rows", where).id(),
                   builder.index_value(valid_cols, "store", "valid_cols", where).id()};
  builder.emit_void(std::move(node));
  builder.mark_written(dst.index());
}

void store(const Global& dst, Index row, Index col, const Value& value, Where where) {
  const std::int64_t rows = value.builder() != nullptr ? value.rows() : 0;
  const std::int64_t cols = value.builder() != nullptr ? value.cols() : 0;
  store(dst, std::move(row), std::move(col), value, rows, cols, where);
}

Value read(const Output& output, Where where) {
  Builder& builder = builder_for_handle(output.builder(), "read", where);
  const ir::Param& param = output.param();
  if (param.role == ir::ParamRole::out && !builder.written(output.index())) {
    throw Error(fmt::format("read: output '{}' is read before anything was stored to it; store first, or declare "
                            "it with k.inout if it holds data on entry",
                            param.name),
                where);
  }
  ir::Node node;
  node.op = ir::Op::read_output;
  node.param = output.index();
  node.where = where;
  node.operands = {param.value};
  return builder.emit(std::move(node), param.type);
}

// ---- elementwise -----------------------------------------------------------------------------

#define PTO_BINARY_OP(fn)                                 \
  Value fn(const Value& a, const Value& b, Where where) { \
    return emit_typed(ir::Op::fn, {&a, &b}, where);       \
  }
PTO_BINARY_OP(add)
PTO_BINARY_OP(sub)
PTO_BINARY_OP(mul)
PTO_BINARY_OP(div)
PTO_BINARY_OP(maximum)
PTO_BINARY_OP(minimum)
PTO_BINARY_OP(lt)
PTO_BINARY_OP(le)
PTO_BINARY_OP(gt)
PTO_BINARY_OP(ge)
PTO_BINARY_OP(eq)
PTO_BINARY_OP(ne)
#undef PTO_BINARY_OP

#define PTO_COMPARE_NUMBER(fn)                               \
  Value fn(const Value& a, double b, Where where) {          \
    const Value constant_b = number_like(a, b, #fn, where);  \
    return emit_typed(ir::Op::fn, {&a, &constant_b}, where); \
  }
PTO_COMPARE_NUMBER(lt)
PTO_COMPARE_NUMBER(le)
PTO_COMPARE_NUMBER(gt)
PTO_COMPARE_NUMBER(ge)
PTO_COMPARE_NUMBER(eq)
PTO_COMPARE_NUMBER(ne)
#undef PTO_COMPARE_NUMBER

Value maximum(const Value& a, double b, Where where) {
  const Value constant_b = number_like(a, b, "maximum", where);
  return emit_typed(ir::Op::maximum, {&a, &constant_b}, where);
}
Value minimum(const Value& a, double b, Where where) {
  const Value constant_b = number_like(a, b, "minimum", where);
  return emit_typed(ir::Op::minimum, {&a, &constant_b}, where);
}

Value rowadd(const Value& a, const Value& b, Where where) {
  check_broadcast_operand(a, b, true, "rowadd", where);
  return emit_typed(ir::Op::add, {&a, &b}, where);
}
Value rowmul(const Value& a, const Value& b, Where where) {
  check_broadcast_operand(a, b, true, "rowmul", where);
  return emit_typed(ir::Op::mul, {&a, &b}, where);
}
Value coladd(const Value& a, const Value& b, Where where) {
  check_broadcast_operand(a, b, false, "coladd", where);
  return emit_typed(ir::Op::add, {&a, &b}, where);
}
Value colmul(const Value& a, const Value& b, Where where) {
  check_broadcast_operand(a, b, false, "colmul", where);
  return emit_typed(ir::Op::mul, {&a, &b}, where);
}

Value where(const Value& condition, const Value& if_true, const Value& if_false, Where at) {
  return emit_typed(ir::Op::where, {&condition, &if_true, &if_false}, at);
}
Value where(const Value& condition, const Value& if_true, double if_false, Where at) {
  const Value constant_false = number_like(if_true, if_false, "where", at);
  return emit_typed(ir::Op::where, {&condition, &if_true, &constant_false}, at);
}

Value cast(const Value& value, DType dtype, Where where) {
  return emit_typed(ir::Op::cast, {&value}, where, dtype);
}

#define PTO_UNARY_OP(fn)                        \
  Value fn(const Value& x, Where where) {       \
    return emit_typed(ir::Op::fn, {&x}, where); \
  }
PTO_UNARY_OP(exp)
PTO_UNARY_OP(log)
PTO_UNARY_OP(sqrt)
PTO_UNARY_OP(rsqrt)
PTO_UNARY_OP(tanh)
PTO_UNARY_OP(sigmoid)
PTO_UNARY_OP(relu)
PTO_UNARY_OP(gelu)
PTO_UNARY_OP(silu)
PTO_UNARY_OP(neg)
PTO_UNARY_OP(abs)
PTO_UNARY_OP(sin)
PTO_UNARY_OP(cos)
PTO_UNARY_OP(rowsum)
PTO_UNARY_OP(rowmax)
PTO_UNARY_OP(rowmin)
PTO_UNARY_OP(rowmean)
PTO_UNARY_OP(colsum)
PTO_UNARY_OP(colmax)
PTO_UNARY_OP(colmin)
PTO_UNARY_OP(colmean)
PTO_UNARY_OP(trans)
#undef PTO_UNARY_OP

double rsqrt(double x) {
  return 1.0 / std::sqrt(x);
}

Value matmul(const Value& a, const Value& b, Where where) {
  return emit_typed(ir::Op::matmul, {&a, &b}, where);
}
Value matmul(const Value& a, const Value& b, const Value& acc, Where where) {
  return emit_typed(ir::Op::matmul, {&a, &b, &acc}, where);
}

// ---- operators -------------------------------------------------------------------------------

Value operator+(const Value& a, const Value& b) {
  return operator_form("+", a, &b, [&] { return add(a, b, origin(a)); });
}
Value operator-(const Value& a, const Value& b) {
  return operator_form("-", a, &b, [&] { return sub(a, b, origin(a)); });
}
Value operator*(const Value& a, const Value& b) {
  return operator_form("*", a, &b, [&] { return mul(a, b, origin(a)); });
}
Value operator/(const Value& a, const Value& b) {
  return operator_form("/", a, &b, [&] { return div(a, b, origin(a)); });
}
Value operator-(const Value& a) {
  return operator_form("-", a, nullptr, [&] { return neg(a, origin(a)); });
}
Value operator+(const Value& a, double b) {
  return operator_form("+", a, nullptr, [&] { return add(a, number_like(a, b, "add", origin(a)), origin(a)); });
}
Value operator-(const Value& a, double b) {
  return operator_form("-", a, nullptr, [&] { return sub(a, number_like(a, b, "sub", origin(a)), origin(a)); });
}
Value operator*(const Value& a, double b) {
  return operator_form("*", a, nullptr, [&] { return mul(a, number_like(a, b, "mul", origin(a)), origin(a)); });
}
Value operator/(const Value& a, double b) {
  return operator_form("/", a, nullptr, [&] { return div(a, number_like(a, b, "div", origin(a)), origin(a)); });
}
Value operator+(double a, const Value& b) {
  return operator_form("+", b, nullptr, [&] { return add(number_like(b, a, "add", origin(b)), b, origin(b)); });
}
Value operator-(double a, const Value& b) {
  return operator_form("-", b, nullptr, [&] { return sub(number_like(b, a, "sub", origin(b)), b, origin(b)); });
}
Value operator*(double a, const Value& b) {
  return operator_form("*", b, nullptr, [&] { return mul(number_like(b, a, "mul", origin(b)), b, origin(b)); });
}
Value operator/(double a, const Value& b) {
  return operator_form("/", b, nullptr, [&] { return div(number_like(b, a, "div", origin(b)), b, origin(b)); });
}

// ---- loops -----------------------------------------------------------------------------------

void for_range(Index start, Index end, std::int64_t step, const std::function<void(Scalar)>& body, Where where) {
  Builder* builder = active_builder();
  if (builder == nullptr) builder = start.value.builder() != nullptr ? start.value.builder() : end.value.builder();
  if (builder == nullptr) builder = &current_builder("for_range", where);
  const Value first = builder->index_value(start, "for_range", "start", where);
  const Value last = builder->index_value(end, "for_range", "end", where);
  const std::vector<Value> arguments = builder->open_loop(first, last, step, {}, where);
  body(arguments[0]);
  builder->close_loop({}, where);
}

}  // namespace pto::tl
