// The IR verifier: run after building and after every pass. It checks what every executor
// relies on: SSA (each value defined once, before its uses, in a visible scope), the typing
// rules of dsl/type_rules.hpp on every node, parameter roles, and loop structure.
#pragma once

#include "dsl/ir.hpp"

namespace pto::ir {

// Throws pto::Error "verifier: kernel 'K': <node>: <problem>" at the first violation.
void verify(const Kernel& kernel);

}  // namespace pto::ir
