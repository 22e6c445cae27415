// Helpers for the DSL tests: random host tensors and element-wise comparison.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <cstring>
#include <map>
#include <optional>
#include <string>

#include "dsl/arguments.hpp"
#include "dsl/builder.hpp"
#include "dsl/dtype.hpp"
#include "dsl/interpreter.hpp"
#include "runtime/build_config.hpp"
#include "runtime/cpu/cpu_kernel.hpp"
#if PTO_HAVE_CUDA
#include "runtime/cuda/cuda_kernel.hpp"
#include "runtime/cuda/device_probe.hpp"
#endif
#include "core/error.hpp"

namespace pto::test {

// The tile shapes every op is swept over: single rows and columns, non-powers of two, and
// one realistic attention block.
inline const std::vector<std::pair<std::int64_t, std::int64_t>> shape_sweep = {{1, 1}, {1, 7},   {5, 1},
                                                                               {3, 5}, {16, 33}, {64, 128}};

// Host storage of one tensor in any dtype, plus a double copy of its (rounded) values.
struct HostTensor {
  DType dtype = DType::f32;
  std::int64_t rows = 0, cols = 0;
  std::vector<unsigned char> bytes;

  HostTensor(DType type, std::int64_t r, std::int64_t c)
      : dtype(type), rows(r), cols(c), bytes(static_cast<std::size_t>(r * c * size_bytes(type)), 0) {}

  TensorView view() { return TensorView{bytes.data(), dtype, rows, cols, cols}; }

  double get(std::int64_t r, std::int64_t c) const {
    const std::size_t k = static_cast<std::size_t>(r * cols + c);
    switch (dtype) {
      case DType::f16: return f16_bits_to_f32(reinterpret_cast<const std::uint16_t*>(bytes.data())[k]);
      case DType::bf16: return bf16_bits_to_f32(reinterpret_cast<const std::uint16_t*>(bytes.data())[k]);
      case DType::f32: return reinterpret_cast<const float*>(bytes.data())[k];
      case DType::i32: return reinterpret_cast<const std::int32_t*>(bytes.data())[k];
      case DType::i64: return static_cast<double>(reinterpret_cast<const std::int64_t*>(bytes.data())[k]);
    }
    return 0;
  }
  void set(std::int64_t r, std::int64_t c, double x) {
    const std::size_t k = static_cast<std::size_t>(r * cols + c);
    switch (dtype) {
      case DType::f16: reinterpret_cast<std::uint16_t*>(bytes.data())[k] = f32_to_f16_bits(float(x)); return;
      case DType::bf16: reinterpret_cast<std::uint16_t*>(bytes.data())[k] = f32_to_bf16_bits(float(x)); return;
      case DType::f32: reinterpret_cast<float*>(bytes.data())[k] = float(x); return;
      case DType::i32: reinterpret_cast<std::int32_t*>(bytes.data())[k] = std::int32_t(x); return;
      case DType::i64: reinterpret_cast<std::int64_t*>(bytes.data())[k] = std::int64_t(x); return;
    }
  }
  void fill_random(std::mt19937& rng, double low, double high) {
    std::uniform_real_distribution<double> dist(low, high);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) set(r, c, is_float(dtype) ? dist(rng) : std::floor(dist(rng)));
  }
};

// |actual - expected| <= abs_tol + rel_tol * |expected| for every element (NaN must match NaN).
inline void check_close(const HostTensor& actual, const std::vector<double>& expected, double rel_tol,
                        double abs_tol = 1e-6) {
  REQUIRE(expected.size() == static_cast<std::size_t>(actual.rows * actual.cols));
  for (std::int64_t r = 0; r < actual.rows; ++r) {
    for (std::int64_t c = 0; c < actual.cols; ++c) {
      const double want = expected[static_cast<std::size_t>(r * actual.cols + c)];
      const double got = actual.get(r, c);
      INFO("element [", r, ",", c, "] of [", actual.rows, ",", actual.cols, "]: got ", got, ", expected ", want);
      if (std::isnan(want)) {
        CHECK(std::isnan(got));
      } else if (std::isinf(want)) {
        CHECK(got == want);
      } else {
        CHECK(std::fabs(got - want) <= abs_tol + rel_tol * std::fabs(want));
      }
    }
  }
}

// Copies of every tensor binding of `args`, and arguments pointing at them: what a
// compiled backend runs on, so that its outputs can be compared with the interpreter's.
struct ArgsCopy {
  std::map<std::string, std::vector<unsigned char>> tensors;
  KernelArgs args;

  explicit ArgsCopy(const KernelArgs& original) {
    for (const auto& [name, binding] : original.bindings()) {
      if (const auto* tensor = std::get_if<TensorView>(&binding)) {
        const std::size_t bytes = static_cast<std::size_t>(
            ((tensor->rows > 0 ? tensor->rows - 1 : 0) * tensor->stride() + tensor->cols) * size_bytes(tensor->dtype));
        auto& copy = tensors[name];
        copy.resize(bytes);
        if (bytes > 0 && tensor->data != nullptr) std::memcpy(copy.data(), tensor->data, bytes);
        TensorView view = *tensor;
        view.data = tensor->data != nullptr ? copy.data() : nullptr;
        args.set(name, view);
      } else if (const auto* integer = std::get_if<std::int64_t>(&binding)) {
        args.set(name, *integer);
      } else {
        args.set(name, std::get<double>(binding));
      }
    }
  }
};

