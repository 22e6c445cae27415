#include "tests/fuzz/kernel_generator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "core/error.hpp"
#include "dsl/dtype.hpp"

namespace pto::fuzz {

namespace {

constexpr std::int64_t max_extent = 16;
constexpr int max_steps = 40;
constexpr std::int64_t max_iterations = 64;  // all loops of a kernel, nested ones multiplied

constexpr std::array<DType, 5> all_dtypes = {DType::f32, DType::f16, DType::bf16, DType::i32, DType::i64};

struct IntScalar {
  tl::Value value;
  std::optional<std::int64_t> known;  // its value, when fixed before the kernel runs
};

struct GlobalParam {
  tl::Global handle;
  DType dtype;
  std::int64_t rows, cols;  // the bound extents
  bool static_cols;         // the spec's columns are static (full-width loads need them)
};

class Generator {
 public:
  Generator(FuzzedDataProvider& data, ValueRange range) : data_(data), range_(range) {}

  GeneratedKernel run() {
    GeneratedKernel out;
    out.kernel = tl::kernel("fuzzed", [&](tl::Builder& k) { body(k, out); });
    return out;
  }

 private:
  FuzzedDataProvider& data_;
  ValueRange range_;
  std::vector<GlobalParam> inputs_, outputs_;
  std::vector<tl::Value> tiles_;
  std::vector<IntScalar> ints_;
  std::vector<tl::Value> float_scalars_;
  std::optional<tl::Output> out_tile_;
  tl::TileSpec out_tile_spec_{1, 1, DType::f32};
  bool out_tile_stored_ = false;
  std::int64_t iteration_budget_ = max_iterations;
  int depth_ = 0;
  // Comparable mode: values whose float results may differ between executors by rounding
  // (transcendental functions, sums, matmuls, and what is computed from them). They never
  // reach a discontinuous op (a comparison, a cast or store to an integer), where a
  // rounding difference would become a different integer or a different branch of where().
  std::set<ir::ValueId> inexact_;

  bool comparable() const { return range_ == ValueRange::comparable; }
  int pick(int n) { return data_.ConsumeIntegralInRange<int>(0, n - 1); }
  DType any_dtype() { return all_dtypes[static_cast<std::size_t>(pick(5))]; }
  std::int64_t extent() { return data_.ConsumeIntegralInRange<std::int64_t>(1, max_extent); }

  // An int64 that is often an edge of some range.
  std::int64_t edgy_int() {
    switch (pick(6)) {
      case 0:
      case 1: return data_.ConsumeIntegralInRange<std::int64_t>(-3, 20);
      case 2: {
        const int shift = pick(63);
        return (std::int64_t{1} << shift) + data_.ConsumeIntegralInRange<std::int64_t>(-2, 2);
      }
      case 3: return -(std::int64_t{1} << pick(63)) + data_.ConsumeIntegralInRange<std::int64_t>(-2, 2);
      case 4:
        return data_.ConsumeBool() ? std::numeric_limits<std::int64_t>::max() - data_.ConsumeIntegralInRange<int>(0, 3)
                                   : std::numeric_limits<std::int64_t>::min() + data_.ConsumeIntegralInRange<int>(0, 3);
      default: return data_.ConsumeIntegral<std::int64_t>();
    }
  }
  // A double that is often an edge: ±0, small integers, ±inf, NaN, huge, tiny.
  double edgy_double() {
    switch (pick(8)) {
      case 0: return data_.ConsumeIntegralInRange<int>(-4, 4);
      case 1: return data_.ConsumeFloatingPointInRange<double>(-4, 4);
      case 2: return data_.ConsumeBool() ? INFINITY : -INFINITY;
      case 3: return NAN;
      case 4: return data_.ConsumeBool() ? 1e30 : -1e30;
      case 5: return static_cast<double>(edgy_int());
      case 6: return data_.ConsumeBool() ? 1e-40 : -0.0;
      default: return data_.ConsumeFloatingPoint<double>();
    }
  }
  double element_value(DType dtype) {
    if (is_integer(dtype)) return static_cast<double>(data_.ConsumeIntegralInRange<std::int64_t>(-100, 100));
    if (comparable() && pick(16) != 0) return data_.ConsumeFloatingPointInRange<double>(-4, 4);
    return edgy_double();
  }

