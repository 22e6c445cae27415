#!/usr/bin/env bash
# Installs the Debian packages PTO-RT builds with, but only those that are missing:
# on a machine that has them all, nothing touches the network (so it also works offline).
#
#   bash scripts/install-deps.sh [extra-package ...]
#
# LLVM: any llvm-N-dev with N in 14..19 satisfies the build (CMake picks the newest);
# when none is present, llvm-19-dev is installed (or Debian's default llvm-dev), unless
# PTO_CMAKE_ARGS contains -DPTO_WITH_LLVM=OFF (e.g. on a GPU machine without LLVM).
set -euo pipefail

required=(cmake ninja-build g++ libfmt-dev doctest-dev nlohmann-json3-dev libcli11-dev "$@")

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for pkg in "${required[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

have_llvm=0
case "${PTO_CMAKE_ARGS:-}" in *PTO_WITH_LLVM=OFF*) have_llvm=1 ;; esac
for v in 19 18 17 16 15 14; do
  if is_installed "llvm-$v-dev"; then have_llvm=1; break; fi
done

if [ "${#missing[@]}" -eq 0 ] && [ "$have_llvm" -eq 1 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: missing packages (${missing[*]:-an llvm-N-dev, N in 14..19}) and no apt-get here;" >&2
  echo "install-deps: install them with your package manager, then run this again." >&2
  exit 1
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-deps: need root (or sudo) to install: ${missing[*]:-llvm-19-dev}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]:-} $([ "$have_llvm" -eq 1 ] || echo 'and an LLVM dev package')"
"${sudo_cmd[@]}" apt-get update -qq
if [ "${#missing[@]}" -gt 0 ]; then
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ "$have_llvm" -eq 0 ]; then
  if apt-cache show llvm-19-dev >/dev/null 2>&1; then
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends llvm-19-dev
  else
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends llvm-dev
  fi
fi
