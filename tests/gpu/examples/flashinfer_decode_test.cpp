// The example's Program on the GPU (persistent work-stealing kernels, 4 streams): the CPU
// target's outputs and the float64 reference, in both KV layouts.
#include <doctest/doctest.h>

#include <cmath>

#include "examples/flashinfer_decode/decode_program.hpp"
#include "examples/flashinfer_decode/reference.hpp"
#include "tests/examples/flashinfer_decode/decode_test_util.hpp"

using namespace flashinfer;

TEST_CASE("flashinfer decode on CUDA: both KV layouts give the CPU target's outputs and the reference") {
  const DecodeShape shape = test::mixed_shape();
  const DecodeInputs inputs = random_inputs(shape, 9);
  const Plan plan = test::mixed_plan(shape);
  DecodeAttention cpu(shape, plan, inputs, {});
  cpu.run();
  const std::vector<float> want = cpu.o();
  for (const KvLayout layout : {KvLayout::contiguous, KvLayout::paged}) {
    CAPTURE(static_cast<int>(layout));
    PlannerOptions options = test::mixed_planner_options();
    if (layout == KvLayout::paged) options.granularity = 16;
    const Plan layout_plan = AttentionPlanner(options).plan(shape.seq_lens, shape.heads);
    DecodeAttention gpu(shape, layout_plan, inputs, {.device = Device::cuda, .layout = layout, .page_size = 16});
    gpu.run();
    gpu.run();                         // re-executed without recompiling
    CHECK(gpu.stats().launches == 2);  // one persistent launch per level: tiers, then merges
    const std::vector<float> got = gpu.o();
    CHECK(test::max_abs_difference(got, want) < 1e-5);
    CHECK(check_against_reference(shape, inputs, got, gpu.lse()).passed());
  }
}
