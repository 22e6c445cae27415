// The example's kernels, written in pto::tl: four decode-attention tiers (one instance each,
// for chunks of <= 512, <= 1024, <= 2048 and more KV tokens) for the contiguous and the
// paged KV layouts, and the log-sum-exp merge of split-KV partials.
//
// A tier kernel runs one descriptor: the query row of one (request, head) against kv_len KV
// rows, in blocks, with online softmax (FlashAttention): per block, scores s = q K^T / sqrt(d)
// with the rows past kv_len masked to -inf, m' = max(m, rowmax(s)), p = exp(s - m'),
// l' = l exp(m - m') + rowsum(p), acc' = acc exp(m - m') + p V. It writes o = acc / l and
// lse = m + log(l) (natural log): a whole (request, head) gets its final output, a chunk of
// a split one a partial that the merge combines.
//
// Tiers are separate instances (one compiled function each) whose KV rows per loop step
// are set per tier and per target (tier_block_rows; the reasons and H100 figures are in
// kernels.cpp): on the GPU the two short tiers step 64 rows, the two long ones 128; a paged
// step gathers that many rows of whole pages through the block table (tl::load_rows).
#pragma once

#include <cstdint>

#include "dsl/builder.hpp"

namespace flashinfer {

namespace tl = pto::tl;

enum class KvLayout { contiguous, paged };

enum class TierTarget { cpu, gpu };

// KV rows per loop step of each tier for a layout (paged: rounded down to whole pages of
// `page_size` rows, at least one).
std::int64_t tier_block_rows(TierTarget target, KvLayout layout, std::int64_t page_size, int tier);

// Contiguous: parameters q [1, d] f16, k and v globals [?, d] f16 (the chunk's rows of one
// head), kv_len i32, o [1, d] f32, lse [1, 1] f32.
// Paged: parameters q, k and v globals [?, d] f16 (one head's rows of the whole page pool:
// page p holds rows [p * page_size, (p + 1) * page_size)), pages global [?, 1] i32 (the block
// table's entries of the chunk's pages, in order), kv_len, o, lse.
pto::tl::Family decode_tiers(KvLayout layout, std::int64_t head_dim, std::int64_t page_size, TierTarget target);

// Merges `count` partials of one (request, head): o_part global [?, d] f32, lse_part global
// [?, 1] f32, count i32 -> o [1, d] f32, lse [1, 1] f32. With M = max lse_i and
// w_i = exp(lse_i - M): o = sum w_i o_i / sum w_i, lse = M + log(sum w_i) (online, in one pass).
pto::tl::KernelInstance merge_partials(std::int64_t head_dim);

}  // namespace flashinfer
