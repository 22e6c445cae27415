// pto::tl — the kernel DSL users write tile kernels in.
//
//   auto softmax = tl::kernel("softmax", [](tl::Builder& k) {
//     auto x = k.in(tl::tile(4, 64, f16), "x");
//     auto y = k.out(tl::tile(4, 64, f32), "y");
//     auto e = tl::exp(x - tl::rowmax(x));
//     tl::store(y, e / tl::rowsum(e));
//   });
//
// Building runs the lambda once: each tl op checks its operands (shape, dtype, scope) and
// appends a node to the kernel IR (dsl/ir.hpp). Mistakes throw pto::Error naming the op,
// the types involved, the user's line and the fix. Ops find their builder through the
// values they take, or, for ops without operands (tl::full, tl::iota), through the kernel
// being built on this thread. docs/dsl.md is the reference.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/source_location.hpp"
#include "dsl/ir.hpp"
#include "dsl/kernel_index.hpp"

namespace pto::tl {

using Where = SourceLocation;

inline constexpr DType f16 = DType::f16;
inline constexpr DType bf16 = DType::bf16;
inline constexpr DType f32 = DType::f32;
inline constexpr DType i32 = DType::i32;
inline constexpr DType i64 = DType::i64;
inline constexpr std::int64_t dyn = ir::dynamic_extent;

class Builder;

// A tile or scalar value of the kernel being built. Cheap to copy.
class Value {
 public:
  Value() = default;
  const ir::Type& type() const;
  std::int64_t rows() const { return type().rows; }
  std::int64_t cols() const { return type().cols; }
  DType dtype() const { return type().dtype; }
  bool is_scalar() const { return type().is_scalar(); }
  // The kernel being built that made this value; nullptr for a default-constructed Value.
  // A Value outlives its kernel's body (a copy kept after tl::kernel returned): using it
  // then throws pto::Error instead of reading a builder that no longer exists.
  Builder* builder() const;
  ir::ValueId id() const noexcept { return id_; }

 private:
  friend class Builder;
  Value(Builder* builder, ir::ValueId id);
  Builder* builder_ = nullptr;
  std::uint64_t serial_ = 0;  // the builder's (Builder::serial): tells a live one from a dead one at its address
  ir::ValueId id_ = ir::no_value;
};
using Scalar = Value;  // a Value whose type is a scalar (offsets, lengths, loop indices)

// A handle to a parameter that is not a value: globals and output tiles.
class ParamHandle {
 public:
  const ir::Param& param() const;
  // As Value::builder(): nullptr when empty, an error once the kernel's body has ended.
  Builder* builder() const;
  int index() const noexcept { return index_; }

 protected:
  friend class Builder;
  ParamHandle(Builder* builder, int index);
  Builder* builder_ = nullptr;
  std::uint64_t serial_ = 0;
  int index_ = -1;
};

// A global tensor parameter: rows/cols static or tl::dyn; read with tl::load, written with tl::store.
class Global : public ParamHandle {
  friend class Builder;
  using ParamHandle::ParamHandle;
};

// An output (or in-out) tile parameter: written with tl::store, read back with tl::read.
class Output : public ParamHandle {
  friend class Builder;
  using ParamHandle::ParamHandle;
};

struct TileSpec {
  std::int64_t rows, cols;
  DType dtype;
};
struct GlobalSpec {
  DType dtype;
  std::int64_t rows, cols;
};
inline TileSpec tile(std::int64_t rows, std::int64_t cols, DType dtype) {
  return {rows, cols, dtype};
}
// A 2-D global tensor: extents are static or tl::dyn (bound when the kernel runs).
inline GlobalSpec global(DType dtype, std::array<std::int64_t, 2> extents) {
  return {dtype, extents[0], extents[1]};
}

// An integer scalar operand given either as a Value or as a C++ integer (offsets, extents, bounds).
struct Index {
  Index(const Value& scalar) : value(scalar) {}    // NOLINT(google-explicit-constructor): DSL sugar
  Index(std::int64_t number) : literal(number) {}  // NOLINT(google-explicit-constructor)
  Index(int number) : literal(number) {}           // NOLINT(google-explicit-constructor)
  Value value;
  std::int64_t literal = 0;
};

// Building a kernel. While a Builder lives it is this thread's current builder (ops without
// operands, like tl::zeros, emit into it); builders nest and must end in reverse order of
// creation (scoped objects do). tl::kernel and tl::family create one for you.
class Builder {
 public:
  explicit Builder(std::string kernel_name);
  ~Builder();
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  // Parameters, in the order of the kernel's argument list.
  Value in(TileSpec spec, std::string name, Where where = Where::current());
  Global in(GlobalSpec spec, std::string name, Where where = Where::current());
  Output out(TileSpec spec, std::string name, Where where = Where::current());
  Global out(GlobalSpec spec, std::string name, Where where = Where::current());
  Output inout(TileSpec spec, std::string name, Where where = Where::current());
  Global inout(GlobalSpec spec, std::string name, Where where = Where::current());
  Scalar scalar(DType dtype, std::string name, Where where = Where::current());

