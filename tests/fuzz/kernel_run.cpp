#include "tests/fuzz/kernel_run.hpp"

#include <fmt/format.h>

#include "dsl/printer.hpp"

namespace pto::fuzz {

void check_untouched(const GeneratedKernel& before, const GeneratedKernel& after, const std::string& executor) {
  for (std::size_t t = 0; t < before.tensors.size(); ++t) {
    const HostBuffer& old_buffer = before.tensors[t];
    const HostBuffer& new_buffer = after.tensors[t];
    const bool input = old_buffer.name.rfind("in", 0) == 0 || old_buffer.name == "tile";
    const int element = size_bytes(old_buffer.dtype);
    for (std::size_t byte = 0; byte < old_buffer.bytes.size(); ++byte) {
      const auto index = static_cast<std::int64_t>(byte) / element;
      const bool padding = index % old_buffer.row_stride >= old_buffer.cols;
      if ((input || padding) && old_buffer.bytes[byte] != new_buffer.bytes[byte]) {
        finding(fmt::format("{} wrote {} '{}' at row {} column {}\n{}", executor,
                            padding ? "the row padding of" : "the input", old_buffer.name,
                            index / old_buffer.row_stride, index % old_buffer.row_stride, describe(before)));
      }
    }
  }
}

std::string describe(const GeneratedKernel& kernel) {
  std::string out = ir::print(kernel.kernel.ir());
  for (const HostBuffer& tensor : kernel.tensors) {
    out += fmt::format("{}: {} [{}, {}] row stride {}\n", tensor.name, name(tensor.dtype), tensor.rows, tensor.cols,
                       tensor.row_stride);
  }
  for (const auto& [name, value] : kernel.integers) out += fmt::format("{} = {}\n", name, value);
  for (const auto& [name, value] : kernel.floats) out += fmt::format("{} = {}\n", name, value);
  return out;
}

}  // namespace pto::fuzz
