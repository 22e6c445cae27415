// The fake drivers' answers to the runtime entry points (memory, streams, events, modules,
// launches, graphs): each one fails with CUDA_ERROR_NOT_SUPPORTED. The fakes model machines for the
// probe; nothing runs on them. Written without cuda.h, whose declarations these variadic
// definitions would contradict: only the exported names matter to dlsym.
extern "C" {

#define FAKE_CUDA_UNSUPPORTED(symbol)          \
  int symbol(...) {                            \
    return 801; /* CUDA_ERROR_NOT_SUPPORTED */ \
  }

FAKE_CUDA_UNSUPPORTED(cuDevicePrimaryCtxRetain)
FAKE_CUDA_UNSUPPORTED(cuCtxSetCurrent)
FAKE_CUDA_UNSUPPORTED(cuCtxSynchronize)
FAKE_CUDA_UNSUPPORTED(cuMemGetInfo_v2)
FAKE_CUDA_UNSUPPORTED(cuMemAlloc_v2)
FAKE_CUDA_UNSUPPORTED(cuMemFree_v2)
FAKE_CUDA_UNSUPPORTED(cuMemAllocHost_v2)
FAKE_CUDA_UNSUPPORTED(cuMemFreeHost)
FAKE_CUDA_UNSUPPORTED(cuMemHostGetDevicePointer_v2)
FAKE_CUDA_UNSUPPORTED(cuMemcpyHtoDAsync_v2)
FAKE_CUDA_UNSUPPORTED(cuMemcpyDtoHAsync_v2)
FAKE_CUDA_UNSUPPORTED(cuMemcpyDtoDAsync_v2)
FAKE_CUDA_UNSUPPORTED(cuMemsetD8Async)
FAKE_CUDA_UNSUPPORTED(cuStreamCreate)
FAKE_CUDA_UNSUPPORTED(cuStreamDestroy_v2)
FAKE_CUDA_UNSUPPORTED(cuStreamSynchronize)
FAKE_CUDA_UNSUPPORTED(cuStreamWaitEvent)
FAKE_CUDA_UNSUPPORTED(cuEventCreate)
FAKE_CUDA_UNSUPPORTED(cuEventDestroy_v2)
FAKE_CUDA_UNSUPPORTED(cuEventRecord)
FAKE_CUDA_UNSUPPORTED(cuEventRecordWithFlags)
FAKE_CUDA_UNSUPPORTED(cuEventSynchronize)
FAKE_CUDA_UNSUPPORTED(cuEventElapsedTime_v2)
FAKE_CUDA_UNSUPPORTED(cuModuleLoadData)
FAKE_CUDA_UNSUPPORTED(cuModuleUnload)
FAKE_CUDA_UNSUPPORTED(cuModuleGetFunction)
FAKE_CUDA_UNSUPPORTED(cuFuncSetAttribute)
FAKE_CUDA_UNSUPPORTED(cuOccupancyMaxActiveBlocksPerMultiprocessor)
FAKE_CUDA_UNSUPPORTED(cuLaunchKernel)
FAKE_CUDA_UNSUPPORTED(cuStreamBeginCapture_v2)
FAKE_CUDA_UNSUPPORTED(cuStreamEndCapture)
FAKE_CUDA_UNSUPPORTED(cuGraphInstantiateWithFlags)
FAKE_CUDA_UNSUPPORTED(cuGraphExecUpdate_v2)
FAKE_CUDA_UNSUPPORTED(cuGraphLaunch)
FAKE_CUDA_UNSUPPORTED(cuGraphDestroy)
FAKE_CUDA_UNSUPPORTED(cuGraphExecDestroy)

}  // extern "C"
