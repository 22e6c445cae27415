// flashinfer_decode: FlashInfer-style decode attention with PTO-RT, on CPU simulation or a
// CUDA device. Plan (AttentionPlanner: chunk size, work descriptors, tiers), run (one
// Program: four tier kernels and the split-KV merge), check every (request, head) against
// a float64 reference, report. See README.md in this folder.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <new>
#include <thread>
#include <utility>

#include "core/error.hpp"
#include "dsl/type_rules.hpp"
#include "examples/flashinfer_decode/copy_limit.hpp"
#include "examples/flashinfer_decode/decode_program.hpp"
#include "examples/flashinfer_decode/report.hpp"
#include "examples/flashinfer_decode/safetensors.hpp"
#include "runtime/build_config.hpp"
#if PTO_HAVE_CUDA
#include "runtime/cuda/device.hpp"
#include "runtime/cuda/device_probe.hpp"
#endif

using namespace flashinfer;

namespace {

struct Options {
  std::string device = "cpu";
  DecodeShape shape{seed_seq_lens, 32, 128};
  bool paged = false;
  bool cuda_graphs = false;
  std::int64_t page_size = 0;  // 0: not given (16 when --paged)
  PlannerOptions planner;
  std::string objective = "fewest-work-units";
  std::uint64_t seed = 42;
  int repeats = 0;  // 0: 3 on the CPU, 20 on a GPU
  std::string inputs, save_inputs, output, json;
};

// "512,1024,..." -> lengths; an empty item, a non-number or a length below 1 is an error
// naming the item (CLI11's vector parsing skipped empty items and worded 0 as a range of
// doubles).
std::vector<std::int64_t> parse_lengths(const std::string& text) {
  std::vector<std::int64_t> lengths;
  std::size_t start = 0;
  for (int item = 1;; ++item) {
    const std::size_t comma = text.find(',', start);
    const std::string piece = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(piece.data(), piece.data() + piece.size(), value);
    if (piece.empty() || error != std::errc() || end != piece.data() + piece.size()) {
      throw pto::Error(fmt::format("--seq-lens {}: item {} ('{}') is not an integer; give lengths like 512,1024", text,
                                   item, piece));
    }
    if (value < 1) {
      throw pto::Error(
          fmt::format("--seq-lens {}: item {} is {}; every request needs at least one KV token", text, item, value));
    }
    lengths.push_back(value);
    if (comma == std::string::npos) return lengths;
    start = comma + 1;
  }
}

DecodeInputs load_inputs(const Options& options) {
  const DecodeShape& s = options.shape;
  if (options.inputs.empty()) return random_inputs(s, options.seed);
  const SafetensorsFile file = read_safetensors(options.inputs);
  DecodeInputs in;
  in.q = values_of<f16_t>(expect_tensor(file, options.inputs, "q", pto::DType::f16, {s.batch(), s.heads, s.head_dim}));
  const std::vector<std::int64_t> kv_shape{s.total_tokens(), s.heads, s.head_dim};
  in.k = values_of<f16_t>(expect_tensor(file, options.inputs, "k", pto::DType::f16, kv_shape));
  in.v = values_of<f16_t>(expect_tensor(file, options.inputs, "v", pto::DType::f16, kv_shape));
  return in;
}

std::string describe_device(Device device) {
  if (device == Device::cpu) {
    return fmt::format("cpu (CPU simulation: {} kernels on {} hardware threads)",
                       PTO_HAVE_LLVM ? "LLVM ORC JIT" : "interpreted (built without LLVM)",
                       std::thread::hardware_concurrency());
  }
#if PTO_HAVE_CUDA
  const pto::cuda::CudaProbe probe = pto::cuda::probe_cuda();
  if (probe.status != pto::cuda::CudaStatus::devices_found) {
    throw pto::Error(fmt::format("--device cuda: no CUDA device ({}): {}; run with --device cpu",
                                 pto::cuda::to_string(probe.status), probe.reason));
  }
  const auto gpu = pto::cuda::Device::get();
  return fmt::format("cuda ({}, sm_{}, {} SMs)", gpu->name(), gpu->arch(), gpu->multiprocessors());
#else
  throw pto::Error("--device cuda: this build has no CUDA support; run with --device cpu");
#endif
}

void write_outputs(const Options& options, const RunReport& report, const std::vector<float>& o,
                   const std::vector<float>& lse) {
  if (!options.output.empty()) {
    SafetensorsFile file;
    const DecodeShape& s = options.shape;
    file.tensors["o"] = stored(pto::DType::f32, {s.batch(), s.heads, s.head_dim}, o);
    file.tensors["lse"] = stored(pto::DType::f32, {s.batch(), s.heads}, lse);
    file.metadata["seq_lens"] = fmt::format("{}", fmt::join(s.seq_lens, ","));
    file.metadata["chunk_size"] = std::to_string(report.plan.chunk_size);
    file.metadata["layout"] = options.paged ? fmt::format("paged:{}", report.options.page_size) : "contiguous";
    write_safetensors(options.output, file);
    fmt::print("\n  Wrote o [{}, {}, {}] and lse [{}, {}] (f32) to {}\n", s.batch(), s.heads, s.head_dim, s.batch(),
               s.heads, options.output);
  }
  if (!options.json.empty()) {
    std::ofstream out(options.json);
    out << to_json(report).dump(2) << "\n";
    if (!out) throw pto::Error(fmt::format("could not write '{}'", options.json));
    fmt::print("  Wrote run statistics to {}\n", options.json);
  }
}

// The checks a flag's value can fail before any work starts, each naming the flag.
void check_flags(const Options& options) {
  if (options.cuda_graphs && options.device != "cuda") {
    throw pto::Error("--cuda-graphs: CUDA graphs need --device cuda");
  }
  if (options.paged || options.page_size > 0) {
    const std::int64_t page = options.page_size > 0 ? options.page_size : 16;
    // A paged tier loads one page per block: a [page, head_dim] tile.
    if (std::string problem = pto::ir::check_tile_shape(page, options.shape.head_dim); !problem.empty()) {
      throw pto::Error(
          fmt::format("--page-size {} with --head-dim {}: a page is one tile, and {}; use a page of at "
                      "most {} tokens",
                      page, options.shape.head_dim, problem, pto::ir::max_tile_elements / options.shape.head_dim));
    }
  }
  for (const auto& [flag, path] : {std::pair<const char*, const std::string&>{"--output", options.output},
                                   {"--save-inputs", options.save_inputs},
                                   {"--json", options.json}}) {
    if (path.empty()) continue;
    const std::filesystem::path folder = std::filesystem::absolute(path).parent_path();
    std::error_code error;
    if (!std::filesystem::is_directory(folder, error)) {
      throw pto::Error(
          fmt::format("{} {}: the folder {} does not exist; create it first", flag, path, folder.string()));
    }
  }
}

int run(const Options& options) {
  RunReport report;
  report.shape = options.shape;
  report.shape.validate();
  check_flags(options);
  report.options.device = options.device == "cuda" ? Device::cuda : Device::cpu;
  report.options.layout = options.paged || options.page_size > 0 ? KvLayout::paged : KvLayout::contiguous;
  report.options.page_size = options.page_size > 0 ? options.page_size : 16;
  report.options.seed = options.seed;
  report.options.cuda_graphs = options.cuda_graphs;
  report.planner = options.planner;
  report.planner.objective = objective_from_string(options.objective);
  if (report.options.layout == KvLayout::paged) report.planner.granularity = report.options.page_size;
  report.repeats = options.repeats > 0 ? options.repeats : report.options.device == Device::cuda ? 20 : 3;
  report.device_name = describe_device(report.options.device);

  print_banner();
  print_configuration(report);

  fmt::print("\n--- Planning Phase ---\n");
  const auto plan_start = std::chrono::steady_clock::now();
  report.plan = AttentionPlanner(report.planner).plan(report.shape.seq_lens, report.shape.heads);
  report.plan_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - plan_start).count();
  report.plan_stats = analyze(report.plan);
  std::fflush(stdout);
  print_plan(report);

