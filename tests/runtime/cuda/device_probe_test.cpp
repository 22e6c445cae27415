#include "runtime/cuda/device_probe.hpp"

#include <doctest/doctest.h>

#include <string>

using pto::cuda::CudaStatus;
using pto::cuda::probe_cuda;

TEST_CASE("probe: no driver library gives status no_driver and the reason, without throwing") {
  const auto probe = probe_cuda("/nonexistent/libcuda.so.1");
  CHECK(probe.status == CudaStatus::no_driver);
  CHECK(probe.reason.find("no CUDA driver") == 0);
  CHECK(probe.driver_version == 0);
  CHECK(probe.devices.empty());
}

TEST_CASE("probe: cuInit reporting CUDA_ERROR_NO_DEVICE gives status no_device") {
  const auto probe = probe_cuda(FAKE_CUDA_NO_DEVICE);
  CHECK(probe.status == CudaStatus::no_device);
  CHECK(probe.driver_version == 13000);
  CHECK(probe.reason.find("no device: CUDA driver 13.0") == 0);
  CHECK(probe.reason.find("CUDA_ERROR_NO_DEVICE") != std::string::npos);
  CHECK(probe.devices.empty());
}

TEST_CASE("probe: a driver that counts zero devices gives status no_device") {
  const auto probe = probe_cuda(FAKE_CUDA_ZERO_DEVICES);
  CHECK(probe.status == CudaStatus::no_device);
  CHECK(probe.reason.find("reports 0 devices") != std::string::npos);
}

TEST_CASE("probe: a failing cuInit gives status driver_error naming the CUresult") {
  const auto probe = probe_cuda(FAKE_CUDA_INIT_FAILS);
  CHECK(probe.status == CudaStatus::driver_error);
  CHECK(probe.reason.find("cuInit failed: CUDA_ERROR_SYSTEM_DRIVER_MISMATCH") != std::string::npos);
  CHECK(probe.devices.empty());
}

TEST_CASE("probe: every attribute of a found device is read") {
  const auto probe = probe_cuda(FAKE_CUDA_ONE_DEVICE);
  REQUIRE(probe.status == CudaStatus::devices_found);
  CHECK(probe.reason.empty());
  REQUIRE(probe.devices.size() == 1);
  const auto& device = probe.devices[0];
  CHECK(device.ordinal == 0);
  CHECK(device.name == "PTO Fake H100");
  CHECK(device.arch() == 90);
  CHECK(device.multiprocessors == 132);
  CHECK(device.memory_bytes == 85520809984ull);
  CHECK(device.l2_cache_bytes == 50 << 20);
  CHECK(device.shared_memory_per_block_optin == 227 << 10);
  CHECK(device.clock_khz == 1980000);
  CHECK(device.memory_bus_bits == 5120);
}

TEST_CASE("probe status names are stable (they appear in pto info --json)") {
  CHECK(std::string(pto::cuda::to_string(CudaStatus::devices_found)) == "devices_found");
  CHECK(std::string(pto::cuda::to_string(CudaStatus::no_driver)) == "no_driver");
  CHECK(std::string(pto::cuda::to_string(CudaStatus::no_device)) == "no_device");
  CHECK(std::string(pto::cuda::to_string(CudaStatus::driver_error)) == "driver_error");
}
