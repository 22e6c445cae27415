# Warnings and sanitizers, applied per target so that third-party code is not affected.
set(PTO_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
                      -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough
                      # g++ 12 warns about every member a C++20 designated initializer leaves to its
                      # default (`{.window = ...}`), which is how PTO-RT's option structs are meant to be used.
                      -Wno-missing-field-initializers
                      # Executors switch over the op enums without `default:` (dsl/ir.hpp): a new op
                      # must not build until every executor handles it, in every build.
                      -Werror=switch)
if(PTO_WERROR)
  list(APPEND PTO_WARNING_FLAGS -Werror)
endif()

if(PTO_SANITIZE)
  set(PTO_SANITIZER_FLAGS -fsanitize=${PTO_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  # Sanitized code and everything linked with it: apply globally so libraries agree.
  add_compile_options(${PTO_SANITIZER_FLAGS})
  add_link_options(-fsanitize=${PTO_SANITIZE})
endif()

if(PTO_BUILD_FUZZERS)
  # Coverage feedback for libFuzzer from every library; the targets add libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

function(pto_set_warnings target)
  target_compile_options(${target} PRIVATE ${PTO_WARNING_FLAGS})
endfunction()
