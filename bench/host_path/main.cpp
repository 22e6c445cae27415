// bench_host_path: what a Program's re-execution costs the host, on the CPU target.
//
// The flagship's Program (examples/flashinfer_decode: its plan's descriptors through the tier
// family, then the merges; Deps::stages, dispatch(work_steal), streams(4)) is built with
// empty kernels of the same parameters, so execute() + synchronize() is all host: reading
// the descriptor table, evaluating the index expressions into argument slots, and the
// workers' scheduling (the workers enumerate their own tasks: docs/workloads.md, "Worker
// enumeration"; the "by" column says whether they did, or the task list and task graph
// ran). Per configuration (the seed's 16 requests, contiguous and paged; the same lengths x
// 8 requests) it reports the median over --repeats steps after warm-up, with its parts on
// the submitting thread (enumerate, submit), per task, its ratio to the 100 us that issue
// #18 sets for the seed on 2 workers, and the floor measured in the same run: the same
// number of kernel calls made directly on one thread (what any runtime must at least spend
// on calling the kernels).
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "bench/json_file.hpp"
#include "bench/stats.hpp"
#include "examples/flashinfer_decode/decode_program.hpp"
#include "examples/flashinfer_decode/planner.hpp"
#include "examples/flashinfer_decode/problem.hpp"
#include "runtime/cpu/cpu_kernel.hpp"

using namespace flashinfer;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double limit_us = 100.0;  // issue #18: the seed's 768 tasks on 2 workers

double us_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// The tier family's and the merge's parameters (kernels.hpp); the body only zeroes the
// outputs (an output must be written).
tl::Family empty_tiers(std::int64_t d, KvLayout layout) {
  return tl::family("empty_tier", {0, 1, 2, 3}, [d, layout](tl::Builder& k, std::int64_t) {
    k.in(tl::tile(1, d, tl::f16), "q");
    k.in(tl::global(tl::f16, {tl::dyn, d}), "k");
    k.in(tl::global(tl::f16, {tl::dyn, d}), "v");
    if (layout == KvLayout::paged) k.in(tl::global(tl::i32, {tl::dyn, 1}), "pages");
    k.scalar(tl::i32, "kv_len");
    tl::store(k.out(tl::tile(1, d, tl::f32), "o"), tl::zeros(1, d, tl::f32));
    tl::store(k.out(tl::tile(1, 1, tl::f32), "lse"), tl::zeros(1, 1, tl::f32));
  });
}

tl::KernelInstance empty_merge(std::int64_t d) {
  return tl::kernel("empty_merge", [d](tl::Builder& k) {
    k.in(tl::global(tl::f32, {tl::dyn, d}), "o_part");
    k.in(tl::global(tl::f32, {tl::dyn, 1}), "lse_part");
    k.scalar(tl::i32, "count");
    tl::store(k.out(tl::tile(1, d, tl::f32), "o"), tl::zeros(1, d, tl::f32));
    tl::store(k.out(tl::tile(1, 1, tl::f32), "lse"), tl::zeros(1, 1, tl::f32));
  });
}

