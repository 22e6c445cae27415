// Softmax and online-softmax decode attention on the interpreter against float64.
#include <doctest/doctest.h>

#include <cmath>

#include "dsl/builder.hpp"
#include "dsl/interpreter.hpp"
#include "dsl/library/attention.hpp"
#include "dsl/printer.hpp"
#include "tests/dsl/dsl_test_util.hpp"

using namespace pto;
using pto::test::check_close;
using pto::test::HostTensor;
using tl::bf16;
using tl::f16;
using tl::f32;
using tl::i32;

namespace {

// The decode-attention tier kernel of DESIGN.md, from the kernel library.
tl::KernelInstance decode_attention(std::int64_t head_dim, std::int64_t block) {
  return library::decode_attention(head_dim, block);
}

}  // namespace

TEST_CASE("row softmax matches float64") {
  std::mt19937 rng(21);
  for (const auto& shape : pto::test::shape_sweep) {
    // Named copies, not structured bindings: clang 14 cannot capture those in lambdas.
    const std::int64_t rows = shape.first, cols = shape.second;
    HostTensor x(DType::f16, rows, cols), y(DType::f32, rows, cols);
    x.fill_random(rng, -6, 6);
    auto softmax = tl::kernel("softmax", [&](tl::Builder& k) {
      auto t = k.in(tl::tile(rows, cols, f16), "x");
      auto e = tl::exp(t - tl::rowmax(t));
      tl::store(k.out(tl::tile(rows, cols, f32), "y"), e / tl::rowsum(e));
    });
    pto::test::execute(softmax, KernelArgs().set("x", x.view()).set("y", y.view()));
    std::vector<double> expected;
    for (std::int64_t r = 0; r < rows; ++r) {
      double mx = -INFINITY, sum = 0;
      for (std::int64_t c = 0; c < cols; ++c) mx = std::max(mx, x.get(r, c));
      for (std::int64_t c = 0; c < cols; ++c) sum += std::exp(x.get(r, c) - mx);
      for (std::int64_t c = 0; c < cols; ++c) expected.push_back(std::exp(x.get(r, c) - mx) / sum);
    }
    check_close(y, expected, 1e-5, 1e-7);
  }
}

TEST_CASE("online-softmax decode attention over several KV blocks with a masked tail matches float64") {
  std::mt19937 rng(42);
  const std::int64_t head_dim = 128, block = 64;
  const auto kernel = decode_attention(head_dim, block);
  for (std::int64_t kv_len : {1, 63, 64, 65, 200, 512}) {
    CAPTURE(kv_len);
    const std::int64_t stored_rows = kv_len + 3;  // the tensor is longer than kv_len: the mask must cut it
    HostTensor q(DType::f16, 1, head_dim), K(DType::f16, stored_rows, head_dim), V(DType::f16, stored_rows, head_dim);
    HostTensor o(DType::f32, 1, head_dim), lse(DType::f32, 1, 1);
    q.fill_random(rng, -1, 1);
    K.fill_random(rng, -1, 1);
    V.fill_random(rng, -1, 1);
    pto::test::execute(kernel, KernelArgs()
                                   .set("q", q.view())
                                   .set("k", K.view())
                                   .set("v", V.view())
                                   .set("kv_len", kv_len)
                                   .set("o", o.view())
                                   .set("lse", lse.view()));
    std::vector<double> scores;
    double mx = -INFINITY;
    for (std::int64_t t = 0; t < kv_len; ++t) {
      double dot = 0;
      for (std::int64_t d = 0; d < head_dim; ++d) dot += q.get(0, d) * K.get(t, d);
      scores.push_back(dot / std::sqrt(double(head_dim)));
      mx = std::max(mx, scores.back());
    }
    double sum = 0;
    for (double s : scores) sum += std::exp(s - mx);
    std::vector<double> expected(static_cast<std::size_t>(head_dim), 0.0);
    for (std::int64_t t = 0; t < kv_len; ++t) {
      const double p = std::exp(scores[static_cast<std::size_t>(t)] - mx) / sum;
      for (std::int64_t d = 0; d < head_dim; ++d) expected[static_cast<std::size_t>(d)] += p * V.get(t, d);
    }
    check_close(o, expected, 1e-4, 1e-5);
    check_close(lse, {mx + std::log(sum)}, 1e-5, 1e-5);
  }
}

TEST_CASE("the attention kernel prints as readable IR") {
  const std::string text = ir::print(decode_attention(128, 64).ir());
  MESSAGE(text);
  CHECK(text.find("kernel decode_attention(q: in tile<1x128xf16>, k: in global<?x128xf16>, v: in global<?x128xf16>, "
                  "kv_len: in i32, o: out tile<1x128xf32>, lse: out tile<1x1xf32>) {") == 0);
  CHECK(text.find("step 64 iter(") != std::string::npos);
  CHECK(text.find("load %k[") != std::string::npos);
  CHECK(text.find("rowmax") != std::string::npos);
  CHECK(text.find("matmul") != std::string::npos);
  CHECK(text.find("trans") != std::string::npos);
  CHECK(text.find("yield") != std::string::npos);
  CHECK(text.find("store %lse, ") != std::string::npos);
}
