// pto::Error: the one exception type PTO-RT throws, and pto::InternalError, its kind for
// PTO-RT's own bugs.
//
// Every failure the library reports (DSL misuse, NVRTC/CUDA/LLVM/I-O failures) becomes a
// pto::Error whose message says what went wrong and how to fix it. Errors caused by a line
// of the user's code carry that line (pto::SourceLocation) and print it first, the way a
// compiler diagnostic does. Library code never calls exit() or abort().
//
// A broken invariant of PTO-RT itself (a backend meeting a node the verifier should have
// rejected, a fault record naming a node that does not exist) is an InternalError: still a
// pto::Error, so one handler catches both, but a different type, so tests and tools can
// tell a user's mistake from a PTO-RT bug. Its message says so. PTO_INTERNAL_CHECK is the
// assertion form (Halide's internal_assert): it stays on in release builds.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "core/source_location.hpp"

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

// A PTO-RT bug: `message` says what was found; the text adds "(a PTO-RT bug)" and where in
// PTO-RT's sources it was detected.
class InternalError : public Error {
 public:
  explicit InternalError(const std::string& message, SourceLocation detected_at = SourceLocation::current());
};

}  // namespace pto

// Throws pto::InternalError(message) when `condition` is false.
#define PTO_INTERNAL_CHECK(condition, message)                                              \
  do {                                                                                      \
    if (!(condition)) throw ::pto::InternalError(std::string(#condition ": ") + (message)); \
  } while (false)
