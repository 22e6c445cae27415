// The AttentionPlanner: the seed's plan exactly, both objectives against a linear scan,
// budgets that cannot be met, and the descriptors' fields.
#include <doctest/doctest.h>

#include <limits>

#include "core/error.hpp"
#include "examples/flashinfer_decode/planner.hpp"
#include "examples/flashinfer_decode/problem.hpp"

using namespace flashinfer;

namespace {

const std::vector<std::int64_t> seed_lengths = {512,  1024,  2048, 4096, 512,  512,  1024, 2048,
                                                8192, 16384, 1024, 512,  2048, 4096, 8192, 1024};

}  // namespace

TEST_CASE("planner: the seed's configuration gives the seed's plan") {
  const Plan plan = AttentionPlanner().plan(seed_lengths, 32);
  CHECK(plan.chunk_size == 4096);
  REQUIRE(plan.descriptors.size() == 672);
  const PlanStatistics stats = analyze(plan);
  CHECK(stats.work_units == 672);
  CHECK(stats.per_tier[0] == 128);
  CHECK(stats.per_tier[1] == 128);
  CHECK(stats.per_tier[2] == 96);
  CHECK(stats.per_tier[3] == 320);
  CHECK(stats.chunks_min == 1);
  CHECK(stats.chunks_max == 4);
  CHECK(stats.chunks_avg == doctest::Approx(672.0 / 512.0));
  CHECK(stats.merges == 96);  // requests 8, 9 and 14 are longer than a chunk, x 32 heads
  const WorkDescriptor& first = plan.descriptors[0];
  CHECK(first.work_id == 0);
  CHECK(first.request == 0);
  CHECK(first.head == 0);
  CHECK(first.kv_start == 0);
  CHECK(first.kv_len == 512);
  CHECK(first.tier == 0);
  CHECK(first.flags == 0x03);
}

TEST_CASE("planner: descriptors cover every token of every (request, head) once, in order") {
  const std::vector<std::int64_t> lengths = {1, 255, 256, 257, 1000, 4097, 9000};
  const Plan plan = AttentionPlanner({.chunk_min = 256, .chunk_max = 1024}).plan(lengths, 3);
  CHECK(plan.chunk_size == 1024);
  std::size_t i = 0;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    for (std::int32_t h = 0; h < 3; ++h) {
      std::int64_t covered = 0;
      while (i < plan.descriptors.size() && plan.descriptors[i].request == static_cast<std::int32_t>(r) &&
             plan.descriptors[i].head == h) {
        const WorkDescriptor& d = plan.descriptors[i];
        CHECK(d.work_id == static_cast<std::int32_t>(i));
        CHECK(d.kv_start == covered);
        CHECK(d.is_first() == (covered == 0));
        covered += d.kv_len;
        CHECK(d.is_last() == (covered == lengths[r]));
        CHECK(d.tier == tier_of(d.kv_len));
        ++i;
      }
      CHECK(covered == lengths[r]);
    }
  }
  CHECK(i == plan.descriptors.size());
  // merges_of lists exactly the split pairs with their descriptor ranges.
  for (const MergeWork& m : merges_of(plan)) {
    REQUIRE(m.count > 1);
    CHECK(plan.descriptors[static_cast<std::size_t>(m.first)].is_first());
    CHECK(plan.descriptors[static_cast<std::size_t>(m.first + m.count - 1)].is_last());
    CHECK(plan.descriptors[static_cast<std::size_t>(m.first)].request == m.request);
  }
  CHECK(static_cast<std::int64_t>(merges_of(plan).size()) == analyze(plan).merges);
}

TEST_CASE("planner: tiers by chunk length") {
  CHECK(tier_of(1) == 0);
  CHECK(tier_of(512) == 0);
  CHECK(tier_of(513) == 1);
  CHECK(tier_of(1024) == 1);
  CHECK(tier_of(1025) == 2);
  CHECK(tier_of(2048) == 2);
  CHECK(tier_of(2049) == 3);
  CHECK(tier_of(100000) == 3);
}

TEST_CASE("planner: most-parallel is the smallest fitting chunk, as a linear scan finds it") {
  const std::vector<std::int64_t> lengths = {100, 17, 4096, 5000, 777, 3333};
  for (const std::int64_t granularity : {std::int64_t{1}, std::int64_t{16}}) {
    for (std::int64_t budget = 20; budget <= 400; budget += 7) {
      CAPTURE(budget);
      CAPTURE(granularity);
      const PlannerOptions options{
          .max_work_units = budget, .granularity = granularity, .objective = Objective::most_parallel};
      const AttentionPlanner planner(options);
      std::int64_t expected = -1;
      for (std::int64_t chunk = 256; chunk <= 4096; ++chunk) {
        if (chunk % granularity == 0 && planner.work_units(lengths, 4, chunk) <= budget) {
          expected = chunk;
          break;
        }
      }
      if (expected < 0) {
        CHECK_THROWS_AS(planner.choose_chunk_size(lengths, 4), pto::Error);
      } else {
        CHECK(planner.choose_chunk_size(lengths, 4) == expected);
        // fewest-work-units takes the other end of the same feasible interval.
        PlannerOptions fewest = options;
        fewest.objective = Objective::fewest_work_units;
        CHECK(AttentionPlanner(fewest).choose_chunk_size(lengths, 4) == 4096 / granularity * granularity);
      }
    }
  }
}

TEST_CASE("planner: a budget no chunk size meets is an error naming the budget needed") {
  CHECK_THROWS_WITH_AS(AttentionPlanner({.max_work_units = 512}).plan(seed_lengths, 32),
                       doctest::Contains("no chunk size in [256, 4096] keeps the plan within 512 work units: the "
                                         "fewest possible is 672 (chunk 4096); raise --max-work-units to at least 672"),
                       pto::Error);
}

