// The decode problem: its shape, its inputs in FlashInfer's ragged NHD layout, the paged
// copy of its KV cache, and the parallel loop the host-side work uses.
//
// Layout (docs in README.md): q [batch, heads, head_dim] f16; k, v [total_tokens, heads,
// head_dim] f16, the requests' tokens concatenated in order; o [batch, heads, head_dim] f32;
// lse [batch, heads] f32 (natural log of the softmax denominator of the scaled scores).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dsl/dtype.hpp"

namespace flashinfer {

using pto::f16_t;

// The seed's batch (seeds/000): 16 requests of skewed lengths, 32 heads of 128 dims.
inline const std::vector<std::int64_t> seed_seq_lens = {512,  1024,  2048, 4096, 512,  512,  1024, 2048,
                                                        8192, 16384, 1024, 512,  2048, 4096, 8192, 1024};

struct DecodeShape {
  std::vector<std::int64_t> seq_lens;
  std::int64_t heads = 32;
  std::int64_t head_dim = 128;

  std::int64_t batch() const { return static_cast<std::int64_t>(seq_lens.size()); }
  std::int64_t total_tokens() const;
  // First token of each request in k/v (batch + 1 entries: an indptr).
  std::vector<std::int64_t> token_offsets() const;
  // Throws naming the bad value (no requests, a length < 1, sizes past the 32-bit offsets
  // the descriptors carry).
  void validate() const;
};

struct DecodeInputs {
  std::vector<f16_t> q, k, v;
  // Throws naming the vector whose size is neither the shape's (q: batch x heads x head_dim;
  // k, v: total tokens x heads x head_dim) nor 0 (an empty vector stands for zeros).
  void check(const DecodeShape& shape) const;
};

// Uniform random values (q in [-2, 2], k and v in [-1, 1]), reproducible from `seed`
// whatever the thread count.
DecodeInputs random_inputs(const DecodeShape& shape, std::uint64_t seed);

// The same KV cache in a page pool: page p holds tokens [p * page_size, (p+1) * page_size)
// of the pool's rows, [pages * page_size, heads, head_dim] f16 (FlashInfer's paged NHD
// layout, pages flattened into rows). Request r owns block_table[page_offsets[r] ..
// page_offsets[r+1]) in token order; its last page may be partly filled. Pages are placed
// in a random order (from `seed`) so the block table is a real indirection.
struct PagedKv {
  std::int64_t page_size = 0;
  std::int64_t pages = 0;
  std::vector<f16_t> k_pool, v_pool;
  std::vector<std::int32_t> block_table;
  std::vector<std::int64_t> page_offsets;
};
PagedKv make_paged(const DecodeShape& shape, const DecodeInputs& inputs, std::int64_t page_size, std::uint64_t seed);

// Runs body(i) for i in [0, n) on the machine's hardware threads (host-side set-up and the
// reference check; not the Program's executor).
void parallel_range(std::int64_t n, const std::function<void(std::int64_t)>& body);

}  // namespace flashinfer
