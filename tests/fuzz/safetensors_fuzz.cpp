// libFuzzer target: the safetensors reader on arbitrary bytes. It must answer every input
// with a file or a pto::Error; a file it accepts must hold each tensor's exact byte count.
#include <cstdint>
#include <span>

#include "examples/flashinfer_decode/safetensors.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  pto::fuzz::expect_user_errors_only([&] {
    const flashinfer::SafetensorsFile file =
        flashinfer::parse_safetensors(std::span<const std::uint8_t>(bytes, size), "fuzz input");
    for (const auto& [name, tensor] : file.tensors) {
      std::uint64_t expected = static_cast<std::uint64_t>(pto::size_bytes(tensor.dtype));
      for (const std::int64_t extent : tensor.shape) {
        PTO_FUZZ_CHECK(extent >= 0, name);
        PTO_FUZZ_CHECK(!__builtin_mul_overflow(expected, static_cast<std::uint64_t>(extent), &expected), name);
      }
      PTO_FUZZ_CHECK(expected == tensor.bytes.size(), name);
      PTO_FUZZ_CHECK(tensor.bytes.size() <= size, name);
    }
  });
  return 0;
}
