// Workloads on every target (the interpreter, the CPU, and CUDA where a device is present):
// loops over dense, dynamic, ragged and sparse axes, descriptor tables with tiered kernel
// families, two-stage dependencies, for_each order, conditions, reuse without recompiling,
// schedule options, and the errors of misuse.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "dsl/builder.hpp"
#include "frontend/program.hpp"
#include "runtime/build_config.hpp"
#include "tests/frontend/workload_test_util.hpp"
#if PTO_HAVE_CUDA
#include "runtime/cuda/device_probe.hpp"
#endif

using namespace pto;
using tl::f32;
using tl::i32;

namespace {

constexpr std::int64_t width = 8;

bool cuda_present() {
#if PTO_HAVE_CUDA
  static const bool present = cuda::probe_cuda().status == cuda::CudaStatus::devices_found;
  return present;
#else
  return false;
#endif
}

// Every target this machine runs: CUDA joins where a device is present.
const std::vector<Target> targets = [] {
  std::vector<Target> out = {Target::interpreter(), Target::cpu()};
  if (cuda_present()) out.push_back(Target::cuda());
  return out;
}();

// Worker threads are a host-target option (the CUDA target rejects Pools).
Workload with_workers(const Workload& wl, const Target& target, int workers) {
  return target.kind == Target::Kind::cuda ? wl : wl.task_graph(Pools::workers(workers));
}

// y = x * alpha over one [1, width] row.
tl::KernelInstance scale_kernel() {
  return tl::kernel("scale", [](tl::Builder& k) {
    auto x = k.in(tl::tile(1, width, f32), "x");
    auto y = k.out(tl::tile(1, width, f32), "y");
    tl::store(y, x * k.scalar(f32, "alpha"));
  });
}

std::vector<float> random_values(std::size_t n, std::uint32_t seed) {
  return test::random_values(n, seed, 2.0f);
}

using test::message_of;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a two-stage workload (exp, then a row sum that depends on it) gives the same results on every target") {
  const std::int64_t n = 37;
  auto exp_kernel = tl::kernel("exp_rows", [](tl::Builder& k) {
    auto x = k.in(tl::tile(1, width, f32), "x");
    tl::store(k.out(tl::tile(1, width, f32), "t"), tl::exp(x));
  });
  auto sum_kernel = tl::kernel("sum_rows", [](tl::Builder& k) {
    auto t = k.in(tl::tile(1, width, f32), "t");
    tl::store(k.out(tl::tile(1, 1, f32), "s"), tl::rowsum(t));
  });
  std::vector<float> x = random_values(static_cast<std::size_t>(n * width), 1);
  for (const Deps deps : {Deps::infer(), Deps::stages()}) {
    for (const Target target : targets) {
      CAPTURE(name(target.kind));
      CAPTURE(name(deps.kind));
      Tensor X = Tensor::wrap("x", x.data(), DType::f32, {n, width});
      Tensor T = Tensor::host("t", DType::f32, {n, width});
      Tensor S = Tensor::host("s", DType::f32, {n, 1});
      Workload wl = workload("two_stage", [&](W& w) {
        w.parallel_for(Dense(n), [&](Idx i) { w.call(exp_kernel, {X[i], T[i]}); });
        w.parallel_for(Dense(n), [&](Idx i) { w.call(sum_kernel, {T[i], S[i]}); });
      });
      Program program = with_workers(wl.task_graph(deps), target, 3).compile(target);
      program.execute();
      program.synchronize();
      CHECK(program.stats().tasks == 2 * n);
      CHECK(program.stats().kernels == 2);
      const float* s = S.data_as<float>();
      for (std::int64_t r = 0; r < n; ++r) {
        double want = 0;
        for (std::int64_t c = 0; c < width; ++c) want += std::exp(double(x[static_cast<std::size_t>(r * width + c)]));
        CHECK(s[r] == doctest::Approx(want).epsilon(1e-5));
      }
    }
  }
}

