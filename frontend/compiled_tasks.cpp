#include "frontend/compiled_tasks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <limits>
#include <map>
#include <optional>

#include "core/error.hpp"
#include "dsl/type_rules.hpp"
#include "frontend/expr_code.hpp"
#include "frontend/task_recipes.hpp"
#include "runtime/cell_tracker.hpp"

namespace pto {

struct CompiledTasks::State {
  const Workload* workload = nullptr;
  Deps::Kind deps = Deps::Kind::infer;
  ExprLeaves leaves;
  std::vector<const tl::KernelInstance*> instances;
  std::map<std::uint64_t, int> instance_index;  // by structural hash
  std::vector<Tensor> tensors;
  std::vector<char> tracked;
  std::vector<SiteRecipe> sites;
  std::vector<CompiledStatement> statements;
  std::vector<const ExprBlock*> blocks;  // every statement's and call site's, for prepare()

  // One execution's state, reused.
  std::vector<TableSnapshot> tables;
  std::vector<std::int64_t> sizes, vars;
  std::unique_ptr<bool[]> size_bound;
  DependencyTracker tracker;  // tracked tensors not in cells
  CellTracker cells_tracker;
  std::vector<ByteRange> reads, writes;
  std::vector<CellTracker::Access> cell_reads, cell_writes;
  std::vector<TaskId> inferred, after, seen;
  std::vector<std::vector<TaskId>*> collectors;
  TaskList* list = nullptr;
  CodeInputs inputs;

  // ---- compiling ------------------------------------------------------------------------

  int tensor_index(const Tensor& tensor) {
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      if (tensors[i].data() == tensor.data() && tensors[i].footprint_bytes() == tensor.footprint_bytes())
        return static_cast<int>(i);
    }
    tensors.push_back(tensor);
    return static_cast<int>(tensors.size() - 1);
  }

  ArgRecipe compile_view(const View& view, const ir::Param& param, ExprBlock& block) {
    ArgRecipe arg;
    arg.kind = ArgRecipe::Kind::view;
    arg.tensor = tensor_index(view.tensor());
    arg.base = static_cast<std::byte*>(view.tensor().data());
    arg.element = size_bytes(view.dtype());
    arg.rank = view.rank();
    arg.fails = !param.type.is_scalar() ? view.dtype() != param.type.dtype || arg.base == nullptr : true;
    for (const View::Check& check : view.checks()) {
      arg.bounds.push_back(
          {block.add(check.value, leaves), block.add(check.count, leaves), block.add(check.extent, leaves)});
    }
    arg.offset = block.add(view.offset(), leaves);
    if (arg.rank >= 1) arg.cols = block.add(view.dims().back().extent, leaves);
    if (arg.rank == 2) {
      arg.rows = block.add(view.dims()[0].extent, leaves);
      arg.row_stride = view.dims()[0].stride;
    }
    // What the view's bytes are multiples of (power_of_two_exponent): its offset, its row
    // length and its row stride, in elements, times the element size.
    int exponent = power_of_two_exponent(view.offset());
    if (arg.rank >= 1) exponent = std::min(exponent, power_of_two_exponent(view.dims().back().extent));
    if (arg.rank == 0) exponent = 0;
    if (arg.rank == 2 && arg.row_stride != 0)
      exponent = std::min(exponent, std::countr_zero(static_cast<std::uint64_t>(arg.row_stride)));
    arg.byte_exponent = std::countr_zero(static_cast<std::uint64_t>(arg.element)) + exponent;
    arg.want_rows = param.type.rows;
    arg.want_cols = param.type.cols;
    arg.reads = param.role != ir::ParamRole::out;
    arg.writes = param.role != ir::ParamRole::in;
    return arg;
  }

  ArgRecipe compile_scalar(const CallArg& call_arg, const ir::Param& param, ExprBlock& block) {
    ArgRecipe arg;
    arg.param_dtype = param.type.dtype;
    arg.fails = !param.type.is_scalar();
    if (const auto* integer = std::get_if<Expr>(&call_arg.value())) {
      arg.kind = ArgRecipe::Kind::integer;
      arg.value = block.add(*integer, leaves);
      arg.to_number = !is_integer(param.type.dtype);
      arg.check_i32 = param.type.dtype == DType::i32;
      arg.check_float = arg.to_number && is_float(param.type.dtype);
    } else {
      arg.kind = ArgRecipe::Kind::number;
      arg.number = std::get<double>(call_arg.value());
      if (is_integer(param.type.dtype)) arg.fails = true;  // a float bound to an integer parameter
      if (is_float(param.type.dtype) && !ir::check_number(param.type.dtype, arg.number).empty()) arg.fails = true;
    }
    return arg;
  }

