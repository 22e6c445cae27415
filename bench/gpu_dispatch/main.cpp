// bench_gpu_dispatch: how the CUDA target of a Program dispatches one descriptor table
// (run on the GPU machine).
//
// The table: split-KV decode attention work, FlashInfer style. Requests with the flagship's
// skewed sequence lengths (times --scale), 32 heads x 128 dims, f16 K/V in the ragged NHD
// layout; every (request, head) is cut into chunks of --chunk tokens, one descriptor per
// chunk, its tier (decode_attention block 32 / 64 / 128) chosen by the chunk's length.
// The same workload runs as one Program per strategy:
//   launch per descriptor   Dispatch::round_robin + Timing::batched(1), streams(4)
//   grid per tier, 1 stream Dispatch::round_robin (one launch per tier)
//   grid per tier, 4 streams  the same, tiers on different streams
//   persistent              Dispatch::work_steal: one launch, CTAs claim descriptors
//                           through an atomic counter, longest first
// Reported per strategy: launches per run, device ms (CUDA events from the inputs being on
// the device to the last launch's end), GB/s of the bytes the tasks' views span and its
// ratio to a device-to-device copy measured in the same run, the host's wall ms per
// execute + synchronize, and the host overhead per step (wall - device). Medians of
// --repeats runs after warm-up; random data; the strategies' outputs are held to each other
// and to the CPU interpreter on a few rows.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <vector>

#include "bench/stats.hpp"
#include "dsl/interpreter.hpp"
#include "dsl/library/attention.hpp"
#include "frontend/program.hpp"
#include "runtime/cuda/device.hpp"
#include "runtime/cuda/device_probe.hpp"

using namespace pto;

namespace {

struct Work {
  std::int32_t tier, request, head, kv_start, kv_len;
};

using bench::median;

std::vector<f16_t> random_f16(std::size_t count, std::mt19937& rng) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<f16_t> out(count);
  for (auto& value : out) value = f16_t(uniform(rng));
  return out;
}

