// dsl/op_formulas.hpp's arithmetic as CUDA C++ expression text (f32), for the code generator
// and for the support header's functions, so that both render the formulas the interpreter
// and the LLVM backend compute.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string>

namespace pto::cuda {

struct CudaMath {
  using Value = std::string;
  // The shortest decimal that rounds back to the same f32, as a float literal.
  static std::string constant(double x) {
    const auto value = static_cast<float>(x);
    std::string text = fmt::format("{}", value);
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    return text + "f";
  }
  static std::string add(const std::string& a, const std::string& b) { return fmt::format("({} + {})", a, b); }
  static std::string sub(const std::string& a, const std::string& b) { return fmt::format("({} - {})", a, b); }
  static std::string mul(const std::string& a, const std::string& b) { return fmt::format("({} * {})", a, b); }
  static std::string div(const std::string& a, const std::string& b) { return fmt::format("({} / {})", a, b); }
  static std::string neg(const std::string& a) { return fmt::format("(-{})", a); }
  static std::string exp(const std::string& a) { return fmt::format("expf({})", a); }
  static std::string sqrt(const std::string& a) { return fmt::format("sqrtf({})", a); }
  static std::string erf(const std::string& a) { return fmt::format("erff({})", a); }
};

}  // namespace pto::cuda
