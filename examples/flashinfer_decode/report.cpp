#include "examples/flashinfer_decode/report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace flashinfer {

namespace {

const std::string rule(70, '=');

bool on_gpu(const RunReport& r) {
  return r.options.device == Device::cuda;
}

std::string layout_text(const RunReport& r) {
  if (r.options.layout == KvLayout::contiguous) return "contiguous (ragged NHD: k, v [total_tokens, heads, head_dim])";
  return fmt::format("paged (page size {}: a page pool plus a block table)", r.options.page_size);
}

std::string flags_text(const WorkDescriptor& d) {
  return fmt::format("0x{:02x}", d.flags);
}

}  // namespace

void print_banner() {
  fmt::print("{}\nFlashInfer-Style Decode Attention - PTO-RT Example\n{}\n", rule, rule);
}

void print_configuration(const RunReport& r) {
  const auto& lens = r.shape.seq_lens;
  const std::vector<std::int64_t> head(lens.begin(), lens.begin() + std::min<std::ptrdiff_t>(8, std::ssize(lens)));
  fmt::print("\nConfiguration:\n");
  fmt::print("  Batch size: {}\n", r.shape.batch());
  fmt::print("  Number of heads: {}\n", r.shape.heads);
  fmt::print("  Head dim: {} (q, k, v f16; o, lse f32; softmax scale 1/sqrt({}))\n", r.shape.head_dim,
             r.shape.head_dim);
  fmt::print("  Sequence lengths: [{}]{}\n", fmt::join(head, ", "), lens.size() > 8 ? "..." : "");
  fmt::print("  Total KV tokens: {}\n", r.shape.total_tokens());
  fmt::print("  KV layout: {}\n", layout_text(r));
  fmt::print("  Device: {}\n", r.device_name);
}

void print_plan(const RunReport& r) {
  const PlanStatistics& s = r.plan_stats;
  fmt::print("  Objective: {} (budget {} work units, chunk sizes {} .. {}{})\n", to_string(r.planner.objective),
             r.planner.max_work_units, r.planner.chunk_min, r.planner.chunk_max,
             r.planner.granularity > 1 ? fmt::format(" in multiples of {}", r.planner.granularity) : "");
  fmt::print("  Optimal chunk size: {}\n", r.plan.chunk_size);
  fmt::print("  Generated {} work descriptors ({:.3f} ms)\n", r.plan.descriptors.size(), r.plan_ms);
  fmt::print("\nPlan Statistics:\n");
  fmt::print("  Chunk size: {}\n", r.plan.chunk_size);
  fmt::print("  Total work units: {}\n", s.work_units);
  fmt::print("  Tier distribution:\n");
  for (int tier = 0; tier < tier_count; ++tier) {
    fmt::print(
        "    Tier {}: {} ({:.1f}%)\n", tier, s.per_tier[tier],
        s.work_units > 0 ? 100.0 * static_cast<double>(s.per_tier[tier]) / static_cast<double>(s.work_units) : 0.0);
  }
  fmt::print("  Chunks per (request, head):\n");
  fmt::print("    min={}, max={}, avg={:.1f}\n", s.chunks_min, s.chunks_max, s.chunks_avg);
  fmt::print("  Split (request, head) pairs to merge: {}\n", s.merges);
  fmt::print("\n  First 5 descriptors:\n");
  for (std::size_t i = 0; i < std::min<std::size_t>(5, r.plan.descriptors.size()); ++i) {
    const WorkDescriptor& d = r.plan.descriptors[i];
    fmt::print("    [{}] req={} head={} kv=[{},{}) tier={} flags={}\n", d.work_id, d.request, d.head, d.kv_start,
               d.kv_start + d.kv_len, d.tier, flags_text(d));
  }
}

