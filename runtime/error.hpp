// pto::Error: the one exception type PTO-RT throws.
//
// Every failure the library reports (DSL misuse, NVRTC/CUDA/LLVM/I-O failures) becomes a
// pto::Error whose message says what went wrong and how to fix it. Errors caused by a line
// of the user's code carry that line (pto::SourceLocation) and print it first, the way a
// compiler diagnostic does. Library code never calls exit() or abort().
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "runtime/source_location.hpp"

namespace pto {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message);
  // `where` is the user's source line the error is about (not the library's).
  Error(const std::string& message, SourceLocation where);

  const std::string& message() const noexcept { return message_; }
  const std::optional<SourceLocation>& where() const noexcept { return where_; }

 private:
  std::string message_;
  std::optional<SourceLocation> where_;
};

}  // namespace pto
