#!/bin/sh
# memory_limited.sh KIB [--sparse-safetensors FILE TOKENS HEADS HEAD_DIM] COMMAND...
# Runs COMMAND with at most KIB KiB of address space (ulimit -v), as on a machine or in a
# container with that much memory: allocations beyond it fail (std::bad_alloc) instead of
# being overcommitted. With --sparse-safetensors, first writes FILE: a valid decode-inputs
# safetensors file (q [1, HEADS, HEAD_DIM], k and v [TOKENS, HEADS, HEAD_DIM], F16) whose
# data is a hole, so it is large without using disk; it is removed after COMMAND ran.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: memory_limited.sh KIB [--sparse-safetensors FILE TOKENS HEADS HEAD_DIM] COMMAND..." >&2
  exit 64
fi
limit=$1
shift
file=""
if [ "$1" = "--sparse-safetensors" ]; then
  file=$2 tokens=$3 heads=$4 dim=$5
  shift 5
  q=$((heads * dim * 2))
  kv=$((tokens * heads * dim * 2))
  header=$(printf '{"q":{"dtype":"F16","shape":[1,%s,%s],"data_offsets":[0,%s]},"k":{"dtype":"F16","shape":[%s,%s,%s],"data_offsets":[%s,%s]},"v":{"dtype":"F16","shape":[%s,%s,%s],"data_offsets":[%s,%s]}}' \
    "$heads" "$dim" "$q" "$tokens" "$heads" "$dim" "$q" "$((q + kv))" "$tokens" "$heads" "$dim" "$((q + kv))" "$((q + 2 * kv))")
  length=${#header}
  # The 8-byte little-endian header length, as octal escapes for printf.
  bytes=""
  n=$length
  for _ in 1 2 3 4 5 6 7 8; do
    bytes="$bytes\\$(printf '%03o' $((n % 256)))"
    n=$((n / 256))
  done
  # shellcheck disable=SC2059  # the format is the escapes built above
  printf "$bytes" > "$file"
  printf '%s' "$header" >> "$file"
  truncate -s $((8 + length + q + 2 * kv)) "$file"
fi
status=0
(ulimit -v "$limit" && exec "$@") || status=$?
if [ -n "$file" ]; then rm -f "$file"; fi
exit "$status"
