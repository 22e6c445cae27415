#include "examples/flashinfer_decode/kernels.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "dsl/library/attention.hpp"

namespace flashinfer {

namespace {

// KV rows per loop step, per tier. On the CPU short chunks take short steps (less masked
// work in a chunk's last block) and long ones long steps (longer vectorised loops). On the
// GPU the CUDA backend fetches each step's K and V blocks during the step before (cp.async),
// so a step's fixed cost (a dozen barriers around small ops) is what a short step loses,
// and a long step's price is shared memory: the persistent kernel sizes every CTA for the
// largest body. Measured on an H100 (% of a device copy, seed plan / ten times its tokens):
// 32 x4 48 / 81, 64 x4 59 / 79, 96 x4 70 / 81, 128 x4 70 / 77, 64/64/64/128 70 / 78,
// 64/64/128/128 71 / 80: short chunks keep short steps, the long ones take 128 rows.
// Paged steps are whole pages, each a softmax update of its own (one 16-row block per
// page): on the GPU 4 pages per step (seed plan 31 %) beat 8 (26 %).
constexpr std::int64_t cpu_block_rows[] = {32, 64, 96, 128};
constexpr std::int64_t gpu_block_rows[] = {64, 64, 128, 128};
constexpr std::int64_t gpu_paged_block_rows[] = {64, 64, 64, 64};

using pto::library::OnlineSoftmax;

// One online-softmax step over K/V blocks already loaded (the library's step).
OnlineSoftmax step(const tl::Value& q, const tl::Value& k_block, const tl::Value& v_block, const tl::Scalar& valid,
                   std::int64_t rows, double scale, const OnlineSoftmax& in) {
  return pto::library::online_softmax_step(
      q, k_block, [&] { return v_block; }, valid, rows, scale, in);
}

void build_tier(tl::Builder& k, KvLayout layout, std::int64_t head_dim, std::int64_t page_size,
                std::int64_t rows_per_step) {
  auto q = k.in(tl::tile(1, head_dim, tl::f16), "q");
  auto K = k.in(tl::global(tl::f16, {tl::dyn, head_dim}), "k");
  auto V = k.in(tl::global(tl::f16, {tl::dyn, head_dim}), "v");
  std::optional<tl::Global> pages;
  if (layout == KvLayout::paged) pages = k.in(tl::global(tl::i32, {tl::dyn, 1}), "pages");
  auto kv_len = k.scalar(tl::i32, "kv_len");
  auto o = k.out(tl::tile(1, head_dim, tl::f32), "o");
  auto lse = k.out(tl::tile(1, 1, tl::f32), "lse");
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  const OnlineSoftmax init = pto::library::online_softmax_start(head_dim);
  OnlineSoftmax out;
  if (layout == KvLayout::contiguous) {
    const std::int64_t rows = rows_per_step;
    auto [m, l, acc] = tl::for_range(0, kv_len, rows, {init.m, init.l, init.acc},
                                     [&](tl::Scalar j, tl::Value m_in, tl::Value l_in, tl::Value acc_in) {
                                       auto valid = kv_len - j;  // rows past it read 0 and are masked
                                       const OnlineSoftmax next =
                                           step(q, tl::load(K, j, rows, valid), tl::load(V, j, rows, valid), valid,
                                                rows, scale, {m_in, l_in, acc_in});
                                       return tl::carry(next.m, next.l, next.acc);
                                     });
    out = {m, l, acc};
  } else {
    // A step covers `per_step` pages; each is looked up in the block table and gets its own
    // softmax update. Pages past the chunk's last are clamped to it and fully masked.
    const std::int64_t per_step = std::max<std::int64_t>(1, rows_per_step / page_size);
    auto last_page = (kv_len + (page_size - 1)) / page_size - 1;
    auto [m, l, acc] = tl::for_range(0, kv_len, per_step * page_size, {init.m, init.l, init.acc},
                                     [&](tl::Scalar j, tl::Value m_in, tl::Value l_in, tl::Value acc_in) {
                                       OnlineSoftmax state{m_in, l_in, acc_in};
                                       for (std::int64_t p = 0; p < per_step; ++p) {
                                         auto valid = kv_len - (j + p * page_size);
                                         auto page = tl::load_scalar(*pages, tl::minimum(j / page_size + p, last_page));
                                         auto row = page * page_size;
                                         state =
                                             step(q, tl::load(K, row, page_size, valid),
                                                  tl::load(V, row, page_size, valid), valid, page_size, scale, state);
                                       }
                                       return tl::carry(state.m, state.l, state.acc);
                                     });
    out = {m, l, acc};
  }
  tl::store(o, out.acc / out.l);
  tl::store(lse, out.m + tl::log(out.l));
}

}  // namespace

std::int64_t tier_block_rows(TierTarget target, KvLayout layout, int tier) {
  if (target == TierTarget::cpu) return cpu_block_rows[tier];
  return layout == KvLayout::paged ? gpu_paged_block_rows[tier] : gpu_block_rows[tier];
}

pto::tl::Family decode_tiers(KvLayout layout, std::int64_t head_dim, std::int64_t page_size, TierTarget target) {
  const char* name = layout == KvLayout::contiguous ? "decode_tier" : "paged_decode_tier";
  return tl::family(name, {0, 1, 2, 3}, [=](tl::Builder& k, std::int64_t tier) {
    build_tier(k, layout, head_dim, page_size, tier_block_rows(target, layout, static_cast<int>(tier)));
  });
}

pto::tl::KernelInstance merge_partials(std::int64_t head_dim) {
  return tl::kernel("merge_partials", [&](tl::Builder& k) {
    auto o_part = k.in(tl::global(tl::f32, {tl::dyn, head_dim}), "o_part");
    auto lse_part = k.in(tl::global(tl::f32, {tl::dyn, 1}), "lse_part");
    auto count = k.scalar(tl::i32, "count");
    auto o = k.out(tl::tile(1, head_dim, tl::f32), "o");
    auto lse = k.out(tl::tile(1, 1, tl::f32), "lse");
    auto [m, l, acc] = tl::for_range(
        0, count, 1, {tl::full(1, 1, tl::f32, -INFINITY), tl::zeros(1, 1, tl::f32), tl::zeros(1, head_dim, tl::f32)},
        [&](tl::Scalar i, tl::Value m_in, tl::Value l_in, tl::Value acc_in) {
          auto part_lse = tl::load(lse_part, i, 1, 1);
          auto m_new = tl::maximum(m_in, tl::rowmax(part_lse));
          auto weight = tl::exp(part_lse - m_new);
          auto correction = tl::exp(m_in - m_new);
          return tl::carry(m_new, l_in * correction + tl::rowsum(weight),
                           acc_in * correction + weight * tl::load(o_part, i, 1, 1));
        });
    tl::store(o, acc / l);
    tl::store(lse, m + tl::log(l));
  });
}

}  // namespace flashinfer