TEST_CASE("planner: bad options and inputs are rejected") {
  CHECK_THROWS_WITH_AS(AttentionPlanner({.chunk_min = 5000, .chunk_max = 4096}), doctest::Contains("chunk range"),
                       pto::Error);
  CHECK_THROWS_WITH_AS(AttentionPlanner({.chunk_min = 300, .chunk_max = 400, .granularity = 512}),
                       doctest::Contains("no multiple of the granularity 512"), pto::Error);
  CHECK_THROWS_WITH_AS(AttentionPlanner({.max_work_units = 0}), doctest::Contains("budget is 0"), pto::Error);
  CHECK_THROWS_WITH_AS(AttentionPlanner().plan({}, 32), doctest::Contains("no sequence lengths"), pto::Error);
  CHECK_THROWS_WITH_AS(AttentionPlanner().plan({10, 0}, 32), doctest::Contains("request 1 has sequence length 0"),
                       pto::Error);
  CHECK_THROWS_WITH_AS(objective_from_string("fastest"), doctest::Contains("unknown planner objective 'fastest'"),
                       pto::Error);
}

TEST_CASE("planner: inputs beyond the descriptors' 32-bit fields are errors, never wrapped (#17.6)") {
  const AttentionPlanner planner;
  constexpr std::int64_t big = std::int64_t{1} << 31;
  // A sequence of 2^31 tokens gave kv_len = -2147483648; 3 x 2^30 a negative kv_start.
  CHECK_THROWS_WITH_AS(planner.plan({big}, 1),
                       doctest::Contains("request 0 has sequence length 2147483648; give 1 to "
                                         "2147483647 KV tokens"),
                       pto::Error);
  CHECK_THROWS_WITH_AS(planner.generate({3 * (std::int64_t{1} << 30)}, 1, 4096),
                       doctest::Contains("request 0 has sequence length 3221225472"), pto::Error);
  // 2^62 heads looped allocating without bound.
  CHECK_THROWS_WITH_AS(planner.plan({512}, std::int64_t{1} << 62),
                       doctest::Contains("4611686018427387904 heads; give 1 to 2147483647"), pto::Error);
  // work_units saturates instead of wrapping into a count that fits a budget.
  CHECK(planner.work_units({big - 1, big - 1, big - 1}, big - 1, 1) == std::numeric_limits<std::int64_t>::max());
  PlannerOptions options;
  options.max_work_units = big;
  CHECK_THROWS_WITH_AS(AttentionPlanner{options}, doctest::Contains("must be in [1, 2147483647]"), pto::Error);
}

TEST_CASE("decode shape: lengths whose sum overflows are an error before any size is computed (#17.6)") {
  DecodeShape shape;
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  shape.seq_lens = {max, max};
  CHECK_THROWS_WITH_AS(shape.validate(), doctest::Contains("request 0 has sequence length 9223372036854775807"),
                       pto::Error);
  CHECK_THROWS_WITH_AS((void)shape.total_tokens(), doctest::Contains("add up to more than"), pto::Error);
}

TEST_CASE(
    "planner: a chunk size near INT64_MAX gives one chunk per sequence (fuzzing: length + chunk - 1 overflowed)") {
  // Found by tests/fuzz/planner_fuzz: generate() rounded up with (length + chunk - 1) / chunk.
  const AttentionPlanner planner;
  const std::vector<WorkDescriptor> descriptors =
      planner.generate({1024, 7}, 2, std::numeric_limits<std::int64_t>::max() - 16);
  REQUIRE(descriptors.size() == 4);
  CHECK(descriptors[0].kv_len == 1024);
  CHECK(descriptors[0].is_whole());
  CHECK(descriptors[3].kv_len == 7);
  CHECK(descriptors[3].kv_start == 0);
}

TEST_CASE("planner: a chunk range near INT64_MAX is searched without overflow (fuzzing: chunk_min + granularity - 1)") {
  // Found by tests/fuzz/planner_fuzz: the smallest candidate was (chunk_min + g - 1) / g.
  PlannerOptions options;
  options.chunk_min = std::numeric_limits<std::int64_t>::max() - 1;
  options.chunk_max = std::numeric_limits<std::int64_t>::max();
  options.granularity = std::int64_t{1} << 35;
  options.objective = Objective::most_parallel;
  CHECK_THROWS_WITH_AS(AttentionPlanner{options}, doctest::Contains("no multiple of the granularity"), pto::Error);
  options.granularity = 1;
  const Plan plan = AttentionPlanner(options).plan({5000}, 3);
  CHECK(plan.chunk_size == options.chunk_min);
  CHECK(plan.descriptors.size() == 3);
}

TEST_CASE("planner: planning into a reused Plan equals a fresh plan as the batch grows and shrinks") {
  const AttentionPlanner planner;
  Plan reused;
  const std::vector<std::vector<std::int64_t>> steps = {seed_seq_lens, {5000, 7}, seed_seq_lens, {1}};
  for (const auto& lengths : steps) {
    planner.plan(lengths, 4, reused);
    const Plan fresh = planner.plan(lengths, 4);
    CHECK(reused.chunk_size == fresh.chunk_size);
    REQUIRE(reused.descriptors.size() == fresh.descriptors.size());
    for (std::size_t i = 0; i < fresh.descriptors.size(); ++i) {
      const WorkDescriptor &a = reused.descriptors[i], &b = fresh.descriptors[i];
      CHECK((a.work_id == b.work_id && a.tier == b.tier && a.flags == b.flags && a.request == b.request &&
             a.head == b.head && a.kv_start == b.kv_start && a.kv_len == b.kv_len));
    }
  }
}
