// Which loads a loop fetches one iteration ahead (runtime/cuda/prefetch_plan.hpp), when,
// and the cp.async pipeline the CUDA code generator emits for them, compiled by NVRTC (no GPU
// needed). That the prefetched kernels compute the interpreter's results, faults included,
// is checked on the GPU by the loop cases of tests/dsl/ops_test.cpp and errors_test.cpp.
#include "runtime/cuda/prefetch_plan.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "dsl/builder.hpp"
#include "runtime/cuda/cuda_codegen.hpp"
#include "runtime/cuda/cuda_kernel.hpp"

using namespace pto;
using tl::f16;
using tl::f32;
using tl::i32;

namespace {

// The one loop of a kernel and what it prefetches (empty when nothing).
cuda::LoopPrefetch loop_plan(const tl::KernelInstance& kernel) {
  const auto plan = cuda::plan_prefetches(kernel.ir());
  REQUIRE(plan.size() <= 1);
  return plan.empty() ? cuda::LoopPrefetch{} : plan.begin()->second;
}

std::vector<std::string> loaded_params(const tl::KernelInstance& kernel, const cuda::LoopPrefetch& plan) {
  std::vector<std::string> names;
  for (const cuda::PrefetchedLoad& load : plan.loads)
    names.push_back(kernel.ir().params.at(static_cast<std::size_t>(load.load->param)).name);
  return names;
}

bool has(const std::string& text, const char* what) {
  return text.find(what) != std::string::npos;
}

// Decode attention's KV loop, as examples/flashinfer_decode builds it.
tl::KernelInstance attention(std::int64_t block_rows) {
  return tl::kernel("attention", [&](tl::Builder& k) {
    auto q = k.in(tl::tile(1, 128, f16), "q");
    auto K = k.in(tl::global(f16, {tl::dyn, 128}), "k");
    auto V = k.in(tl::global(f16, {tl::dyn, 128}), "v");
    auto n = k.scalar(i32, "n");
    auto [m, l, acc] =
        tl::for_range(0, n, block_rows, {tl::full(1, 1, f32, -INFINITY), tl::zeros(1, 1, f32), tl::zeros(1, 128, f32)},
                      [&](tl::Scalar j, tl::Value m_in, tl::Value l_in, tl::Value acc_in) {
                        auto s = tl::matmul(q, tl::trans(tl::load(K, j, block_rows, n - j)));
                        auto m_new = tl::maximum(m_in, tl::rowmax(s));
                        auto p = tl::exp(s - m_new);
                        auto c = tl::exp(m_in - m_new);
                        return tl::carry(m_new, l_in * c + tl::rowsum(p),
                                         acc_in * c + tl::matmul(p, tl::load(V, j, block_rows, n - j)));
                      });
    tl::store(k.out(tl::tile(1, 128, f32), "o"), acc / l);
    tl::store(k.out(tl::tile(1, 1, f32), "lse"), m + tl::log(l));
  });
}

}  // namespace

TEST_CASE("a loop fetches ahead the loads whose region depends only on its index and values defined before it") {
  const auto kernel = attention(64);
  const cuda::LoopPrefetch plan = loop_plan(kernel);
  REQUIRE(loaded_params(kernel, plan) == std::vector<std::string>{"k", "v"});
  const cuda::PrefetchedLoad& k = plan.loads[0];
  const cuda::PrefetchedLoad& v = plan.loads[1];
  // Each valid extent n - j is recomputed for the next index, with the constants the
  // columns are given by; nothing else.
  for (const cuda::PrefetchedLoad& load : plan.loads) {
    int subtractions = 0;
    for (const ir::Node* node : load.chain) {
      CHECK((node->op == ir::Op::sub || node->op == ir::Op::constant));
      subtractions += node->op == ir::Op::sub;
    }
    CHECK(subtractions == 1);
  }
  // The next K block is fetched right after QK^T (its one reader), so it streams in during
  // the softmax and PV; the next V block after PV, streaming in during the next QK^T.
  const auto& nodes = kernel.ir().body.nodes;
  const auto loop =
      std::find_if(nodes.begin(), nodes.end(), [](const ir::Node& n) { return n.op == ir::Op::for_range; });
  REQUIRE(loop != nodes.end());
  const ir::Block& loop_body = *loop->body;
  CHECK(loop_body.nodes.at(k.issue_after).op == ir::Op::matmul);
  CHECK(loop_body.nodes.at(v.issue_after).op == ir::Op::matmul);
  CHECK(k.issue_after < v.position);
  // When K is consumed, the V block fetched after it may still be in flight: one newer group;
  // when V is consumed, the K block fetched after it (during this QK^T) may be.
  CHECK(k.groups_after == 1);
  CHECK(v.groups_after == 1);

  const cuda::GeneratedKernel generated = cuda::generate_cuda(kernel.ir(), kernel.hash());
  CHECK(generated.async_copies);
  // 64 x 128 f16 rows are padded to an odd number of 16-byte units: 16-byte copies only.
  CHECK(has(generated.source, "pto::cp_async<16>("));
  CHECK_FALSE(has(generated.source, "pto::cp_async<4>("));
  CHECK_FALSE(has(generated.source, "pto::cp_async<8>("));
  CHECK(has(generated.source, "pto::cp_async_wait<1>();"));
  CHECK(has(generated.source, "pto::cp_async_commit();"));
  CHECK(has(generated.source, "fetch ahead: node"));
  const cuda::CudaKernel compiled(kernel);  // NVRTC accepts it
  CHECK_FALSE(compiled.cubin().image.empty());
  const cuda::PersistentCudaKernel persistent({&compiled});
  CHECK(has(persistent.generated().source, "pto::cp_async_wait_all();"));
}

