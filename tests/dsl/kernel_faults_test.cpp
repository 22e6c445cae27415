// The decoder of compiled backends' fault records (dsl/kernel_faults.hpp): a record names
// the interpreter's error for the same fault; a record that cannot occur is a PTO-RT bug.
#include "dsl/kernel_faults.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "dsl/builder.hpp"

using namespace pto;

namespace {

tl::KernelInstance copy_rows() {
  return tl::kernel("copy_rows", [](tl::Builder& k) {
    auto g = k.in(tl::global(tl::f32, {tl::dyn, 4}), "g");
    auto row = k.scalar(tl::i32, "row");
    tl::store(k.out(tl::tile(2, 4, tl::f32), "y"), tl::load(g, row, 0, 2, 4));
  });
}

int position_of(const tl::KernelInstance& kernel, ir::Op op) {
  for (const ir::Node* node : kernel.index().preorder())
    if (node->op == op) return kernel.index().position(*node);
  FAIL("no such node");
  return -1;
}

}  // namespace

TEST_CASE("a fault record decodes to the interpreter's message, naming the tensor's extents from the slots") {
  const auto kernel = copy_rows();
  std::vector<ArgSlot> slots(3);
  slots[0].rows = 3;
  slots[0].cols = 4;
  KernelFault fault;
  fault.code = static_cast<std::int32_t>(FaultCode::load_out_of_bounds);
  fault.node = position_of(kernel, ir::Op::load);
  fault.values[0] = 2;
  fault.values[1] = 0;
  fault.values[2] = 2;
  fault.values[3] = 4;
  try {
    raise_fault(kernel.ir(), kernel.index(), fault, slots, "test");
    FAIL("raise_fault returned");
  } catch (const InternalError&) {
    FAIL("a fault the kernel can raise is the user's error, not a PTO-RT bug");
  } catch (const Error& error) {
    CHECK(error.message() ==
          "kernel 'copy_rows': load: load from 'g' [3,4]: valid region rows [2, 4) x cols [0, 4) is outside the "
          "tensor; pass valid extents that stop at its end");
  }
}

TEST_CASE("a fault record that cannot occur is an InternalError naming the backend") {
  const auto kernel = copy_rows();
  const std::vector<ArgSlot> slots(3);
  KernelFault fault;
  fault.code = 77;
  fault.node = position_of(kernel, ir::Op::load);
  CHECK_THROWS_WITH_AS(raise_fault(kernel.ir(), kernel.index(), fault, slots, "cuda"),
                       doctest::Contains("cuda kernel 'copy_rows': fault code 77 at node"), InternalError);
  fault.code = static_cast<std::int32_t>(FaultCode::division_by_zero);
  fault.node = 1000;
  CHECK_THROWS_WITH_AS(raise_fault(kernel.ir(), kernel.index(), fault, slots, "cpu"),
                       doctest::Contains("cpu kernel 'copy_rows': fault code 3 at unknown node 1000 (a PTO-RT bug"),
                       InternalError);
}