  const ir::Kernel& kernel() const noexcept { return kernel_; }
  const std::string& name() const noexcept { return kernel_.name; }
  // Unique per Builder in the process: values and handles keep it to tell this builder
  // from a later one at the same address.
  std::uint64_t serial() const noexcept { return serial_; }
  Builder* enclosing() const noexcept { return enclosing_; }  // the thread's builder before this one

  // Ends building: checks that every output was written, verifies, hands over the IR.
  ir::Kernel finish(Where where = Where::current());
  // The same without running the verifier (benchmarks time the verifier on its own).
  ir::Kernel finish_unverified(Where where = Where::current());

  // ---- used by the tl ops (not by kernel authors) ------------------------------------------
  // Checks that `value` belongs to this kernel and is visible here (not from a loop that ended).
  void check_usable(const Value& value, std::string_view op, Where where) const;
  Value emit(ir::Node node, const ir::Type& result_type);
  void emit_void(ir::Node node);
  Value make_value(ir::ValueId id) { return Value(this, id); }
  // A scalar constant; a number that is no value of `dtype` (check_number) is an error
  // naming `op`.
  Value constant(double number, DType dtype, Where where, std::string_view op = "constant");
  Value index_value(const Index& index, std::string_view op, std::string_view what, Where where);
  ir::Param& param(int index) { return kernel_.params.at(static_cast<std::size_t>(index)); }
  void mark_written(int param_index) { written_.at(static_cast<std::size_t>(param_index)) = true; }
  bool written(int param_index) const { return written_.at(static_cast<std::size_t>(param_index)); }
  // Loops: open a body block with arguments of these types; close it with the yielded values.
  std::vector<Value> open_loop(const Value& start, const Value& end, std::int64_t step, std::span<const Value> inits,
                               Where where);
  std::vector<Value> close_loop(std::span<const Value> yielded, Where where);

 private:
  int add_param(std::string name, ir::ParamRole role, const ir::Type& type, Where where);
  ir::ValueId new_value(const ir::Type& type);
  ir::Block& current_block() { return *blocks_.back(); }

  ir::Kernel kernel_;
  std::vector<ir::Block*> blocks_;   // open blocks, innermost last
  std::vector<int> value_block_;     // ValueId -> id of the block that defines it
  std::vector<int> open_block_ids_;  // ids of the blocks in blocks_
  int next_block_id_ = 0;
  std::vector<bool> written_;  // per param: stored to (outputs must be)
  struct PendingLoop {
    ir::Node node;
    std::unique_ptr<ir::Block> body;
    std::vector<ir::Type> carried;
  };
  std::vector<PendingLoop> loops_;
  Builder* enclosing_ = nullptr;  // the thread's current builder before this one
  std::uint64_t serial_ = 0;
};

// The builder of the kernel being built on this thread (ops without operands need it).
Builder& current_builder(std::string_view op, Where where);
// The same, or nullptr outside a kernel body.
Builder* active_builder() noexcept;
// The builder an op on `handle_builder`'s handles must emit into: the active one; a handle
// of another kernel is an error naming both.
Builder& builder_for_handle(Builder* handle_builder, std::string_view op, Where where);

// ---- kernels and families ------------------------------------------------------------------

// A built, verified kernel: the IR, its structural hash (the JIT caches' key) and its
// index (dsl/kernel_index.hpp), computed once and shared by every copy.
class KernelInstance {
 public:
  KernelInstance() = default;
  explicit KernelInstance(ir::Kernel kernel);
  const ir::Kernel& ir() const { return *kernel_; }
  const ir::KernelIndex& index() const { return *index_; }
  const std::string& name() const { return kernel_->name; }
  std::uint64_t hash() const noexcept { return hash_; }
  bool valid() const noexcept { return kernel_ != nullptr; }

