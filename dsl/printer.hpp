// Renders kernel IR as readable text (docs/dsl.md shows an example):
//
//   kernel softmax(x: in tile<4x64xf16>, y: out tile<4x64xf32>) {
//     %2 = rowmax %x : tile<4x1xf32>
//     ...
//   }
//
// Parameters print by name; other values as %N (their ValueId, stable for a given build).
#pragma once

#include <string>

#include "dsl/ir.hpp"

namespace pto::ir {

struct PrintOptions {
  bool kernel_name = true;  // false: the header omits the name (used by the structural hash)
};

std::string print(const Kernel& kernel, PrintOptions options = {});

}  // namespace pto::ir
