// Worker enumeration (frontend/worker_enumeration.hpp): the host targets' workers enumerate
// the tasks they run. Held to the compiled task list (the same workload with Trace::on(),
// which needs every task in the task graph) on random tables: outputs bit for bit, tasks,
// bytes, edges and tasks per stream; stage order, in-order lanes, re-execution with new
// tables, a failed check's and a kernel fault's errors, and the shapes it leaves to the list.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "dsl/builder.hpp"
#include "frontend/program.hpp"
#include "tests/frontend/workload_test_util.hpp"

using namespace pto;
using tl::f32;
using tl::i32;

namespace {

constexpr std::int64_t width = 4;

struct Item {
  std::int32_t tier, head, start, len, flag;
};

std::vector<Item> random_items(std::mt19937& rng, std::size_t count, std::int64_t rows, std::int64_t heads) {
  std::vector<Item> items(count);
  for (Item& item : items) {
    item.tier = std::uniform_int_distribution<std::int32_t>(0, 1)(rng);
    item.len = std::uniform_int_distribution<std::int32_t>(0, 8)(rng);
    // A row for the scale calls' x[start] too.
    item.start =
        std::uniform_int_distribution<std::int32_t>(0, static_cast<std::int32_t>(rows) - std::max(item.len, 1))(rng);
    item.head = std::uniform_int_distribution<std::int32_t>(0, static_cast<std::int32_t>(heads) - 1)(rng);
    item.flag = std::uniform_int_distribution<std::int32_t>(0, 2)(rng);
  }
  return items;
}

// y = y * 2 + x: the result depends on the order of the tasks that update one y.
tl::KernelInstance shift_add_kernel() {
  return tl::kernel("shift_add", [](tl::Builder& k) {
    auto x = k.in(tl::tile(1, width, f32), "x");
    auto y = k.inout(tl::tile(1, width, f32), "y");
    tl::store(y, tl::read(y) * 2.0 + x);
  });
}

struct Outputs {
  std::vector<float> y, z, w;
  ProgramStats stats;
};

}  // namespace