TEST_CASE("a paged KV loop's gathers are fetched ahead, their next block-table entries read from the table") {
  const std::int64_t page = 16, rows = 64;
  const auto kernel = tl::kernel("paged", [&](tl::Builder& k) {
    auto q = k.in(tl::tile(1, 128, f16), "q");
    auto K = k.in(tl::global(f16, {tl::dyn, 128}), "k");
    auto V = k.in(tl::global(f16, {tl::dyn, 128}), "v");
    auto pages = k.in(tl::global(i32, {tl::dyn, 1}), "pages");
    auto n = k.scalar(i32, "n");
    auto [acc] = tl::for_range(0, n, rows, {tl::zeros(1, 128, f32)}, [&](tl::Scalar j, tl::Value acc_in) {
      auto index = tl::load(pages, j / page, rows / page, (n + (page - 1)) / page - j / page);
      auto s = tl::matmul(q, tl::trans(tl::load_rows(K, index, page, rows, n - j)));
      return tl::carry(acc_in + tl::matmul(s, tl::load_rows(V, index, page, rows, n - j)));
    });
    tl::store(k.out(tl::tile(1, 128, f32), "o"), acc);
  });
  const cuda::LoopPrefetch plan = loop_plan(kernel);
  // K and V, and the index tile's own load (fetched after its last reader, V's gather):
  // each gather knows the load of its index.
  std::vector<std::string> names = loaded_params(kernel, plan);
  CHECK(names == std::vector<std::string>{"k", "pages", "v"});
  REQUIRE(plan.loads.size() == 3);
  for (const cuda::PrefetchedLoad& load : plan.loads) {
    const std::string& name = kernel.ir().params.at(static_cast<std::size_t>(load.load->param)).name;
    CAPTURE(name);
    if (name == "pages") {
      CHECK(load.index_load == nullptr);
      continue;
    }
    REQUIRE(load.index_load != nullptr);
    CHECK(load.load->op == ir::Op::load_rows);
    CHECK(kernel.ir().params.at(static_cast<std::size_t>(load.index_load->param)).name == "pages");
    // j / page and the entry count are recomputed for the next index.
    CHECK(std::any_of(load.chain.begin(), load.chain.end(),
                      [](const ir::Node* node) { return node->op == ir::Op::div; }));
  }
  const cuda::GeneratedKernel generated = cuda::generate_cuda(kernel.ir(), kernel.hash());
  CHECK(has(generated.source, "entries[k] = (index_in && k < ivr"));  // the next step's entries, from the table
  CHECK(has(generated.source, "if (pto::out_of_bounds(from_row, col, end, vc,"));  // a group outside: not copied
  const cuda::CudaKernel compiled(kernel);
  CHECK_FALSE(compiled.cubin().image.empty());

  // An index tile defined before the loop is the same in every step: read from its tile.
  const auto fixed = tl::kernel("fixed_index", [&](tl::Builder& k) {
    auto K = k.in(tl::global(f16, {tl::dyn, 128}), "k");
    auto pages = k.in(tl::global(i32, {tl::dyn, 1}), "pages");
    auto n = k.scalar(i32, "n");
    auto index = tl::load(pages, 0, rows / page, rows / page);
    auto [acc] = tl::for_range(0, n, 1, {tl::zeros(1, 128, f32)}, [&](tl::Scalar j, tl::Value acc_in) {
      return tl::carry(acc_in + tl::colsum(tl::cast(tl::load_rows(K, index, page, rows, rows - j), f32)));
    });
    tl::store(k.out(tl::tile(1, 128, f32), "o"), acc);
  });
  const cuda::LoopPrefetch fixed_plan = loop_plan(fixed);
  REQUIRE(fixed_plan.loads.size() == 1);
  CHECK(fixed_plan.loads[0].index_load == nullptr);
  CHECK(fixed_plan.loads[0].load->op == ir::Op::load_rows);

  // A carried index tile is known only at the end of the iteration: that gather stays
  // synchronous.
  const auto carried = tl::kernel("carried_index", [&](tl::Builder& k) {
    auto K = k.in(tl::global(f16, {tl::dyn, 128}), "k");
    auto pages = k.in(tl::global(i32, {tl::dyn, 1}), "pages");
    auto n = k.scalar(i32, "n");
    auto first = tl::load(pages, 0, rows / page, rows / page);
    auto [acc, index] =
        tl::for_range(0, n, 1, {tl::zeros(1, 128, f32), first}, [&](tl::Scalar j, tl::Value acc_in, tl::Value at) {
          auto block = tl::load_rows(K, at, page, rows, rows - j);
          return tl::carry(acc_in + tl::colsum(tl::cast(block, f32)), at + 1);
        });
    tl::store(k.out(tl::tile(1, 128, f32), "o"), acc);
    tl::store(k.out(tl::tile(rows / page, 1, i32), "last"), index);
  });
  CHECK(loop_plan(carried).loads.empty());
}