  int compile_site(const CallSite& site) {
    SiteRecipe recipe;
    recipe.site = &site;
    for (const tl::KernelInstance& instance : site.instances) {
      auto [found, inserted] = instance_index.try_emplace(instance.hash(), static_cast<int>(instances.size()));
      if (inserted) instances.push_back(&instance);
      recipe.kernels.push_back(found->second);
    }
    if (site.tier) recipe.tier = recipe.block.add(*site.tier, leaves);
    // Every instance of a family has the same parameters; the first one's are checked.
    const ir::Kernel& kernel = site.instances.front().ir();
    for (std::size_t i = 0; i < site.args.size(); ++i) {
      const ir::Param& param = kernel.params[i];
      const auto& value = site.args[i].value();
      if (const auto* view = std::get_if<View>(&value)) {
        recipe.args.push_back(compile_view(*view, param, recipe.block));
      } else {
        recipe.args.push_back(compile_scalar(site.args[i], param, recipe.block));
      }
      recipe.tensors.push_back(recipe.args.back().tensor);
    }
    sites.push_back(std::move(recipe));
    return static_cast<int>(sites.size() - 1);
  }

  std::vector<CompiledStatement> compile(const std::vector<Statement>& statements_in) {
    std::vector<CompiledStatement> out;
    for (const Statement& s : statements_in) {
      CompiledStatement c;
      c.kind = s.kind;
      c.slot = s.slot;
      switch (s.kind) {
        case Statement::Kind::call: c.site = compile_site(*s.call); break;
        case Statement::Kind::when: c.first = c.block.add(s.predicate, leaves); break;
        case Statement::Kind::parallel_for:
        case Statement::Kind::for_each:
        case Statement::Kind::select:
          c.first = c.block.add(s.axis.begin, leaves);
          c.second = c.block.add(s.axis.end, leaves);
          break;
      }
      c.body = compile(s.body);
      c.otherwise = compile(s.otherwise);
      out.push_back(std::move(c));
    }
    return out;
  }