TEST_CASE("ragged axes: one task per token of each request, re-executed with new lengths without recompiling") {
  const auto kernel = scale_kernel();
  std::vector<std::int64_t> lengths = {3, 0, 5, 1}, offsets = {0, 3, 3, 8};
  const std::int64_t tokens = 9;
  std::vector<float> x = random_values(static_cast<std::size_t>(tokens * width), 2);
  for (const Target target : targets) {
    CAPTURE(name(target.kind));
    lengths = {3, 0, 5, 1};
    offsets = {0, 3, 3, 8};
    Tensor X = Tensor::wrap("x", x.data(), DType::f32, {tokens, width});
    Tensor Y = Tensor::host("y", DType::f32, {tokens, width});
    const IntArray length(lengths, "lengths"), offset(offsets, "offsets");
    Workload wl = workload("ragged", [&](W& w) {
      w.parallel_for(DenseDyn("batch"), [&](Idx b) {
        w.parallel_for(Ragged(b, length), [&](Idx t) {
          // Request b's rows are scaled by b + 1: a wrong request boundary shows.
          w.call(kernel, {X[offset[b] + t], Y[offset[b] + t], Expr(b + 1)});
        });
      });
    });
    Program program = wl.compile(target);
    program.set_size("batch", 4);
    auto check = [&] {
      const float* y = Y.data_as<float>();
      for (std::size_t b = 0; b < lengths.size(); ++b) {
        for (std::int64_t t = 0; t < lengths[b]; ++t) {
          for (std::int64_t c = 0; c < width; ++c) {
            const auto at = static_cast<std::size_t>((offsets[b] + t) * width + c);
            CHECK(y[at] == doctest::Approx(x[at] * float(b + 1)));
          }
        }
      }
    };
    program.execute();
    program.synchronize();
    CHECK(program.stats().tasks == tokens);
    check();
    const std::int64_t compiled = program.stats().kernels_compiled;
    // New boundaries (and one request fewer): the same Program, nothing compiled again.
    lengths = {2, 6, 1};
    offsets = {0, 2, 8};
    program.set_size("batch", 3);
    program.execute();
    program.synchronize();
    CHECK(program.stats().tasks == 9);
    CHECK(program.stats().executions == 2);
    CHECK(program.stats().kernels_compiled == compiled);
    check();
  }
}

TEST_CASE("select over a sparse axis visits exactly the CSR entries of each row") {
  const auto kernel = scale_kernel();
  std::vector<std::int32_t> indptr = {0, 2, 2, 5}, indices = {1, 3, 0, 2, 3};
  const std::int64_t rows = 3, cols = 4;
  std::vector<float> x = random_values(static_cast<std::size_t>(rows * cols * width), 3);
  for (const Target target : targets) {
    CAPTURE(name(target.kind));
    Tensor X = Tensor::wrap("x", x.data(), DType::f32, {rows, cols, width});
    Tensor Y = Tensor::host("y", DType::f32, {rows, cols, width});
    const IntArray row_ptr(indptr, "indptr"), col(indices, "indices");
    Workload wl = workload("sparse", [&](W& w) {
      w.parallel_for(Dense(rows), [&](Idx i) {
        w.select(Sparse(i, row_ptr, col), [&](Idx c) { w.call(kernel, {X[i][c], Y[i][c], 3.0}); });
      });
    });
    Program program = wl.compile(target);
    program.execute();
    program.synchronize();
    CHECK(program.stats().tasks == 5);
    const float* y = Y.data_as<float>();
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t c = 0; c < cols; ++c) {
        bool listed = false;
        for (std::int32_t j = indptr[static_cast<std::size_t>(i)]; j < indptr[static_cast<std::size_t>(i) + 1]; ++j)
          listed = listed || indices[static_cast<std::size_t>(j)] == c;
        for (std::int64_t e = 0; e < width; ++e) {
          const auto at = static_cast<std::size_t>((i * cols + c) * width + e);
          CHECK(y[at] == doctest::Approx(listed ? 3.0f * x[at] : 0.0f));
        }
      }
    }
  }
}

