// The planning half of FlashInfer's plan/run model: cut every (request, head)'s KV range into
// chunks, one work descriptor per chunk, each tagged with the tier kernel sized for it.
//
// Objective. A work unit is one descriptor (one task: one CTA on the GPU, one task of the
// CPU executor). Its fixed costs are a dispatch, a partial output to write and, when its
// (request, head) is split, an input to the log-sum-exp merge; its benefit is parallelism.
// The chunk size is searched in [chunk_min, chunk_max] (chunk_max is the longest chunk the
// largest tier kernel is built for) against a budget of work units, under one of two
// objectives:
//   fewest_work_units (default, the seed's): the largest chunk whose plan fits the budget,
//     i.e. split only what exceeds chunk_max. Work units never grow with the chunk, so this
//     is chunk_max whenever any chunk fits.
//   most_parallel (FlashInfer's split-KV rule): the smallest chunk whose plan still fits
//     the budget, i.e. as many work units as the budget allows; set the budget to the
//     number of tasks the device runs at once (SMs x resident CTAs) to fill it in one wave.
// Both binary-search the boundary of the feasible chunks, which is an interval
// [smallest fitting, chunk_max] because work units are non-increasing in the chunk. When
// even chunk_max exceeds the budget, plan() throws, naming the budget the plan needs
// (the prototype silently exceeded it).
//
// Chunk sizes are multiples of `granularity` (the page size for paged KV, so a chunk starts
// on a page boundary).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flashinfer {

// One task's work. 28 bytes of plain data: uploaded as is for the GPU's descriptor table.
struct WorkDescriptor {
  std::int32_t work_id = 0;
  std::int32_t tier = 0;   // index of the tier kernel: by kv_len, see tier_of()
  std::int32_t flags = 0;  // bit 0: first chunk of its (request, head); bit 1: last chunk
  std::int32_t request = 0;
  std::int32_t head = 0;
  std::int32_t kv_start = 0;  // first KV token of the chunk, relative to its request
  std::int32_t kv_len = 0;    // tokens in the chunk, >= 1

  static constexpr std::int32_t first_chunk = 0x1;
  static constexpr std::int32_t last_chunk = 0x2;
  bool is_first() const { return (flags & first_chunk) != 0; }
  bool is_last() const { return (flags & last_chunk) != 0; }
  bool is_whole() const { return is_first() && is_last(); }  // its (request, head) is not split
};

// The tiers: kernels for chunks of at most 512, 1024, 2048 and more tokens.
inline constexpr int tier_count = 4;
inline constexpr std::int64_t tier_limits[tier_count - 1] = {512, 1024, 2048};
int tier_of(std::int64_t kv_len);

enum class Objective { fewest_work_units, most_parallel };
std::string to_string(Objective objective);
Objective objective_from_string(const std::string& text);  // "fewest-work-units" | "most-parallel"

struct PlannerOptions {
  std::int64_t chunk_min = 256;
  std::int64_t chunk_max = 4096;
  std::int64_t max_work_units = 65536;
  std::int64_t granularity = 1;
  Objective objective = Objective::fewest_work_units;
};

struct Plan {
  std::int64_t chunk_size = 0;
  std::vector<WorkDescriptor> descriptors;  // ordered by request, head, chunk
};

// One merge of a split (request, head): its descriptors are [first, first + count) of the plan.
struct MergeWork {
  std::int32_t request = 0;
  std::int32_t head = 0;
  std::int32_t first = 0;
  std::int32_t count = 0;
};

struct PlanStatistics {
  std::int64_t work_units = 0;
  std::int64_t per_tier[tier_count] = {};
  std::int64_t chunks_min = 0, chunks_max = 0;  // per (request, head)
  double chunks_avg = 0.0;
  std::int64_t merges = 0;  // split (request, head) pairs
};

class AttentionPlanner {
 public:
  explicit AttentionPlanner(PlannerOptions options = {});  // throws on inconsistent options

  // Work units of a plan with this chunk size: sum over requests of ceil(len / chunk) x heads.
  std::int64_t work_units(const std::vector<std::int64_t>& seq_lens, std::int64_t heads, std::int64_t chunk_size) const;
  // The chunk size the objective picks; throws pto-style errors naming what to change.
  std::int64_t choose_chunk_size(const std::vector<std::int64_t>& seq_lens, std::int64_t heads) const;
  // The descriptors for a chunk size.
  std::vector<WorkDescriptor> generate(const std::vector<std::int64_t>& seq_lens, std::int64_t heads,
                                       std::int64_t chunk_size) const;
  // The same into `out`, reusing its capacity: a serving loop that plans every step
  // allocates only when a step needs more descriptors than any before.
  void generate(const std::vector<std::int64_t>& seq_lens, std::int64_t heads, std::int64_t chunk_size,
                std::vector<WorkDescriptor>& out) const;
  Plan plan(const std::vector<std::int64_t>& seq_lens, std::int64_t heads) const;
  void plan(const std::vector<std::int64_t>& seq_lens, std::int64_t heads, Plan& out) const;

  const PlannerOptions& options() const noexcept { return options_; }

 private:
  PlannerOptions options_;
};

PlanStatistics analyze(const Plan& plan);
// The split (request, head) pairs of a plan, in plan order.
std::vector<MergeWork> merges_of(const Plan& plan);

}  // namespace flashinfer
