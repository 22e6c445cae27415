// Arguments of one kernel invocation, bound by parameter name: host (or device) buffers
// for tile and global parameters, numbers for scalars. The executors check every binding
// against the kernel's parameters before running (dsl/interpreter.hpp says how).
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

class KernelArgs {
 public:
  using Binding = std::variant<TensorView, std::int64_t, double>;

  KernelArgs& set(const std::string& name, TensorView tensor);
  KernelArgs& set(const std::string& name, std::int64_t value);
  KernelArgs& set(const std::string& name, int value) { return set(name, static_cast<std::int64_t>(value)); }
  KernelArgs& set(const std::string& name, double value);

  const std::map<std::string, Binding>& bindings() const noexcept { return bindings_; }

  // Throws pto::Error naming the parameter when a binding is missing, unknown, of the wrong
  // kind, dtype or shape for `kernel`.
  void check_against(const ir::Kernel& kernel) const;

 private:
  std::map<std::string, Binding> bindings_;
};

}  // namespace pto
