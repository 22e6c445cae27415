// A kernel, its arguments and their data, decoded from fuzzer bytes through the tl:: DSL:
// globals of every dtype with static or dynamic extents and padded rows, scalar parameters,
// loads and stores at offsets that may leave their tensor, every op family, loops whose
// bounds may sit at the ends of the int64 range. What the bytes choose is what a user could
// write; the builder may reject it (a pto::Error), which is a valid outcome.
//
// Resource bounds of the harness, not of PTO-RT: tiles of at most 16x16, at most 64 iterations
// per loop nest, and at most 40 steps, so that one input runs in milliseconds.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dsl/arguments.hpp"
#include "dsl/builder.hpp"

namespace pto::fuzz {

// What the generated values may be. `any`: every value the DSL allows, inf and NaN included
// (for the interpreter alone: no crash, no UB, only pto::Errors). `comparable`: float
// operands of transcendental functions, reductions and matmuls are clamped to a range where
// every executor's float results agree to a tolerance (docs/backends.md), so a difference
// between executors is a finding; integer ops, loads, stores and faults are unrestricted.
enum class ValueRange { any, comparable };

struct HostBuffer {
  std::string name;
  DType dtype = DType::f32;
  std::int64_t rows = 0, cols = 0, row_stride = 0;
  std::vector<unsigned char> bytes;

  TensorView view() { return TensorView{bytes.data(), dtype, rows, cols, row_stride}; }
  double get(std::int64_t row, std::int64_t col) const;
};

struct GeneratedKernel {
  tl::KernelInstance kernel;
  std::vector<HostBuffer> tensors;
  std::vector<std::pair<std::string, std::int64_t>> integers;
  std::vector<std::pair<std::string, double>> floats;

  // Arguments pointing at `tensors` (the caller copies the struct to run twice on equal data).
  KernelArgs args();
};

// nullopt when the builder rejected what the bytes asked for; `rejection` then holds why.
std::optional<GeneratedKernel> generate_kernel(FuzzedDataProvider& data, ValueRange range, std::string& rejection);

}  // namespace pto::fuzz