  const DecodeInputs inputs = load_inputs(options);
  fmt::print("\n  Inputs: {}\n", options.inputs.empty() ? fmt::format("random (seed {})", options.seed)
                                                        : fmt::format("q, k, v from {}", options.inputs));
  if (!options.save_inputs.empty()) {
    const DecodeShape& s = report.shape;
    SafetensorsFile file;
    file.tensors["q"] = stored(pto::DType::f16, {s.batch(), s.heads, s.head_dim}, inputs.q);
    file.tensors["k"] = stored(pto::DType::f16, {s.total_tokens(), s.heads, s.head_dim}, inputs.k);
    file.tensors["v"] = stored(pto::DType::f16, {s.total_tokens(), s.heads, s.head_dim}, inputs.v);
    file.metadata["seq_lens"] = fmt::format("{}", fmt::join(s.seq_lens, ","));
    write_safetensors(options.save_inputs, file);
    fmt::print("  Wrote q, k, v to {}\n", options.save_inputs);
  }
  fmt::print("\n--- Execution Phase ---\n");
  DecodeAttention attention(report.shape, report.plan, inputs, report.options);
  fmt::print("  Program compiled: Program 'flashinfer_decode' ({} kernel instances: 4 tiers + merge, {:.1f} ms)\n",
             attention.stats().kernels, attention.stats().compile_ms);
  fmt::print("{}\n", report.options.device == Device::cuda ? "  Executing on the CUDA device..."
                                                           : "  Executing with CPU simulation...");
  std::vector<double> times, walls, host, enumerate, submit;
  for (int i = 0; i < report.repeats; ++i) {
    attention.run();  // execute + synchronize: the outputs are complete
    const pto::ProgramStats& stats = attention.stats();
    walls.push_back(stats.execute_ms);
    times.push_back(report.options.device == Device::cuda ? stats.device_ms : stats.execute_ms);
    host.push_back(stats.execute_ms - times.back());
    enumerate.push_back(stats.enumerate_ms);
    submit.push_back(stats.submit_ms);
  }
  fmt::print("  Execution complete! ({} runs)\n", report.repeats);
  report.program = attention.stats();
  report.run_ms = median(times);
  report.run_wall_ms = median(walls);
  report.host_overhead_ms = report.options.device == Device::cuda ? median(host) : 0.0;
  report.host_enumerate_ms = median(enumerate);
  report.host_submit_ms = median(submit);
  report.merges = attention.merges();
  report.bytes_moved = attention.bytes_moved();
  report.kv_bytes = attention.kv_bytes();
  // The limit: a copy of the KV cache's size (on the CPU at most 512 MB, far past the caches).
  report.copy_gb_per_s = report.options.device == Device::cuda
                             ? device_copy_gb_per_s(report.kv_bytes, 10)
                             : host_copy_gb_per_s(std::min<std::int64_t>(report.kv_bytes, 512 << 20), 3);

