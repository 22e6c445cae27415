// The CUDA target of Programs on a real GPU: each dispatch (grids per kernel instance,
// one launch per task, the persistent work-stealing kernel) gives the CPU target's results
// with the launch count it promises; device tensors run without copies; dependent stages
// on several streams; kernel faults raise the CPU target's error.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "dsl/builder.hpp"
#include "frontend/program.hpp"
#include "tests/frontend/workload_test_util.hpp"

using namespace pto;
using tl::f32;
using tl::i32;

namespace {

constexpr std::int64_t width = 16;

struct Work {
  std::int32_t tier, start, len, out_row;
};

// Column sums of `len` rows from `start`, in tiers of 8 / 32 / 128 rows (masked to len).
tl::Family colsum_family() {
  return tl::family("colsum", {8, 32, 128}, [](tl::Builder& k, std::int64_t block) {
    auto x = k.in(tl::global(f32, {tl::dyn, width}), "x");
    auto len = k.scalar(i32, "len");
    auto rows = tl::load(x, 0, 0, block, width, len, width);
    tl::store(k.out(tl::tile(1, width, f32), "y"), tl::colsum(rows) * 0.5);
  });
}

std::vector<float> random_values(std::size_t n, std::uint32_t seed) {
  return test::random_values(n, seed, 1.0f);
}

// A plan of `count` descriptors over `total` rows with random lengths, tiered by length.
std::vector<Work> random_plan(int count, std::int32_t total, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Work> plan;
  for (int i = 0; i < count; ++i) {
    const auto len = static_cast<std::int32_t>(rng() % 128 + 1);
    const auto start = static_cast<std::int32_t>(rng() % static_cast<std::uint32_t>(total - len + 1));
    plan.push_back({len <= 8 ? 0 : len <= 32 ? 1 : 2, start, len, i});
  }
  return plan;
}

Workload tiered(const tl::Family& family, const DescriptorTable<Work>& work, const Tensor& X, const Tensor& Y) {
  return workload("tiered", [&](W& w) {
    w.parallel_for(DenseDyn(work), [&](Idx i) {
      auto d = work[i];
      w.call(family, d[&Work::tier], {X.rows(d[&Work::start], d[&Work::len]), d[&Work::len], Y[d[&Work::out_row]]});
    });
  });
}

using test::message_of;

}  // namespace

TEST_CASE("every CUDA dispatch gives the CPU target's results, with the launches it promises") {
  const tl::Family family = colsum_family();
  const std::int32_t total = 4096;
  const int count = 300;
  std::vector<float> x = random_values(static_cast<std::size_t>(total * width), 11);
  std::vector<Work> plan = random_plan(count, total, 12);
  const DescriptorTable<Work> work(plan, "plan");
  Tensor X = Tensor::wrap("x", x.data(), DType::f32, {total, width});

  Tensor reference = Tensor::host("y", DType::f32, {count, width});
  Program cpu = tiered(family, work, X, reference).compile(Target::cpu());
  cpu.execute();
  cpu.synchronize();
  const std::vector<float> want = reference.to_vector<float>();

  struct Case {
    const char* name;
    Dispatch dispatch;
    Timing timing;
    std::int64_t launches;
  };
  const Case cases[] = {
      {"grid per tier", Dispatch::round_robin(), Timing::immediate(), 3},
      {"launch per task", Dispatch::round_robin(), Timing::batched(1), count},
      {"persistent", Dispatch::work_steal(), Timing::immediate(), 1},
      {"persistent, 64 per launch", Dispatch::work_steal(), Timing::batched(64), (count + 63) / 64},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Tensor Y = Tensor::host("y", DType::f32, {count, width});
    Program gpu = tiered(family, work, X, Y).dispatch(c.dispatch).timing(c.timing).streams(3).compile(Target::cuda());
    gpu.execute();
    gpu.synchronize();
    const ProgramStats& stats = gpu.stats();
    CHECK(stats.tasks == count);
    CHECK(stats.launches == c.launches);
    REQUIRE(stats.tasks_per_stream.size() == 3);
    CHECK(stats.tasks_per_stream[0] + stats.tasks_per_stream[1] + stats.tasks_per_stream[2] == count);
    CHECK(stats.device_ms > 0);
    CHECK(stats.transfer_bytes == X.footprint_bytes() + 2 * Y.footprint_bytes());
    const std::vector<float> got = Y.to_vector<float>();
    int mismatches = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      if (std::fabs(got[i] - want[i]) > 1e-5f * std::max(1.0f, std::fabs(want[i]))) ++mismatches;
    }
    CHECK(mismatches == 0);
    // A new, longer plan: same Program, nothing compiled.
    const std::int64_t compiled = stats.kernels_compiled;
    plan = random_plan(count, total, 13);
    gpu.execute();
    gpu.synchronize();
    CHECK(gpu.stats().kernels_compiled == compiled);
    plan = random_plan(count, total, 12);
  }
}