void print_summary(const RunReport& r) {
  const pto::ProgramStats& p = r.program;
  fmt::print("\n{}\nFlashInfer-Style Decode Attention Summary\n{}\n", rule, rule);
  fmt::print("  Plan: chunk {}, {} descriptors over 4 tiers, {} merges\n", r.plan.chunk_size, r.plan.descriptors.size(),
             r.merges);
  fmt::print("  Program: {} tasks, {} kernel instances compiled in {:.1f} ms\n", p.tasks, p.kernels, p.compile_ms);
  if (on_gpu(r)) {
    fmt::print("  Launches per run: {} (persistent work-stealing kernel per dependency level, {} streams){}\n",
               p.launches, r.options.streams,
               r.options.cuda_graphs ? fmt::format("; CUDA graphs: {} captured, {} updated, {} replayed",
                                                   p.graph_captures, p.graph_updates, p.graph_replays)
                                     : "");
    fmt::print(
        "  Device time: {:.3f} ms (median of {} runs; wall {:.3f} ms; host overhead per step {:.3f} ms = wall "
        "- device; of it enumeration {:.3f} ms, submission {:.3f} ms)\n",
        r.run_ms, r.repeats, r.run_wall_ms, r.host_overhead_ms, r.host_enumerate_ms, r.host_submit_ms);
  } else {
    fmt::print("  Workers: {} (tasks per worker [{}], {} steals)\n", p.tasks_per_worker.size(),
               fmt::join(p.tasks_per_worker, ", "), p.steals);
    fmt::print("  Time: {:.3f} ms execute -> synchronize (median of {} runs)\n", r.run_ms, r.repeats);
  }
  fmt::print("  Bytes moved: {:.1f} MB (K/V of every chunk, q, partials, outputs)\n",
             static_cast<double>(r.bytes_moved) / 1e6);
  fmt::print("  Bandwidth: {:.1f} GB/s = {:.1f}% of a {} copy measured in this run ({:.1f} GB/s)\n", r.gb_per_s(),
             100.0 * r.gb_per_s() / r.copy_gb_per_s, on_gpu(r) ? "device-to-device" : "host (all threads)",
             r.copy_gb_per_s);
  fmt::print(
      "  Check vs float64 reference ({} values): o max abs {:.2e}, max rel {:.2e}; lse max abs {:.2e}, max rel "
      "{:.2e}; tolerance |err| <= {:g} + {:g}|ref|: {}\n",
      r.check.checked, r.check.o_max_abs, r.check.o_max_rel, r.check.lse_max_abs, r.check.lse_max_rel, reference_atol,
      reference_rtol,
      r.check.passed() ? "PASSED" : fmt::format("FAILED ({} values out of tolerance)", r.check.failures));
}

void print_comparison(const RunReport& r) {
  const pto::ProgramStats& p = r.program;
  const bool gpu = on_gpu(r);
  const TierTarget target = gpu ? TierTarget::gpu : TierTarget::cpu;
  const auto block_rows = [&](int tier) {
    return tier_block_rows(target, r.options.layout, r.options.page_size, tier);
  };
  struct Row {
    std::string topic, flashinfer, here;
  };
  const std::vector<Row> rows = {
      {"plan / run", "plan() on the host per batch shape; run() per step",
       fmt::format("AttentionPlanner: {} descriptors in {:.3f} ms; Program re-executes", r.plan.descriptors.size(),
                   r.plan_ms)},
      {"split-KV chunk", "binary search of pages per chunk to fit the grid",
       fmt::format("binary search in [{}, {}], {}: chunk {}", r.planner.chunk_min, r.planner.chunk_max,
                   to_string(r.planner.objective), r.plan.chunk_size)},
      {"work assignment", "request_indices / kv_tile_indices per CTA",
       fmt::format("WorkDescriptor table: {} x {} B", r.plan.descriptors.size(), sizeof(WorkDescriptor))},
      {"kernels", "one template per head_dim / page size / dtype",
       fmt::format("4 tiers (blocks {}/{}/{}/{} rows) + merge, {} compiled in {:.0f} ms", block_rows(0), block_rows(1),
                   block_rows(2), block_rows(3), gpu ? "NVRTC" : "LLVM ORC", p.compile_ms)},
      {"softmax", "online softmax, state (m, d, o) per CTA", "online: rowmax/exp/rowsum per block, tail masked"},
      {"split merge", "MergeStates kernel after the decode kernel",
       fmt::format("merge_partials: {} merges, each after its chunks", r.merges)},
      {"KV layout", "paged: kv_indptr, kv_indices, last_page_len",
       r.options.layout == KvLayout::paged
           ? fmt::format("paged, page {}, block table read by tl::load_scalar", r.options.page_size)
           : std::string("contiguous ragged NHD (token offsets per request)")},
      {"scheduling", "one grid per kernel, CUDA-graph capturable",
       gpu ? fmt::format("work_steal: {} persistent launches, {} streams", p.launches, r.options.streams)
           : fmt::format("work_steal: {} workers, {} steals, {} streams", p.tasks_per_worker.size(), p.steals,
                         r.options.streams)},
      {"time / step", "not measured here (FlashInfer not installed)",
       fmt::format("{:.3f} ms {}", r.run_ms, gpu ? "device" : "wall")},
      {"bandwidth", "bound by reading the KV cache once",
       fmt::format("{:.1f} GB/s = {:.1f}% of copy ({:.1f} GB/s)", r.gb_per_s(), 100.0 * r.gb_per_s() / r.copy_gb_per_s,
                   r.copy_gb_per_s)},
      {"accuracy", "f32 accumulation of f16 inputs",
       fmt::format("vs float64: o {:.1e}, lse {:.1e} max abs", r.check.o_max_abs, r.check.lse_max_abs)},
  };
  std::size_t widths[3] = {7, 10, 8};
  for (const Row& row : rows) {
    widths[0] = std::max(widths[0], row.topic.size());
    widths[1] = std::max(widths[1], row.flashinfer.size());
    widths[2] = std::max(widths[2], row.here.size());
  }
  fmt::print("\nComparison with FlashInfer's CUDA decode (design, concept by concept; figures of this run):\n");
  const auto line = [&](const std::string& a, const std::string& b, const std::string& c) {
    fmt::print("  | {:<{}} | {:<{}} | {:<{}} |\n", a, widths[0], b, widths[1], c, widths[2]);
  };
  line("concept", "FlashInfer (CUDA)", "PTO-RT (this run)");
  fmt::print("  |{}|{}|{}|\n", std::string(widths[0] + 2, '-'), std::string(widths[1] + 2, '-'),
             std::string(widths[2] + 2, '-'));
  for (const Row& row : rows) line(row.topic, row.flashinfer, row.here);
}

