// What the CUDA code generator chooses for a kernel, read from the generated source: the
// tensor-core path for 16-bit matmuls on mma shapes, FMA for the rest. (That each choice
// computes the interpreter's results is checked by test::execute in the op sweep.)
// Row dots for products of rows (x trans(w) off tensor cores); the tile plan's row padding.
// Persistent kernels: their bodies, claim loop and arity.
#include "runtime/cuda/cuda_codegen.hpp"

#include <algorithm>

#include <doctest/doctest.h>

#include "dsl/builder.hpp"
#include "dsl/kernel_index.hpp"
#include "runtime/cuda/cuda_kernel.hpp"
#include "runtime/cuda/tile_plan.hpp"

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

// y = x w for a w stored [k, n] (not transposed).
std::string matmul_plain_source(std::int64_t m, std::int64_t k, std::int64_t n) {
  const auto kernel = tl::kernel("mm", [&](tl::Builder& b) {
    auto x = b.in(tl::tile(m, k, DType::f32), "a");
    auto w = b.in(tl::tile(k, n, DType::f16), "b");
    tl::store(b.out(tl::tile(m, n, DType::f32), "y"), tl::matmul(x, w));
  });
  return cuda::generate_cuda(kernel.ir(), kernel.hash()).source;
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

TEST_CASE("off tensor cores, a product of rows (x trans(w)) is computed by groups of lanes reading vectors") {
  // Decode's q K^T: 128 f16 columns are 16 reads of 16 bytes, one per lane of a 16-lane group.
  const std::string decode = matmul_source(DType::f16, DType::f16, 1, 128, 64);
  CHECK(has(decode, "row dots: 16 lanes per output, 8 elements per read"));
  CHECK(has(decode, "pto::read_f16s<8>("));
  CHECK(has(decode, "pto::group_sum<16>(acc)"));
  // f32 rows of 24 (96 bytes, padded to 112): six 16-byte reads, four lanes per output.
  const std::string f32 = matmul_source(DType::f32, DType::f32, 4, 24, 8);
  CHECK(has(f32, "row dots: 4 lanes per output, 4 elements per read"));
  CHECK(has(f32, "pto::read_f32s<4>("));
  // bf16 rows of 6 (12 bytes): 4-byte reads of two elements, three of them: two lanes.
  const std::string narrow = matmul_source(DType::bf16, DType::bf16, 2, 6, 3);
  CHECK(has(narrow, "row dots: 2 lanes per output, 2 elements per read"));
  // A w stored [k, n] is read down its columns: one thread per output.
  const std::string plain = matmul_plain_source(1, 64, 128);
  CHECK_FALSE(has(plain, "row dots"));
  CHECK(has(plain, "fmaf("));
}

TEST_CASE("the tile plan pads loaded rows to odd 16-byte units and computed rows to odd words") {
  const auto kernel = tl::kernel("pad", [&](tl::Builder& b) {
    auto k = b.in(tl::global(DType::f16, {tl::dyn, 128}), "k");
    auto q = b.in(tl::tile(4, 64, DType::f16), "q");
    auto t = tl::load(k, 0, 0, 64, 128);
    auto s = tl::matmul(q, tl::trans(tl::load(k, 0, 0, 64, 64)));  // [4, 64] f32, computed
    tl::store(b.out(tl::tile(64, 128, DType::f32), "y"), t * 2.0f);
    tl::store(b.out(tl::tile(4, 64, DType::f32), "z"), s);
  });
  const ir::Kernel& ir = kernel.ir();
  const ir::KernelIndex index(ir);
  const cuda::TilePlan plan = cuda::plan_tiles(ir, index);
  std::vector<std::int64_t> loaded, computed;
  for (const ir::Node* node : index.preorder()) {
    if (node->results.empty() || !ir.type_of(node->results[0]).is_tile()) continue;
    const cuda::TileSlot& slot = plan.slot(node->results[0]);
    if (slot.offset < 0) continue;
    if (node->op == ir::Op::load || node->op == ir::Op::param) loaded.push_back(slot.stride);
    if (node->op == ir::Op::matmul) computed.push_back(slot.stride);
  }
  // In the order the nodes run: parameter q [4, 64] f16 (8 units -> 9: 72 elements), the
  // loads of 128 f16 (16 -> 17: 136) and 64 f16 (72), the output parameters y [64, 128] f32
  // (32 -> 33: 132) and z [4, 64] f32 (16 -> 17: 68); the [4, 64] f32 product: 64 words -> 65.
  CHECK(loaded == std::vector<std::int64_t>{72, 136, 72, 132, 68});
  CHECK(computed == std::vector<std::int64_t>{65});
}

TEST_CASE("an elementwise result is published by a barrier only before a read across threads") {
  const auto kernel = tl::kernel("publish", [&](tl::Builder& b) {
    auto x = b.in(tl::tile(1, 64, DType::f32), "x");
    auto y = x * 2.0f;       // stored: read twice
    auto w = y - 1.0f;       // element for element: the thread that wrote y(0, c) reads it
    auto s = tl::rowsum(y);  // across threads: a barrier first
    tl::store(b.out(tl::tile(1, 64, DType::f32), "o"), w * s);
    tl::store(b.out(tl::tile(1, 64, DType::f32), "p"), w + 1.0f);
  });
  const std::string source = cuda::generate_cuda(kernel.ir(), kernel.hash()).source;
  const auto at = [&](const char* what) {
    const std::size_t found = source.find(what);
    REQUIRE(found != std::string::npos);
    return found;
  };
  const std::size_t mul = at(": mul -> tile<1x64xf32>"), sub = at(": sub -> tile<1x64xf32>");
  const std::size_t rowsum = at(": rowsum -> tile<1x1xf32>");
  REQUIRE((mul < sub && sub < rowsum));
  const auto barriers = [&](std::size_t from, std::size_t to) {
    int count = 0;
    for (std::size_t i = source.find("__syncthreads();", from); i < to; i = source.find("__syncthreads();", i + 1))
      ++count;
    return count;
  };
  CHECK(barriers(mul, sub) == 0);
  CHECK(barriers(sub, rowsum) == 1);
  const cuda::CudaKernel compiled(kernel);  // NVRTC accepts it
  CHECK_FALSE(compiled.cubin().image.empty());
}
