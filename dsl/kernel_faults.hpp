// The errors a kernel raises while running, worded once for every executor (the reference
// interpreter and the compiled backends report the same message for the same fault).
#pragma once

#include <cstdint>
#include <string_view>

#include "dsl/ir.hpp"
#include "runtime/error.hpp"

namespace pto {

// A load/store whose valid region [row, row+valid_rows) x [col, col+valid_cols) leaves the
// tensor bound to parameter `node.param` ([tensor_rows, tensor_cols]).
Error out_of_bounds_error(const ir::Kernel& kernel, const ir::Node& node, std::int64_t tensor_rows,
                          std::int64_t tensor_cols, std::int64_t row, std::int64_t col, std::int64_t valid_rows,
                          std::int64_t valid_cols);

Error division_by_zero_error(const ir::Kernel& kernel, const ir::Node& node);

}  // namespace pto
