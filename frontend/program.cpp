#include "frontend/program.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>

#include "dsl/interpreter.hpp"
#include "runtime/cpu/cpu_kernel.hpp"
#include "runtime/error.hpp"
#include "runtime/task_graph.hpp"

namespace pto {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

using Runner = std::function<void(const KernelArgs&)>;

}  // namespace

struct Program::Impl {
  Workload workload;
  Target target;
  std::unique_ptr<sched::Executor> executor;
  std::map<std::uint64_t, Runner> runners;  // by structural hash: one per distinct instance
  std::vector<std::pair<std::string, std::int64_t>> sizes;
  // Declared after the executor and the runners, so destroyed first: its destructor waits
  // for the tasks that use them.
  std::unique_ptr<TaskGraph> graph;
  Clock::time_point started;
  std::int64_t steals_before = 0;
  ProgramStats stats;

  Impl(const Workload& w, Target t) : workload(w), target(t) {}

  void compile_kernels(const std::vector<Statement>& statements) {
    for (const Statement& statement : statements) {
      if (statement.call) {
        for (const tl::KernelInstance& instance : statement.call->instances) {
          if (runners.contains(instance.hash())) continue;
          if (target.kind == Target::Kind::cpu) {
            auto kernel = std::make_shared<const cpu::CpuKernel>(instance);
            runners.emplace(instance.hash(), [kernel](const KernelArgs& args) { kernel->run(args); });
          } else {
            runners.emplace(instance.hash(), [instance](const KernelArgs& args) { interpret(instance, args); });
          }
          ++stats.kernels_compiled;
        }
      }
      compile_kernels(statement.body);
      compile_kernels(statement.otherwise);
    }
  }
};

namespace {

// Walks the statements for the current sizes and tables and adds one task per call.
class Enumerator {
 public:
  Enumerator(Program::Impl& program, TaskGraph& graph)  // NOLINT: Impl is the program's own
      : p_(program), graph_(graph) {
    env_.vars.assign(static_cast<std::size_t>(program.workload.index_slots()), 0);
    env_.sizes = &program.sizes;
  }

  void run_top(const std::vector<Statement>& statements) {
    if (p_.workload.schedule().deps.kind != Deps::Kind::stages) return run(statements);
    // Deps::stages: each top-level statement's tasks wait for all tasks of the one before.
    for (const Statement& statement : statements) {
      std::vector<TaskId> stage;
      collectors_.push_back(&stage);
      run_one(statement);
      collectors_.pop_back();
      if (!stage.empty()) after_ = join(std::move(stage));
    }
  }

  std::int64_t tasks() const { return tasks_; }
  std::int64_t bytes() const { return bytes_; }

 private:
  void run(const std::vector<Statement>& statements) {
    for (const Statement& statement : statements) run_one(statement);
  }

  void run_one(const Statement& s) {
    switch (s.kind) {
      case Statement::Kind::call: return call(*s.call);
      case Statement::Kind::when:
        if (s.predicate.eval(env_) != 0) {
          run(s.body);
        } else {
          run(s.otherwise);
        }
        return;
      case Statement::Kind::parallel_for:
      case Statement::Kind::select: {
        const std::int64_t begin = s.axis.begin.eval(env_), end = s.axis.end.eval(env_);
        check_range(s, begin, end);
        for (std::int64_t i = begin; i < end; ++i) {
          env_.vars[static_cast<std::size_t>(s.slot)] = i;
          run(s.body);
        }
        return;
      }
      case Statement::Kind::for_each: {
        const std::int64_t begin = s.axis.begin.eval(env_), end = s.axis.end.eval(env_);
        check_range(s, begin, end);
        const std::vector<TaskId> outer_after = after_;
        for (std::int64_t i = begin; i < end; ++i) {
          env_.vars[static_cast<std::size_t>(s.slot)] = i;
          std::vector<TaskId> iteration;
          collectors_.push_back(&iteration);
          run(s.body);
          collectors_.pop_back();
          if (!iteration.empty()) after_ = join(std::move(iteration));  // iteration i+1 follows iteration i
        }
        // Later statements are ordered by Deps, not by this loop: restore the outer order.
        after_ = outer_after;
        return;
      }
    }
  }

  // What later tasks wait for when they must follow all of `tasks`: the task itself when it
  // is one, else an empty join task after all of them, so that m later tasks add m edges
  // instead of m x n. (Joins run on the workers like any task; stats().tasks counts kernel
  // tasks only.)
  std::vector<TaskId> join(std::vector<TaskId> tasks) {
    if (tasks.size() <= 1) return tasks;
    TaskOptions options;
    options.name = "join";
    options.after = std::move(tasks);
    const TaskId id = graph_.add([] {}, std::move(options));
    for (std::vector<TaskId>* collector : collectors_) collector->push_back(id);
    return {id};
  }

  static void check_range(const Statement& s, std::int64_t begin, std::int64_t end) {
    if (begin > end) {
      throw Error(fmt::format("{} over {}: the axis runs from {} to {} (its end is before its begin)",
                              s.kind == Statement::Kind::select ? "select" : "loop", s.axis.description, begin, end),
                  s.where);
    }
  }

