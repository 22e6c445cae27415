// Ready-made kernels of the flagship workload, written in pto::tl.
#pragma once

#include <cstdint>
#include <vector>

#include "dsl/builder.hpp"

namespace pto::library {

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
