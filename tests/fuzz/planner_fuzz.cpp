// libFuzzer target: the attention planner and the decode shape's checks, on sequence
// lengths, head counts and planner options decoded from the input (extreme values are
// likely). A plan, when one is made, must cover every KV token of every (request, head)
// exactly once, in order, in chunks no longer than its chunk size, within its budget.
#include <fuzzer/FuzzedDataProvider.h>

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "examples/flashinfer_decode/planner.hpp"
#include "examples/flashinfer_decode/problem.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace flashinfer;

namespace {

// The harness's resource bound: a plan of more descriptors than this is valid but would
// only measure the machine's memory.
constexpr std::int64_t max_budget = 1 << 16;

// A 64-bit value that is often an edge: 0, ±1, powers of two and their neighbours, limits.
std::int64_t edgy_int64(FuzzedDataProvider& data) {
  switch (data.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return data.ConsumeIntegralInRange<std::int64_t>(-4, 5000);
    case 1: {
      const int shift = data.ConsumeIntegralInRange<int>(0, 62);
      return (std::int64_t{1} << shift) + data.ConsumeIntegralInRange<std::int64_t>(-2, 2);
    }
    case 2:
      return data.ConsumeBool() ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
    default: return data.ConsumeIntegral<std::int64_t>();
  }
}

void check_plan(const Plan& plan, const AttentionPlanner& planner, const std::vector<std::int64_t>& seq_lens,
                std::int64_t heads) {
  const PlannerOptions& o = planner.options();
  PTO_FUZZ_CHECK(plan.chunk_size >= o.chunk_min && plan.chunk_size <= o.chunk_max,
                 fmt::format("chunk {} outside [{}, {}]", plan.chunk_size, o.chunk_min, o.chunk_max));
  PTO_FUZZ_CHECK(plan.chunk_size % o.granularity == 0, "chunk not a multiple of the granularity");
  const auto units = static_cast<std::int64_t>(plan.descriptors.size());
  PTO_FUZZ_CHECK(units <= o.max_work_units, fmt::format("{} work units over the budget {}", units, o.max_work_units));
  PTO_FUZZ_CHECK(units == planner.work_units(seq_lens, heads, plan.chunk_size), "work_units() disagrees with the plan");
  std::size_t next = 0;
  for (std::size_t request = 0; request < seq_lens.size(); ++request) {
    for (std::int64_t head = 0; head < heads; ++head) {
      std::int64_t covered = 0;
      bool first = true;
      while (covered < seq_lens[request]) {
        PTO_FUZZ_CHECK(next < plan.descriptors.size(), "the plan ends before every token is covered");
        const WorkDescriptor& d = plan.descriptors[next];
        PTO_FUZZ_CHECK(d.work_id == static_cast<std::int32_t>(next), "work ids are not 0, 1, 2, ...");
        PTO_FUZZ_CHECK(
            d.request == static_cast<std::int32_t>(request) && d.head == head,
            fmt::format("descriptor {} is for ({}, {}), expected ({}, {})", next, d.request, d.head, request, head));
        PTO_FUZZ_CHECK(d.kv_start == covered,
                       fmt::format("descriptor {} starts at {}, expected {}", next, d.kv_start, covered));
        PTO_FUZZ_CHECK(d.kv_len >= 1 && d.kv_len <= plan.chunk_size, fmt::format("kv_len {}", d.kv_len));
        PTO_FUZZ_CHECK(d.tier == tier_of(d.kv_len), "wrong tier");
        covered += d.kv_len;
        PTO_FUZZ_CHECK(d.is_first() == first && d.is_last() == (covered == seq_lens[request]), "wrong flags");
        first = false;
        ++next;
      }
      PTO_FUZZ_CHECK(covered == seq_lens[request], "a chunk runs past its sequence");
    }
  }
  PTO_FUZZ_CHECK(next == plan.descriptors.size(), "descriptors left over");
  const PlanStatistics stats = analyze(plan);
  PTO_FUZZ_CHECK(stats.work_units == units, "analyze() miscounts");
  for (const MergeWork& merge : merges_of(plan)) {
    PTO_FUZZ_CHECK(
        merge.first >= 0 && merge.count >= 2 && static_cast<std::int64_t>(merge.first) + merge.count <= units,
        "a merge outside the plan");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  FuzzedDataProvider data(bytes, size);
  PlannerOptions options;
  options.chunk_min = edgy_int64(data);
  options.chunk_max = edgy_int64(data);
  options.granularity = edgy_int64(data);
  options.max_work_units = data.ConsumeIntegralInRange<std::int64_t>(-1, max_budget);
  options.objective = data.ConsumeBool() ? Objective::most_parallel : Objective::fewest_work_units;
  DecodeShape shape;
  shape.heads = edgy_int64(data);
  shape.head_dim = edgy_int64(data);
  const int requests = data.ConsumeIntegralInRange<int>(0, 64);
  for (int r = 0; r < requests && data.remaining_bytes() > 0; ++r) shape.seq_lens.push_back(edgy_int64(data));

  pto::fuzz::expect_user_errors_only([&] {
    shape.validate();
    const auto offsets = shape.token_offsets();
    PTO_FUZZ_CHECK(offsets.back() == shape.total_tokens(), "token_offsets() and total_tokens() disagree");
  });
  pto::fuzz::expect_user_errors_only([&] {
    const AttentionPlanner planner(options);
    const Plan plan = planner.plan(shape.seq_lens, shape.heads);
    check_plan(plan, planner, shape.seq_lens, shape.heads);
  });
  // generate() with any chunk size: an error or a plan within the 32-bit descriptor limits
  // (bounded here to the harness's budget so that a valid huge plan is not built).
  pto::fuzz::expect_user_errors_only([&] {
    const AttentionPlanner planner;
    const std::int64_t chunk = edgy_int64(data);
    if (planner.work_units(shape.seq_lens, shape.heads, chunk > 0 ? chunk : 1) > max_budget) return;
    const std::vector<WorkDescriptor> descriptors = planner.generate(shape.seq_lens, shape.heads, chunk);
    for (const WorkDescriptor& d : descriptors) PTO_FUZZ_CHECK(d.kv_len >= 1 && d.kv_start >= 0, "bad descriptor");
  });
  return 0;
}
