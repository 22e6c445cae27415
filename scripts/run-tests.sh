#!/usr/bin/env bash
# The README's test command: installs missing Debian packages, builds PTO-RT with its
# tests, and runs every test (ctest's closing line gives the count).
#
# Environment (all optional):
#   PTO_BUILD_DIR   build folder (default: build)
#   PTO_SANITIZE    e.g. address,undefined or thread
#   PTO_CMAKE_ARGS  extra configure arguments, e.g. -DPTO_WITH_LLVM=OFF
#   PTO_CTEST_ARGS  extra ctest arguments, e.g. -L scheduler
#   CC / CXX        compilers (default: the system's c++)
#   CI=true         warnings become errors
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

build_dir=${PTO_BUILD_DIR:-build}
werror=OFF
if [ "${CI:-}" = "true" ]; then werror=ON; fi

# shellcheck disable=SC2086  # PTO_CMAKE_ARGS / PTO_CTEST_ARGS are word lists on purpose
cmake -S . -B "$build_dir" -G Ninja -DPTO_BUILD_TESTS=ON -DPTO_WERROR="$werror" \
      -DPTO_SANITIZE="${PTO_SANITIZE:-}" ${PTO_CMAKE_ARGS:-}
cmake --build "$build_dir" -j"$(nproc)"
# shellcheck disable=SC2086
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)" ${PTO_CTEST_ARGS:-}
