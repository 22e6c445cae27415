#include "runtime/cuda/device_probe.hpp"

#include <fmt/format.h>

#include <array>

#include "runtime/cuda/driver.hpp"

namespace pto::cuda {

namespace {

DeviceInfo query_device(const Driver& driver, int ordinal) {
  const DriverApi& api = driver.api();
  CUdevice device = 0;
  driver.check(api.cuDeviceGet(&device, ordinal), "cuDeviceGet");

  DeviceInfo info;
  info.ordinal = ordinal;
  std::array<char, 256> name{};
  driver.check(api.cuDeviceGetName(name.data(), static_cast<int>(name.size()), device), "cuDeviceGetName");
  info.name = name.data();
  std::size_t memory = 0;
  driver.check(api.cuDeviceTotalMem(&memory, device), "cuDeviceTotalMem");
  info.memory_bytes = memory;

  auto attribute = [&](CUdevice_attribute which, const char* what) {
    int value = 0;
    driver.check(api.cuDeviceGetAttribute(&value, which, device), what);
    return value;
  };
  info.compute_major = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, "cuDeviceGetAttribute(compute major)");
  info.compute_minor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, "cuDeviceGetAttribute(compute minor)");
  info.multiprocessors = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "cuDeviceGetAttribute(SM count)");
  info.l2_cache_bytes = attribute(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, "cuDeviceGetAttribute(L2 size)");
  info.shared_memory_per_block_optin =
      attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, "cuDeviceGetAttribute(shared memory)");
  info.clock_khz = attribute(CU_DEVICE_ATTRIBUTE_CLOCK_RATE, "cuDeviceGetAttribute(clock)");
  info.memory_bus_bits = attribute(CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, "cuDeviceGetAttribute(bus width)");
  return info;
}

}  // namespace

CudaProbe probe_cuda() {
  return probe_cuda(Driver::default_library());
}

CudaProbe probe_cuda(const std::string& library) {
  CudaProbe probe;
  probe.library = library;
  std::shared_ptr<const Driver> driver;
  try {
    driver = library == Driver::default_library() ? Driver::system() : Driver::open(library);
  } catch (const DriverUnavailable& error) {
    probe.status = CudaStatus::no_driver;
    probe.reason = error.what();
    return probe;
  }

  const DriverApi& api = driver->api();
  try {
    driver->check(api.cuDriverGetVersion(&probe.driver_version), "cuDriverGetVersion");
    const CUresult init = api.cuInit(0);
    if (init == CUDA_ERROR_NO_DEVICE) {
      probe.status = CudaStatus::no_device;
      probe.reason = fmt::format("no device: CUDA driver {} ({}) is installed but cuInit reports {}",
                                 version_text(probe.driver_version), library, driver->describe(init));
      return probe;
    }
    driver->check(init, "cuInit");
    int count = 0;
    driver->check(api.cuDeviceGetCount(&count), "cuDeviceGetCount");
    if (count == 0) {
      probe.status = CudaStatus::no_device;
      probe.reason = fmt::format("no device: CUDA driver {} ({}) is installed but reports 0 devices",
                                 version_text(probe.driver_version), library);
      return probe;
    }
    for (int ordinal = 0; ordinal < count; ++ordinal) probe.devices.push_back(query_device(*driver, ordinal));
    probe.status = CudaStatus::devices_found;
  } catch (const Error& error) {
    probe.status = CudaStatus::driver_error;
    probe.devices.clear();
    probe.reason =
        fmt::format("CUDA driver {} ({}) failed: {}", version_text(probe.driver_version), library, error.what());
  }
  return probe;
}

std::string version_text(int cuda_version) {
  return fmt::format("{}.{}", cuda_version / 1000, (cuda_version % 1000) / 10);
}

const char* to_string(CudaStatus status) noexcept {
  switch (status) {
    case CudaStatus::devices_found: return "devices_found";
    case CudaStatus::no_driver: return "no_driver";
    case CudaStatus::no_device: return "no_device";
    case CudaStatus::driver_error: return "driver_error";
  }
  return "unknown";
}

}  // namespace pto::cuda
