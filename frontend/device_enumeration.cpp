#include "frontend/device_enumeration.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <limits>

#include "core/error.hpp"
#include "dsl/hash.hpp"
#include "frontend/task_recipes.hpp"
#include "runtime/cuda/support_header.hpp"
#include "runtime/object_cache.hpp"

namespace pto {

namespace {

// The input block, in 8-byte words: sizes, table rows, table addresses, tensor addresses,
// then per statement its first slot, its slot count and its loop's first index, then the
// slot total. Every array has at least one entry.
struct Words {
  int sizes, tables, tensors, statements;
  int size(int i) const { return i; }
  int rows(int t) const { return std::max(sizes, 1) + t; }
  int table(int t) const { return std::max(sizes, 1) + std::max(tables, 1) + t; }
  int base(int k) const { return std::max(sizes, 1) + 2 * std::max(tables, 1) + k; }
  int first(int s) const { return base(std::max(tensors, 1)) + s; }
  int slots(int s) const { return first(std::max(statements, 1)) + s; }
  int begin(int s) const { return slots(std::max(statements, 1)) + s; }
  int total() const { return begin(std::max(statements, 1)); }
  int count() const { return total() + 1; }
};

// The most header words the enumeration kernel copies to shared memory (4 KiB): each of a
// CTA's 256 threads reads at most two, in one round trip over the bus, where a task reads
// several words one after another.
constexpr int header_words_in_shared = 512;

// Counters the enumeration kernel adds to: failed checks, tasks, bytes, tasks per statement.
constexpr int counter_failed = 0, counter_tasks = 1, counter_bytes = 2, counter_statements = 3;

// One CTA per statement: the claim order of its task slots, longest first. The key is a
// task's bytes above the statement's smallest (views every task has alike, such as a whole
// paged KV pool, do not mask what differs), in classes of a quarter octave (a power of two
// and its next two bits); slots without a task go last. Within a class slots keep their
// enumeration order, so that the tasks of neighbouring heads, which read neighbouring bytes,
// still run together. Slots go through in chunks of the CTA's size: per warp
// __match_any_sync ranks the lanes of each class, per class the warps' counts are scanned in
// warp order.
constexpr const char* order_kernel = R"(
__device__ __forceinline__ int pto_order_class(long long bytes, long long smallest) {
  if (bytes < 0) return 256;  // no task
  const unsigned long long key = (unsigned long long)(bytes - smallest) + 1ULL;
  const int e = 63 - __clzll(key);
  const int m = e >= 2 ? (int)((key >> (e - 2)) & 3ULL) : (int)((key << (2 - e)) & 3ULL);
  return (63 - e) * 4 + (3 - m);
}

extern "C" __global__ void __launch_bounds__(1024) @SYMBOL@(const long long* __restrict__ in,
    const long long* __restrict__ task_bytes, int* __restrict__ order) {
  constexpr int classes = 257, none = 257;
  __shared__ int start[classes];
  __shared__ int warp_start[32][classes];
  __shared__ unsigned long long smallest;
  const long long first = in[@FIRST@ + blockIdx.x], count = in[@SLOTS@ + blockIdx.x];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int c = threadIdx.x; c < classes; c += blockDim.x) start[c] = 0;
  if (threadIdx.x == 0) smallest = ~0ULL;
  __syncthreads();
  for (long long k = threadIdx.x; k < count; k += blockDim.x) {
    const long long b = task_bytes[first + k];
    if (b >= 0) atomicMin(&smallest, (unsigned long long)b);
  }
  __syncthreads();
  const long long low = (long long)smallest;
  for (long long k = threadIdx.x; k < count; k += blockDim.x) {
    atomicAdd(&start[pto_order_class(task_bytes[first + k], low)], 1);
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int run = 0;
    for (int c = 0; c < classes; ++c) {
      const int n = start[c];
      start[c] = run;
      run += n;
    }
  }
  __syncthreads();
  for (long long chunk = 0; chunk < count; chunk += blockDim.x) {
    const long long k = chunk + threadIdx.x;
    const int cls = k < count ? pto_order_class(task_bytes[first + k], low) : none;
    for (int i = threadIdx.x; i < 32 * classes; i += blockDim.x) warp_start[i / classes][i % classes] = 0;
    __syncthreads();
    const unsigned peers = __match_any_sync(0xffffffffu, cls);
    const int rank = __popc(peers & ((1u << lane) - 1u));
    if (cls != none && lane == __ffs(peers) - 1) warp_start[warp][cls] = __popc(peers);
    __syncthreads();
    for (int c = threadIdx.x; c < classes; c += blockDim.x) {
      int run = start[c];
      for (int w = 0; w < 32; ++w) {
        const int n = warp_start[w][c];
        warp_start[w][c] = run;
        run += n;
      }
      start[c] = run;
    }
    __syncthreads();
    if (cls != none) order[first + warp_start[warp][cls] + rank] = (int)k;
    __syncthreads();
  }
}
)";

