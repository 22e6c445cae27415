#include "dsl/interpreter.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.hpp"
#include "dsl/kernel_faults.hpp"
#include "dsl/op_formulas.hpp"
#include "dsl/op_table.hpp"
#include "dsl/visitor.hpp"

namespace pto {

namespace {

// One value: floats for float dtypes, integers for integer dtypes; scalars have one element.
struct Slot {
  std::vector<float> f;
  std::vector<std::int64_t> i;
};

// Two's complement arithmetic on int64 (through uint64, where overflow is defined); `wrap`
// then narrows to the dtype.
std::int64_t wrapping_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
std::int64_t wrapping_sub(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
std::int64_t wrapping_mul(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}

std::int64_t wrap(DType dtype, std::int64_t value) {
  if (dtype == DType::i32)
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(value)));
  return value;
}

// Truncate toward zero, saturate at the dtype's range, NaN -> 0 (llvm.fptosi.sat, PTX cvt.rzi).
std::int64_t saturate_to_int(DType dtype, float value) {
  if (std::isnan(value)) return 0;
  const double x = std::trunc(static_cast<double>(value));
  if (dtype == DType::i32) {
    return static_cast<std::int64_t>(std::clamp(x, double(std::numeric_limits<std::int32_t>::min()),
                                                double(std::numeric_limits<std::int32_t>::max())));
  }
  // 2^63 is a double but not an int64: every float from it on saturates to INT64_MAX (the
  // clamp used to stop at the double below, 2^63 - 1024). -2^63 is INT64_MIN exactly.
  if (x >= 0x1p63) return std::numeric_limits<std::int64_t>::max();
  if (x < -0x1p63) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(x);
}

float read_element(const TensorView& tensor, std::int64_t r, std::int64_t c, std::int64_t* as_int) {
  const std::int64_t offset = r * tensor.stride() + c;
  const char* base = static_cast<const char*>(tensor.data);
  switch (tensor.dtype) {
    case DType::f16: {
      std::uint16_t bits;
      std::memcpy(&bits, base + offset * 2, 2);
      return f16_bits_to_f32(bits);
    }
    case DType::bf16: {
      std::uint16_t bits;
      std::memcpy(&bits, base + offset * 2, 2);
      return bf16_bits_to_f32(bits);
    }
    case DType::f32: {
      float x;
      std::memcpy(&x, base + offset * 4, 4);
      return x;
    }
    case DType::i32: {
      std::int32_t x;
      std::memcpy(&x, base + offset * 4, 4);
      *as_int = x;
      return 0;
    }
    case DType::i64: std::memcpy(as_int, base + offset * 8, 8); return 0;
  }
  return 0;
}

void write_element(const TensorView& tensor, std::int64_t r, std::int64_t c, float f, std::int64_t i) {
  const std::int64_t offset = r * tensor.stride() + c;
  char* base = static_cast<char*>(tensor.data);
  switch (tensor.dtype) {
    case DType::f16: {
      const std::uint16_t bits = f32_to_f16_bits(f);
      std::memcpy(base + offset * 2, &bits, 2);
      return;
    }
    case DType::bf16: {
      const std::uint16_t bits = f32_to_bf16_bits(f);
      std::memcpy(base + offset * 2, &bits, 2);
      return;
    }
    case DType::f32: std::memcpy(base + offset * 4, &f, 4); return;
    case DType::i32: {
      const auto x = static_cast<std::int32_t>(i);
      std::memcpy(base + offset * 4, &x, 4);
      return;
    }
    case DType::i64: std::memcpy(base + offset * 8, &i, 8); return;
  }
}

// The interpreter's arithmetic for dsl/op_formulas.hpp: f32, in the written order.
struct FloatMath {
  using Value = float;
  static float constant(double x) { return static_cast<float>(x); }
  static float add(float a, float b) { return a + b; }
  static float sub(float a, float b) { return a - b; }
  static float mul(float a, float b) { return a * b; }
  static float div(float a, float b) { return a / b; }
  static float neg(float a) { return -a; }
  static float exp(float a) { return std::exp(a); }
  static float sqrt(float a) { return std::sqrt(a); }
  static float erf(float a) { return std::erf(a); }
};

float unary(ir::UnaryOp op, float x) {
  FloatMath m;
  switch (op) {
    case ir::UnaryOp::exp: return std::exp(x);
    case ir::UnaryOp::log: return std::log(x);
    case ir::UnaryOp::sqrt: return std::sqrt(x);
    case ir::UnaryOp::rsqrt: return ir::formulas::rsqrt(m, x);
    case ir::UnaryOp::tanh: return std::tanh(x);
    case ir::UnaryOp::sigmoid: return ir::formulas::sigmoid(m, x);
    case ir::UnaryOp::relu: return x > 0.0f ? x : 0.0f;
    case ir::UnaryOp::gelu: return ir::formulas::gelu(m, x);
    case ir::UnaryOp::silu: return ir::formulas::silu(m, x);
    case ir::UnaryOp::neg: return -x;
    case ir::UnaryOp::abs: return std::fabs(x);
    case ir::UnaryOp::sin: return std::sin(x);
    case ir::UnaryOp::cos: return std::cos(x);
  }
  throw InternalError("unary op out of range");
}

// Integer unary ops wrap (two's complement); the others take floats only (the verifier
// rejects them on integers).
std::int64_t unary(ir::UnaryOp op, std::int64_t x) {
  switch (op) {
    case ir::UnaryOp::neg: return wrapping_sub(0, x);
    case ir::UnaryOp::abs: return x < 0 ? wrapping_sub(0, x) : x;
    case ir::UnaryOp::relu: return x > 0 ? x : 0;
    case ir::UnaryOp::exp:
    case ir::UnaryOp::log:
    case ir::UnaryOp::sqrt:
    case ir::UnaryOp::rsqrt:
    case ir::UnaryOp::tanh:
    case ir::UnaryOp::sigmoid:
    case ir::UnaryOp::gelu:
    case ir::UnaryOp::silu:
    case ir::UnaryOp::sin:
    case ir::UnaryOp::cos: break;
  }
  throw InternalError(fmt::format("{} of an integer reached the interpreter", ir::name(ir::op_of(op))));
}

// A reduction's starting value (dsl/op_table.hpp's identity).
float float_identity(ir::ReduceIdentity identity) {
  switch (identity) {
    case ir::ReduceIdentity::zero: return 0.0f;
    case ir::ReduceIdentity::lowest: return -INFINITY;
    case ir::ReduceIdentity::highest: return INFINITY;
  }
  throw InternalError("reduce identity out of range");
}
std::int64_t integer_identity(ir::ReduceIdentity identity) {
  switch (identity) {
    case ir::ReduceIdentity::zero: return 0;
    case ir::ReduceIdentity::lowest: return std::numeric_limits<std::int64_t>::min();
    case ir::ReduceIdentity::highest: return std::numeric_limits<std::int64_t>::max();
  }
  throw InternalError("reduce identity out of range");
}

float binary(ir::BinaryOp op, float a, float b) {
  switch (op) {
    case ir::BinaryOp::add: return a + b;
    case ir::BinaryOp::sub: return a - b;
    case ir::BinaryOp::mul: return a * b;
    case ir::BinaryOp::div: return a / b;
    case ir::BinaryOp::maximum: return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
    case ir::BinaryOp::minimum: return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b);
  }
  throw InternalError("binary op out of range");
}

