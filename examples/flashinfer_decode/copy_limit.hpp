// The limit each run's bandwidth is compared with, measured in the same run: a copy of the
// KV cache's size (bytes read + written), device to device on the GPU, and on the CPU a
// STREAM-style copy on all hardware threads. Medians of `repeats` after one warm-up.
#pragma once

#include <cstdint>
#include <vector>

namespace flashinfer {

// The median of timed samples (the figure every measurement here reports).
double median(std::vector<double> samples);

double host_copy_gb_per_s(std::int64_t bytes, int repeats);
// Throws pto::Error without a CUDA device (or in a build without CUDA).
double device_copy_gb_per_s(std::int64_t bytes, int repeats);

}  // namespace flashinfer
