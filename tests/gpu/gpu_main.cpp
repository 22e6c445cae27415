// The doctest runner for GPU tests: without a CUDA device every test exits with 77, which
// ctest reports as "Skipped", after printing the one-line reason (e.g. "no CUDA driver").
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string_view>

#include "runtime/cuda/device_probe.hpp"

namespace {

constexpr int skip_exit_code = 77;

bool is_listing_request(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--list") || arg.starts_with("-l") || arg.starts_with("--help") || arg == "-h") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (!is_listing_request(argc, argv)) {
    const auto probe = pto::cuda::probe_cuda();
    if (probe.status != pto::cuda::CudaStatus::devices_found) {
      fmt::print("skipped: GPU tests need a CUDA device: {}\n", probe.reason);
      return skip_exit_code;
    }
  }
  doctest::Context context(argc, argv);
  return context.run();
}
