#include "dsl/arguments.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace pto {

KernelArgs& KernelArgs::set(const std::string& name, TensorView tensor) {
  bindings_[name] = tensor;
  return *this;
}
KernelArgs& KernelArgs::set(const std::string& name, std::int64_t value) {
  bindings_[name] = value;
  return *this;
}
KernelArgs& KernelArgs::set(const std::string& name, double value) {
  bindings_[name] = value;
  return *this;
}

void KernelArgs::check_against(const ir::Kernel& kernel) const {
  for (const auto& [name, binding] : bindings_) {
    if (kernel.find_param(name) == nullptr) {
      std::string names;
      for (const ir::Param& param : kernel.params) names += (names.empty() ? "" : ", ") + param.name;
      throw Error(fmt::format("kernel '{}' has no parameter '{}'; its parameters are: {}", kernel.name, name, names));
    }
  }
  for (const ir::Param& param : kernel.params) {
    const auto found = bindings_.find(param.name);
    const std::string what =
        fmt::format("kernel '{}', parameter '{}' ({})", kernel.name, param.name, ir::to_string(param.type));
    if (found == bindings_.end())
      throw Error(fmt::format("{}: no argument bound; bind it with args.set(\"{}\", ...)", what, param.name));
    if (param.type.is_scalar()) {
      const bool integer = std::holds_alternative<std::int64_t>(found->second);
      const bool number = integer || std::holds_alternative<double>(found->second);
      if (!number || (is_integer(param.type.dtype) && !integer)) {
        throw Error(
            fmt::format("{}: bound to {}; pass {}", what,
                        std::holds_alternative<TensorView>(found->second) ? "a tensor" : "a floating-point number",
                        is_integer(param.type.dtype) ? "an integer" : "a number"));
      }
      continue;
    }
    const TensorView* tensor = std::get_if<TensorView>(&found->second);
    if (tensor == nullptr) throw Error(fmt::format("{}: bound to a number; pass a TensorView", what));
    if (tensor->data == nullptr) throw Error(fmt::format("{}: the tensor's data pointer is null", what));
    if (tensor->dtype != param.type.dtype) {
      throw Error(fmt::format("{}: the tensor holds {}, the parameter is {}", what, name(tensor->dtype),
                              name(param.type.dtype)));
    }
    if (tensor->rows < 0 || tensor->cols < 0 || tensor->stride() < tensor->cols) {
      throw Error(fmt::format("{}: the tensor's shape [{},{}] with row stride {} is invalid", what, tensor->rows,
                              tensor->cols, tensor->stride()));
    }
    auto mismatch = [](std::int64_t expected, std::int64_t found_extent) {
      return expected != ir::dynamic_extent && expected != found_extent;
    };
    if (mismatch(param.type.rows, tensor->rows) || mismatch(param.type.cols, tensor->cols)) {
      throw Error(fmt::format("{}: the tensor is [{},{}]", what, tensor->rows, tensor->cols));
    }
  }
}

}  // namespace pto