namespace {
struct Work {
  std::int32_t tier;
  std::int32_t start;
  std::int32_t len;
  std::int32_t out_row;
};
}  // namespace

TEST_CASE("a descriptor table drives a tiered family: the tier, the rows and the output come from fields") {
  // Column sums of `len` rows starting at `start`, by a kernel whose tier fixes the block
  // height (4 or 8 rows, masked to len).
  const tl::Family family = tl::family("block_colsum", {4, 8}, [](tl::Builder& k, std::int64_t block) {
    auto x = k.in(tl::global(f32, {tl::dyn, width}), "x");
    auto len = k.scalar(i32, "len");
    auto rows = tl::load(x, 0, 0, block, width, len, width);
    tl::store(k.out(tl::tile(1, width, f32), "y"), tl::colsum(rows));
  });
  const std::int64_t total = 40;
  std::vector<float> x = random_values(static_cast<std::size_t>(total * width), 4);
  std::vector<Work> plan = {{0, 0, 3, 0}, {1, 3, 8, 1}, {1, 11, 5, 2}, {0, 16, 4, 3}};
  for (const Target target : targets) {
    CAPTURE(name(target.kind));
    plan = {{0, 0, 3, 0}, {1, 3, 8, 1}, {1, 11, 5, 2}, {0, 16, 4, 3}};
    Tensor X = Tensor::wrap("x", x.data(), DType::f32, {total, width});
    Tensor Y = Tensor::host("y", DType::f32, {8, width});
    const DescriptorTable<Work> work(plan, "plan");
    Workload wl = workload("tiers", [&](W& w) {
      w.parallel_for(DenseDyn(work), [&](Idx i) {
        auto d = work[i];
        w.call(family, d[&Work::tier], {X.rows(d[&Work::start], d[&Work::len]), d[&Work::len], Y[d[&Work::out_row]]});
      });
    });
    Program program = wl.dispatch(Dispatch::work_steal()).streams(2).compile(target);
    auto check = [&] {
      const float* y = Y.data_as<float>();
      for (const Work& d : plan) {
        for (std::int64_t c = 0; c < width; ++c) {
          double want = 0;
          for (std::int64_t r = d.start; r < d.start + d.len; ++r) want += x[static_cast<std::size_t>(r * width + c)];
          CHECK(y[d.out_row * width + c] == doctest::Approx(want).epsilon(1e-5));
        }
      }
    };
    program.execute();
    program.synchronize();
    CHECK(program.stats().tasks == 4);
    CHECK(program.stats().kernels == 2);
    REQUIRE(program.stats().tasks_per_stream.size() == 2);
    CHECK(program.stats().tasks_per_stream[0] + program.stats().tasks_per_stream[1] == 4);
    check();
    // Two tiers compiled (the CUDA target's work_steal adds the persistent kernel over both).
    const std::int64_t compiled = program.stats().kernels_compiled;
    CHECK(compiled == (target.kind == Target::Kind::cuda ? 3 : 2));
    // A new plan, longer: same program, no compilation.
    plan = {{1, 20, 7, 4}, {0, 27, 1, 5}, {0, 28, 4, 6}, {1, 32, 8, 7}, {0, 0, 2, 0}};
    program.execute();
    program.synchronize();
    CHECK(program.stats().tasks == 5);
    CHECK(program.stats().kernels_compiled == compiled);
    check();
  }
}

