// Arguments of one kernel invocation: host (or device) buffers for tile and global
// parameters, numbers for scalars.
//
// Executors take them positionally, one Binding per parameter in declaration order
// (Bindings), checked once before they run: names exist only at the user API (KernelArgs,
// which binds by name and turns into Bindings with one check) and in messages. The
// frontend builds Bindings straight from a call's positional arguments and checks each
// when it enumerates the task.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "dsl/dtype.hpp"
#include "dsl/ir.hpp"

namespace pto {

// A 2-D row-major view: element (r, c) at data + (r * row_stride + c) * size_bytes(dtype).
struct TensorView {
  void* data = nullptr;
  DType dtype = DType::f32;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t row_stride = 0;  // in elements; 0 means `cols` (densely packed rows)

  std::int64_t stride() const noexcept { return row_stride != 0 ? row_stride : cols; }
};

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<f16_t>() {
  return DType::f16;
}
template <>
constexpr DType dtype_of<bf16_t>() {
  return DType::bf16;
}
template <>
constexpr DType dtype_of<std::int32_t>() {
  return DType::i32;
}
template <>
constexpr DType dtype_of<std::int64_t>() {
  return DType::i64;
}

// A dense rows x cols view of a vector's elements.
template <typename T>
TensorView view(std::vector<T>& data, std::int64_t rows, std::int64_t cols) {
  return TensorView{data.data(), dtype_of<T>(), rows, cols, cols};
}

using Binding = std::variant<TensorView, std::int64_t, double>;
// One per kernel parameter, in declaration order.
using Bindings = std::vector<Binding>;

// Throws pto::Error naming the parameter when `binding` is of the wrong kind, dtype or
// shape for parameter `param` of `kernel`.
void check_binding(const ir::Kernel& kernel, std::size_t param, const Binding& binding);
// check_binding for every parameter, after checking that there is one binding per parameter.
void check_bindings(const ir::Kernel& kernel, const Bindings& bindings);

class KernelArgs {
 public:
  using Binding = pto::Binding;

  KernelArgs& set(const std::string& name, TensorView tensor);
  KernelArgs& set(const std::string& name, std::int64_t value);
  KernelArgs& set(const std::string& name, int value) { return set(name, static_cast<std::int64_t>(value)); }
  KernelArgs& set(const std::string& name, double value);

  const std::map<std::string, Binding>& bindings() const noexcept { return bindings_; }

  // Throws pto::Error naming the parameter when a binding is missing, unknown, of the wrong
  // kind, dtype or shape for `kernel`.
  void check_against(const ir::Kernel& kernel) const;
  // The checked bindings in parameter order (check_against, then one lookup per parameter).
  Bindings positional(const ir::Kernel& kernel) const;

 private:
  std::map<std::string, Binding> bindings_;
};

}  // namespace pto
