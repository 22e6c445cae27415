#include "core/kernel_abi.hpp"

#include <fmt/format.h>

namespace pto {

std::string_view name(FaultCode code) noexcept {
  switch (code) {
#define PTO_ABI_FAULT(fault, value, values) \
  case FaultCode::fault: return #fault;
    PTO_FAULT_CODES(PTO_ABI_FAULT)
#undef PTO_ABI_FAULT
  }
  return "?";
}

std::string render_abi_declarations() {
  std::string out = "// The task ABI (core/kernel_abi.hpp), rendered from its field and fault-code lists.\n";
  out += "struct ArgSlot {\n";
#define PTO_ABI_FIELD(field, host_type, device_type) out += fmt::format("  {} {};\n", device_type, #field);
  PTO_ARG_SLOT_FIELDS(PTO_ABI_FIELD)
#undef PTO_ABI_FIELD
  out += "};\n";
  out += fmt::format("static_assert(sizeof(ArgSlot) == {}, \"ArgSlot\");\n\n", sizeof(ArgSlot));
  out += "enum FaultCode : int {\n";
#define PTO_ABI_FAULT(fault, value, values)                 \
  out += fmt::format("  fault_{} = {},{}\n", #fault, value, \
                     std::string_view(values).empty() ? "" : fmt::format("  // values: {}", values));
  PTO_FAULT_CODES(PTO_ABI_FAULT)
#undef PTO_ABI_FAULT
  out += "};\n\n";
  out += "// One per launch; the first fault of any task wins (atomicCAS on code).\n";
  out += "struct Fault {\n  int code;\n  int node;\n  long long task;\n  long long values[4];\n};\n";
  out += fmt::format("static_assert(sizeof(Fault) == {}, \"Fault\");\n", sizeof(KernelFault));
  return out;
}

}  // namespace pto
