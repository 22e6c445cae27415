// Running a generated kernel on one executor and holding the result to the rules every
// executor keeps: a pto::Error or outputs, inputs unchanged, and no byte written outside a
// tensor's valid region (the padding between rows included).
#pragma once

#include <optional>
#include <string>

#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/kernel_generator.hpp"

namespace pto::fuzz {

struct RunResult {
  std::optional<std::string> error;  // the pto::Error message (a fault or a binding error)
};

// Runs `execute(args)` on `kernel`'s buffers; a PTO-RT bug or a foreign exception aborts.
template <typename Execute>
RunResult run_on(GeneratedKernel& kernel, Execute&& execute) {
  RunResult result;
  const KernelArgs args = kernel.args();
  const std::string error = expect_user_errors_only([&] { execute(args); });
  if (!error.empty()) result.error = error;
  return result;
}

// Aborts naming the tensor and element when `after` wrote an input or a padding byte that
// `before` holds.
void check_untouched(const GeneratedKernel& before, const GeneratedKernel& after, const std::string& executor);

// The kernel's IR and arguments, for a finding's message.
std::string describe(const GeneratedKernel& kernel);

}  // namespace pto::fuzz
