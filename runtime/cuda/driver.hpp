// The CUDA driver API, loaded from libcuda.so.1 with dlopen at run time.
//
// Why dlopen and not a link: every PTO-RT binary must start on a machine without a GPU
// driver (CI, laptops) and report "no CUDA driver" only when CUDA is asked for. cuda.h is
// used for the API's types and signatures only; no libcuda symbol is ever linked.
//
// The library is `libcuda.so.1`, or the path in $PTO_CUDA_DRIVER (tests point it at fake
// drivers). The handle is never dlclose'd: the driver registers process-exit handlers.
#pragma once

#include <cuda.h>

#include <memory>
#include <string>

#include "core/error.hpp"

namespace pto::cuda {

// Every driver entry point PTO-RT uses, listed once: (member, exported symbol).
// Versioned symbols are named explicitly (cuda.h maps e.g. cuDeviceTotalMem to _v2).
#define PTO_CUDA_DRIVER_FUNCTIONS(X)                                                            \
  X(cuGetErrorName, "cuGetErrorName")                                                           \
  X(cuGetErrorString, "cuGetErrorString")                                                       \
  X(cuInit, "cuInit")                                                                           \
  X(cuDriverGetVersion, "cuDriverGetVersion")                                                   \
  X(cuDeviceGetCount, "cuDeviceGetCount")                                                       \
  X(cuDeviceGet, "cuDeviceGet")                                                                 \
  X(cuDeviceGetName, "cuDeviceGetName")                                                         \
  X(cuDeviceTotalMem, "cuDeviceTotalMem_v2")                                                    \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute")                                               \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain")                                       \
  X(cuCtxSetCurrent, "cuCtxSetCurrent")                                                         \
  X(cuCtxSynchronize, "cuCtxSynchronize")                                                       \
  X(cuMemGetInfo, "cuMemGetInfo_v2")                                                            \
  X(cuMemAlloc, "cuMemAlloc_v2")                                                                \
  X(cuMemFree, "cuMemFree_v2")                                                                  \
  X(cuMemAllocHost, "cuMemAllocHost_v2")                                                        \
  X(cuMemFreeHost, "cuMemFreeHost")                                                             \
  X(cuMemHostGetDevicePointer, "cuMemHostGetDevicePointer_v2")                                  \
  X(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2")                                                  \
  X(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2")                                                  \
  X(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2")                                                  \
  X(cuMemsetD8Async, "cuMemsetD8Async")                                                         \
  X(cuStreamCreate, "cuStreamCreate")                                                           \
  X(cuStreamDestroy, "cuStreamDestroy_v2")                                                      \
  X(cuStreamSynchronize, "cuStreamSynchronize")                                                 \
  X(cuStreamWaitEvent, "cuStreamWaitEvent")                                                     \
  X(cuEventCreate, "cuEventCreate")                                                             \
  X(cuEventDestroy, "cuEventDestroy_v2")                                                        \
  X(cuEventRecord, "cuEventRecord")                                                             \
  X(cuEventRecordWithFlags, "cuEventRecordWithFlags")                                           \
  X(cuEventSynchronize, "cuEventSynchronize")                                                   \
  X(cuEventElapsedTime, "cuEventElapsedTime_v2")                                                \
  X(cuModuleLoadData, "cuModuleLoadData")                                                       \
  X(cuModuleUnload, "cuModuleUnload")                                                           \
  X(cuModuleGetFunction, "cuModuleGetFunction")                                                 \
  X(cuFuncSetAttribute, "cuFuncSetAttribute")                                                   \
  X(cuOccupancyMaxActiveBlocksPerMultiprocessor, "cuOccupancyMaxActiveBlocksPerMultiprocessor") \
  X(cuLaunchKernel, "cuLaunchKernel")                                                           \
  X(cuStreamBeginCapture, "cuStreamBeginCapture_v2")                                            \
  X(cuStreamEndCapture, "cuStreamEndCapture")                                                   \
  X(cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags")                                 \
  X(cuGraphExecUpdate, "cuGraphExecUpdate_v2")                                                  \
  X(cuGraphLaunch, "cuGraphLaunch")                                                             \
  X(cuGraphDestroy, "cuGraphDestroy")                                                           \
  X(cuGraphExecDestroy, "cuGraphExecDestroy")

struct DriverApi {
#define PTO_DECLARE_DRIVER_FUNCTION(function, symbol) decltype(&::function) function = nullptr;
  PTO_CUDA_DRIVER_FUNCTIONS(PTO_DECLARE_DRIVER_FUNCTION)
#undef PTO_DECLARE_DRIVER_FUNCTION
};

// Thrown when the driver library cannot be loaded or is not a usable CUDA driver.
class DriverUnavailable : public Error {
 public:
  using Error::Error;
};

class Driver {
 public:
  // Loads `library` and resolves every entry point. Throws DriverUnavailable naming the
  // library and the loader's message (not found) or the missing symbol (not a driver).
  static std::shared_ptr<const Driver> open(const std::string& library);

  // The process-wide driver from default_library(), loaded on first use.
  static std::shared_ptr<const Driver> system();

  // $PTO_CUDA_DRIVER when set and not empty, else "libcuda.so.1".
  static std::string default_library();

  const DriverApi& api() const noexcept { return api_; }
  const std::string& library() const noexcept { return library_; }

  // "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)".
  std::string describe(CUresult result) const;

  // Throws pto::Error "<call> failed: <describe(result)>" unless result is CUDA_SUCCESS.
  void check(CUresult result, const char* call) const;

 private:
  Driver(std::string library, DriverApi api) : library_(std::move(library)), api_(api) {}

  std::string library_;
  DriverApi api_;
};

}  // namespace pto::cuda