  // Deps::infer needs a tensor's bytes only when some call writes them: written tensors, and
  // tensors whose memory overlaps a written one.
  void decide_tracking() {
    std::vector<char> written(tensors.size(), 0);
    for (const SiteRecipe& site : sites) {
      for (const ArgRecipe& arg : site.args) {
        if (arg.kind == ArgRecipe::Kind::view && arg.writes) written[static_cast<std::size_t>(arg.tensor)] = 1;
      }
    }
    tracked.assign(tensors.size(), 0);
    const auto span_of = [&](std::size_t i) {
      const auto* begin = static_cast<const std::byte*>(tensors[i].data());
      return std::make_pair(begin, begin + tensors[i].footprint_bytes());
    };
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      for (std::size_t w = 0; w < tensors.size() && tracked[i] == 0; ++w) {
        if (written[w] == 0) continue;
        const auto [a_begin, a_end] = span_of(i);
        const auto [b_begin, b_end] = span_of(w);
        if (w == i || (a_begin < b_end && b_begin < a_end)) tracked[i] = 1;
      }
    }
    for (SiteRecipe& site : sites) {
      for (ArgRecipe& arg : site.args) {
        if (arg.kind == ArgRecipe::Kind::view) arg.tracked = tracked[static_cast<std::size_t>(arg.tensor)] != 0;
      }
    }
    decide_cells();
  }

  // A tracked tensor overlapping no other tensor of the workload is tracked in cells of the
  // largest power of two that all its views' offsets, row lengths and row strides are
  // multiples of, when that makes at most max_cells cells: then every access covers whole
  // cells, and cells meet exactly when bytes do.
  static constexpr std::int64_t max_cells = std::int64_t{1} << 20;
  void decide_cells() {
    std::vector<int> exponent(tensors.size(), 62);
    for (const SiteRecipe& site : sites) {
      for (const ArgRecipe& arg : site.args) {
        if (arg.kind != ArgRecipe::Kind::view) continue;
        auto& e = exponent[static_cast<std::size_t>(arg.tensor)];
        e = std::min(e, arg.byte_exponent);
      }
    }
    std::vector<int> region(tensors.size(), -1);
    for (std::size_t t = 0; t < tensors.size(); ++t) {
      if (tracked[t] == 0) continue;
      const auto* begin = static_cast<const std::byte*>(tensors[t].data());
      const std::int64_t bytes = tensors[t].footprint_bytes();
      bool alone = true;
      for (std::size_t u = 0; u < tensors.size() && alone; ++u) {
        const auto* other = static_cast<const std::byte*>(tensors[u].data());
        if (u != t && begin < other + tensors[u].footprint_bytes() && other < begin + bytes) alone = false;
      }
      const int shift = std::min(exponent[t], 40);
      const std::int64_t cells = (bytes >> shift) + ((bytes & ((std::int64_t{1} << shift) - 1)) != 0 ? 1 : 0);
      if (!alone || cells > max_cells) continue;
      region[t] = cells_tracker.add_region(cells);
      exponent[t] = shift;
    }
    for (SiteRecipe& site : sites) {
      for (ArgRecipe& arg : site.args) {
        if (arg.kind != ArgRecipe::Kind::view || region[static_cast<std::size_t>(arg.tensor)] < 0) continue;
        arg.cell_region = region[static_cast<std::size_t>(arg.tensor)];
        arg.cell_shift = exponent[static_cast<std::size_t>(arg.tensor)];
      }
    }
  }

  // ---- enumerating ----------------------------------------------------------------------

  bool run(const std::vector<CompiledStatement>& statements_in) {
    for (const CompiledStatement& s : statements_in) {
      if (!run_one(s)) return false;
    }
    return true;
  }

  bool run_one(const CompiledStatement& s) {
    if (s.kind == Statement::Kind::call) return call(sites[static_cast<std::size_t>(s.site)]);
    if (!s.block.run(inputs)) return false;
    if (s.kind == Statement::Kind::when) return s.block[s.first] != 0 ? run(s.body) : run(s.otherwise);
    const std::int64_t begin = s.block[s.first], end = s.block[s.second];
    if (begin > end) return false;
    auto& var = vars[static_cast<std::size_t>(s.slot)];
    if (s.kind != Statement::Kind::for_each) {
      for (std::int64_t i = begin; i < end; ++i) {
        var = i;
        if (!run(s.body)) return false;
      }
      return true;
    }
    const std::vector<TaskId> outer_after = after;
    for (std::int64_t i = begin; i < end; ++i) {
      var = i;
      std::vector<TaskId> iteration;
      collectors.push_back(&iteration);
      const bool ok = run(s.body);
      collectors.pop_back();
      if (!ok) return false;
      if (!iteration.empty()) join(std::move(iteration));  // iteration i+1 follows iteration i
    }
    after = outer_after;  // later statements are ordered by Deps, not by this loop
    return true;
  }

  // Later tasks follow all of `tasks`: through the task itself when it is one, else through
  // a join after all of them (m followers add m edges, not m x n).
  void join(std::vector<TaskId> tasks) {
    if (tasks.size() <= 1) {
      after = std::move(tasks);
      return;
    }
    TaskList& out = *list;
    TaskList::Node node;
    node.first_after = static_cast<std::int64_t>(out.after.size());
    out.after.insert(out.after.end(), tasks.begin(), tasks.end());
    node.end_after = static_cast<std::int64_t>(out.after.size());
    const auto id = static_cast<TaskId>(out.nodes.size());
    out.nodes.push_back(node);
    for (std::vector<TaskId>* collector : collectors) collector->push_back(id);
    after.assign(1, id);
  }

  bool resolve_view(const ArgRecipe& arg, const ExprBlock& block, ArgSlot& slot, std::int64_t& bytes) {
    if (!resolve_view_slot(arg, block.registers(), slot, bytes)) return false;
    if (deps == Deps::Kind::infer && arg.tracked && arg.cell_region >= 0) {
      const auto offset = static_cast<std::int64_t>(static_cast<const std::byte*>(slot.data) - arg.base);
      const std::int64_t row_bytes = slot.cols * arg.element, stride_bytes = slot.stride * arg.element;
      const std::int64_t unit = (std::int64_t{1} << arg.cell_shift) - 1;
      if (((offset | row_bytes | (slot.rows > 1 ? stride_bytes : 0)) & unit) != 0) {
        throw InternalError("compiled task list: a view is not made of whole cells of its tensor");
      }
      const CellTracker::Access access{arg.cell_region, offset >> arg.cell_shift, row_bytes >> arg.cell_shift,
                                       slot.rows, stride_bytes >> arg.cell_shift};
      if (arg.reads) cell_reads.push_back(access);
      if (arg.writes) cell_writes.push_back(access);
    } else if (deps == Deps::Kind::infer && arg.tracked) {
      const ByteRange range = strided_bytes(slot.data, static_cast<std::size_t>(slot.rows),
                                            static_cast<std::size_t>(slot.cols * arg.element),
                                            static_cast<std::size_t>(slot.stride * arg.element));
      if (arg.reads) reads.push_back(range);
      if (arg.writes) writes.push_back(range);
    }
    return true;
  }

  bool call(const SiteRecipe& site) {
    if (!site.block.run(inputs)) return false;
    std::size_t tier = 0;
    if (site.tier >= 0) {
      const std::int64_t value = site.block[site.tier];
      if (value < 0 || value >= static_cast<std::int64_t>(site.kernels.size())) return false;
      tier = static_cast<std::size_t>(value);
    }
    TaskList& out = *list;
    TaskList::Node node;
    node.kernel = site.kernels[tier];
    node.site = static_cast<int>(&site - sites.data());
    node.first_slot = static_cast<std::int64_t>(out.slots.size());
    out.slots.resize(out.slots.size() + site.args.size());
    ArgSlot* slots = out.slots.data() + node.first_slot;
    reads.clear();
    writes.clear();
    cell_reads.clear();
    cell_writes.clear();
    for (std::size_t i = 0; i < site.args.size(); ++i) {
      const ArgRecipe& arg = site.args[i];
      if (arg.fails) return false;
      if (arg.kind == ArgRecipe::Kind::view) {
        if (!resolve_view(arg, site.block, slots[i], node.bytes)) return false;
        out.used[static_cast<std::size_t>(arg.tensor)] = 1;
        if (arg.writes) out.written[static_cast<std::size_t>(arg.tensor)] = 1;
      } else if (!resolve_scalar_slot(arg, site.block.registers(), slots[i])) {
        return false;
      }
    }
    const auto id = static_cast<TaskId>(out.nodes.size());
    node.first_after = static_cast<std::int64_t>(out.after.size());
    out.after.insert(out.after.end(), after.begin(), after.end());
    if (!reads.empty() || !writes.empty() || !cell_reads.empty() || !cell_writes.empty()) {
      // Inferred predecessors, each once, none already an explicit one (`seen` marks them).
      if (seen.size() <= static_cast<std::size_t>(id)) seen.resize(static_cast<std::size_t>(id) * 2 + 1, -1);
      for (const TaskId before : after) seen[static_cast<std::size_t>(before)] = id;
      inferred.clear();
      if (!reads.empty() || !writes.empty()) tracker.access(id, reads, writes, inferred);
      for (const TaskId before : inferred) {
        if (seen[static_cast<std::size_t>(before)] == id) continue;
        seen[static_cast<std::size_t>(before)] = id;
        out.after.push_back(before);
      }
      if (!cell_reads.empty() || !cell_writes.empty()) {
        inferred.clear();
        cells_tracker.access(id, cell_reads, cell_writes, inferred, seen);
        out.after.insert(out.after.end(), inferred.begin(), inferred.end());
      }
    }
    node.end_after = static_cast<std::int64_t>(out.after.size());
    if (!vars.empty()) node.key = static_cast<std::uint64_t>(vars[0]);
    node.ordinal = out.tasks;
    out.nodes.push_back(node);
    for (std::vector<TaskId>* collector : collectors) collector->push_back(id);
    ++out.tasks;
    out.bytes += node.bytes;
    return true;
  }
};

