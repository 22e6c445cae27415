#include "dsl/kernel_faults.hpp"

#include <fmt/format.h>

namespace pto {

Error out_of_bounds_error(const ir::Kernel& kernel, const ir::Node& node, std::int64_t tensor_rows,
                          std::int64_t tensor_cols, std::int64_t row, std::int64_t col, std::int64_t valid_rows,
                          std::int64_t valid_cols) {
  const ir::Param& param = kernel.params.at(static_cast<std::size_t>(node.param));
  return Error(fmt::format("kernel '{}': {}: {} '{}' [{},{}]: valid region rows [{}, {}) x cols [{}, {}) is outside "
                           "the tensor; pass valid extents that stop at its end",
                           kernel.name, ir::name(node.op), node.op == ir::Op::store ? "store to" : "load from",
                           param.name, tensor_rows, tensor_cols, row, row + valid_rows, col, col + valid_cols),
               node.where);
}

Error division_by_zero_error(const ir::Kernel& kernel, const ir::Node& node) {
  return Error(fmt::format("kernel '{}': {}: integer division by zero", kernel.name, ir::name(node.op)), node.where);
}

}  // namespace pto
