#include "dsl/hash.hpp"

#include <fmt/format.h>

#include "dsl/printer.hpp"

namespace pto::ir {

std::uint64_t structural_hash(const Kernel& kernel) {
  // The printed text carries every attribute (numbers in shortest round-trip form), every
  // type and the value numbering, and no source locations: exactly the structure.
  const std::string text = print(kernel, PrintOptions{.kernel_name = false});
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64-bit offset basis
  for (unsigned char byte : text) {
    hash ^= byte;
    hash *= 0x100000001b3ull;  // FNV prime
  }
  return hash;
}

std::string hash_hex(std::uint64_t hash) {
  return fmt::format("{:016x}", hash);
}

}  // namespace pto::ir