CompiledTasks::CompiledTasks(const Workload& workload) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.workload = &workload;
  s.deps = workload.schedule().deps.kind;
  s.statements = s.compile(workload.statements());
  s.decide_tracking();
  s.vars.assign(static_cast<std::size_t>(workload.index_slots()), 0);
  const auto collect = [&](const std::vector<CompiledStatement>& list, auto& self) -> void {
    for (const CompiledStatement& statement : list) {
      s.blocks.push_back(&statement.block);
      self(statement.body, self);
      self(statement.otherwise, self);
    }
  };
  collect(s.statements, collect);
  for (const SiteRecipe& site : s.sites) s.blocks.push_back(&site.block);
  s.tables.resize(s.leaves.tables().size());
  s.sizes.assign(s.leaves.sizes().size(), 0);
  s.size_bound = std::make_unique<bool[]>(std::max<std::size_t>(s.sizes.size(), 1));
}

CompiledTasks::~CompiledTasks() = default;
CompiledTasks::CompiledTasks(CompiledTasks&&) noexcept = default;
CompiledTasks& CompiledTasks::operator=(CompiledTasks&&) noexcept = default;

const std::vector<const tl::KernelInstance*>& CompiledTasks::instances() const noexcept {
  return state_->instances;
}
const std::vector<Tensor>& CompiledTasks::tensors() const noexcept {
  return state_->tensors;
}
const std::vector<int>& CompiledTasks::site_tensors(int site) const {
  return state_->sites.at(static_cast<std::size_t>(site)).tensors;
}
bool CompiledTasks::tracked(int tensor) const {
  return state_->tracked.at(static_cast<std::size_t>(tensor)) != 0;
}

