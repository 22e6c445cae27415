#include "dsl/library/attention.hpp"

#include <cmath>

namespace pto::library {

namespace {

void build_decode_attention(tl::Builder& k, std::int64_t head_dim, std::int64_t block) {
  auto q = k.in(tl::tile(1, head_dim, tl::f16), "q");
  auto K = k.in(tl::global(tl::f16, {tl::dyn, head_dim}), "k");
  auto V = k.in(tl::global(tl::f16, {tl::dyn, head_dim}), "v");
  auto kv_len = k.scalar(tl::i32, "kv_len");
  auto o = k.out(tl::tile(1, head_dim, tl::f32), "o");
  auto lse = k.out(tl::tile(1, 1, tl::f32), "lse");
  const double scale = tl::rsqrt(static_cast<double>(head_dim));
  const OnlineSoftmax start = online_softmax_start(head_dim);
  auto [m, l, acc] = tl::for_range(
      0, kv_len, block, {start.m, start.l, start.acc},
      [&](tl::Scalar j, tl::Value m_prev, tl::Value l_prev, tl::Value acc_prev) {
        auto remaining = kv_len - j;
        auto kb = tl::load(K, j, block, remaining);  // rows past kv_len read 0 and are masked out
        const OnlineSoftmax next = online_softmax_step(q, kb, [&] { return tl::load(V, j, block, remaining); },
                                                       remaining, block, scale, {m_prev, l_prev, acc_prev});
        return tl::carry(next.m, next.l, next.acc);
      });
  tl::store(o, acc / l);
  tl::store(lse, m + tl::log(l));
}

}  // namespace

OnlineSoftmax online_softmax_start(std::int64_t head_dim) {
  return {tl::full(1, 1, tl::f32, -INFINITY), tl::zeros(1, 1, tl::f32), tl::zeros(1, head_dim, tl::f32)};
}

OnlineSoftmax online_softmax_step(const tl::Value& q, const tl::Value& k_block,
                                  const std::function<tl::Value()>& v_block, const tl::Scalar& valid, std::int64_t rows,
                                  double scale, const OnlineSoftmax& state) {
  auto s = tl::matmul(q, tl::trans(k_block)) * scale;
  s = tl::where(tl::lt(tl::iota(1, rows, 1), valid), s, -INFINITY);  // the rows past `valid`
  auto m = tl::maximum(state.m, tl::rowmax(s));
  auto p = tl::exp(s - m);
  auto correction = tl::exp(state.m - m);
  const tl::Value v = v_block();
  // One statement per op: the order of a C++ expression's operands is the compiler's choice,
  // and the kernel IR (its hash, its generated code) must not depend on it.
  auto row_sum = tl::rowsum(p);
  auto l = state.l * correction + row_sum;
  auto pv = tl::matmul(p, v);
  auto acc = state.acc * correction + pv;
  return {m, l, acc};
}

tl::KernelInstance decode_attention(std::int64_t head_dim, std::int64_t block) {
  return tl::kernel("decode_attention", [&](tl::Builder& k) { build_decode_attention(k, head_dim, block); });
}

tl::Family decode_attention_family(std::int64_t head_dim, const std::vector<std::int64_t>& blocks) {
  return tl::family("decode_attention", blocks,
                    [head_dim](tl::Builder& k, std::int64_t block) { build_decode_attention(k, head_dim, block); });
}

tl::KernelInstance row_softmax(std::int64_t rows, std::int64_t cols) {
  return tl::kernel("row_softmax", [&](tl::Builder& k) {
    auto x = k.in(tl::global(tl::f16, {tl::dyn, cols}), "x");
    auto y = k.out(tl::global(tl::f32, {tl::dyn, cols}), "y");
    auto row0 = k.scalar(tl::i32, "row0");
    auto t = tl::load(x, row0, 0, rows, cols);
    auto e = tl::exp(t - tl::rowmax(t));
    tl::store(y, row0, 0, e / tl::rowsum(e));
  });
}

}  // namespace pto::library
