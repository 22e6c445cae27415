#include "frontend/workload.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "frontend/program.hpp"

namespace pto {

namespace {

const char* kind_name(Statement::Kind kind) {
  switch (kind) {
    case Statement::Kind::parallel_for: return "parallel_for";
    case Statement::Kind::for_each: return "for_each";
    case Statement::Kind::select: return "select";
    case Statement::Kind::when: return "when";
    case Statement::Kind::call: return "call";
  }
  return "?";
}

std::string param_list(const ir::Kernel& kernel) {
  std::string out;
  for (const ir::Param& p : kernel.params) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{}: {}", p.name, ir::to_string(p.type));
  }
  return out;
}

// Whether two instances of a family take the same parameters (names, kinds, dtypes).
bool same_signature(const ir::Kernel& a, const ir::Kernel& b) {
  if (a.params.size() != b.params.size()) return false;
  for (std::size_t i = 0; i < a.params.size(); ++i) {
    const ir::Param &x = a.params[i], &y = b.params[i];
    if (x.name != y.name || x.role != y.role || x.type.kind != y.type.kind || x.type.dtype != y.type.dtype)
      return false;
  }
  return true;
}

}  // namespace

void W::loop(Statement::Kind kind, const Axis& axis, const Body& body, SourceLocation where) {
  if (current_ == nullptr) throw Error("W used outside its workload body", where);
  if (kind == Statement::Kind::select && axis.kind != Axis::Kind::sparse) {
    throw Error(fmt::format("select over {}: select iterates a Sparse axis; use parallel_for or for_each for {} axes",
                            axis.description, name(axis.kind)),
                where);
  }
  if (kind != Statement::Kind::select && axis.kind == Axis::Kind::sparse) {
    throw Error(fmt::format("{} over {}: a Sparse axis is iterated with select", kind_name(kind), axis.description),
                where);
  }
  Statement loop;
  loop.kind = kind;
  loop.axis = axis;
  loop.slot = slots_++;
  loop.where = where;
  const Expr position = Expr::var(loop.slot, fmt::format("i{}", loop.slot));
  const Expr index = axis.indices ? (*axis.indices)[position] : position;
  loop.body = record([&] { body(index); });
  current_->push_back(std::move(loop));
}

void W::parallel_for(const Axis& axis, const Body& body, SourceLocation where) {
  loop(Statement::Kind::parallel_for, axis, body, where);
}
void W::for_each(const Axis& axis, const Body& body, SourceLocation where) {
  loop(Statement::Kind::for_each, axis, body, where);
}
void W::select(const Axis& sparse, const Body& body, SourceLocation where) {
  loop(Statement::Kind::select, sparse, body, where);
}

std::vector<Statement> W::record(const std::function<void()>& body) {
  std::vector<Statement> inner;
  std::vector<Statement>* outer = current_;
  current_ = &inner;
  ++depth_;
  try {
    body();
  } catch (...) {
    current_ = outer;
    --depth_;
    throw;
  }
  current_ = outer;
  --depth_;
  return inner;
}

W::Otherwise W::when(const Expr& predicate, const std::function<void()>& body, SourceLocation where) {
  if (current_ == nullptr) throw Error("W used outside its workload body", where);
  Statement cond;
  cond.kind = Statement::Kind::when;
  cond.predicate = predicate;
  cond.where = where;
  cond.body = record(body);
  current_->push_back(std::move(cond));
  return Otherwise(*this, current_->size() - 1, current_);
}

void W::Otherwise::otherwise(const std::function<void()>& body) {
  std::vector<Statement> branch = w_.record(body);
  (*list_)[index_].otherwise = std::move(branch);
}

void W::cond(const Expr& predicate, const std::function<void()>& then_body, const std::function<void()>& otherwise_body,
             SourceLocation where) {
  Otherwise branch = when(predicate, then_body, where);
  if (otherwise_body) branch.otherwise(otherwise_body);
}

void W::call(const tl::KernelInstance& kernel, std::vector<CallArg> args, SourceLocation where) {
  if (!kernel.valid()) throw Error("call of an empty KernelInstance: build it with tl::kernel first", where);
  add_call({kernel}, std::nullopt, kernel.name(), std::move(args), where);
}

