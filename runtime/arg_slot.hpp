// The ABI slot (core/kernel_abi.hpp) of one bound kernel argument.
#pragma once

#include <variant>

#include "core/kernel_abi.hpp"
#include "dsl/arguments.hpp"

namespace pto {

// Tensors give data/rows/cols/stride, integers `integer` (and `number`, for f32 scalars
// bound to an integer), floats `number`. Device backends then replace `data` with the
// tensor's device copy.
inline ArgSlot slot_for(const KernelArgs::Binding& binding) {
  ArgSlot slot;
  if (const auto* tensor = std::get_if<TensorView>(&binding)) {
    slot.data = tensor->data;
    slot.rows = tensor->rows;
    slot.cols = tensor->cols;
    slot.stride = tensor->stride();
  } else if (const auto* integer = std::get_if<std::int64_t>(&binding)) {
    slot.integer = *integer;
    slot.number = static_cast<double>(*integer);
  } else {
    slot.number = std::get<double>(binding);
  }
  return slot;
}

}  // namespace pto