std::string hex_double(double value) {
  return fmt::format("{:a}", value);  // exact (a C++17 hexadecimal floating literal)
}

class Renderer {
 public:
  Renderer(const CompiledTasks& compiled, Words words) : compiled_(compiled), words_(words) {}

  // The statement's body: calls at their columns from `column`; returns the columns used.
  int body(const std::vector<CompiledStatement>& list, int column, std::string& out) {
    int used = 0;
    for (const CompiledStatement& s : list) {
      if (s.kind == Statement::Kind::call) {
        out += fmt::format("if (column == {}) {{\n", column + used);
        call(compiled_.sites()[static_cast<std::size_t>(s.site)], out);
        out += "}\n";
        ++used;
        continue;
      }
      const std::string prefix = next_prefix();
      out += "{\n" + s.block.render_cuda(prefix, names(), compiled_.leaves(), "return false;");
      std::string then_code, otherwise_code;
      const int then_columns = body(s.body, column + used, then_code);
      const int otherwise_columns = body(s.otherwise, column + used, otherwise_code);
      out += fmt::format("if ({}{} != 0) {{\n{}}} else {{\n{}}}\n}}\n", prefix, s.first, then_code, otherwise_code);
      used += std::max(then_columns, otherwise_columns);
    }
    return used;
  }

 private:
  ExprBlock::CudaNames names() const {
    const Words words = words_;
    return {[](int slot) { return fmt::format("v{}", slot); },
            [words](int index) { return fmt::format("in[{}]", words.size(index)); },
            [words](int t) { return fmt::format("((const unsigned char*)in[{}])", words.table(t)); },
            [words](int t) { return fmt::format("in[{}]", words.rows(t)); }};
  }

  std::string next_prefix() { return fmt::format("b{}_", blocks_++); }

  void call(const SiteRecipe& site, std::string& out) {
    const std::string p = next_prefix();
    const ExprBlock::CudaNames leaf_names = names();
    out += site.block.render_cuda(p, leaf_names, compiled_.leaves(), "return false;");
    const auto r = [&](int reg) { return p + std::to_string(reg); };
    out += "int tier = 0;\n";
    if (site.tier >= 0) {
      out += fmt::format("if ({0} < 0 || {0} >= {1}) return false;\ntier = (int){0};\n", r(site.tier),
                         site.kernels.size());
    }
    std::string kernels;
    for (const int k : site.kernels) kernels += (kernels.empty() ? "" : ", ") + std::to_string(k);
    for (std::size_t i = 0; i < site.args.size(); ++i) {
      const ArgRecipe& arg = site.args[i];
      const std::string slot = fmt::format("out[{}]", i);
      if (arg.kind == ArgRecipe::Kind::number) {
        out += fmt::format("{}.number = {};\n", slot, hex_double(arg.number));
        continue;
      }
      if (arg.kind == ArgRecipe::Kind::integer) {
        out += fmt::format("{{\nconst long long value = {};\n", r(arg.value));
        if (arg.check_i32) out += "if (value < -2147483648LL || value > 2147483647LL) return false;\n";
        if (arg.to_number) {
          out += fmt::format("{}.number = (double)value;\n}}\n", slot);
        } else {
          out += fmt::format("{0}.integer = value;\n{0}.number = (double)value;\n}}\n", slot);
        }
        continue;
      }
      // A view: its bounds, its slot and check_binding's shape rules, as the host resolves it.
      out += "{\n";
      for (const ArgRecipe::Bound& b : arg.bounds) {
        out += fmt::format("if (!({0} >= 0 && {1} >= 0 && {0} <= {2} && {1} <= {2} - {0})) return false;\n", r(b.value),
                           r(b.count), r(b.extent));
      }
      std::string rows = "1", cols = "1", stride = "1";
      if (arg.rank == 1) cols = stride = r(arg.cols);
      if (arg.rank == 2) {
        rows = r(arg.rows);
        cols = r(arg.cols);
        stride = arg.row_stride != 0 ? fmt::format("{}LL", arg.row_stride) : cols;
      }
      out += fmt::format("const long long rows = {}, cols = {}, stride = {};\n", rows, cols, stride);
      out += "if (rows < 0 || cols < 0 || stride < cols) return false;\n";
      if (arg.want_rows != ir::dynamic_extent) out += fmt::format("if (rows != {}LL) return false;\n", arg.want_rows);
      if (arg.want_cols != ir::dynamic_extent) out += fmt::format("if (cols != {}LL) return false;\n", arg.want_cols);
      out += fmt::format(
          "{0}.data = (void*)((unsigned long long)in[{1}] + (unsigned long long)({2} * {3}LL));\n"
          "{0}.rows = rows;\n{0}.cols = cols;\n{0}.stride = stride;\n*bytes += rows * cols * {3}LL;\n}}\n",
          slot, words_.base(arg.tensor), r(arg.offset), arg.element);
    }
    out += fmt::format("{{\nconst int kernels[] = {{{}}};\n*kernel = kernels[tier];\n}}\nreturn true;\n", kernels);
  }