TEST_CASE("#18 worker enumeration equals the compiled task list: outputs, tasks, bytes, edges, lanes") {
  constexpr std::int64_t rows = 64, heads = 3, max_items = 40;
  const tl::Family colsum = test::colsum_family(width);
  const tl::KernelInstance scale = test::scale_kernel(width);
  std::vector<float> x = test::random_values(static_cast<std::size_t>(rows * heads * width), 18, 2.0f);
  std::mt19937 rng(18);
  std::vector<Item> items;
  Tensor X = Tensor::wrap("x", x.data(), DType::f32, {rows, heads, width});
  Tensor Y = Tensor::host("y", DType::f32, {max_items, heads, width});
  Tensor Z = Tensor::host("z", DType::f32, {max_items, width});
  Tensor Wt = Tensor::host("w", DType::f32, {max_items, width});
  const DescriptorTable<Item> table(items, "items");
  // Stage 1 picks a call per item (a condition; the branches make one call each, so lanes
  // apply); stage 2 reads what stage 1 wrote, so it must wait for all of it.
  // Stage 2 reads `source`: Y (what stage 1 wrote) under Deps::stages; under Deps::none,
  // which orders nothing, a tensor no task writes (else the stages would race).
  Tensor V = Tensor::host("v", DType::f32, {max_items, heads, width});
  const std::vector<float> v = test::random_values(static_cast<std::size_t>(max_items * heads * width), 19, 1.0f);
  std::copy(v.begin(), v.end(), V.data_as<float>());
  const auto two_stages = [&](const Tensor& source) {
    return workload("two_stages", [&](W& w) {
      w.parallel_for(DenseDyn(table), [&](Idx i) {
        auto d = table[i];
        w.cond(
            d[&Item::flag] != 0,
            [&] {
              w.call(
                  colsum, d[&Item::tier],
                  {X.rows(d[&Item::start], d[&Item::len]).at(1, d[&Item::head]), d[&Item::len], Y[i][d[&Item::head]]});
            },
            [&] {
              w.call(scale, {X[d[&Item::start]][d[&Item::head]], Y[i][d[&Item::head]], 0.5});
            });
      });
      w.parallel_for(DenseDyn(table), [&](Idx i) {
        auto d = table[i];
        w.call(scale, {source[i][d[&Item::head]], Z[i], 3.0});
        w.when(d[&Item::flag] == 2, [&] { w.call(scale, {source[i][d[&Item::head]], Wt[i], -1.0}); });
      });
    });
  };
  const Workload wl = two_stages(Y);
  const auto run = [&](Program& program) {
    std::fill_n(Y.data_as<float>(), max_items * heads * width, -7.0f);
    std::fill_n(Z.data_as<float>(), max_items * width, -7.0f);
    std::fill_n(Wt.data_as<float>(), max_items * width, -7.0f);
    program.execute();
    program.synchronize();
    return Outputs{Y.to_vector<float>(), Z.to_vector<float>(), Wt.to_vector<float>(), program.stats()};
  };
  for (const Target target : {Target::cpu(), Target::interpreter()}) {
    for (const Deps deps : {Deps::stages(), Deps::none()}) {
      CAPTURE(name(target.kind));
      CAPTURE(name(deps.kind));
      // Three claim loops on two cores: loops that share a core, stages they wait out.
      const Workload scheduled =
          two_stages(deps.kind == Deps::Kind::stages ? Y : V).task_graph(deps, Pools::workers(3));
      Program on_workers = scheduled.compile(target);
      Program on_list = scheduled.task_graph(Trace::on()).compile(target);
      for (int round = 0; round < 20; ++round) {
        CAPTURE(round);
        items =
            random_items(rng, static_cast<std::size_t>(round % 7 == 3 ? 0 : 1 + round * 2 % max_items), rows, heads);
        const Outputs got = run(on_workers), want = run(on_list);
        CHECK(got.stats.workers_enumerated);
        CHECK_FALSE(want.stats.workers_enumerated);
        CHECK(got.y == want.y);
        CHECK(got.z == want.z);
        CHECK(got.w == want.w);
        CHECK(got.stats.tasks == want.stats.tasks);
        CHECK(got.stats.bytes == want.stats.bytes);
        CHECK(got.stats.edges == want.stats.edges);
        std::int64_t per_worker = 0;
        for (const std::int64_t tasks : got.stats.tasks_per_worker) per_worker += tasks;
        CHECK(per_worker == got.stats.tasks);
      }
    }
  }
  SUBCASE("streams(n): lanes of tasks by ordinal, counted as the task list counts them") {
    const Workload laned = wl.task_graph(Deps::stages(), Pools::workers(2)).streams(3);
    Program on_workers = laned.compile(Target::cpu());
    Program on_list = laned.task_graph(Trace::on()).compile(Target::cpu());
    // Stage 2's condition makes its calls per iteration vary: the task list runs it.
    CHECK_FALSE(run(on_workers).stats.workers_enumerated);
    const Workload fixed = workload("fixed_calls", [&](W& w) {
      w.parallel_for(DenseDyn(table), [&](Idx i) {
        auto d = table[i];
        w.cond(
            d[&Item::flag] != 0,
            [&] {
              w.call(scale, {X[d[&Item::start]][d[&Item::head]], Y[i][d[&Item::head]], 2.0});
            },
            [&] {
              w.call(scale, {X[d[&Item::start]][d[&Item::head]], Y[i][d[&Item::head]], 4.0});
            });
        w.call(scale, {X[d[&Item::start]][0], Z[i], 1.5});
      });
    });
    Program fixed_workers = fixed.task_graph(Deps::stages(), Pools::workers(2)).streams(3).compile(Target::cpu());
    Program fixed_list =
        fixed.task_graph(Deps::stages(), Pools::workers(2), Trace::on()).streams(3).compile(Target::cpu());
    for (int round = 0; round < 6; ++round) {
      items = random_items(rng, static_cast<std::size_t>(5 + round * 6), rows, heads);
      const Outputs got = run(fixed_workers), want = run(fixed_list);
      CHECK(got.stats.workers_enumerated);
      CHECK(got.y == want.y);
      CHECK(got.z == want.z);
      CHECK(got.stats.tasks_per_stream == want.stats.tasks_per_stream);
      CHECK(got.stats.tasks == 2 * static_cast<std::int64_t>(items.size()));
    }
  }
}

