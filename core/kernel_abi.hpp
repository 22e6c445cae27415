// The backend-neutral task ABI of a compiled kernel, shared by the CPU (LLVM) and CUDA
// backends:
//
//   CPU:  extern "C" int32_t pto_kernel_<hash>(const pto::ArgSlot* args, void* scratch,
//                                             pto::KernelFault* fault);
//   CUDA: the same ArgSlot rows (device pointers) and one KernelFault per launch
//         (runtime/cuda/cuda_codegen.hpp).
//
// `args` has one slot per kernel parameter, in declaration order. Tiles and globals use
// data/rows/cols/stride (row stride in elements); i32/i64 scalars use `integer`, f32 scalars
// `number`. A kernel returns 0 (CPU), or records a FaultCode in the fault record and stops
// (the executor turns it into the same pto::Error the interpreter throws). Compiled
// functions keep no state: many threads may call one at once.
//
// Generated code never spells a field offset or a fault code by hand: the LLVM lowering
// indexes fields by ArgSlotField / KernelFaultField (checked against offsetof below), and
// device code gets these declarations rendered from the same lists (render_abi_declarations),
// with static_asserts on their sizes for the device compiler to check (NVRTC has no
// offsetof; the fields are rendered in the same order with types of the same size, and the
// host's offsets are pinned below).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pto {

// X(field, host type, device type)
#define PTO_ARG_SLOT_FIELDS(X)                                                             \
  X(data, void*, "void*")            /* tensors: first element (host or device address) */ \
  X(rows, std::int64_t, "long long") /* tensors: extents */                                \
  X(cols, std::int64_t, "long long")                                                       \
  X(stride, std::int64_t, "long long")  /* tensors: row stride in elements */              \
  X(integer, std::int64_t, "long long") /* i32/i64 scalars */                              \
  X(number, double, "double")           /* f32 scalars */

struct ArgSlot {
#define PTO_ABI_FIELD(field, host_type, device_type) host_type field{};
  PTO_ARG_SLOT_FIELDS(PTO_ABI_FIELD)
#undef PTO_ABI_FIELD
};

// Field indices in declaration order (LLVM struct GEPs).
enum class ArgSlotField : unsigned {
#define PTO_ABI_FIELD(field, host_type, device_type) field,
  PTO_ARG_SLOT_FIELDS(PTO_ABI_FIELD)
#undef PTO_ABI_FIELD
};

// X(name, value, what values[] holds)
#define PTO_FAULT_CODES(X)                                      \
  X(none, 0, "")                                                \
  X(load_out_of_bounds, 1, "row, col, valid rows, valid cols")  \
  X(store_out_of_bounds, 2, "row, col, valid rows, valid cols") \
  X(division_by_zero, 3, "")

enum class FaultCode : std::int32_t {
#define PTO_ABI_FAULT(name, value, values) name = value,
  PTO_FAULT_CODES(PTO_ABI_FAULT)
#undef PTO_ABI_FAULT
};
std::string_view name(FaultCode code) noexcept;

// One per CPU call, one per GPU launch (the first fault of any task wins there).
struct KernelFault {
  std::int32_t code = 0;   // a FaultCode
  std::int32_t node = -1;  // the faulting node's index in the kernel's pre-order (ir::KernelIndex)
  std::int64_t task = -1;  // GPU: the task's index in its launch; CPU: unused
  std::int64_t values[4] = {0, 0, 0, 0};
};
enum class KernelFaultField : unsigned { code, node, task, values };

using KernelFunction = std::int32_t (*)(const ArgSlot*, void*, KernelFault*);

static_assert(offsetof(ArgSlot, data) == 0 && offsetof(ArgSlot, rows) == 8 && offsetof(ArgSlot, cols) == 16 &&
                  offsetof(ArgSlot, stride) == 24 && offsetof(ArgSlot, integer) == 32 &&
                  offsetof(ArgSlot, number) == 40 && sizeof(ArgSlot) == 48,
              "generated code (LLVM struct type, device declarations) assumes this layout");
static_assert(offsetof(KernelFault, code) == 0 && offsetof(KernelFault, node) == 4 &&
                  offsetof(KernelFault, task) == 8 && offsetof(KernelFault, values) == 16 && sizeof(KernelFault) == 48,
              "generated code (LLVM struct type, device declarations) assumes this layout");

// C++ declarations of ArgSlot, KernelFault (as `Fault`) and the fault codes (as
// `fault_<name>` enumerators) for generated device code, inside the caller's namespace,
// with static_asserts that the device compiler gives them the host's sizes.
std::string render_abi_declarations();

}  // namespace pto
