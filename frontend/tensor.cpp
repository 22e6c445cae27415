#include "frontend/tensor.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <optional>

#include "core/error.hpp"
#include "runtime/build_config.hpp"
#if PTO_HAVE_CUDA
#include "runtime/cuda/device.hpp"
#endif

namespace pto {

struct Tensor::Storage {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape, strides;
  void* data = nullptr;
  std::unique_ptr<std::byte[]> owned;  // Tensor::host: zero-filled
#if PTO_HAVE_CUDA
  std::shared_ptr<cuda::DeviceBuffer> device_memory;  // device tensors: `data` is its address
#endif
  int device = -1;
};

namespace {

std::vector<std::int64_t> dense_strides(const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> strides(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return strides;
}

// The bytes from the first element to one past the last of a shape with these strides (in
// elements), or nullopt when that does not fit an int64.
std::optional<std::int64_t> footprint(const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& strides,
                                      DType dtype) {
  std::int64_t last = 0;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) return 0;
    std::int64_t reach = 0;
    if (__builtin_mul_overflow(shape[i] - 1, strides[i], &reach) || __builtin_add_overflow(last, reach, &last))
      return std::nullopt;
  }
  std::int64_t bytes = 0;
  if (__builtin_add_overflow(last, 1, &last) || __builtin_mul_overflow(last, size_bytes(dtype), &bytes))
    return std::nullopt;
  return bytes;
}

// Extents are non-negative and the element count, as bytes, fits an int64: every later size
// (views, footprints, byte ranges) is then computed without overflow.
void check_shape(const std::string& name, const std::vector<std::int64_t>& shape, DType dtype) {
  if (shape.empty()) throw Error(fmt::format("tensor '{}': give at least one dimension", name));
  std::int64_t elements = 1;
  for (std::int64_t extent : shape) {
    if (extent < 0)
      throw Error(fmt::format("tensor '{}': shape [{}] has a negative extent", name, fmt::join(shape, ", ")));
    if (__builtin_mul_overflow(elements, extent, &elements) ||
        elements > std::numeric_limits<std::int64_t>::max() / size_bytes(dtype)) {
      throw Error(fmt::format("tensor '{}': shape [{}] of {} has more bytes than an int64 counts; no memory holds it",
                              name, fmt::join(shape, ", "), pto::name(dtype)));
    }
  }
}

}  // namespace

Tensor Tensor::host(std::string name, DType dtype, std::vector<std::int64_t> shape) {
  check_shape(name, shape, dtype);
  Tensor tensor;
  tensor.storage_ = std::make_shared<Storage>();
  Storage& s = *tensor.storage_;
  s.name = std::move(name);
  s.dtype = dtype;
  s.strides = dense_strides(shape);
  s.shape = std::move(shape);
  const std::int64_t bytes = tensor.elements() * size_bytes(dtype);  // fits: check_shape
  // A nothrow allocation: a failure is an ordinary answer here (named below), also under
  // AddressSanitizer, whose throwing new reports out-of-memory as a crash.
  s.owned.reset(new (std::nothrow) std::byte[static_cast<std::size_t>(std::max<std::int64_t>(bytes, 1))]());
  if (!s.owned) {
    throw Error(fmt::format("tensor '{}': cannot allocate {} bytes of host memory for [{}] {}", s.name, bytes,
                            fmt::join(s.shape, ", "), pto::name(dtype)));
  }
  s.data = s.owned.get();
  return tensor;
}

Tensor Tensor::wrap(std::string name, void* data, DType dtype, std::vector<std::int64_t> shape,
                    std::vector<std::int64_t> strides) {
  check_shape(name, shape, dtype);
  if (data == nullptr) throw Error(fmt::format("tensor '{}': wrap() needs the data pointer, got null", name));
  if (strides.empty()) strides = dense_strides(shape);
  if (strides.size() != shape.size()) {
    throw Error(fmt::format("tensor '{}': {} strides for {} dimensions; give one stride (in elements) per dimension",
                            name, strides.size(), shape.size()));
  }
  for (std::int64_t stride : strides) {
    if (stride < 0) throw Error(fmt::format("tensor '{}': negative strides are not supported", name));
  }
  if (!footprint(shape, strides, dtype)) {
    throw Error(fmt::format("tensor '{}': shape [{}] with strides [{}] spans more bytes than an int64 counts", name,
                            fmt::join(shape, ", "), fmt::join(strides, ", ")));
  }
  Tensor tensor;
  tensor.storage_ = std::make_shared<Storage>();
  Storage& s = *tensor.storage_;
  s.name = std::move(name);
  s.dtype = dtype;
  s.shape = std::move(shape);
  s.strides = std::move(strides);
  s.data = data;
  return tensor;
}

