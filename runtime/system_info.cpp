#include "runtime/system_info.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"
#include "runtime/build_config.hpp"

#if PTO_HAVE_LLVM
#include "runtime/cpu/llvm_info.hpp"
#endif
#if PTO_HAVE_CUDA
#include "runtime/cuda/device_probe.hpp"
#include "runtime/cuda/driver.hpp"
#include "runtime/cuda/nvrtc_info.hpp"
#endif

namespace pto {

namespace {

SystemInfo::Build build_options() {
  SystemInfo::Build build;
  build.version = std::string(build::version);
  build.compiler = std::string(build::compiler);
  build.build_type = std::string(build::build_type);
  build.sanitizers = build::sanitizers.empty() ? "none" : std::string(build::sanitizers);
  build.llvm = PTO_HAVE_LLVM;
  build.cuda = PTO_HAVE_CUDA;
  return build;
}

#if PTO_HAVE_LLVM
SystemInfo::Llvm llvm_report() {
  const cpu::LlvmInfo llvm = cpu::query_llvm();
  return {llvm.version, llvm.host_triple, llvm.host_cpu, llvm.native_target_ready, llvm.native_target_error};
}
#endif

#if PTO_HAVE_CUDA
void add_cuda_report(SystemInfo& info, const std::string& library) {
  const cuda::CudaProbe probe = cuda::probe_cuda(library);
  info.cuda_status = cuda::to_string(probe.status);
  info.cuda_reason = probe.reason;
  info.cuda_driver_library = probe.library;
  if (probe.driver_version > 0) {
    info.cuda_driver_version = cuda::version_text(probe.driver_version);
  }
  for (const cuda::DeviceInfo& device : probe.devices) {
    info.devices.push_back({device.ordinal, device.name, device.arch(), device.multiprocessors, device.memory_bytes,
                            device.l2_cache_bytes, device.shared_memory_per_block_optin, device.clock_khz / 1000,
                            device.memory_bus_bits});
  }
  try {
    const cuda::NvrtcInfo nvrtc = cuda::query_nvrtc();
    const cuda::TargetArch target = cuda::choose_target_arch(probe.devices, nvrtc.supported_archs);
    info.nvrtc = SystemInfo::Nvrtc{fmt::format("{}.{}", nvrtc.major, nvrtc.minor), nvrtc.supported_archs, target.arch,
                                   target.supported, target.reason};
  } catch (const Error& error) {
    info.nvrtc_error = error.what();
  }
}
#endif

std::string gib(std::uint64_t bytes) {
  return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1ull << 30));
}

}  // namespace

SystemInfo collect_system_info() {
#if PTO_HAVE_CUDA
  return collect_system_info(cuda::Driver::default_library());
#else
  return collect_system_info("");
#endif
}

SystemInfo collect_system_info([[maybe_unused]] const std::string& cuda_driver_library) {
  SystemInfo info;
  info.build = build_options();
#if PTO_HAVE_LLVM
  info.llvm = llvm_report();
#endif
#if PTO_HAVE_CUDA
  add_cuda_report(info, cuda_driver_library);
#else
  info.cuda_status = "not_built";
  info.cuda_reason =
      "this build has no CUDA backend (configured with PTO_WITH_CUDA=" + std::string(build::cuda_requested) +
      ", or no CUDA toolkit was found)";
#endif
  return info;
}

