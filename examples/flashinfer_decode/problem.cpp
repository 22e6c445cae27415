#include "examples/flashinfer_decode/problem.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <limits>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>

#include "core/error.hpp"

namespace flashinfer {

using pto::Error;

std::int64_t DecodeShape::total_tokens() const {
  std::int64_t total = 0;
  for (const std::int64_t length : seq_lens) {
    if (__builtin_add_overflow(total, length, &total)) {
      throw Error(fmt::format("the sequence lengths add up to more than {} KV tokens",
                              std::numeric_limits<std::int64_t>::max()));
    }
  }
  return total;
}

std::vector<std::int64_t> DecodeShape::token_offsets() const {
  std::vector<std::int64_t> out(seq_lens.size() + 1, 0);
  for (std::size_t r = 0; r < seq_lens.size(); ++r) out[r + 1] = out[r] + seq_lens[r];
  return out;
}

void DecodeShape::validate() const {
  if (seq_lens.empty()) throw Error("no sequence lengths: give --seq-lens with at least one request");
  constexpr auto limit = std::numeric_limits<std::int32_t>::max();
  for (std::size_t r = 0; r < seq_lens.size(); ++r) {
    if (seq_lens[r] < 1) {
      throw Error(
          fmt::format("request {} has sequence length {}: every request needs at least one KV token", r, seq_lens[r]));
    }
    if (seq_lens[r] > limit) {
      throw Error(fmt::format("request {} has sequence length {}: at most {} KV tokens (32-bit descriptor offsets)", r,
                              seq_lens[r], limit));
    }
  }
  if (heads < 1) throw Error(fmt::format("--heads is {}; give at least 1", heads));
  if (head_dim < 8 || head_dim > 256 || head_dim % 8 != 0) {
    throw Error(fmt::format("--head-dim is {}; give a multiple of 8 in [8, 256]", head_dim));
  }
  if (total_tokens() > limit / heads) {
    throw Error(
        fmt::format("{} KV tokens x {} heads exceed the 32-bit offsets of the work descriptors; use fewer "
                    "tokens",
                    total_tokens(), heads));
  }
}

void parallel_range(std::int64_t n, const std::function<void(std::int64_t)>& body) {
  const auto threads =
      static_cast<std::int64_t>(std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), 64u)));
  std::atomic<std::int64_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  std::vector<std::thread> pool;
  for (std::int64_t t = 0; t < std::min(threads, n); ++t) {
    pool.emplace_back([&] {
      try {
        for (std::int64_t i = next++; i < n; i = next++) body(i);
      } catch (...) {
        const std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = n;
      }
    });
  }
  for (std::thread& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
}

namespace {

// Fills `out` with uniform values in [low, high], in blocks each seeded from (seed, stream,
// block) so the result does not depend on the thread count.
void fill_uniform(std::vector<f16_t>& out, float low, float high, std::uint64_t seed, std::uint64_t stream) {
  constexpr std::int64_t block = 1 << 16;
  const auto n = static_cast<std::int64_t>(out.size());
  parallel_range((n + block - 1) / block, [&](std::int64_t b) {
    std::seed_seq seq{seed, stream, static_cast<std::uint64_t>(b)};
    std::mt19937 rng(seq);
    std::uniform_real_distribution<float> uniform(low, high);
    for (std::int64_t i = b * block; i < std::min(n, (b + 1) * block); ++i)
      out[static_cast<std::size_t>(i)] = f16_t(uniform(rng));
  });
}

}  // namespace

DecodeInputs random_inputs(const DecodeShape& shape, std::uint64_t seed) {
  DecodeInputs in;
  const auto kv = static_cast<std::size_t>(shape.total_tokens() * shape.heads * shape.head_dim);
  in.q.resize(static_cast<std::size_t>(shape.batch() * shape.heads * shape.head_dim));
  in.k.resize(kv);
  in.v.resize(kv);
  fill_uniform(in.q, -2.0f, 2.0f, seed, 0);
  fill_uniform(in.k, -1.0f, 1.0f, seed, 1);
  fill_uniform(in.v, -1.0f, 1.0f, seed, 2);
  return in;
}

void DecodeInputs::check(const DecodeShape& shape) const {
  const std::int64_t row = shape.heads * shape.head_dim;  // validate() bounds the products
  const auto check_one = [](const char* name, std::size_t have, std::int64_t want) {
    if (have != 0 && have != static_cast<std::size_t>(want)) {
      throw Error(
          fmt::format("decode inputs: {} holds {} values; the shape needs {} (or none, for zeros)", name, have, want));
    }
  };
  check_one("q", q.size(), shape.batch() * row);
  check_one("k", k.size(), shape.total_tokens() * row);
  check_one("v", v.size(), shape.total_tokens() * row);
}

PagedKv make_paged(const DecodeShape& shape, const DecodeInputs& inputs, std::int64_t page_size, std::uint64_t seed) {
  if (page_size < 1) throw Error(fmt::format("--page-size is {}; give at least 1", page_size));
  inputs.check(shape);
  PagedKv paged;
  paged.page_size = page_size;
  paged.page_offsets.assign(shape.seq_lens.size() + 1, 0);
  for (std::size_t r = 0; r < shape.seq_lens.size(); ++r)
    paged.page_offsets[r + 1] = paged.page_offsets[r] + (shape.seq_lens[r] + page_size - 1) / page_size;
  paged.pages = paged.page_offsets.back();
  paged.block_table.resize(static_cast<std::size_t>(paged.pages));
  std::iota(paged.block_table.begin(), paged.block_table.end(), 0);
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ull);
  std::shuffle(paged.block_table.begin(), paged.block_table.end(), rng);

  const std::int64_t row = shape.heads * shape.head_dim;  // elements per token
  const auto pool = static_cast<std::size_t>(paged.pages * page_size * row);
  paged.k_pool.assign(pool, f16_t(0.0f));
  paged.v_pool.assign(pool, f16_t(0.0f));
  const std::vector<std::int64_t> offsets = shape.token_offsets();
  parallel_range(shape.batch(), [&](std::int64_t r) {
    const auto ur = static_cast<std::size_t>(r);
    for (std::int64_t t = 0; t < shape.seq_lens[ur]; ++t) {
      const std::int64_t page = paged.block_table[static_cast<std::size_t>(paged.page_offsets[ur] + t / page_size)];
      const auto to = static_cast<std::ptrdiff_t>((page * page_size + t % page_size) * row);
      const auto from = static_cast<std::ptrdiff_t>((offsets[ur] + t) * row);
      // An empty input stands for zeros: its pool stays zero-filled.
      if (!inputs.k.empty()) std::copy_n(inputs.k.begin() + from, row, paged.k_pool.begin() + to);
      if (!inputs.v.empty()) std::copy_n(inputs.v.begin() + from, row, paged.v_pool.begin() + to);
    }
  });
  return paged;
}

}  // namespace flashinfer
