#include "runtime/cuda/driver.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <cstdlib>
#include <mutex>

namespace pto::cuda {

namespace {

template <typename Function>
void resolve(void* handle, const std::string& library, const char* symbol, Function& out) {
  dlerror();  // clear a stale error so the check below is about this lookup only
  void* address = dlsym(handle, symbol);
  if (address == nullptr) {
    throw DriverUnavailable(fmt::format(
        "{} does not export {}: it is not a CUDA driver, or one too old for PTO-RT (need CUDA 12 or newer); "
        "install the NVIDIA driver, or unset PTO_CUDA_DRIVER if it points at the wrong library",
        library, symbol));
  }
  out = reinterpret_cast<Function>(address);
}

}  // namespace

std::shared_ptr<const Driver> Driver::open(const std::string& library) {
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* loader_message = dlerror();
    throw DriverUnavailable(
        fmt::format("no CUDA driver: {} could not be loaded ({}); install the NVIDIA driver to use CUDA targets, "
                    "or set PTO_CUDA_DRIVER to the driver library's path",
                    library, loader_message != nullptr ? loader_message : "unknown dlopen error"));
  }
  DriverApi api;
#define PTO_RESOLVE_DRIVER_FUNCTION(function, symbol) resolve(handle, library, symbol, api.function);
  PTO_CUDA_DRIVER_FUNCTIONS(PTO_RESOLVE_DRIVER_FUNCTION)
#undef PTO_RESOLVE_DRIVER_FUNCTION
  return std::shared_ptr<const Driver>(new Driver(library, api));
}

std::shared_ptr<const Driver> Driver::system() {
  // Loaded once; a failure is remembered too, so every caller gets the same reason.
  static std::once_flag once;
  static std::shared_ptr<const Driver> driver;
  static std::string failure;
  std::call_once(once, [] {
    try {
      driver = open(default_library());
    } catch (const DriverUnavailable& error) {
      failure = error.what();
    }
  });
  if (!driver) throw DriverUnavailable(failure);
  return driver;
}

std::string Driver::default_library() {
  const char* configured = std::getenv("PTO_CUDA_DRIVER");
  if (configured != nullptr && *configured != '\0') return configured;
  return "libcuda.so.1";
}

std::string Driver::describe(CUresult result) const {
  const char* name = nullptr;
  const char* text = nullptr;
  if (api_.cuGetErrorName(result, &name) != CUDA_SUCCESS || name == nullptr) {
    return fmt::format("CUresult {} (unknown to this driver)", static_cast<int>(result));
  }
  if (api_.cuGetErrorString(result, &text) != CUDA_SUCCESS || text == nullptr) return name;
  return fmt::format("{} ({})", name, text);
}

void Driver::check(CUresult result, const char* call) const {
  if (result != CUDA_SUCCESS) throw Error(fmt::format("{} failed: {}", call, describe(result)));
}

}  // namespace pto::cuda