TEST_CASE("for_each runs its iterations in order (a running sum through one buffer, no inferred deps)") {
  auto accumulate = tl::kernel("accumulate", [](tl::Builder& k) {
    auto x = k.in(tl::tile(1, width, f32), "x");
    auto acc = k.inout(tl::tile(1, width, f32), "acc");
    // Doubling first makes the result depend on the order, not only on the set of rows.
    tl::store(acc, tl::read(acc) * 2.0 + x);
  });
  const std::int64_t n = 24;
  std::vector<float> x = random_values(static_cast<std::size_t>(n * width), 5);
  for (const Target target : targets) {
    CAPTURE(name(target.kind));
    Tensor X = Tensor::wrap("x", x.data(), DType::f32, {n, width});
    Tensor A = Tensor::host("acc", DType::f32, {1, width});
    Workload wl = workload("running", [&](W& w) {
      w.for_each(Dense(n), [&](Idx i) { w.call(accumulate, {X[i], A[0]}); });
    });
    const bool traced = target.kind != Target::Kind::cuda;  // the GPU records launches, not task times
    Program program =
        (traced ? wl.task_graph(Deps::none(), Pools::workers(4), Trace::on()) : wl.task_graph(Deps::none()))
            .compile(target);
    program.execute();
    program.synchronize();
    for (std::int64_t c = 0; c < width; ++c) {
      double want = 0;
      for (std::int64_t i = 0; i < n; ++i) want = want * 2.0 + x[static_cast<std::size_t>(i * width + c)];
      CHECK(A.data_as<float>()[c] == doctest::Approx(want).epsilon(1e-5));
    }
    if (!traced) {
      CHECK(program.stats().launches == n);  // one level per iteration
      continue;
    }
    // The trace shows no two iterations overlapping.
    const nlohmann::json trace = program.trace();
    std::vector<std::pair<double, double>> spans;
    for (const auto& event : trace["traceEvents"]) {
      if (event.value("ph", "") == "X")
        spans.emplace_back(event["ts"].get<double>(), event["ts"].get<double>() + event["dur"].get<double>());
    }
    REQUIRE(spans.size() == static_cast<std::size_t>(n));
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i) CHECK(spans[i].first >= spans[i - 1].second - 1e-3);
  }
}

TEST_CASE("for_each with several tasks per iteration: each iteration waits for all of the one before") {
  // Iteration i doubles two running sums and adds row i to each; the second sum also reads
  // the first (so its tasks must see the whole previous iteration, not only their own chain).
  auto step = tl::kernel("step", [](tl::Builder& k) {
    auto x = k.in(tl::tile(1, width, f32), "x");
    auto acc = k.inout(tl::tile(1, width, f32), "acc");
    tl::store(acc, tl::read(acc) * 2.0 + x);
  });
  auto mix = tl::kernel("mix", [](tl::Builder& k) {
    auto other = k.in(tl::tile(1, width, f32), "other");
    auto acc = k.inout(tl::tile(1, width, f32), "acc");
    tl::store(acc, tl::read(acc) + other * 0.5);
  });
  const std::int64_t n = 16;
  std::vector<float> x = random_values(static_cast<std::size_t>(n * width), 8);
  for (const Target target : targets) {
    CAPTURE(name(target.kind));
    Tensor X = Tensor::wrap("x", x.data(), DType::f32, {n, width});
    Tensor A = Tensor::host("a", DType::f32, {1, width});
    Tensor B = Tensor::host("b", DType::f32, {1, width});
    Workload wl = workload("two_chains", [&](W& w) {
      w.for_each(Dense(n), [&](Idx i) {
        w.call(step, {X[i], A[0]});
        w.call(step, {X[i], B[0]});
      });
      w.for_each(Dense(n), [&](Idx) { w.call(mix, {A[0], B[0]}); });
    });
    // Deps::stages orders the two loops (top-level statements); for_each orders iterations.
    Program program = with_workers(wl.task_graph(Deps::stages()), target, 4).compile(target);
    program.execute();
    program.synchronize();
    CHECK(program.stats().tasks == 3 * n);
    for (std::int64_t c = 0; c < width; ++c) {
      double sum = 0;
      for (std::int64_t i = 0; i < n; ++i) sum = sum * 2.0 + x[static_cast<std::size_t>(i * width + c)];
      double b = sum;
      for (std::int64_t i = 0; i < n; ++i) b += sum * 0.5;
      CHECK(A.data_as<float>()[c] == doctest::Approx(sum).epsilon(1e-5));
      CHECK(B.data_as<float>()[c] == doctest::Approx(b).epsilon(1e-5));
    }
  }
}