template <typename T>
std::int64_t compare(ir::CompareOp op, T a, T b) {
  switch (op) {
    case ir::CompareOp::lt: return a < b;
    case ir::CompareOp::le: return a <= b;
    case ir::CompareOp::gt: return a > b;
    case ir::CompareOp::ge: return a >= b;
    case ir::CompareOp::eq: return a == b;
    case ir::CompareOp::ne: return a != b;
  }
  throw InternalError("compare op out of range");
}

class Interpreter : public ir::NodeVisitor<Interpreter> {
  friend class ir::NodeVisitor<Interpreter>;

 public:
  Interpreter(const ir::Kernel& kernel, const Bindings& bindings)
      : kernel_(kernel), slots_(kernel.values.size()), bindings_(bindings) {}

  void run() { block(kernel_.body); }

 private:
  const ir::Type& type(ir::ValueId id) const { return kernel_.type_of(id); }
  Slot& slot(ir::ValueId id) { return slots_[static_cast<std::size_t>(id)]; }
  const TensorView& tensor(int param) const { return std::get<TensorView>(bindings_[static_cast<std::size_t>(param)]); }

  std::int64_t index(ir::ValueId id) { return slot(id).i.at(0); }

  // Element (r, c) of a value, broadcasting scalars and extent-1 dimensions.
  static std::size_t at(const ir::Type& t, std::int64_t r, std::int64_t c) {
    if (t.is_scalar()) return 0;
    return static_cast<std::size_t>((t.rows == 1 ? 0 : r) * t.cols + (t.cols == 1 ? 0 : c));
  }