  void fill(HostBuffer& buffer) {
    const int element = size_bytes(buffer.dtype);
    buffer.bytes.assign(static_cast<std::size_t>(((buffer.rows - 1) * buffer.row_stride + buffer.cols) * element), 0);
    for (std::int64_t r = 0; r < buffer.rows; ++r) {
      for (std::int64_t c = 0; c < buffer.cols; ++c) {
        unsigned char* at = buffer.bytes.data() + (r * buffer.row_stride + c) * element;
        const double x = element_value(buffer.dtype);
        switch (buffer.dtype) {
          case DType::f16: {
            const std::uint16_t bits = f32_to_f16_bits(static_cast<float>(x));
            std::memcpy(at, &bits, 2);
            break;
          }
          case DType::bf16: {
            const std::uint16_t bits = f32_to_bf16_bits(static_cast<float>(x));
            std::memcpy(at, &bits, 2);
            break;
          }
          case DType::f32: {
            const auto value = static_cast<float>(x);
            std::memcpy(at, &value, 4);
            break;
          }
          case DType::i32: {
            const auto value = static_cast<std::int32_t>(x);
            std::memcpy(at, &value, 4);
            break;
          }
          case DType::i64: {
            const auto value = static_cast<std::int64_t>(x);
            std::memcpy(at, &value, 8);
            break;
          }
        }
      }
    }
  }

  GlobalParam add_global(tl::Builder& k, GeneratedKernel& out, bool output) {
    HostBuffer buffer;
    buffer.name = fmt::format("{}{}", output ? "out" : "in", output ? outputs_.size() : inputs_.size());
    buffer.dtype = any_dtype();
    buffer.rows = extent();
    buffer.cols = extent();
    buffer.row_stride = buffer.cols + (data_.ConsumeBool() ? 0 : pick(4));
    fill(buffer);
    const std::int64_t rows = data_.ConsumeBool() ? tl::dyn : buffer.rows;
    const std::int64_t cols = data_.ConsumeBool() ? tl::dyn : buffer.cols;
    const tl::GlobalSpec spec = tl::global(buffer.dtype, {rows, cols});
    GlobalParam param{output ? k.inout(spec, buffer.name) : k.in(spec, buffer.name), buffer.dtype, buffer.rows,
                      buffer.cols, cols != tl::dyn};
    out.tensors.push_back(std::move(buffer));
    return param;
  }

  void body(tl::Builder& k, GeneratedKernel& out) {
    const int input_count = 1 + pick(3);
    for (int i = 0; i < input_count; ++i) inputs_.push_back(add_global(k, out, false));
    outputs_.push_back(add_global(k, out, true));
    if (data_.ConsumeBool()) {
      HostBuffer tile;
      tile.name = "tile";
      tile.dtype = any_dtype();
      tile.rows = extent();
      tile.cols = extent();
      tile.row_stride = tile.cols;
      fill(tile);
      tiles_.push_back(k.in(tl::tile(tile.rows, tile.cols, tile.dtype), tile.name));
      out.tensors.push_back(std::move(tile));
    }
    if (data_.ConsumeBool()) {
      out_tile_spec_ = tl::tile(extent(), extent(), any_dtype());
      out_tile_ = k.out(out_tile_spec_, "y");
      HostBuffer y;
      y.name = "y";
      y.dtype = out_tile_spec_.dtype;
      y.rows = out_tile_spec_.rows;
      y.cols = out_tile_spec_.cols;
      y.row_stride = y.cols;
      y.bytes.assign(static_cast<std::size_t>(y.rows * y.cols * size_bytes(y.dtype)), 0);
      out.tensors.push_back(std::move(y));
    }
    const int scalar_count = pick(3);
    for (int i = 0; i < scalar_count; ++i) {
      const bool wide = data_.ConsumeBool();
      const std::string name = fmt::format("s{}", i);
      std::int64_t value = edgy_int();
      if (!wide) value = static_cast<std::int32_t>(value);
      ints_.push_back({k.scalar(wide ? DType::i64 : DType::i32, name), value});
      out.integers.emplace_back(name, value);
    }
    if (data_.ConsumeBool()) {
      float_scalars_.push_back(k.scalar(DType::f32, "f"));
      out.floats.emplace_back("f", comparable() ? data_.ConsumeFloatingPointInRange<double>(-4, 4) : edgy_double());
    }
    const int steps = 1 + pick(max_steps);
    for (int step = 0; step < steps && data_.remaining_bytes() > 0; ++step) emit_step();
    finish_outputs();
  }

