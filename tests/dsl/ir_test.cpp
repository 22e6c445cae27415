// Printer, verifier, structural hash and kernel families.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "core/error.hpp"
#include "dsl/builder.hpp"
#include "dsl/hash.hpp"
#include "dsl/printer.hpp"
#include "dsl/verifier.hpp"

using namespace pto;
using tl::bf16;
using tl::f16;
using tl::f32;
using tl::i32;

namespace {

tl::KernelInstance scaled_exp(double scale, const std::string& name = "scaled_exp") {
  return tl::kernel(name, [&](tl::Builder& k) {
    // One statement per step: C++ leaves the order of argument evaluation open, and the
    // order of ops is the order of nodes, which the printer and the hash see.
    auto x = k.in(tl::tile(2, 8, f16), "x");
    auto y = k.out(tl::tile(2, 8, f32), "y");
    auto scaled = x * scale;
    tl::store(y, tl::exp(scaled));
  });
}

}  // namespace

TEST_CASE("the printer renders parameters, ops and types") {
  const std::string text = ir::print(scaled_exp(0.5).ir());
  CHECK(text ==
        "kernel scaled_exp(x: in tile<2x8xf16>, y: out tile<2x8xf32>) {\n"
        "  %2 = constant 0.5 : f32\n"
        "  %3 = mul %x, %2 : tile<2x8xf32>\n"
        "  %4 = exp %3 : tile<2x8xf32>\n"
        "  store %y, %4\n"
        "}\n");
}

TEST_CASE("structural hash: stable across runs, independent of the kernel's name, sensitive to structure") {
  const auto a = scaled_exp(0.5);
  CHECK(a.hash() == scaled_exp(0.5).hash());
  CHECK(a.hash() == scaled_exp(0.5, "renamed").hash());
  CHECK(a.hash() != scaled_exp(0.25).hash());
  // A golden value: the hash keys on-disk caches, so it must not drift between runs,
  // builds or machines. (If the printer's format changes on purpose, update it here.)
  CHECK(ir::hash_hex(a.hash()) == ir::hash_hex(ir::structural_hash(a.ir())));
  CHECK(ir::hash_hex(a.hash()).size() == 16);
  CHECK(ir::hash_hex(a.hash()) == "20f4f9c34d2e5942");
}

TEST_CASE("a family yields one named instance per tier, each with its own hash") {
  const auto family = tl::family("block_sum", {16, 32, 64}, [](tl::Builder& k, std::int64_t block) {
    auto g = k.in(tl::global(f32, {tl::dyn, 8}), "g");
    tl::store(k.out(tl::tile(1, 8, f32), "y"), tl::colsum(tl::load(g, 0, block, block)));
  });
  REQUIRE(family.size() == 3);
  CHECK(family.tier(0).name() == "block_sum<16>");
  CHECK(family.tier(2).name() == "block_sum<64>");
  CHECK(family.for_param(32).name() == "block_sum<32>");
  CHECK(family.tier(0).hash() != family.tier(1).hash());
  CHECK(family.tier(1).hash() != family.tier(2).hash());
  CHECK(family.tier(1).ir().body.nodes.size() > 2);
}

TEST_CASE("the verifier accepts built kernels and rejects broken IR") {
  ir::Kernel kernel = [] {
    tl::Builder k("broken");
    auto x = k.in(tl::tile(2, 2, f32), "x");
    auto y = k.out(tl::tile(2, 2, f32), "y");
    auto e = tl::exp(x);
    tl::store(y, e);
    return k.finish();
  }();
  CHECK_NOTHROW(ir::verify(kernel));

  SUBCASE("use before definition") {
    std::swap(kernel.body.nodes[2], kernel.body.nodes[3]);  // store before exp
    CHECK_THROWS_WITH_AS(ir::verify(kernel), doctest::Contains("is used where it is not defined"), pto::Error);
  }
  SUBCASE("a result type that contradicts the typing rules") {
    kernel.values[static_cast<std::size_t>(kernel.body.nodes[2].results[0])].type = ir::Type::tile(2, 2, DType::f16);
    CHECK_THROWS_WITH_AS(ir::verify(kernel),
                         doctest::Contains("result type is tile<2x2xf16> but its operands give tile<2x2xf32>"),
                         pto::Error);
  }
  SUBCASE("a store to an input") {
    kernel.params[1].role = ir::ParamRole::in;
    CHECK_THROWS_WITH_AS(ir::verify(kernel), doctest::Contains("stores to input 'y'"), pto::Error);
  }
  SUBCASE("a value defined twice") {
    kernel.body.nodes[2].results[0] = kernel.params[0].value;
    CHECK_THROWS_WITH_AS(ir::verify(kernel), doctest::Contains("is defined twice"), pto::Error);
  }
  SUBCASE("an operand that does not exist") {
    kernel.body.nodes[2].operands[0] = 99;
    CHECK_THROWS_WITH_AS(ir::verify(kernel), doctest::Contains("value %99 which does not exist"), pto::Error);
  }
}

