// The compiled task list's parts (frontend/compiled_tasks.hpp): per call site its argument
// recipes, per statement its code block; read by the host enumeration (compiled_tasks.cpp)
// and by the CUDA target's device enumeration (device_enumeration.cpp), which renders the
// same recipes as a kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/kernel_abi.hpp"
#include "dsl/ir.hpp"
#include "frontend/expr_code.hpp"
#include "frontend/workload.hpp"

namespace pto {

// One argument of a call site, ready to be resolved per task.
struct ArgRecipe {
  enum class Kind { view, integer, number };
  Kind kind = Kind::view;
  bool fails = false;  // known bad when compiled (a constant the parameter rejects): the reference reports it
  // integer and view registers
  int value = -1;            // integer: its register
  bool to_number = false;    // integer bound to a float parameter: passed as a number
  bool check_i32 = false;    // integer bound to an i32 parameter: must fit
  bool check_float = false;  // to_number: the parameter's check_number applies
  DType param_dtype = DType::f32;
  double number = 0.0;  // number
  // view
  int tensor = -1;
  std::byte* base = nullptr;
  std::int64_t element = 0;  // bytes per element
  int rank = 0;
  int offset = -1, rows = -1, cols = -1;  // registers (rows/cols: -1 where the rank gives 1)
  std::int64_t row_stride = 0;            // rank 2: elements between rows
  struct Bound {
    int value, count, extent;
  };
  std::vector<Bound> bounds;
  std::int64_t want_rows = ir::dynamic_extent, want_cols = ir::dynamic_extent;
  bool reads = false, writes = false, tracked = false;
  // Deps::infer in cells (runtime/cell_tracker.hpp): the tensor's region, -1 for the interval
  // tracker; cells of 2^cell_shift bytes.
  int cell_region = -1;
  int cell_shift = 0;
  int byte_exponent = 0;  // every access's offset, row length and row stride is a multiple of 2^this
};

struct SiteRecipe {
  const CallSite* site = nullptr;
  std::vector<int> kernels;  // per tier: index into instances
  int tier = -1;             // register; -1: one instance
  ExprBlock block;
  std::vector<ArgRecipe> args;
  std::vector<int> tensors;  // per argument (site_tensors)
};

struct CompiledStatement {
  Statement::Kind kind = Statement::Kind::call;
  int slot = 0;
  ExprBlock block;  // loops: begin and end; when: the predicate
  int first = -1, second = -1;
  std::vector<CompiledStatement> body, otherwise;
  int site = -1;
};

// One argument's slot for one task, from its site block's registers `r`: a view's bounds,
// address, extents and check_binding's shape rules (its element bytes added to `bytes`), a
// scalar's value and range; false when a check fails (the reference enumerator names it).
bool resolve_view_slot(const ArgRecipe& arg, const std::int64_t* r, ArgSlot& slot, std::int64_t& bytes);
bool resolve_scalar_slot(const ArgRecipe& arg, const std::int64_t* r, ArgSlot& slot);

// Walks over a statement list (bodies and branches included).
bool has_loop(const std::vector<CompiledStatement>& list);
void for_each_block(const std::vector<CompiledStatement>& list, const std::vector<SiteRecipe>& sites,
                    const std::function<void(const ExprBlock&)>& fn);
void for_each_site(const std::vector<CompiledStatement>& list, const std::function<void(int)>& fn);

class CompiledTasks;
// Why the executing side cannot enumerate `workload`'s tasks itself (empty: it can; the
// device enumeration and the CPU workers' share these rules): top-level parallel_for loops
// with execution-invariant bounds whose bodies are conditions and calls reading only their
// own loop's index, Deps::stages or Deps::none, Dispatch::work_steal, Timing::immediate, and
// no argument known bad when compiled.
std::string stage_structure_problem(const Workload& workload, const CompiledTasks& compiled);

// The dependency edges the compiled task list would have made for Deps::stages with this
// many tasks per top-level statement (a stage of several tasks joins into one node, which
// the next stage's tasks follow): what ProgramStats::edges reports when nobody built them.
std::int64_t stage_join_edges(Deps::Kind deps, const std::vector<std::int64_t>& tasks_per_statement);

}  // namespace pto