TEST_CASE("device tensors run without copies and read back with to_vector") {
  const tl::Family family = colsum_family();
  const std::int32_t total = 1024;
  const int count = 64;
  const std::vector<float> x = random_values(static_cast<std::size_t>(total * width), 21);
  std::vector<Work> plan = random_plan(count, total, 22);
  const DescriptorTable<Work> work(plan, "plan");
  Tensor host_x = Tensor::host("x", DType::f32, {total, width});
  host_x.copy_from(x);
  Tensor host_y = Tensor::host("y", DType::f32, {count, width});
  Program cpu = tiered(family, work, host_x, host_y).compile(Target::cpu());
  cpu.execute();
  cpu.synchronize();

  Tensor X = Tensor::device("x", DType::f32, {total, width});
  Tensor Y = Tensor::device("y", DType::f32, {count, width});
  X.copy_from(x);
  Program gpu = tiered(family, work, X, Y).compile(Target::cuda());
  gpu.execute();
  gpu.synchronize();
  CHECK(gpu.stats().transfer_bytes == 0);
  const std::vector<float> got = Y.to_vector<float>(), want = host_y.to_vector<float>();
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5));
  // Device tensors are for the CUDA target; the CPU target names the tensor.
  const std::string error = message_of([&] { (void)tiered(family, work, X, Y).compile(Target::cpu()); });
  CHECK(error.find("tensor 'x' is in the memory of CUDA device 0") != std::string::npos);
  CHECK(message_of([&] { (void)X.data_as<float>(); }).find("copy it out with copy_to()") != std::string::npos);
}

TEST_CASE("a two-stage workload on several streams: the second stage waits for the first across streams") {
  auto exp_rows = tl::kernel("exp_rows", [](tl::Builder& k) {
    auto x = k.in(tl::tile(4, width, f32), "x");
    tl::store(k.out(tl::tile(4, width, f32), "t"), tl::exp(x));
  });
  auto sum_rows = tl::kernel("sum_rows", [](tl::Builder& k) {
    auto t = k.in(tl::tile(4, width, f32), "t");
    tl::store(k.out(tl::tile(4, 1, f32), "s"), tl::rowsum(t));
  });
  const std::int64_t blocks = 500;
  const std::vector<float> x = random_values(static_cast<std::size_t>(blocks * 4 * width), 31);
  for (const Dispatch& dispatch : {Dispatch::round_robin(), Dispatch::work_steal()}) {
    CAPTURE(sched::name(dispatch.kind));
    Tensor X = Tensor::host("x", DType::f32, {blocks * 4, width});
    X.copy_from(x);
    Tensor T = Tensor::host("t", DType::f32, {blocks * 4, width});
    Tensor S = Tensor::host("s", DType::f32, {blocks * 4, 1});
    Workload wl = workload("two_stage", [&](W& w) {
      w.parallel_for(Dense(blocks), [&](Idx b) { w.call(exp_rows, {X.rows(b * 4, 4), T.rows(b * 4, 4)}); });
      // In reverse, so that a task depends on a first-stage task launched elsewhere.
      w.parallel_for(Dense(blocks), [&](Idx b) {
        w.call(sum_rows, {T.rows((blocks - 1 - b) * 4, 4), S.rows((blocks - 1 - b) * 4, 4)});
      });
    });
    Program program = wl.dispatch(dispatch).streams(4).compile(Target::cuda());
    program.execute();
    program.synchronize();
    CHECK(program.stats().launches == 2);  // one per level (one kernel each)
    const std::vector<float> s = S.to_vector<float>();
    for (std::int64_t r = 0; r < blocks * 4; ++r) {
      double want = 0;
      for (std::int64_t c = 0; c < width; ++c) want += std::exp(double(x[static_cast<std::size_t>(r * width + c)]));
      CHECK(s[static_cast<std::size_t>(r)] == doctest::Approx(want).epsilon(1e-5));
    }
  }
}

