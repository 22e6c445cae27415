#include "frontend/program.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>

#include "core/error.hpp"
#include "dsl/interpreter.hpp"
#include "frontend/compiled_tasks.hpp"
#include "frontend/worker_enumeration.hpp"
#include "runtime/arg_slot.hpp"
#include "runtime/build_config.hpp"
#include "runtime/cpu/cpu_kernel.hpp"
#include "runtime/task_graph.hpp"
#if PTO_HAVE_CUDA
#include "frontend/cuda_target.hpp"
#endif

namespace pto {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

using Runner = WorkerEnumeration::Runner;  // one checked slot per parameter (TaskList::slots)

}  // namespace

struct Program::Impl {
  Workload workload;
  Target target;
  std::unique_ptr<sched::Executor> executor;
  std::vector<Runner> runners;  // by CompiledTasks::instances() index
#if PTO_HAVE_CUDA
  std::unique_ptr<CudaTarget> cuda;  // Target::cuda(): replaces the executor and the runners
#endif
  SizeBindings sizes;
  // The sizes the workload's expressions read, for set_size's check (walked once here, not
  // on every set_size of a serving loop).
  std::vector<std::string> readable_sizes;
  std::optional<CompiledTasks> compiled;  // host targets
  TaskList list;                          // the execution in flight (tasks read their slots here)
  // Where the workload's shape allows: the workers enumerate their own tasks
  // (frontend/worker_enumeration.hpp); `on_workers` when the execution in flight does, with
  // the sizes it ran with (for the reference enumerator's error).
  std::unique_ptr<WorkerEnumeration> worker_enumeration;
  bool on_workers = false;
  SizeBindings executed_sizes;
  // Declared after the executor, the runners and the list, so destroyed first: its
  // destructor waits for the tasks that use them. One graph for every execution, reset
  // between them (TaskGraph::reset keeps its memory).
  std::unique_ptr<TaskGraph> graph;
  bool running = false;  // between execute() and synchronize()
  Clock::time_point started;
  std::int64_t steals_before = 0;
  ProgramStats stats;

  Impl(const Workload& w, Target t) : workload(w), target(t), readable_sizes(size_names(w.statements())) {}

  void compile_kernels() {
    compiled.emplace(workload);
    for (const tl::KernelInstance* instance : compiled->instances()) {
      if (target.kind == Target::Kind::cpu) {
        auto kernel = std::make_shared<const cpu::CpuKernel>(*instance);
        runners.emplace_back([kernel](const ArgSlot* slots) { kernel->run_slots(slots); });
      } else {
        runners.emplace_back(
            [instance](const ArgSlot* slots) { interpret_bound(instance->ir(), bindings_for(instance->ir(), slots)); });
      }
      ++stats.kernels_compiled;
    }
    stats.kernels = static_cast<std::int64_t>(runners.size());
  }

  // The list's tasks and joins into the task graph, in order (node ids are graph ids).
  void submit() {
    const Schedule& schedule = workload.schedule();
    TaskOptions options;
    for (const TaskList::Node& node : list.nodes) {
      options.after.assign(list.after.begin() + node.first_after, list.after.begin() + node.end_after);
      if (node.kernel < 0) {
        options.name = "join";
        options.bytes = -1;
        options.stream = -1;
        options.key = 0;
        graph->add([] {}, options);
        continue;
      }
      const tl::KernelInstance& instance = *compiled->instances()[static_cast<std::size_t>(node.kernel)];
      options.name = instance.name();
      options.bytes = node.bytes;
      options.key = node.key;
      options.stream = schedule.streams > 0 ? static_cast<int>(node.ordinal % schedule.streams) : -1;
      const Runner* runner = &runners[static_cast<std::size_t>(node.kernel)];
      const ArgSlot* slots = list.slots.data() + node.first_slot;
      graph->add([runner, slots] { (*runner)(slots); }, options);
    }
  }

  // Worker enumeration (frontend/worker_enumeration.hpp): the invariant parts and the
  // bounds here, one claim loop per worker; false when this execution needs the task list.
  bool execute_on_workers() {
    on_workers = false;
    const WorkerEnumeration::Planned planned = worker_enumeration->begin(sizes);
    if (planned == WorkerEnumeration::Planned::failed) throw_enumeration_error(workload, sizes);
    if (planned == WorkerEnumeration::Planned::on_host) return false;
    const auto enumerated = Clock::now();
    stats.enumerate_ms = std::chrono::duration<double, std::milli>(enumerated - started).count();
    executed_sizes = sizes;
    graph->reset();
    TaskOptions options;
    options.name = "claim loop";
    for (int loop = 0; loop < worker_enumeration->claim_loops(); ++loop) {
      graph->add([this, loop] { worker_enumeration->work(loop, executor->current_worker()); }, options);
    }
    graph->seal();
    stats.submit_ms = ms_since(enumerated);
    on_workers = true;
    running = true;
    ++stats.executions;
    stats.workers_enumerated = true;
    return true;
  }

