// The reference interpreter: executes any verified kernel on host buffers. It defines the
// golden semantics the LLVM and CUDA backends are tested against:
//   - f16/bf16 values hold numbers rounded to their format; every arithmetic op, reduction
//     and matmul computes in f32 (single precision, sequential sums in index order);
//   - i32 arithmetic wraps modulo 2^32; integer division truncates toward zero, and a
//     division by zero is an error;
//   - casts from float to integer truncate toward zero and saturate at the type's range;
//     casts to f16/bf16 round to nearest even;
//   - loads read element (r, c) from [row + r, col + c] when r < valid_rows and
//     c < valid_cols (each clamped to [0, tile extent]) and `pad` otherwise; a valid
//     element outside the tensor is an error, not a silent read;
//   - stores write only the valid region; f32 values stored to f16/bf16 round to nearest even;
//   - a valid region is checked without forming row + valid_rows (kernel_faults.hpp's
//     region_outside), so no row or extent a kernel computes wraps past a bound;
//   - for_range(start, end, step) runs j = start, start + step, ... while j < end, counting
//     exactly (an index that would pass INT64_MAX ends the loop instead of wrapping);
//   - constants, fill values and pads are values of their dtype (type_rules.hpp's
//     check_number); integer sums wrap like every integer op.
#pragma once

#include "dsl/arguments.hpp"
#include "dsl/builder.hpp"

namespace pto {

// Checks `args` against the kernel (KernelArgs::check_against), then runs it once.
void interpret(const ir::Kernel& kernel, const KernelArgs& args);
inline void interpret(const tl::KernelInstance& instance, const KernelArgs& args) {
  interpret(instance.ir(), args);
}
// Runs the kernel on positional bindings. Precondition: they passed check_bindings (the
// frontend checks each task's once, when it enumerates the task).
void interpret_bound(const ir::Kernel& kernel, const Bindings& bindings);

}  // namespace pto
