#include "examples/flashinfer_decode/reference.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>

namespace flashinfer {

namespace {

void compare(double got, double want, double& max_abs, double& max_rel, std::int64_t& failures) {
  const double difference = std::fabs(got - want);
  if (!(difference <= reference_atol + reference_rtol * std::fabs(want))) ++failures;  // NaN fails too
  if (std::isnan(got)) {
    max_abs = max_rel = INFINITY;
    return;
  }
  max_abs = std::max(max_abs, difference);
  if (std::fabs(want) >= reference_atol) max_rel = std::max(max_rel, difference / std::fabs(want));
}

}  // namespace

ReferenceCheck check_against_reference(const DecodeShape& shape, const DecodeInputs& inputs,
                                       const std::vector<float>& o, const std::vector<float>& lse) {
  const std::int64_t heads = shape.heads, d = shape.head_dim;
  const std::vector<std::int64_t> offsets = shape.token_offsets();
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  ReferenceCheck total;
  std::mutex merge;
  parallel_range(shape.batch() * heads, [&](std::int64_t pair) {
    const std::int64_t r = pair / heads, h = pair % heads;
    const std::int64_t length = shape.seq_lens[static_cast<std::size_t>(r)];
    std::vector<double> q(static_cast<std::size_t>(d)), scores(static_cast<std::size_t>(length)),
        out(static_cast<std::size_t>(d), 0.0);
    for (std::int64_t c = 0; c < d; ++c)
      q[static_cast<std::size_t>(c)] = static_cast<float>(inputs.q[static_cast<std::size_t>(pair * d + c)]);
    auto kv_at = [&](std::int64_t t) {
      return static_cast<std::size_t>(((offsets[static_cast<std::size_t>(r)] + t) * heads + h) * d);
    };
    double max_score = -INFINITY;
    for (std::int64_t t = 0; t < length; ++t) {
      double dot = 0.0;
      const std::size_t at = kv_at(t);
      for (std::int64_t c = 0; c < d; ++c)
        dot += q[static_cast<std::size_t>(c)] *
               static_cast<double>(static_cast<float>(inputs.k[at + static_cast<std::size_t>(c)]));
      scores[static_cast<std::size_t>(t)] = dot * scale;
      max_score = std::max(max_score, dot * scale);
    }
    double denominator = 0.0;
    for (std::int64_t t = 0; t < length; ++t) {
      const double p = std::exp(scores[static_cast<std::size_t>(t)] - max_score);
      denominator += p;
      const std::size_t at = kv_at(t);
      for (std::int64_t c = 0; c < d; ++c)
        out[static_cast<std::size_t>(c)] +=
            p * static_cast<double>(static_cast<float>(inputs.v[at + static_cast<std::size_t>(c)]));
    }
    ReferenceCheck local;
    for (std::int64_t c = 0; c < d; ++c) {
      compare(o[static_cast<std::size_t>(pair * d + c)], out[static_cast<std::size_t>(c)] / denominator,
              local.o_max_abs, local.o_max_rel, local.failures);
    }
    compare(lse[static_cast<std::size_t>(pair)], max_score + std::log(denominator), local.lse_max_abs,
            local.lse_max_rel, local.failures);
    const std::lock_guard lock(merge);
    total.o_max_abs = std::max(total.o_max_abs, local.o_max_abs);
    total.o_max_rel = std::max(total.o_max_rel, local.o_max_rel);
    total.lse_max_abs = std::max(total.lse_max_abs, local.lse_max_abs);
    total.lse_max_rel = std::max(total.lse_max_rel, local.lse_max_rel);
    total.failures += local.failures;
    total.checked += d + 1;
  });
  return total;
}

}  // namespace flashinfer
