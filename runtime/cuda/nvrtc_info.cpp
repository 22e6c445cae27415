#include "runtime/cuda/nvrtc_info.hpp"

#include <fmt/format.h>
#include <nvrtc.h>

#include <algorithm>

#include "core/error.hpp"

namespace pto::cuda {

namespace {

void check_nvrtc(nvrtcResult result, const char* call) {
  if (result != NVRTC_SUCCESS) throw Error(fmt::format("{} failed: {}", call, nvrtcGetErrorString(result)));
}

}  // namespace

NvrtcInfo query_nvrtc() {
  NvrtcInfo info;
  check_nvrtc(nvrtcVersion(&info.major, &info.minor), "nvrtcVersion");
  int count = 0;
  check_nvrtc(nvrtcGetNumSupportedArchs(&count), "nvrtcGetNumSupportedArchs");
  info.supported_archs.resize(static_cast<std::size_t>(count));
  if (count > 0) check_nvrtc(nvrtcGetSupportedArchs(info.supported_archs.data()), "nvrtcGetSupportedArchs");
  return info;
}

TargetArch choose_target_arch(const std::vector<DeviceInfo>& devices, const std::vector<int>& supported_archs) {
  TargetArch target;
  if (devices.empty()) {
    target.arch = default_arch_without_device;
    target.reason = "default: no device";
  } else {
    const DeviceInfo& device = devices.front();
    target.arch = device.arch();
    target.reason = fmt::format("device {}: {}", device.ordinal, device.name);
  }
  target.supported = std::find(supported_archs.begin(), supported_archs.end(), target.arch) != supported_archs.end();
  if (!target.supported) {
    target.reason +=
        fmt::format("; this NVRTC cannot compile for sm_{}: install a CUDA toolkit that supports it", target.arch);
  }
  return target;
}

}  // namespace pto::cuda
