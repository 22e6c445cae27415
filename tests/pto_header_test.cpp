// The umbrella header alone is enough to build a kernel, run a workload and catch pto::Error.
#include "pto/pto.hpp"

#include <doctest/doctest.h>

#include <vector>

TEST_CASE("pto/pto.hpp alone: a kernel, a workload on the interpreter, and pto::Error caught") {
  using namespace pto;
  const auto twice = tl::kernel("twice", [](tl::Builder& k) {
    auto x = k.in(tl::tile(2, 4, tl::f32), "x");
    auto y = k.out(tl::tile(2, 4, tl::f32), "y");
    tl::store(y, x * 2.0);
  });
  std::vector<float> x(8, 1.5f), y(8, 0.0f);
  Tensor in = Tensor::wrap("x", x.data(), DType::f32, {2, 4});
  Tensor out = Tensor::wrap("y", y.data(), DType::f32, {2, 4});
  Program program = workload("twice", [&](W& w) { w.call(twice, {in, out}); }).compile(Target::interpreter());
  program.execute();
  program.synchronize();
  CHECK(y[7] == 3.0f);
  bool caught = false;
  try {
    tl::kernel("bad", [](tl::Builder& k) {
      auto a = k.in(tl::tile(2, 3, tl::f32), "a");
      auto b = k.in(tl::tile(2, 3, tl::f32), "b");
      auto c = k.out(tl::tile(2, 3, tl::f32), "c");
      tl::store(c, tl::matmul(a, b));
    });
  } catch (const Error& error) {
    caught = std::string(error.what()).find("inner dimensions differ") != std::string::npos;
  }
  CHECK(caught);
}
