// The CPU backend's JIT: kernel IR -> LLVM IR (llvm_lowering) -> O3 for the host CPU ->
// object file -> ORC LLJIT. Compiled kernels are cached in memory by structural hash and on
// disk (object_cache.hpp) keyed by hash, LLVM version, host CPU and features; a warm start
// loads the object without generating or optimising any IR.
//
// Thread safety: get() may be called from any thread (compiles are serialised); the
// returned functions are stateless and may run on many threads at once.
// PTO_DUMP=llvm writes each compiled kernel's optimised LLVM IR next to the cache
// (<cache>/dumps/<name>-<hash>.ll) and says where on stderr.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/kernel_abi.hpp"
#include "dsl/ir.hpp"
#include "dsl/kernel_index.hpp"
#include "runtime/object_cache.hpp"

namespace pto::cpu {

struct CompiledFunction {
  enum class Source { memory, disk, compiled };
  KernelFunction function = nullptr;
  std::int64_t scratch_bytes = 0;
  Source source = Source::compiled;
  double milliseconds = 0.0;  // what this get() took
  // Phases of a cold compile (0 otherwise): kernel IR -> LLVM IR, optimisation, code generation.
  double lower_ms = 0.0, optimize_ms = 0.0, codegen_ms = 0.0;
};

class LlvmJit {
 public:
  // The process-wide JIT, caching under ObjectCache::default_folder().
  static LlvmJit& instance();

  explicit LlvmJit(std::filesystem::path cache_folder);
  ~LlvmJit();
  LlvmJit(const LlvmJit&) = delete;
  LlvmJit& operator=(const LlvmJit&) = delete;

  // `index`: the kernel's index when the caller has one (tl::KernelInstance::index());
  // otherwise a cold compile builds it.
  CompiledFunction get(const ir::Kernel& kernel, std::uint64_t structural_hash, const ir::KernelIndex* index = nullptr);

  // The disk-cache key of a kernel on this host: its structural hash, the LLVM version, CPU
  // and features, and a hash of the sources that generate its code (build_config.hpp's
  // PTO_LLVM_LOWERING_HASH), so that an entry compiled by another lowering never matches.
  std::string cache_key(std::uint64_t structural_hash) const;
  const ObjectCache& cache() const noexcept { return cache_; }
  const std::string& host_cpu() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
  ObjectCache cache_;
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, CompiledFunction> compiled_;
};

}  // namespace pto::cpu
