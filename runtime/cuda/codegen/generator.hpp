// The CUDA backend's code generator (cuda_codegen.hpp's generate_cuda): one class that
// renders a kernel's IR as CUDA C++ from its tile plan (tile_plan.hpp). Its emitters live in
// one file per op family: generator.cpp (the task body, statements, barrier placement,
// parameters), elementwise.cpp (element expressions and the op -> CUDA expression mapping),
// memory.cpp (loads, copies, stores), prefetch.cpp (loads fetched one iteration ahead and
// rows gathered through an index tile), reduce.cpp, matmul.cpp, loop.cpp (for_range).
#pragma once

#include "runtime/cuda/cuda_codegen.hpp"

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/error.hpp"
#include "dsl/hash.hpp"
#include "dsl/kernel_index.hpp"
#include "dsl/op_formulas.hpp"
#include "dsl/op_table.hpp"
#include "dsl/visitor.hpp"
#include "runtime/cuda/cuda_math.hpp"
#include "runtime/cuda/prefetch_plan.hpp"
#include "runtime/cuda/support_header.hpp"
#include "runtime/cuda/tile_plan.hpp"
#include "runtime/object_cache.hpp"

namespace pto::cuda::codegen {

// The C++ type a dtype computes in, and the type its tiles are stored as.
inline const char* compute_type(DType dtype) {
  switch (dtype) {
    case DType::i32: return "int";
    case DType::i64: return "long long";
    default: return "float";
  }
}
inline const char* storage_type(DType dtype) {
  switch (dtype) {
    case DType::f16:
    case DType::bf16: return "unsigned short";
    case DType::f32: return "float";
    case DType::i32: return "int";
    case DType::i64: return "long long";
  }
  return "float";
}

// Storage -> compute, and compute -> storage (rounding to f16/bf16).
inline std::string widen(DType dtype, const std::string& stored) {
  if (dtype == DType::f16) return fmt::format("pto::f16_to_f32({})", stored);
  if (dtype == DType::bf16) return fmt::format("pto::bf16_to_f32({})", stored);
  return stored;
}
inline std::string narrow(DType dtype, const std::string& value) {
  if (dtype == DType::f16) return fmt::format("pto::f32_to_f16({})", value);
  if (dtype == DType::bf16) return fmt::format("pto::f32_to_bf16({})", value);
  return value;
}

// An exact literal of a dtype's compute type (floats by their bits: NaN and inf included).
inline std::string literal(DType dtype, double number) {
  if (is_float(dtype)) {
    const float value = round_to(dtype, static_cast<float>(number));
    return fmt::format("__int_as_float(0x{:08x})", std::bit_cast<std::uint32_t>(value));
  }
  const auto integer = static_cast<std::int64_t>(number);
  if (dtype == DType::i32)
    return fmt::format("(int){}", static_cast<std::int32_t>(static_cast<std::uint32_t>(integer)));
  return integer == std::numeric_limits<std::int64_t>::min() ? "(-9223372036854775807LL - 1)"
                                                             : fmt::format("{}LL", integer);
}

// How a CTA finds its tile space: the dynamic shared memory, or its own slice of the
// global scratch the launcher passes.
inline std::vector<std::string> tiles_declaration(bool in_shared, std::int64_t tile_bytes) {
  if (in_shared) {
    return {"extern __shared__ __align__(16) unsigned char pto_shared[];", "unsigned char* const tiles = pto_shared;"};
  }
  return {fmt::format("unsigned char* const tiles = tile_scratch + (long long)blockIdx.x * {}LL;", tile_bytes)};
}

class Generator : public ir::NodeVisitor<Generator> {
  friend class ir::NodeVisitor<Generator>;

 public:
  Generator(const ir::Kernel& kernel, const ir::KernelIndex& index, std::uint64_t hash)
      : kernel_(kernel), index_(index), hash_(hash), plan_(plan_tiles(kernel, index)) {}

  GeneratedKernel run();

  const TileSlot& slot(ir::ValueId id) const { return plan_.slot(id); }

  std::string tile_pointer(ir::ValueId id) const;

  // ---- emission -----------------------------------------------------------------------------

  template <typename... Args>
  void line(fmt::format_string<Args...> format, Args&&... args) {
    source_.append(static_cast<std::size_t>(indent_), ' ');
    source_ += fmt::format(format, std::forward<Args>(args)...);
    source_ += '\n';
  }