Tensor Tensor::device(std::string name, DType dtype, std::vector<std::int64_t> shape, int device) {
  check_shape(name, shape, dtype);
#if PTO_HAVE_CUDA
  Tensor tensor;
  tensor.storage_ = std::make_shared<Storage>();
  Storage& s = *tensor.storage_;
  s.name = std::move(name);
  s.dtype = dtype;
  s.strides = dense_strides(shape);
  s.shape = std::move(shape);
  s.device = device;
  const std::shared_ptr<cuda::Device> gpu = cuda::Device::get(device);
  // At least one byte, so that an empty tensor still has a distinct address.
  const auto bytes = static_cast<std::size_t>(std::max<std::int64_t>(tensor.footprint_bytes(), 1));
  s.device_memory = std::make_shared<cuda::DeviceBuffer>(gpu, bytes);
  const cuda::Stream stream(gpu);
  s.device_memory->fill_zero(stream);
  stream.synchronize();
  s.data = s.device_memory->pointer();
  return tensor;
#else
  (void)dtype;
  (void)device;
  throw Error(
      fmt::format("tensor '{}': Tensor::device needs a build with CUDA (this one has none); use Tensor::host", name));
#endif
}

bool Tensor::on_device() const {
  return storage_->device >= 0;
}
int Tensor::device_ordinal() const {
  return storage_->device;
}

void Tensor::check_host(const char* operation) const {
  if (on_device()) {
    throw Error(
        fmt::format("tensor '{}': {}() reads host memory, but the tensor is in the memory of CUDA device {}; "
                    "copy it out with copy_to() or to_vector()",
                    name(), operation, device_ordinal()));
  }
}

void Tensor::check_copy(const char* operation, std::size_t bytes) const {
  if (bytes != static_cast<std::size_t>(footprint_bytes())) {
    throw Error(fmt::format("tensor '{}' [{}] {}: {} bytes given; the tensor spans {} bytes", name(),
                            fmt::join(shape(), "x"), operation, bytes, footprint_bytes()));
  }
}

void Tensor::copy_from(const void* source, std::size_t bytes) const {
  check_copy("copy_from", bytes);
  if (bytes == 0) return;
#if PTO_HAVE_CUDA
  if (on_device()) {
    const std::shared_ptr<cuda::Device> gpu = cuda::Device::get(device_ordinal());
    const cuda::Stream stream(gpu);
    storage_->device_memory->upload(source, bytes, stream);
    stream.synchronize();
    return;
  }
#endif
  std::memcpy(data(), source, bytes);
}

void Tensor::copy_to(void* destination, std::size_t bytes) const {
  check_copy("copy_to", bytes);
  if (bytes == 0) return;
#if PTO_HAVE_CUDA
  if (on_device()) {
    const std::shared_ptr<cuda::Device> gpu = cuda::Device::get(device_ordinal());
    const cuda::Stream stream(gpu);
    storage_->device_memory->download(destination, bytes, stream);
    stream.synchronize();
    return;
  }
#endif
  std::memcpy(destination, data(), bytes);
}

const std::string& Tensor::name() const {
  return storage_->name;
}
DType Tensor::dtype() const {
  return storage_->dtype;
}
const std::vector<std::int64_t>& Tensor::shape() const {
  return storage_->shape;
}
const std::vector<std::int64_t>& Tensor::strides() const {
  return storage_->strides;
}
void* Tensor::data() const {
  return storage_->data;
}

std::int64_t Tensor::elements() const {
  std::int64_t n = 1;
  for (std::int64_t extent : shape()) n *= extent;
  return n;
}

std::int64_t Tensor::footprint_bytes() const {
  return *footprint(shape(), strides(), dtype());  // checked when the tensor was made
}

void Tensor::check_dtype(DType wanted) const {
  if (wanted != dtype()) {
    throw Error(fmt::format("tensor '{}' holds {}, not {}", name(), pto::name(dtype()), pto::name(wanted)));
  }
}

View Tensor::view() const {
  if (!valid()) throw Error("a view of an empty Tensor: create it with Tensor::host or Tensor::wrap first");
  View v;
  v.tensor_ = *this;
  for (std::size_t i = 0; i < shape().size(); ++i) v.dims_.push_back({shape()[i], strides()[i]});
  v.description_ = name();
  return v;
}
View Tensor::operator[](const Expr& index) const {
  return view()[index];
}
View Tensor::at(int dim, const Expr& index) const {
  return view().at(dim, index);
}
View Tensor::rows(const Expr& start, const Expr& count) const {
  return view().rows(start, count);
}
View Tensor::slice(int dim, const Expr& start, const Expr& count) const {
  return view().slice(dim, start, count);
}

