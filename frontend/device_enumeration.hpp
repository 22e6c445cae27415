// Device enumeration: the CUDA target's kernels read the descriptor tables themselves
// (docs/workloads.md, "Device enumeration").
//
// For a workload whose task structure the compiler knows (top-level parallel_for loops with
// execution-invariant bounds, bodies of conditions and calls, Deps::stages or Deps::none,
// one persistent launch per statement, device tensors), the compiled task list's recipes
// (frontend/task_recipes.hpp) are rendered as one CUDA kernel: thread t evaluates task slot
// t's index expressions from the tables, checks its views and scalars exactly as the host
// does, and writes its ArgSlot row and kernel index; a second kernel orders each
// statement's tasks longest first (by size class: bytes rounded down to a power of two) for
// the persistent kernel's claims. The host only writes the tables and a small header (sizes,
// row counts, addresses, statement ranges) to page-locked memory, which the kernels read
// through its device mapping, and launches: no per-task host work and no copy.
//
// Task slots: statement s owns [first_s, first_s + iterations_s x columns_s); an iteration
// has one column per call its body can make at once (a condition's branches share columns),
// and a slot whose path makes no call holds kernel -1 (the persistent kernel skips it). A
// failed check sets a flag that the persistent launches read first (nothing runs), and
// synchronize() then reports the reference enumerator's error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "frontend/compiled_tasks.hpp"

namespace pto {

class DeviceEnumeration {
 public:
  // Why `workload` cannot be enumerated on the device (empty: it can): its structure, or a
  // host tensor among its views.
  static std::string unsupported(const Workload& workload, const CompiledTasks& compiled);
  static std::string unsupported_structure(const Workload& workload, const CompiledTasks& compiled);

  // Renders the kernels for `compiled`, whose task rows the persistent kernel reads with
  // `slots_per_task` slots each; kernel indices are CompiledTasks::instances() indices.
  DeviceEnumeration(const Workload& workload, const CompiledTasks& compiled, int slots_per_task);

  const std::string& source() const noexcept { return source_; }
  const std::string& enumerate_symbol() const noexcept { return enumerate_symbol_; }
  const std::string& order_symbol() const noexcept { return order_symbol_; }

  struct Statement {
    std::int64_t first = 0;       // its first task slot
    std::int64_t slots = 0;       // iterations x columns
    std::int64_t begin = 0;       // the loop's first index
    int level = 0;                // its launch level (Deps::stages: its position)
    std::int64_t tile_bytes = 0;  // the most tile space its calls' kernels need
  };
  struct Execution {
    std::vector<Statement> statements;
    std::int64_t slots = 0;         // every statement's task slots
    std::size_t input_bytes = 0;    // the header and the tables, as the kernels read them
    std::size_t counter_bytes = 0;  // the counters the kernel writes (read back)
    std::vector<std::size_t> table_offsets;
  };
  // This execution's loop bounds and input layout. failed: a bound's expression failed (the
  // reference enumerator reports it); on_host: a size is not bound, which only the reference
  // walk can judge (the host path runs this execution). `kernel_tile_bytes`: per instance.
  enum class Planned { on_device, failed, on_host };
  Planned plan(CompiledTasks& compiled, const SizeBindings& sizes, const std::vector<std::int64_t>& kernel_tile_bytes,
               Execution& out) const;
  // Writes the input block into `host` (input_bytes), with table addresses as the kernels
  // see them: the block is at `device` in their address space.
  void write_inputs(const CompiledTasks& compiled, const SizeBindings& sizes, const Execution& execution,
                    std::byte* host, std::uint64_t device) const;

  // What the kernel counted, from the counters block read back.
  struct Counts {
    bool failed = false;
    std::int64_t tasks = 0, bytes = 0;
    std::vector<std::int64_t> per_statement;  // tasks
  };
  Counts read_counts(const std::byte* counters) const;

 private:
  std::string source_, enumerate_symbol_, order_symbol_;
  std::vector<int> columns_;                         // per top-level statement
  std::vector<std::vector<int>> statement_kernels_;  // per statement: every instance its calls may run
  int sizes_ = 0, tables_ = 0, tensors_ = 0, statements_ = 0;
  bool stages_ = false;
};

}  // namespace pto
