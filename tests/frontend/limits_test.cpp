// Issue #17's frontend cases: sizes that overflow, sizes bound by a name nothing reads, and
// integers that do not fit the kernel parameter they are bound to.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.hpp"
#include "frontend/program.hpp"
#include "frontend/tables.hpp"
#include "frontend/tensor.hpp"
#include "frontend/workload.hpp"

using namespace pto;

TEST_CASE("#17.3 tensor shapes whose byte count overflows are rejected, naming the tensor") {
  CHECK_THROWS_WITH_AS(Tensor::host("big", DType::f32, {std::int64_t{1} << 32, std::int64_t{1} << 32}),
                       doctest::Contains("tensor 'big': shape [4294967296, 4294967296] of f32 has more bytes than an "
                                         "int64 counts"),
                       Error);
  CHECK_THROWS_WITH_AS(Tensor::host("big", DType::f32, {(std::int64_t{1} << 62) + 1, 4}),
                       doctest::Contains("has more bytes than an int64 counts"), Error);
  float one = 0.0f;
  CHECK_THROWS_WITH_AS(Tensor::wrap("strided", &one, DType::f32, {3, 2}, {std::int64_t{1} << 62, 1}),
                       doctest::Contains("tensor 'strided': shape [3, 2] with strides [4611686018427387904, 1] spans "
                                         "more bytes than an int64 counts"),
                       Error);
}

TEST_CASE("#17.7 a host tensor larger than memory is an error naming it, not std::bad_alloc") {
  // 2^61 bytes: within int64, beyond any machine.
  CHECK_THROWS_WITH_AS(Tensor::host("huge", DType::i64, {std::int64_t{1} << 58}),
                       doctest::Contains("tensor 'huge': cannot allocate 2305843009213693952 bytes of host memory"),
                       Error);
}

namespace {

tl::KernelInstance fill_kernel() {
  return tl::kernel("fill", [](tl::Builder& k) {
    auto n = k.scalar(tl::i32, "n");
    tl::store(k.out(tl::tile(1, 1, tl::i32), "y"), tl::zeros(1, 1, tl::i32) + n);
  });
}

}  // namespace

TEST_CASE("#17.11 set_size with a name no axis reads is an error listing the sizes") {
  const auto kernel = fill_kernel();
  std::vector<std::int32_t> y(8);
  Tensor out = Tensor::wrap("y", y.data(), DType::i32, {8, 1});
  Program program = workload("w", [&](W& w) {
                      w.parallel_for(DenseDyn("n"), [&](Idx i) { w.call(kernel, {i, out.view()[i]}); });
                    }).compile(Target::interpreter());
  CHECK_THROWS_WITH_AS(program.set_size("rows", 4),
                       doctest::Contains("set_size(\"rows\", 4): workload 'w' reads no size named 'rows'; its sizes "
                                         "are: n"),
                       Error);
  program.set_size("n", 4);
  program.execute();
  program.synchronize();
  CHECK(y[3] == 3);
}

TEST_CASE("#17.11 an integer that does not fit its i32 parameter is an error, never truncated") {
  const auto kernel = fill_kernel();
  std::vector<std::int32_t> y(1);
  CHECK_THROWS_WITH_AS(KernelArgs().set("n", std::int64_t{1} << 32).set("y", view(y, 1, 1)).check_against(kernel.ir()),
                       doctest::Contains("parameter 'n' (i32): bound to 4294967296, which does not fit i32"), Error);
  Tensor out = Tensor::wrap("y", y.data(), DType::i32, {1, 1});
  Program program = workload("w", [&](W& w) {
                      w.call(kernel, {Expr(std::int64_t{1} << 32), out.view()});
                    }).compile(Target::interpreter());
  CHECK_THROWS_WITH_AS(program.execute(), doctest::Contains("call of 'fill', argument 'n'"), Error);
}

namespace {
struct Job {
  std::int32_t row;
};
}  // namespace

TEST_CASE("#17.11 a table cannot be made from a temporary, a shared_ptr pins its vector for the table's life") {
  static_assert(!std::is_constructible_v<DescriptorTable<Job>, std::vector<Job>&&, std::string>,
                "a temporary vector would be gone before execute() reads it");
  static_assert(!std::is_constructible_v<IntArray, std::vector<std::int32_t>&&, std::string>);
  const auto kernel = fill_kernel();
  std::vector<std::int32_t> y(4, -1);
  Tensor out = Tensor::wrap("y", y.data(), DType::i32, {4, 1});
  auto jobs = std::make_shared<std::vector<Job>>(std::vector<Job>{{2}, {0}, {3}});
  const DescriptorTable<Job> table(std::shared_ptr<const std::vector<Job>>(jobs), "jobs");
  jobs.reset();  // the caller's reference is gone; the table keeps the rows alive
  Program program = workload("w", [&](W& w) {
                      w.parallel_for(DenseDyn(table), [&](Idx i) {
                        const Expr row = table[i][&Job::row];
                        w.call(kernel, {row, out.view()[row]});
                      });
                    }).compile(Target::interpreter());
  program.execute();
  program.synchronize();
  CHECK(program.stats().tasks == 3);
  CHECK(y == std::vector<std::int32_t>{0, -1, 2, 3});
}
