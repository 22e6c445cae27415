// pto::SourceLocation: the user's source line an error is about.
//
// Why not std::source_location: clang 14 with libstdc++ 12 (Debian 12's default pair, one
// of the two compilers PTO-RT supports) lacks __builtin_source_location, so <source_location>
// is empty there. The __builtin_FILE/LINE/FUNCTION intrinsics work in both g++ and clang and,
// as default arguments, are evaluated at the caller, exactly like std::source_location::current().
#pragma once

namespace pto {

struct SourceLocation {
  const char* file = "";
  unsigned line = 0;
  const char* function = "";

  static constexpr SourceLocation current(const char* file = __builtin_FILE(), unsigned line = __builtin_LINE(),
                                          const char* function = __builtin_FUNCTION()) noexcept {
    return SourceLocation{file, line, function};
  }
};

}  // namespace pto