  const std::vector<float> o = attention.o(), lse = attention.lse();
  report.check = check_against_reference(report.shape, inputs, o, lse);
  print_summary(report);
  print_comparison(report);
  write_outputs(options, report, o, lse);
  if (!report.check.passed()) {
    fmt::print(stderr, "error: the output differs from the float64 reference beyond the tolerance ({} values)\n",
               report.check.failures);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"FlashInfer-style decode attention with PTO-RT: plan, run on CPU simulation or CUDA, check"};
  app.add_option("--device", options.device, "cpu (LLVM-compiled kernels on worker threads) or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  std::string seq_lens;
  app.add_option("--seq-lens", seq_lens, "KV length of each request (the batch), e.g. 512,1024,...");
  app.add_option("--heads", options.shape.heads, "attention heads")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--head-dim", options.shape.head_dim, "head dimension (multiple of 8, at most 256)")
      ->capture_default_str();
  app.add_flag("--paged", options.paged, "paged KV: a page pool plus a block table (page size 16 unless --page-size)");
  app.add_option("--page-size", options.page_size, "tokens per KV page; implies --paged")->check(CLI::Range(1, 4096));
  app.add_flag("--cuda-graphs", options.cuda_graphs,
               "--device cuda: replay each step's launches as a CUDA graph (updated when the plan's shape changes)");
  app.add_option("--max-work-units", options.planner.max_work_units, "the planner's budget of work descriptors")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--objective", options.objective,
                 "planner objective: fewest-work-units (largest fitting chunk) or most-parallel (smallest)")
      ->check(CLI::IsMember({"fewest-work-units", "most-parallel"}))
      ->capture_default_str();
  app.add_option("--seed", options.seed, "seed of the random inputs and the pages' placement")->capture_default_str();
  app.add_option("--repeats", options.repeats, "timed runs, median reported (default 3 on cpu, 20 on cuda)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--inputs", options.inputs,
                 ".safetensors with q [batch, heads, head_dim], k and v [total_tokens, "
                 "heads, head_dim], all f16 (default: random from --seed)");
  app.add_option("--save-inputs", options.save_inputs,
                 "write the run's q, k, v (f16) here, for --inputs or other tools");
  app.add_option("--output", options.output, "write o [batch, heads, head_dim] and lse [batch, heads] (f32) here");
  app.add_option("--json", options.json, "write the run's statistics as JSON here");
  CLI11_PARSE(app, argc, argv);
  try {
    if (!seq_lens.empty()) options.shape.seq_lens = parse_lengths(seq_lens);
    return run(options);
  } catch (const pto::Error& error) {
    std::fflush(stdout);
    fmt::print(stderr, "error: {}\n", error.what());
    return 2;
  } catch (const std::bad_alloc&) {
    // The library names what it allocates where it can; this is the last line of defence.
    std::fflush(stdout);
    fmt::print(stderr,
               "error: out of memory: the configuration needs more memory than this machine gives; "
               "use fewer or shorter sequences, or fewer heads\n");
    return 2;
  } catch (const std::exception& error) {
    std::fflush(stdout);
    fmt::print(stderr, "error: {}\n", error.what());
    return 2;
  }
}
