#!/usr/bin/env bash
# The README's run command: installs missing Debian packages, builds PTO-RT and runs the
# main example. Until the flagship example (examples/flashinfer_decode) exists, that is
# `pto info`: what this build can do and which devices it found.
#
# Environment: PTO_BUILD_DIR (default: build), PTO_CMAKE_ARGS (extra configure arguments).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

build_dir=${PTO_BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build_dir" -G Ninja ${PTO_CMAKE_ARGS:-}
cmake --build "$build_dir" -j"$(nproc)" --target pto_cli
"$build_dir/bin/pto" info
