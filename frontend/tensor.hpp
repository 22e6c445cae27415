// Tensors a workload reads and writes, and views of them that kernel calls bind.
//
// A Tensor is an n-dimensional strided array (shape, dtype, strides in elements) in host
// memory, either owned (Tensor::host, zero-filled) or the user's (Tensor::wrap), or in GPU
// memory (Tensor::device, dense, zero-filled; filled and read with copy_from / copy_to).
// Host tensors run on every target (the CUDA target copies them over and back each
// execution); device tensors run on the CUDA target only, without copies. A View
// narrows it with index expressions, so one call site binds a different slice per task:
//
//   Tensor K = Tensor::wrap("k", k_data, f16, {total_tokens, heads, head_dim});
//   View kv = K.rows(d[&W::kv_start], d[&W::kv_len]).at(1, d[&W::head]);  // [kv_len, head_dim]
//
// operator[] / at(dim, i) remove a dimension, rows / slice(dim, start, count) narrow one.
// Bounds are checked per task when the Program executes (the error names the tensor, the
// dimension and the values). A view bound to a kernel parameter must end up with at most
// two dimensions and contiguous rows: it becomes the kernel's [rows, cols] TensorView.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dsl/arguments.hpp"
#include "dsl/dtype.hpp"
#include "frontend/expr.hpp"
#include "runtime/dependency_tracker.hpp"

namespace pto {

class View;

class Tensor {
 public:
  Tensor() = default;
  static Tensor host(std::string name, DType dtype, std::vector<std::int64_t> shape);
  // `strides` in elements; empty: dense row-major.
  static Tensor wrap(std::string name, void* data, DType dtype, std::vector<std::int64_t> shape,
                     std::vector<std::int64_t> strides = {});
  // Dense, zero-filled, in the memory of CUDA device `device` (an error without one).
  static Tensor device(std::string name, DType dtype, std::vector<std::int64_t> shape, int device = 0);

  const std::string& name() const;
  DType dtype() const;
  const std::vector<std::int64_t>& shape() const;
  const std::vector<std::int64_t>& strides() const;
  int rank() const { return static_cast<int>(shape().size()); }
  // The first element's address: in host memory, or in the device's for device tensors.
  void* data() const;
  bool on_device() const;
  int device_ordinal() const;  // -1 for host tensors
  std::int64_t elements() const;
  std::int64_t footprint_bytes() const;  // from the first to one past the last element

  // Host tensors only (a device tensor's data is read with copy_to).
  template <typename T>
  T* data_as() const {
    check_dtype(dtype_of<T>());
    check_host("data_as");
    return static_cast<T*>(data());
  }

  // The whole footprint (footprint_bytes()) in and out, for host and device tensors alike.
  void copy_from(const void* source, std::size_t bytes) const;
  void copy_to(void* destination, std::size_t bytes) const;
  template <typename T>
  void copy_from(const std::vector<T>& values) const {
    check_dtype(dtype_of<T>());
    copy_from(values.data(), values.size() * sizeof(T));
  }
  template <typename T>
  std::vector<T> to_vector() const {
    check_dtype(dtype_of<T>());
    std::vector<T> out(static_cast<std::size_t>(footprint_bytes()) / sizeof(T));
    copy_to(out.data(), out.size() * sizeof(T));
    return out;
  }

  View view() const;
  View operator[](const Expr& index) const;
  View at(int dim, const Expr& index) const;
  View rows(const Expr& start, const Expr& count) const;
  View slice(int dim, const Expr& start, const Expr& count) const;

  bool valid() const noexcept { return storage_ != nullptr; }

 private:
  struct Storage;
  void check_dtype(DType wanted) const;
  void check_host(const char* operation) const;
  void check_copy(const char* operation, std::size_t bytes) const;
  std::shared_ptr<Storage> storage_;
};

// Where a view lands for one task.
struct ResolvedView {
  TensorView view;      // 2-D, for KernelArgs
  ByteRange footprint;  // bytes it spans, for dependency inference and bytes moved
};

class View {
 public:
  View operator[](const Expr& index) const { return at(0, index); }
  View at(int dim, const Expr& index) const;
  View rows(const Expr& start, const Expr& count) const { return slice(0, start, count); }
  View slice(int dim, const Expr& start, const Expr& count) const;

  int rank() const { return static_cast<int>(dims_.size()); }
  const Tensor& tensor() const { return tensor_; }
  DType dtype() const { return tensor_.dtype(); }
  const std::string& description() const { return description_; }

  // Empty when the view can bind to a 2-D kernel parameter, else why not.
  std::string binding_problem() const;
  // The view for the loop indices in `env`; throws pto::Error when it leaves its tensor.
  ResolvedView resolve(const ExprEnv& env) const;
  // Adds the names of the sizes its offsets, extents and bounds read to `names`.
  void collect_sizes(std::vector<std::string>& names) const;

  // The view's parts, for the compiled task list (frontend/compiled_tasks.hpp).
  struct Dim {
    Expr extent;
    std::int64_t stride;
  };
  // A bound to verify per task: 0 <= value and value + count <= extent.
  struct Check {
    Expr value, count, extent;
    int dim;
    bool is_index;  // at(): an index (count 1), else a range
  };
  const Expr& offset() const noexcept { return offset_; }  // in elements, from the tensor's data
  const std::vector<Dim>& dims() const noexcept { return dims_; }
  const std::vector<Check>& checks() const noexcept { return checks_; }

  // Whether [value, value + count) lies in [0, extent), without overflow.
  static bool in_bounds(std::int64_t value, std::int64_t count, std::int64_t extent) noexcept {
    return value >= 0 && count >= 0 && value <= extent && count <= extent - value;
  }

 private:
  friend class Tensor;
  void check_dim(int dim, const char* op) const;

  Tensor tensor_;
  Expr offset_ = 0;  // elements from the tensor's data
  std::vector<Dim> dims_;
  std::vector<Check> checks_;
  std::string description_;
};

}  // namespace pto