  Slot make(const ir::Type& t) {
    Slot s;
    if (is_float(t.dtype)) {
      s.f.assign(static_cast<std::size_t>(t.elements()), 0.0f);
    } else {
      s.i.assign(static_cast<std::size_t>(t.elements()), 0);
    }
    return s;
  }

  void block(const ir::Block& body) {
    for (const ir::Node& node : body.nodes) {
      if (node.op == ir::Op::yield) return;
      visit(node);
    }
  }

  void visit_param(const ir::Node& node) {
    const ir::Param& p = kernel_.params[static_cast<std::size_t>(node.param)];
    const Binding& binding = bindings_[static_cast<std::size_t>(node.param)];
    Slot& s = slot(p.value);
    if (p.type.is_scalar()) {
      s = make(p.type);
      if (is_float(p.type.dtype)) {
        s.f[0] = std::holds_alternative<double>(binding) ? static_cast<float>(std::get<double>(binding))
                                                         : static_cast<float>(std::get<std::int64_t>(binding));
      } else {
        s.i[0] = wrap(p.type.dtype, std::get<std::int64_t>(binding));
      }
    } else if (p.type.is_tile() && p.role != ir::ParamRole::out) {
      s = read_tile(tensor(node.param), p.type);
    }
  }

  Slot read_tile(const TensorView& t, const ir::Type& type) {
    Slot s = make(type);
    for (std::int64_t r = 0; r < type.rows; ++r) {
      for (std::int64_t c = 0; c < type.cols; ++c) {
        std::int64_t integer = 0;
        const float x = read_element(t, r, c, &integer);
        const std::size_t k = static_cast<std::size_t>(r * type.cols + c);
        if (is_float(type.dtype)) {
          s.f[k] = x;
        } else {
          s.i[k] = integer;
        }
      }
    }
    return s;
  }

  void visit_constant(const ir::Node& node) {
    const ir::Type& t = type(node.results[0]);
    const bool iota = ir::as_constant(node.op) == ir::ConstantOp::iota;
    Slot s = make(t);
    for (std::int64_t r = 0; r < t.rows; ++r) {
      for (std::int64_t c = 0; c < t.cols; ++c) {
        const double x = iota ? double(node.axis == 0 ? r : c) : node.number;
        const std::size_t k = static_cast<std::size_t>(r * t.cols + c);
        if (is_float(t.dtype)) {
          s.f[k] = round_to(t.dtype, static_cast<float>(x));
        } else {
          s.i[k] = wrap(t.dtype, static_cast<std::int64_t>(x));
        }
      }
    }
    slot(node.results[0]) = std::move(s);
  }

  void check_in_bounds(const ir::Node& node, const TensorView& t, std::int64_t row, std::int64_t col, std::int64_t vr,
                       std::int64_t vc) const {
    if (region_outside(row, col, vr, vc, t.rows, t.cols)) {
      throw out_of_bounds_error(kernel_, node, t.rows, t.cols, row, col, vr, vc);
    }
  }

  void visit_load(const ir::Node& node) {
    const ir::Type& t = type(node.results[0]);
    const TensorView& src = tensor(node.param);
    const std::int64_t row = index(node.operands[1]);
    const std::int64_t col = index(node.operands[2]);
    const std::int64_t vr = std::clamp<std::int64_t>(index(node.operands[3]), 0, t.rows);
    const std::int64_t vc = std::clamp<std::int64_t>(index(node.operands[4]), 0, t.cols);
    check_in_bounds(node, src, row, col, vr, vc);
    fill_loaded(node, src, col, vr, vc, [row](std::int64_t r) { return row + r; });
  }

  // Tile row r < vr is the global's row index[r / group] * group + r % group. Every valid
  // row is checked, in order, before any is read: the first one outside is the fault (the
  // backends report the same row).
  void visit_load_rows(const ir::Node& node) {
    const ir::Type& t = type(node.results[0]);
    const TensorView& src = tensor(node.param);
    const std::vector<std::int64_t>& entries = slot(node.operands[1]).i;  // i32 values: no product overflows
    const std::int64_t group = node.step;
    const std::int64_t col = index(node.operands[2]);
    const std::int64_t vr = std::clamp<std::int64_t>(index(node.operands[3]), 0, t.rows);
    const std::int64_t vc = std::clamp<std::int64_t>(index(node.operands[4]), 0, t.cols);
    const auto gathered = [&](std::int64_t r) {
      return entries[static_cast<std::size_t>(r / group)] * group + r % group;
    };
    if (vc > 0) {
      for (std::int64_t r = 0; r < vr; ++r) check_in_bounds(node, src, gathered(r), col, 1, vc);
    }
    fill_loaded(node, src, col, vr, vc, gathered);
  }

