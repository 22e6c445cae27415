// The run half of plan/run: the plan's descriptors as one Program over the four tier
// kernels and the merge, on the CPU (LLVM-compiled kernels on work-stealing threads) or on
// a CUDA device (NVRTC per tier, a persistent work-stealing kernel per dependency level).
//
// The workload (one Program, dispatch(work_steal), streams(4), immediate timing, Deps::stages):
//   parallel_for descriptor i of the plan:
//     whole (request, head) (flags 0x3): tier kernel -> o[request][head], lse[request][head]
//     a chunk of a split one:            tier kernel -> o_part[i], lse_part[i]
//   parallel_for merge m (one per split (request, head)):
//     merge_partials(o_part/lse_part rows of its chunks) -> o[request][head], lse[...]
// Deps::stages: the merges start once every chunk is done (FlashInfer's decode launch, then
// its merge launch); a plan writes each output once, so nothing else orders the tasks. It
// also lets the CUDA target enumerate the tasks on the device (the kernels read the plan).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "examples/flashinfer_decode/kernels.hpp"
#include "examples/flashinfer_decode/planner.hpp"
#include "examples/flashinfer_decode/problem.hpp"
#include "frontend/program.hpp"

namespace flashinfer {

enum class Device { cpu, cuda };

struct RunOptions {
  Device device = Device::cpu;
  KvLayout layout = KvLayout::contiguous;
  std::int64_t page_size = 16;  // paged only
  std::uint64_t seed = 0;       // paged only: the pages' placement
  int streams = 4;
  bool cuda_graphs = false;  // Device::cuda: each run's launches replayed as a CUDA graph
  // Kernels to run instead of the tiers and the merge, with the same parameters
  // (bench_host_path runs empty ones, so that a step's time is the host's part).
  std::optional<pto::tl::Family> tiers;
  std::optional<pto::tl::KernelInstance> merge;
};

class DecodeAttention {
 public:
  // Uploads the inputs (device memory on CUDA, so timings start with them in place) and
  // compiles the Program.
  DecodeAttention(const DecodeShape& shape, const Plan& plan, const DecodeInputs& inputs, const RunOptions& options);

  void run();  // execute() then synchronize(): outputs are complete when it returns

  std::vector<float> o() const;    // [batch, heads, head_dim]
  std::vector<float> lse() const;  // [batch, heads]
  const pto::ProgramStats& stats() const { return program_->stats(); }
  std::int64_t merges() const { return merges_; }
  // Bytes the tasks must move at least: the K/V rows of every chunk, q, partials written
  // and merged, outputs (the basis of the GB/s figures; view spans would count the page
  // pool once per task in the paged layout).
  std::int64_t bytes_moved() const { return bytes_moved_; }
  // Bytes of K + V (the KV cache the run reads once).
  std::int64_t kv_bytes() const { return kv_bytes_; }

 private:
  // What the Program's tables read (pto tables refer to these vectors, not copies; held
  // behind a pointer so they stay put when this object moves).
  struct Tables {
    std::vector<WorkDescriptor> descriptors;
    std::vector<MergeWork> merges;
    std::vector<std::int32_t> token_offsets, page_offsets;
  };
  std::unique_ptr<Tables> tables_;
  pto::Tensor o_, lse_;
  std::optional<pto::Program> program_;  // set once the workload is built
  std::int64_t merges_ = 0, bytes_moved_ = 0, kv_bytes_ = 0;
};

}  // namespace flashinfer