  const CompiledTasks& compiled_;
  Words words_;
  int blocks_ = 0;
};

}  // namespace

std::string DeviceEnumeration::unsupported(const Workload& workload, const CompiledTasks& compiled) {
  for (const Tensor& tensor : compiled.tensors()) {
    if (!tensor.on_device())
      return fmt::format("host tensor '{}' (its device copy is placed by the host)", tensor.name());
  }
  return unsupported_structure(workload, compiled);
}

std::string DeviceEnumeration::unsupported_structure(const Workload& workload, const CompiledTasks& compiled) {
  if (workload.schedule().dispatch.kind != Dispatch::Kind::work_steal)
    return "only Dispatch::work_steal() (a persistent kernel)";
  if (std::string problem = stage_structure_problem(workload, compiled); !problem.empty()) return problem;
  std::string problem;
  for (const CompiledStatement& s : compiled.statements()) {
    for_each_site(s.body, [&](int site) {
      for (const ArgRecipe& arg : compiled.sites()[static_cast<std::size_t>(site)].args)
        if (arg.check_float && arg.param_dtype != DType::f32) problem = "an integer bound to a non-f32 float scalar";
    });
  }
  return problem;
}

DeviceEnumeration::DeviceEnumeration(const Workload& workload, const CompiledTasks& compiled, int slots_per_task)
    : sizes_(static_cast<int>(compiled.leaves().sizes().size())),
      tables_(static_cast<int>(compiled.leaves().tables().size())),
      tensors_(static_cast<int>(compiled.tensors().size())),
      statements_(static_cast<int>(compiled.statements().size())),
      stages_(workload.schedule().deps.kind == Deps::Kind::stages) {
  if (std::string problem = unsupported_structure(workload, compiled); !problem.empty())
    throw InternalError("device enumeration of a workload it does not support: " + problem);
  const Words words{sizes_, tables_, tensors_, statements_};
  Renderer renderer(compiled, words);
  std::string functions;
  for (int s = 0; s < statements_; ++s) {
    const CompiledStatement& statement = compiled.statements()[static_cast<std::size_t>(s)];
    std::string body;
    columns_.push_back(std::max(renderer.body(statement.body, 0, body), 1));
    functions += fmt::format(
        "__device__ bool pto_statement_{}(const long long* __restrict__ in, long long v{}, int column,\n"
        "    pto::ArgSlot* __restrict__ out, int* __restrict__ kernel, long long* __restrict__ bytes) {{\n"
        "(void)in;\n{}return true;\n}}\n\n",
        s, statement.slot, body);
    std::vector<int> kernels;
    for_each_site(statement.body, [&](int site) {
      for (const int k : compiled.sites()[static_cast<std::size_t>(site)].kernels) kernels.push_back(k);
    });
    statement_kernels_.push_back(std::move(kernels));
  }
  const std::string hash = ir::hash_hex(fnv1a(functions.data(), functions.size()));
  enumerate_symbol_ = "pto_enumerate_" + hash;
  order_symbol_ = "pto_order_" + hash;
  std::string dispatch, columns;
  for (int s = 0; s < statements_; ++s) {
    dispatch += fmt::format(
        "      case {0}: ok = pto_statement_{0}(in, in[{1}] + iteration, column, out, &kernel, "
        "&bytes); break;\n",
        s, words.begin(s));
    columns += (columns.empty() ? "" : ", ") + std::to_string(columns_[static_cast<std::size_t>(s)]);
  }
  // The header, read once per CTA from the page-locked block into shared memory: a task
  // reads its words again and again, one after another, and each read of host memory
  // crosses the bus. (A header too large for that is read where it is.)
  const std::string header = words.count() <= header_words_in_shared
                                 ? fmt::format(
                                       "  __shared__ long long header[{0}];\n"
                                       "  for (int i = threadIdx.x; i < {0}; i += blockDim.x) header[i] = block[i];\n"
                                       "  __syncthreads();\n  const long long* in = header;\n",
                                       words.count())
                                 : std::string("  const long long* in = block;\n");
  source_ = fmt::format(
      "// Device enumeration over {0} statements, generated by PTO-RT (frontend/device_enumeration.hpp).\n"
      "#include \"{1}\"\n\n"
      "namespace pto {{\ntemplate <typename T>\n__device__ __forceinline__ long long read_int(const unsigned char* at) "
      "{{\n  T value;\n  for (unsigned i = 0; i < sizeof(T); ++i) ((unsigned char*)&value)[i] = at[i];  // any "
      "alignment\n"
      "  return (long long)value;\n}}\n}}  // namespace "
      "pto\n\n{2}"
      "extern \"C\" __global__ void {3}(const long long* __restrict__ block, pto::ArgSlot* __restrict__ slots,\n"
      "    int* __restrict__ kernel_of, long long* __restrict__ task_bytes, unsigned long long* __restrict__ "
      "counters) {{\n"
      "{13}"
      "  const int columns[] = {{{4}}};\n"
      "  const long long total = in[{5}];\n"
      "  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < total;\n"
      "       t += (long long)gridDim.x * blockDim.x) {{\n"
      "    int s = 0;\n"
      "    while (s + 1 < {0} && t >= in[{6} + s + 1]) ++s;\n"
      "    const long long local = t - in[{6} + s];\n"
      "    const long long iteration = local / columns[s];\n"
      "    const int column = (int)(local % columns[s]);\n"
      "    pto::ArgSlot* out = slots + t * {7};\n"
      "    for (int k = 0; k < {7}; ++k) out[k] = pto::ArgSlot();\n"
      "    int kernel = -1;\n    long long bytes = 0;\n    bool ok = true;\n"
      "    switch (s) {{\n{8}      default: break;\n    }}\n"
      "    if (!ok) {{\n      atomicAdd(&counters[{9}], 1ULL);\n      kernel = -1;\n    }}\n"
      "    kernel_of[t] = kernel;\n    task_bytes[t] = kernel >= 0 ? bytes : -1;\n"
      "    if (kernel >= 0) {{\n      atomicAdd(&counters[{10}], 1ULL);\n"
      "      atomicAdd(&counters[{11}], (unsigned long long)bytes);\n"
      "      atomicAdd(&counters[{12} + s], 1ULL);\n    }}\n  }}\n}}\n",
      statements_, cuda::support_header_name, functions, enumerate_symbol_, columns, words.total(), words.first(0),
      slots_per_task, dispatch, counter_failed, counter_tasks, counter_bytes, counter_statements, header);
  std::string order = order_kernel;
  const auto put = [&](const std::string& key, const std::string& value) {
    for (std::size_t at = order.find(key); at != std::string::npos; at = order.find(key, at + value.size()))
      order.replace(at, key.size(), value);
  };
  put("@SYMBOL@", order_symbol_);
  put("@FIRST@", std::to_string(words.first(0)));
  put("@SLOTS@", std::to_string(words.slots(0)));
  source_ += order;
}