// `count` values: a random pattern of 16 Mi values repeated (filling GiBs one by one is slow).
std::vector<f16_t> filled(std::size_t count, const std::vector<f16_t>& pattern) {
  std::vector<f16_t> out(count);
  for (std::size_t at = 0; at < count; at += pattern.size())
    std::memcpy(out.data() + at, pattern.data(), std::min(pattern.size(), count - at) * sizeof(f16_t));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CUDA target dispatch: launch per descriptor vs grid per tier on streams vs persistent kernel"};
  std::int64_t scale = 1, chunk = 4096;
  int repeats = 20;
  std::string json_path;
  app.add_option("--scale", scale, "multiply the flagship's sequence lengths by this")->check(CLI::Range(1, 64));
  app.add_option("--chunk", chunk, "KV tokens per descriptor (split-KV chunk; 4096 is the flagship plan's)")
      ->check(CLI::Range(64, 65536));
  app.add_option("--repeats", repeats, "timed runs per strategy (the median is reported)")->check(CLI::Range(3, 1000));
  app.add_option("--json", json_path, "write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  const cuda::CudaProbe probe = cuda::probe_cuda();
  if (probe.status != cuda::CudaStatus::devices_found) {
    fmt::print("bench_gpu_dispatch: no CUDA device ({}): {}\n", cuda::to_string(probe.status), probe.reason);
    return 0;
  }
  const std::shared_ptr<cuda::Device> device = cuda::Device::get();

  // ---- the descriptor table ----------------------------------------------------------------
  const std::int64_t heads = 32, head_dim = 128;
  std::vector<std::int64_t> lengths = {512,  1024,  2048, 4096, 512,  512,  1024, 2048,
                                       8192, 16384, 1024, 512,  2048, 4096, 8192, 1024};
  for (std::int64_t& length : lengths) length *= scale;
  const auto batch = static_cast<std::int64_t>(lengths.size());
  std::vector<Work> plan;
  std::int64_t total_tokens = 0;
  for (std::int64_t r = 0; r < batch; ++r) {
    for (std::int64_t h = 0; h < heads; ++h) {
      for (std::int64_t start = 0; start < lengths[static_cast<std::size_t>(r)]; start += chunk) {
        const std::int64_t len = std::min(chunk, lengths[static_cast<std::size_t>(r)] - start);
        const std::int32_t tier = len <= 512 ? 0 : len <= 1024 ? 1 : 2;
        plan.push_back({tier, static_cast<std::int32_t>(r), static_cast<std::int32_t>(h),
                        static_cast<std::int32_t>(total_tokens + start), static_cast<std::int32_t>(len)});
      }
    }
    total_tokens += lengths[static_cast<std::size_t>(r)];
  }
  const auto descriptors = static_cast<std::int64_t>(plan.size());
  std::int64_t per_tier[3] = {0, 0, 0};
  for (const Work& w : plan) ++per_tier[w.tier];

  // ---- data on the device --------------------------------------------------------------------
  std::mt19937 rng(7);
  const std::vector<f16_t> pattern = random_f16(std::size_t{16} << 20, rng);
  Tensor Q = Tensor::device("q", DType::f16, {batch, heads, head_dim});
  Tensor K = Tensor::device("k", DType::f16, {total_tokens, heads, head_dim});
  Tensor V = Tensor::device("v", DType::f16, {total_tokens, heads, head_dim});
  const std::vector<f16_t> q_host = random_f16(static_cast<std::size_t>(batch * heads * head_dim), rng);
  Q.copy_from(q_host);
  {
    const std::vector<f16_t> kv = filled(static_cast<std::size_t>(total_tokens * heads * head_dim), pattern);
    K.copy_from(kv);
    std::vector<f16_t> shifted(kv.begin() + 12345, kv.end());  // V differs from K
    shifted.insert(shifted.end(), kv.begin(), kv.begin() + 12345);
    V.copy_from(shifted);
  }
  const std::size_t kv_bytes = static_cast<std::size_t>(K.footprint_bytes());
  fmt::print("CUDA target dispatch on {} (sm_{}, {} SMs)\n", device->name(), device->arch(), device->multiprocessors());
  fmt::print(
      "  {} requests, {} KV tokens, {} heads x {} f16: K + V = {:.2f} GiB; chunk {} -> {} descriptors "
      "(tiers 32/64/128: {}/{}/{})\n\n",
      batch, total_tokens, heads, head_dim, 2.0 * static_cast<double>(kv_bytes) / (1ll << 30), chunk, descriptors,
      per_tier[0], per_tier[1], per_tier[2]);

  // ---- the copy limit --------------------------------------------------------------------------
  const cuda::Stream stream(device);
  cuda::DeviceBuffer copy_from(device, kv_bytes), copy_to(device, kv_bytes);
  copy_from.fill_zero(stream);
  std::vector<double> copy_samples;
  for (int i = 0; i < repeats + 3; ++i) {
    cuda::Event start(device), stop(device);
    start.record(stream);
    cuda::copy_device(copy_to, copy_from, kv_bytes, stream);
    stop.record(stream);
    stop.synchronize();
    if (i >= 3) copy_samples.push_back(stop.elapsed_since(start));
  }
  const double copy_gbs = 2.0 * static_cast<double>(kv_bytes) / (median(copy_samples) * 1e6);
  fmt::print("  limit: device-to-device copy of {:.2f} GiB = {:.0f} GB/s (read + write)\n\n",
             static_cast<double>(kv_bytes) / (1ll << 30), copy_gbs);

  // ---- the workload ----------------------------------------------------------------------------
  const tl::Family family = library::decode_attention_family(head_dim, {32, 64, 128});
  const DescriptorTable<Work> work(plan, "plan");
  Tensor O = Tensor::device("o", DType::f32, {descriptors, head_dim});
  Tensor LSE = Tensor::device("lse", DType::f32, {descriptors, 1});
  const Workload wl = workload("split_kv_decode", [&](W& w) {
    w.parallel_for(DenseDyn(work), [&](Idx i) {
      auto d = work[i];
      w.call(family, d[&Work::tier],
             {Q[d[&Work::request]][d[&Work::head]], K.rows(d[&Work::kv_start], d[&Work::kv_len]).at(1, d[&Work::head]),
              V.rows(d[&Work::kv_start], d[&Work::kv_len]).at(1, d[&Work::head]), d[&Work::kv_len], O[i], LSE[i]});
    });
  });

  struct Strategy {
    const char* name;
    Workload workload;
  };
  const Strategy strategies[] = {
      {"launch per descriptor", wl.dispatch(Dispatch::round_robin()).timing(Timing::batched(1)).streams(4)},
      {"grid per tier, 1 stream", wl.dispatch(Dispatch::round_robin())},
      {"grid per tier, 4 streams", wl.dispatch(Dispatch::round_robin()).streams(4)},
      {"persistent work-stealing", wl.dispatch(Dispatch::work_steal())},
  };
  nlohmann::json out;
  out["benchmark"] = "gpu_dispatch";
  out["device"] = device->name();
  out["descriptors"] = descriptors;
  out["kv_gib"] = 2.0 * static_cast<double>(kv_bytes) / (1ll << 30);
  out["copy_gbs"] = copy_gbs;
  fmt::print("  {:<26}{:>10}{:>12}{:>10}{:>10}{:>12}{:>12}\n", "strategy", "launches", "device ms", "GB/s", "% copy",
             "wall ms", "host ms");
  std::vector<float> first_o;
  double worst_between = 0.0;
  for (const Strategy& strategy : strategies) {
    Program program = strategy.workload.compile(Target::cuda());
    std::vector<double> device_ms, wall_ms, host_ms;  // host: wall - device, per run
    for (int i = 0; i < repeats + 3; ++i) {
      program.execute();
      program.synchronize();
      if (i < 3) continue;
      device_ms.push_back(program.stats().device_ms);
      wall_ms.push_back(program.stats().execute_ms);
      host_ms.push_back(program.stats().execute_ms - program.stats().device_ms);
    }
    const ProgramStats& stats = program.stats();
    const double ms = median(device_ms);
    const double gbs = static_cast<double>(stats.bytes) / (ms * 1e6);
    fmt::print("  {:<26}{:>10}{:>12.3f}{:>10.0f}{:>9.0f}%{:>12.3f}{:>12.3f}\n", strategy.name, stats.launches, ms, gbs,
               100.0 * gbs / copy_gbs, median(wall_ms), median(host_ms));
    out["strategies"].push_back({{"name", strategy.name},
                                 {"launches", stats.launches},
                                 {"device_ms", ms},
                                 {"gb_per_s", gbs},
                                 {"fraction_of_copy", gbs / copy_gbs},
                                 {"wall_ms", median(wall_ms)},
                                 {"host_overhead_ms", median(host_ms)},
                                 {"edges", stats.edges},
                                 {"tasks", stats.tasks},
                                 {"bytes", stats.bytes}});
    const std::vector<float> o = O.to_vector<float>();
    if (first_o.empty()) first_o = o;
    for (std::size_t i = 0; i < o.size(); ++i)
      worst_between = std::max(worst_between, static_cast<double>(std::fabs(o[i] - first_o[i])));
  }

  // ---- correctness: a few descriptors against the interpreter --------------------------------
  double worst_reference = 0.0;
  const std::vector<f16_t> k_all = K.to_vector<f16_t>(), v_all = V.to_vector<f16_t>();
  for (const std::int64_t index : {std::int64_t{0}, descriptors / 2, descriptors - 1}) {
    const Work& d = plan[static_cast<std::size_t>(index)];
    std::vector<f16_t> q(q_host.begin() + (d.request * heads + d.head) * head_dim,
                         q_host.begin() + (d.request * heads + d.head + 1) * head_dim);
    std::vector<f16_t> kh, vh;
    for (std::int64_t t = 0; t < d.kv_len; ++t) {
      const auto at = static_cast<std::size_t>(((d.kv_start + t) * heads + d.head) * head_dim);
      kh.insert(kh.end(), k_all.begin() + static_cast<std::ptrdiff_t>(at),
                k_all.begin() + static_cast<std::ptrdiff_t>(at + head_dim));
      vh.insert(vh.end(), v_all.begin() + static_cast<std::ptrdiff_t>(at),
                v_all.begin() + static_cast<std::ptrdiff_t>(at + head_dim));
    }
    std::vector<float> o(static_cast<std::size_t>(head_dim)), lse(1);
    interpret(family.tier(static_cast<std::size_t>(d.tier)), KernelArgs()
                                                                 .set("q", view(q, 1, head_dim))
                                                                 .set("k", view(kh, d.kv_len, head_dim))
                                                                 .set("v", view(vh, d.kv_len, head_dim))
                                                                 .set("kv_len", std::int64_t{d.kv_len})
                                                                 .set("o", view(o, 1, head_dim))
                                                                 .set("lse", view(lse, 1, 1)));
    for (std::int64_t c = 0; c < head_dim; ++c) {
      worst_reference = std::max(
          worst_reference, static_cast<double>(std::fabs(o[static_cast<std::size_t>(c)] -
                                                         first_o[static_cast<std::size_t>(index * head_dim + c)])));
    }
  }
  fmt::print("\n  outputs: max |difference| between strategies {:.2e}; vs the interpreter (3 descriptors) {:.2e}\n",
             worst_between, worst_reference);
  out["max_difference_between_strategies"] = worst_between;
  out["max_error_vs_interpreter"] = worst_reference;
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return worst_between <= 1e-5 && worst_reference <= 1e-4 ? 0 : 1;
}