  // Every output is written once more at the end, so that a kernel always stores them.
  void finish_outputs() {
    const GlobalParam& g = outputs_.front();
    const tl::Value v = storable(any_tile(), g.dtype);
    tl::store(g.handle, 0, 0, v, std::min(v.rows(), g.rows), std::min(v.cols(), g.cols));
    if (out_tile_ && !out_tile_stored_) store_out_tile();
  }

  // `v` in the dtype `to` of a destination (stores convert only between floats).
  tl::Value storable(const tl::Value& v, DType to) {
    if (v.dtype() == to || (is_float(v.dtype()) && is_float(to) && pick(2) != 0)) return v;
    if (is_integer(to) && !discontinuity_allowed(v)) return tl::full(v.rows(), v.cols(), to, 1);
    return tl::cast(v, to);
  }

  tl::Value any_tile() {
    if (tiles_.empty()) tiles_.push_back(tl::full(extent(), extent(), any_dtype(), element_value(DType::f32)));
    return tiles_[static_cast<std::size_t>(pick(static_cast<int>(tiles_.size())))];
  }
  // A tile `a` combines with: one of its shape, a broadcastable row or column, or a scalar.
  tl::Value partner_of(const tl::Value& a) {
    std::vector<tl::Value> fits;
    for (const tl::Value& t : tiles_) {
      const bool rows_fit = t.rows() == a.rows() || t.rows() == 1;
      const bool cols_fit = t.cols() == a.cols() || t.cols() == 1;
      if (rows_fit && cols_fit) fits.push_back(t);
    }
    for (const tl::Value& s : float_scalars_) fits.push_back(s);
    for (const IntScalar& s : ints_) fits.push_back(s.value);
    if (fits.empty() || pick(8) == 0) return tl::full(1, 1, a.dtype(), number_for(a.dtype()));
    tl::Value b = fits[static_cast<std::size_t>(pick(static_cast<int>(fits.size())))];
    if (b.dtype() != a.dtype() && pick(4) != 0) {
      if (is_integer(a.dtype()) && !discontinuity_allowed(b)) return tl::full(1, 1, a.dtype(), number_for(a.dtype()));
      const tl::Value cast = tl::cast(b, a.dtype());
      if (inexact(b)) inexact_.insert(cast.id());
      return cast;
    }
    return b;
  }
  tl::Index index() {
    if (!ints_.empty() && pick(3) == 0)
      return ints_[static_cast<std::size_t>(pick(static_cast<int>(ints_.size())))].value;
    if (pick(8) == 0) return tl::Index(edgy_int());  // the builder rejects what a double cannot hold
    // Mostly offsets inside small tensors, so that most kernels run to their end.
    return tl::Index(pick(4) == 0 ? data_.ConsumeIntegralInRange<std::int64_t>(-2, max_extent)
                                  : data_.ConsumeIntegralInRange<std::int64_t>(0, 3));
  }
  // In comparable mode, a float operand clamped to [-limit, limit] (NaN stays NaN).
  tl::Value bounded(const tl::Value& x, double limit) {
    if (!comparable() || !is_float(x.dtype())) return x;
    return tl::minimum(tl::maximum(x, -limit), limit);
  }
  tl::Value as_float(const tl::Value& x) { return is_float(x.dtype()) ? x : tl::cast(x, DType::f32); }
  // A number operand for a value of `dtype`: an integer for integers (a fraction is a build
  // error), anything for floats in `any` mode, and in comparable mode one in [-4, 4], which
  // keeps results where the tolerance means something (no 1e30 amplifying a rounding).
  double number_for(DType dtype) {
    if (is_integer(dtype)) {
      return pick(8) == 0 && !comparable() ? static_cast<double>(edgy_int())
                                           : static_cast<double>(data_.ConsumeIntegralInRange<int>(-4, 4));
    }
    return comparable() ? data_.ConsumeFloatingPointInRange<double>(-4, 4) : edgy_double();
  }
  // A load's pad: any value of the dtype (inf and NaN for floats: they propagate through
  // exact ops identically on every executor).
  double pad_for(DType dtype) { return pick(4) == 0 ? edgy_double() : number_for(dtype); }
  bool inexact(const tl::Value& v) const { return inexact_.count(v.id()) != 0; }
  // Whether `v` may feed a discontinuous op (a comparison, a where condition, a conversion
  // to an integer).
  bool discontinuity_allowed(const tl::Value& v) const { return !comparable() || !inexact(v); }
  // Pushes `v`, inexact when `rounded` (its op rounds differently per executor) or when any
  // of `operands` is.
  void push(const tl::Value& v, bool rounded, std::initializer_list<tl::Value> operands = {}) {
    bool from_inexact = rounded;
    for (const tl::Value& operand : operands) from_inexact = from_inexact || inexact(operand);
    if (from_inexact) inexact_.insert(v.id());
    push(v);
  }
  void push(const tl::Value& v) {
    if (v.is_scalar()) {
      if (is_integer(v.dtype())) {
        ints_.push_back({v, std::nullopt});
      } else {
        float_scalars_.push_back(v);
      }
    } else {
      tiles_.push_back(v);
    }
  }

