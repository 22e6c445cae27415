# User-facing build options. PTO_WITH_LLVM / PTO_WITH_CUDA take AUTO (on when found),
# ON (fail configure when not found) or OFF.
set(PTO_WITH_LLVM AUTO CACHE STRING "Build the LLVM ORC CPU backend: AUTO, ON or OFF")
set_property(CACHE PTO_WITH_LLVM PROPERTY STRINGS AUTO ON OFF)
set(PTO_WITH_CUDA AUTO CACHE STRING "Build the CUDA backend (NVRTC + dlopen'd driver): AUTO, ON or OFF")
set_property(CACHE PTO_WITH_CUDA PROPERTY STRINGS AUTO ON OFF)
option(PTO_WERROR "Treat compiler warnings as errors (CI turns this on)" OFF)
set(PTO_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. 'address,undefined' or 'thread'")
option(PTO_BUILD_TESTS "Build the doctest suites" ON)
option(PTO_BUILD_FUZZERS "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)
set(PTO_FUZZ_SMOKE_SECONDS 45 CACHE STRING "Seconds each fuzz target runs as a ctest case (label fuzz)")

foreach(opt PTO_WITH_LLVM PTO_WITH_CUDA)
  string(TOUPPER "${${opt}}" value)
  if(value STREQUAL "TRUE" OR value STREQUAL "YES" OR value STREQUAL "1")
    set(value ON)
  elseif(value STREQUAL "FALSE" OR value STREQUAL "NO" OR value STREQUAL "0")
    set(value OFF)
  endif()
  if(NOT value MATCHES "^(AUTO|ON|OFF)$")
    message(FATAL_ERROR "${opt}=${${opt}} is not valid: use AUTO, ON or OFF")
  endif()
  set(${opt} "${value}" CACHE STRING "" FORCE)
endforeach()

if(PTO_SANITIZE MATCHES "thread" AND PTO_SANITIZE MATCHES "address")
  message(FATAL_ERROR "PTO_SANITIZE='${PTO_SANITIZE}': ThreadSanitizer cannot be combined with AddressSanitizer; build them separately")
endif()

if(PTO_BUILD_FUZZERS AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "PTO_BUILD_FUZZERS=ON needs clang (libFuzzer); configure with CC=clang CXX=clang++")
endif()
# The coverage hooks every library calls are defined by libFuzzer in the fuzz targets and by
# the sanitizer runtime in every other binary.
if(PTO_BUILD_FUZZERS AND NOT PTO_SANITIZE)
  message(FATAL_ERROR "PTO_BUILD_FUZZERS=ON needs a sanitizer build: add -DPTO_SANITIZE=address,undefined")
endif()
