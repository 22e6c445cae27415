// The errors a kernel raises while running, worded once for every executor (the reference
// interpreter and the compiled backends report the same message for the same fault), and
// the decoder that turns a compiled backend's fault record (core/kernel_abi.hpp) into them.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/error.hpp"
#include "core/kernel_abi.hpp"
#include "dsl/ir.hpp"
#include "dsl/kernel_index.hpp"

namespace pto {

// The bounds rule of every executor: a valid region [row, row + valid_rows) x [col, col +
// valid_cols) (extents clamped to [0, tile extent] first) lies inside a rows x cols tensor,
// or is empty. Written without forming row + valid_rows, which can overflow for any row the
// kernel computes (the LLVM lowering and the CUDA support header spell the same rule).
bool region_outside(std::int64_t row, std::int64_t col, std::int64_t valid_rows, std::int64_t valid_cols,
                    std::int64_t rows, std::int64_t cols) noexcept;

// A load/store whose valid region [row, row+valid_rows) x [col, col+valid_cols) leaves the
// tensor bound to parameter `node.param` ([tensor_rows, tensor_cols]).
Error out_of_bounds_error(const ir::Kernel& kernel, const ir::Node& node, std::int64_t tensor_rows,
                          std::int64_t tensor_cols, std::int64_t row, std::int64_t col, std::int64_t valid_rows,
                          std::int64_t valid_cols);

Error division_by_zero_error(const ir::Kernel& kernel, const ir::Node& node);

// Throws the interpreter's error for a fault a compiled kernel recorded; `slots` are the
// task's arguments (the tensor extents the message names). A code or node that cannot occur
// throws an InternalError naming `backend`.
[[noreturn]] void raise_fault(const ir::Kernel& kernel, const ir::KernelIndex& index, const KernelFault& fault,
                              std::span<const ArgSlot> slots, std::string_view backend);

}  // namespace pto
