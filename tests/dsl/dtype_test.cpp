#include "dsl/dtype.hpp"

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <limits>

using namespace pto;

TEST_CASE("f16: exact values and the format's limits convert to the documented bits") {
  CHECK(f32_to_f16_bits(1.0f) == 0x3c00);
  CHECK(f32_to_f16_bits(-2.0f) == 0xc000);
  CHECK(f32_to_f16_bits(65504.0f) == 0x7bff);               // largest finite
  CHECK(f32_to_f16_bits(65520.0f) == 0x7c00);               // rounds past it: infinity
  CHECK(f32_to_f16_bits(std::ldexp(1.0f, -14)) == 0x0400);  // smallest normal
  CHECK(f32_to_f16_bits(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
  CHECK(f32_to_f16_bits(-0.0f) == 0x8000);
  CHECK(f32_to_f16_bits(INFINITY) == 0x7c00);
  const std::uint16_t nan = f32_to_f16_bits(NAN);
  CHECK((nan & 0x7c00) == 0x7c00);
  CHECK((nan & 0x03ff) != 0);
}

TEST_CASE("f16: rounding is to nearest, ties to even (normal and subnormal)") {
  CHECK(f32_to_f16_bits(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);                          // tie, even stays
  CHECK(f32_to_f16_bits(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);                      // tie, odd rounds up
  CHECK(f32_to_f16_bits(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)) == 0x3c01);  // above the tie
  CHECK(f32_to_f16_bits(std::ldexp(1.0f, -25)) == 0x0000);      // tie at the bottom: to zero (even)
  CHECK(f32_to_f16_bits(3 * std::ldexp(1.0f, -25)) == 0x0002);  // tie between 1 and 2: to 2
  CHECK(f32_to_f16_bits(std::ldexp(1023.5f, -24)) == 0x0400);   // subnormal rounding up into the normals
}

TEST_CASE("f16: every finite f16 value survives a round trip through f32") {
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    if ((h & 0x7c00) == 0x7c00) continue;  // inf and NaN
    REQUIRE(f32_to_f16_bits(f16_bits_to_f32(h)) == h);
  }
  CHECK(f16_bits_to_f32(0x0001) == std::ldexp(1.0f, -24));
  CHECK(std::isinf(f16_bits_to_f32(0xfc00)));
  CHECK(f16_bits_to_f32(0xfc00) < 0);
}

TEST_CASE("bf16: conversion rounds to nearest even and keeps NaN a NaN") {
  CHECK(f32_to_bf16_bits(1.0f) == 0x3f80);
  CHECK(f32_to_bf16_bits(std::bit_cast<float>(0x3f808000u)) == 0x3f80);  // tie, even stays
  CHECK(f32_to_bf16_bits(std::bit_cast<float>(0x3f818000u)) == 0x3f82);  // tie, odd rounds up
  CHECK(f32_to_bf16_bits(std::bit_cast<float>(0x3f808001u)) == 0x3f81);  // above the tie
  CHECK(std::isnan(bf16_bits_to_f32(f32_to_bf16_bits(NAN))));
  CHECK(bf16_bits_to_f32(0x4049) == std::bit_cast<float>(0x40490000u));
}

TEST_CASE("round_to gives the nearest representable value of each dtype") {
  CHECK(round_to(DType::f32, 0.1f) == 0.1f);
  CHECK(round_to(DType::f16, 0.1f) == f16_bits_to_f32(0x2e66));
  CHECK(round_to(DType::bf16, 0.1f) == bf16_bits_to_f32(0x3dcd));
  CHECK(round_to(DType::i32, -2.7f) == -2.0f);
}

TEST_CASE("dtype names and sizes") {
  CHECK(name(DType::bf16) == "bf16");
  CHECK(size_bytes(DType::f16) == 2);
  CHECK(size_bytes(DType::i64) == 8);
  CHECK(is_float(DType::bf16));
  CHECK(is_integer(DType::i32));
  f16_t h(3.0f);
  CHECK(static_cast<float>(h) == 3.0f);
}
