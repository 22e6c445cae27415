// bench_cpu_kernels: the LLVM CPU backend on one thread.
//
//   JIT: per kernel, cold compile (empty cache folder) and warm load (a new JIT over the
//        same folder: object from disk) in ms. Targets: cold <= 50 ms, warm <= 2 ms.
//   decode attention (library::decode_attention, head_dim 128): one query row per head
//        against kv_len K/V rows, over a working set several times the last-level cache.
//   row softmax: [rows, 1024] f16 -> f32 over a working set of the same size.
// Each reports GB/s of the bytes it must move (inputs read once, outputs written once),
// the ratio to a STREAM-style copy measured in the same run (bytes read + written, one
// thread), and the speed-up over the reference interpreter (timed on a slice of the data).
// Target: decode attention >= 50% of the copy bandwidth.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "bench/json_file.hpp"
#include "bench/stats.hpp"
#include "dsl/interpreter.hpp"
#include "dsl/library/attention.hpp"
#include "runtime/cpu/cpu_kernel.hpp"
#include "runtime/cpu/llvm_jit.hpp"

using namespace pto;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::int64_t last_level_cache_bytes() {
  for (int index = 4; index >= 0; --index) {
    std::ifstream file(fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}/size", index));
    std::string text;
    if (file >> text && !text.empty()) {
      std::int64_t value = std::stoll(text);
      if (text.back() == 'K') value <<= 10;
      if (text.back() == 'M') value <<= 20;
      return value;
    }
  }
  return 32ll << 20;
}

template <typename F>
double best_of(int repeats, F&& once) {
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) best = std::min(best, once());
  return best;
}

