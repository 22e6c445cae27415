// Loads fetched one iteration ahead with cp.async (prefetch_plan.hpp), and rows gathered
// through an index tile (load_rows).
#include "runtime/cuda/codegen/generator.hpp"

namespace pto::cuda::codegen {

void Generator::load_prefetched(const ir::Node& node, const PrefetchedLoad& prefetched) {
  line("{{");
  indent_ += 2;
  if (node.op == ir::Op::load_rows) {
    check_gathered_rows(node);
  } else {
    checked_load_region(node);
  }
  indent_ -= 2;
  line("}}");
  line("pto::cp_async_wait<{}>();  // this block's copies, fetched ahead", prefetched.groups_after);
  barrier();
}

void Generator::fetch_ahead(const ir::Node& loop, const PrefetchedLoad& prefetched, const std::string& index) {
  const ir::ValueId induction = loop.body->arguments[0];
  line("{{  // fetch ahead: node {}'s block of iteration {}", node_index(*prefetched.load), index);
  indent_ += 2;
  line("const long long ahead = {};", index);
  line("if (ahead < {}) {{", index_value(loop.operands[1]));
  indent_ += 2;
  line("bool fetch = true, zero = false;");
  const char* index_type = compute_type(kernel_.type_of(induction).dtype);
  line("const {0} a{1} = ({0})ahead;", index_type, induction);
  ahead_[induction] = fmt::format("a{}", induction);
  for (const ir::Node* node : prefetched.chain) {
    const ir::ValueId id = node->results[0];
    const DType dtype = kernel_.type_of(id).dtype;
    const std::string name = fmt::format("a{}", id);
    if (node->op == ir::Op::constant) {
      line("const {} {} = {};", compute_type(dtype), name, literal(dtype, node->number));
    } else if (node->op == ir::Op::load_scalar) {
      line("const long long {0}_row = {1}, {0}_col = {2};", name, index_value(node->operands[1]),
           index_value(node->operands[2]));
      line("const bool {0}_in = !pto::out_of_bounds({0}_row, {0}_col, 1, 1, args[{1}].rows, args[{1}].cols);", name,
           node->param);
      line("fetch = fetch && {}_in;", name);
      line("const {0} {1} = {1}_in ? {2} : ({0})0;", compute_type(dtype), name,
           scalar_element(*node, name + "_row", name + "_col"));
    } else {
      line("const {} {} = {};", compute_type(dtype), name, apply(*node, "0", "0"));
    }
    ahead_[id] = name;
  }
  line("if (fetch && !zero) {{");
  indent_ += 2;
  if (prefetched.load->op == ir::Op::load_rows) {
    fetch_gathered_block(prefetched);
  } else {
    fetch_block(*prefetched.load);
  }
  indent_ -= 2;
  line("}}");
  ahead_.clear();
  indent_ -= 2;
  line("}}");
  line("pto::cp_async_commit();");
  indent_ -= 2;
  line("}}");
}

int Generator::copy_width(ir::ValueId id) const {
  const ir::Type& type = kernel_.type_of(id);
  const int element = size_bytes(type.dtype);
  const std::int64_t row_bytes = type.cols * element, stride_bytes = slot(id).stride * element;
  for (int width : {16, 8, 4}) {
    if (width >= element && row_bytes % width == 0 && (type.rows == 1 || stride_bytes % width == 0)) return width;
  }
  return 0;
}

void Generator::fetch_block(const ir::Node& node) {
  const ir::ValueId id = node.results[0];
  const ir::Type& type = kernel_.type_of(id);
  const std::int64_t stride = slot(id).stride;
  line("{{");
  indent_ += 2;
  load_region(node);
  line("if (!pto::out_of_bounds(row, col, vr, vc, args[{0}].rows, args[{0}].cols)) {{", node.param);
  indent_ += 2;
  load_source(node);
  line("{}* const target = {};", storage_type(type.dtype), tile_pointer(id));
  const std::string pad = load_pad(node);
  if (const int width = copy_width(id); width > 0) {
    const int element = size_bytes(type.dtype);
    const int per_copy = width / element;
    const std::int64_t copies_per_row = type.cols / per_copy;
    line("const bool whole_rows = vc == {} && (((unsigned long long)(source + row * stride + col)) % {} == 0) &&",
         type.cols, width);
    line("                        ((stride * {}) % {} == 0);", element, width);
    line("if (whole_rows) {{");
    indent_ += 2;
    if (threads_per_cta % copies_per_row == 0) {
      // Each thread copies one column piece of every rows_per_pass-th row, walking both
      // pointers by a constant step: a few instructions per copy.
      const std::int64_t rows_per_pass = threads_per_cta / copies_per_row;
      line("const int c = (tid % {}) * {}, first = tid / {};", copies_per_row, per_copy, copies_per_row);
      line("const unsigned char* from = (const unsigned char*)(source + (row + first) * stride + col + c);");
      line("const long long step = stride * {};", rows_per_pass * element);
      line("unsigned to = pto::shared_address(target + first * {} + c);", stride);
      line("const int copied_rows = (int)vr;  // the rest are pad");
      line("int r = first;");
      line("#pragma unroll 4");
      line("for (; r < copied_rows; r += {}, from += step, to += {}) pto::cp_async<{}>(to, from);", rows_per_pass,
           rows_per_pass * stride * element, width);
      line("for (; r < {}; r += {}) {{", type.rows, rows_per_pass);
      line("  for (int k = 0; k < {}; ++k) target[r * {} + c + k] = {};", per_copy, stride, pad);
      line("}}");
    } else {
      line("for (int i = tid; i < {}; i += {}) {{", type.rows * copies_per_row, threads_per_cta);
      indent_ += 2;
      line("const int r = i / {}, c = (i - r * {}) * {};", copies_per_row, copies_per_row, per_copy);
      line("if (r < vr) {{");
      line("  pto::cp_async<{}>(pto::shared_address(target + r * {} + c), source + (row + r) * stride + col + c);",
           width, stride);
      line("}} else {{");
      line("  for (int k = 0; k < {}; ++k) target[r * {} + c + k] = {};", per_copy, stride, pad);
      line("}}");
      indent_ -= 2;
      line("}}");
    }
    indent_ -= 2;
    line("}} else {{");
    indent_ += 2;
    element_copies(type, "target", stride, loaded_row, pad);
    indent_ -= 2;
    line("}}");
  } else {
    element_copies(type, "target", stride, loaded_row, pad);
  }
  indent_ -= 2;
  line("}}");
  indent_ -= 2;
  line("}}");
}

std::string Generator::gathered_row(const std::function<std::string(const std::string&)>& entry, std::int64_t group,
                                    const std::string& r) {
  return fmt::format("((long long)({}) * {} + ({}) % {})", entry(fmt::format("({}) / {}", r, group)), group, r, group);
}

std::function<std::string(const std::string&)> Generator::index_tile_entry(const ir::Node& node) const {
  return [this, &node](const std::string& k) { return element(node.operands[1], k, "0"); };
}

void Generator::check_gathered_rows(const ir::Node& node) {
  const std::int64_t group = node.step;
  line("const long long col = {};", index_value(node.operands[2]));
  valid_extents(node.operands[3], node.operands[4], kernel_.type_of(node.results[0]));
  line("for (int g = 0; vc > 0 && g < vr; g += {}) {{", group);
  line("  const long long first = {}, rows_here = vr - g < {} ? vr - g : {};",
       gathered_row(index_tile_entry(node), group, "g"), group, group);
  line("  if (pto::out_of_bounds(first, col, rows_here, vc, args[{0}].rows, args[{0}].cols)) {{", node.param);
  line("    const bool cols_out = col < 0 || vc > args[{0}].cols - col;", node.param);
  line("    const long long gathered = cols_out || first < 0 || first >= args[{0}].rows ? first : args[{0}].rows;",
       node.param);
  line("    if (tid == 0) pto::record_fault(fault, task, pto::fault_load_out_of_bounds, {}, gathered, col, 1, vc);",
       node_index(node));
  line("    return;");
  line("  }}");
  line("}}");
}

std::string Generator::whole_gathered_rows(const ir::Type& type, int width) const {
  return fmt::format("vc == {} && (((unsigned long long)(source + col)) % {} == 0) && ((stride * {}) % {} == 0)",
                     type.cols, width, size_bytes(type.dtype), width);
}

void Generator::visit_load_rows(const ir::Node& node) {
  comment(node);
  if (const auto prefetched = plan_.prefetched.find(&node); prefetched != plan_.prefetched.end()) {
    return load_prefetched(node, *prefetched->second);
  }
  const ir::ValueId id = node.results[0];
  const ir::Type& type = kernel_.type_of(id);
  const auto entry = index_tile_entry(node);
  line("{{");
  indent_ += 2;
  check_gathered_rows(node);
  load_source(node);
  copy_rows(
      type, tile_pointer(id), slot(id).stride, [&](const std::string& r) { return gathered_row(entry, node.step, r); },
      load_pad(node), whole_gathered_rows(type, 16));
  barrier();
  indent_ -= 2;
  line("}}");
}

void Generator::fetch_gathered_block(const PrefetchedLoad& prefetched) {
  const ir::Node& node = *prefetched.load;
  const ir::ValueId id = node.results[0];
  const ir::Type& type = kernel_.type_of(id);
  const std::int64_t stride = slot(id).stride, group = node.step;
  line("{{");
  indent_ += 2;
  std::function<std::string(const std::string&)> entry = index_tile_entry(node);
  // The group's entry in the unrolled loop over groups: a register (or the index tile's).
  std::function<std::string(const std::string&)> group_entry = entry;
  bool entries_in_registers = true;  // or an index tile, whose entries are as cheap
  if (const ir::Node* index = prefetched.index_load) {
    const ir::Type& index_type = kernel_.type_of(index->results[0]);
    const ir::Param& p = kernel_.params[static_cast<std::size_t>(index->param)];
    line("const long long irow = {}, icol = {};", index_value(index->operands[1]), index_value(index->operands[2]));
    line("const long long ivr = pto::clamp_extent({}, {}), ivc = pto::clamp_extent({}, 1);",
         index_value(index->operands[3]), index_type.rows, index_value(index->operands[4]));
    line("const bool index_in = !pto::out_of_bounds(irow, icol, ivr, ivc, args[{0}].rows, args[{0}].cols);",
         index->param);
    const std::string pad = narrow(index_type.dtype, literal(index_type.dtype, index->number));
    const std::string read = fmt::format(
        "(index_in && k < ivr && ivc > 0 ? (long long)((const {0}*)args[{1}].data)[(irow + k) * args[{1}].stride + "
        "icol] : (long long)({2}))",
        storage_type(p.type.dtype), index->param, pad);
    entries_in_registers = index_type.rows <= max_entries_in_registers;
    // Read where it is used: also the element copies' entry (a register array indexed by
    // a run-time row would be moved to local memory, fast path and all).
    entry = [read](const std::string& k) {
      return fmt::format("[&] {{ const long long k = {}; return {}; }}()", k, read);
    };
    if (entries_in_registers) {
      // A few entries: every thread reads them all at once, into registers (independent
      // loads in flight together; the loop over groups below is unrolled, so each group's
      // entry is a register), rather than one round trip per group.
      line("long long entries[{}];", index_type.rows);
      line("#pragma unroll");
      line("for (int k = 0; k < {}; ++k) entries[k] = {};", index_type.rows, read);
      group_entry = [](const std::string& k) { return fmt::format("entries[{}]", k); };
    } else {
      group_entry = entry;
    }
  }
  line("const long long col = {};", index_value(node.operands[2]));
  valid_extents(node.operands[3], node.operands[4], type);
  load_source(node);
  line("{}* const target = {};", storage_type(type.dtype), tile_pointer(id));
  const std::string pad = load_pad(node);
  const auto row_in = [&](const std::string& row) {
    return fmt::format("!pto::out_of_bounds({}, col, 1, vc, args[{}].rows, args[{}].cols)", row, node.param,
                       node.param);
  };
  const auto element_copies = [&] {
    for_each_element(type, [&] {
      line("{{");
      line("  const long long from_row = r < vr && c < vc ? {} : -1;", gathered_row(entry, group, "r"));
      line("  target[r * {} + c] = from_row >= 0 && {} ? source[from_row * stride + col + c] : {};", stride,
           row_in("from_row"), pad);
      line("}}");
    });
  };
  const int width = copy_width(id);
  const std::int64_t per_copy = width > 0 ? width / size_bytes(type.dtype) : 0;
  const std::int64_t copies_per_row = width > 0 ? type.cols / per_copy : 0;
  if (width == 0 || threads_per_cta % copies_per_row != 0) {
    element_copies();  // (rare shapes: no piece per thread and row pass)
  } else {
    if_else(
        whole_gathered_rows(type, width),
        [&] {
          // Each thread copies one column piece of every rows_per_pass-th row.
          const std::int64_t rows_per_pass = threads_per_cta / copies_per_row;
          const int element_bytes = size_bytes(type.dtype);
          line("const int c = (tid % {}) * {}, first = tid / {};", copies_per_row, per_copy, copies_per_row);
          if (entries_in_registers) {
            // A group's rows are consecutive in the global: checked once, and the thread walks
            // both pointers through its rows of the group by a constant step.
            line("#pragma unroll");
            line("for (int g = 0; g < {}; g += {}) {{", type.rows, group);
            indent_ += 2;
            line("if (g >= vr) break;");
            line("const int end = vr - g < {} ? (int)(vr - g) : {};  // rows of this group, from g", group, group);
            line("const long long from_row = {};", gathered_row(group_entry, group, "g"));
            line("if (pto::out_of_bounds(from_row, col, end, vc, args[{0}].rows, args[{0}].cols)) continue;",
                 node.param);
            line("int r = (first - g % {0} + {0}) % {0};  // this thread's first row of the group, from g",
                 rows_per_pass);
            line("const unsigned char* from = (const unsigned char*)(source + (from_row + r) * stride + col + c);");
            line("unsigned to = pto::shared_address(target + (g + r) * {} + c);", stride);
            line("#pragma unroll 4");
            line("for (; r < end; r += {0}, from += stride * {1}, to += {2}) pto::cp_async<{3}>(to, from);",
                 rows_per_pass, rows_per_pass * element_bytes, rows_per_pass * stride * element_bytes, width);
            indent_ -= 2;
            line("}}");
          } else {
            // Many entries (small pages): the thread's own rows, a batch at a time, their entry
            // reads issued together before the batch's copies.
            const int batch = gathered_rows_per_batch;
            line("for (int r0 = first; r0 < vr; r0 += {}) {{", batch * rows_per_pass);
            indent_ += 2;
            line("long long from_row[{}];", batch);
            line("#pragma unroll");
            line("for (int u = 0; u < {}; ++u) {{", batch);
            line("  const int r = r0 + u * {};", rows_per_pass);
            line("  from_row[u] = r < vr ? {} : -1;", gathered_row(entry, group, "r"));
            line("}}");
            line("#pragma unroll");
            line("for (int u = 0; u < {}; ++u) {{", batch);
            line("  const int r = r0 + u * {};", rows_per_pass);
            line("  if (r < vr && {})", row_in("from_row[u]"));
            line(
                "    pto::cp_async<{}>(pto::shared_address(target + r * {} + c), source + from_row[u] * stride + col "
                "+ c);",
                width, stride);
            line("}}");
            indent_ -= 2;
            line("}}");
          }
          line("for (int r = first; r < {}; r += {}) {{", type.rows, rows_per_pass);
          line("  if (r >= vr)");
          line("    for (int k = 0; k < {}; ++k) target[r * {} + c + k] = {};", per_copy, stride, pad);
          line("}}");
        },
        element_copies);
  }
  indent_ -= 2;
  line("}}");
}

}  // namespace pto::cuda::codegen
