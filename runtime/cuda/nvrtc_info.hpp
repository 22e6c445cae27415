// What the linked NVRTC can do, and which GPU architecture PTO-RT compiles kernels for.
#pragma once

#include <string>
#include <vector>

#include "runtime/cuda/device_probe.hpp"

namespace pto::cuda {

struct NvrtcInfo {
  int major = 0;
  int minor = 0;
  std::vector<int> supported_archs;  // e.g. {75, 80, 86, 87, 89, 90, ...}
};

// Queries the linked NVRTC. Throws pto::Error with NVRTC's message if it fails.
NvrtcInfo query_nvrtc();

// The arch kernels are compiled for. With a device: the device's own (sm_90 on an H100);
// without one: sm_90, so that machines without a GPU (CI) still compile every kernel.
struct TargetArch {
  int arch = 90;
  bool supported = true;  // false: NVRTC cannot target this device; `reason` says what to do
  std::string reason;     // why this arch was chosen
};

inline constexpr int default_arch_without_device = 90;

TargetArch choose_target_arch(const std::vector<DeviceInfo>& devices, const std::vector<int>& supported_archs);

}  // namespace pto::cuda
