// The plain task ABI of a compiled CPU kernel:
//
//   extern "C" int32_t pto_kernel_<hash>(const pto::cpu::ArgSlot* args, void* scratch,
//                                       pto::cpu::KernelFault* fault);
//
// `args` has one slot per kernel parameter, in declaration order. `scratch` is 64-byte
// aligned memory of the kernel's scratch size, where its tiles live (caller-owned, one per
// concurrent call: the executor keeps one per thread). Tiles and globals use
// data/rows/cols/stride (row stride in elements); i32/i64 scalars use `integer`, f32 scalars
// `number`. The function returns 0, or a FaultCode after filling `fault` (the executor turns
// it into the same pto::Error the interpreter throws). Functions keep no state: many
// threads may call one at once.
#pragma once

#include <cstdint>
#include <variant>

#include "dsl/arguments.hpp"

namespace pto::cpu {

struct ArgSlot {
  void* data = nullptr;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t stride = 0;
  std::int64_t integer = 0;
  double number = 0.0;
};
static_assert(sizeof(ArgSlot) == 48, "the generated code addresses slots by this layout");

enum FaultCode : std::int32_t {
  fault_none = 0,
  fault_load_out_of_bounds = 1,   // values: row, col, valid rows, valid cols
  fault_store_out_of_bounds = 2,  // values: row, col, valid rows, valid cols
  fault_division_by_zero = 3,
};

struct KernelFault {
  std::int32_t code = fault_none;
  std::int32_t node = -1;  // index into the kernel's pre-order node list (dsl order)
  std::int64_t values[4] = {0, 0, 0, 0};
};

// The slot of one bound argument: tensors give data/rows/cols/stride, integers `integer` (and
// `number`, for f32 scalars bound to an integer), floats `number`. Device backends then
// replace `data` with the tensor's device copy.
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

using KernelFunction = std::int32_t (*)(const ArgSlot*, void*, KernelFault*);

}  // namespace pto::cpu
