// Runs on a machine with a real NVIDIA GPU and driver (the device tool's H100).
#include <doctest/doctest.h>

#include <string>

#include "runtime/cuda/device_probe.hpp"
#include "runtime/cuda/nvrtc_info.hpp"
#include "runtime/system_info.hpp"

TEST_CASE("the real driver lists devices with plausible properties") {
  const auto probe = pto::cuda::probe_cuda();
  REQUIRE(probe.status == pto::cuda::CudaStatus::devices_found);
  CHECK(probe.driver_version >= 12000);
  REQUIRE_FALSE(probe.devices.empty());
  for (const auto& device : probe.devices) {
    INFO("device ", device.ordinal, ": ", device.name);
    CHECK_FALSE(device.name.empty());
    CHECK(device.arch() >= 70);
    CHECK(device.multiprocessors > 0);
    CHECK(device.memory_bytes > (1ull << 30));
    CHECK(device.l2_cache_bytes > 0);
    CHECK(device.shared_memory_per_block_optin >= 48 * 1024);
  }
}

TEST_CASE("NVRTC targets the device's own arch") {
  const auto probe = pto::cuda::probe_cuda();
  const auto nvrtc = pto::cuda::query_nvrtc();
  const auto target = pto::cuda::choose_target_arch(probe.devices, nvrtc.supported_archs);
  CHECK(target.arch == probe.devices.front().arch());
  CHECK(target.supported);
}

TEST_CASE("pto info names every device the driver reports") {
  const pto::SystemInfo info = pto::collect_system_info();
  CHECK(info.cuda_status == "devices_found");
  const std::string text = pto::format_system_info(info);
  for (const auto& device : info.devices) CHECK(text.find(device.name) != std::string::npos);
}
