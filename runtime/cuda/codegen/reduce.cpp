// Reductions: a warp per row (shuffles), or a thread per row or column.
#include "runtime/cuda/codegen/generator.hpp"

namespace pto::cuda::codegen {

void Generator::visit_reduce(const ir::Node& node) {
  comment(node);
  const ir::ValueId id = node.results[0];
  const ir::ValueId input = node.operands[0];
  const ir::Type& in_type = kernel_.type_of(input);
  const ir::Type& type = kernel_.type_of(id);
  const ir::ReduceInfo reduction = ir::reduce_info(ir::as_reduce(node.op));
  const bool by_row = reduction.axis == ir::ReduceAxis::rows;
  const bool is_max = reduction.kind == ir::ReduceKind::max;
  const bool is_min = reduction.kind == ir::ReduceKind::min;
  const bool is_mean = reduction.kind == ir::ReduceKind::mean;
  const DType dtype = type.dtype;
  const char* ctype = compute_type(dtype);
  const std::string init = identity(ir::identity(reduction.kind), dtype);
  auto combine = [&](const std::string& a, const std::string& b) {
    if (is_max)
      return is_float(dtype) ? fmt::format("pto::max_nan({}, {})", a, b) : fmt::format("pto::max_int({}, {})", a, b);
    if (is_min)
      return is_float(dtype) ? fmt::format("pto::min_nan({}, {})", a, b) : fmt::format("pto::min_int({}, {})", a, b);
    return is_float(dtype) ? fmt::format("{} + {}", a, b) : fmt::format("pto::add_wrap({}, {})", a, b);
  };
  const char* warp_op = is_max ? "pto::warp_max" : is_min ? "pto::warp_min" : "pto::warp_sum";
  line("{{");
  indent_ += 2;
  const std::int64_t outer = by_row ? in_type.rows : in_type.cols;
  const std::int64_t inner = by_row ? in_type.cols : in_type.rows;
  const std::string result_index = by_row ? fmt::format("o * {}", slot(id).stride) : "o";
  auto finish = [&](const std::string& acc) {
    const std::string value = is_mean ? fmt::format("{} / {}.0f", acc, inner) : acc;
    return narrow(dtype, value);
  };
  if (by_row && inner >= 32) {
    // A warp per row: lanes stride over the columns, then shuffle.
    line("const int warp = tid / 32, lane = tid % 32;");
    line("for (int o = warp; o < {}; o += {}) {{", outer, threads_per_cta / 32);
    indent_ += 2;
    line("{} acc = {};", ctype, init);
    line("for (int n = lane; n < {}; n += 32) acc = {};", inner, combine("acc", element(input, "o", "n")));
    line("acc = {}(acc);", warp_op);
    line("if (lane == 0) {}[{}] = {};", tile_pointer(id), result_index, finish("acc"));
    indent_ -= 2;
    line("}}");
  } else {
    // A thread per row (narrow rows) or per column, summing in order.
    line("for (int o = tid; o < {}; o += {}) {{", outer, threads_per_cta);
    indent_ += 2;
    line("{} acc = {};", ctype, init);
    const std::string at = by_row ? element(input, "o", "n") : element(input, "n", "o");
    line("for (int n = 0; n < {}; ++n) acc = {};", inner, combine("acc", at));
    line("{}[{}] = {};", tile_pointer(id), result_index, finish("acc"));
    indent_ -= 2;
    line("}}");
  }
  barrier();
  indent_ -= 2;
  line("}}");
}

std::string Generator::identity(ir::ReduceIdentity identity, DType dtype) {
  switch (identity) {
    case ir::ReduceIdentity::zero: return fmt::format("({})0", compute_type(dtype));
    case ir::ReduceIdentity::lowest:
      return is_float(dtype)       ? "__int_as_float(0xff800000)"
             : dtype == DType::i32 ? "(-2147483647 - 1)"
                                   : "(-9223372036854775807LL - 1)";
    case ir::ReduceIdentity::highest:
      return is_float(dtype)       ? "__int_as_float(0x7f800000)"
             : dtype == DType::i32 ? "2147483647"
                                   : "9223372036854775807LL";
  }
  throw InternalError("CUDA codegen: reduce identity out of range");
}

}  // namespace pto::cuda::codegen
