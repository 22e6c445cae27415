// bench_planner: how long the flagship's attention planner takes per step.
//
// A serving loop plans every decode step (the batch's lengths grow by one token a step), so
// plan() is on the host path of every step. For each configuration (the seed's 16 requests,
// the same lengths x 8 requests, 16 x 32768 tokens, 64 x 256), times AttentionPlanner::plan
// into a reused Plan (no allocation once its capacity suffices) and into a fresh one, as the
// median of --repeats calls, and reports its ratio to the 20 us per step that issue #18 sets
// for the seed, and to a floor measured in the same run: writing the same number of
// descriptors with a plain loop (what any planner must at least do).
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "bench/json_file.hpp"
#include "bench/stats.hpp"
#include "examples/flashinfer_decode/planner.hpp"
#include "examples/flashinfer_decode/problem.hpp"

using namespace flashinfer;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double limit_us = 20.0;  // issue #18: the seed's plan per step

double us_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

struct Configuration {
  std::string name;
  std::vector<std::int64_t> seq_lens;
  std::int64_t heads = 32;
  std::int64_t max_work_units = 65536;
};

std::vector<Configuration> configurations() {
  const std::vector<std::int64_t>& seed = seed_seq_lens;
  std::vector<std::int64_t> x8;
  for (int i = 0; i < 8; ++i) x8.insert(x8.end(), seed.begin(), seed.end());
  return {{"seed (16 requests)", seed},
          {"seed lengths x 8 requests", x8, 32, 100000},
          {"16 x 32768", std::vector<std::int64_t>(16, 32768), 32, 100000},
          {"64 x 256", std::vector<std::int64_t>(64, 256)}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_planner: AttentionPlanner::plan per step, against 20 us and a descriptor-writing floor"};
  int repeats = 2000;
  std::string json_path;
  app.add_option("--repeats", repeats, "calls per configuration (median reported)")->check(CLI::Range(1, 10000000));
  app.add_option("--json", json_path, "Write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  nlohmann::json out;
  out["benchmark"] = "planner";
  out["limit_us"] = limit_us;
  fmt::print("bench_planner: median of {} calls per configuration\n\n", repeats);
  fmt::print("  {:<28}{:>12}{:>14}{:>14}{:>12}{:>12}{:>12}\n", "configuration", "descriptors", "reused us", "fresh us",
             "floor us", "/ 20 us", "/ floor");
  for (Configuration& config : configurations()) {
    PlannerOptions options;
    options.max_work_units = config.max_work_units;
    const AttentionPlanner planner(options);
    Plan reused;
    std::vector<double> reused_us, fresh_us, floor_us;
    std::int64_t checksum = 0;  // keeps every call's result observable
    std::vector<WorkDescriptor> floor;
    for (int i = 0; i < repeats; ++i) {
      // A step on new lengths: every request one token shorter, then back (the plan's size
      // stays, so the medians compare like with like).
      for (std::int64_t& length : config.seq_lens) length += i % 2 == 0 ? -1 : 1;
      auto start = Clock::now();
      planner.plan(config.seq_lens, config.heads, reused);
      reused_us.push_back(us_since(start));
      start = Clock::now();
      const Plan fresh = planner.plan(config.seq_lens, config.heads);
      fresh_us.push_back(us_since(start));
      start = Clock::now();
      floor.resize(reused.descriptors.size());
      for (std::size_t d = 0; d < floor.size(); ++d) {
        floor[d].work_id = static_cast<std::int32_t>(d);
        floor[d].kv_len = static_cast<std::int32_t>(i);
      }
      floor_us.push_back(us_since(start));
      checksum += reused.descriptors.back().kv_len + fresh.descriptors.back().kv_start + floor.back().kv_len;
    }
    const double reused_median = pto::bench::median(reused_us), fresh_median = pto::bench::median(fresh_us);
    const double floor_median = pto::bench::median(floor_us);
    fmt::print("  {:<28}{:>12}{:>14.2f}{:>14.2f}{:>12.2f}{:>12.2f}{:>12.1f}\n", config.name, reused.descriptors.size(),
               reused_median, fresh_median, floor_median, reused_median / limit_us,
               floor_median > 0 ? reused_median / floor_median : 0.0);
    out["configurations"].push_back({{"name", config.name},
                                     {"descriptors", reused.descriptors.size()},
                                     {"reused_us", reused_median},
                                     {"fresh_us", fresh_median},
                                     {"floor_us", floor_median},
                                     {"ratio_to_limit", reused_median / limit_us},
                                     {"checksum", checksum}});
  }
  if (!json_path.empty() && !pto::bench::write_json(json_path, out, "bench_planner")) return 1;
  return 0;
}