DeviceEnumeration::Planned DeviceEnumeration::plan(CompiledTasks& compiled, const SizeBindings& sizes,
                                                   const std::vector<std::int64_t>& kernel_tile_bytes,
                                                   Execution& out) const {
  // A size not bound fails only where the reference reaches it: the host path decides.
  for (const std::string& name : compiled.leaves().sizes()) {
    if (std::none_of(sizes.begin(), sizes.end(), [&](const auto& bound) { return bound.first == name; }))
      return Planned::on_host;
  }
  const CodeInputs& inputs = compiled.prepare(sizes);
  out.statements.clear();
  out.slots = 0;
  for (int s = 0; s < statements_; ++s) {
    const CompiledStatement& statement = compiled.statements()[static_cast<std::size_t>(s)];
    if (!statement.block.run(inputs)) return Planned::failed;
    const std::int64_t begin = statement.block[statement.first], end = statement.block[statement.second];
    if (begin > end) return Planned::failed;
    Statement placed;
    placed.first = out.slots;
    // iterations x columns, checked: a slot index must fit the kernels' int task indices.
    const std::int64_t columns = columns_[static_cast<std::size_t>(s)];
    std::int64_t iterations = 0;
    if (__builtin_sub_overflow(end, begin, &iterations) ||
        iterations > (std::numeric_limits<std::int32_t>::max() - out.slots) / columns) {
      throw Error(
          fmt::format("device enumeration: statement {} runs from {} to {} with {} task slots per iteration, "
                      "more than 2^31 - 1 slots in one execution",
                      s, begin, end, columns));
    }
    placed.slots = iterations * columns;
    placed.begin = begin;
    placed.level = stages_ ? s : 0;
    for (const int k : statement_kernels_[static_cast<std::size_t>(s)])
      placed.tile_bytes = std::max(placed.tile_bytes, kernel_tile_bytes[static_cast<std::size_t>(k)]);
    out.slots += placed.slots;
    out.statements.push_back(placed);
  }
  const Words words{sizes_, tables_, tensors_, statements_};
  std::size_t at = static_cast<std::size_t>(words.count()) * sizeof(std::int64_t);
  out.table_offsets.clear();
  for (const TableSource* table : compiled.leaves().tables()) {
    at = (at + 15) / 16 * 16;
    out.table_offsets.push_back(at);
    at += static_cast<std::size_t>(table->rows()) * table->row_bytes();
  }
  out.input_bytes = at;
  out.counter_bytes = static_cast<std::size_t>(counter_statements + std::max(statements_, 1)) * sizeof(std::int64_t);
  return Planned::on_device;
}