  // The host targets read host memory: a device tensor is an error naming it.
  void check_host_tensors() const {
    for_each_view(workload.statements(), [&](const View& view, const CallSite& site) {
      if (!view.tensor().on_device()) return;
      throw Error(
          fmt::format("call of '{}': tensor '{}' is in the memory of CUDA device {}; the {} target runs on "
                      "host tensors (Tensor::host or Tensor::wrap), or compile for Target::cuda()",
                      site.kernel_name, view.tensor().name(), view.tensor().device_ordinal(), name(target.kind)),
          site.where);
    });
  }
};

namespace {

sched::GraphOptions graph_options(const Schedule& schedule) {
  sched::GraphOptions options;
  options.start = schedule.start;
  options.window = schedule.window;
  options.streams = schedule.streams;
  options.timing = schedule.timing;
  options.trace = schedule.trace.enabled;
  return options;
}

}  // namespace

Program::Program(const Workload& workload, Target target) : impl_(std::make_unique<Impl>(workload, target)) {
  Impl& p = *impl_;
  p.stats.target = std::string(name(target.kind));
  const Schedule& schedule = workload.schedule();
  if (schedule.pools.threads < 0) {
    throw Error(fmt::format("Pools::workers({}): the worker count must be >= 0 (0: one per hardware thread)",
                            schedule.pools.threads));
  }
  const auto start = Clock::now();
  if (target.kind == Target::Kind::cuda) {
#if PTO_HAVE_CUDA
    p.cuda = std::make_unique<CudaTarget>(workload, target.device, p.stats);
    p.stats.compile_ms = ms_since(start);
    return;
#else
    throw Error(
        fmt::format("workload '{}': compile(Target::cuda()) needs a build with CUDA (this one has none); use "
                    "Target::cpu() or Target::interpreter()",
                    workload.name()));
#endif
  }
  if (schedule.graphs.enabled) {
    throw Error(
        fmt::format("workload '{}': Graphs::on() cannot be honoured by Target::{}(): CUDA graphs belong to "
                    "the CUDA target; leave Graphs out for the host targets",
                    workload.name(), name(target.kind)));
  }
  const sched::ExecutorOptions executor_options{schedule.pools.threads, schedule.dispatch, schedule.ready};
  sched::validate(executor_options);
  sched::validate(graph_options(schedule));
  p.check_host_tensors();
  p.compile_kernels();
  p.stats.compile_ms = ms_since(start);
  p.executor = std::make_unique<sched::Executor>(executor_options);
  p.graph = std::make_unique<TaskGraph>(*p.executor, graph_options(schedule));
  if (WorkerEnumeration::unsupported(workload, *p.compiled).empty()) {
    p.worker_enumeration =
        std::make_unique<WorkerEnumeration>(p.workload, *p.compiled, p.runners, p.executor->workers());
  }
}

// The task graph's destructor seals it and waits for its tasks (errors are dropped).
Program::~Program() = default;

Program::Program(Program&&) noexcept = default;
Program& Program::operator=(Program&&) noexcept = default;

void Program::set_size(const std::string& name, std::int64_t value) {
  if (value < 0) throw Error(fmt::format("set_size(\"{}\", {}): a size must be >= 0", name, value));
  const std::vector<std::string>& read = impl_->readable_sizes;
  if (std::find(read.begin(), read.end(), name) == read.end()) {
    throw Error(fmt::format("set_size(\"{}\", {}): workload '{}' reads no size named '{}'; {}", name, value,
                            impl_->workload.name(), name,
                            read.empty() ? std::string("it has no DenseDyn axis or Expr::size")
                                         : fmt::format("its sizes are: {}", fmt::join(read, ", "))));
  }
  for (auto& [known, size] : impl_->sizes) {
    if (known == name) {
      size = value;
      return;
    }
  }
  impl_->sizes.emplace_back(name, value);
}

void Program::execute() {
  Impl& p = *impl_;
  if (p.running) throw Error("execute() while the previous execution runs: call synchronize() first");
  p.started = Clock::now();
#if PTO_HAVE_CUDA
  if (p.cuda) {
    p.cuda->execute(p.sizes, p.stats);
    p.running = true;
    ++p.stats.executions;
    return;
  }
#endif
  p.steals_before = p.executor->stats().steals();
  if (p.worker_enumeration && p.execute_on_workers()) return;
  if (!p.compiled->enumerate(p.sizes, p.list)) throw_enumeration_error(p.workload, p.sizes);
  const auto enumerated = Clock::now();
  p.stats.enumerate_ms = std::chrono::duration<double, std::milli>(enumerated - p.started).count();
  p.graph->reset();  // the last execution's graph, emptied (its memory kept)
  try {
    p.submit();
  } catch (...) {
    // Tasks already added run to completion; the submission error (a full window in abort
    // mode) is the one reported.
    try {
      p.graph->wait();
    } catch (...) {  // NOLINT(bugprone-empty-catch): the submission error wins
    }
    throw;
  }
  p.graph->seal();
  p.stats.submit_ms = ms_since(enumerated);
  p.running = true;
  ++p.stats.executions;
  p.stats.workers_enumerated = false;
  p.stats.tasks = p.list.tasks;
  p.stats.bytes = p.list.bytes;
}

