// Finds the CUDA devices of this machine, or the reason there are none.
//
// The probe never throws for an absent or broken driver: "no CUDA driver" and "no device"
// are ordinary answers on most machines, reported with the reason so `pto info` and the
// GPU tests can print it in one line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pto::cuda {

struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  int multiprocessors = 0;
  std::uint64_t memory_bytes = 0;
  int l2_cache_bytes = 0;
  int shared_memory_per_block_optin = 0;  // the most a CTA may get after opting in
  int clock_khz = 0;
  int memory_bus_bits = 0;

  int arch() const noexcept { return compute_major * 10 + compute_minor; }  // 90 for sm_90
};

enum class CudaStatus {
  devices_found,  // at least one device in `devices`
  no_driver,      // the driver library could not be loaded, or is not a CUDA driver
  no_device,      // the driver loaded but reports no device
  driver_error,   // the driver loaded but failed (e.g. too old for the GPU, broken install)
};

struct CudaProbe {
  CudaStatus status = CudaStatus::no_driver;
  std::string reason;      // why there is no device; empty when devices were found
  std::string library;     // the driver library that was tried
  int driver_version = 0;  // e.g. 13000 for CUDA 13.0; 0 when no driver was loaded
  std::vector<DeviceInfo> devices;
};

// Loads the driver from `library` (default: Driver::default_library()) and lists its devices.
CudaProbe probe_cuda(const std::string& library);
CudaProbe probe_cuda();

const char* to_string(CudaStatus status) noexcept;

// A driver API version as text: 13000 -> "13.0".
std::string version_text(int cuda_version);

}  // namespace pto::cuda
