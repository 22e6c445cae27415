// Ready-made kernels of the flagship workload, written in pto::tl.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dsl/builder.hpp"

namespace pto::library {

// The running state of online softmax over one query row's scores: the running maximum m
// [1, 1], the denominator l [1, 1] (scaled by exp(-m)) and the weighted sum of V rows acc
// [1, head_dim] (likewise).
struct OnlineSoftmax {
  tl::Value m, l, acc;
};

// The state before any block: m = -inf, l = 0, acc = 0.
OnlineSoftmax online_softmax_start(std::int64_t head_dim);

// One step of online softmax over a block of `rows` K/V rows of which the first `valid` are
// real (the rest are masked out): scores q K^T * scale, the new maximum, the rescaled
// denominator and accumulator. `v_block` gives the block's V rows; it is called once, after
// the scores' terms are built, so a kernel that loads V there keeps that load after the
// QK^T work in program order (a block loaded earlier is simply returned).
OnlineSoftmax online_softmax_step(const tl::Value& q, const tl::Value& k_block,
                                  const std::function<tl::Value()>& v_block, const tl::Scalar& valid, std::int64_t rows,
                                  double scale, const OnlineSoftmax& state);

// Decode attention for one (request, head) over one KV chunk: a query row q [1, head_dim]
// (f16) against kv_len rows of K and V (globals [?, head_dim], f16), in blocks of `block`
// rows with online softmax and the tail of the last block masked; softmax scale
// 1/sqrt(head_dim). Outputs o [1, head_dim] (f32, normalised) and lse [1, 1] (natural log
// of the softmax denominator, scores scaled), so split-KV partials merge by log-sum-exp.
// Parameters: q, k, v, kv_len (i32), o, lse.
tl::KernelInstance decode_attention(std::int64_t head_dim, std::int64_t block);

// One instance per block size (the "tiers" of the flagship): decode_attention<block>.
tl::Family decode_attention_family(std::int64_t head_dim, const std::vector<std::int64_t>& blocks);

// Row softmax of `rows` rows of a global x [?, cols] (f16) starting at row `row0` (i32),
// into y [?, cols] (f32). Parameters: x, y, row0.
tl::KernelInstance row_softmax(std::int64_t rows, std::int64_t cols);

}  // namespace pto::library
