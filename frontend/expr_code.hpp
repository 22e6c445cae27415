// Index expressions compiled for re-execution (docs/workloads.md, "Re-execution").
//
// The expressions one statement needs (a loop's bounds, a condition, a call's tier, view
// offsets, extents and bounds, integer arguments) become one block of straight-line code:
// instruction i writes register i, and every subexpression is computed once (value
// numbering: the same operation on the same registers is one instruction, so the `request`
// field that six views read is read once). A Program runs the block per task: no tree walk,
// no shared_ptr, no name lookup, no allocation.
//
// Failure (a row outside its table, a zero divisor, a size never bound) stops the block;
// the Program then runs the reference enumerator (frontend/task_enumerator.hpp), whose
// error names the call site, so both paths report exactly the same error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "frontend/expr.hpp"

namespace pto {

// A table's rows as one execution sees them (read once per execution).
struct TableSnapshot {
  const std::byte* data = nullptr;
  std::int64_t rows = 0;
  std::size_t row_bytes = 0;
};

// The leaves' values while a Program executes, by the indices ExprLeaves gave them.
struct CodeInputs {
  const std::int64_t* vars = nullptr;     // loop indices by slot
  const std::int64_t* sizes = nullptr;    // by size index
  const bool* bound = nullptr;            // whether each size was set
  const TableSnapshot* tables = nullptr;  // by table index
};

// The tables and sizes one workload's blocks read, numbered.
class ExprLeaves {
 public:
  int table(const TableSource* source);
  int size(const std::string& name);
  const std::vector<const TableSource*>& tables() const noexcept { return tables_; }
  const std::vector<std::string>& sizes() const noexcept { return sizes_; }

 private:
  std::vector<const TableSource*> tables_;
  std::vector<std::string> sizes_;
};

class ExprBlock {
 public:
  // Adds `expr` and its subexpressions not in the block yet; returns its register.
  int add(const Expr& expr, ExprLeaves& leaves);

  // Once per execution: evaluates what no loop index reaches (constants, sizes, table row
  // counts, fields at fixed rows, and what is computed from them only).
  // (The registers are the block's scratch: a block runs for one enumeration at a time.)
  void prepare(const CodeInputs& in) const;
  // Per statement instance: evaluates the rest; false when an instruction failed (here or
  // in prepare()).
  bool run(const CodeInputs& in) const;
  std::int64_t operator[](int reg) const noexcept { return registers_[static_cast<std::size_t>(reg)]; }
  // The same on registers of the caller's (size() of them, copied from the block's after
  // prepare() with copy_registers): several threads run one prepared block at once.
  void copy_registers(std::int64_t* out) const noexcept;
  const std::int64_t* registers() const noexcept { return registers_.data(); }
  bool prepared() const noexcept { return prepared_; }  // whether the last prepare() succeeded
  bool run(const CodeInputs& in, std::int64_t* registers) const;
  // Whether no loop index reaches register `reg` (prepare() computes it).
  bool invariant(int reg) const noexcept { return varies_[static_cast<std::size_t>(reg)] == 0; }

  // The block as CUDA statements, one `const long long <prefix><i>` per instruction in
  // order; an instruction that fails (a row outside its table, a zero divisor) runs
  // `on_fail`. The leaves are the generated code's names from `names`.
  struct CudaNames {
    std::function<std::string(int slot)> var;
    std::function<std::string(int index)> size;
    std::function<std::string(int table)> table_data;  // a const unsigned char*
    std::function<std::string(int table)> table_rows;
  };
  std::string render_cuda(const std::string& prefix, const CudaNames& names, const ExprLeaves& leaves,
                          const std::string& on_fail) const;

  std::size_t size() const noexcept { return code_.size(); }
  // The loop indices (slots) the block reads.
  std::vector<int> vars_read() const;

 private:
  enum class Op : std::uint8_t { constant, var, size, table_rows, field, binary, logical_not };
  struct Instruction {
    Op op = Op::constant;
    IntKind kind = IntKind::i64;  // field
    int binary = 0;               // binary: the ExprOp
    int a = 0, b = 0;             // var slot / size / table index; operand registers
    std::int64_t immediate = 0;   // constant; field byte offset
  };
  // An instruction as prepare() and run() execute it: the operation, and a field's integer
  // kind or a binary operator, in one code (one dispatch per instruction), with the register
  // it writes.
  struct Step {
    std::uint8_t code = 0;
    std::int32_t out = 0, a = 0, b = 0;
    std::int64_t immediate = 0;
  };
  int emit(const Instruction& instruction, bool varies);
  static Step step_of(const Instruction& c, int out);
  // Runs `steps` in order on registers `r`; false at the first that fails.
  static bool run_steps(const std::vector<Step>& steps, const CodeInputs& in, std::int64_t* r);

  std::vector<Instruction> code_;
  std::vector<char> varies_;           // per instruction: a loop index reaches it
  std::vector<Step> invariant_steps_;  // what no loop index reaches, in order (prepare)
  std::vector<Step> steps_;            // the varying instructions, in order (run)
  mutable std::vector<std::int64_t> registers_;
  mutable bool prepared_ = true;  // whether prepare() succeeded
  // Value numbering while the block is built: one register per distinct instruction.
  std::map<std::tuple<int, int, int, int, int, std::int64_t>, int> numbered_;
};

// The largest k <= 62 such that 2^k divides every value `expr` can take (wrapping arithmetic
// keeps divisibility by powers of two): what the compiled task list proves about offsets.
int power_of_two_exponent(const Expr& expr);

}  // namespace pto
