#include "frontend/worker_enumeration.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <thread>

#include "core/error.hpp"
#include "frontend/task_recipes.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace pto {

namespace {

// A statement body as a claim loop walks it: each block with the place of its registers in
// a loop's register file.
struct BodyNode {
  bool call = false;
  int site = -1;                     // call
  const ExprBlock* block = nullptr;  // the call site's block, or the condition's
  std::size_t registers = 0;         // where the block's registers start in a register file
  int predicate = -1;                // condition: its register
  std::vector<BodyNode> then, otherwise;
};

// Calls per iteration, or -1 when a condition's branches make different numbers.
int calls_per_iteration(const std::vector<CompiledStatement>& body) {
  int calls = 0;
  for (const CompiledStatement& s : body) {
    if (s.kind == Statement::Kind::call) {
      ++calls;
      continue;
    }
    const int then = calls_per_iteration(s.body), otherwise = calls_per_iteration(s.otherwise);
    if (then < 0 || then != otherwise) return -1;
    calls += then;
  }
  return calls;
}

void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

}  // namespace

struct WorkerEnumeration::State {
  struct Stage {
    int slot = 0;
    int calls = 0;       // per iteration (-1: varies)
    bool lanes = false;  // streams(n) and calls > 0: its units are lanes
    std::vector<BodyNode> body;
    // This execution's.
    std::int64_t begin = 0, iterations = 0;
    std::int64_t tasks = 0;          // iterations x calls (when the calls are fixed)
    std::int64_t first_ordinal = 0;  // streams: the ordinal of its first task
    std::int64_t units = 0;          // iterations, or lanes under streams(n)
    alignas(64) std::atomic<std::int64_t> next{0};
    alignas(64) std::atomic<std::int64_t> done{0};
  };
  struct alignas(64) Loop {
    std::vector<std::int64_t> registers, vars;
    std::vector<ArgSlot> slots;
    CodeInputs inputs;
    int worker = -1;
    std::int64_t tasks = 0, bytes = 0;
    std::vector<std::int64_t> per_statement, per_stream;
    // The lane a task runs in (streams), for per_stream.
    std::int64_t lane = -1;
  };

  const Workload* workload = nullptr;
  CompiledTasks* compiled = nullptr;
  const std::vector<Runner>* runners = nullptr;
  bool stages = false;
  std::int64_t streams = 0;
  std::vector<std::unique_ptr<Stage>> statements;
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<const ExprBlock*> blocks;  // every body block, in register-file order
  std::vector<std::size_t> block_registers;
  std::size_t register_count = 0;
  std::atomic<bool> abort{false}, check_failed{false};

  std::vector<BodyNode> flatten(const std::vector<CompiledStatement>& body) {
    std::vector<BodyNode> out;
    for (const CompiledStatement& s : body) {
      BodyNode node;
      node.call = s.kind == Statement::Kind::call;
      if (node.call) {
        node.site = s.site;
        node.block = &compiled->sites()[static_cast<std::size_t>(s.site)].block;
      } else {
        node.block = &s.block;
        node.predicate = s.first;
        node.then = flatten(s.body);
        node.otherwise = flatten(s.otherwise);
      }
      node.registers = register_count;
      blocks.push_back(node.block);
      block_registers.push_back(register_count);
      register_count += node.block->size();
      out.push_back(std::move(node));
    }
    return out;
  }

  bool fail() {
    check_failed.store(true, std::memory_order_relaxed);
    abort.store(true, std::memory_order_relaxed);
    return false;
  }