TEST_CASE("single-row and unpadded blocks are fetched 16 bytes at a time") {
  const auto kernel = tl::kernel("rows", [](tl::Builder& k) {
    auto x = k.in(tl::global(f32, {tl::dyn, 64}), "x");
    auto n = k.scalar(i32, "n");
    auto [sum] = tl::for_range(0, n, 1, {tl::zeros(1, 64, f32)}, [&](tl::Scalar j, tl::Value acc) {
      return tl::carry(acc + tl::load(x, j, 1, n - j, tl::Pad{3.0}));
    });
    tl::store(k.out(tl::tile(1, 64, f32), "y"), sum);
  });
  const cuda::GeneratedKernel generated = cuda::generate_cuda(kernel.ir(), kernel.hash());
  CHECK(has(generated.source, "pto::cp_async<16>("));
  CHECK_FALSE(cuda::CudaKernel(kernel).cubin().image.empty());
}

TEST_CASE("block-table lookups and divisions are recomputed for the next index") {
  const auto kernel = tl::kernel("paged", [](tl::Builder& k) {
    auto pool = k.in(tl::global(f16, {tl::dyn, 32}), "pool");
    auto table = k.in(tl::global(i32, {tl::dyn, 1}), "table");
    auto n = k.scalar(i32, "n");
    auto [sum] = tl::for_range(0, n, 4, {tl::zeros(4, 32, f32)}, [&](tl::Scalar j, tl::Value acc) {
      auto row = tl::load_scalar(table, j / 4) * 4;
      return tl::carry(acc + tl::cast(tl::load(pool, row, 4, n - j), f32));
    });
    tl::store(k.out(tl::tile(4, 32, f32), "y"), sum);
  });
  const cuda::LoopPrefetch plan = loop_plan(kernel);
  CHECK(loaded_params(kernel, plan) == std::vector<std::string>{"pool"});
  std::vector<ir::Op> ops;
  for (const ir::Node* node : plan.loads.at(0).chain) ops.push_back(node->op);
  CHECK(std::find(ops.begin(), ops.end(), ir::Op::load_scalar) != ops.end());
  // The one block is read by the add that carries it: the next is fetched after it.
  CHECK(plan.loads[0].groups_after == 0);
  CHECK(std::find(ops.begin(), ops.end(), ir::Op::div) != ops.end());
  const cuda::GeneratedKernel generated = cuda::generate_cuda(kernel.ir(), kernel.hash());
  CHECK(has(generated.source, "fetch = fetch && "));  // an out-of-bounds table read skips the fetch
  CHECK_FALSE(cuda::CudaKernel(kernel).cubin().image.empty());
}

