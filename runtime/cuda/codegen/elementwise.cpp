// Element expressions: a value's element (r, c) in place, and the op -> CUDA expression
// mapping of elementwise ops.
#include "runtime/cuda/codegen/generator.hpp"

namespace pto::cuda::codegen {

std::string Generator::element(ir::ValueId id, const std::string& r, const std::string& c) const {
  const ir::Type& type = kernel_.type_of(id);
  if (type.is_scalar()) return var(id);
  const std::string row = type.rows == 1 ? "0" : r;
  const std::string col = type.cols == 1 ? "0" : c;
  if (slot(id).offset >= 0) {
    return widen(type.dtype, fmt::format("{}[({}) * {} + ({})]", tile_pointer(id), row, slot(id).stride, col));
  }
  const ir::Node& node = definition(id);
  switch (node.op) {
    case ir::Op::full: return literal(type.dtype, node.number);
    case ir::Op::iota: return fmt::format("(({})({}))", compute_type(type.dtype), node.axis == 0 ? row : col);
    case ir::Op::trans: return element(node.operands[0], col, row);
    default: break;
  }
  if (!ir::is_elementwise(node.op)) {
    throw InternalError(fmt::format("CUDA codegen: value %{} of kernel '{}' has no storage", id, kernel_.name));
  }
  return apply(node, row, col);
}

std::string Generator::apply(const ir::Node& node, const std::string& r, const std::string& c) const {
  std::vector<std::string> in;
  for (ir::ValueId operand : node.operands) in.push_back(element(operand, r, c));
  const DType out = kernel_.type_of(node.results[0]).dtype;
  const DType from = kernel_.type_of(node.operands[0]).dtype;
  switch (ir::category(node.op)) {
    case ir::OpCategory::binary: return binary(ir::as_binary(node.op), in[0], in[1], is_float(from), out);
    case ir::OpCategory::compare: return compare(ir::as_compare(node.op), in[0], in[1]);
    case ir::OpCategory::select: return fmt::format("(({}) != 0 ? ({}) : ({}))", in[0], in[1], in[2]);
    case ir::OpCategory::cast: return cast(in[0], from, out);
    case ir::OpCategory::unary: return unary(ir::as_unary(node.op), in[0], is_float(from), out);
    case ir::OpCategory::param:
    case ir::OpCategory::constant:
    case ir::OpCategory::memory:
    case ir::OpCategory::reduce:
    case ir::OpCategory::matmul:
    case ir::OpCategory::shape:
    case ir::OpCategory::control: break;
  }
  throw InternalError(fmt::format("CUDA codegen: op {} is not elementwise", ir::name(node.op)));
}

std::string Generator::binary(ir::BinaryOp op, const std::string& a_value, const std::string& b_value, bool f,
                              DType out) {
  // Integer operands in the result's type: an i64 scalar with an i32 one matched two
  // overloads of the wrapping helpers (and no max_int<T>).
  const std::string a = f ? a_value : fmt::format("({})({})", compute_type(out), a_value);
  const std::string b = f ? b_value : fmt::format("({})({})", compute_type(out), b_value);
  switch (op) {
    case ir::BinaryOp::add: return f ? fmt::format("({} + {})", a, b) : fmt::format("pto::add_wrap({}, {})", a, b);
    case ir::BinaryOp::sub: return f ? fmt::format("({} - {})", a, b) : fmt::format("pto::sub_wrap({}, {})", a, b);
    case ir::BinaryOp::mul: return f ? fmt::format("({} * {})", a, b) : fmt::format("pto::mul_wrap({}, {})", a, b);
    case ir::BinaryOp::div:
      return f ? fmt::format("({} / {})", a, b)
               : fmt::format("pto::div_checked<{}>({}, {}, zero)", compute_type(out), a, b);
    case ir::BinaryOp::maximum:
      return f ? fmt::format("pto::max_nan({}, {})", a, b) : fmt::format("pto::max_int({}, {})", a, b);
    case ir::BinaryOp::minimum:
      return f ? fmt::format("pto::min_nan({}, {})", a, b) : fmt::format("pto::min_int({}, {})", a, b);
  }
  throw InternalError("CUDA codegen: binary op out of range");
}

std::string Generator::compare(ir::CompareOp op, const std::string& a, const std::string& b) {
  switch (op) {
    case ir::CompareOp::lt: return fmt::format("(int)({} < {})", a, b);
    case ir::CompareOp::le: return fmt::format("(int)({} <= {})", a, b);
    case ir::CompareOp::gt: return fmt::format("(int)({} > {})", a, b);
    case ir::CompareOp::ge: return fmt::format("(int)({} >= {})", a, b);
    case ir::CompareOp::eq: return fmt::format("(int)({} == {})", a, b);
    case ir::CompareOp::ne: return fmt::format("(int)({} != {})", a, b);
  }
  throw InternalError("CUDA codegen: compare op out of range");
}

std::string Generator::unary(ir::UnaryOp op, const std::string& x, bool f, DType out) {
  CudaMath m;
  switch (op) {
    case ir::UnaryOp::exp: return fmt::format("expf({})", x);
    case ir::UnaryOp::log: return fmt::format("logf({})", x);
    case ir::UnaryOp::sqrt: return fmt::format("sqrtf({})", x);
    case ir::UnaryOp::rsqrt: return ir::formulas::rsqrt(m, x);
    case ir::UnaryOp::tanh: return fmt::format("tanhf({})", x);
    case ir::UnaryOp::sigmoid: return fmt::format("pto::sigmoid({})", x);
    case ir::UnaryOp::gelu: return fmt::format("pto::gelu({})", x);
    case ir::UnaryOp::silu: return fmt::format("pto::silu({})", x);
    case ir::UnaryOp::sin: return fmt::format("sinf({})", x);
    case ir::UnaryOp::cos: return fmt::format("cosf({})", x);
    case ir::UnaryOp::relu:
      return f ? fmt::format("pto::relu({})", x) : fmt::format("pto::max_int<{}>({}, 0)", compute_type(out), x);
    case ir::UnaryOp::neg:
      return f ? fmt::format("(-{})", x) : fmt::format("pto::sub_wrap(({})0, {})", compute_type(out), x);
    case ir::UnaryOp::abs:
      return f ? fmt::format("fabsf({})", x)
               : fmt::format("(({0}) < 0 ? pto::sub_wrap(({1})0, {0}) : ({0}))", x, compute_type(out));
  }
  throw InternalError("CUDA codegen: unary op out of range");
}

std::string Generator::cast(const std::string& value, DType from, DType to) {
  if (is_float(to)) {
    const std::string as_float = is_float(from) ? value : fmt::format("(float)({})", value);
    if (to == DType::f16) return fmt::format("pto::round_f16({})", as_float);
    if (to == DType::bf16) return fmt::format("pto::round_bf16({})", as_float);
    return as_float;
  }
  if (is_float(from)) return fmt::format("pto::to_{}({})", to == DType::i32 ? "i32" : "i64", value);
  return fmt::format("(({})({}))", compute_type(to), value);
}

void Generator::visit_elementwise(const ir::Node& node) {
  const ir::ValueId id = node.results[0];
  const ir::Type& type = kernel_.type_of(id);
  if (type.is_scalar()) {
    if (node.op == ir::Op::div && is_integer(type.dtype)) {
      line("if ({} == 0) {{", var(node.operands[1]));
      line("  if (tid == 0) pto::record_fault(fault, task, pto::fault_division_by_zero, {});", node_index(node));
      line("  return;");
      line("}}");
      // The divisor is known non-zero here; div_checked's flag lives in a lambda so that
      // several scalar divisions can share a scope.
      line("const {} {} = [&] {{ bool zero = false; return {}; }}();", compute_type(type.dtype), var(id),
           apply(node, "0", "0"));
      return;
    }
    line("const {} {} = {};", compute_type(type.dtype), var(id), apply(node, "0", "0"));
    return;
  }
  if (slot(id).offset < 0) return;  // fused into its consumer
  comment(node);
  line("{{");
  indent_ += 2;
  // Integer divisions are never fused (ir::KernelIndex): only the node itself can divide
  // by zero here, and its fault names it.
  const bool may_divide = node.op == ir::Op::div && is_integer(type.dtype);
  materialize(
      id, [&] { return apply(node, "r", "c"); }, node, may_divide);
  indent_ -= 2;
  line("}}");
}

}  // namespace pto::cuda::codegen