  // The loaded tile: element (r, c) of the valid region is source_row(r), col + c of `src`,
  // the rest the pad.
  template <typename SourceRow>
  void fill_loaded(const ir::Node& node, const TensorView& src, std::int64_t col, std::int64_t vr, std::int64_t vc,
                   const SourceRow& source_row) {
    const ir::Type& t = type(node.results[0]);
    Slot s = make(t);
    // The pad is a value of the tile's dtype (the verifier's check_number): converting it is defined.
    const std::int64_t integer_pad = is_integer(t.dtype) ? static_cast<std::int64_t>(node.number) : 0;
    const float float_pad = is_float(t.dtype) ? round_to(t.dtype, static_cast<float>(node.number)) : 0.0f;
    for (std::int64_t r = 0; r < t.rows; ++r) {
      for (std::int64_t c = 0; c < t.cols; ++c) {
        const std::size_t k = static_cast<std::size_t>(r * t.cols + c);
        const bool valid = r < vr && c < vc;
        std::int64_t integer = integer_pad;
        const float x = valid ? read_element(src, source_row(r), col + c, &integer) : float_pad;
        if (is_float(t.dtype)) {
          s.f[k] = x;
        } else {
          s.i[k] = integer;
        }
      }
    }
    slot(node.results[0]) = std::move(s);
  }

  void visit_load_scalar(const ir::Node& node) {
    const ir::Type& t = type(node.results[0]);
    const TensorView& src = tensor(node.param);
    const std::int64_t row = index(node.operands[1]);
    const std::int64_t col = index(node.operands[2]);
    check_in_bounds(node, src, row, col, 1, 1);
    Slot s = make(t);
    std::int64_t integer = 0;
    const float x = read_element(src, row, col, &integer);
    if (is_float(t.dtype)) {
      s.f[0] = x;
    } else {
      s.i[0] = wrap(t.dtype, integer);
    }
    slot(node.results[0]) = std::move(s);
  }

  void visit_store(const ir::Node& node) {
    const ir::Param& p = kernel_.params[static_cast<std::size_t>(node.param)];
    const ir::Type& vt = type(node.operands[1]);
    const Slot& v = slot(node.operands[1]);
    const TensorView& dst = tensor(node.param);
    std::int64_t row = 0, col = 0, vr = vt.rows, vc = vt.cols;
    if (p.type.is_global()) {
      row = index(node.operands[2]);
      col = index(node.operands[3]);
      vr = std::clamp<std::int64_t>(index(node.operands[4]), 0, vt.rows);
      vc = std::clamp<std::int64_t>(index(node.operands[5]), 0, vt.cols);
      check_in_bounds(node, dst, row, col, vr, vc);
    }
    for (std::int64_t r = 0; r < vr; ++r) {
      for (std::int64_t c = 0; c < vc; ++c) {
        const std::size_t k = static_cast<std::size_t>(r * vt.cols + c);
        write_element(dst, row + r, col + c, is_float(vt.dtype) ? v.f[k] : 0.0f, is_float(vt.dtype) ? 0 : v.i[k]);
      }
    }
  }

  void visit_read_output(const ir::Node& node) {
    slot(node.results[0]) = read_tile(tensor(node.param), type(node.results[0]));
  }

  void visit_elementwise(const ir::Node& node) {
    const ir::Type& t = type(node.results[0]);
    std::vector<const ir::Type*> in_types;
    std::vector<const Slot*> in;
    for (ir::ValueId id : node.operands) {
      in_types.push_back(&type(id));
      in.push_back(&slot(id));
    }
    Slot s = make(t);
    const ElementOp op = element_op(node.op);
    std::array<std::size_t, 3> idx{};  // elementwise ops take at most 3 operands (where)
    for (std::int64_t r = 0; r < t.rows; ++r) {
      for (std::int64_t c = 0; c < t.cols; ++c) {
        const std::size_t k = static_cast<std::size_t>(r * t.cols + c);
        for (std::size_t n = 0; n < in_types.size(); ++n) idx[n] = at(*in_types[n], r, c);
        element(node, op, t, in_types, in, idx, s, k);
      }
    }
    slot(node.results[0]) = std::move(s);
  }

