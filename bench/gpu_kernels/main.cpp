// bench_gpu_kernels: the CUDA backend on one GPU (run on the GPU machine).
//
//   NVRTC: per decode-attention tier (block 32 / 64 / 128 rows), cold compile (empty cache
//          folder) and warm load (the cubin from the disk cache) in ms.
//   copy:  a device-to-device copy of the K/V working set (cuMemcpyDtoDAsync), GB/s of
//          bytes read + written: the limit, measured in the same run.
//   decode attention: library::decode_attention (head_dim 128, f16 K/V in FlashInfer's
//          ragged NHD layout [tokens, heads, head_dim]), one CTA per (request, head, KV
//          chunk) task, all tasks in one launch; GB/s of the bytes the tasks must move
//          (K, V and q read once, o and lse written once) and % of the copy.
// Times: CUDA events, median of --repeats launches after warm-up, random (not zero) data.
// A few tasks are checked against the reference interpreter before timing.
// First target: decode attention >= 60% of the copy bandwidth.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "bench/stats.hpp"
#include "dsl/interpreter.hpp"
#include "dsl/library/attention.hpp"
#include "runtime/cuda/cuda_kernel.hpp"
#include "runtime/cuda/device_probe.hpp"

using namespace pto;

namespace {

using bench::median;

// Median ms of `repeats` runs of `enqueue` on `stream`, timed with events, after `warmup`.
template <typename F>
double time_ms(cuda::Device& device, const cuda::Stream& stream, int warmup, int repeats, F&& enqueue) {
  auto shared = device.shared_from_this();
  for (int i = 0; i < warmup; ++i) enqueue();
  stream.synchronize();
  std::vector<double> samples;
  for (int i = 0; i < repeats; ++i) {
    cuda::Event start(shared), stop(shared);
    start.record(stream);
    enqueue();
    stop.record(stream);
    stop.synchronize();
    samples.push_back(stop.elapsed_since(start));
  }
  return median(samples);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CUDA backend: NVRTC compile times and decode-attention bandwidth vs a device copy"};
  std::int64_t working_set_mib = 2048;
  std::int64_t chunk = 1024;
  int repeats = 20;
  std::int64_t block = 64;
  std::string json_path;
  app.add_option("--working-set-mib", working_set_mib, "K + V bytes in MiB (at least 1024 for the issue's figure)")
      ->check(CLI::Range(16, 16384));
  app.add_option("--chunk", chunk, "KV tokens per task (a split-KV chunk)")->check(CLI::Range(64, 65536));
  app.add_option("--block", block, "KV rows per loop step of the timed kernel (32, 64 or 128)")
      ->check(CLI::IsMember({32, 64, 128}));
  app.add_option("--repeats", repeats, "timed launches (the median is reported)")->check(CLI::Range(3, 1000));
  app.add_option("--json", json_path, "write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  const cuda::CudaProbe probe = cuda::probe_cuda();
  if (probe.status != cuda::CudaStatus::devices_found) {
    fmt::print("bench_gpu_kernels: no CUDA device ({}): {}\n", cuda::to_string(probe.status), probe.reason);
    return 0;
  }
  const std::shared_ptr<cuda::Device> device = cuda::Device::get();
  nlohmann::json out;
  out["benchmark"] = "gpu_kernels";
  out["device"] = device->name();
  out["arch"] = device->arch();
  fmt::print("CUDA backend on {} (sm_{}, {} SMs)\n\n", device->name(), device->arch(), device->multiprocessors());

  // ---- NVRTC: cold and warm per tier ----------------------------------------------------------
  const std::vector<std::int64_t> blocks = {32, 64, 128};
  const tl::Family family = library::decode_attention_family(128, blocks);
  {
    const auto folder =
        std::filesystem::temp_directory_path() / fmt::format("pto-bench-nvrtc-{}", std::random_device{}());
    std::filesystem::remove_all(folder);
    cuda::NvrtcCompiler cold(folder), warm(folder);
    nlohmann::json tiers = nlohmann::json::array();
    fmt::print("  {:<28}{:>12}{:>12}\n", "NVRTC", "cold ms", "warm ms");
    for (std::size_t i = 0; i < family.size(); ++i) {
      const tl::KernelInstance tier = family.tier(i);
      const cuda::GeneratedKernel generated = cuda::generate_cuda(tier.ir(), tier.hash());
      const cuda::Cubin first = cold.compile(generated, tier.name(), device->arch());
      const cuda::Cubin second = warm.compile(generated, tier.name(), device->arch());
      if (first.from_cache || !second.from_cache) throw Error("NVRTC cache did not behave: cold hit or warm miss");
      fmt::print("  {:<28}{:>12.1f}{:>12.2f}\n", tier.name(), first.milliseconds, second.milliseconds);
      tiers.push_back({{"kernel", tier.name()},
                       {"cold_ms", first.milliseconds},
                       {"warm_ms", second.milliseconds},
                       {"cubin_bytes", first.image.size()}});
    }
    std::filesystem::remove_all(folder);
    out["nvrtc"] = tiers;
  }

  // ---- data: ragged NHD K/V --------------------------------------------------------------------
  const std::int64_t heads = 32, head_dim = 128;
  const std::int64_t token_bytes = heads * head_dim * 2;  // one token of K (or V), f16
  const std::int64_t tokens = working_set_mib * (1ll << 20) / (2 * token_bytes);
  const std::int64_t requests = std::max<std::int64_t>(1, tokens / 8192);
  const std::int64_t seq_len = tokens / requests;
  const std::int64_t total_tokens = requests * seq_len;
  const std::int64_t chunks_per_head = (seq_len + chunk - 1) / chunk;
  const std::int64_t task_count = requests * heads * chunks_per_head;
  const std::size_t kv_bytes = static_cast<std::size_t>(total_tokens * token_bytes);
  fmt::print(
      "\n  decode attention: {} requests x {} tokens, {} heads x {} dims f16; K + V = {:.2f} GiB; "
      "{} tasks of {} tokens (block {})\n",
      requests, seq_len, heads, head_dim, 2.0 * static_cast<double>(kv_bytes) / (1ll << 30), task_count, chunk, block);

  cuda::Stream stream(device);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  auto random_f16 = [&](std::size_t count) {
    std::vector<f16_t> values(count);
    for (auto& value : values) value = f16_t(uniform(rng));
    return values;
  };
  // Filling 2 GiB on the host is slow: fill 64 MiB of random values and tile them.
  const std::vector<f16_t> pattern = random_f16(static_cast<std::size_t>(32) << 20);
  cuda::DeviceBuffer k_buffer(device, kv_bytes), v_buffer(device, kv_bytes);
  for (cuda::DeviceBuffer* buffer : {&k_buffer, &v_buffer}) {
    for (std::size_t offset = 0; offset < kv_bytes; offset += pattern.size() * 2) {
      const std::size_t bytes = std::min(pattern.size() * 2, kv_bytes - offset);
      buffer->upload(pattern.data(), bytes, stream, offset);
      stream.synchronize();
    }
  }
  const std::vector<f16_t> q_host = random_f16(static_cast<std::size_t>(requests * heads * head_dim));
  cuda::DeviceBuffer q_buffer(device, q_host.size() * 2);
  q_buffer.upload(q_host.data(), q_host.size() * 2, stream);
  cuda::DeviceBuffer o_buffer(device, static_cast<std::size_t>(task_count * head_dim * 4));
  cuda::DeviceBuffer lse_buffer(device, static_cast<std::size_t>(task_count * 4));

  // ---- the copy limit --------------------------------------------------------------------------
  cuda::DeviceBuffer copy_target(device, kv_bytes);
  const double copy_ms =
      time_ms(*device, stream, 3, repeats, [&] { cuda::copy_device(copy_target, k_buffer, kv_bytes, stream); });
  const double copy_gbs = 2.0 * static_cast<double>(kv_bytes) / (copy_ms * 1e6);
  fmt::print("  device-to-device copy of {:.2f} GiB: {:.3f} ms = {:.0f} GB/s (read + write)\n",
             static_cast<double>(kv_bytes) / (1ll << 30), copy_ms, copy_gbs);
  out["copy_gbs"] = copy_gbs;

  // ---- tasks: one ArgSlot row per task -----------------------------------------------------------
  const tl::KernelInstance kernel = family.for_param(block);
  const cuda::CudaKernel compiled(kernel, device->arch());
  const std::size_t params = kernel.ir().params.size();
  std::vector<ArgSlot> slots(static_cast<std::size_t>(task_count) * params);
  auto byte_pointer = [](const cuda::DeviceBuffer& buffer, std::int64_t offset) {
    return static_cast<void*>(static_cast<char*>(buffer.pointer()) + offset);
  };
  std::int64_t task = 0;
  for (std::int64_t r = 0; r < requests; ++r) {
    for (std::int64_t h = 0; h < heads; ++h) {
      for (std::int64_t c = 0; c < chunks_per_head; ++c, ++task) {
        const std::int64_t start = c * chunk;
        const std::int64_t length = std::min(chunk, seq_len - start);
        const std::int64_t first_token = r * seq_len + start;
        ArgSlot* row = &slots[static_cast<std::size_t>(task) * params];
        for (std::size_t p = 0; p < params; ++p) {
          const std::string& name = kernel.ir().params[p].name;
          ArgSlot& slot = row[p];
          if (name == "q") {
            slot = {byte_pointer(q_buffer, (r * heads + h) * head_dim * 2), 1, head_dim, head_dim, 0, 0.0};
          } else if (name == "k" || name == "v") {
            const cuda::DeviceBuffer& buffer = name == "k" ? k_buffer : v_buffer;
            slot = {byte_pointer(buffer, (first_token * heads + h) * head_dim * 2),
                    length,
                    head_dim,
                    heads * head_dim,
                    0,
                    0.0};
          } else if (name == "kv_len") {
            slot.integer = length;
            slot.number = static_cast<double>(length);
          } else if (name == "o") {
            slot = {byte_pointer(o_buffer, task * head_dim * 4), 1, head_dim, head_dim, 0, 0.0};
          } else if (name == "lse") {
            slot = {byte_pointer(lse_buffer, task * 4), 1, 1, 1, 0, 0.0};
          } else {
            throw Error(fmt::format("bench: unexpected parameter '{}' of {}", name, kernel.name()));
          }
        }
      }
    }
  }
  cuda::DeviceBuffer slot_buffer(device, slots.size() * sizeof(ArgSlot));
  slot_buffer.upload(slots.data(), slots.size() * sizeof(ArgSlot), stream);
  cuda::DeviceBuffer fault_buffer(device, sizeof(KernelFault));
  fault_buffer.fill_zero(stream);
  auto run_all = [&] { compiled.launch(device, slot_buffer, static_cast<int>(task_count), fault_buffer, stream); };

  // ---- correctness of a few tasks against the interpreter --------------------------------------
  run_all();
  KernelFault fault;
  fault_buffer.download(&fault, sizeof(fault), stream);
  stream.synchronize();
  compiled.raise(fault, slots);
  double worst = 0.0;
  for (const std::int64_t checked : {std::int64_t{0}, task_count / 2, task_count - 1}) {
    const ArgSlot* row = &slots[static_cast<std::size_t>(checked) * params];
    std::int64_t length = 0;
    std::vector<f16_t> q(static_cast<std::size_t>(head_dim)), kh, vh;
    std::vector<float> o_gpu(static_cast<std::size_t>(head_dim)), o_ref(static_cast<std::size_t>(head_dim));
    float lse_gpu = 0, lse_ref = 0;
    KernelArgs args;
    for (std::size_t p = 0; p < params; ++p)
      if (kernel.ir().params[p].name == "kv_len") length = row[p].integer;
    for (std::size_t p = 0; p < params; ++p) {
      const std::string& name = kernel.ir().params[p].name;
      const ArgSlot& slot = row[p];
      if (name == "q") {
        const auto from =
            static_cast<std::size_t>(static_cast<char*>(slot.data) - static_cast<char*>(q_buffer.pointer()));
        q_buffer.download(q.data(), q.size() * 2, stream, from);
        args.set("q", view(q, 1, head_dim));
      } else if (name == "k" || name == "v") {
        const cuda::DeviceBuffer& buffer = name == "k" ? k_buffer : v_buffer;
        auto& host = name == "k" ? kh : vh;
        host.resize(static_cast<std::size_t>(length * head_dim));
        const auto base =
            static_cast<std::size_t>(static_cast<char*>(slot.data) - static_cast<char*>(buffer.pointer()));
        for (std::int64_t t = 0; t < length; ++t) {
          buffer.download(host.data() + t * head_dim, static_cast<std::size_t>(head_dim * 2), stream,
                          base + static_cast<std::size_t>(t * heads * head_dim * 2));
        }
        args.set(name, view(host, length, head_dim));
      } else if (name == "kv_len") {
        args.set("kv_len", length);
      } else if (name == "o") {
        const auto from =
            static_cast<std::size_t>(static_cast<char*>(slot.data) - static_cast<char*>(o_buffer.pointer()));
        o_buffer.download(o_gpu.data(), o_gpu.size() * 4, stream, from);
        args.set("o", view(o_ref, 1, head_dim));
      } else {
        const auto from =
            static_cast<std::size_t>(static_cast<char*>(slot.data) - static_cast<char*>(lse_buffer.pointer()));
        lse_buffer.download(&lse_gpu, 4, stream, from);
      }
    }
    stream.synchronize();
    std::vector<float> lse_host(1);
    args.set("lse", view(lse_host, 1, 1));
    interpret(kernel, args);
    lse_ref = lse_host[0];
    for (std::int64_t d = 0; d < head_dim; ++d) {
      worst = std::max(worst, std::fabs(static_cast<double>(o_gpu[static_cast<std::size_t>(d)]) -
                                        o_ref[static_cast<std::size_t>(d)]));
    }
    worst = std::max(worst, std::fabs(static_cast<double>(lse_gpu) - lse_ref) / std::max(1.0f, std::fabs(lse_ref)));
  }
  fmt::print("  checked tasks 0, {}, {} against the interpreter: largest error {:.2e}\n", task_count / 2,
             task_count - 1, worst);
  if (worst > 1e-3) throw Error(fmt::format("decode attention on the GPU disagrees with the interpreter ({})", worst));
  out["max_error_vs_interpreter"] = worst;

  // ---- timing ------------------------------------------------------------------------------------
  const double attention_ms = time_ms(*device, stream, 3, repeats, run_all);
  const double moved = 2.0 * static_cast<double>(kv_bytes) + static_cast<double>(requests * heads * head_dim * 2) +
                       static_cast<double>(task_count * (head_dim + 1) * 4);
  const double attention_gbs = moved / (attention_ms * 1e6);
  fmt::print("\n  {:<34}{:>10}{:>10}{:>10}\n", "kernel", "ms", "GB/s", "vs copy");
  fmt::print("  {:<34}{:>10.3f}{:>10.0f}{:>9.0f}%\n", fmt::format("{} ({} tasks)", kernel.name(), task_count),
             attention_ms, attention_gbs, 100.0 * attention_gbs / copy_gbs);
  fmt::print("  target: >= 60% of the copy bandwidth\n");
  out["decode_attention"] = {{"kernel", kernel.name()},
                             {"tasks", task_count},
                             {"chunk", chunk},
                             {"requests", requests},
                             {"heads", heads},
                             {"seq_len", seq_len},
                             {"ms", attention_ms},
                             {"gbs", attention_gbs},
                             {"ratio_to_copy", attention_gbs / copy_gbs},
                             {"shared_bytes", compiled.generated().shared_bytes()}};
  if (!json_path.empty()) {
    std::ofstream(json_path) << out.dump(2) << "\n";
    fmt::print("  JSON: {}\n", json_path);
  }
  return 0;
}