  // One call: its block, its tier, its slots (the compiled task list's checks), its kernel.
  bool call(const BodyNode& node, int statement, Loop& loop) {
    const SiteRecipe& site = compiled->sites()[static_cast<std::size_t>(node.site)];
    std::int64_t* r = loop.registers.data() + node.registers;
    if (!site.block.run(loop.inputs, r)) return fail();
    std::size_t tier = 0;
    if (site.tier >= 0) {
      const std::int64_t value = r[site.tier];
      if (value < 0 || value >= static_cast<std::int64_t>(site.kernels.size())) return fail();
      tier = static_cast<std::size_t>(value);
    }
    std::int64_t bytes = 0;
    for (std::size_t i = 0; i < site.args.size(); ++i) {
      const ArgRecipe& arg = site.args[i];
      ArgSlot& slot = loop.slots[i];
      slot = ArgSlot();
      const bool ok = arg.kind == ArgRecipe::Kind::view ? resolve_view_slot(arg, r, slot, bytes)
                                                        : resolve_scalar_slot(arg, r, slot);
      if (!ok) return fail();
    }
    (*runners)[static_cast<std::size_t>(site.kernels[tier])](loop.slots.data());
    ++loop.tasks;
    loop.bytes += bytes;
    ++loop.per_statement[static_cast<std::size_t>(statement)];
    if (loop.lane >= 0) ++loop.per_stream[static_cast<std::size_t>(loop.lane)];
    return true;
  }

  // The body's calls for the loop's current index; only the one at column `target` when it
  // is >= 0 (a lane runs one task of an iteration).
  bool run_body(const std::vector<BodyNode>& body, int statement, Loop& loop, int& column, int target) {
    for (const BodyNode& node : body) {
      if (node.call) {
        if ((target < 0 || column == target) && !call(node, statement, loop)) return false;
        ++column;
        continue;
      }
      std::int64_t* r = loop.registers.data() + node.registers;
      if (!node.block->run(loop.inputs, r)) return fail();
      if (!run_body(r[node.predicate] != 0 ? node.then : node.otherwise, statement, loop, column, target)) return false;
    }
    return true;
  }

  bool run_iteration(const Stage& stage, int statement, Loop& loop, std::int64_t iteration, int target) {
    loop.vars[static_cast<std::size_t>(stage.slot)] = stage.begin + iteration;
    int column = 0;
    return run_body(stage.body, statement, loop, column, target);
  }

  // A run of iterations: a share of what is left (guided self-scheduling), at least one.
  bool claim_run(Stage& stage, std::int64_t& first, std::int64_t& count) const {
    std::int64_t at = stage.next.load(std::memory_order_relaxed);
    const auto share = static_cast<std::int64_t>(2 * loops.size());
    while (at < stage.units) {
      const std::int64_t take = std::max<std::int64_t>(1, (stage.units - at) / share);
      if (stage.next.compare_exchange_weak(at, at + take, std::memory_order_relaxed)) {
        first = at;
        count = take;
        return true;
      }
    }
    return false;
  }

  // Lane k of a statement: its tasks whose ordinal is k modulo streams, in order.
  bool run_lane(const Stage& stage, int statement, Loop& loop, std::int64_t lane) {
    const std::int64_t offset = ((lane - stage.first_ordinal % streams) % streams + streams) % streams;
    loop.lane = lane;
    // The step cannot pass INT64_MAX: it stops at `tasks` instead.
    for (std::int64_t local = offset;
         local<stage.tasks; local = stage.tasks - local> streams ? local + streams : stage.tasks) {
      if (abort.load(std::memory_order_relaxed)) break;
      if (!run_iteration(stage, statement, loop, local / stage.calls, static_cast<int>(local % stage.calls)))
        return false;
    }
    loop.lane = -1;
    return true;
  }

  void run_statement(Stage& stage, int statement, Loop& loop) {
    if (stage.lanes) {
      for (std::int64_t lane = stage.next.fetch_add(1, std::memory_order_relaxed); lane < stage.units;
           lane = stage.next.fetch_add(1, std::memory_order_relaxed)) {
        if (abort.load(std::memory_order_relaxed) || !run_lane(stage, statement, loop, lane)) return;
        stage.done.fetch_add(1, std::memory_order_release);
      }
      return;
    }
    std::int64_t first = 0, count = 0;
    while (!abort.load(std::memory_order_relaxed) && claim_run(stage, first, count)) {
      for (std::int64_t i = first; i < first + count; ++i) {
        if (abort.load(std::memory_order_relaxed) || !run_iteration(stage, statement, loop, i, -1)) return;
      }
      stage.done.fetch_add(count, std::memory_order_release);
    }
  }