const std::vector<CompiledStatement>& CompiledTasks::statements() const noexcept {
  return state_->statements;
}
const std::vector<SiteRecipe>& CompiledTasks::sites() const noexcept {
  return state_->sites;
}
const ExprLeaves& CompiledTasks::leaves() const noexcept {
  return state_->leaves;
}

const CodeInputs& CompiledTasks::prepare(const SizeBindings& sizes) {
  State& s = *state_;
  for (std::size_t i = 0; i < s.tables.size(); ++i) {
    const TableSource& table = *s.leaves.tables()[i];
    s.tables[i] = {table.data(), table.rows(), table.row_bytes()};
  }
  for (std::size_t i = 0; i < s.sizes.size(); ++i) {
    s.size_bound[i] = false;
    for (const auto& [name, value] : sizes) {
      if (name == s.leaves.sizes()[i]) {
        s.sizes[i] = value;
        s.size_bound[i] = true;
      }
    }
  }
  std::fill(s.vars.begin(), s.vars.end(), 0);  // as the reference: an index not yet set is 0
  s.inputs = {s.vars.data(), s.sizes.data(), s.size_bound.get(), s.tables.data()};
  for (const ExprBlock* block : s.blocks) block->prepare(s.inputs);
  return s.inputs;
}

bool CompiledTasks::enumerate(const SizeBindings& sizes, TaskList& list) {
  State& s = *state_;
  list.nodes.clear();
  list.slots.clear();
  list.after.clear();
  list.used.assign(s.tensors.size(), 0);
  list.written.assign(s.tensors.size(), 0);
  list.tasks = list.bytes = 0;
  prepare(sizes);
  s.tracker = DependencyTracker();
  s.cells_tracker.reset();
  std::fill(s.seen.begin(), s.seen.end(), -1);
  s.after.clear();
  s.collectors.clear();
  s.list = &list;
  try {
    if (s.deps != Deps::Kind::stages) return s.run(s.statements);
    // Deps::stages: each top-level statement's tasks wait for all tasks of the one before.
    for (const CompiledStatement& statement : s.statements) {
      std::vector<TaskId> stage;
      s.collectors.push_back(&stage);
      const bool ok = s.run_one(statement);
      s.collectors.pop_back();
      if (!ok) return false;
      if (!stage.empty()) s.join(std::move(stage));
    }
    return true;
  } catch (const Error&) {
    return false;  // strided_bytes: a byte set past the address space (the reference reports it)
  }
}

namespace {

// Takes the reference enumerator's tasks and drops them: only its errors are wanted.
class DiscardingSink final : public TaskSink {
 public:
  TaskId add(CallTask, std::vector<TaskId>) override { return next_++; }
  TaskId join(std::vector<TaskId>) override { return next_++; }

 private:
  TaskId next_ = 0;
};

}  // namespace

void throw_enumeration_error(const Workload& workload, const SizeBindings& sizes) {
  DiscardingSink sink;
  TaskEnumerator(workload, sizes, sink).run();
  throw InternalError(fmt::format(
      "workload '{}': the compiled task list failed a check that the reference enumerator passes", workload.name()));
}

}  // namespace pto
