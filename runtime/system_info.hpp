// Everything `pto info` reports: this build's options, the LLVM and NVRTC it uses, the
// arch kernels are compiled for, and the CUDA devices found (or why none were).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pto {

struct SystemInfo {
  struct Build {
    std::string version, compiler, build_type, sanitizers;
    bool llvm = false;
    bool cuda = false;
  } build;

  struct Llvm {
    std::string version, host_triple, host_cpu;
    bool native_target_ready = false;
    std::string native_target_error;
  };
  std::optional<Llvm> llvm;  // empty when built without LLVM

  struct Nvrtc {
    std::string version;  // "13.0"
    std::vector<int> supported_archs;
    int target_arch = 0;
    bool target_supported = false;
    std::string target_reason;
  };
  std::optional<Nvrtc> nvrtc;  // empty when built without CUDA
  std::string nvrtc_error;     // set when NVRTC is built in but failed to answer

  struct Device {
    int ordinal = 0;
    std::string name;
    int arch = 0;
    int multiprocessors = 0;
    std::uint64_t memory_bytes = 0;
    int l2_cache_bytes = 0;
    int shared_memory_per_block_optin = 0;
    int clock_mhz = 0;
    int memory_bus_bits = 0;
  };
  std::string cuda_status;  // devices_found | no_driver | no_device | driver_error | not_built
  std::string cuda_reason;  // why there is no device, empty otherwise
  std::string cuda_driver_library;
  std::string cuda_driver_version;  // "13.0", empty when no driver loaded
  std::vector<Device> devices;
};

// Gathers the report, loading the CUDA driver from `cuda_driver_library` (default: libcuda.so.1
// or $PTO_CUDA_DRIVER). Never throws for a missing driver or device: that is part of the report.
SystemInfo collect_system_info();
SystemInfo collect_system_info(const std::string& cuda_driver_library);

std::string format_system_info(const SystemInfo& info);
nlohmann::json to_json(const SystemInfo& info);

}  // namespace pto