TEST_CASE("when / otherwise (and cond) pick the call per task") {
  const auto kernel = scale_kernel();
  const std::int64_t n = 10;
  std::vector<float> x = random_values(static_cast<std::size_t>(n * width), 6);
  for (const Target target : targets) {
    Tensor X = Tensor::wrap("x", x.data(), DType::f32, {n, width});
    Tensor Y = Tensor::host("y", DType::f32, {n, width});
    Workload wl = workload("cond", [&](W& w) {
      w.parallel_for(Dense(n), [&](Idx i) {
        w.when(i % 3 == 0, [&] {
           w.call(kernel, {X[i], Y[i], 2.0});
         }).otherwise([&] {
          w.cond(
              i % 3 == 1,
              [&] {
                w.call(kernel, {X[i], Y[i], -1.0});
              },
              [&] {
                w.call(kernel, {X[i], Y[i], 0.5});
              });
        });
      });
    });
    Program program = wl.compile(target);
    program.execute();
    program.synchronize();
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t c = 0; c < width; ++c) {
        const auto at = static_cast<std::size_t>(i * width + c);
        CHECK(Y.data_as<float>()[at] == doctest::Approx(x[at] * (i % 3 == 0 ? 2.0f : i % 3 == 1 ? -1.0f : 0.5f)));
      }
    }
  }
}

TEST_CASE("round-robin dispatch spreads tasks over every worker, stats count tasks, bytes and time") {
  const auto kernel = scale_kernel();
  const std::int64_t n = 64;
  std::vector<float> x = random_values(static_cast<std::size_t>(n * width), 7);
  Tensor X = Tensor::wrap("x", x.data(), DType::f32, {n, width});
  Tensor Y = Tensor::host("y", DType::f32, {n, width});
  Workload wl = workload("spread", [&](W& w) {
    w.parallel_for(Dense(n), [&](Idx i) { w.call(kernel, {X[i], Y[i], 1.5}); });
  });
  Program program = wl.dispatch(Dispatch::round_robin())
                        .timing(Timing::batched(8))
                        .task_graph(Ready::fifo(), Pools::workers(4), Window::tasks(16))
                        .compile(Target::cpu());
  program.execute();
  program.synchronize();
  const ProgramStats& stats = program.stats();
  REQUIRE(stats.tasks_per_worker.size() == 4);
  for (std::int64_t count : stats.tasks_per_worker) CHECK(count == n / 4);
  CHECK(stats.bytes == n * 2 * width * 4);
  CHECK(stats.execute_ms > 0);
  CHECK(stats.gb_per_s() > 0);
  CHECK(contains(stats.to_string(), "64 tasks"));
  CHECK(stats.to_json()["tasks"] == 64);
}

