// Matmuls: tensor cores (mma.sync m16n8k16), row dots for products of rows, FMA.
#include "runtime/cuda/codegen/generator.hpp"

namespace pto::cuda::codegen {

void Generator::visit_matmul(const ir::Node& node) {
  comment(node);
  if (tensor_core_dtype(node)) return matmul_mma(node);
  if (const int per_read = row_dot_width(node); per_read > 0) return matmul_row_dots(node, per_read);
  const ir::ValueId id = node.results[0];
  const ir::Type& type = kernel_.type_of(id);
  const ir::Type& a_type = kernel_.type_of(node.operands[0]);
  const std::int64_t depth = a_type.cols;
  line("{{");
  indent_ += 2;
  for_each_element(type, [&] {
    line("float acc = {};", node.operands.size() == 3 ? element(node.operands[2], "r", "c") : "0.0f");
    line("#pragma unroll 8");
    line("for (int k = 0; k < {}; ++k) acc = fmaf({}, {}, acc);", depth, element(node.operands[0], "r", "k"),
         element(node.operands[1], "k", "c"));
    line("{}[r * {} + c] = acc;", tile_pointer(id), slot(id).stride);
  });
  barrier();
  indent_ -= 2;
  line("}}");
}

int Generator::vector_elements(ir::ValueId id, std::int64_t length) const {
  const ir::Type& type = kernel_.type_of(id);
  if (!type.is_tile() || slot(id).offset < 0 || !is_float(type.dtype)) return 0;
  const int element = size_bytes(type.dtype);
  for (int bytes : {16, 8, 4}) {
    const int count = bytes / element;
    if (count == 0 || length % count != 0 || slot(id).offset % bytes != 0) continue;
    if (type.rows > 1 && (slot(id).stride * element) % bytes != 0) continue;
    return count;
  }
  return 0;
}

void Generator::read_row_piece(ir::ValueId id, const std::string& r, const std::string& k, int count,
                               const std::string& out) {
  const ir::Type& type = kernel_.type_of(id);
  const int per_read = vector_elements(id, count);
  const char* reader = type.dtype == DType::f16 ? "read_f16s" : type.dtype == DType::bf16 ? "read_bf16s" : "read_f32s";
  const std::string row = type.rows == 1 ? "0" : r;
  for (int at = 0; at < count; at += per_read) {
    const std::string column = at == 0 ? k : fmt::format("{} + {}", k, at);
    line("pto::{}<{}>({} + ({}) * {} + {}, {});", reader, per_read, tile_pointer(id), row, slot(id).stride, column,
         at == 0 ? out : fmt::format("{} + {}", out, at));
  }
}

int Generator::row_dot_width(const ir::Node& node) const {
  const ir::ValueId b = node.operands[1];
  if (slot(b).offset >= 0 || definition(b).op != ir::Op::trans) return 0;
  const ir::ValueId x = definition(b).operands[0];
  return vector_elements(x, kernel_.type_of(x).cols);
}

void Generator::matmul_row_dots(const ir::Node& node, int per_read) {
  const ir::ValueId id = node.results[0], a = node.operands[0], x = definition(node.operands[1]).operands[0];
  const ir::Type& type = kernel_.type_of(id);
  const std::int64_t depth = kernel_.type_of(a).cols, outputs = type.elements();
  const std::int64_t reads = depth / per_read;
  int lanes = 1;
  while (lanes < 32 && lanes * 2 <= reads) lanes *= 2;
  const int groups = threads_per_cta / lanes;
  line("{{  // row dots: {} lanes per output, {} elements per read, a shuffle sum", lanes, per_read);
  indent_ += 2;
  line("const int lane = tid % {}, group = tid / {};", lanes, lanes);
  line("for (int base = 0; base < {}; base += {}) {{  // the same trip count in every lane", outputs, groups);
  indent_ += 2;
  line("const int o = base + group, r = o / {}, c = o - r * {};", type.cols, type.cols);
  line("float acc = 0.0f;");
  line("if (o < {}) {{", outputs);
  indent_ += 2;
  line("#pragma unroll 4");
  line("for (int k = lane * {}; k < {}; k += {}) {{", per_read, depth, lanes * per_read);
  indent_ += 2;
  line("float xs[{}], as[{}];", per_read, per_read);
  read_row_piece(x, "c", "k", per_read, "xs");
  if (vector_elements(a, per_read) > 0) {
    read_row_piece(a, "r", "k", per_read, "as");
  } else {
    for (int i = 0; i < per_read; ++i) line("as[{}] = {};", i, element(a, "r", fmt::format("k + {}", i)));
  }
  line("for (int i = 0; i < {}; ++i) acc = fmaf(as[i], xs[i], acc);", per_read);
  indent_ -= 2;
  line("}}");
  indent_ -= 2;
  line("}}");
  line("acc = pto::group_sum<{}>(acc);", lanes);
  const std::string value =
      node.operands.size() == 3 ? fmt::format("{} + acc", element(node.operands[2], "r", "c")) : "acc";
  line("if (o < {} && lane == 0) {}[r * {} + c] = {};", outputs, tile_pointer(id), slot(id).stride, value);
  indent_ -= 2;
  line("}}");
  barrier();
  indent_ -= 2;
  line("}}");
}

std::optional<DType> Generator::tensor_core_dtype(const ir::Node& node) const {
  const ir::Type& a = kernel_.type_of(node.operands[0]);
  const ir::Type& b = kernel_.type_of(node.operands[1]);
  if (a.dtype != b.dtype || (a.dtype != DType::f16 && a.dtype != DType::bf16)) return std::nullopt;
  if (a.rows < 16 || a.cols % 16 != 0 || b.cols % 8 != 0) return std::nullopt;
  return a.dtype;
}

std::string Generator::half_bits(ir::ValueId id, DType dtype, const std::string& r, const std::string& c) const {
  const ir::Type& type = kernel_.type_of(id);
  if (type.is_tile() && slot(id).offset >= 0 && type.dtype == dtype) {
    return fmt::format("{}[({}) * {} + ({})]", tile_pointer(id), type.rows == 1 ? "0" : r, slot(id).stride,
                       type.cols == 1 ? "0" : c);
  }
  if (type.is_tile() && definition(id).op == ir::Op::trans) return half_bits(definition(id).operands[0], dtype, c, r);
  return narrow(dtype, element(id, r, c));  // a cast to f16/bf16, computed in place: exact
}

std::string Generator::half_pair(ir::ValueId id, DType dtype, const std::string& r, const std::string& c,
                                 bool down) const {
  const ir::Type& type = kernel_.type_of(id);
  if (type.is_tile() && slot(id).offset < 0 && definition(id).op == ir::Op::trans)
    return half_pair(definition(id).operands[0], dtype, c, r, !down);
  const bool contiguous = !down && type.is_tile() && slot(id).offset >= 0 && type.dtype == dtype && type.cols > 1;
  if (contiguous) {
    return fmt::format("*(const unsigned*)&{}[({}) * {} + ({})]", tile_pointer(id), type.rows == 1 ? "0" : r,
                       slot(id).stride, c);
  }
  const std::string r2 = down ? fmt::format("{} + 1", r) : r;
  const std::string c2 = down ? c : fmt::format("{} + 1", c);
  return fmt::format("pto::pack_halves({}, {})", half_bits(id, dtype, r, c), half_bits(id, dtype, r2, c2));
}

void Generator::matmul_mma(const ir::Node& node) {
  const DType dtype = *tensor_core_dtype(node);
  const ir::ValueId id = node.results[0], a = node.operands[0], b = node.operands[1];
  const ir::Type& type = kernel_.type_of(id);
  const std::int64_t m = type.rows, n = type.cols, depth = kernel_.type_of(a).cols;
  const std::int64_t m_tiles = (m + 15) / 16, n_tiles = n / 8;
  const bool padded = m % 16 != 0;
  line("{{  // tensor cores: mma.sync m16n8k16 {} x {} -> f32, {} fragments of 16x8", name(dtype), name(dtype),
       m_tiles * n_tiles);
  indent_ += 2;
  line("const int warp = tid / 32, g = (tid % 32) / 4, t = tid % 4;");
  line("for (int f = warp; f < {}; f += {}) {{", m_tiles * n_tiles, threads_per_cta / 32);
  indent_ += 2;
  line("const int m0 = (f / {}) * 16, n0 = (f % {}) * 8;", n_tiles, n_tiles);
  line("const int r0 = m0 + g, r1 = m0 + g + 8, c0 = n0 + 2 * t;");
  // Padded rows read nothing and are written nowhere.
  const std::string live0 = padded ? fmt::format("r0 < {}", m) : "true";
  const std::string live1 = padded ? fmt::format("r1 < {}", m) : "true";
  if (node.operands.size() == 3) {
    const ir::ValueId acc = node.operands[2];
    line("float d[4] = {{{0} ? {2} : 0.0f, {0} ? {3} : 0.0f, {1} ? {4} : 0.0f, {1} ? {5} : 0.0f}};", live0, live1,
         element(acc, "r0", "c0"), element(acc, "r0", "c0 + 1"), element(acc, "r1", "c0"),
         element(acc, "r1", "c0 + 1"));
  } else {
    line("float d[4] = {{0.0f, 0.0f, 0.0f, 0.0f}};");
  }
  line("#pragma unroll 2");
  line("for (int k0 = 0; k0 < {}; k0 += 16) {{", depth);
  indent_ += 2;
  line("const int k = k0 + 2 * t;");
  line("const unsigned a0 = {} ? {} : 0u;", live0, half_pair(a, dtype, "r0", "k", false));
  line("const unsigned a1 = {} ? {} : 0u;", live1, half_pair(a, dtype, "r1", "k", false));
  line("const unsigned a2 = {} ? {} : 0u;", live0, half_pair(a, dtype, "r0", "k + 8", false));
  line("const unsigned a3 = {} ? {} : 0u;", live1, half_pair(a, dtype, "r1", "k + 8", false));
  line("const unsigned b0 = {};", half_pair(b, dtype, "k", "n0 + g", true));
  line("const unsigned b1 = {};", half_pair(b, dtype, "k + 8", "n0 + g", true));
  line("pto::mma_m16n8k16_{}(d, a0, a1, a2, a3, b0, b1);", name(dtype));
  indent_ -= 2;
  line("}}");
  const std::string out = tile_pointer(id);
  const std::int64_t stride = slot(id).stride;
  line("if ({}) {{ {}[r0 * {} + c0] = d[0]; {}[r0 * {} + c0 + 1] = d[1]; }}", live0, out, stride, out, stride);
  line("if ({}) {{ {}[r1 * {} + c0] = d[2]; {}[r1 * {} + c0 + 1] = d[3]; }}", live1, out, stride, out, stride);
  indent_ -= 2;
  line("}}");
  barrier();
  indent_ -= 2;
  line("}}");
}

}  // namespace pto::cuda::codegen