  // Deps::stages: until every unit of the statement has finished (they are all claimed, by
  // loops that are running), or the execution stops.
  void wait_for(const Stage& stage) const {
    for (int spins = 0; stage.done.load(std::memory_order_acquire) < stage.units; ++spins) {
      if (abort.load(std::memory_order_relaxed)) return;
      if (spins < 1024) {
        pause();
      } else {
        std::this_thread::yield();
      }
    }
  }
};

std::string WorkerEnumeration::unsupported(const Workload& workload, const CompiledTasks& compiled) {
  const Schedule& schedule = workload.schedule();
  if (std::string problem = stage_structure_problem(workload, compiled); !problem.empty()) return problem;
  if (schedule.ready.kind != Ready::Kind::work_steal) return "a Ready order other than work_steal";
  if (schedule.window.unit != Window::Unit::unbounded) return "a Window (it counts the tasks in a task graph)";
  if (schedule.trace.enabled) return "Trace::on() (it records the tasks of a task graph)";
  if (schedule.streams > 0) {
    for (const CompiledStatement& s : compiled.statements()) {
      if (calls_per_iteration(s.body) < 0)
        return "streams(n) with a condition whose branches make different numbers of calls";
    }
  }
  return {};
}

WorkerEnumeration::WorkerEnumeration(const Workload& workload, CompiledTasks& compiled,
                                     const std::vector<Runner>& runners, int claim_loops)
    : state_(std::make_unique<State>()) {
  if (std::string problem = unsupported(workload, compiled); !problem.empty())
    throw InternalError("worker enumeration of a workload it does not support: " + problem);
  if (claim_loops < 1) throw InternalError("worker enumeration: no claim loop");
  State& s = *state_;
  s.workload = &workload;
  s.compiled = &compiled;
  s.runners = &runners;
  s.stages = workload.schedule().deps.kind == Deps::Kind::stages;
  s.streams = workload.schedule().streams;
  std::size_t slots = 1;
  for (const SiteRecipe& site : compiled.sites()) slots = std::max(slots, site.args.size());
  for (const CompiledStatement& statement : compiled.statements()) {
    auto stage = std::make_unique<State::Stage>();
    stage->slot = statement.slot;
    stage->calls = calls_per_iteration(statement.body);
    stage->body = s.flatten(statement.body);
    s.statements.push_back(std::move(stage));
  }
  for (int i = 0; i < claim_loops; ++i) {
    auto loop = std::make_unique<State::Loop>();
    loop->registers.assign(std::max<std::size_t>(s.register_count, 1), 0);
    loop->vars.assign(static_cast<std::size_t>(std::max(workload.index_slots(), 1)), 0);
    loop->slots.resize(slots);
    loop->per_statement.assign(s.statements.size(), 0);
    loop->per_stream.assign(static_cast<std::size_t>(s.streams), 0);
    s.loops.push_back(std::move(loop));
  }
}

WorkerEnumeration::~WorkerEnumeration() = default;

int WorkerEnumeration::claim_loops() const noexcept {
  return static_cast<int>(state_->loops.size());
}

