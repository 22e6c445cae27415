// Device enumeration (frontend/device_enumeration.hpp) without a GPU: which workloads it
// takes, the kernels it renders compile with NVRTC for sm_90, and the input block it lays
// out (the GPU tests run it: tests/gpu/frontend/cuda_target_test.cpp).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "dsl/builder.hpp"
#include "frontend/device_enumeration.hpp"
#include "frontend/tables.hpp"
#include "runtime/cuda/nvrtc_compiler.hpp"
#include "tests/frontend/workload_test_util.hpp"

using namespace pto;
using tl::f32;
using tl::i32;

namespace {

constexpr std::int64_t width = 4;

struct Item {
  std::int32_t tier, start, len, row, flag;
};

}  // namespace

TEST_CASE("#18 device enumeration: the workloads it takes, kernels NVRTC compiles, and the input block") {
  const tl::Family colsum = test::colsum_family(width);
  const tl::KernelInstance scale = test::scale_kernel(width);
  std::vector<Item> items = {{0, 0, 3, 0, 0}, {1, 2, 7, 1, 1}, {0, 5, 0, 2, 0}};
  std::vector<float> x(16 * width, 1.0f);
  Tensor X = Tensor::wrap("x", x.data(), DType::f32, {16, width});
  Tensor Y = Tensor::host("y", DType::f32, {4, width});
  Tensor Z = Tensor::host("z", DType::f32, {4, width});
  const DescriptorTable<Item> table(items, "items");
  const Workload wl = workload("device", [&](W& w) {
    w.parallel_for(DenseDyn(table), [&](Idx i) {
      auto d = table[i];
      w.cond(d[&Item::flag] == 0, [&] {
        w.call(colsum, d[&Item::tier], {X.rows(d[&Item::start], d[&Item::len]), d[&Item::len], Y[d[&Item::row]]});
      });
    });
    w.parallel_for(Dense(3), [&](Idx r) {
      w.call(scale, {Y[r], Z[r], 0.5});
      w.call(scale, {Y[r], Z[r + 1], 2.0});
    });
  });
  const Workload stages = wl.dispatch(Dispatch::work_steal()).task_graph(Deps::stages());
  CompiledTasks compiled(stages);
  CHECK(DeviceEnumeration::unsupported_structure(stages, compiled).empty());
  CHECK(DeviceEnumeration::unsupported(stages, compiled).find("host tensor 'x'") != std::string::npos);
  {
    CompiledTasks inferred(wl.dispatch(Dispatch::work_steal()));
    CHECK(DeviceEnumeration::unsupported_structure(wl.dispatch(Dispatch::work_steal()), inferred).find("Deps::infer") !=
          std::string::npos);
    const Workload grids = wl.dispatch(Dispatch::round_robin()).task_graph(Deps::stages());
    CompiledTasks grid_tasks(grids);
    CHECK(DeviceEnumeration::unsupported_structure(grids, grid_tasks).find("work_steal") != std::string::npos);
  }

  const DeviceEnumeration enumeration(stages, compiled, 4);
  CHECK(enumeration.source().find(enumeration.enumerate_symbol()) != std::string::npos);
  // The kernels read the block from page-locked host memory: each CTA copies the header to
  // shared memory once rather than reading its words over the bus again and again.
  CHECK(enumeration.source().find("__shared__ long long header[") != std::string::npos);
  cuda::GeneratedKernel kernel;
  kernel.source = enumeration.source();
  kernel.symbol = enumeration.enumerate_symbol();
  const cuda::Cubin cubin = cuda::NvrtcCompiler::instance().compile(kernel, "device enumeration", 90);
  CHECK_FALSE(cubin.image.empty());

  DeviceEnumeration::Execution execution;
  REQUIRE(enumeration.plan(compiled, {}, std::vector<std::int64_t>(compiled.instances().size(), 64), execution) ==
          DeviceEnumeration::Planned::on_device);
  REQUIRE(execution.statements.size() == 2);
  CHECK(execution.statements[0].slots == 3);  // one column: the condition's call
  CHECK(execution.statements[1].first == 3);
  CHECK(execution.statements[1].slots == 6);  // two calls per iteration
  CHECK(execution.statements[1].level == 1);  // Deps::stages
  CHECK(execution.slots == 9);
  std::vector<std::byte> block(execution.input_bytes);
  enumeration.write_inputs(compiled, {}, execution, block.data(), 0x10000);
  REQUIRE(execution.table_offsets.size() == 1);
  CHECK(std::memcmp(block.data() + execution.table_offsets[0], items.data(), items.size() * sizeof(Item)) == 0);
  items.resize(5);  // a longer table: more slots next time
  REQUIRE(enumeration.plan(compiled, {}, std::vector<std::int64_t>(compiled.instances().size(), 64), execution) ==
          DeviceEnumeration::Planned::on_device);
  CHECK(execution.slots == 11);
}

TEST_CASE("#18 device enumeration: a header too large for shared memory is read where it is") {
  // One tensor address per header word: 520 tensors make a header of more than 512 words.
  const tl::KernelInstance scale = test::scale_kernel(width);
  std::vector<Tensor> tensors;
  for (int k = 0; k < 520; ++k) tensors.push_back(Tensor::host(fmt::format("t{}", k), DType::f32, {1, width}));
  const Workload wl = workload("wide", [&](W& w) {
    w.parallel_for(Dense(1), [&](Idx i) {
      for (const Tensor& t : tensors) w.call(scale, {t[i], t[i], 2.0});
    });
  });
  const Workload stages = wl.dispatch(Dispatch::work_steal()).task_graph(Deps::stages());
  CompiledTasks compiled(stages);
  REQUIRE(DeviceEnumeration::unsupported_structure(stages, compiled).empty());
  const DeviceEnumeration enumeration(stages, compiled, 4);
  CHECK(enumeration.source().find("__shared__ long long header[") == std::string::npos);
  CHECK(enumeration.source().find("const long long* in = block;") != std::string::npos);
  DeviceEnumeration::Execution execution;
  REQUIRE(enumeration.plan(compiled, {}, std::vector<std::int64_t>(compiled.instances().size(), 64), execution) ==
          DeviceEnumeration::Planned::on_device);
  CHECK(execution.slots == 520);  // one column per call
  cuda::GeneratedKernel kernel;
  kernel.source = enumeration.source();
  kernel.symbol = enumeration.enumerate_symbol();
  CHECK_FALSE(cuda::NvrtcCompiler::instance().compile(kernel, "device enumeration", 90).image.empty());
}