nlohmann::json to_json(const RunReport& r) {
  const PlanStatistics& s = r.plan_stats;
  return {{"config",
           {{"seq_lens", r.shape.seq_lens},
            {"heads", r.shape.heads},
            {"head_dim", r.shape.head_dim},
            {"total_kv_tokens", r.shape.total_tokens()},
            {"layout", r.options.layout == KvLayout::paged ? "paged" : "contiguous"},
            {"page_size", r.options.layout == KvLayout::paged ? r.options.page_size : 0},
            {"device", r.options.device == Device::cuda ? "cuda" : "cpu"},
            {"cuda_graphs", r.options.cuda_graphs},
            {"device_name", r.device_name}}},
          {"plan",
           {{"objective", to_string(r.planner.objective)},
            {"max_work_units", r.planner.max_work_units},
            {"chunk_size", r.plan.chunk_size},
            {"work_units", s.work_units},
            {"tiers", std::vector<std::int64_t>(std::begin(s.per_tier), std::end(s.per_tier))},
            {"chunks_per_head", {{"min", s.chunks_min}, {"max", s.chunks_max}, {"avg", s.chunks_avg}}},
            {"merges", r.merges},
            {"plan_ms", r.plan_ms}}},
          {"run",
           {{"repeats", r.repeats},
            {"time_ms", r.run_ms},
            {"time_kind", on_gpu(r) ? "device" : "wall"},
            {"wall_ms", r.run_wall_ms},
            // The host's share of a step on the GPU (wall - device, median); null on the CPU,
            // where the kernels run on the host and wall time is the step.
            {"host_overhead_ms", on_gpu(r) ? nlohmann::json(r.host_overhead_ms) : nlohmann::json(nullptr)},
            // Medians of execute()'s parts on the calling thread (ProgramStats::enumerate_ms,
            // submit_ms); on the GPU the rest of host_overhead_ms is the launch's latency and
            // synchronize().
            {"enumerate_ms", r.host_enumerate_ms},
            {"submit_ms", r.host_submit_ms},
            {"bytes_moved", r.bytes_moved},
            {"gb_per_s", r.gb_per_s()},
            {"copy_gb_per_s", r.copy_gb_per_s},
            {"fraction_of_copy", r.copy_gb_per_s > 0 ? r.gb_per_s() / r.copy_gb_per_s : 0.0},
            {"program", r.program.to_json()}}},
          {"check",
           {{"o_max_abs", r.check.o_max_abs},
            {"o_max_rel", r.check.o_max_rel},
            {"lse_max_abs", r.check.lse_max_abs},
            {"lse_max_rel", r.check.lse_max_rel},
            {"atol", reference_atol},
            {"rtol", reference_rtol},
            {"failures", r.check.failures},
            {"passed", r.check.passed()}}}};
}

}  // namespace flashinfer
