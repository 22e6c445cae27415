#include "examples/flashinfer_decode/copy_limit.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/error.hpp"
#include "examples/flashinfer_decode/problem.hpp"
#include "runtime/build_config.hpp"
#if PTO_HAVE_CUDA
#include "runtime/cuda/device.hpp"
#endif

namespace flashinfer {

double median(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

double host_copy_gb_per_s(std::int64_t bytes, int repeats) {
  constexpr std::int64_t block = 1 << 22;
  std::vector<char> from(static_cast<std::size_t>(bytes)), to(static_cast<std::size_t>(bytes));
  const std::int64_t blocks = (bytes + block - 1) / block;
  // First touch on the threads that copy (pages land near them), with non-zero data.
  parallel_range(blocks, [&](std::int64_t b) {
    const std::int64_t begin = b * block, size = std::min(block, bytes - begin);
    std::memset(from.data() + begin, static_cast<int>(b % 251) + 1, static_cast<std::size_t>(size));
    std::memset(to.data() + begin, 0, static_cast<std::size_t>(size));
  });
  std::vector<double> samples;
  for (int i = 0; i <= repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    parallel_range(blocks, [&](std::int64_t b) {
      const std::int64_t begin = b * block, size = std::min(block, bytes - begin);
      std::memcpy(to.data() + begin, from.data() + begin, static_cast<std::size_t>(size));
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (i > 0) samples.push_back(2.0 * static_cast<double>(bytes) / seconds / 1e9);
  }
  return median(samples);
}

double device_copy_gb_per_s(std::int64_t bytes, int repeats) {
#if PTO_HAVE_CUDA
  const std::shared_ptr<pto::cuda::Device> device = pto::cuda::Device::get();
  const pto::cuda::Stream stream(device);
  pto::cuda::DeviceBuffer from(device, static_cast<std::size_t>(bytes)), to(device, static_cast<std::size_t>(bytes));
  from.fill_zero(stream);
  std::vector<double> samples;
  for (int i = 0; i <= repeats; ++i) {
    pto::cuda::Event start(device), stop(device);
    start.record(stream);
    pto::cuda::copy_device(to, from, static_cast<std::size_t>(bytes), stream);
    stop.record(stream);
    stop.synchronize();
    if (i > 0) samples.push_back(2.0 * static_cast<double>(bytes) / (stop.elapsed_since(start) * 1e6));
  }
  return median(samples);
#else
  (void)bytes;
  (void)repeats;
  throw pto::Error("this build has no CUDA support (configured with PTO_WITH_CUDA=OFF or without a CUDA toolkit)");
#endif
}

}  // namespace flashinfer
