#include "dsl/kernel_faults.hpp"

#include <fmt/format.h>

namespace pto {

namespace {

// start + count, or "start + count" where the sum would not fit (a fault's message must not
// overflow computing the region it names).
std::string region_end(std::int64_t start, std::int64_t count) {
  std::int64_t end = 0;
  if (__builtin_add_overflow(start, count, &end)) return fmt::format("{} + {}", start, count);
  return std::to_string(end);
}

}  // namespace

bool region_outside(std::int64_t row, std::int64_t col, std::int64_t valid_rows, std::int64_t valid_cols,
                    std::int64_t rows, std::int64_t cols) noexcept {
  if (valid_rows == 0 || valid_cols == 0) return false;
  return row < 0 || col < 0 || row > rows || col > cols || valid_rows > rows - row || valid_cols > cols - col;
}

Error out_of_bounds_error(const ir::Kernel& kernel, const ir::Node& node, std::int64_t tensor_rows,
                          std::int64_t tensor_cols, std::int64_t row, std::int64_t col, std::int64_t valid_rows,
                          std::int64_t valid_cols) {
  const ir::Param& param = kernel.params.at(static_cast<std::size_t>(node.param));
  if (node.op == ir::Op::load_rows) {  // one gathered row, the first outside
    return Error(fmt::format("kernel '{}': load_rows: load from '{}' [{},{}]: gathered row {} (cols [{}, {})) is "
                             "outside the tensor; the index entry for it names a row outside it: check the index "
                             "tile (block table) and valid_rows",
                             kernel.name, param.name, tensor_rows, tensor_cols, row, col, region_end(col, valid_cols)),
                 node.where);
  }
  return Error(
      fmt::format("kernel '{}': {}: {} '{}' [{},{}]: valid region rows [{}, {}) x cols [{}, {}) is outside "
                  "the tensor; pass valid extents that stop at its end",
                  kernel.name, ir::name(node.op), node.op == ir::Op::store ? "store to" : "load from", param.name,
                  tensor_rows, tensor_cols, row, region_end(row, valid_rows), col, region_end(col, valid_cols)),
      node.where);
}

Error division_by_zero_error(const ir::Kernel& kernel, const ir::Node& node) {
  return Error(fmt::format("kernel '{}': {}: integer division by zero", kernel.name, ir::name(node.op)), node.where);
}

}  // namespace pto

namespace pto {

void raise_fault(const ir::Kernel& kernel, const ir::KernelIndex& index, const KernelFault& fault,
                 std::span<const ArgSlot> slots, std::string_view backend) {
  if (fault.node < 0 || static_cast<std::size_t>(fault.node) >= index.preorder().size()) {
    throw InternalError(
        fmt::format("{} kernel '{}': fault code {} at unknown node {}", backend, kernel.name, fault.code, fault.node));
  }
  const ir::Node& node = index.node_at(fault.node);
  switch (static_cast<FaultCode>(fault.code)) {
    case FaultCode::load_out_of_bounds:
    case FaultCode::store_out_of_bounds: {
      if (node.param < 0 || static_cast<std::size_t>(node.param) >= slots.size()) break;
      const ArgSlot& slot = slots[static_cast<std::size_t>(node.param)];
      throw out_of_bounds_error(kernel, node, slot.rows, slot.cols, fault.values[0], fault.values[1], fault.values[2],
                                fault.values[3]);
    }
    case FaultCode::division_by_zero: throw division_by_zero_error(kernel, node);
    case FaultCode::none: break;
  }
  throw InternalError(fmt::format("{} kernel '{}': fault code {} at node {} ({}) cannot occur there", backend,
                                  kernel.name, fault.code, fault.node, ir::name(node.op)));
}

}  // namespace pto