std::string format_system_info(const SystemInfo& info) {
  std::string out;
  auto line = [&out](std::string_view label, const std::string& value) {
    out += fmt::format("  {:<16}{}\n", label, value);
  };

  out += fmt::format("PTO-RT {}\n\nBuild\n", info.build.version);
  line("compiler", fmt::format("{}, C++20, {}", info.build.compiler, info.build.build_type));
  line("sanitizers", info.build.sanitizers);
  line("LLVM backend", info.build.llvm ? "on" : "off (the CPU target runs the reference interpreter)");
  line("CUDA backend", info.build.cuda ? "on (NVRTC linked, libcuda.so.1 loaded at run time)" : "off");

  out += "\nLLVM\n";
  if (info.llvm) {
    line("version", info.llvm->version);
    line("host", fmt::format("{}, cpu {}", info.llvm->host_triple, info.llvm->host_cpu));
    line("native target", info.llvm->native_target_ready ? "ready" : info.llvm->native_target_error);
  } else {
    line("version", "not built in");
  }

  out += "\nNVRTC\n";
  if (info.nvrtc) {
    line("version", info.nvrtc->version);
    line("target arch", fmt::format("sm_{} ({})", info.nvrtc->target_arch, info.nvrtc->target_reason));
    line("supported", fmt::format("sm_{}", fmt::join(info.nvrtc->supported_archs, " sm_")));
  } else if (!info.nvrtc_error.empty()) {
    line("error", info.nvrtc_error);
  } else {
    line("version", "not built in");
  }

  out += "\nCUDA devices\n";
  if (!info.cuda_driver_version.empty()) {
    line("driver", fmt::format("{} ({})", info.cuda_driver_version, info.cuda_driver_library));
  }
  if (info.devices.empty()) {
    line("none", info.cuda_reason);
  }
  for (const SystemInfo::Device& device : info.devices) {
    out += fmt::format("  [{}] {}: sm_{}, {} SMs, {} memory, {} MiB L2, {} KiB shared/CTA, {} MHz, {}-bit bus\n",
                       device.ordinal, device.name, device.arch, device.multiprocessors, gib(device.memory_bytes),
                       device.l2_cache_bytes >> 20, device.shared_memory_per_block_optin >> 10, device.clock_mhz,
                       device.memory_bus_bits);
  }
  return out;
}

nlohmann::json to_json(const SystemInfo& info) {
  nlohmann::json out;
  out["version"] = info.build.version;
  out["build"] = {{"compiler", info.build.compiler},
                  {"build_type", info.build.build_type},
                  {"sanitizers", info.build.sanitizers},
                  {"llvm", info.build.llvm},
                  {"cuda", info.build.cuda}};
  if (info.llvm) {
    out["llvm"] = {{"version", info.llvm->version},
                   {"host_triple", info.llvm->host_triple},
                   {"host_cpu", info.llvm->host_cpu},
                   {"native_target_ready", info.llvm->native_target_ready}};
  } else {
    out["llvm"] = nullptr;
  }
  if (info.nvrtc) {
    out["nvrtc"] = {{"version", info.nvrtc->version},
                    {"supported_archs", info.nvrtc->supported_archs},
                    {"target_arch", info.nvrtc->target_arch},
                    {"target_supported", info.nvrtc->target_supported},
                    {"target_reason", info.nvrtc->target_reason}};
  } else {
    out["nvrtc"] = nullptr;
  }
  if (!info.nvrtc_error.empty()) out["nvrtc_error"] = info.nvrtc_error;
  nlohmann::json devices = nlohmann::json::array();
  for (const SystemInfo::Device& device : info.devices) {
    devices.push_back({{"ordinal", device.ordinal},
                       {"name", device.name},
                       {"arch", device.arch},
                       {"multiprocessors", device.multiprocessors},
                       {"memory_bytes", device.memory_bytes},
                       {"l2_cache_bytes", device.l2_cache_bytes},
                       {"shared_memory_per_block_optin", device.shared_memory_per_block_optin},
                       {"clock_mhz", device.clock_mhz},
                       {"memory_bus_bits", device.memory_bus_bits}});
  }
  out["cuda"] = {{"status", info.cuda_status},
                 {"reason", info.cuda_reason},
                 {"driver_library", info.cuda_driver_library},
                 {"driver_version", info.cuda_driver_version},
                 {"devices", devices}};
  return out;
}

}  // namespace pto
