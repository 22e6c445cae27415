#!/usr/bin/env bash
# The README's run command: installs missing Debian packages, builds PTO-RT and runs the
# main example, FlashInfer-style decode attention (examples/flashinfer_decode), on the CPU
# with the seed's configuration. Arguments are passed to the example
# (e.g. --device cuda, --paged, --seq-lens 512,4096 --heads 8).
#
# Environment: PTO_BUILD_DIR (default: build), PTO_CMAKE_ARGS (extra configure arguments).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

build_dir=${PTO_BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build_dir" -G Ninja ${PTO_CMAKE_ARGS:-}
cmake --build "$build_dir" -j"$(nproc)" --target flashinfer_decode
"$build_dir/bin/flashinfer_decode" "$@"
