#include "frontend/task_enumerator.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace pto {

TaskEnumerator::TaskEnumerator(const Workload& workload, const SizeBindings& sizes, TaskSink& sink)
    : workload_(workload), sink_(sink) {
  env_.vars.assign(static_cast<std::size_t>(workload.index_slots()), 0);
  env_.sizes = &sizes;
}

void TaskEnumerator::run() {
  if (workload_.schedule().deps.kind != Deps::Kind::stages) return run(workload_.statements());
  // Deps::stages: each top-level statement's tasks wait for all tasks of the one before.
  for (const Statement& statement : workload_.statements()) {
    std::vector<TaskId> stage;
    collectors_.push_back(&stage);
    run_one(statement);
    collectors_.pop_back();
    if (!stage.empty()) after_ = join(std::move(stage));
  }
}

void TaskEnumerator::run(const std::vector<Statement>& statements) {
  for (const Statement& statement : statements) run_one(statement);
}

namespace {

void check_range(const Statement& s, std::int64_t begin, std::int64_t end) {
  if (begin > end) {
    throw Error(fmt::format("{} over {}: the axis runs from {} to {} (its end is before its begin)",
                            s.kind == Statement::Kind::select ? "select" : "loop", s.axis.description, begin, end),
                s.where);
  }
}

}  // namespace

void TaskEnumerator::run_one(const Statement& s) {
  switch (s.kind) {
    case Statement::Kind::call: return call(*s.call);
    case Statement::Kind::when:
      if (s.predicate.eval(env_) != 0) {
        run(s.body);
      } else {
        run(s.otherwise);
      }
      return;
    case Statement::Kind::parallel_for:
    case Statement::Kind::select: {
      const std::int64_t begin = s.axis.begin.eval(env_), end = s.axis.end.eval(env_);
      check_range(s, begin, end);
      for (std::int64_t i = begin; i < end; ++i) {
        env_.vars[static_cast<std::size_t>(s.slot)] = i;
        run(s.body);
      }
      return;
    }
    case Statement::Kind::for_each: {
      const std::int64_t begin = s.axis.begin.eval(env_), end = s.axis.end.eval(env_);
      check_range(s, begin, end);
      const std::vector<TaskId> outer_after = after_;
      for (std::int64_t i = begin; i < end; ++i) {
        env_.vars[static_cast<std::size_t>(s.slot)] = i;
        std::vector<TaskId> iteration;
        collectors_.push_back(&iteration);
        run(s.body);
        collectors_.pop_back();
        if (!iteration.empty()) after_ = join(std::move(iteration));  // iteration i+1 follows iteration i
      }
      // Later statements are ordered by Deps, not by this loop: restore the outer order.
      after_ = outer_after;
      return;
    }
  }
}

// What later tasks wait for when they must follow all of `tasks`: the task itself when it
// is one, else a join after all of them, so that m later tasks add m edges instead of
// m x n. (stats().tasks counts kernel tasks only.)
std::vector<TaskId> TaskEnumerator::join(std::vector<TaskId> tasks) {
  if (tasks.size() <= 1) return tasks;
  const TaskId id = sink_.join(std::move(tasks));
  for (std::vector<TaskId>* collector : collectors_) collector->push_back(id);
  return {id};
}

void TaskEnumerator::call(const CallSite& site) {
  std::size_t tier = 0;
  if (site.tier) {
    const std::int64_t value = site.tier->eval(env_);
    if (value < 0 || value >= static_cast<std::int64_t>(site.instances.size())) {
      throw Error(fmt::format("call of family '{}': tier {} (from {}) does not exist; the family has tiers 0..{}",
                              site.kernel_name, value, site.tier->to_string(), site.instances.size() - 1),
                  site.where);
    }
    tier = static_cast<std::size_t>(value);
  }
  CallTask task;
  task.instance = &site.instances[tier];
  const ir::Kernel& kernel = task.instance->ir();
  task.tensors.assign(site.args.size(), nullptr);
  task.args.resize(site.args.size());
  const bool infer = workload_.schedule().deps.kind == Deps::Kind::infer;
  for (std::size_t i = 0; i < site.args.size(); ++i) {
    const ir::Param& param = kernel.params[i];
    const auto& value = site.args[i].value();
    if (const auto* view = std::get_if<View>(&value)) {
      ResolvedView resolved;
      try {
        resolved = view->resolve(env_);
      } catch (const Error& error) {
        throw Error(fmt::format("call of '{}', argument '{}': {}", site.kernel_name, param.name, error.message()),
                    site.where);
      }
      task.args[i] = resolved.view;
      task.tensors[i] = &view->tensor();
      // Bytes moved: the view's elements (its footprint can span more: a head's rows
      // interleaved with the other heads').
      task.bytes += resolved.view.rows * resolved.view.cols * size_bytes(resolved.view.dtype);
      if (infer) {
        if (param.role != ir::ParamRole::out) task.reads.push_back(resolved.footprint);
        if (param.role != ir::ParamRole::in) task.writes.push_back(resolved.footprint);
      }
    } else if (const auto* integer = std::get_if<Expr>(&value)) {
      const std::int64_t v = integer->eval(env_);
      if (is_integer(param.type.dtype)) {
        task.args[i] = v;
      } else {
        task.args[i] = static_cast<double>(v);
      }
    } else {
      task.args[i] = std::get<double>(value);
    }
    // The kind and dtype were checked when the call was recorded; the resolved view's shape
    // is checked here, once per task, so that executors run without checking again.
    try {
      check_binding(kernel, i, task.args[i]);
    } catch (const Error& error) {
      throw Error(fmt::format("call of '{}', argument '{}': {}", site.kernel_name, param.name, error.message()),
                  site.where);
    }
  }
  if (!env_.vars.empty()) task.key = static_cast<std::uint64_t>(env_.vars[0]);
  task.ordinal = tasks_;
  const std::int64_t task_bytes = task.bytes;
  const TaskId id = sink_.add(std::move(task), after_);
  for (std::vector<TaskId>* collector : collectors_) collector->push_back(id);
  ++tasks_;
  bytes_ += task_bytes;
}

std::vector<std::string> size_names(const std::vector<Statement>& statements) {
  std::vector<std::string> names;
  auto walk = [&](const std::vector<Statement>& list, auto& self) -> void {
    for (const Statement& statement : list) {
      statement.axis.begin.collect_sizes(names);
      statement.axis.end.collect_sizes(names);
      statement.predicate.collect_sizes(names);
      if (statement.call) {
        if (statement.call->tier) statement.call->tier->collect_sizes(names);
        for (const CallArg& arg : statement.call->args) {
          if (const auto* view = std::get_if<View>(&arg.value())) view->collect_sizes(names);
          if (const auto* integer = std::get_if<Expr>(&arg.value())) integer->collect_sizes(names);
        }
      }
      self(statement.body, self);
      self(statement.otherwise, self);
    }
  };
  walk(statements, walk);
  return names;
}

void for_each_call(const std::vector<Statement>& statements, const std::function<void(const CallSite&)>& fn) {
  for (const Statement& statement : statements) {
    if (statement.call) fn(*statement.call);
    for_each_call(statement.body, fn);
    for_each_call(statement.otherwise, fn);
  }
}

void for_each_view(const std::vector<Statement>& statements,
                   const std::function<void(const View&, const CallSite&)>& fn) {
  for_each_call(statements, [&](const CallSite& site) {
    for (const CallArg& arg : site.args) {
      if (const auto* view = std::get_if<View>(&arg.value())) fn(*view, site);
    }
  });
}

}  // namespace pto
