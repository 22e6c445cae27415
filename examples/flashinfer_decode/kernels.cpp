#include "examples/flashinfer_decode/kernels.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
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
// Paged steps gather as many whole pages as fit these rows through the block table
// (tl::load_rows), one softmax update per step as in the contiguous layout.
constexpr std::int64_t cpu_block_rows[] = {32, 64, 96, 128};
constexpr std::int64_t gpu_block_rows[] = {64, 64, 128, 128};

using pto::library::OnlineSoftmax;

// One online-softmax step (the library's): K's block is loaded before the step; V's block
// is loaded inside it, after the scores and their softmax, just before P V. Where a load
// node sits is where the CUDA backend waits for its block, fetched during the step before:
// V's copies then stream in during this step's q K^T and softmax (loaded up front, V's
// block of this step would be awaited as soon as its fetch had started).
OnlineSoftmax step(const tl::Value& q, const tl::Value& k_block, const std::function<tl::Value()>& v_block,
                   const tl::Scalar& valid, std::int64_t rows, double scale, const OnlineSoftmax& in) {
  return pto::library::online_softmax_step(q, k_block, v_block, valid, rows, scale, in);
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
  const std::int64_t rows = rows_per_step;
  // A paged step gathers rows / page_size whole pages' rows through the block table (one
  // load_rows each of K and V) and is one softmax update, as a contiguous step is; entries
  // past the chunk's last page read as 0 and their rows are masked.
  const std::int64_t per_step = layout == KvLayout::paged ? rows / page_size : 0;
  std::optional<tl::Scalar> pages_in_chunk;
  if (layout == KvLayout::paged) pages_in_chunk = (kv_len + (page_size - 1)) / page_size;
  auto [m, l, acc] = tl::for_range(
      0, kv_len, rows, {init.m, init.l, init.acc}, [&](tl::Scalar j, tl::Value m_in, tl::Value l_in, tl::Value acc_in) {
        auto valid = kv_len - j;  // rows past it read 0 and are masked
        std::function<tl::Value(const tl::Global&)> block;
        if (layout == KvLayout::contiguous) {
          block = [&](const tl::Global& g) { return tl::load(g, j, rows, valid); };
        } else {
          auto first_page = j / page_size;
          auto index = tl::load(*pages, first_page, per_step, *pages_in_chunk - first_page);
          block = [&, index](const tl::Global& g) { return tl::load_rows(g, index, page_size, rows, valid); };
        }
        auto k_block = block(K);
        const OnlineSoftmax next = step(q, k_block, [&] { return block(V); }, valid, rows, scale, {m_in, l_in, acc_in});
        return tl::carry(next.m, next.l, next.acc);
      });
  const OnlineSoftmax out{m, l, acc};
  tl::store(o, out.acc / out.l);
  tl::store(lse, out.m + tl::log(out.l));
}

}  // namespace

std::int64_t tier_block_rows(TierTarget target, KvLayout layout, std::int64_t page_size, int tier) {
  const std::int64_t rows = target == TierTarget::cpu ? cpu_block_rows[tier] : gpu_block_rows[tier];
  return layout == KvLayout::paged ? std::max<std::int64_t>(1, rows / page_size) * page_size : rows;
}

pto::tl::Family decode_tiers(KvLayout layout, std::int64_t head_dim, std::int64_t page_size, TierTarget target) {
  const char* name = layout == KvLayout::contiguous ? "decode_tier" : "paged_decode_tier";
  return tl::family(name, {0, 1, 2, 3}, [=](tl::Builder& k, std::int64_t tier) {
    build_tier(k, layout, head_dim, page_size, tier_block_rows(target, layout, page_size, static_cast<int>(tier)));
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