void DeviceEnumeration::write_inputs(const CompiledTasks& compiled, const SizeBindings& sizes,
                                     const Execution& execution, std::byte* host, std::uint64_t device) const {
  const Words words{sizes_, tables_, tensors_, statements_};
  auto* word = reinterpret_cast<std::int64_t*>(host);
  std::fill(word, word + words.count(), 0);
  for (int i = 0; i < sizes_; ++i) {
    for (const auto& [name, value] : sizes)
      if (name == compiled.leaves().sizes()[static_cast<std::size_t>(i)]) word[words.size(i)] = value;
  }
  const auto& tables = compiled.leaves().tables();
  for (int t = 0; t < tables_; ++t) {
    const TableSource& table = *tables[static_cast<std::size_t>(t)];
    word[words.rows(t)] = table.rows();
    word[words.table(t)] = static_cast<std::int64_t>(device + execution.table_offsets[static_cast<std::size_t>(t)]);
    std::copy_n(table.data(), static_cast<std::size_t>(table.rows()) * table.row_bytes(),
                host + execution.table_offsets[static_cast<std::size_t>(t)]);
  }
  for (int k = 0; k < tensors_; ++k) {
    word[words.base(k)] = static_cast<std::int64_t>(
        reinterpret_cast<std::uintptr_t>(compiled.tensors()[static_cast<std::size_t>(k)].data()));
  }
  for (int s = 0; s < statements_; ++s) {
    const Statement& statement = execution.statements[static_cast<std::size_t>(s)];
    word[words.first(s)] = statement.first;
    word[words.slots(s)] = statement.slots;
    word[words.begin(s)] = statement.begin;
  }
  word[words.total()] = execution.slots;
}

DeviceEnumeration::Counts DeviceEnumeration::read_counts(const std::byte* counters) const {
  const auto* word = reinterpret_cast<const std::int64_t*>(counters);
  Counts out;
  out.failed = word[counter_failed] != 0;
  out.tasks = word[counter_tasks];
  out.bytes = word[counter_bytes];
  out.per_statement.assign(word + counter_statements, word + counter_statements + statements_);
  return out;
}

}  // namespace pto
