// The example's Program end to end on the CPU: every tier and the merge used, outputs held
// to the float64 reference, the paged layout equal to the contiguous one, and the check
// failing when the output is wrong.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "examples/flashinfer_decode/decode_program.hpp"
#include "examples/flashinfer_decode/reference.hpp"
#include "tests/examples/flashinfer_decode/decode_test_util.hpp"

using namespace flashinfer;

TEST_CASE("flashinfer decode: every tier and the split-KV merge give the float64 reference on the CPU") {
  const DecodeShape shape = test::mixed_shape();
  const Plan plan = test::mixed_plan(shape);
  const PlanStatistics stats = analyze(plan);
  for (int tier = 0; tier < tier_count; ++tier) CHECK(stats.per_tier[tier] > 0);
  CHECK(stats.merges > 0);
  const DecodeInputs inputs = random_inputs(shape, 3);
  DecodeAttention attention(shape, plan, inputs, {});
  attention.run();
  CHECK(attention.stats().kernels == tier_count + 1);
  CHECK(attention.stats().tasks == static_cast<std::int64_t>(plan.descriptors.size()) + stats.merges);
  const ReferenceCheck check = check_against_reference(shape, inputs, attention.o(), attention.lse());
  CHECK(check.passed());
  CHECK(check.o_max_abs < 1e-5);
  CHECK(check.lse_max_abs < 1e-5);
  // Re-executing the compiled Program gives the same outputs.
  const std::vector<float> first = attention.o();
  attention.run();
  CHECK(attention.o() == first);
}

TEST_CASE("flashinfer decode: the paged KV layout gives the contiguous layout's outputs") {
  const DecodeShape shape = test::mixed_shape();
  const DecodeInputs inputs = random_inputs(shape, 5);
  const Plan contiguous_plan = test::mixed_plan(shape);
  DecodeAttention contiguous(shape, contiguous_plan, inputs, {});
  contiguous.run();
  for (const std::int64_t page_size : {std::int64_t{16}, std::int64_t{7}}) {
    CAPTURE(page_size);
    PlannerOptions options = test::mixed_planner_options();
    options.granularity = page_size;
    const Plan plan = AttentionPlanner(options).plan(shape.seq_lens, shape.heads);
    DecodeAttention paged(shape, plan, inputs, {.layout = KvLayout::paged, .page_size = page_size, .seed = 11});
    paged.run();
    const std::vector<float> a = contiguous.o(), b = paged.o();
    REQUIRE(a.size() == b.size());
    CHECK(test::max_abs_difference(a, b) < 1e-5);
    CHECK(check_against_reference(shape, inputs, b, paged.lse()).passed());
  }
}

TEST_CASE("flashinfer decode: the reference check fails on a wrong output") {
  const DecodeShape shape{{40, 9}, 2, 16};
  const DecodeInputs inputs = random_inputs(shape, 1);
  DecodeAttention attention(shape, AttentionPlanner().plan(shape.seq_lens, shape.heads), inputs, {});
  attention.run();
  std::vector<float> o = attention.o(), lse = attention.lse();
  CHECK(check_against_reference(shape, inputs, o, lse).passed());
  o[5] += 0.01f;
  CHECK(check_against_reference(shape, inputs, o, lse).failures == 1);
  o[5] = NAN;
  CHECK_FALSE(check_against_reference(shape, inputs, o, lse).passed());
}

TEST_CASE("flashinfer decode: a problem the descriptors cannot address is rejected") {
  CHECK_THROWS_WITH_AS((DecodeShape{{}, 2, 16}.validate()), doctest::Contains("no sequence lengths"), pto::Error);
  CHECK_THROWS_WITH_AS((DecodeShape{{8}, 2, 12}.validate()), doctest::Contains("--head-dim is 12"), pto::Error);
  CHECK_THROWS_WITH_AS((DecodeShape{{1 << 30, 1 << 30}, 2, 16}.validate()),
                       doctest::Contains("exceed the 32-bit offsets"), pto::Error);
}

TEST_CASE("flashinfer decode: inputs of the wrong size are an error naming them, empty inputs stand for zeros") {
  const DecodeShape shape{{40, 9}, 2, 16};
  DecodeInputs inputs = random_inputs(shape, 1);
  inputs.k.pop_back();
  const Plan plan = AttentionPlanner().plan(shape.seq_lens, shape.heads);
  CHECK_THROWS_WITH_AS(DecodeAttention(shape, plan, inputs, {}),
                       doctest::Contains("k holds 1567 values; the shape needs 1568"), pto::Error);
  CHECK_THROWS_WITH_AS(make_paged(shape, inputs, 16, 1), doctest::Contains("k holds 1567 values"), pto::Error);
  inputs.k.clear();
  const PagedKv paged = make_paged(shape, inputs, 16, 1);  // k zero-filled, v copied
  CHECK(std::all_of(paged.k_pool.begin(), paged.k_pool.end(), [](f16_t x) { return static_cast<float>(x) == 0.0f; }));
  DecodeAttention zeros(shape, plan, DecodeInputs{}, {.layout = KvLayout::paged, .page_size = 16});
  zeros.run();
  // Zero scores: every lse is log(kv_len), every output 0.
  const std::vector<float> lse = zeros.lse();
  CHECK(lse[0] == doctest::Approx(std::log(40.0)));
  CHECK(lse[2] == doctest::Approx(std::log(9.0)));
}