// Holds a compiled backend's outputs (in `copy`) to the interpreter's (in `args`): equal
// within `rel_tol` of each output's largest magnitude, integers exactly.
inline void compare_outputs(const char* backend, const tl::KernelInstance& kernel, const KernelArgs& args,
                            const ArgsCopy& copy, double rel_tol) {
  for (const ir::Param& param : kernel.ir().params) {
    if (param.role == ir::ParamRole::in || param.type.is_scalar()) continue;
    const auto& tensor = std::get<TensorView>(args.bindings().at(param.name));
    HostTensor expected(tensor.dtype, tensor.rows, tensor.cols), actual(tensor.dtype, tensor.rows, tensor.cols);
    const int element = size_bytes(tensor.dtype);
    for (std::int64_t r = 0; r < tensor.rows; ++r) {
      const std::size_t offset = static_cast<std::size_t>(r * tensor.stride() * element);
      const std::size_t row_bytes = static_cast<std::size_t>(tensor.cols * element);
      std::memcpy(expected.bytes.data() + r * tensor.cols * element,
                  static_cast<const unsigned char*>(tensor.data) + offset, row_bytes);
      std::memcpy(actual.bytes.data() + r * tensor.cols * element, copy.tensors.at(param.name).data() + offset,
                  row_bytes);
    }
    double scale = 1.0;
    for (std::int64_t r = 0; r < tensor.rows; ++r)
      for (std::int64_t c = 0; c < tensor.cols; ++c)
        if (std::isfinite(expected.get(r, c))) scale = std::max(scale, std::fabs(expected.get(r, c)));
    int mismatches = 0;
    for (std::int64_t r = 0; r < tensor.rows && mismatches < 5; ++r) {
      for (std::int64_t c = 0; c < tensor.cols && mismatches < 5; ++c) {
        const double want = expected.get(r, c), got = actual.get(r, c);
        const bool same = std::isnan(want)                               ? std::isnan(got)
                          : is_integer(tensor.dtype) || std::isinf(want) ? got == want
                                                                         : std::fabs(got - want) <= rel_tol * scale;
        if (!same) {
          ++mismatches;
          INFO(std::string(backend), ": kernel '", kernel.name(), "' output '", param.name, "' [", r, ",", c,
               "]: compiled ", got, ", interpreter ", want, " (tolerance ", rel_tol * scale, ")");
          CHECK(same);
        }
      }
    }
  }
}

#if PTO_HAVE_CUDA
// Whether this machine has a CUDA device to run kernels on (probed once).
inline bool cuda_device_present() {
  static const bool present = cuda::probe_cuda().status == cuda::CudaStatus::devices_found;
  return present;
}
#endif

// Runs `kernel` on the reference interpreter (whose results land in the caller's buffers,
// for the test to check against hand-computed values) AND on every compiled backend this
// build has (each on copies of every tensor): the LLVM CPU backend, and the CUDA backend
// (every kernel is compiled by NVRTC, on machines without a GPU too; it runs where a
// device is present). Each is held to the interpreter: outputs equal within `rel_tol` of
// the output's largest magnitude (integers exactly), and a fault in one is the same fault,
// with the same message, in the other. Tolerance: docs/backends.md.
inline void execute(const tl::KernelInstance& kernel, const KernelArgs& args, double rel_tol = 2e-5) {
  ArgsCopy cpu_copy(args);
  std::optional<std::string> cpu_error;
  try {
    cpu::CpuKernel(kernel).run(cpu_copy.args);
  } catch (const pto::Error& error) {
    cpu_error = error.what();
  }
#if PTO_HAVE_CUDA
  ArgsCopy cuda_copy(args);
  std::optional<std::string> cuda_error;
  const cuda::CudaKernel cuda_kernel(kernel);  // NVRTC compile errors fail the test here
  const bool on_gpu = cuda_device_present();
  if (on_gpu) {
    try {
      cuda_kernel.run(cuda_copy.args);
    } catch (const pto::Error& error) {
      cuda_error = error.what();
    }
  }
#endif
  try {
    interpret(kernel, args);
  } catch (const pto::Error& error) {
    INFO("the interpreter threw: ", error.what());
    CHECK(cpu_error.has_value());
    if (cpu_error) CHECK(*cpu_error == std::string(error.what()));
#if PTO_HAVE_CUDA
    if (on_gpu) {
      CHECK(cuda_error.has_value());
      if (cuda_error) CHECK(*cuda_error == std::string(error.what()));
    }
#endif
    throw;
  }
  if (cpu_error) FAIL("the CPU backend threw but the interpreter did not: " << *cpu_error);
  compare_outputs("cpu", kernel, args, cpu_copy, rel_tol);
#if PTO_HAVE_CUDA
  if (cuda_error) FAIL("the CUDA backend threw but the interpreter did not: " << *cuda_error);
  if (on_gpu) compare_outputs("cuda", kernel, args, cuda_copy, rel_tol);
#endif
}

}  // namespace pto::test
