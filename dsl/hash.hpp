// The structural hash of a kernel: the key of the JIT caches (LLVM object cache, cubin cache).
// Equal for kernels with the same parameters (names included: arguments bind by name), ops,
// types and attributes, whatever the kernel is called;
// stable across runs and machines (FNV-1a over the printer's canonical text).
#pragma once

#include <cstdint>
#include <string>

#include "dsl/ir.hpp"

namespace pto::ir {

std::uint64_t structural_hash(const Kernel& kernel);
std::string hash_hex(std::uint64_t hash);  // 16 lowercase hex digits

}  // namespace pto::ir