  void emit_step() {
    switch (pick(16)) {
      case 0: emit_load(); break;
      case 1: {
        const GlobalParam& g = inputs_[static_cast<std::size_t>(pick(static_cast<int>(inputs_.size())))];
        push(tl::load_scalar(g.handle, index(), index()));
        break;
      }
      case 2: emit_constant(); break;
      case 3:
      case 4:
      case 5: emit_binary(); break;
      case 6: {
        const tl::Value a = any_tile();
        const tl::Value b = partner_of(a);
        const tl::Value c = partner_of(a);
        const bool compare_ab = pick(2) != 0;
        if (!discontinuity_allowed(compare_ab ? a : c) || !discontinuity_allowed(b)) break;
        const tl::Value chosen = pick(2) ? b : c;
        push(tl::where(compare_ab ? tl::gt(a, b) : tl::ne(b, c), a, chosen), false, {a, chosen});
        break;
      }
      case 7: {
        const tl::Value a = any_tile();
        const DType to = any_dtype();
        if (is_integer(to) && !discontinuity_allowed(a)) break;
        push(tl::cast(a, to), false, {a});
        break;
      }
      case 8:
      case 9: emit_unary(); break;
      case 10: emit_reduction(); break;
      case 11: emit_matmul(); break;
      case 12: emit_scalar_arithmetic(); break;
      case 13: emit_loop(); break;
      case 14: emit_store(); break;
      default:
        if (out_tile_) store_out_tile();
        break;
    }
  }

  void emit_load() {
    const GlobalParam& g = inputs_[static_cast<std::size_t>(pick(static_cast<int>(inputs_.size())))];
    const std::int64_t rows = extent(), cols = extent();
    switch (pick(4)) {
      case 0: push(tl::load(g.handle, index(), index(), rows, cols)); break;
      case 1: push(tl::load(g.handle, index(), index(), rows, cols, index(), index(), pad_for(g.dtype))); break;
      case 2: {
        if (!g.static_cols) {  // the builder would reject a gather of full rows of unknown width
          push(tl::load(g.handle, index(), index(), rows, cols));
          break;
        }
        // Rows gathered through an index tile: entries 0, 1, ... shifted a little, so that
        // most name rows inside small tensors and some do not.
        const std::int64_t group = 1 + pick(static_cast<int>(std::min<std::int64_t>(rows, 4)));
        const std::int64_t entries = (rows + group - 1) / group;
        const tl::Value index_tile =
            tl::iota(entries, 1, 0, DType::i32) +
            tl::full(entries, 1, DType::i32, static_cast<double>(data_.ConsumeIntegralInRange<int>(-1, 3)));
        push(tl::load_rows(g.handle, index_tile, group, rows, index(), tl::Pad{pad_for(g.dtype)}));
        break;
      }
      default: push(tl::load(g.handle, index(), rows, index(), tl::Pad{pad_for(g.dtype)})); break;
    }
  }

