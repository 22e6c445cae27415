#include "runtime/cpu/llvm_info.hpp"

#include <llvm/ADT/StringRef.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/Support/TargetSelect.h>
#if __has_include(<llvm/TargetParser/Host.h>)  // LLVM >= 17 moved Host.h
#include <llvm/TargetParser/Host.h>
#else
#include <llvm/Support/Host.h>
#endif

namespace pto::cpu {

LlvmInfo query_llvm() {
  LlvmInfo info;
  info.version = LLVM_VERSION_STRING;
  info.host_triple = llvm::sys::getProcessTriple();
  info.host_cpu = llvm::sys::getHostCPUName().str();
  // InitializeNativeTarget returns true on failure (LLVM's convention).
  info.native_target_ready = !llvm::InitializeNativeTarget();
  if (!info.native_target_ready) info.native_target_error = "LLVM was built without a target for this host";
  return info;
}

}  // namespace pto::cpu