void W::call(const tl::Family& family, const Expr& tier, std::vector<CallArg> args, SourceLocation where) {
  std::vector<tl::KernelInstance> instances;
  for (std::size_t i = 0; i < family.size(); ++i) instances.push_back(family.tier(i));
  if (instances.empty()) throw Error(fmt::format("call of family '{}': it has no tiers", family.name()), where);
  for (const auto& instance : instances) {
    if (!same_signature(instances[0].ir(), instance.ir())) {
      throw Error(fmt::format("call of family '{}': tiers {} ({}) and {} ({}) take different parameters; one call "
                              "site needs one signature",
                              family.name(), instances[0].name(), param_list(instances[0].ir()), instance.name(),
                              param_list(instance.ir())),
                  where);
    }
  }
  add_call(std::move(instances), tier, family.name(), std::move(args), where);
}

void W::add_call(std::vector<tl::KernelInstance> instances, std::optional<Expr> tier, std::string name,
                 std::vector<CallArg> args, SourceLocation where) {
  if (current_ == nullptr) throw Error("W used outside its workload body", where);
  const ir::Kernel& kernel = instances[0].ir();
  if (args.size() != kernel.params.size()) {
    throw Error(fmt::format("call of '{}' gives {} arguments; it takes {}: ({})", name, args.size(),
                            kernel.params.size(), param_list(kernel)),
                where);
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const ir::Param& p = kernel.params[i];
    const auto& value = args[i].value();
    const std::string which =
        fmt::format("call of '{}', argument {} ('{}': {})", name, i, p.name, ir::to_string(p.type));
    if (p.type.is_scalar()) {
      const bool integer = is_integer(p.type.dtype);
      if (std::holds_alternative<View>(value)) {
        throw Error(fmt::format("{}: got the view {}; a scalar parameter takes {}", which,
                                std::get<View>(value).description(), integer ? "an index expression" : "a number"),
                    where);
      }
      if (integer && std::holds_alternative<double>(value)) {
        throw Error(fmt::format("{}: got the number {}; an integer parameter takes an integer or index expression",
                                which, std::get<double>(value)),
                    where);
      }
      continue;
    }
    if (!std::holds_alternative<View>(value)) {
      throw Error(fmt::format("{}: got a scalar; a tensor parameter takes a view of a Tensor", which), where);
    }
    const View& view = std::get<View>(value);
    if (view.dtype() != p.type.dtype) {
      throw Error(fmt::format("{}: the view {} holds {}; the parameter needs {}", which, view.description(),
                              pto::name(view.dtype()), pto::name(p.type.dtype)),
                  where);
    }
    if (std::string problem = view.binding_problem(); !problem.empty())
      throw Error(fmt::format("{}: {}", which, problem), where);
  }
  Statement call;
  call.kind = Statement::Kind::call;
  call.where = where;
  call.call = std::make_shared<const CallSite>(
      CallSite{std::move(instances), std::move(tier), std::move(name), std::move(args), where});
  current_->push_back(std::move(call));
}

Workload workload(std::string name, const std::function<void(W&)>& body) {
  W w;
  std::vector<Statement> top = w.record([&] { body(w); });
  Workload out;
  out.name_ = std::move(name);
  out.statements_ = std::make_shared<const std::vector<Statement>>(std::move(top));
  out.slots_ = w.slots_;
  return out;
}

Workload Workload::dispatch(Dispatch dispatch) const {
  Workload out = *this;
  out.schedule_.dispatch = std::move(dispatch);
  return out;
}

Workload Workload::streams(int n) const {
  if (n < 0) throw Error(fmt::format("streams({}): the number of streams must be >= 0 (0: no lanes)", n));
  Workload out = *this;
  out.schedule_.streams = n;
  return out;
}

Workload Workload::timing(Timing timing) const {
  Workload out = *this;
  out.schedule_.timing = timing;
  return out;
}

Program Workload::compile(Target target) const {
  return Program(*this, target);
}

std::string_view name(Target::Kind kind) noexcept {
  switch (kind) {
    case Target::Kind::interpreter: return "interpreter";
    case Target::Kind::cpu: return "cpu";
    case Target::Kind::cuda: return "cuda";
  }
  return "?";
}

std::string_view name(Deps::Kind kind) noexcept {
  switch (kind) {
    case Deps::Kind::infer: return "infer";
    case Deps::Kind::stages: return "stages";
    case Deps::Kind::none: return "none";
  }
  return "?";
}

}  // namespace pto