  void emit_constant() {
    const std::int64_t rows = extent(), cols = extent();
    const DType dtype = any_dtype();
    switch (pick(4)) {
      case 0: push(tl::full(rows, cols, dtype, number_for(dtype))); break;
      case 1: push(tl::zeros(rows, cols, dtype)); break;
      case 2: push(tl::iota(rows, cols, pick(3), pick(2) ? DType::i32 : dtype)); break;
      default: {
        const tl::Value c = tl::constant(number_for(dtype), dtype);
        if (is_integer(dtype)) {
          ints_.push_back({c, std::nullopt});
        } else {
          float_scalars_.push_back(c);
        }
      }
    }
  }

  void emit_binary() {
    const tl::Value a = any_tile();
    const tl::Value b = partner_of(a);
    const bool may_compare = discontinuity_allowed(a) && discontinuity_allowed(b);
    // Result dtypes of mixed integer/float operands are floats: a discontinuity only at a
    // later cast, which is checked there.
    const auto result = [&](const tl::Value& v) { push(v, false, {a, b}); };
    switch (pick(12)) {
      case 0: result(a + b); break;
      case 1: result(a - b); break;
      case 2: result(a * b); break;
      case 3:
        // Comparable floats: divide by 1 + |b| (a division by ~0 amplifies rounding differences
        // past any tolerance). Integer division is exact: any divisor, faults included.
        if (comparable() && (is_float(a.dtype()) || is_float(b.dtype()))) {
          result(a / (tl::abs(as_float(b)) + 1.0));
        } else {
          result(a / b);
        }
        break;
      case 4: result(tl::maximum(a, b)); break;
      case 5: result(tl::minimum(a, b)); break;
      case 6:
        if (may_compare) result(tl::lt(a, b));
        break;
      case 7:
        if (may_compare) result(tl::le(a, b));
        break;
      case 8:
        if (may_compare) result(tl::eq(a, b));
        break;
      case 9:
        if (discontinuity_allowed(a)) push(tl::ge(a, number_for(a.dtype())), false, {a});
        break;
      case 10:
        if (b.rows() == a.rows() && b.cols() == 1 && !b.is_scalar()) {
          result(pick(2) ? tl::rowadd(a, b) : tl::rowmul(a, b));
        } else if (b.rows() == 1 && b.cols() == a.cols() && !b.is_scalar()) {
          result(pick(2) ? tl::coladd(a, b) : tl::colmul(a, b));
        } else {
          push(a * number_for(a.dtype()), false, {a});
        }
        break;
      default: push(number_for(a.dtype()) - a, false, {a}); break;
    }
  }

  void emit_unary() {
    const tl::Value a = any_tile();
    if (pick(3) == 0) {
      push(pick(3) == 0 ? tl::neg(a) : pick(2) ? tl::abs(a) : tl::relu(a), false, {a});
      return;
    }
    const tl::Value x = as_float(a);
    const auto rounded = [&](const tl::Value& v) { push(v, true); };
    switch (pick(11)) {
      case 0: rounded(tl::exp(bounded(x, 10))); break;  // at most e^10: far from f16's largest value
      case 1: rounded(comparable() ? tl::log(tl::abs(bounded(x, 1e4)) + 1.0) : tl::log(x)); break;
      case 2: rounded(tl::sqrt(comparable() ? tl::abs(bounded(x, 1e4)) : x)); break;
      case 3: rounded(tl::rsqrt(comparable() ? tl::abs(bounded(x, 1e4)) + 1.0 : x)); break;
      case 4: rounded(tl::tanh(bounded(x, 20))); break;
      case 5: rounded(tl::sigmoid(bounded(x, 20))); break;
      case 6: rounded(tl::gelu(bounded(x, 20))); break;
      case 7: rounded(tl::silu(bounded(x, 20))); break;
      case 8: rounded(tl::sin(bounded(x, 20))); break;
      case 9: rounded(tl::cos(bounded(x, 20))); break;
      default: push(-x, false, {a}); break;
    }
  }