TEST_CASE("a kernel fault on the GPU raises the CPU target's error, under both dispatches") {
  // The view is 4 rows; `len` claims more, so the masked load leaves the tensor.
  const tl::KernelInstance load_len = test::load_len_kernel(width);
  Tensor X = Tensor::host("x", DType::f32, {64, width});
  Tensor Y = Tensor::host("y", DType::f32, {16, width});
  Workload wl = workload("fault", [&](W& w) {
    w.parallel_for(Dense(16), [&](Idx i) { w.call(load_len, {X.rows(i * 4, 4), 4 + (i == 9) * 2, Y[i]}); });
  });
  const std::string cpu_error = message_of([&] {
    Program program = wl.compile(Target::cpu());
    program.execute();
    program.synchronize();
  });
  CHECK(cpu_error.find("is outside") != std::string::npos);
  for (const Dispatch& dispatch : {Dispatch::round_robin(), Dispatch::work_steal()}) {
    CAPTURE(sched::name(dispatch.kind));
    const std::string gpu_error = message_of([&] {
      Program program = wl.dispatch(dispatch).compile(Target::cuda());
      program.execute();
      program.synchronize();
    });
    CHECK(gpu_error == cpu_error);
  }
}

TEST_CASE("#18 CUDA graphs: replay and in-place update give the eager launches' outputs, counted in stats") {
  const tl::Family family = colsum_family();
  const std::int32_t total = 4096;
  std::vector<float> x = random_values(static_cast<std::size_t>(total * width), 21);
  std::vector<Work> plan;
  const DescriptorTable<Work> work(plan, "plan");
  Tensor X = Tensor::wrap("x", x.data(), DType::f32, {total, width});
  Tensor Y_cpu = Tensor::host("y", DType::f32, {400, width});
  Tensor Y_eager = Tensor::host("y", DType::f32, {400, width});
  Tensor Y_graph = Tensor::host("y", DType::f32, {400, width});
  Program cpu = tiered(family, work, X, Y_cpu).compile(Target::cpu());
  const auto on_gpu = [&](const Tensor& Y, bool graphs) {
    return tiered(family, work, X, Y)
        .dispatch(Dispatch::work_steal())
        .streams(2)
        .timing(Timing::batched(128))
        .task_graph(graphs ? Graphs::on() : Graphs::off())
        .compile(Target::cuda());
  };
  Program eager = on_gpu(Y_eager, false), graph = on_gpu(Y_graph, true);
  // New contents with the same count (replay as captured), then new counts (the launches'
  // task counts and grids change: the graph is updated or captured again).
  const std::pair<int, std::uint32_t> steps[] = {{300, 1}, {300, 2}, {300, 3}, {400, 4}, {400, 5}, {120, 6}, {300, 7}};
  for (const auto& step : steps) {
    const int count = step.first;  // (clang 14 cannot capture structured bindings in CAPTURE)
    const std::uint32_t seed = step.second;
    CAPTURE(count);
    CAPTURE(seed);
    plan = random_plan(count, total, seed);
    for (Program* program : {&cpu, &eager, &graph}) {
      program->execute();
      program->synchronize();
    }
    const std::vector<float> want = Y_cpu.to_vector<float>(), eager_out = Y_eager.to_vector<float>();
    CHECK(Y_graph.to_vector<float>() == eager_out);  // the same kernels on the same slots: bit for bit
    int mismatches = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      if (std::fabs(eager_out[i] - want[i]) > 1e-5f * std::max(1.0f, std::fabs(want[i]))) ++mismatches;
    }
    CHECK(mismatches == 0);
    CHECK(graph.stats().launches == eager.stats().launches);
  }
  const ProgramStats& stats = graph.stats();
  // Seven executions: the first captures; same-count steps replay; a new count captures
  // again (updated in place when the topology holds).
  CHECK(stats.graph_captures >= 1);
  CHECK(stats.graph_replays == 3);  // 300 -> 300 twice, 400 -> 400 once
  CHECK(stats.graph_captures + stats.graph_updates + stats.graph_replays == 7);
  CHECK(eager.stats().graph_captures + eager.stats().graph_updates + eager.stats().graph_replays == 0);
}

