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
  auto [m, l, acc] = tl::for_range(
      0, kv_len, block, {tl::full(1, 1, tl::f32, -INFINITY), tl::zeros(1, 1, tl::f32), tl::zeros(1, head_dim, tl::f32)},
      [&](tl::Scalar j, tl::Value m_prev, tl::Value l_prev, tl::Value acc_prev) {
        auto remaining = kv_len - j;
        auto kb = tl::load(K, j, block, remaining);  // rows past kv_len read 0 ...
        auto s = tl::matmul(q, tl::trans(kb)) * scale;
        s = tl::where(tl::lt(tl::iota(1, block, 1), remaining), s, -INFINITY);  // ... and are masked out
        auto m_new = tl::maximum(m_prev, tl::rowmax(s));
        auto p = tl::exp(s - m_new);
        auto correction = tl::exp(m_prev - m_new);
        auto vb = tl::load(V, j, block, remaining);
        return tl::carry(m_new, l_prev * correction + tl::rowsum(p), acc_prev * correction + tl::matmul(p, vb));
      });
  tl::store(o, acc / l);
  tl::store(lse, m + tl::log(l));
}

}  // namespace

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
