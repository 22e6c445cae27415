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

// The binding a slot stands for, for a parameter of `param`'s type (the interpreter's
// input when a Program hands out slots).
inline Binding binding_for(const ir::Param& param, const ArgSlot& slot) {
  if (!param.type.is_scalar()) {
    return TensorView{slot.data, param.type.dtype, slot.rows, slot.cols, slot.stride};
  }
  if (is_integer(param.type.dtype)) return slot.integer;
  return slot.number;
}

inline Bindings bindings_for(const ir::Kernel& kernel, const ArgSlot* slots) {
  Bindings out;
  out.reserve(kernel.params.size());
  for (std::size_t i = 0; i < kernel.params.size(); ++i) out.push_back(binding_for(kernel.params[i], slots[i]));
  return out;
}

}  // namespace pto
