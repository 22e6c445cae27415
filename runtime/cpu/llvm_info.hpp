// The LLVM the CPU backend JIT-compiles with (only built when PTO_HAVE_LLVM).
#pragma once

#include <string>

namespace pto::cpu {

struct LlvmInfo {
  std::string version;      // the LLVM library's version, e.g. "14.0.6"
  std::string host_triple;  // what the JIT targets, e.g. "x86_64-pc-linux-gnu"
  std::string host_cpu;     // e.g. "znver3": kernels are tuned for this CPU
  bool native_target_ready = false;
  std::string native_target_error;  // why the host target could not be initialised
};

LlvmInfo query_llvm();

}  // namespace pto::cpu