// `calls` direct calls of an empty kernel on this thread, in us.
double direct_calls_us(const tl::KernelInstance& kernel, std::int64_t calls) {
  const pto::cpu::CpuKernel compiled(kernel);
  std::vector<float> q(128), o(128), lse(1);
  std::vector<pto::ArgSlot> slots(6);
  slots[0] = {q.data(), 1, 128, 128, 0, 0.0};
  slots[1] = slots[2] = {q.data(), 1, 128, 128, 0, 0.0};
  slots[3].integer = 1;
  slots[4] = {o.data(), 1, 128, 128, 0, 0.0};
  slots[5] = {lse.data(), 1, 1, 1, 0, 0.0};
  const auto start = Clock::now();
  for (std::int64_t i = 0; i < calls; ++i) compiled.run_slots(slots.data());
  return us_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_host_path: a Program's execute() + synchronize() with empty kernels (the host's part)"};
  int repeats = 200;
  std::string json_path;
  app.add_option("--repeats", repeats, "steps per configuration (median reported)")->check(CLI::Range(1, 1000000));
  app.add_option("--json", json_path, "Write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::int64_t> x8;
  for (int i = 0; i < 8; ++i) x8.insert(x8.end(), seed_seq_lens.begin(), seed_seq_lens.end());
  struct Configuration {
    std::string name;
    std::vector<std::int64_t> lengths;
    KvLayout layout;
  };
  const std::vector<Configuration> configurations = {{"seed (16 requests)", seed_seq_lens, KvLayout::contiguous},
                                                     {"seed, paged (page 16)", seed_seq_lens, KvLayout::paged},
                                                     {"seed lengths x 8 requests", x8, KvLayout::contiguous}};

  nlohmann::json out;
  out["benchmark"] = "host_path";
  out["limit_us"] = limit_us;
  fmt::print("bench_host_path: CPU target (one worker per hardware thread), empty kernels, median of {} steps\n\n",
             repeats);
  fmt::print("  {:<28}{:>8}{:>8}{:>10}{:>12}{:>12}{:>12}{:>12}{:>10}{:>12}{:>10}\n", "configuration", "tasks", "edges",
             "by", "step us", "enumerate", "submit", "ns/task", "/ 100 us", "floor us", "/ floor");
  for (const auto& [name, lengths, layout] : configurations) {
    DecodeShape shape;
    shape.seq_lens = lengths;
    PlannerOptions planner_options;
    planner_options.max_work_units = 100000;
    if (layout == KvLayout::paged) planner_options.granularity = 16;
    const Plan plan = AttentionPlanner(planner_options).plan(shape.seq_lens, shape.heads);
    RunOptions options;
    options.layout = layout;
    options.tiers = empty_tiers(shape.head_dim, layout);
    options.merge = empty_merge(shape.head_dim);
    // Zero-filled inputs: empty kernels read nothing.
    DecodeAttention attention(shape, plan, DecodeInputs{}, options);
    for (int i = 0; i < 5; ++i) attention.run();  // warm-up: workers started, capacities grown
    std::vector<double> step_us, enumerate_us, submit_us;
    for (int i = 0; i < repeats; ++i) {
      const auto start = Clock::now();
      attention.run();
      step_us.push_back(us_since(start));
      enumerate_us.push_back(attention.stats().enumerate_ms * 1e3);
      submit_us.push_back(attention.stats().submit_ms * 1e3);
    }
    const pto::ProgramStats& stats = attention.stats();
    const tl::KernelInstance floor_kernel = empty_tiers(shape.head_dim, KvLayout::contiguous).tier(0);
    const pto::bench::Summary step_summary = pto::bench::summarize(step_us);
    const double step = step_summary.median;
    std::vector<double> floor_runs;
    for (int i = 0; i < 5; ++i) floor_runs.push_back(direct_calls_us(floor_kernel, stats.tasks));
    const double floor = pto::bench::median(floor_runs);
    const double per_task_ns = step * 1e3 / static_cast<double>(stats.tasks);
    const double enumerate = pto::bench::median(enumerate_us), submit = pto::bench::median(submit_us);
    fmt::print("  {:<28}{:>8}{:>8}{:>10}{:>12.1f}{:>12.1f}{:>12.1f}{:>12.1f}{:>10.2f}{:>12.1f}{:>10.1f}\n", name,
               stats.tasks, stats.edges, stats.workers_enumerated ? "workers" : "list", step, enumerate, submit,
               per_task_ns, step / limit_us, floor, floor > 0 ? step / floor : 0.0);
    out["configurations"].push_back({{"name", name},
                                     {"tasks", stats.tasks},
                                     {"edges", stats.edges},
                                     {"workers_enumerated", stats.workers_enumerated},
                                     {"step_us", step},
                                     {"step_us_min", step_summary.min},
                                     {"step_us_max", step_summary.max},
                                     {"enumerate_us", enumerate},
                                     {"submit_us", submit},
                                     {"ns_per_task", per_task_ns},
                                     {"ratio_to_limit", step / limit_us},
                                     {"floor_us", floor},
                                     {"ratio_to_floor", floor > 0 ? step / floor : 0.0},
                                     {"workers", stats.tasks_per_worker.size()},
                                     {"tasks_per_worker", stats.tasks_per_worker}});
  }
  if (!json_path.empty() && !pto::bench::write_json(json_path, out, "bench_host_path")) return 1;
  return 0;
}