TEST_CASE("#18 device enumeration: the kernels read the tables, and results, tasks, bytes and edges equal the CPU's") {
  const tl::Family family = colsum_family();
  auto twice = tl::kernel("twice", [](tl::Builder& k) {
    auto y = k.in(tl::tile(1, width, f32), "y");
    auto z = k.out(tl::tile(1, width, f32), "z");
    tl::store(z, y * 2.0);
  });
  const std::int32_t total = 4096;
  std::vector<float> x = random_values(static_cast<std::size_t>(total * width), 31);
  std::vector<Work> plan;
  const DescriptorTable<Work> work(plan, "plan");
  const auto two_stages = [&](const Tensor& X, const Tensor& Y, const Tensor& Z) {
    return workload("device_enumerated", [&](W& w) {
      w.parallel_for(DenseDyn(work), [&](Idx i) {
        auto d = work[i];
        w.cond(d[&Work::len] > 0, [&] {
          w.call(family, d[&Work::tier], {X.rows(d[&Work::start], d[&Work::len]), d[&Work::len], Y[d[&Work::out_row]]});
        });
      });
      w.parallel_for(DenseDyn(work), [&](Idx i) { w.call(twice, {Y[i], Z[i]}); });
    });
  };
  Tensor X_host = Tensor::wrap("x", x.data(), DType::f32, {total, width});
  constexpr std::int32_t rows = 2048;
  Tensor Y_host = Tensor::host("y", DType::f32, {rows, width}), Z_host = Tensor::host("z", DType::f32, {rows, width});
  Tensor X = Tensor::device("x", DType::f32, {total, width});
  X.copy_from(x);
  Tensor Y = Tensor::device("y", DType::f32, {rows, width}), Z = Tensor::device("z", DType::f32, {rows, width});
  Program cpu = two_stages(X_host, Y_host, Z_host).task_graph(Deps::stages()).compile(Target::cpu());
  const std::vector<float> zeros(rows * width, 0.0f);
  for (const bool graphs : {false, true}) {
    CAPTURE(graphs);
    // Rows no task writes keep what they held: start both sides from zeros.
    for (const Tensor* tensor : {&Y_host, &Z_host, &Y, &Z}) tensor->copy_from(zeros);
    Program gpu = two_stages(X, Y, Z)
                      .dispatch(Dispatch::work_steal())
                      .streams(2)
                      .task_graph(Deps::stages(), graphs ? Graphs::on() : Graphs::off())
                      .compile(Target::cuda());
    // Two slots per descriptor; the largest table runs the enumeration on several CTAs.
    for (const auto& step :
         std::vector<std::pair<int, std::uint32_t>>{{300, 1}, {300, 2}, {512, 3}, {rows, 6}, {0, 5}, {7, 4}}) {
      const int count = step.first;
      const std::uint32_t seed = step.second;
      CAPTURE(count);
      plan = random_plan(count, total, seed);
      for (int i = 0; i < count; i += 5) plan[static_cast<std::size_t>(i)].len = 0;  // no task in these iterations
      cpu.execute();
      cpu.synchronize();
      gpu.execute();
      gpu.synchronize();
      const ProgramStats& stats = gpu.stats();
      CHECK(stats.device_enumerated);
      CHECK(stats.tasks == cpu.stats().tasks);
      CHECK(stats.bytes == cpu.stats().bytes);
      CHECK(stats.edges == cpu.stats().edges);
      CHECK(stats.transfer_bytes == 0);
      for (const auto& [host, device] : {std::pair{&Y_host, &Y}, std::pair{&Z_host, &Z}}) {
        const std::vector<float> want = host->to_vector<float>(), got = device->to_vector<float>();
        int mismatches = 0;
        for (std::size_t i = 0; i < want.size(); ++i) {
          if (std::fabs(got[i] - want[i]) > 1e-5f * std::max(1.0f, std::fabs(want[i]))) ++mismatches;
        }
        CHECK(mismatches == 0);
      }
    }
    if (graphs) CHECK(gpu.stats().graph_replays == 1);  // 300 -> 300
    // A bad descriptor: nothing runs, and synchronize() reports the reference's error.
    plan = random_plan(8, total, 9);
    plan[3].start = total;  // rows [4096, 4096 + len) of 4096
    plan[3].len = 5;
    gpu.execute();
    const std::string message = message_of([&] { gpu.synchronize(); });
    CHECK(message.find("call of 'colsum', argument 'x'") != std::string::npos);
    plan[3].start = 0;
    gpu.execute();
    gpu.synchronize();
    CHECK(gpu.stats().tasks == 16);
  }
}
