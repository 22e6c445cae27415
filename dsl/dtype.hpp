// Element types of tiles, globals and scalars, and the f16/bf16 storage formats.
//
// f16 and bf16 are storage types: values of those dtypes hold numbers already rounded to
// the format, and every arithmetic op, reduction and matmul computes in f32 (docs/dsl.md).
#pragma once

#include <cstdint>
#include <string_view>

namespace pto {

enum class DType : std::uint8_t { f16, bf16, f32, i32, i64 };

std::string_view name(DType dtype) noexcept;
int size_bytes(DType dtype) noexcept;
constexpr bool is_float(DType dtype) noexcept {
  return dtype == DType::f16 || dtype == DType::bf16 || dtype == DType::f32;
}
constexpr bool is_integer(DType dtype) noexcept {
  return dtype == DType::i32 || dtype == DType::i64;
}

// IEEE binary16 and bfloat16 conversions, round to nearest even (NaN stays NaN, overflow
// rounds to infinity) — what CUDA's __float2half_rn / __float2bfloat16_rn do.
std::uint16_t f32_to_f16_bits(float value) noexcept;
float f16_bits_to_f32(std::uint16_t bits) noexcept;
std::uint16_t f32_to_bf16_bits(float value) noexcept;
float bf16_bits_to_f32(std::uint16_t bits) noexcept;

// `value` rounded to what `dtype` can hold (identity for f32; integers truncate toward zero).
float round_to(DType dtype, float value) noexcept;

// Host storage of one f16 / bf16 element, so user buffers have a real element type.
struct f16_t {
  std::uint16_t bits = 0;
  f16_t() = default;
  explicit f16_t(float value) : bits(f32_to_f16_bits(value)) {}
  explicit operator float() const noexcept { return f16_bits_to_f32(bits); }
};
struct bf16_t {
  std::uint16_t bits = 0;
  bf16_t() = default;
  explicit bf16_t(float value) : bits(f32_to_bf16_bits(value)) {}
  explicit operator float() const noexcept { return bf16_bits_to_f32(bits); }
};
static_assert(sizeof(f16_t) == 2 && sizeof(bf16_t) == 2);

}  // namespace pto
