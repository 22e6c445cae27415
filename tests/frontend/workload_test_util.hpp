// Helpers shared by the workload tests of every target (tests/frontend, tests/gpu/frontend).
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "dsl/builder.hpp"

namespace pto::test {

// n uniform values in [-limit, limit), reproducible from `seed`.
inline std::vector<float> random_values(std::size_t n, std::uint32_t seed, float limit) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-limit, limit);
  std::vector<float> out(n);
  for (float& v : out) v = dist(rng);
  return out;
}

// The message of the pto::Error `fn` throws, or "(no error)".
inline std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

// Column sums of `len` rows of a [?, width] f32 global: one tier per block height in
// `blocks`, rows past len masked (parameters x, len, y).
inline tl::Family colsum_family(std::int64_t width, std::vector<std::int64_t> blocks = {4, 8}) {
  return tl::family("colsum", std::move(blocks), [width](tl::Builder& k, std::int64_t block) {
    auto x = k.in(tl::global(tl::f32, {tl::dyn, width}), "x");
    auto len = k.scalar(tl::i32, "len");
    tl::store(k.out(tl::tile(1, width, tl::f32), "y"), tl::colsum(tl::load(x, 0, 0, block, width, len, width)));
  });
}

// y = x * alpha over one [1, width] f32 row (parameters x, y, alpha).
inline tl::KernelInstance scale_kernel(std::int64_t width) {
  return tl::kernel("scale", [width](tl::Builder& k) {
    auto x = k.in(tl::tile(1, width, tl::f32), "x");
    auto y = k.out(tl::tile(1, width, tl::f32), "y");
    tl::store(y, x * k.scalar(tl::f32, "alpha"));
  });
}

// Column sums of 8 masked rows of x with `len` valid (parameters x, len, y): a `len` past
// the view's rows is a kernel fault (the masked load leaves the tensor).
inline tl::KernelInstance load_len_kernel(std::int64_t width) {
  return tl::kernel("load_len", [width](tl::Builder& k) {
    auto x = k.in(tl::global(tl::f32, {tl::dyn, width}), "x");
    auto len = k.scalar(tl::i32, "len");
    tl::store(k.out(tl::tile(1, width, tl::f32), "y"), tl::colsum(tl::load(x, 0, 0, 8, width, len, width)));
  });
}

}  // namespace pto::test
