#include "runtime/cuda/nvrtc_info.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using pto::cuda::choose_target_arch;
using pto::cuda::DeviceInfo;

TEST_CASE("the linked NVRTC answers with its version and can target sm_90") {
  const auto nvrtc = pto::cuda::query_nvrtc();
  CHECK(nvrtc.major >= 12);
  REQUIRE_FALSE(nvrtc.supported_archs.empty());
  CHECK(std::find(nvrtc.supported_archs.begin(), nvrtc.supported_archs.end(), 90) != nvrtc.supported_archs.end());
  CHECK(std::is_sorted(nvrtc.supported_archs.begin(), nvrtc.supported_archs.end()));
}

TEST_CASE("without a device, kernels target sm_90 so CI still compiles every kernel") {
  const auto target = choose_target_arch({}, {75, 80, 90, 100});
  CHECK(target.arch == 90);
  CHECK(target.supported);
  CHECK(target.reason == "default: no device");
}

TEST_CASE("with devices, kernels target the first device's arch") {
  DeviceInfo ada;
  ada.name = "L4";
  ada.compute_major = 8;
  ada.compute_minor = 9;
  DeviceInfo hopper;
  hopper.ordinal = 1;
  hopper.compute_major = 9;
  const auto target = choose_target_arch({ada, hopper}, {75, 80, 89, 90});
  CHECK(target.arch == 89);
  CHECK(target.supported);
  CHECK(target.reason == "device 0: L4");
}

TEST_CASE("a device this NVRTC cannot compile for is flagged with what to do") {
  DeviceInfo future;
  future.name = "Future GPU";
  future.compute_major = 15;
  const auto target = choose_target_arch({future}, {75, 80, 90});
  CHECK(target.arch == 150);
  CHECK_FALSE(target.supported);
  CHECK(target.reason.find("cannot compile for sm_150") != std::string::npos);
  CHECK(target.reason.find("install a CUDA toolkit") != std::string::npos);
}