TEST_CASE("error: bad kernel calls are rejected when the workload is built, naming the argument") {
  const auto kernel = scale_kernel();
  Tensor X = Tensor::host("x", DType::f32, {4, width});
  Tensor H = Tensor::host("h", DType::f16, {4, width});
  Tensor Z = Tensor::host("z", DType::f32, {4, 2, width});
  auto build = [&](const std::function<void(W&, Idx)>& body) {
    return message_of([&] { workload("bad", [&](W& w) { w.parallel_for(Dense(4), [&](Idx i) { body(w, i); }); }); });
  };
  CHECK(contains(build([&](W& w, Idx i) { w.call(kernel, {X[i], X[i]}); }), "gives 2 arguments; it takes 3"));
  const std::string dtype = build([&](W& w, Idx i) { w.call(kernel, {H[i], X[i], 1.0}); });
  CHECK(contains(dtype, "argument 0 ('x'"));
  CHECK(contains(dtype, "holds f16; the parameter needs f32"));
  CHECK(contains(build([&](W& w, Idx) { w.call(kernel, {Z.view(), X[0], 1.0}); }), "has 3 dimensions"));
  CHECK(contains(build([&](W& w, Idx i) { w.call(kernel, {X[i], X[i], X[i]}); }), "a scalar parameter takes"));
  CHECK(contains(build([&](W& w, Idx i) { w.call(kernel, {i, X[i], 1.0}); }), "a tensor parameter takes a view"));
  CHECK(contains(build([&](W& w, Idx i) { w.call(kernel, {X.at(1, i), X[i], 1.0}); }), "column stride"));
  CHECK(contains(build([&](W& w, Idx) { w.select(Dense(3), [](Idx) {}); }), "select iterates a Sparse axis"));
  std::vector<std::int32_t> ptr = {0, 1}, idx = {0};
  const IntArray p(ptr, "indptr"), c(idx, "indices");
  CHECK(contains(build([&](W& w, Idx i) { w.parallel_for(Sparse(i, p, c), [](Idx) {}); }),
                 "a Sparse axis is iterated with select"));
}

TEST_CASE("error: problems found while executing name the tensor, the axis or the tier") {
  const auto kernel = scale_kernel();
  Tensor X = Tensor::host("x", DType::f32, {4, width});
  Tensor Y = Tensor::host("y", DType::f32, {4, width});
  // A view past the tensor's end.
  Program past = workload("past", [&](W& w) {
                   w.parallel_for(Dense(5), [&](Idx i) { w.call(kernel, {X[i], Y[i], 1.0}); });
                 }).compile(Target::interpreter());
  const std::string bounds = message_of([&] { past.execute(); });
  CHECK(contains(bounds, "argument 'x'"));
  CHECK(contains(bounds, "tensor 'x' [4x8]: index 4"));
  // A DenseDyn size nobody bound.
  Program unbound = workload("unbound", [&](W& w) {
                      w.parallel_for(DenseDyn("n"), [&](Idx i) { w.call(kernel, {X[i], Y[i], 1.0}); });
                    }).compile(Target::cpu());
  CHECK(contains(message_of([&] { unbound.execute(); }), "program.set_size(\"n\", n)"));
  // A tier the family does not have.
  const tl::Family family = tl::family("fam", {1, 2}, [](tl::Builder& k, std::int64_t) {
    auto x = k.in(tl::tile(1, width, f32), "x");
    tl::store(k.out(tl::tile(1, width, f32), "y"), x + 1.0);
  });
  Program tiers = workload("tiers", [&](W& w) {
                    w.parallel_for(Dense(4), [&](Idx i) { w.call(family, i, {X[i], Y[i]}); });
                  }).compile(Target::cpu());
  CHECK(contains(message_of([&] { tiers.execute(); }), "tier 2 (from i0) does not exist"));
  // execute() twice without synchronize().
  Program twice = workload("twice", [&](W& w) {
                    w.parallel_for(Dense(4), [&](Idx i) { w.call(kernel, {X[i], Y[i], 1.0}); });
                  }).compile(Target::cpu());
  twice.execute();
  CHECK(contains(message_of([&] { twice.execute(); }), "call synchronize() first"));
  twice.synchronize();
  CHECK(contains(message_of([&] { (void)twice.trace(); }), "Trace::on()"));
}