void View::check_dim(int dim, const char* op) const {
  if (dim < 0 || dim >= rank()) {
    throw Error(
        fmt::format("{}.{}: dimension {} does not exist; the view has {} dimension(s)", description_, op, dim, rank()));
  }
}

View View::at(int dim, const Expr& index) const {
  check_dim(dim, "at");
  View v = *this;
  const Dim removed = dims_[static_cast<std::size_t>(dim)];
  v.checks_.push_back({index, 1, removed.extent, dim, true});
  v.offset_ = offset_ + index * removed.stride;
  v.dims_.erase(v.dims_.begin() + dim);
  v.description_ = dim == 0 ? fmt::format("{}[{}]", description_, index.to_string())
                            : fmt::format("{}.at({}, {})", description_, dim, index.to_string());
  return v;
}

View View::slice(int dim, const Expr& start, const Expr& count) const {
  check_dim(dim, "slice");
  View v = *this;
  Dim& d = v.dims_[static_cast<std::size_t>(dim)];
  v.checks_.push_back({start, count, d.extent, dim, false});
  v.offset_ = offset_ + start * d.stride;
  d.extent = count;
  v.description_ = dim == 0
                       ? fmt::format("{}.rows({}, {})", description_, start.to_string(), count.to_string())
                       : fmt::format("{}.slice({}, {}, {})", description_, dim, start.to_string(), count.to_string());
  return v;
}

std::string View::binding_problem() const {
  if (rank() > 2) {
    return fmt::format(
        "the view {} has {} dimensions; a kernel parameter takes at most 2: index or slice it down "
        "with [] / at(dim, i)",
        description_, rank());
  }
  if (rank() >= 1) {
    const Dim& last = dims_.back();
    const bool single = last.extent.is_constant() && last.extent.constant_value() <= 1;
    if (last.stride != 1 && !single) {
      return fmt::format(
          "the view {} has a column stride of {}; a kernel parameter needs contiguous rows "
          "(column stride 1)",
          description_, last.stride);
    }
  }
  return {};
}

void View::collect_sizes(std::vector<std::string>& names) const {
  offset_.collect_sizes(names);
  for (const Dim& dim : dims_) dim.extent.collect_sizes(names);
  for (const Check& check : checks_) {
    check.value.collect_sizes(names);
    check.count.collect_sizes(names);
    check.extent.collect_sizes(names);
  }
}

ResolvedView View::resolve(const ExprEnv& env) const {
  for (const Check& check : checks_) {
    const std::int64_t value = check.value.eval(env), count = check.count.eval(env), extent = check.extent.eval(env);
    if (!in_bounds(value, count, extent)) {
      const std::string shown = check.is_index ? fmt::format("index {} ({})", value, check.value.to_string())
                                               : fmt::format("rows [{}, {}) ({}, count {})", value, value + count,
                                                             check.value.to_string(), check.count.to_string());
      throw Error(fmt::format("view {} of tensor '{}' [{}]: {} is outside dimension {} of extent {}", description_,
                              tensor_.name(), fmt::join(tensor_.shape(), "x"), shown, check.dim, extent));
    }
  }
  TensorView out;
  out.dtype = tensor_.dtype();
  const std::int64_t offset = offset_.eval(env);
  out.data = static_cast<std::byte*>(tensor_.data()) + offset * size_bytes(out.dtype);
  if (rank() == 0) {
    out.rows = out.cols = 1;
    out.row_stride = 1;
  } else if (rank() == 1) {
    out.rows = 1;
    out.cols = dims_[0].extent.eval(env);
    out.row_stride = out.cols;
  } else {
    out.rows = dims_[0].extent.eval(env);
    out.cols = dims_[1].extent.eval(env);
    out.row_stride = dims_[0].stride;
  }
  // The exact bytes: rows of cols elements, one row stride apart (a head of an NHD tensor
  // does not overlap the other heads, although its span interleaves with theirs).
  const auto element = static_cast<std::size_t>(size_bytes(out.dtype));
  const auto rows = static_cast<std::size_t>(out.rows), cols = static_cast<std::size_t>(out.cols);
  return {out, strided_bytes(out.data, rows, cols * element, static_cast<std::size_t>(out.stride()) * element)};
}

}  // namespace pto