  void call(const CallSite& site) {
    std::size_t tier = 0;
    if (site.tier) {
      const std::int64_t value = site.tier->eval(env_);
      if (value < 0 || value >= static_cast<std::int64_t>(site.instances.size())) {
        throw Error(fmt::format("call of family '{}': tier {} (from {}) does not exist; the family has tiers 0..{}",
                                site.kernel_name, value, site.tier->to_string(), site.instances.size() - 1),
                    site.where);
      }
      tier = static_cast<std::size_t>(value);
    }
    const tl::KernelInstance& instance = site.instances[tier];
    const ir::Kernel& kernel = instance.ir();
    KernelArgs args;
    TaskOptions options;
    options.name = instance.name();
    std::int64_t task_bytes = 0;
    const bool infer = p_.workload.schedule().deps.kind == Deps::Kind::infer;
    for (std::size_t i = 0; i < site.args.size(); ++i) {
      const ir::Param& param = kernel.params[i];
      const auto& value = site.args[i].value();
      if (const auto* view = std::get_if<View>(&value)) {
        ResolvedView resolved;
        try {
          resolved = view->resolve(env_);
        } catch (const Error& error) {
          throw Error(fmt::format("call of '{}', argument '{}': {}", site.kernel_name, param.name, error.message()),
                      site.where);
        }
        args.set(param.name, resolved.view);
        task_bytes += static_cast<std::int64_t>(resolved.footprint.size);
        if (infer) {
          if (param.role != ir::ParamRole::out) options.reads.push_back(resolved.footprint);
          if (param.role != ir::ParamRole::in) options.writes.push_back(resolved.footprint);
        }
      } else if (const auto* integer = std::get_if<Expr>(&value)) {
        const std::int64_t v = integer->eval(env_);
        if (is_integer(param.type.dtype)) {
          args.set(param.name, v);
        } else {
          args.set(param.name, static_cast<double>(v));
        }
      } else {
        args.set(param.name, std::get<double>(value));
      }
    }
    options.after = after_;
    options.bytes = task_bytes;
    if (!env_.vars.empty()) options.key = static_cast<std::uint64_t>(env_.vars[0]);
    const int streams = p_.workload.schedule().streams;
    if (streams > 0) options.stream = static_cast<int>(tasks_ % streams);
    const Runner* runner = &p_.runners.at(instance.hash());
    const TaskId id = graph_.add([runner, args = std::move(args)] { (*runner)(args); }, std::move(options));
    for (std::vector<TaskId>* collector : collectors_) collector->push_back(id);
    ++tasks_;
    bytes_ += task_bytes;
  }

  Program::Impl& p_;
  TaskGraph& graph_;
  ExprEnv env_;
  std::vector<TaskId> after_;
  std::vector<std::vector<TaskId>*> collectors_;
  std::int64_t tasks_ = 0, bytes_ = 0;
};

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
  if (target.kind == Target::Kind::cuda) {
    throw Error(
        fmt::format("workload '{}': compile(Target::cuda()) is not available yet (the CUDA target of "
                    "workloads is being built under issue #7); use Target::cpu() or Target::interpreter()",
                    workload.name()));
  }
  const Schedule& schedule = workload.schedule();
  if (schedule.pools.threads < 0) {
    throw Error(fmt::format("Pools::workers({}): the worker count must be >= 0 (0: one per hardware thread)",
                            schedule.pools.threads));
  }
  const sched::ExecutorOptions executor_options{schedule.pools.threads, schedule.dispatch, schedule.ready};
  sched::validate(executor_options);
  sched::validate(graph_options(schedule));
  const auto start = Clock::now();
  p.compile_kernels(workload.statements());
  p.stats.compile_ms = ms_since(start);
  p.stats.kernels = static_cast<std::int64_t>(p.runners.size());
  p.executor = std::make_unique<sched::Executor>(executor_options);
}

// The task graph's destructor seals it and waits for its tasks (errors are dropped).
Program::~Program() = default;

Program::Program(Program&&) noexcept = default;
Program& Program::operator=(Program&&) noexcept = default;

void Program::set_size(const std::string& name, std::int64_t value) {
  if (value < 0) throw Error(fmt::format("set_size(\"{}\", {}): a size must be >= 0", name, value));
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
  if (p.graph) throw Error("execute() while the previous execution runs: call synchronize() first");
  p.started = Clock::now();
  p.steals_before = p.executor->stats().steals();
  p.graph = std::make_unique<TaskGraph>(*p.executor, graph_options(p.workload.schedule()));
  Enumerator enumerator(p, *p.graph);
  try {
    enumerator.run_top(p.workload.statements());
  } catch (...) {
    // Tasks already added run to completion (the graph's destructor waits for them); the
    // enumeration error is the one reported.
    p.graph.reset();
    throw;
  }
  p.graph->seal();
  ++p.stats.executions;
  p.stats.tasks = enumerator.tasks();
  p.stats.bytes = enumerator.bytes();
}

void Program::synchronize() {
  Impl& p = *impl_;
  if (!p.graph) return;
  std::exception_ptr error;
  try {
    p.graph->wait();
  } catch (...) {
    error = std::current_exception();
  }
  p.stats.execute_ms = ms_since(p.started);
  const GraphStats graph_stats = p.graph->stats();
  p.stats.tasks_per_worker = graph_stats.tasks_per_worker;
  p.stats.tasks_per_stream = graph_stats.tasks_per_stream;
  p.stats.steals = p.executor->stats().steals() - p.steals_before;
  if (p.workload.schedule().trace.enabled) last_trace_ = p.graph->trace();
  p.graph.reset();
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
  std::string out = fmt::format("target {}: {} tasks, {} kernels ({} compiled in {:.1f} ms), execute {:.3f} ms", target,
                                tasks, kernels, kernels_compiled, compile_ms, execute_ms);
  out += fmt::format(", {} steals, {:.2f} MB at {:.2f} GB/s", steals, static_cast<double>(bytes) / 1e6, gb_per_s());
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
          {"tasks_per_worker", tasks_per_worker},
          {"tasks_per_stream", tasks_per_stream},
          {"steals", steals},
          {"bytes", bytes},
          {"gb_per_s", gb_per_s()}};
}

}  // namespace pto
