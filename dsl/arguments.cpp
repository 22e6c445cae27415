#include "dsl/arguments.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <limits>

#include "core/error.hpp"
#include "dsl/type_rules.hpp"

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

void check_binding(const ir::Kernel& kernel, std::size_t index, const Binding& binding) {
  const ir::Param& param = kernel.params.at(index);
  // Worded only when there is something wrong: this runs once per task of every execution.
  auto what = [&] {
    return fmt::format("kernel '{}', parameter '{}' ({})", kernel.name, param.name, ir::to_string(param.type));
  };
  if (param.type.is_scalar()) {
    const bool integer = std::holds_alternative<std::int64_t>(binding);
    const bool number = integer || std::holds_alternative<double>(binding);
    if (!number || (is_integer(param.type.dtype) && !integer)) {
      throw Error(fmt::format("{}: bound to {}; pass {}", what(),
                              std::holds_alternative<TensorView>(binding) ? "a tensor" : "a floating-point number",
                              is_integer(param.type.dtype) ? "an integer" : "a number"));
    }
    // Kernels read the value in the parameter's dtype: one that does not fit is an error,
    // never truncated (an i32 bound to 2^32 would silently be 0).
    if (param.type.dtype == DType::i32) {
      const std::int64_t value = std::get<std::int64_t>(binding);
      if (value < std::numeric_limits<std::int32_t>::min() || value > std::numeric_limits<std::int32_t>::max()) {
        throw Error(
            fmt::format("{}: bound to {}, which does not fit i32 [-2147483648, 2147483647]; declare the "
                        "parameter i64 for larger values",
                        what(), value));
      }
    } else if (is_float(param.type.dtype) && !integer) {
      if (std::string problem = ir::check_number(param.type.dtype, std::get<double>(binding)); !problem.empty()) {
        throw Error(fmt::format("{}: bound to {}", what(), problem));
      }
    }
    return;
  }
  const TensorView* tensor = std::get_if<TensorView>(&binding);
  if (tensor == nullptr) throw Error(fmt::format("{}: bound to a number; pass a TensorView", what()));
  if (tensor->data == nullptr) throw Error(fmt::format("{}: the tensor's data pointer is null", what()));
  if (tensor->dtype != param.type.dtype) {
    throw Error(fmt::format("{}: the tensor holds {}, the parameter is {}", what(), name(tensor->dtype),
                            name(param.type.dtype)));
  }
  if (tensor->rows < 0 || tensor->cols < 0 || tensor->stride() < tensor->cols) {
    throw Error(fmt::format("{}: the tensor's shape [{},{}] with row stride {} is invalid", what(), tensor->rows,
                            tensor->cols, tensor->stride()));
  }
  auto mismatch = [](std::int64_t expected, std::int64_t found_extent) {
    return expected != ir::dynamic_extent && expected != found_extent;
  };
  if (mismatch(param.type.rows, tensor->rows) || mismatch(param.type.cols, tensor->cols)) {
    throw Error(fmt::format("{}: the tensor is [{},{}]", what(), tensor->rows, tensor->cols));
  }
}

void check_bindings(const ir::Kernel& kernel, const Bindings& bindings) {
  if (bindings.size() != kernel.params.size()) {
    throw Error(
        fmt::format("kernel '{}' takes {} arguments, got {}", kernel.name, kernel.params.size(), bindings.size()));
  }
  for (std::size_t i = 0; i < bindings.size(); ++i) check_binding(kernel, i, bindings[i]);
}

void KernelArgs::check_against(const ir::Kernel& kernel) const {
  for (const auto& [name, binding] : bindings_) {
    if (kernel.find_param(name) == nullptr) {
      std::string names;
      for (const ir::Param& param : kernel.params) names += (names.empty() ? "" : ", ") + param.name;
      throw Error(fmt::format("kernel '{}' has no parameter '{}'; its parameters are: {}", kernel.name, name, names));
    }
  }
  for (std::size_t i = 0; i < kernel.params.size(); ++i) {
    const ir::Param& param = kernel.params[i];
    const auto found = bindings_.find(param.name);
    if (found == bindings_.end()) {
      throw Error(fmt::format("kernel '{}', parameter '{}' ({}): no argument bound; bind it with args.set(\"{}\", ...)",
                              kernel.name, param.name, ir::to_string(param.type), param.name));
    }
    check_binding(kernel, i, found->second);
  }
}

Bindings KernelArgs::positional(const ir::Kernel& kernel) const {
  check_against(kernel);
  Bindings out;
  out.reserve(kernel.params.size());
  for (const ir::Param& param : kernel.params) out.push_back(bindings_.at(param.name));
  return out;
}

}  // namespace pto
