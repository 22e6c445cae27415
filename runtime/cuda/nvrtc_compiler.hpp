// NVRTC: generated CUDA C++ -> cubin for one arch, with a disk cache.
//
// Options: the arch's real target (sm_XX, so the result is a cubin the driver loads
// without a PTX JIT step), C++17, -fmad=false (elementwise results round like the
// interpreter's; matmul asks for its FMAs explicitly), the support header handed over in
// memory. The cache (runtime/object_cache.hpp, under <cache folder>/cuda) is keyed by a
// hash of the source, the arch and NVRTC's version; corrupt entries are recompiled.
//
// A compile error throws pto::Error with the kernel's name, NVRTC's log and the generated
// line each error points at. Thread-safe (compiles are serialised per compiler).
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/cuda/cuda_codegen.hpp"
#include "runtime/object_cache.hpp"

namespace pto::cuda {

struct Cubin {
  std::vector<char> image;
  bool from_cache = false;
  double milliseconds = 0.0;  // what compile() took (NVRTC, or the cache read)
  int arch = 0;
};

class NvrtcCompiler {
 public:
  // The process-wide compiler, caching under ObjectCache::default_folder() / "cuda".
  static NvrtcCompiler& instance();

  explicit NvrtcCompiler(std::filesystem::path cache_folder);

  Cubin compile(const GeneratedKernel& kernel, const std::string& kernel_name, int arch);

  std::string cache_key(const std::string& source, int arch) const;
  const ObjectCache& cache() const noexcept { return cache_; }

 private:
  ObjectCache cache_;
  std::mutex mutex_;
  std::string nvrtc_version_;
};

}  // namespace pto::cuda
