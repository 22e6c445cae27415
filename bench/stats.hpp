// The statistics every benchmark reports over repeated samples: one definition, so that
// "median" means the same thing in every table (the upper median of an even count, a value
// that was measured).
#pragma once

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace pto::bench {

struct Summary {
  double min = 0.0;
  double median = 0.0;
  double max = 0.0;
};

inline Summary summarize(std::vector<double> samples) {
  if (samples.empty()) throw std::invalid_argument("bench::summarize: no samples");
  std::sort(samples.begin(), samples.end());
  return {samples.front(), samples[samples.size() / 2], samples.back()};
}

inline double median(std::vector<double> samples) {
  return summarize(std::move(samples)).median;
}

}  // namespace pto::bench