TEST_CASE("the verifier checks loop structure") {
  ir::Kernel kernel = [] {
    tl::Builder k("loop");
    auto n = k.scalar(i32, "n");
    auto y = k.out(tl::tile(1, 4, f32), "y");
    auto [acc] =
        tl::for_range(0, n, 4, {tl::zeros(1, 4, f32)}, [](tl::Scalar, tl::Value a) { return tl::carry(a + 1.0); });
    tl::store(y, acc);
    return k.finish();
  }();
  ir::Node* loop = nullptr;
  for (ir::Node& node : kernel.body.nodes)
    if (node.op == ir::Op::for_range) loop = &node;
  REQUIRE(loop != nullptr);
  SUBCASE("a body without yield") {
    loop->body->nodes.pop_back();
    CHECK_THROWS_WITH_AS(ir::verify(kernel), doctest::Contains("loop body does not end with yield"), pto::Error);
  }
  SUBCASE("a non-positive step") {
    loop->step = 0;
    CHECK_THROWS_WITH_AS(ir::verify(kernel), doctest::Contains("step 0 is not positive"), pto::Error);
  }
  SUBCASE("a body value used after the loop") {
    const ir::ValueId inner = loop->body->nodes.back().operands[0];
    kernel.body.nodes.back().operands[1] = inner;
    CHECK_THROWS_WITH_AS(ir::verify(kernel), doctest::Contains("outside the loop body that defines it"), pto::Error);
  }
}

TEST_CASE("the verifier rejects a load_rows whose index does not cover its rows") {
  ir::Kernel kernel = [] {
    tl::Builder k("gather");
    auto pool = k.in(tl::global(f32, {tl::dyn, 4}), "pool");
    auto y = k.out(tl::tile(8, 4, f32), "y");
    tl::store(y, tl::load_rows(pool, tl::zeros(4, 1, tl::i32), 2, 8, 8));
    return k.finish();
  }();
  CHECK_NOTHROW(ir::verify(kernel));
  ir::Node* gather = nullptr;
  for (ir::Node& node : kernel.body.nodes)
    if (node.op == ir::Op::load_rows) gather = &node;
  REQUIRE(gather != nullptr);
  SUBCASE("too few rows per entry") {
    gather->step = 1;
    CHECK_THROWS_WITH_AS(ir::verify(kernel), doctest::Contains("an index of 4 entries x 1 rows for a tile of 8 rows"),
                         pto::Error);
  }
  SUBCASE("a group of no rows, or of more rows than the tile") {
    for (const std::int64_t step : {0, 9}) {
      gather->step = step;
      const std::string expected = fmt::format("an index of 4 entries x {} rows", step);
      CHECK_THROWS_WITH_AS(ir::verify(kernel), doctest::Contains(expected.c_str()), pto::Error);
    }
  }
  SUBCASE("an index that is not i32 [n, 1]") {
    gather->operands[1] = gather->operands[2];  // a scalar
    CHECK_THROWS_WITH_AS(ir::verify(kernel), doctest::Contains("needs an i32 index [n, 1]"), pto::Error);
  }
}

TEST_CASE("op names and categories come from the one op list") {
  CHECK(ir::name(ir::Op::rowmax) == "rowmax");
  CHECK(ir::category(ir::Op::rowmax) == ir::OpCategory::reduce);
  CHECK(ir::name(ir::Op::for_range) == "for_range");
  CHECK(ir::to_string(ir::Type::global(ir::dynamic_extent, 128, DType::bf16)) == "global<?x128xbf16>");
}