  void emit_reduction() {
    const tl::Value a = any_tile();
    // Reductions of comparable floats see values of at most 8, so that sums in any order
    // agree to the tolerance even where they cancel; max and min are exact in any order.
    const tl::Value x = bounded(a, 8);
    const bool float_sum = is_float(a.dtype());
    switch (pick(8)) {
      case 0: push(tl::rowsum(x), float_sum, {a}); break;
      case 1: push(tl::rowmax(x), false, {a}); break;
      case 2: push(tl::rowmin(x), false, {a}); break;
      case 3: push(tl::rowmean(x), true); break;
      case 4: push(tl::colsum(x), float_sum, {a}); break;
      case 5: push(tl::colmax(x), false, {a}); break;
      case 6: push(tl::colmin(x), false, {a}); break;
      default: push(tl::colmean(x), true); break;
    }
  }

  void emit_matmul() {
    const tl::Value a = any_tile();
    std::vector<tl::Value> rhs;
    for (const tl::Value& t : tiles_)
      if (!t.is_scalar() && t.rows() == a.cols()) rhs.push_back(t);
    tl::Value b =
        rhs.empty() || pick(3) == 0 ? tl::trans(a) : rhs[static_cast<std::size_t>(pick(static_cast<int>(rhs.size())))];
    const tl::Value x = bounded(as_float(a), 8), y = bounded(as_float(b), 8);  // as for sums
    push(pick(2) ? tl::matmul(x, y) : tl::matmul(x, y, tl::zeros(x.rows(), y.cols(), DType::f32) + 1.0), true);
  }

  void emit_scalar_arithmetic() {
    if (ints_.empty()) {
      ints_.push_back({tl::constant(static_cast<double>(data_.ConsumeIntegralInRange<int>(-4, 16)), DType::i64), {}});
      return;
    }
    const IntScalar a = ints_[static_cast<std::size_t>(pick(static_cast<int>(ints_.size())))];
    const IntScalar b = ints_[static_cast<std::size_t>(pick(static_cast<int>(ints_.size())))];
    switch (pick(5)) {
      case 0: ints_.push_back({a.value + b.value, std::nullopt}); break;
      case 1: ints_.push_back({a.value * b.value, std::nullopt}); break;
      case 2: ints_.push_back({a.value / b.value, std::nullopt}); break;
      case 3: ints_.push_back({tl::maximum(a.value, b.value), std::nullopt}); break;
      default: ints_.push_back({a.value - static_cast<double>(data_.ConsumeIntegralInRange<int>(-4, 4)), std::nullopt});
    }
  }

  // A loop bound: a literal, or a scalar whose value is known before the kernel runs.
  std::pair<tl::Index, std::int64_t> loop_bound() {
    std::vector<const IntScalar*> known;
    for (const IntScalar& s : ints_)
      if (s.known) known.push_back(&s);
    if (!known.empty() && pick(2) == 0) {
      const IntScalar& s = *known[static_cast<std::size_t>(pick(static_cast<int>(known.size())))];
      return {s.value, *s.known};
    }
    const std::int64_t literal = pick(6) == 0 ? edgy_int() : data_.ConsumeIntegralInRange<std::int64_t>(-4, 12);
    return {tl::Index(literal), literal};
  }