TEST_CASE("loads a loop cannot fetch ahead stay synchronous") {
  SUBCASE("a global the kernel writes") {
    const auto kernel = tl::kernel("inout", [](tl::Builder& k) {
      auto g = k.inout(tl::global(f32, {tl::dyn, 8}), "g");
      auto n = k.scalar(i32, "n");
      tl::for_range(1, n, 1, [&](tl::Scalar j) { tl::store(g, j, 0, tl::load(g, j - 1, 1, 1) + 1.0, 1, 8); });
    });
    CHECK(loop_plan(kernel).loads.empty());
    CHECK_FALSE(cuda::generate_cuda(kernel.ir(), kernel.hash()).async_copies);
  }
  SUBCASE("a row carried from iteration to iteration") {
    const auto kernel = tl::kernel("carried", [](tl::Builder& k) {
      auto x = k.in(tl::global(f32, {tl::dyn, 8}), "x");
      auto n = k.scalar(i32, "n");
      auto first = k.scalar(i32, "first");
      auto [acc, row] = tl::for_range(
          0, n, 1, {tl::zeros(1, 8, f32), first},
          [&](tl::Scalar, tl::Value a, tl::Value r) { return tl::carry(a + tl::load(x, r, 1, 1), r + 2); });
      tl::store(k.out(tl::tile(1, 8, f32), "y"), acc);
      (void)row;
    });
    CHECK(loop_plan(kernel).loads.empty());
  }
  SUBCASE("a block table the kernel writes") {
    const auto kernel = tl::kernel("table_out", [](tl::Builder& k) {
      auto x = k.in(tl::global(f32, {tl::dyn, 8}), "x");
      auto table = k.inout(tl::global(i32, {tl::dyn, 1}), "table");
      auto n = k.scalar(i32, "n");
      auto [acc] = tl::for_range(0, n, 1, {tl::zeros(1, 8, f32)}, [&](tl::Scalar j, tl::Value a) {
        return tl::carry(a + tl::load(x, tl::load_scalar(table, j), 1, 1));
      });
      tl::store(k.out(tl::tile(1, 8, f32), "y"), acc);
    });
    CHECK(loop_plan(kernel).loads.empty());
  }
}

TEST_CASE("a nested loop's loads belong to the inner loop") {
  const auto kernel = tl::kernel("nested", [](tl::Builder& k) {
    auto x = k.in(tl::global(f32, {tl::dyn, 8}), "x");
    auto n = k.scalar(i32, "n");
    auto [total] = tl::for_range(0, n, 4, {tl::zeros(1, 8, f32)}, [&](tl::Scalar i, tl::Value outer) {
      auto [inner] = tl::for_range(i, i + 4, 1, {tl::zeros(1, 8, f32)},
                                   [&](tl::Scalar j, tl::Value a) { return tl::carry(a + tl::load(x, j, 1, n - j)); });
      return tl::carry(outer + inner);
    });
    tl::store(k.out(tl::tile(1, 8, f32), "y"), total);
  });
  const auto plan = cuda::plan_prefetches(kernel.ir());
  REQUIRE(plan.size() == 1);
  for (const ir::Node& node : kernel.ir().body.nodes) CHECK(plan.begin()->first != &node);  // not the outer loop
  CHECK(plan.begin()->first->op == ir::Op::for_range);
  CHECK(plan.begin()->second.loads.size() == 1);
  CHECK_FALSE(cuda::CudaKernel(kernel).cubin().image.empty());
}

TEST_CASE("tiles in global scratch are loaded synchronously (cp.async copies into shared memory)") {
  // A 256 x 160 f32 block: 161 KiB with its padding, over the 160 KiB shared-memory limit.
  const auto kernel = tl::kernel("big", [](tl::Builder& k) {
    auto x = k.in(tl::global(f32, {tl::dyn, 160}), "x");
    auto n = k.scalar(i32, "n");
    auto [acc] = tl::for_range(0, n, 256, {tl::zeros(1, 160, f32)}, [&](tl::Scalar j, tl::Value a) {
      return tl::carry(a + tl::colsum(tl::load(x, j, 256, n - j)));
    });
    tl::store(k.out(tl::tile(1, 160, f32), "y"), acc);
  });
  const cuda::GeneratedKernel generated = cuda::generate_cuda(kernel.ir(), kernel.hash());
  CHECK_FALSE(generated.tiles_in_shared);
  CHECK_FALSE(generated.async_copies);
}