TEST_CASE("#18 worker enumeration: a lane runs its tasks in order, and a stage waits for the one before") {
  constexpr std::int64_t n = 301, lanes = 4;
  const tl::KernelInstance shift_add = shift_add_kernel(), scale = test::scale_kernel(width);
  std::vector<float> x = test::random_values(static_cast<std::size_t>(n * width), 3, 1.0f);
  Tensor X = Tensor::wrap("x", x.data(), DType::f32, {n, width});
  Tensor A = Tensor::host("a", DType::f32, {lanes, width});
  Tensor B = Tensor::host("b", DType::f32, {lanes, width});
  // Task i is ordinal i, so lane i % 4: only tasks of one lane update A[i % 4], in order.
  const Workload wl = workload("lanes", [&](W& w) {
    w.parallel_for(Dense(n), [&](Idx i) { w.call(shift_add, {X[i], A[i % lanes]}); });
    w.parallel_for(Dense(lanes), [&](Idx k) { w.call(scale, {A[k], B[k], 2.0}); });
  });
  Program program = wl.task_graph(Deps::stages(), Pools::workers(3)).streams(lanes).compile(Target::cpu());
  for (int round = 0; round < 5; ++round) {
    std::fill_n(A.data_as<float>(), lanes * width, 0.0f);
    program.execute();
    program.synchronize();
    CHECK(program.stats().workers_enumerated);
    for (std::int64_t k = 0; k < lanes; ++k) {
      for (std::int64_t c = 0; c < width; ++c) {
        float want = 0.0f;
        for (std::int64_t i = k; i < n; i += lanes) want = want * 2.0f + x[static_cast<std::size_t>(i * width + c)];
        CHECK(A.data_as<float>()[k * width + c] == want);
        CHECK(B.data_as<float>()[k * width + c] == want * 2.0f);
      }
    }
  }
  std::int64_t lane_tasks = 0;
  for (const std::int64_t tasks : program.stats().tasks_per_stream) lane_tasks += tasks;
  CHECK(lane_tasks == n + lanes);
}

