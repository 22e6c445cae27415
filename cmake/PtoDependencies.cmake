# Finds PTO-RT's dependencies. Debian package names are given in every failure message,
# scripts/install-deps.sh installs them.

macro(pto_require_package name debian_package)
  find_package(${name} CONFIG QUIET)
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "PTO-RT needs ${name}: install the Debian package '${debian_package}' "
                        "(bash scripts/install-deps.sh does), or point CMAKE_PREFIX_PATH at it")
  endif()
endmacro()

pto_require_package(fmt libfmt-dev)
pto_require_package(nlohmann_json nlohmann-json3-dev)
pto_require_package(CLI11 libcli11-dev)
if(PTO_BUILD_TESTS)
  pto_require_package(doctest doctest-dev)
endif()

# ---- LLVM: the newest of 14..19, or the one LLVM_DIR names --------------------------------
set(PTO_HAVE_LLVM OFF)
if(NOT PTO_WITH_LLVM STREQUAL "OFF")
  if(LLVM_DIR)
    find_package(LLVM CONFIG QUIET)
  else()
    foreach(version 19 18 17 16 15 14)
      find_package(LLVM CONFIG QUIET PATHS "/usr/lib/llvm-${version}/lib/cmake/llvm" NO_DEFAULT_PATH)
      if(LLVM_FOUND)
        break()
      endif()
    endforeach()
  endif()
  if(LLVM_FOUND AND LLVM_VERSION_MAJOR GREATER_EQUAL 14 AND LLVM_VERSION_MAJOR LESS_EQUAL 19)
    set(PTO_HAVE_LLVM ON)
  elseif(PTO_WITH_LLVM STREQUAL "ON")
    message(FATAL_ERROR "PTO_WITH_LLVM=ON but no LLVM 14..19 development files were found: "
                        "install 'llvm-19-dev' (or llvm-14-dev), set LLVM_DIR, or configure with -DPTO_WITH_LLVM=OFF")
  endif()
endif()

if(PTO_HAVE_LLVM)
  # Link the shared libLLVM when the distribution ships one: one fast link, no static
  # system-library dependencies (zlib, terminfo, ...) to chase.
  if(TARGET LLVM)
    set(PTO_LLVM_LIBS LLVM)
    set(PTO_LLVM_LINKAGE "shared libLLVM")
  else()
    llvm_map_components_to_libnames(PTO_LLVM_LIBS support core orcjit native)
    set(PTO_LLVM_LINKAGE "static components")
  endif()
  separate_arguments(PTO_LLVM_DEFINITIONS NATIVE_COMMAND "${LLVM_DEFINITIONS}")
endif()

# ---- CUDA toolkit: NVRTC and headers only; libcuda.so.1 is dlopen'd at run time ------------
set(PTO_HAVE_CUDA OFF)
if(NOT PTO_WITH_CUDA STREQUAL "OFF")
  if(NOT CUDAToolkit_ROOT AND NOT DEFINED ENV{CUDAToolkit_ROOT} AND EXISTS /usr/local/cuda)
    set(CUDAToolkit_ROOT /usr/local/cuda)
  endif()
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND AND CUDA_nvrtc_LIBRARY AND CUDAToolkit_VERSION_MAJOR GREATER_EQUAL 12)
    set(PTO_HAVE_CUDA ON)
    get_filename_component(PTO_CUDA_ROOT "${CUDAToolkit_BIN_DIR}" DIRECTORY)
  elseif(PTO_WITH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "PTO_WITH_CUDA=ON but no CUDA toolkit (>= 12, with NVRTC) was found: "
                        "install it under /usr/local/cuda, set CUDAToolkit_ROOT, or configure with -DPTO_WITH_CUDA=OFF")
  endif()
endif()