  // An elementwise node's op, resolved once per node rather than per element.
  struct ElementOp {
    ir::OpCategory category = ir::OpCategory::binary;
    ir::UnaryOp unary{};
    ir::BinaryOp binary{};
    ir::CompareOp compare{};
  };
  static ElementOp element_op(ir::Op op) {
    ElementOp out;
    out.category = ir::category(op);
    if (out.category == ir::OpCategory::unary) out.unary = ir::as_unary(op);
    if (out.category == ir::OpCategory::binary) out.binary = ir::as_binary(op);
    if (out.category == ir::OpCategory::compare) out.compare = ir::as_compare(op);
    return out;
  }

  void element(const ir::Node& node, const ElementOp& op, const ir::Type& t, const std::vector<const ir::Type*>& types,
               const std::vector<const Slot*>& in, const std::array<std::size_t, 3>& idx, Slot& out, std::size_t k) {
    auto fval = [&](std::size_t n) { return in[n]->f[idx[n]]; };
    auto ival = [&](std::size_t n) { return in[n]->i[idx[n]]; };
    const ir::OpCategory cat = op.category;
    if (cat == ir::OpCategory::select) {
      const bool condition = ival(0) != 0;
      if (is_float(t.dtype)) {
        out.f[k] = condition ? fval(1) : fval(2);
      } else {
        out.i[k] = wrap(t.dtype, condition ? ival(1) : ival(2));
      }
      return;
    }
    if (cat == ir::OpCategory::cast) {
      const DType from = types[0]->dtype;
      if (is_float(t.dtype)) {
        out.f[k] = round_to(t.dtype, is_float(from) ? fval(0) : static_cast<float>(ival(0)));
      } else {
        out.i[k] = is_float(from) ? saturate_to_int(t.dtype, fval(0)) : wrap(t.dtype, ival(0));
      }
      return;
    }
    if (cat == ir::OpCategory::unary) {
      if (is_float(t.dtype)) {
        out.f[k] = unary(op.unary, fval(0));
      } else {
        out.i[k] = wrap(t.dtype, unary(op.unary, ival(0)));
      }
      return;
    }
    const bool float_operands = is_float(types[0]->dtype);
    if (cat == ir::OpCategory::compare) {
      out.i[k] = float_operands ? compare(op.compare, fval(0), fval(1)) : compare(op.compare, ival(0), ival(1));
      return;
    }
    if (float_operands) {
      out.f[k] = binary(op.binary, fval(0), fval(1));
      return;
    }
    const std::int64_t a = ival(0), b = ival(1);
    std::int64_t result = 0;
    switch (op.binary) {
      case ir::BinaryOp::add: result = wrapping_add(a, b); break;
      case ir::BinaryOp::sub: result = wrapping_sub(a, b); break;
      case ir::BinaryOp::mul: result = wrapping_mul(a, b); break;
      case ir::BinaryOp::div:
        if (b == 0) throw division_by_zero_error(kernel_, node);
        result = (a == std::numeric_limits<std::int64_t>::min() && b == -1) ? a : a / b;
        break;
      case ir::BinaryOp::maximum: result = std::max(a, b); break;
      case ir::BinaryOp::minimum: result = std::min(a, b); break;
    }
    out.i[k] = wrap(t.dtype, result);
  }

  void visit_reduce(const ir::Node& node) {
    const ir::Type& in_type = type(node.operands[0]);
    const ir::Type& t = type(node.results[0]);
    const Slot& x = slot(node.operands[0]);
    const ir::ReduceInfo reduction = ir::reduce_info(ir::as_reduce(node.op));
    const bool by_row = reduction.axis == ir::ReduceAxis::rows;
    const std::int64_t outer = by_row ? in_type.rows : in_type.cols;
    const std::int64_t inner = by_row ? in_type.cols : in_type.rows;
    const bool is_max = reduction.kind == ir::ReduceKind::max;
    const bool is_min = reduction.kind == ir::ReduceKind::min;
    const bool is_mean = reduction.kind == ir::ReduceKind::mean;
    Slot s = make(t);
    for (std::int64_t o = 0; o < outer; ++o) {
      auto element_index = [&](std::int64_t n) {
        return static_cast<std::size_t>(by_row ? o * in_type.cols + n : n * in_type.cols + o);
      };
      if (is_float(in_type.dtype)) {
        float acc = float_identity(ir::identity(reduction.kind));
        for (std::int64_t n = 0; n < inner; ++n) {
          const float v = x.f[element_index(n)];
          acc = is_max   ? (std::isnan(v) || std::isnan(acc) ? NAN : std::max(acc, v))
                : is_min ? (std::isnan(v) || std::isnan(acc) ? NAN : std::min(acc, v))
                         : acc + v;
        }
        s.f[static_cast<std::size_t>(o)] = is_mean ? acc / static_cast<float>(inner) : acc;
      } else {
        std::int64_t acc = integer_identity(ir::identity(reduction.kind));
        for (std::int64_t n = 0; n < inner; ++n) {
          const std::int64_t v = x.i[element_index(n)];
          acc = is_max ? std::max(acc, v) : is_min ? std::min(acc, v) : wrap(t.dtype, wrapping_add(acc, v));
        }
        s.i[static_cast<std::size_t>(o)] = acc;
      }
    }
    slot(node.results[0]) = std::move(s);
  }