 private:
  std::shared_ptr<const ir::Kernel> kernel_;
  std::shared_ptr<const ir::KernelIndex> index_;
  std::uint64_t hash_ = 0;
};

KernelInstance kernel(std::string name, const std::function<void(Builder&)>& body);

// A kernel generator parameterised by a compile-time integer ("tier"): one instance per
// parameter, named "name<param>" (e.g. decode_attention<1024>).
class Family {
 public:
  Family(std::string name, std::vector<std::int64_t> params, std::vector<KernelInstance> instances);
  const std::string& name() const noexcept { return name_; }
  std::size_t size() const noexcept { return instances_.size(); }
  const std::vector<std::int64_t>& params() const noexcept { return params_; }
  const KernelInstance& tier(std::size_t index, Where where = Where::current()) const;
  const KernelInstance& for_param(std::int64_t param, Where where = Where::current()) const;

 private:
  std::string name_;
  std::vector<std::int64_t> params_;
  std::vector<KernelInstance> instances_;
};

Family family(std::string name, std::vector<std::int64_t> params,
              const std::function<void(Builder&, std::int64_t)>& body, Where where = Where::current());

// ---- ops (dsl/ops.cpp) -----------------------------------------------------------------------

// constants
Value full(std::int64_t rows, std::int64_t cols, DType dtype, double value, Where where = Where::current());
Value zeros(std::int64_t rows, std::int64_t cols, DType dtype, Where where = Where::current());
Scalar constant(double value, DType dtype, Where where = Where::current());
Value iota(std::int64_t rows, std::int64_t cols, int axis, DType dtype = DType::i32, Where where = Where::current());

// memory
Value load(const Global& src, Index row, Index col, std::int64_t rows, std::int64_t cols, Index valid_rows,
           Index valid_cols, double pad = 0.0, Where where = Where::current());
Value load(const Global& src, Index row, Index col, std::int64_t rows, std::int64_t cols,
           Where where = Where::current());
// The value masked-out elements of a full-row load read as.
struct Pad {
  double value = 0.0;
};
// Full-width rows [row, row + rows) of a global with static columns; rows at or past
// valid_rows read as `pad` (the masked tail of a KV block).
Value load(const Global& src, Index row, std::int64_t rows, Index valid_rows, Where where = Where::current());
Value load(const Global& src, Index row, std::int64_t rows, Index valid_rows, Pad pad, Where where = Where::current());
// One element of a global as a scalar: an entry of a block table or an index array, to use
// as an offset or extent (paged KV). Integer globals give an integer scalar of their dtype,
// float globals an f32 scalar; an element outside the global is a run-time error.
Scalar load_scalar(const Global& src, Index row, Index col = 0, Where where = Where::current());
// Full-width rows gathered through an index tile (paged KV: a block of tokens taken through
// the block table, whatever the page size): tile row r < valid_rows is the global's row
// index[r / group] * group + r % group, rows at or past valid_rows read as `pad`. `index`
// is an i32 tile [n, 1] with n * group >= rows (tl::load of the block table's entries);
// `group` is the rows one entry names (the page size; 1: a gather of single rows). A
// gathered row outside the global is a run-time error naming that row.
Value load_rows(const Global& src, const Value& index, std::int64_t group, std::int64_t rows, Index valid_rows,
                Pad pad = {}, Where where = Where::current());
void store(const Output& dst, const Value& value, Where where = Where::current());
void store(const Global& dst, Index row, Index col, const Value& value, Index valid_rows, Index valid_cols,
           Where where = Where::current());
void store(const Global& dst, Index row, Index col, const Value& value, Where where = Where::current());
Value read(const Output& output, Where where = Where::current());

// elementwise binary (broadcasting: scalars, [r,1] columns and [1,c] rows stretch)
Value add(const Value& a, const Value& b, Where where = Where::current());
Value sub(const Value& a, const Value& b, Where where = Where::current());
Value mul(const Value& a, const Value& b, Where where = Where::current());
Value div(const Value& a, const Value& b, Where where = Where::current());
Value maximum(const Value& a, const Value& b, Where where = Where::current());
Value minimum(const Value& a, const Value& b, Where where = Where::current());
Value maximum(const Value& a, double b, Where where = Where::current());
Value minimum(const Value& a, double b, Where where = Where::current());
// Row/column broadcasting with the shape checked: b must be [rows,1] (row*) or [1,cols] (col*).
Value rowadd(const Value& a, const Value& b, Where where = Where::current());
Value rowmul(const Value& a, const Value& b, Where where = Where::current());
Value coladd(const Value& a, const Value& b, Where where = Where::current());
Value colmul(const Value& a, const Value& b, Where where = Where::current());
// comparisons: i32 1 (true) or 0 (false)
Value lt(const Value& a, const Value& b, Where where = Where::current());
Value le(const Value& a, const Value& b, Where where = Where::current());
Value gt(const Value& a, const Value& b, Where where = Where::current());
Value ge(const Value& a, const Value& b, Where where = Where::current());
Value eq(const Value& a, const Value& b, Where where = Where::current());
Value ne(const Value& a, const Value& b, Where where = Where::current());
Value lt(const Value& a, double b, Where where = Where::current());
Value le(const Value& a, double b, Where where = Where::current());
Value gt(const Value& a, double b, Where where = Where::current());
Value ge(const Value& a, double b, Where where = Where::current());
Value eq(const Value& a, double b, Where where = Where::current());
Value ne(const Value& a, double b, Where where = Where::current());
Value where(const Value& condition, const Value& if_true, const Value& if_false, Where at = Where::current());
Value where(const Value& condition, const Value& if_true, double if_false, Where at = Where::current());
Value cast(const Value& value, DType dtype, Where where = Where::current());

// unary (float operands; neg, abs and relu also take integers)
Value exp(const Value& x, Where where = Where::current());
Value log(const Value& x, Where where = Where::current());
Value sqrt(const Value& x, Where where = Where::current());
Value rsqrt(const Value& x, Where where = Where::current());
Value tanh(const Value& x, Where where = Where::current());
Value sigmoid(const Value& x, Where where = Where::current());
Value relu(const Value& x, Where where = Where::current());
Value gelu(const Value& x, Where where = Where::current());
Value silu(const Value& x, Where where = Where::current());
Value neg(const Value& x, Where where = Where::current());
Value abs(const Value& x, Where where = Where::current());
Value sin(const Value& x, Where where = Where::current());
Value cos(const Value& x, Where where = Where::current());
// C++ numbers stay C++ numbers (e.g. tl::rsqrt(128.0) for a softmax scale).
double rsqrt(double x);

// reductions: [r,c] -> [r,1] (row*) or [1,c] (col*); float in, f32 out
Value rowsum(const Value& x, Where where = Where::current());
Value rowmax(const Value& x, Where where = Where::current());
Value rowmin(const Value& x, Where where = Where::current());
Value rowmean(const Value& x, Where where = Where::current());
Value colsum(const Value& x, Where where = Where::current());
Value colmax(const Value& x, Where where = Where::current());
Value colmin(const Value& x, Where where = Where::current());
Value colmean(const Value& x, Where where = Where::current());

// matmul(a[M,K], b[K,N]) -> f32 [M,N]; with acc: acc + a*b
Value matmul(const Value& a, const Value& b, Where where = Where::current());
Value matmul(const Value& a, const Value& b, const Value& acc, Where where = Where::current());
Value trans(const Value& x, Where where = Where::current());

// Operators: the same ops; errors name the lines where the operands were defined.
Value operator+(const Value& a, const Value& b);
Value operator-(const Value& a, const Value& b);
Value operator*(const Value& a, const Value& b);
Value operator/(const Value& a, const Value& b);
Value operator-(const Value& a);
Value operator+(const Value& a, double b);
Value operator-(const Value& a, double b);
Value operator*(const Value& a, double b);
Value operator/(const Value& a, double b);
Value operator+(double a, const Value& b);
Value operator-(double a, const Value& b);
Value operator*(double a, const Value& b);
Value operator/(double a, const Value& b);

// ---- loops -----------------------------------------------------------------------------------

// The values a loop body hands to the next iteration, in the order of the loop's inits.
struct Carry {
  std::vector<Value> values;
};
template <typename... Values>
Carry carry(const Values&... values) {
  return Carry{{values...}};
}

// for (j = start; j < end; j += step) with loop-carried values: `body(j, carried...)` returns
// tl::carry(next...) with the same types as `inits`; the result is the final carried values.
template <std::size_t N, typename Body>
std::array<Value, N> for_range(Index start, Index end, std::int64_t step, const Value (&inits)[N], Body&& body,
                               Where where = Where::current()) {
  Builder* builder = active_builder();
  if (builder == nullptr) builder = inits[0].builder();
  if (builder == nullptr) builder = &current_builder("for_range", where);
  const Value first = builder->index_value(start, "for_range", "start", where);
  const Value last = builder->index_value(end, "for_range", "end", where);
  const std::vector<Value> arguments = builder->open_loop(first, last, step, std::span<const Value>(inits, N), where);
  const Carry next = [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::invoke(std::forward<Body>(body), arguments[0], arguments[I + 1]...);
  }
  (std::make_index_sequence<N>{});
  const std::vector<Value> results = builder->close_loop(next.values, where);
  std::array<Value, N> out;
  for (std::size_t i = 0; i < N; ++i) out[i] = results[i];
  return out;
}

// A loop without carried values (its body stores results).
void for_range(Index start, Index end, std::int64_t step, const std::function<void(Scalar)>& body,
               Where where = Where::current());

}  // namespace pto::tl
