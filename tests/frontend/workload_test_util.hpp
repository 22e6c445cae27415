// Helpers shared by the workload tests of every target (tests/frontend, tests/gpu/frontend).
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"

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

}  // namespace pto::test