  void visit_matmul(const ir::Node& node) {
    const ir::Type& at_ = type(node.operands[0]);
    const ir::Type& bt = type(node.operands[1]);
    const Slot& a = slot(node.operands[0]);
    const Slot& b = slot(node.operands[1]);
    const ir::Type& t = type(node.results[0]);
    Slot s = make(t);
    for (std::int64_t m = 0; m < t.rows; ++m) {
      for (std::int64_t n = 0; n < t.cols; ++n) {
        float acc =
            node.operands.size() == 3 ? slot(node.operands[2]).f[static_cast<std::size_t>(m * t.cols + n)] : 0.0f;
        for (std::int64_t k = 0; k < at_.cols; ++k) {
          acc += a.f[static_cast<std::size_t>(m * at_.cols + k)] * b.f[static_cast<std::size_t>(k * bt.cols + n)];
        }
        s.f[static_cast<std::size_t>(m * t.cols + n)] = acc;
      }
    }
    slot(node.results[0]) = std::move(s);
  }

  void visit_shape(const ir::Node& node) {
    const ir::Type& in_type = type(node.operands[0]);
    const ir::Type& t = type(node.results[0]);
    const Slot& x = slot(node.operands[0]);
    Slot s = make(t);
    for (std::int64_t r = 0; r < t.rows; ++r) {
      for (std::int64_t c = 0; c < t.cols; ++c) {
        const auto to = static_cast<std::size_t>(r * t.cols + c);
        const auto from = static_cast<std::size_t>(c * in_type.cols + r);
        if (is_float(t.dtype)) {
          s.f[to] = x.f[from];
        } else {
          s.i[to] = x.i[from];
        }
      }
    }
    slot(node.results[0]) = std::move(s);
  }

  void visit_for_range(const ir::Node& node) {
    const ir::Block& body = *node.body;
    const std::size_t carried = node.results.size();
    for (std::size_t i = 0; i < carried; ++i) slot(body.arguments[i + 1]) = slot(node.operands[i + 2]);
    const std::int64_t end = index(node.operands[1]);
    const ir::Type& index_type = type(body.arguments[0]);
    const auto step = static_cast<std::uint64_t>(node.step);
    for (std::int64_t j = index(node.operands[0]); j < end;) {
      slot(body.arguments[0]) = Slot{{}, {wrap(index_type.dtype, j)}};
      block(body);
      const ir::Node& yield = body.nodes.back();
      std::vector<Slot> next;
      for (ir::ValueId id : yield.operands) next.push_back(slot(id));
      for (std::size_t i = 0; i < carried; ++i) slot(body.arguments[i + 1]) = std::move(next[i]);
      // The next index, if it is below `end`; j + step itself may not fit an int64 (end - j,
      // as unsigned, is exact because j < end).
      if (static_cast<std::uint64_t>(end) - static_cast<std::uint64_t>(j) <= step) break;
      j += node.step;
    }
    for (std::size_t i = 0; i < carried; ++i) slot(node.results[i]) = slot(body.arguments[i + 1]);
  }

  void visit_yield(const ir::Node&) {}  // read by the enclosing loop

  const ir::Kernel& kernel_;
  std::vector<Slot> slots_;
  const Bindings& bindings_;
};

}  // namespace

void interpret(const ir::Kernel& kernel, const KernelArgs& args) {
  const Bindings bindings = args.positional(kernel);
  Interpreter(kernel, bindings).run();
}

void interpret_bound(const ir::Kernel& kernel, const Bindings& bindings) {
  Interpreter(kernel, bindings).run();
}

}  // namespace pto
