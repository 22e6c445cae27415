// Memory ops: scalar and tile loads (16-byte copies where rows allow), stores.
#include "runtime/cuda/codegen/generator.hpp"

namespace pto::cuda::codegen {

void Generator::visit_load_scalar(const ir::Node& node) {
  comment(node);
  const ir::ValueId id = node.results[0];
  const DType dtype = kernel_.type_of(id).dtype;
  const std::string row = var(id) + "_row", col = var(id) + "_col";
  line("const long long {} = {}, {} = {};", row, index_value(node.operands[1]), col, index_value(node.operands[2]));
  line("if (pto::out_of_bounds({0}, {1}, 1, 1, args[{2}].rows, args[{2}].cols)) {{", row, col, node.param);
  line("  if (tid == 0) pto::record_fault(fault, task, pto::fault_load_out_of_bounds, {}, {}, {}, 1, 1);",
       node_index(node), row, col);
  line("  return;");
  line("}}");
  line("const {} {} = {};", compute_type(dtype), var(id), scalar_element(node, row, col));
}

std::string Generator::scalar_element(const ir::Node& node, const std::string& row, const std::string& col) const {
  const ir::Param& p = kernel_.params[static_cast<std::size_t>(node.param)];
  return widen(p.type.dtype, fmt::format("((const {}*)args[{}].data)[{} * args[{}].stride + {}]",
                                         storage_type(p.type.dtype), node.param, row, node.param, col));
}

void Generator::load_region(const ir::Node& node) {
  line("const long long row = {}, col = {};", index_value(node.operands[1]), index_value(node.operands[2]));
  valid_extents(node.operands[3], node.operands[4], kernel_.type_of(node.results[0]));
}

void Generator::valid_extents(ir::ValueId rows, ir::ValueId cols, const ir::Type& tile) {
  line("const long long vr = pto::clamp_extent({}, {}), vc = pto::clamp_extent({}, {});", index_value(rows), tile.rows,
       index_value(cols), tile.cols);
}

void Generator::checked_load_region(const ir::Node& node) {
  load_region(node);
  line("if (pto::out_of_bounds(row, col, vr, vc, args[{0}].rows, args[{0}].cols)) {{", node.param);
  line("  if (tid == 0) pto::record_fault(fault, task, pto::fault_load_out_of_bounds, {}, row, col, vr, vc);",
       node_index(node));
  line("  return;");
  line("}}");
}

void Generator::load_source(const ir::Node& node) {
  const char* stored_as = storage_type(kernel_.type_of(node.results[0]).dtype);
  line("const {}* __restrict__ source = (const {}*)args[{}].data;", stored_as, stored_as, node.param);
  line("const long long stride = args[{}].stride;", node.param);
}

std::string Generator::load_pad(const ir::Node& node) const {
  const DType dtype = kernel_.type_of(node.results[0]).dtype;
  return narrow(dtype, literal(dtype, node.number));
}

void Generator::visit_load(const ir::Node& node) {
  comment(node);
  const ir::ValueId id = node.results[0];
  if (const auto prefetched = plan_.prefetched.find(&node); prefetched != plan_.prefetched.end()) {
    return load_prefetched(node, *prefetched->second);
  }
  const ir::Type& type = kernel_.type_of(id);
  line("{{");
  indent_ += 2;
  checked_load_region(node);
  load_source(node);
  const std::string whole_rows =
      fmt::format("vc == {} && (((unsigned long long)(source + row * stride + col)) % 16 == 0) && (stride % {} == 0)",
                  type.cols, 16 / size_bytes(type.dtype));
  copy_rows(type, tile_pointer(id), slot(id).stride, loaded_row, load_pad(node), whole_rows);
  barrier();
  indent_ -= 2;
  line("}}");
}

void Generator::element_copies(const ir::Type& type, const std::string& target, std::int64_t stride,
                               const std::function<std::string(const std::string&)>& row_of, const std::string& pad) {
  for_each_element(type, [&] {
    line("{}[r * {} + c] = (r < vr && c < vc) ? source[{} * stride + col + c] : {};", target, stride, row_of("r"), pad);
  });
}

void Generator::if_else(const std::string& condition, const std::function<void()>& then,
                        const std::function<void()>& otherwise) {
  line("if ({}) {{", condition);
  indent_ += 2;
  then();
  indent_ -= 2;
  line("}} else {{");
  indent_ += 2;
  otherwise();
  indent_ -= 2;
  line("}}");
}

void Generator::copy_rows(const ir::Type& type, const std::string& target, std::int64_t target_stride,
                          const std::function<std::string(const std::string&)>& row_of, const std::string& pad,
                          const std::string& whole_rows) {
  const auto element_wise = [&] { element_copies(type, target, target_stride, row_of, pad); };
  const int per_vector = 16 / size_bytes(type.dtype);
  if (type.cols % per_vector != 0) return element_wise();
  const std::int64_t vectors_per_row = type.cols / per_vector;
  if_else(
      whole_rows,
      [&] {
        line("for (int i = tid; i < {}; i += {}) {{", type.rows * vectors_per_row, threads_per_cta);
        indent_ += 2;
        line("const int r = i / {}, c = (i - r * {}) * {};", vectors_per_row, vectors_per_row, per_vector);
        line("uint4 v;");
        line("if (r < vr) {{");
        line("  v = __ldg((const uint4*)(source + {} * stride + col + c));", row_of("r"));
        line("}} else {{");
        line("  {} pads[{}];", storage_type(type.dtype), per_vector);
        line("  for (int k = 0; k < {}; ++k) pads[k] = {};", per_vector, pad);
        line("  v = *(const uint4*)pads;");
        line("}}");
        // Padded rows are 4-byte aligned, not 16: store the vector as 32-bit words.
        line("unsigned* to = (unsigned*)({} + r * {} + c);", target, target_stride);
        line("const unsigned* from = (const unsigned*)&v;");
        line("for (int k = 0; k < 4; ++k) to[k] = from[k];");
        indent_ -= 2;
        line("}}");
      },
      element_wise);
}

void Generator::visit_store(const ir::Node& node) {
  comment(node);
  const ir::Param& p = kernel_.params[static_cast<std::size_t>(node.param)];
  const ir::ValueId value = node.operands[1];
  const ir::Type& type = kernel_.type_of(value);
  line("{{");
  indent_ += 2;
  if (p.type.is_global()) {
    line("const long long row = {}, col = {};", index_value(node.operands[2]), index_value(node.operands[3]));
    valid_extents(node.operands[4], node.operands[5], type);
    line("if (pto::out_of_bounds(row, col, vr, vc, args[{0}].rows, args[{0}].cols)) {{", node.param);
    line("  if (tid == 0) pto::record_fault(fault, task, pto::fault_store_out_of_bounds, {}, row, col, vr, vc);",
         node_index(node));
    line("  return;");
    line("}}");
  } else {
    line("const long long row = 0, col = 0, vr = {}, vc = {};", type.rows, type.cols);
  }
  line("{}* __restrict__ target = ({}*)args[{}].data;", storage_type(p.type.dtype), storage_type(p.type.dtype),
       node.param);
  line("const long long stride = args[{}].stride;", node.param);
  for_each_element(type, [&] {
    line("if (r < vr && c < vc) target[(row + r) * stride + col + c] = {};",
         narrow(p.type.dtype, element(value, "r", "c")));
  });
  barrier();  // a later read_output of this parameter sees the store
  indent_ -= 2;
  line("}}");
}

}  // namespace pto::cuda::codegen