  // A scalar's variable; inside a prefetch, the name its next-iteration value has there.
  std::string var(ir::ValueId id) const;
  int node_index(const ir::Node& node) const { return index_.position(node); }
  const ir::Node& definition(ir::ValueId id) const { return *index_.definition(id); }

  void comment(const ir::Node& node);

  void barrier();

  // ---- barrier placement --------------------------------------------------------------------
  // A stored elementwise result is written in for_each_element's order: element e of the
  // tile by thread e % threads_per_cta. A later op that reads it element for element over
  // the same shape (another elementwise op, or a yield's copy) reads on each thread what that
  // thread wrote, so no barrier follows such a result; the barrier comes before the first op
  // that reads it across threads (a broadcast, a reduction, a matmul, ...). Where a barrier
  // was left out, reads of other threads may still be pending, so one comes before anything
  // that rewrites a tile read in this pass: a yield's copies into the carried tiles, a
  // fetch ahead into a slot, the loop's next iteration.

  // Whether reading `id` to compute elements of a `rows` x `cols` result reads an element
  // another thread wrote since the last barrier: a stored tile of another shape, read
  // through the fused expressions computed in place, or any unpublished tile when `across`
  // (an op that does not read element for element).
  bool reads_across_threads(ir::ValueId id, std::int64_t rows, std::int64_t cols, bool across) const;

  // Whether `node` must be preceded by a barrier: it reads an element another thread wrote
  // with no barrier since.
  bool needs_barrier_before(const ir::Node& node) const;

  // A barrier where a left-out one may leave reads pending (see above).
  void end_pending_reads();

  // ---- element expressions ------------------------------------------------------------------

  // Element (r, c) of a value in its compute type, broadcasting extent-1 dimensions.
  std::string element(ir::ValueId id, const std::string& r, const std::string& c) const;

  // The elementwise op `node` at (r, c), its operands read (or computed) in place.
  std::string apply(const ir::Node& node, const std::string& r, const std::string& c) const;

  static std::string binary(ir::BinaryOp op, const std::string& a_value, const std::string& b_value, bool f, DType out);

  static std::string compare(ir::CompareOp op, const std::string& a, const std::string& b);

  // Floats: CUDA's math functions, dsl/op_formulas.hpp's definitions (inline, or as the
  // support header's functions, which are rendered from the same formulas). Integers wrap.
  static std::string unary(ir::UnaryOp op, const std::string& x, bool f, DType out);

  static std::string cast(const std::string& value, DType from, DType to);

  // ---- statements ---------------------------------------------------------------------------

  // for each element (r, c) of a rows x cols shape, spread over the CTA's threads.
  void for_each_element(const ir::Type& type, const std::function<void()>& body);

  // Stores `expression(r, c)` into tile `target` over its whole shape, then publishes it.
  void materialize(ir::ValueId target, const std::function<std::string()>& expression, const ir::Node& node,
                   bool may_divide);

  // Whether the code emit() writes for `node` ends with a barrier (every thread is done
  // with the tiles it read): reductions, matmuls, loads, stores. (Stored elementwise
  // results publish theirs later: see needs_barrier_before.)
  bool ends_with_barrier(const ir::Node& node) const;

  void block(const ir::Block& body);

  void emit(const ir::Node& node);

  // ---- nodes: NodeVisitor's handlers ----------------------------------------------------------

  void visit_constant(const ir::Node& node);
  void visit_read_output(const ir::Node& node);
  void visit_shape(const ir::Node&) {}  // trans: a view, read with swapped indices
  void visit_yield(const ir::Node&) {}  // for_range writes the next values

  void visit_param(const ir::Node& node);

  // A tile parameter's contents (its binding has exactly the tile's shape) into `id`.
  void read_tile_param(ir::ValueId id, int param);

  void visit_elementwise(const ir::Node& node);

  std::string index_value(ir::ValueId id) const { return fmt::format("(long long){}", var(id)); }

  // Every thread reads the same element (one broadcast transaction); the value is a
  // register like any scalar.
  void visit_load_scalar(const ir::Node& node);

  // Element (row, col) of a load_scalar's global, in its compute type (row and col are
  // variables already checked against the bounds).
  std::string scalar_element(const ir::Node& node, const std::string& row, const std::string& col) const;

  // A load's row r of its global, as an expression.
  static std::string loaded_row(const std::string& r) { return fmt::format("(row + {})", r); }

  // row, col and the clamped valid extents vr, vc of a load, as variables.
  void load_region(const ir::Node& node);

