// Workloads: what a Program runs, as P loops over axes whose bodies call kernels on views.
//
//   Workload wl = workload("decode", [&](W& w) {
//     w.parallel_for(DenseDyn(work), [&](Idx i) {
//       auto d = work[i];
//       w.call(decode, d[&WorkDescriptor::tier],          // a family: the tier per task
//              {Q[d[&WorkDescriptor::request]][d[&WorkDescriptor::head]], ..., d[&WorkDescriptor::kv_len]});
//     });
//   });
//
// The body runs once, when the workload is built: loops and calls are recorded, with index
// expressions (frontend/expr.hpp) standing for everything that varies per task. A Program
// (frontend/program.hpp) evaluates them per task when it executes.
//
// P loops:
//   parallel_for(axis, body)   iterations are independent (ordered only by Deps)
//   for_each(axis, body)       iterations in order: the tasks of iteration k+1 wait for
//                              all tasks of iteration k
//   select(sparse, body)       over the indices of a Sparse axis (CSR row), independent
//   when(pred, body).otherwise(body)   per-task condition (cond(pred, then, otherwise) too)
// Kernel calls bind every parameter, in order: tile and global parameters to views (of the
// parameter's dtype, at most 2-D, contiguous rows), integer scalars to index expressions,
// float scalars to numbers. Bad calls are rejected here, with the user's line.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/source_location.hpp"
#include "dsl/builder.hpp"
#include "frontend/axis.hpp"
#include "frontend/schedule.hpp"
#include "frontend/tensor.hpp"

namespace pto {

class Program;
class Workload;

// One argument of a kernel call.
class CallArg {
 public:
  CallArg(View view) : value_(std::move(view)) {}                 // NOLINT(google-explicit-constructor)
  CallArg(const Tensor& tensor) : value_(tensor.view()) {}        // NOLINT(google-explicit-constructor)
  CallArg(Expr integer) : value_(std::move(integer)) {}           // NOLINT(google-explicit-constructor)
  CallArg(int integer) : value_(Expr(integer)) {}                 // NOLINT(google-explicit-constructor)
  CallArg(std::int64_t integer) : value_(Expr(integer)) {}        // NOLINT(google-explicit-constructor)
  CallArg(double number) : value_(number) {}                      // NOLINT(google-explicit-constructor)
  CallArg(float number) : value_(static_cast<double>(number)) {}  // NOLINT(google-explicit-constructor)
  const std::variant<View, Expr, double>& value() const noexcept { return value_; }

 private:
  std::variant<View, Expr, double> value_;
};

// A recorded kernel call: one instance, or a family's tiers chosen by `tier` per task.
struct CallSite {
  std::vector<tl::KernelInstance> instances;
  std::optional<Expr> tier;
  std::string kernel_name;  // the instance's or the family's
  std::vector<CallArg> args;
  SourceLocation where;
};

struct Statement {
  enum class Kind { parallel_for, for_each, select, when, call };
  Kind kind = Kind::call;
  Axis axis;           // loops
  int slot = 0;        // loops: the index's slot
  Expr predicate = 0;  // when
  std::vector<Statement> body, otherwise;
  std::shared_ptr<const CallSite> call;
  SourceLocation where;
};

class W {
 public:
  using Body = std::function<void(Idx)>;

  void parallel_for(const Axis& axis, const Body& body, SourceLocation where = SourceLocation::current());
  void for_each(const Axis& axis, const Body& body, SourceLocation where = SourceLocation::current());
  void select(const Axis& sparse, const Body& body, SourceLocation where = SourceLocation::current());

  class Otherwise {
   public:
    void otherwise(const std::function<void()>& body);

   private:
    friend class W;
    Otherwise(W& w, std::size_t index, std::vector<Statement>* list) : w_(w), index_(index), list_(list) {}
    W& w_;
    std::size_t index_;
    std::vector<Statement>* list_;
  };
  Otherwise when(const Expr& predicate, const std::function<void()>& body,
                 SourceLocation where = SourceLocation::current());

  // when/otherwise in one call (the otherwise branch may be empty).
  void cond(const Expr& predicate, const std::function<void()>& then_body,
            const std::function<void()>& otherwise_body = {}, SourceLocation where = SourceLocation::current());

  void call(const tl::KernelInstance& kernel, std::vector<CallArg> args,
            SourceLocation where = SourceLocation::current());
  void call(const tl::Family& family, const Expr& tier, std::vector<CallArg> args,
            SourceLocation where = SourceLocation::current());

 private:
  friend Workload workload(std::string, const std::function<void(W&)>&);
  void loop(Statement::Kind kind, const Axis& axis, const Body& body, SourceLocation where);
  std::vector<Statement> record(const std::function<void()>& body);
  void add_call(std::vector<tl::KernelInstance> instances, std::optional<Expr> tier, std::string name,
                std::vector<CallArg> args, SourceLocation where);

  std::vector<Statement>* current_ = nullptr;
  int slots_ = 0;
  int depth_ = 0;
};

class Workload {
 public:
  const std::string& name() const noexcept { return name_; }
  const std::vector<Statement>& statements() const noexcept { return *statements_; }
  int index_slots() const noexcept { return slots_; }
  const Schedule& schedule() const noexcept { return schedule_; }

  // Schedule combinators: each returns a copy with the option set (the loops are shared).
  Workload dispatch(Dispatch dispatch) const;
  Workload streams(int n) const;
  Workload timing(Timing timing) const;
  template <typename... Options>
  Workload task_graph(Options... options) const {
    Workload out = *this;
    (out.set(std::move(options)), ...);
    return out;
  }

  // Compiles every kernel instance the workload calls for `target`; throws pto::Error when
  // the target cannot honour an option (naming both).
  Program compile(Target target) const;

 private:
  friend Workload workload(std::string, const std::function<void(W&)>&);
  void set(Deps deps) { schedule_.deps = deps; }
  void set(Window window) { schedule_.window = window; }
  void set(Ready ready) { schedule_.ready = ready; }
  void set(Start start) {
    schedule_.start = start;
    schedule_.start_given = true;
  }
  void set(Trace trace) { schedule_.trace = trace; }
  void set(Pools pools) { schedule_.pools = pools; }
  void set(Graphs graphs) { schedule_.graphs = graphs; }

  std::string name_;
  std::shared_ptr<const std::vector<Statement>> statements_;
  int slots_ = 0;
  Schedule schedule_;
};

Workload workload(std::string name, const std::function<void(W&)>& body);

}  // namespace pto
