#include "examples/flashinfer_decode/planner.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>
#include <map>

#include "core/error.hpp"

namespace flashinfer {

using pto::Error;

namespace {

// ceil(n / d) for n >= 0, d >= 1, without the n + d - 1 that overflows near INT64_MAX.
std::int64_t ceil_div(std::int64_t n, std::int64_t d) {
  return n / d + (n % d != 0 ? 1 : 0);
}

}  // namespace

int tier_of(std::int64_t kv_len) {
  for (int tier = 0; tier < tier_count - 1; ++tier)
    if (kv_len <= tier_limits[tier]) return tier;
  return tier_count - 1;
}

std::string to_string(Objective objective) {
  return objective == Objective::fewest_work_units ? "fewest-work-units" : "most-parallel";
}

Objective objective_from_string(const std::string& text) {
  if (text == "fewest-work-units") return Objective::fewest_work_units;
  if (text == "most-parallel") return Objective::most_parallel;
  throw Error(fmt::format("unknown planner objective '{}'; use fewest-work-units or most-parallel", text));
}

AttentionPlanner::AttentionPlanner(PlannerOptions options) : options_(options) {
  const PlannerOptions& o = options_;
  if (o.granularity < 1) throw Error(fmt::format("planner: granularity {} must be at least 1", o.granularity));
  if (o.chunk_min < 1 || o.chunk_min > o.chunk_max) {
    throw Error(fmt::format("planner: chunk range [{}, {}] is empty or not positive; give 1 <= chunk_min <= chunk_max",
                            o.chunk_min, o.chunk_max));
  }
  if (o.chunk_max / o.granularity * o.granularity < o.chunk_min) {
    throw Error(
        fmt::format("planner: no multiple of the granularity {} lies in the chunk range [{}, {}]; widen the "
                    "range or use a smaller page size",
                    o.granularity, o.chunk_min, o.chunk_max));
  }
  if (o.max_work_units < 1 || o.max_work_units > std::numeric_limits<std::int32_t>::max()) {
    throw Error(
        fmt::format("planner: the work-unit budget is {}; it must be in [1, 2147483647] (descriptors "
                    "number their work in 32 bits)",
                    o.max_work_units));
  }
}

namespace {

// Work descriptors hold requests, heads, offsets and lengths in 32 bits: every input must
// fit them (a sequence of 2^31 tokens gave kv_len = -2147483648).
void check_inputs(const std::vector<std::int64_t>& seq_lens, std::int64_t heads) {
  constexpr std::int64_t limit = std::numeric_limits<std::int32_t>::max();
  if (seq_lens.empty()) throw Error("planner: no sequence lengths; give at least one request");
  if (static_cast<std::uint64_t>(seq_lens.size()) > static_cast<std::uint64_t>(limit)) {
    throw Error(fmt::format("planner: {} requests; descriptors count at most {}", seq_lens.size(), limit));
  }
  if (heads < 1 || heads > limit) throw Error(fmt::format("planner: {} heads; give 1 to {}", heads, limit));
  for (std::size_t r = 0; r < seq_lens.size(); ++r) {
    if (seq_lens[r] < 1 || seq_lens[r] > limit) {
      throw Error(
          fmt::format("planner: request {} has sequence length {}; give 1 to {} KV tokens (descriptors hold "
                      "offsets in 32 bits)",
                      r, seq_lens[r], limit));
    }
  }
}

}  // namespace

std::int64_t AttentionPlanner::work_units(const std::vector<std::int64_t>& seq_lens, std::int64_t heads,
                                          std::int64_t chunk_size) const {
  // Saturating at INT64_MAX (no budget is that large): counts of huge inputs must not wrap
  // into a small number that fits the budget.
  std::int64_t units = 0;
  for (const std::int64_t length : seq_lens) {
    const std::int64_t chunks = ceil_div(length, chunk_size);
    std::int64_t request_units = 0;
    if (__builtin_mul_overflow(chunks, heads, &request_units) || __builtin_add_overflow(units, request_units, &units))
      return std::numeric_limits<std::int64_t>::max();
  }
  return units;
}

std::int64_t AttentionPlanner::choose_chunk_size(const std::vector<std::int64_t>& seq_lens, std::int64_t heads) const {
  check_inputs(seq_lens, heads);
  const PlannerOptions& o = options_;
  // Candidates: the multiples of the granularity in [chunk_min, chunk_max], by index.
  const std::int64_t lowest = ceil_div(o.chunk_min, o.granularity);
  const std::int64_t highest = o.chunk_max / o.granularity;
  const auto fits = [&](std::int64_t k) { return work_units(seq_lens, heads, k * o.granularity) <= o.max_work_units; };
  if (!fits(highest)) {
    throw Error(fmt::format(
        "planner: no chunk size in [{}, {}] keeps the plan within {} work units: the fewest possible is {} (chunk "
        "{}); raise --max-work-units to at least {}, or raise the largest chunk",
        o.chunk_min, o.chunk_max, o.max_work_units, work_units(seq_lens, heads, highest * o.granularity),
        highest * o.granularity, work_units(seq_lens, heads, highest * o.granularity)));
  }
  if (o.objective == Objective::fewest_work_units) return highest * o.granularity;
  // most_parallel: the smallest fitting candidate. fits() is monotone (false..., true...).
  std::int64_t lo = lowest, hi = highest;  // invariant: fits(hi)
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (fits(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return hi * o.granularity;
}

std::vector<WorkDescriptor> AttentionPlanner::generate(const std::vector<std::int64_t>& seq_lens, std::int64_t heads,
                                                       std::int64_t chunk_size) const {
  std::vector<WorkDescriptor> out;
  generate(seq_lens, heads, chunk_size, out);
  return out;
}

void AttentionPlanner::generate(const std::vector<std::int64_t>& seq_lens, std::int64_t heads, std::int64_t chunk_size,
                                std::vector<WorkDescriptor>& out) const {
  check_inputs(seq_lens, heads);
  if (chunk_size < 1) throw Error(fmt::format("planner: chunk size {} must be positive", chunk_size));
  const std::int64_t units = work_units(seq_lens, heads, chunk_size);
  if (units > std::numeric_limits<std::int32_t>::max()) {
    throw Error(fmt::format("planner: chunk size {} gives {} work units; descriptors number at most 2147483647",
                            chunk_size, units));
  }
  out.resize(static_cast<std::size_t>(units));
  std::size_t next = 0;
  for (std::size_t request = 0; request < seq_lens.size(); ++request) {
    const std::int64_t length = seq_lens[request];
    const std::int64_t chunks = ceil_div(length, chunk_size);
    for (std::int64_t head = 0; head < heads; ++head) {
      for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
        WorkDescriptor& d = out[next];
        d.work_id = static_cast<std::int32_t>(next++);
        d.kv_start = static_cast<std::int32_t>(chunk * chunk_size);
        d.kv_len = static_cast<std::int32_t>(std::min(chunk_size, length - chunk * chunk_size));
        d.tier = tier_of(d.kv_len);
        d.flags =
            (chunk == 0 ? WorkDescriptor::first_chunk : 0) | (chunk == chunks - 1 ? WorkDescriptor::last_chunk : 0);
        d.request = static_cast<std::int32_t>(request);
        d.head = static_cast<std::int32_t>(head);
      }
    }
  }
}

Plan AttentionPlanner::plan(const std::vector<std::int64_t>& seq_lens, std::int64_t heads) const {
  Plan out;
  plan(seq_lens, heads, out);
  return out;
}

void AttentionPlanner::plan(const std::vector<std::int64_t>& seq_lens, std::int64_t heads, Plan& out) const {
  out.chunk_size = choose_chunk_size(seq_lens, heads);
  generate(seq_lens, heads, out.chunk_size, out.descriptors);
}

PlanStatistics analyze(const Plan& plan) {
  PlanStatistics stats;
  stats.work_units = static_cast<std::int64_t>(plan.descriptors.size());
  std::map<std::pair<std::int32_t, std::int32_t>, std::int64_t> chunks;
  for (const WorkDescriptor& d : plan.descriptors) {
    ++stats.per_tier[d.tier];
    ++chunks[{d.request, d.head}];
  }
  if (chunks.empty()) return stats;
  stats.chunks_min = chunks.begin()->second;
  stats.chunks_max = chunks.begin()->second;
  for (const auto& [key, count] : chunks) {
    stats.chunks_min = std::min(stats.chunks_min, count);
    stats.chunks_max = std::max(stats.chunks_max, count);
    if (count > 1) ++stats.merges;
  }
  stats.chunks_avg = static_cast<double>(stats.work_units) / static_cast<double>(chunks.size());
  return stats;
}

std::vector<MergeWork> merges_of(const Plan& plan) {
  std::vector<MergeWork> out;
  const auto& d = plan.descriptors;
  for (std::size_t i = 0; i < d.size();) {
    std::size_t end = i + 1;
    while (end < d.size() && d[end].request == d[i].request && d[end].head == d[i].head) ++end;
    if (end - i > 1) {
      out.push_back({d[i].request, d[i].head, static_cast<std::int32_t>(i), static_cast<std::int32_t>(end - i)});
    }
    i = end;
  }
  return out;
}

}  // namespace flashinfer