TEST_CASE("#18 worker enumeration: a failed check or a kernel fault raises the task list's error at synchronize()") {
  const tl::Family colsum = test::colsum_family(width);
  std::vector<float> x(16 * width, 1.0f);
  std::vector<Item> items(12, Item{0, 0, 2, 3, 1});
  Tensor X = Tensor::wrap("x", x.data(), DType::f32, {16, 1, width});
  Tensor Y = Tensor::host("y", DType::f32, {12, 1, width});
  const DescriptorTable<Item> table(items, "items");
  const Workload wl = workload("checked", [&](W& w) {
    w.parallel_for(DenseDyn(table), [&](Idx i) {
      auto d = table[i];
      w.call(colsum, d[&Item::tier], {X.rows(d[&Item::start], d[&Item::len]).at(1, 0), d[&Item::len], Y[i][0]});
    });
  });
  const Workload scheduled = wl.task_graph(Deps::stages(), Pools::workers(2));
  Program program = scheduled.compile(Target::cpu());
  Program list = scheduled.task_graph(Trace::on()).compile(Target::cpu());
  items[7].start = 14;  // rows [14, 17) of 16
  const std::string want = test::message_of([&] { list.execute(); });
  CHECK(want.find("rows [14, 17)") != std::string::npos);
  program.execute();  // the workers find it
  CHECK(test::message_of([&] { program.synchronize(); }) == want);
  items[7].start = 1;
  items[3].tier = 5;
  program.execute();
  CHECK(test::message_of([&] { program.synchronize(); }).find("tier 5") != std::string::npos);
  items[3].tier = 1;
  program.execute();
  program.synchronize();
  CHECK(program.stats().tasks == 12);
  CHECK(Y.data_as<float>()[7 * width] == 3.0f);

  // A kernel's own fault: the masked load of `len` rows leaves its 4-row view.
  const tl::KernelInstance load_len = test::load_len_kernel(width);
  Tensor X2 = Tensor::host("x2", DType::f32, {64, width});
  Tensor Y2 = Tensor::host("y2", DType::f32, {16, width});
  const Workload faulty = workload("fault", [&](W& w) {
    w.parallel_for(Dense(16), [&](Idx i) { w.call(load_len, {X2.rows(i * 4, 4), 4 + (i == 9) * 2, Y2[i]}); });
  });
  const auto error_of = [&](const Workload& scheduled_fault) {
    return test::message_of([&] {
      Program p = scheduled_fault.compile(Target::cpu());
      p.execute();
      p.synchronize();
    });
  };
  const std::string fault = error_of(faulty.task_graph(Deps::stages(), Trace::on()));
  CHECK(fault.find("is outside") != std::string::npos);
  CHECK(error_of(faulty.task_graph(Deps::stages())) == fault);
}

TEST_CASE("#18 worker enumeration leaves to the task list what needs it, and says so in stats") {
  const tl::KernelInstance scale = test::scale_kernel(width);
  std::vector<float> x(8 * width, 1.0f);
  Tensor X = Tensor::wrap("x", x.data(), DType::f32, {8, width});
  Tensor Y = Tensor::host("y", DType::f32, {8, width});
  const Workload wl = workload("small", [&](W& w) {
    w.parallel_for(Dense(8), [&](Idx i) { w.call(scale, {X[i], Y[i], 2.0}); });
  });
  const auto enumerated_by_workers = [&](const Workload& scheduled) {
    Program program = scheduled.compile(Target::cpu());
    program.execute();
    program.synchronize();
    CHECK(Y.data_as<float>()[7 * width] == 2.0f);
    return program.stats().workers_enumerated;
  };
  CHECK(enumerated_by_workers(wl.task_graph(Deps::stages())));
  CHECK(enumerated_by_workers(wl.task_graph(Deps::none())));
  CHECK_FALSE(enumerated_by_workers(wl));  // Deps::infer
  CHECK_FALSE(enumerated_by_workers(wl.task_graph(Deps::stages(), Trace::on())));
  CHECK_FALSE(enumerated_by_workers(wl.task_graph(Deps::stages(), Ready::fifo())));
  CHECK_FALSE(enumerated_by_workers(wl.task_graph(Deps::stages(), Window::tasks(4))));
  CHECK_FALSE(enumerated_by_workers(wl.task_graph(Deps::stages(), Ready::fifo()).dispatch(Dispatch::round_robin())));
  CHECK_FALSE(enumerated_by_workers(wl.task_graph(Deps::stages()).timing(Timing::batched(4))));
  // A size the body reads but nobody set: the task list's error, from execute().
  const Workload sized = workload("sized", [&](W& w) {
    w.parallel_for(Dense(8), [&](Idx i) { w.call(scale, {X[i % Expr::size("m")], Y[i], 2.0}); });
  });
  Program program = sized.task_graph(Deps::stages()).compile(Target::cpu());
  CHECK(test::message_of([&] { program.execute(); }).find("'m'") != std::string::npos);
  program.set_size("m", 3);
  program.execute();
  program.synchronize();
  CHECK(program.stats().workers_enumerated);
  CHECK(program.stats().to_string().find("tasks enumerated by the workers") != std::string::npos);
}