WorkerEnumeration::Planned WorkerEnumeration::begin(const SizeBindings& sizes) {
  State& s = *state_;
  const CodeInputs& inputs = s.compiled->prepare(sizes);
  for (const ExprBlock* block : s.blocks) {
    if (!block->prepared()) return Planned::on_host;
  }
  std::int64_t ordinal = 0;
  for (std::size_t i = 0; i < s.statements.size(); ++i) {
    const CompiledStatement& statement = s.compiled->statements()[i];
    State::Stage& stage = *s.statements[i];
    if (!statement.block.run(inputs)) return Planned::failed;
    const std::int64_t begin = statement.block[statement.first], end = statement.block[statement.second];
    if (begin > end) return Planned::failed;
    std::int64_t tasks = 0;
    if (__builtin_sub_overflow(end, begin, &stage.iterations) ||
        (stage.calls > 0 && __builtin_mul_overflow(stage.iterations, stage.calls, &tasks)) ||
        __builtin_add_overflow(ordinal, tasks, &ordinal)) {
      throw Error(
          fmt::format("workload '{}': statement {} runs from {} to {}: more than 2^63 - 1 tasks in one execution",
                      s.workload->name(), i, begin, end));
    }
    stage.begin = begin;
    stage.tasks = tasks;
    stage.first_ordinal = ordinal - tasks;
    // Lanes when the iterations make tasks; a body of conditions only still evaluates every
    // iteration's (their checks hold or fail as in the task list).
    stage.lanes = s.streams > 0 && stage.calls > 0;
    stage.units = stage.lanes ? (tasks > 0 ? s.streams : 0) : stage.iterations;
    stage.next.store(0, std::memory_order_relaxed);
    stage.done.store(0, std::memory_order_relaxed);
  }
  for (const std::unique_ptr<State::Loop>& loop : s.loops) {
    for (std::size_t b = 0; b < s.blocks.size(); ++b)
      s.blocks[b]->copy_registers(loop->registers.data() + s.block_registers[b]);
    std::fill(loop->vars.begin(), loop->vars.end(), 0);  // as the reference: an index not yet set is 0
    loop->inputs = inputs;
    loop->inputs.vars = loop->vars.data();
    loop->worker = -1;
    loop->tasks = loop->bytes = 0;
    std::fill(loop->per_statement.begin(), loop->per_statement.end(), 0);
    std::fill(loop->per_stream.begin(), loop->per_stream.end(), 0);
  }
  s.abort.store(false, std::memory_order_relaxed);
  s.check_failed.store(false, std::memory_order_relaxed);
  return Planned::on_workers;
}

void WorkerEnumeration::work(int loop_index, int worker) {
  State& s = *state_;
  State::Loop& loop = *s.loops.at(static_cast<std::size_t>(loop_index));
  loop.worker = worker;
  try {
    for (std::size_t i = 0; i < s.statements.size(); ++i) {
      State::Stage& stage = *s.statements[i];
      s.run_statement(stage, static_cast<int>(i), loop);
      if (s.abort.load(std::memory_order_relaxed)) return;
      if (s.stages) s.wait_for(stage);
    }
  } catch (...) {
    s.abort.store(true, std::memory_order_relaxed);  // the others stop; the task graph keeps this error
    throw;
  }
}

bool WorkerEnumeration::failed() const noexcept {
  return state_->check_failed.load(std::memory_order_relaxed);
}

WorkerEnumeration::Totals WorkerEnumeration::totals(int workers) const {
  const State& s = *state_;
  Totals out;
  out.per_worker.assign(static_cast<std::size_t>(std::max(workers, 0)), 0);
  out.per_stream.assign(static_cast<std::size_t>(s.streams), 0);
  std::vector<std::int64_t> per_statement(s.statements.size(), 0);
  for (const std::unique_ptr<State::Loop>& loop : s.loops) {
    out.tasks += loop->tasks;
    out.bytes += loop->bytes;
    if (loop->worker >= 0 && loop->worker < workers)
      out.per_worker[static_cast<std::size_t>(loop->worker)] += loop->tasks;
    for (std::size_t i = 0; i < per_statement.size(); ++i) per_statement[i] += loop->per_statement[i];
    for (std::size_t k = 0; k < out.per_stream.size(); ++k) out.per_stream[k] += loop->per_stream[k];
  }
  out.edges = stage_join_edges(s.workload->schedule().deps.kind, per_statement);
  return out;
}

}  // namespace pto
