// bench_scheduler: per-task overhead of the executor + task graph against a baseline pool
// (mutex + condition variable queue, schedulers' peer) measured in the same run.
//
// Cases (empty task bodies, so the scheduler is all that is measured). Each is timed in
// phases: `run` is from releasing a fully built graph (Start::after_orchestration, then
// wait()) until every task has finished: what the workers' scheduling costs per task;
// `build` is the submitter's cost per add() (dependency edges included); `stream` is end
// to end with tasks starting while the graph is built (Timing::batched(256)). The baseline
// pool is timed the same way (nodes built, then run).
//   independent  N tasks, no edges
//   fan          1 root -> N-2 tasks -> 1 sink
//   chain        N tasks, each after the previous one (no parallelism: latency per hand-off)
//   dag          N tasks with 0..4 random earlier predecessors
// Reports ns per task and tasks per second for 1 and 2 workers, the speed-up over the
// baseline, and the ratio to the target of 100 ns per independent task on 2 workers.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <random>

#include "bench/json_file.hpp"
#include "bench/scheduler/baseline_pool.hpp"
#include "bench/stats.hpp"
#include "runtime/task_graph.hpp"

using namespace pto;
using Clock = std::chrono::steady_clock;

namespace {

struct Shape {
  std::string name;
  std::int64_t tasks;
  std::vector<std::vector<TaskId>> preds;  // per task
};

Shape make_shape(const std::string& name, std::int64_t n) {
  Shape shape{name, n, std::vector<std::vector<TaskId>>(static_cast<std::size_t>(n))};
  std::mt19937_64 rng(42);
  for (std::int64_t i = 0; i < n; ++i) {
    auto& preds = shape.preds[static_cast<std::size_t>(i)];
    if (name == "fan") {
      if (i > 0 && i < n - 1) preds.push_back(0);
      if (i == n - 1)
        for (std::int64_t j = 1; j < n - 1; ++j) preds.push_back(j);
    } else if (name == "chain") {
      if (i > 0) preds.push_back(i - 1);
    } else if (name == "dag") {
      const auto k = i == 0 ? 0 : static_cast<int>(rng() % 5);
      for (int e = 0; e < k; ++e) preds.push_back(static_cast<TaskId>(rng() % static_cast<std::uint64_t>(i)));
    }
  }
  return shape;
}

struct Phases {
  double build_ns = 0;  // per task
  double run_ns = 0;    // per task
};

void add_all(TaskGraph& graph, const Shape& shape) {
  for (std::int64_t i = 0; i < shape.tasks; ++i) {
    const auto& preds = shape.preds[static_cast<std::size_t>(i)];
    if (preds.empty()) {
      graph.add([] {});
    } else {
      graph.add([] {}, {.after = preds});
    }
  }
}

double ns_since(Clock::time_point start) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

Phases run_ours(sched::Executor& executor, const Shape& shape) {
  const auto start = Clock::now();
  TaskGraph graph(executor, {.start = sched::Start::after_orchestration()});
  add_all(graph, shape);
  const auto built = Clock::now();
  graph.wait();
  const double n = static_cast<double>(shape.tasks);
  return {std::chrono::duration<double, std::nano>(built - start).count() / n, ns_since(built) / n};
}

double stream_ours(sched::Executor& executor, const Shape& shape) {
  const auto start = Clock::now();
  TaskGraph graph(executor, {.timing = sched::Timing::batched(256)});
  add_all(graph, shape);
  graph.wait();
  return ns_since(start) / static_cast<double>(shape.tasks);
}

Phases run_baseline(bench::BaselinePool& pool, const Shape& shape) {
  const auto start = Clock::now();
  std::vector<std::unique_ptr<bench::BaselinePool::Node>> nodes;
  nodes.reserve(static_cast<std::size_t>(shape.tasks));
  for (std::int64_t i = 0; i < shape.tasks; ++i) {
    nodes.push_back(std::make_unique<bench::BaselinePool::Node>());
    nodes.back()->work = [] {};
    for (TaskId p : shape.preds[static_cast<std::size_t>(i)]) {
      nodes[static_cast<std::size_t>(p)]->successors.push_back(nodes.back().get());
      nodes.back()->pending.fetch_add(1);
    }
  }
  const auto built = Clock::now();
  pool.run(nodes);
  const double n = static_cast<double>(shape.tasks);
  return {std::chrono::duration<double, std::nano>(built - start).count() / n, ns_since(built) / n};
}

Phases median_phases(int repeats, const std::function<Phases()>& once) {
  std::vector<double> build, run;
  for (int i = 0; i < repeats; ++i) {
    const Phases p = once();
    build.push_back(p.build_ns);
    run.push_back(p.run_ns);
  }
  return {bench::median(build), bench::median(run)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Scheduler overhead per task: PTO-RT's executor vs a mutex+condvar pool"};
  std::int64_t tasks = 1000000;
  int repeats = 5;
  std::string json_path;
  app.add_option("--tasks", tasks, "Tasks per case (chain and dag use a fifth)")->check(CLI::Range(100, 100000000));
  app.add_option("--repeats", repeats, "Runs per measurement (the median is reported)")->check(CLI::Range(1, 100));
  app.add_option("--json", json_path, "Write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  const double target_ns = 100.0;  // the target: independent tasks, 2 workers
  nlohmann::json results = nlohmann::json::array();
  fmt::print("Scheduler overhead per task, empty tasks, median of {} runs, {} hardware threads\n", repeats,
             std::thread::hardware_concurrency());
  fmt::print(
      "run: a built graph released to the workers until all finished; build: add() per task;\n"
      "stream: end to end, tasks start while built (batched(256)); pool: mutex+condvar baseline, same phases\n\n");
  fmt::print("  {:<12}{:>8}{:>8}  {:>10}{:>10}{:>11}  {:>10}{:>11}  {:>10}\n", "case", "tasks", "workers", "run ns",
             "run Mt/s", "build ns", "stream ns", "pool run", "run x pool");
  for (const std::string name : {"independent", "fan", "chain", "dag"}) {
    const std::int64_t n = (name == "chain" || name == "dag") ? tasks / 5 : tasks;
    const Shape shape = make_shape(name, n);
    for (int workers : {1, 2}) {
      sched::Executor executor({workers, sched::Dispatch::work_steal(), sched::Ready::work_steal()});
      bench::BaselinePool pool(workers);
      run_ours(executor, make_shape("independent", 1000));  // warm-up: threads started, first allocations
      const Phases ours = median_phases(repeats, [&] { return run_ours(executor, shape); });
      std::vector<double> streams;
      for (int r = 0; r < repeats; ++r) streams.push_back(stream_ours(executor, shape));
      const double stream = bench::median(streams);
      const Phases base = median_phases(repeats, [&] { return run_baseline(pool, shape); });
      fmt::print("  {:<12}{:>8}{:>8}  {:>10.1f}{:>10.2f}{:>11.1f}  {:>10.1f}{:>11.1f}  {:>9.2f}x\n", name, n, workers,
                 ours.run_ns, 1e3 / ours.run_ns, ours.build_ns, stream, base.run_ns, base.run_ns / ours.run_ns);
      results.push_back({{"case", name},
                         {"tasks", n},
                         {"workers", workers},
                         {"run_ns_per_task", ours.run_ns},
                         {"build_ns_per_task", ours.build_ns},
                         {"stream_batched256_ns_per_task", stream},
                         {"baseline_run_ns_per_task", base.run_ns},
                         {"baseline_build_ns_per_task", base.build_ns},
                         {"run_speedup_vs_baseline", base.run_ns / ours.run_ns}});
    }
  }
  const auto& headline = results[1];  // independent, 2 workers
  const double run2 = headline["run_ns_per_task"];
  fmt::print(
      "\n  independent, 2 workers: {:.1f} ns/task = {:.2f} x the 100 ns target; {:.2f}x the baseline's throughput\n",
      run2, run2 / target_ns, headline["run_speedup_vs_baseline"].get<double>());
  if (!json_path.empty() &&
      !bench::write_json(json_path,
                         {{"benchmark", "scheduler"}, {"target_ns_per_task", target_ns}, {"results", results}},
                         "bench_scheduler")) {
    return 1;
  }
  return 0;
}