// STREAM "copy" on one thread: c[i] = a[i], counting bytes read and written.
double copy_bandwidth(std::int64_t bytes, int repeats) {
  const std::size_t n = static_cast<std::size_t>(bytes / 8);
  std::vector<double> a(n, 1.0), c(n, 0.0);
  const double seconds = best_of(repeats, [&] {
    const auto start = Clock::now();
    double* __restrict out = c.data();
    const double* __restrict in = a.data();
    for (std::size_t i = 0; i < n; ++i) out[i] = in[i];
    return seconds_since(start);
  });
  if (c[n / 2] != 1.0) throw std::runtime_error("copy check failed");
  return 2.0 * static_cast<double>(n) * 8.0 / seconds / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"LLVM CPU backend: JIT times and kernel bandwidth on one thread"};
  std::int64_t working_set_mib = 0;
  int repeats = 3;
  std::string json_path;
  app.add_option("--working-set-mib", working_set_mib,
                 "Bytes each kernel moves per pass (default: 4x the LLC, 256..2048 MiB)");
  app.add_option("--repeats", repeats, "Timed passes (the best is reported)")->check(CLI::Range(1, 50));
  app.add_option("--json", json_path, "Write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  const std::int64_t llc = last_level_cache_bytes();
  const std::int64_t working_set =
      working_set_mib > 0 ? working_set_mib << 20 : std::clamp<std::int64_t>(4 * llc, 256ll << 20, 2048ll << 20);
  nlohmann::json out{{"benchmark", "cpu_kernels"}, {"llc_bytes", llc}, {"working_set_bytes", working_set}};
  fmt::print("LLVM CPU backend, one thread. LLC {} MiB; working set per kernel {} MiB\n\n", llc >> 20,
             working_set >> 20);

  // ---- JIT ------------------------------------------------------------------------------------
  const auto folder = std::filesystem::temp_directory_path() / fmt::format("pto-bench-jit-{}", std::random_device{}());
  std::filesystem::remove_all(folder);
  std::vector<tl::KernelInstance> kernels;
  const auto family = library::decode_attention_family(128, {32, 64, 128});
  for (std::size_t i = 0; i < family.size(); ++i) kernels.push_back(family.tier(i));
  kernels.push_back(library::row_softmax(16, 1024));
  fmt::print("  {:<28}{:>12}{:>30}{:>12}\n", "JIT", "cold ms", "(lower / optimize / codegen)", "warm ms");
  nlohmann::json jit = nlohmann::json::array();
  double worst_cold = 0, worst_warm = 0;
  {
    cpu::LlvmJit cold_jit(folder);
    std::vector<cpu::CompiledFunction> cold;
    for (const auto& kernel : kernels) cold.push_back(cold_jit.get(kernel.ir(), kernel.hash()));
    cpu::LlvmJit warm_jit(folder);
    for (std::size_t i = 0; i < kernels.size(); ++i) {
      const auto warm = warm_jit.get(kernels[i].ir(), kernels[i].hash());
      if (warm.source != cpu::CompiledFunction::Source::disk)
        throw std::runtime_error("warm load did not come from disk");
      const auto& c = cold[i];
      fmt::print("  {:<28}{:>12.1f}{:>30}{:>12.2f}\n", kernels[i].name(), c.milliseconds,
                 fmt::format("({:.1f} / {:.1f} / {:.1f})", c.lower_ms, c.optimize_ms, c.codegen_ms), warm.milliseconds);
      jit.push_back({{"kernel", kernels[i].name()},
                     {"cold_ms", c.milliseconds},
                     {"lower_ms", c.lower_ms},
                     {"optimize_ms", c.optimize_ms},
                     {"codegen_ms", c.codegen_ms},
                     {"warm_ms", warm.milliseconds}});
      worst_cold = std::max(worst_cold, c.milliseconds);
      worst_warm = std::max(worst_warm, warm.milliseconds);
    }
  }
  std::filesystem::remove_all(folder);
  std::vector<double> colds;
  for (const auto& entry : jit) colds.push_back(entry["cold_ms"].get<double>());
  const double median_cold = bench::median(colds);
  fmt::print(
      "  cold: median {:.1f} ms = {:.2f} x the 50 ms target, worst {:.1f} ms (the first compile of a process also\n"
      "  pages in LLVM's code); warm: worst {:.2f} ms = {:.2f} x the 2 ms target\n\n",
      median_cold, median_cold / 50.0, worst_cold, worst_warm, worst_warm / 2.0);
  out["jit_cold_median_ms"] = median_cold;
  out["jit"] = jit;

  // ---- copy limit -----------------------------------------------------------------------------
  const double copy_gbs = copy_bandwidth(working_set, repeats);
  fmt::print("  STREAM-style copy (one thread, read + write): {:.2f} GB/s\n\n", copy_gbs);
  out["copy_gbs"] = copy_gbs;

  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  fmt::print("  {:<28}{:>10}{:>12}{:>14}{:>16}\n", "kernel", "GB/s", "vs copy", "interp GB/s", "x interpreter");
  nlohmann::json kernels_json = nlohmann::json::array();

  // ---- decode attention -----------------------------------------------------------------------
  {
    const std::int64_t head_dim = 128, kv_len = 4096;
    const std::int64_t per_head = 2 * kv_len * head_dim * 2;  // K and V, f16
    const std::int64_t heads = std::max<std::int64_t>(1, working_set / per_head);
    std::vector<f16_t> q(static_cast<std::size_t>(heads * head_dim)),
        k(static_cast<std::size_t>(heads * kv_len * head_dim)), v(k.size());
    for (auto& x : q) x = f16_t(uniform(rng));
    for (std::size_t i = 0; i < k.size(); ++i) {
      k[i] = f16_t(uniform(rng));
      v[i] = f16_t(uniform(rng));
    }
    std::vector<float> o(static_cast<std::size_t>(heads * head_dim)), lse(static_cast<std::size_t>(heads));
    const auto kernel = library::decode_attention(head_dim, 64);
    const cpu::CpuKernel compiled(kernel);
    auto args_for = [&](std::int64_t h) {
      return KernelArgs()
          .set("q", TensorView{q.data() + h * head_dim, DType::f16, 1, head_dim, head_dim})
          .set("k", TensorView{k.data() + h * kv_len * head_dim, DType::f16, kv_len, head_dim, head_dim})
          .set("v", TensorView{v.data() + h * kv_len * head_dim, DType::f16, kv_len, head_dim, head_dim})
          .set("kv_len", kv_len)
          .set("o", TensorView{o.data() + h * head_dim, DType::f32, 1, head_dim, head_dim})
          .set("lse", TensorView{lse.data() + h, DType::f32, 1, 1, 1});
    };
    const double bytes = static_cast<double>(heads * (per_head + head_dim * 2 + head_dim * 4 + 4));
    const double seconds = best_of(repeats, [&] {
      const auto start = Clock::now();
      for (std::int64_t h = 0; h < heads; ++h) compiled.run(args_for(h));
      return seconds_since(start);
    });
    const std::int64_t slice = std::min<std::int64_t>(heads, 4);
    const auto interp_start = Clock::now();
    for (std::int64_t h = 0; h < slice; ++h) interpret(kernel, args_for(h));
    const double interp_gbs =
        static_cast<double>(slice) * bytes / static_cast<double>(heads) / seconds_since(interp_start) / 1e9;
    const double gbs = bytes / seconds / 1e9;
    fmt::print("  {:<28}{:>10.2f}{:>11.0f}%{:>14.3f}{:>15.0f}x\n", "decode_attention (block 64)", gbs,
               100 * gbs / copy_gbs, interp_gbs, gbs / interp_gbs);
    kernels_json.push_back({{"kernel", "decode_attention"},
                            {"heads", heads},
                            {"kv_len", kv_len},
                            {"gbs", gbs},
                            {"ratio_to_copy", gbs / copy_gbs},
                            {"interpreter_gbs", interp_gbs},
                            {"speedup_vs_interpreter", gbs / interp_gbs}});
    if (!std::isfinite(o[0]) || !std::isfinite(lse[0]))
      throw std::runtime_error("attention produced non-finite output");
  }

  // ---- row softmax ----------------------------------------------------------------------------
  {
    const std::int64_t cols = 1024, tile_rows = 16;
    const std::int64_t rows = std::max<std::int64_t>(tile_rows, working_set / (cols * 6) / tile_rows * tile_rows);
    std::vector<f16_t> x(static_cast<std::size_t>(rows * cols));
    for (auto& e : x) e = f16_t(4.0f * uniform(rng));
    std::vector<float> y(x.size());
    const auto kernel = library::row_softmax(tile_rows, cols);
    const cpu::CpuKernel compiled(kernel);
    KernelArgs args;
    args.set("x", TensorView{x.data(), DType::f16, rows, cols, cols})
        .set("y", TensorView{y.data(), DType::f32, rows, cols, cols});
    const double bytes = static_cast<double>(rows * cols * 6);
    const double seconds = best_of(repeats, [&] {
      const auto start = Clock::now();
      for (std::int64_t r = 0; r < rows; r += tile_rows) compiled.run(KernelArgs(args).set("row0", r));
      return seconds_since(start);
    });
    const std::int64_t slice_rows = std::min<std::int64_t>(rows, 64 * tile_rows);
    const auto interp_start = Clock::now();
    for (std::int64_t r = 0; r < slice_rows; r += tile_rows) interpret(kernel, KernelArgs(args).set("row0", r));
    const double interp_gbs = static_cast<double>(slice_rows * cols * 6) / seconds_since(interp_start) / 1e9;
    const double gbs = bytes / seconds / 1e9;
    fmt::print("  {:<28}{:>10.2f}{:>11.0f}%{:>14.3f}{:>15.0f}x\n", "row_softmax [16x1024]", gbs, 100 * gbs / copy_gbs,
               interp_gbs, gbs / interp_gbs);
    kernels_json.push_back({{"kernel", "row_softmax"},
                            {"rows", rows},
                            {"cols", cols},
                            {"gbs", gbs},
                            {"ratio_to_copy", gbs / copy_gbs},
                            {"interpreter_gbs", interp_gbs},
                            {"speedup_vs_interpreter", gbs / interp_gbs}});
  }
  out["kernels"] = kernels_json;
  if (!json_path.empty() && !bench::write_json(json_path, out, "bench_cpu_kernels")) return 1;
  return 0;
}