  // vr, vc: a load's or store's valid extents, clamped to the tile's.
  void valid_extents(ir::ValueId rows, ir::ValueId cols, const ir::Type& tile);

  // load_region, and the fault that ends the task when the region leaves the tensor.
  void checked_load_region(const ir::Node& node);

  void load_source(const ir::Node& node);

  std::string load_pad(const ir::Node& node) const;

  void visit_load(const ir::Node& node);

  // Element copies of rows [0, vr) x [0, vc) into `target` (rows of `stride` elements),
  // row r from the source's row row_of(r), the rest pad.
  void element_copies(const ir::Type& type, const std::string& target, std::int64_t stride,
                      const std::function<std::string(const std::string&)>& row_of, const std::string& pad);

  // if (condition) { then } else { otherwise }, each emitted by its function.
  void if_else(const std::string& condition, const std::function<void()>& then, const std::function<void()>& otherwise);

  // Copies rows [0, vr) x [0, vc) of `source` (row r at row_of(r), columns from col) into
  // `target`, the rest pad: 16 bytes per thread per step when `whole_rows` holds at run
  // time (every row whole and 16-byte aligned), element by element otherwise.
  void copy_rows(const ir::Type& type, const std::string& target, std::int64_t target_stride,
                 const std::function<std::string(const std::string&)>& row_of, const std::string& pad,
                 const std::string& whole_rows);

  // ---- loads fetched one iteration ahead (prefetch_plan.hpp) ----------------------------------

  // A prefetched load: its block was fetched during the previous iteration (or before the
  // loop). Its bounds are checked here all the same, so that a fault names the same node
  // and iteration as a synchronous load would (a fetch ahead skips an out-of-bounds block
  // instead of faulting); then the iteration waits for the block's copies and publishes them.
  void load_prefetched(const ir::Node& node, const PrefetchedLoad& prefetched);

  // Fetches the block `prefetched` loads in the iteration whose index is `index` (when that
  // iteration runs) into its slot, as one cp.async group (committed even when empty, which
  // keeps the waits' group counts static). Its operands are recomputed for that index under
  // names of their own (ahead_); a division by zero or an out-of-bounds block-table read
  // there skips the fetch, and the iteration itself reports the fault.
  void fetch_ahead(const ir::Node& loop, const PrefetchedLoad& prefetched, const std::string& index);

  // The widest cp.async (16, 8 or 4 bytes) that copies whole rows of tile `id` into its
  // slot with aligned addresses on both sides, or 0 when rows are not a multiple of 4 bytes.
  int copy_width(ir::ValueId id) const;

  // Starts copying one load's block into its slot: asynchronously when its rows are
  // whole and aligned (checked at run time), element by element otherwise; pad rows are
  // written directly. Out-of-bounds blocks are skipped (see fetch_ahead).
  void fetch_block(const ir::Node& node);

  // ---- rows gathered through an index tile (load_rows) ----------------------------------------

  // Tile row r < vr of a load_rows is the global's row entry(r / group) * group + r % group,
  // where entry(k) is the index tile's element k (as a long long expression).
  static std::string gathered_row(const std::function<std::string(const std::string&)>& entry, std::int64_t group,
                                  const std::string& r);
  std::function<std::string(const std::string&)> index_tile_entry(const ir::Node& node) const;

  // col, vr, vc of a load_rows, then its valid rows checked in order by every thread, a
  // group at a time (a group's rows are consecutive in the global: its first row outside
  // is its first row, or the global's end). The same values in every thread, so the exit
  // is uniform; the first row outside is the fault, as in the interpreter.
  void check_gathered_rows(const ir::Node& node);

  // Whether every row of a gather reads whole aligned pieces of `width` bytes: all columns
  // valid, the first row's start and the row stride multiples of the width (as a condition).
  std::string whole_gathered_rows(const ir::Type& type, int width) const;

  void visit_load_rows(const ir::Node& node);

  // The most block-table entries a gather's fetch ahead holds in registers.
  static constexpr std::int64_t max_entries_in_registers = 16;

  // Rows of a gather's fetch ahead that one thread resolves before it issues their copies:
  // their entry reads are in flight together.
  static constexpr int gathered_rows_per_batch = 8;

  // Starts copying a load_rows' block of the iteration ahead into its slot (see
  // fetch_block). The index entries come from the index tile when it is defined before the
  // loop, else from the index load's global at its region for that iteration (nothing is
  // read outside it). A group or row outside the global is not copied: the iteration's own
  // check reports the fault before its block is used.
  void fetch_gathered_block(const PrefetchedLoad& prefetched);