  void emit_loop() {
    if (depth_ >= 2) return;
    auto [start, start_value] = loop_bound();
    auto [end, end_value] = loop_bound();
    const std::int64_t step =
        pick(4) == 0 ? std::int64_t{1} << pick(63) : data_.ConsumeIntegralInRange<std::int64_t>(1, 4);
    // end - start in unsigned 64 bits, exact whenever end > start.
    const std::uint64_t span =
        end_value > start_value ? static_cast<std::uint64_t>(end_value) - static_cast<std::uint64_t>(start_value) : 0;
    const std::uint64_t trips =
        span / static_cast<std::uint64_t>(step) + (span % static_cast<std::uint64_t>(step) != 0);
    if (trips > static_cast<std::uint64_t>(iteration_budget_)) return;  // the harness bounds run time, not PTO-RT
    const std::int64_t saved_budget = iteration_budget_;
    iteration_budget_ = trips == 0 ? iteration_budget_ : iteration_budget_ / static_cast<std::int64_t>(trips);
    const tl::Value init = any_tile();
    const std::size_t tiles = tiles_.size(), ints = ints_.size(), floats = float_scalars_.size();
    // Comparable mode: a float carried value may become inexact in any iteration, so the
    // body treats it as inexact; an integer one stays exact (an inexact partner is not
    // added to it, below).
    bool carried_inexact = inexact(init) || (comparable() && is_float(init.dtype()));
    ++depth_;
    auto [result] = tl::for_range(start, end, step, {init}, [&](tl::Scalar j, tl::Value carried) {
      ints_.push_back({j, std::nullopt});
      push(carried, carried_inexact);
      const int steps = 1 + pick(4);
      for (int s = 0; s < steps && data_.remaining_bytes() > 0; ++s) emit_step();
      const tl::Value partner = partner_of(carried);
      const bool next_inexact = carried_inexact || inexact(partner);
      if (is_integer(carried.dtype()) && comparable() && next_inexact) return tl::carry(carried);
      tl::Value next = carried + partner;
      if (next.dtype() != carried.dtype()) next = tl::cast(next, carried.dtype());
      carried_inexact = next_inexact;
      return tl::carry(next);
    });
    --depth_;
    // Values of the body do not exist after it.
    tiles_.resize(tiles);
    ints_.resize(ints);
    float_scalars_.resize(floats);
    iteration_budget_ = saved_budget;
    push(result, carried_inexact);
  }

  void emit_store() {
    const GlobalParam& g = outputs_[static_cast<std::size_t>(pick(static_cast<int>(outputs_.size())))];
    const tl::Value v = pick(8) != 0 ? storable(any_tile(), g.dtype) : any_tile();
    if (pick(2)) {
      tl::store(g.handle, index(), index(), v);
    } else {
      tl::store(g.handle, index(), index(), v, index(), index());
    }
  }

  void store_out_tile() {
    for (const tl::Value& t : tiles_) {
      if (t.rows() == out_tile_spec_.rows && t.cols() == out_tile_spec_.cols &&
          (is_float(out_tile_spec_.dtype) || discontinuity_allowed(t))) {
        tl::store(*out_tile_, storable(t, out_tile_spec_.dtype));
        out_tile_stored_ = out_tile_stored_ || depth_ == 0;  // a loop may run no iteration
        return;
      }
    }
    tl::store(*out_tile_, tl::full(out_tile_spec_.rows, out_tile_spec_.cols, out_tile_spec_.dtype,
                                   number_for(out_tile_spec_.dtype)));
    out_tile_stored_ = out_tile_stored_ || depth_ == 0;
  }
};

}  // namespace

double HostBuffer::get(std::int64_t row, std::int64_t col) const {
  const unsigned char* at = bytes.data() + (row * row_stride + col) * size_bytes(dtype);
  switch (dtype) {
    case DType::f16: {
      std::uint16_t bits;
      std::memcpy(&bits, at, 2);
      return f16_bits_to_f32(bits);
    }
    case DType::bf16: {
      std::uint16_t bits;
      std::memcpy(&bits, at, 2);
      return bf16_bits_to_f32(bits);
    }
    case DType::f32: {
      float value;
      std::memcpy(&value, at, 4);
      return value;
    }
    case DType::i32: {
      std::int32_t value;
      std::memcpy(&value, at, 4);
      return value;
    }
    case DType::i64: {
      std::int64_t value;
      std::memcpy(&value, at, 8);
      return static_cast<double>(value);
    }
  }
  return 0;
}

KernelArgs GeneratedKernel::args() {
  KernelArgs out;
  for (HostBuffer& tensor : tensors) out.set(tensor.name, tensor.view());
  for (const auto& [name, value] : integers) out.set(name, value);
  for (const auto& [name, value] : floats) out.set(name, value);
  return out;
}

std::optional<GeneratedKernel> generate_kernel(FuzzedDataProvider& data, ValueRange range, std::string& rejection) {
  std::optional<GeneratedKernel> out;
  try {
    out = Generator(data, range).run();
  } catch (const InternalError&) {
    throw;  // a PTO-RT bug: the target reports it
  } catch (const Error& error) {
    rejection = error.what();
  }
  return out;
}

}  // namespace pto::fuzz