TEST_CASE("error: options no target can honour are rejected at compile, naming them") {
  const auto kernel = scale_kernel();
  Tensor X = Tensor::host("x", DType::f32, {4, width});
  Workload wl = workload("opts", [&](W& w) {
    w.parallel_for(Dense(4), [&](Idx i) { w.call(kernel, {X[i], X[i], 1.0}); });
  });
  CHECK(contains(message_of([&] { (void)wl.streams(-1); }), "streams(-1)"));
  CHECK(contains(message_of([&] { (void)wl.task_graph(Pools::workers(-2)).compile(Target::cpu()); }),
                 "Pools::workers(-2)"));
  CHECK(contains(message_of([&] { (void)wl.task_graph(Window::tasks(0)).compile(Target::cpu()); }), "indow"));
  for (const Target host : {Target::cpu(), Target::interpreter()}) {
    CHECK(contains(message_of([&] { (void)wl.task_graph(Graphs::on()).compile(host); }),
                   "Graphs::on() cannot be honoured by Target::"));
  }
#if PTO_HAVE_CUDA
  // What the GPU cannot honour is rejected before any device is looked for.
  const auto cuda_rejects = [&](const Workload& options, const std::string& option) {
    const std::string message = message_of([&] { (void)options.compile(Target::cuda()); });
    CHECK(contains(message, option + " cannot be honoured by Target::cuda()"));
  };
  cuda_rejects(wl.task_graph(Trace::on()), "Trace::on()");
  cuda_rejects(wl.task_graph(Pools::workers(2)), "Pools::workers(2)");
  cuda_rejects(wl.task_graph(Ready::priority()), "Ready::priority()");
  cuda_rejects(wl.task_graph(Window::tasks(8)), "a bounded Window");
  cuda_rejects(wl.task_graph(Start::threshold(4)), "Start::threshold(4)");
  cuda_rejects(wl.dispatch(Dispatch::hash([](const sched::TaskInfo& t) { return t.key; })), "Dispatch::hash(...)");
  if (!cuda_present()) CHECK(contains(message_of([&] { (void)wl.compile(Target::cuda()); }), "CUDA"));
#else
  CHECK(contains(message_of([&] { (void)wl.compile(Target::cuda()); }), "needs a build with CUDA"));
#endif
}

TEST_CASE("Deps::infer: the heads of an NHD tensor are independent, and a reader of one head follows only its writer") {
  // O [tokens, heads, dim]: head h of every token is a strided view (its byte span
  // interleaves with the other heads'). Before #18 the heads ran one after another.
  constexpr std::int64_t tokens = 5, heads = 4;
  auto scale = tl::kernel("scale_head", [](tl::Builder& k) {
    auto x = k.in(tl::tile(tokens, width, f32), "x");
    tl::store(k.out(tl::tile(tokens, width, f32), "y"), x * 2.0);
  });
  auto sum = tl::kernel("sum_head", [](tl::Builder& k) {
    auto y = k.in(tl::tile(tokens, width, f32), "y");
    tl::store(k.out(tl::tile(tokens, 1, f32), "s"), tl::rowsum(y));
  });
  std::vector<float> x = random_values(static_cast<std::size_t>(tokens * heads * width), 5);
  for (const Target target : targets) {
    CAPTURE(name(target.kind));
    Tensor X = Tensor::wrap("x", x.data(), DType::f32, {tokens, heads, width});
    Tensor O = Tensor::host("o", DType::f32, {tokens, heads, width});
    Tensor S = Tensor::host("s", DType::f32, {tokens, 1});
    Workload wl = workload("nhd_heads", [&](W& w) {
      w.parallel_for(Dense(heads), [&](Idx h) { w.call(scale, {X.at(1, h), O.at(1, h)}); });
      w.call(sum, {O.at(1, 2), S.view()});  // reads head 2 only
    });
    Program program = with_workers(wl, target, 2).compile(target);
    program.execute();
    program.synchronize();
    CHECK(program.stats().tasks == heads + 1);
    CHECK(program.stats().edges == 1);  // sum_head after head 2's scale_head, nothing else
    const float* s = S.data_as<float>();
    for (std::int64_t t = 0; t < tokens; ++t) {
      double want = 0;
      for (std::int64_t c = 0; c < width; ++c) want += 2.0 * x[static_cast<std::size_t>((t * heads + 2) * width + c)];
      CHECK(s[t] == doctest::Approx(want).epsilon(1e-5));
    }
  }
}