void Program::synchronize() {
  Impl& p = *impl_;
  if (!p.running) return;
  p.running = false;
#if PTO_HAVE_CUDA
  if (p.cuda) {
    try {
      p.cuda->synchronize(p.stats);
    } catch (...) {
      p.stats.execute_ms = ms_since(p.started);
      throw;
    }
    p.stats.execute_ms = ms_since(p.started);
    return;
  }
#endif
  std::exception_ptr error;
  try {
    p.graph->wait();
  } catch (...) {
    error = std::current_exception();
  }
  p.stats.execute_ms = ms_since(p.started);
  p.stats.steals = p.executor->stats().steals() - p.steals_before;
  if (p.on_workers) {
    const WorkerEnumeration::Totals totals = p.worker_enumeration->totals(p.executor->workers());
    p.stats.tasks = totals.tasks;
    p.stats.bytes = totals.bytes;
    p.stats.edges = totals.edges;
    p.stats.tasks_per_worker = totals.per_worker;
    p.stats.tasks_per_stream = totals.per_stream;
    if (error) std::rethrow_exception(error);
    // A task's check failed (the claims stopped): the reference enumerator names it, as
    // execute() would have on the task list.
    if (p.worker_enumeration->failed()) throw_enumeration_error(p.workload, p.executed_sizes);
    return;
  }
  const GraphStats graph_stats = p.graph->stats();
  p.stats.tasks_per_worker = graph_stats.tasks_per_worker;
  p.stats.tasks_per_stream = graph_stats.tasks_per_stream;
  p.stats.edges = graph_stats.explicit_edges + graph_stats.inferred_edges;
  if (p.workload.schedule().trace.enabled) last_trace_ = p.graph->trace();
  if (error) std::rethrow_exception(error);
}

const ProgramStats& Program::stats() const {
  return impl_->stats;
}
const Target& Program::target() const {
  return impl_->target;
}

nlohmann::json Program::trace() const {
  if (!impl_->workload.schedule().trace.enabled)
    throw Error("trace(): the program was compiled without tracing; add Trace::on() to task_graph(...)");
  return last_trace_;
}

std::string ProgramStats::to_string() const {
  std::string out = fmt::format(
      "target {}: {} tasks, {} kernels ({} compiled in {:.1f} ms), execute {:.3f} ms (host: enumerate {:.3f} ms, "
      "submit {:.3f} ms)",
      target, tasks, kernels, kernels_compiled, compile_ms, execute_ms, enumerate_ms, submit_ms);
  out += fmt::format(", {} edges, {} steals, {:.2f} MB at {:.2f} GB/s", edges, steals, static_cast<double>(bytes) / 1e6,
                     gb_per_s());
  if (launches > 0) {
    out += fmt::format(", {} launches, device {:.3f} ms ({:.2f} GB/s), {:.2f} MB copied host<->device{}", launches,
                       device_ms, device_gb_per_s(), static_cast<double>(transfer_bytes) / 1e6,
                       device_enumerated ? ", tasks enumerated on the device" : "");
  }
  if (workers_enumerated) out += ", tasks enumerated by the workers";
  if (graph_captures + graph_updates + graph_replays > 0) {
    out += fmt::format(", CUDA graphs: {} captured, {} updated, {} replayed", graph_captures, graph_updates,
                       graph_replays);
  }
  out += fmt::format(", tasks per worker [{}]", fmt::join(tasks_per_worker, ", "));
  if (!tasks_per_stream.empty()) out += fmt::format(", per stream [{}]", fmt::join(tasks_per_stream, ", "));
  return out;
}

nlohmann::json ProgramStats::to_json() const {
  return {{"target", target},
          {"executions", executions},
          {"tasks", tasks},
          {"kernels", kernels},
          {"kernels_compiled", kernels_compiled},
          {"compile_ms", compile_ms},
          {"execute_ms", execute_ms},
          {"enumerate_ms", enumerate_ms},
          {"submit_ms", submit_ms},
          {"tasks_per_worker", tasks_per_worker},
          {"tasks_per_stream", tasks_per_stream},
          {"steals", steals},
          {"bytes", bytes},
          {"edges", edges},
          {"gb_per_s", gb_per_s()},
          {"launches", launches},
          {"device_ms", device_ms},
          {"device_gb_per_s", device_gb_per_s()},
          {"transfer_bytes", transfer_bytes},
          {"device_enumerated", device_enumerated},
          {"workers_enumerated", workers_enumerated},
          {"graph_captures", graph_captures},
          {"graph_updates", graph_updates},
          {"graph_replays", graph_replays}};
}

}  // namespace pto
