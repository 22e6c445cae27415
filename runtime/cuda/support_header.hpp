// The device support header every generated CUDA kernel includes ("pto_cuda_support.h"):
// the task ABI (argument slots, the fault record), f16/bf16 conversions, NaN-propagating
// max/min, wrapping integer arithmetic, checked integer division and warp reductions.
//
// It is compiled into the library and handed to NVRTC as an in-memory header, so no file
// is read at run time. It does not include cuda_fp16.h either: conversions use PTX `cvt`
// directly, so the header compiles with NVRTC alone.
#pragma once

#include <string>
#include <string_view>

namespace pto::cuda {

inline constexpr std::string_view support_header_name = "pto_cuda_support.h";

const std::string& support_header_source();

}  // namespace pto::cuda
