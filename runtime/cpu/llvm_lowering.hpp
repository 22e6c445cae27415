// Lowers a verified kernel to LLVM IR: one function with the task ABI of kernel_abi.hpp.
//
// Values: scalars are SSA values; every tile lives at a fixed offset of the caller's
// scratch memory (f32 for f16/bf16/f32 tiles, whose values are rounded to their format as
// the interpreter keeps them; i32/i64 as such). Tile ops become loop nests over the result
// with the innermost loop contiguous, which LLVM's vectoriser takes; sums and dot products
// carry the `reassoc` flag so they vectorise too (their rounding may differ from the
// interpreter's sequential order: docs/backends.md gives the tolerances). matmul reads a
// `trans` operand in place (dot products over contiguous rows) instead of copying it.
// Faults (out-of-bounds valid regions, integer division by zero) return a code and fill
// the KernelFault, naming the node by its pre-order position (ir::KernelIndex).
#pragma once

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dsl/ir.hpp"
#include "dsl/kernel_index.hpp"

namespace pto::cpu {

struct LoweredKernel {
  std::unique_ptr<llvm::Module> module;
  std::string symbol;
  std::int64_t scratch_bytes = 0;
};

// Scratch bytes the kernel's tiles need (known without generating code).
std::int64_t scratch_bytes(const ir::Kernel& kernel);

LoweredKernel lower_to_llvm(const ir::Kernel& kernel, const ir::KernelIndex& index, const std::string& symbol,
                            llvm::LLVMContext& context);

}  // namespace pto::cpu
