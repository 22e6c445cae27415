// PTO-RT's public umbrella header: everything a user needs to write kernels, compose them
// into workloads and run them, pto::Error included.
//
//   #include "pto/pto.hpp"
//   auto k = pto::tl::kernel("scale", [](pto::tl::Builder& b) { ... });
//   try { program.synchronize(); } catch (const pto::Error& error) { ... }
#pragma once

#include "core/error.hpp"              // pto::Error, pto::InternalError, pto::SourceLocation
#include "dsl/arguments.hpp"           // KernelArgs, TensorView, view()
#include "dsl/builder.hpp"             // pto::tl: kernels, families, ops
#include "dsl/interpreter.hpp"         // interpret(): the reference semantics
#include "dsl/library/attention.hpp"   // ready-made kernels (decode attention, softmax)
#include "dsl/printer.hpp"             // ir::print
#include "frontend/axis.hpp"           // Dense, DenseDyn, Ragged, Sparse
#include "frontend/program.hpp"        // Program, ProgramStats
#include "frontend/schedule.hpp"       // Dispatch, Deps, Ready, Start, Window, Timing, Target
#include "frontend/tables.hpp"         // descriptor tables, IntArray
#include "frontend/tensor.hpp"         // Tensor, View
#include "frontend/workload.hpp"       // workload(), W
#include "runtime/cpu/cpu_kernel.hpp"  // CpuKernel: one kernel on the CPU without a workload