  void visit_store(const ir::Node& node);

  void visit_reduce(const ir::Node& node);

  // A reduction's starting value (dsl/op_table.hpp's identity) as a literal of `dtype`'s
  // compute type.
  static std::string identity(ir::ReduceIdentity identity, DType dtype);

  void visit_matmul(const ir::Node& node);

  // The most elements of tile `id`'s rows one vector read (4, 8 or 16 bytes) takes at a
  // column that is a multiple of it, or 0 when its rows cannot be read so: a stored float
  // tile whose `length` columns read are whole reads and whose rows (padded) keep the reads
  // aligned.
  int vector_elements(ir::ValueId id, std::int64_t length) const;

  // `count` elements of stored tile `id` from (r, k) on, into the float array `out`, one
  // vector read at a time (count is a multiple of vector_elements(id, count)).
  void read_row_piece(ir::ValueId id, const std::string& r, const std::string& k, int count, const std::string& out);

  // A matmul a [M, K] x trans(x) [K, N] whose products are dot products of rows (decode's
  // q K^T, x a stored [N, K] tile): the elements a vector read of x takes (see
  // matmul_row_dots), or 0 to compute one element per thread instead.
  int row_dot_width(const ir::Node& node) const;

  // The output's elements are dot products of a row of `a` and a row of x (b = trans(x)):
  // each is taken by a group of lanes (a power of two, at most 32, at most the reads a row
  // needs), every lane reading `per_read` elements of both rows at a time, the group's
  // partial sums then added with shuffles. Rows are read along, not down, so the reads of
  // a warp hit distinct banks and every thread of the CTA works (one thread per output
  // would leave most of a 1-row product's threads idle and read elements one at a time).
  void matmul_row_dots(const ir::Node& node, int per_read);

  // The 16-bit dtype a matmul can run in on tensor cores (mma.sync m16n8k16), if any: both
  // operands f16 (or both bf16), N a multiple of 8, K of 16, and M at least 16 (a partial
  // last row block is padded with zero rows). The products of 16-bit floats are exact in f32
  // and the sums stay f32, so results match the interpreter's FMA order within rounding. f32
  // operands stay on FMA: rounding them to 16 bits would change the result. Rows below 16
  // stay on FMA too: padding the decode query row (M = 1) to a 16-row fragment made decode
  // attention slower on an H100 (0.99 ms vs 0.89 ms for 2 GiB of K/V, bench_gpu_kernels).
  std::optional<DType> tensor_core_dtype(const ir::Node& node) const;

  // The 16-bit storage bits of element (r, c) of an f16/bf16 operand.
  std::string half_bits(ir::ValueId id, DType dtype, const std::string& r, const std::string& c) const;

  // Two adjacent 16-bit elements as one 32-bit mma register, the first in the low half:
  // (r, c) and (r, c + 1), or (r, c) and (r + 1, c) when `down`. One aligned 32-bit
  // shared-memory read when the pair is contiguous in a stored tile (c even, rows of
  // 16-bit tiles have an even stride), two 16-bit reads otherwise.
  std::string half_pair(ir::ValueId id, DType dtype, const std::string& r, const std::string& c, bool down) const;

  // Tensor-core matmul: the output is cut into 16x8 fragments, the CTA's warps take them in
  // turn, and each runs K/16 mma.sync steps with operands gathered from the stored tiles in
  // the PTX fragment layout (lane = 4 * g + t: A rows g and g + 8, columns 2t, 2t + 1 and
  // 2t + 8, 2t + 9; B columns g, rows likewise; C/D rows g and g + 8, columns 2t, 2t + 1).
  void matmul_mma(const ir::Node& node);

  void copy_into(ir::ValueId target, ir::ValueId from);

  void visit_for_range(const ir::Node& node);

  const ir::Kernel& kernel_;
  const ir::KernelIndex& index_;
  std::uint64_t hash_;
  std::unordered_map<ir::ValueId, std::string> ahead_;  // scalar -> its next-iteration name
  // Barrier placement: tiles written element e by thread e % threads_per_cta since the last
  // barrier, and whether a barrier was left out since then.
  std::unordered_set<ir::ValueId> unpublished_;
  bool elided_ = false;
  TilePlan plan_;
  std::string source_;
  int indent_ = 0;
};

}  // namespace pto::cuda::codegen
