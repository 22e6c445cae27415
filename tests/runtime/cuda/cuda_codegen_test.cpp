// What the CUDA code generator chooses for a kernel, read from the generated source: the
// tensor-core path for 16-bit matmuls on mma shapes, FMA for the rest. (That each choice
// computes the interpreter's results is checked by test::execute in the op sweep.)
// Persistent kernels: their bodies, claim loop and arity.
#include "runtime/cuda/cuda_codegen.hpp"

#include <algorithm>

#include <doctest/doctest.h>

#include "dsl/builder.hpp"
#include "runtime/cuda/cuda_kernel.hpp"

using namespace pto;

namespace {

std::string matmul_source(DType a_dtype, DType b_dtype, std::int64_t m, std::int64_t k, std::int64_t n) {
  const auto kernel = tl::kernel("mm", [&](tl::Builder& b) {
    auto x = b.in(tl::tile(m, k, a_dtype), "a");
    auto w = b.in(tl::tile(n, k, b_dtype), "bt");
    tl::store(b.out(tl::tile(m, n, DType::f32), "y"), tl::matmul(x, tl::trans(w)));
  });
  return cuda::generate_cuda(kernel.ir(), kernel.hash()).source;
}

bool has(const std::string& text, const char* what) {
  return text.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("16-bit matmuls on m16n8k16 shapes run on tensor cores") {
  CHECK(has(matmul_source(DType::f16, DType::f16, 16, 16, 8), "pto::mma_m16n8k16_f16("));
  CHECK(has(matmul_source(DType::bf16, DType::bf16, 64, 128, 64), "pto::mma_m16n8k16_bf16("));
  // A partial last block of rows is padded with zero rows.
  const std::string padded = matmul_source(DType::f16, DType::f16, 33, 32, 24);
  CHECK(has(padded, "pto::mma_m16n8k16_f16("));
  CHECK(has(padded, "r0 < 33"));
}

TEST_CASE("matmuls tensor cores cannot run exactly stay on FMA") {
  // f32 operands (rounding them to 16 bits would change the result), mixed 16-bit dtypes,
  // K not a multiple of 16, N not a multiple of 8, fewer than 16 rows (a decode query row).
  for (const std::string& source :
       {matmul_source(DType::f32, DType::f32, 16, 16, 8), matmul_source(DType::f16, DType::bf16, 16, 16, 8),
        matmul_source(DType::f16, DType::f16, 16, 24, 8), matmul_source(DType::f16, DType::f16, 16, 16, 12),
        matmul_source(DType::f16, DType::f16, 1, 128, 64)}) {
    CHECK_FALSE(has(source, "mma_m16n8k16"));
    CHECK(has(source, "fmaf("));
  }
}

TEST_CASE("a persistent kernel runs several kernels' bodies, claimed through one atomic counter") {
  // Two kernels of different arity and tile space; compiled by NVRTC (no GPU needed).
  const auto scale = tl::kernel("scale", [](tl::Builder& b) {
    auto x = b.in(tl::tile(4, 32, DType::f32), "x");
    tl::store(b.out(tl::tile(4, 32, DType::f32), "y"), tl::exp(x) * b.scalar(DType::f32, "alpha"));
  });
  const auto sum = tl::kernel("sum", [](tl::Builder& b) {
    auto x = b.in(tl::tile(64, 64, DType::f32), "x");
    tl::store(b.out(tl::tile(64, 1, DType::f32), "s"), tl::rowsum(tl::exp(x) + x));
  });
  const cuda::CudaKernel a(scale), b(sum);
  const cuda::PersistentCudaKernel persistent({&a, &b});
  const cuda::PersistentKernel& generated = persistent.generated();
  CHECK(generated.kernel_count == 2);
  CHECK(generated.slots_per_task == 3);  // the most parameters of either
  CHECK(generated.tile_bytes == std::max(a.generated().tile_bytes, b.generated().tile_bytes));
  CHECK(has(generated.source, "atomicAdd(counter, 1)"));
  CHECK(has(generated.source, ("case 0: " + a.generated().body_symbol + "(").c_str()));
  CHECK(has(generated.source, ("case 1: " + b.generated().body_symbol + "(").c_str()));
  CHECK_FALSE(persistent.cubin().image.empty());
  // The grid entry of a kernel calls the same body the persistent kernel does.
  CHECK(has(a.generated().source, (a.generated().body_symbol + "(tasks + ").c_str()));
}
