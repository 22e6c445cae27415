// What the example prints: the seed's sections (configuration, planning, plan statistics,
// execution, summary) and the comparison with FlashInfer's CUDA design, filled with the
// figures this run measured; and the same as JSON for --json.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "examples/flashinfer_decode/decode_program.hpp"
#include "examples/flashinfer_decode/reference.hpp"

namespace flashinfer {

struct RunReport {
  DecodeShape shape;
  RunOptions options;
  PlannerOptions planner;
  Plan plan;
  PlanStatistics plan_stats;
  double plan_ms = 0.0;
  std::string device_name;
  pto::ProgramStats program;  // of the last run
  std::int64_t merges = 0, bytes_moved = 0, kv_bytes = 0;
  int repeats = 0;
  double run_ms = 0.0;            // median: wall execute -> synchronize (CPU) or device time (CUDA)
  double run_wall_ms = 0.0;       // median wall execute -> synchronize
  double host_overhead_ms = 0.0;  // CUDA: median over runs of wall - device time (the host's share of a step)
  // Medians of execute()'s parts on the calling thread: its enumeration (or, on CUDA, the
  // device plan) and its submission (copies staged, launches or the graph queued); on CUDA
  // the rest of host_overhead_ms is the launch's latency and synchronize()'s wait.
  double host_enumerate_ms = 0.0, host_submit_ms = 0.0;
  double copy_gb_per_s = 0.0;  // the limit, measured in this run
  ReferenceCheck check;

  double gb_per_s() const { return run_ms > 0 ? static_cast<double>(bytes_moved) / (run_ms * 1e6) : 0.0; }
};

void print_banner();
void print_configuration(const RunReport& report);
void print_plan(const RunReport& report);
void print_summary(const RunReport& report);
void print_comparison(const RunReport& report);
nlohmann::json to_json(const RunReport& report);

}  // namespace flashinfer
