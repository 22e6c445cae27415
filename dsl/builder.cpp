#include "dsl/builder.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string_view>

#include "core/dump.hpp"
#include "core/error.hpp"
#include "dsl/hash.hpp"
#include "dsl/printer.hpp"
#include "dsl/type_rules.hpp"
#include "dsl/verifier.hpp"

namespace pto::tl {

namespace {

thread_local Builder* building = nullptr;  // the innermost live Builder of this thread
std::atomic<std::uint64_t> next_serial{1};

// Whether `builder` (with `serial`) is one of this thread's live builders. Walks the chain
// of live builders without touching `builder` itself, which may be gone.
bool is_building(const Builder* builder, std::uint64_t serial) noexcept {
  for (const Builder* live = building; live != nullptr; live = live->enclosing()) {
    if (live == builder && live->serial() == serial) return true;
  }
  return false;
}

[[noreturn]] void ended(const char* what) {
  throw Error(
      fmt::format("{} of a kernel whose body has ended was used: values and parameter handles live only "
                  "inside the lambda that builds their kernel (tl::kernel, tl::family); build what needs "
                  "them there",
                  what));
}

}  // namespace

Value::Value(Builder* builder, ir::ValueId id) : builder_(builder), serial_(builder->serial()), id_(id) {}

Builder* Value::builder() const {
  if (builder_ != nullptr && !is_building(builder_, serial_)) ended("a tl::Value");
  return builder_;
}

ParamHandle::ParamHandle(Builder* builder, int index) : builder_(builder), serial_(builder->serial()), index_(index) {}

Builder* ParamHandle::builder() const {
  if (builder_ != nullptr && !is_building(builder_, serial_)) ended("a parameter handle");
  return builder_;
}

Builder& current_builder(std::string_view op, Where where) {
  if (building == nullptr) {
    throw Error(fmt::format("{}: called outside a kernel body; call tl ops inside the lambda given to "
                            "tl::kernel or tl::family",
                            op),
                where);
  }
  return *building;
}

Builder* active_builder() noexcept {
  return building;
}

Builder& builder_for_handle(Builder* handle_builder, std::string_view op, Where where) {
  if (handle_builder == nullptr) throw Error(fmt::format("{}: the parameter handle is empty", op), where);
  if (building != nullptr && building != handle_builder) {
    throw Error(fmt::format("{}: the parameter belongs to kernel '{}', not to '{}' being built; values cannot "
                            "cross kernels (pass the data as a parameter)",
                            op, handle_builder->name(), building->name()),
                where);
  }
  return *handle_builder;
}

const ir::Type& Value::type() const {
  if (builder_ == nullptr) throw Error("tl::Value: used before it was assigned a value (default-constructed)");
  return builder()->kernel().type_of(id_);
}

const ir::Param& ParamHandle::param() const {
  if (builder_ == nullptr) throw Error("tl parameter handle: used before it was assigned (default-constructed)");
  return builder()->kernel().params.at(static_cast<std::size_t>(index_));
}

Builder::Builder(std::string kernel_name) : enclosing_(building), serial_(next_serial.fetch_add(1)) {
  building = this;
  kernel_.name = std::move(kernel_name);
  blocks_.push_back(&kernel_.body);
  open_block_ids_.push_back(next_block_id_++);
}

Builder::~Builder() {
  if (building == this) building = enclosing_;
}

ir::ValueId Builder::new_value(const ir::Type& type) {
  kernel_.values.push_back({type, {}, {}});
  value_block_.push_back(open_block_ids_.back());
  return static_cast<ir::ValueId>(kernel_.values.size() - 1);
}

int Builder::add_param(std::string param_name, ir::ParamRole role, const ir::Type& type, Where where) {
  if (param_name.empty()) throw Error(fmt::format("kernel '{}': a parameter needs a name", kernel_.name), where);
  if (const ir::Param* existing = kernel_.find_param(param_name)) {
    throw Error(fmt::format("kernel '{}': parameter '{}' is declared twice (first at line {}); give each "
                            "parameter its own name",
                            kernel_.name, param_name, existing->where.line),
                where);
  }
  if (blocks_.size() > 1) {
    throw Error(fmt::format("kernel '{}': parameter '{}' declared inside a loop body; declare parameters first",
                            kernel_.name, param_name),
                where);
  }
  if (type.is_tile()) {
    if (std::string problem = ir::check_tile_shape(type.rows, type.cols); !problem.empty()) {
      throw Error(fmt::format("kernel '{}': parameter '{}': {}", kernel_.name, param_name, problem), where);
    }
  }
  if (type.is_global()) {
    auto bad = [](std::int64_t n) { return n < 1 && n != ir::dynamic_extent; };
    if (bad(type.rows) || bad(type.cols)) {
      throw Error(fmt::format("kernel '{}': global '{}' has extents [{},{}]: each must be >= 1 or tl::dyn",
                              kernel_.name, param_name, type.rows, type.cols),
                  where);
    }
  }
  const int index = static_cast<int>(kernel_.params.size());
  ir::Node node;
  node.op = ir::Op::param;
  node.param = index;
  node.where = where;
  const ir::ValueId value = new_value(type);
  kernel_.values.back().hint = param_name;
  kernel_.values.back().where = where;
  node.results.push_back(value);
  kernel_.body.nodes.push_back(std::move(node));
  kernel_.params.push_back({std::move(param_name), role, type, value, where});
  written_.push_back(false);
  return index;
}

Value Builder::in(TileSpec spec, std::string param_name, Where where) {
  const int index =
      add_param(std::move(param_name), ir::ParamRole::in, ir::Type::tile(spec.rows, spec.cols, spec.dtype), where);
  return Value(this, kernel_.params[static_cast<std::size_t>(index)].value);
}
Global Builder::in(GlobalSpec spec, std::string param_name, Where where) {
  return Global(this, add_param(std::move(param_name), ir::ParamRole::in,
                                ir::Type::global(spec.rows, spec.cols, spec.dtype), where));
}
Output Builder::out(TileSpec spec, std::string param_name, Where where) {
  return Output(this, add_param(std::move(param_name), ir::ParamRole::out,
                                ir::Type::tile(spec.rows, spec.cols, spec.dtype), where));
}
Global Builder::out(GlobalSpec spec, std::string param_name, Where where) {
  return Global(this, add_param(std::move(param_name), ir::ParamRole::out,
                                ir::Type::global(spec.rows, spec.cols, spec.dtype), where));
}
Output Builder::inout(TileSpec spec, std::string param_name, Where where) {
  return Output(this, add_param(std::move(param_name), ir::ParamRole::inout,
                                ir::Type::tile(spec.rows, spec.cols, spec.dtype), where));
}
Global Builder::inout(GlobalSpec spec, std::string param_name, Where where) {
  return Global(this, add_param(std::move(param_name), ir::ParamRole::inout,
                                ir::Type::global(spec.rows, spec.cols, spec.dtype), where));
}
Scalar Builder::scalar(DType dtype, std::string param_name, Where where) {
  if (dtype == DType::f16 || dtype == DType::bf16) {
    throw Error(fmt::format("kernel '{}': scalar '{}' of dtype {}: scalars are i32, i64 or f32", kernel_.name,
                            param_name, pto::name(dtype)),
                where);
  }
  const int index = add_param(std::move(param_name), ir::ParamRole::in, ir::Type::scalar(dtype), where);
  return Value(this, kernel_.params[static_cast<std::size_t>(index)].value);
}

void Builder::check_usable(const Value& value, std::string_view op, Where where) const {
  if (value.builder() == nullptr) {
    throw Error(fmt::format("{}: an operand is an empty tl::Value (default-constructed, never assigned)", op), where);
  }
  if (value.builder() != this) {
    throw Error(fmt::format("{}: an operand belongs to kernel '{}', not to '{}' being built; values cannot "
                            "cross kernels (pass the data as a parameter)",
                            op, value.builder()->name(), kernel_.name),
                where);
  }
  const int block = value_block_.at(static_cast<std::size_t>(value.id()));
  if (std::find(open_block_ids_.begin(), open_block_ids_.end(), block) == open_block_ids_.end()) {
    throw Error(fmt::format("{}: an operand ({}) was defined inside a loop body that has ended; carry it out of "
                            "the loop with tl::carry",
                            op, ir::to_string(value.type())),
                where);
  }
}

Value Builder::emit(ir::Node node, const ir::Type& result_type) {
  const ir::ValueId id = new_value(result_type);
  kernel_.values.back().where = node.where;
  node.results.push_back(id);
  current_block().nodes.push_back(std::move(node));
  return Value(this, id);
}

void Builder::emit_void(ir::Node node) {
  current_block().nodes.push_back(std::move(node));
}

Value Builder::constant(double number, DType dtype, Where where, std::string_view op) {
  if (std::string problem = ir::check_number(dtype, number); !problem.empty()) {
    throw Error(fmt::format("{}: the constant {}", op, problem), where);
  }
  ir::Node node;
  node.op = ir::Op::constant;
  node.number = number;
  node.where = where;
  return emit(std::move(node), ir::Type::scalar(dtype));
}

Value Builder::index_value(const Index& index, std::string_view op, std::string_view what, Where where) {
  if (index.value.builder() == nullptr) {
    // Constants are stored as doubles: integers beyond 2^53 would silently become others.
    constexpr std::int64_t exact = std::int64_t{1} << 53;
    if (index.literal > exact || index.literal < -exact) {
      throw Error(
          fmt::format("{}: {} is the literal {}, beyond +-2^53, where constants are no longer exact; pass it as "
                      "a scalar parameter (k.scalar(i64, ...))",
                      op, what, index.literal),
          where);
    }
    const bool fits_i32 = index.literal >= INT32_MIN && index.literal <= INT32_MAX;
    return constant(static_cast<double>(index.literal), fits_i32 ? DType::i32 : DType::i64, where, op);
  }
  check_usable(index.value, op, where);
  if (!index.value.is_scalar() || !is_integer(index.value.dtype())) {
    throw Error(fmt::format("{}: {} must be an integer scalar (i32 or i64), got {}; convert it with "
                            "tl::cast(x, i32)",
                            op, what, ir::to_string(index.value.type())),
                where);
  }
  return index.value;
}

std::vector<Value> Builder::open_loop(const Value& start, const Value& end, std::int64_t step,
                                      std::span<const Value> inits, Where where) {
  if (step < 1) {
    throw Error(fmt::format("for_range: step is {}; it must be a positive constant (loops count upward)", step), where);
  }
  PendingLoop loop;
  loop.node.op = ir::Op::for_range;
  loop.node.step = step;
  loop.node.where = where;
  loop.node.operands = {start.id(), end.id()};
  for (const Value& init : inits) {
    check_usable(init, "for_range", where);
    loop.node.operands.push_back(init.id());
    loop.carried.push_back(init.type());
  }
  loop.body = std::make_unique<ir::Block>();
  blocks_.push_back(loop.body.get());
  open_block_ids_.push_back(next_block_id_++);
  std::vector<Value> arguments;
  const ir::Type index_type =
      ir::Type::scalar((start.dtype() == DType::i64 || end.dtype() == DType::i64) ? DType::i64 : DType::i32);
  for (std::size_t i = 0; i <= loop.carried.size(); ++i) {
    const ir::ValueId id = new_value(i == 0 ? index_type : loop.carried[i - 1]);
    kernel_.values.back().where = where;
    loop.body->arguments.push_back(id);
    arguments.push_back(Value(this, id));
  }
  loops_.push_back(std::move(loop));
  return arguments;
}

std::vector<Value> Builder::close_loop(std::span<const Value> yielded, Where where) {
  PendingLoop& loop = loops_.back();
  if (yielded.size() != loop.carried.size()) {
    throw Error(fmt::format("for_range: the body carries {} values but the loop was started with {}; return "
                            "tl::carry(...) with one value per init, in the same order",
                            yielded.size(), loop.carried.size()),
                where);
  }
  ir::Node yield;
  yield.op = ir::Op::yield;
  yield.where = where;
  for (std::size_t i = 0; i < yielded.size(); ++i) {
    check_usable(yielded[i], "for_range carry", where);
    if (yielded[i].type() != loop.carried[i]) {
      throw Error(fmt::format("for_range: carried value {} changes type from {} to {} in the loop body; a carried "
                              "value keeps its type: start it with the type the body produces, or tl::cast it back",
                              i, ir::to_string(loop.carried[i]), ir::to_string(yielded[i].type())),
                  where);
    }
    yield.operands.push_back(yielded[i].id());
  }
  current_block().nodes.push_back(std::move(yield));
  blocks_.pop_back();
  open_block_ids_.pop_back();

  PendingLoop done = std::move(loops_.back());
  loops_.pop_back();
  done.node.body = std::move(done.body);
  std::vector<Value> results;
  for (const ir::Type& type : done.carried) {
    const ir::ValueId id = new_value(type);
    kernel_.values.back().where = where;
    done.node.results.push_back(id);
    results.push_back(Value(this, id));
  }
  current_block().nodes.push_back(std::move(done.node));
  return results;
}

ir::Kernel Builder::finish(Where where) {
  ir::Kernel kernel = finish_unverified(where);
  ir::verify(kernel);
  return kernel;
}

ir::Kernel Builder::finish_unverified(Where where) {
  if (blocks_.size() != 1) throw Error(fmt::format("kernel '{}': finished inside a loop body", kernel_.name), where);
  for (std::size_t i = 0; i < kernel_.params.size(); ++i) {
    const ir::Param& param = kernel_.params[i];
    if (param.role == ir::ParamRole::out && !written_[i]) {
      throw Error(fmt::format("kernel '{}': output '{}' is never written; store to it with tl::store, or declare "
                              "it with k.in if it is an input",
                              kernel_.name, param.name),
                  param.where);
    }
  }
  return std::move(kernel_);
}

// ---- kernels and families --------------------------------------------------------------------

KernelInstance::KernelInstance(ir::Kernel kernel)
    : kernel_(std::make_shared<const ir::Kernel>(std::move(kernel))),
      index_(std::make_shared<const ir::KernelIndex>(*kernel_)),
      hash_(ir::structural_hash(*kernel_)) {}

KernelInstance kernel(std::string name, const std::function<void(Builder&)>& body) {
  Builder builder(std::move(name));
  body(builder);
  KernelInstance instance(builder.finish());
  if (dump_enabled("ir")) {  // PTO_DUMP=ir: log every built kernel
    fmt::print(stderr, "// built {} (hash {})\n{}", instance.name(), ir::hash_hex(instance.hash()),
               ir::print(instance.ir()));
  }
  return instance;
}

Family::Family(std::string name, std::vector<std::int64_t> params, std::vector<KernelInstance> instances)
    : name_(std::move(name)), params_(std::move(params)), instances_(std::move(instances)) {}

const KernelInstance& Family::tier(std::size_t index, Where where) const {
  if (index >= instances_.size()) {
    throw Error(
        fmt::format("family '{}': tier {} does not exist; it has tiers 0..{}", name_, index, instances_.size() - 1),
        where);
  }
  return instances_[index];
}

const KernelInstance& Family::for_param(std::int64_t param, Where where) const {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (params_[i] == param) return instances_[i];
  }
  throw Error(fmt::format("family '{}': no instance for parameter {}; its parameters are {}", name_, param,
                          fmt::join(params_, ", ")),
              where);
}

Family family(std::string name, std::vector<std::int64_t> params,
              const std::function<void(Builder&, std::int64_t)>& body, Where where) {
  if (params.empty()) {
    throw Error(fmt::format("family '{}': needs at least one parameter (tier)", name), where);
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (params[i] == params[j]) {
        throw Error(fmt::format("family '{}': parameter {} is listed twice; each tier needs its own", name, params[i]),
                    where);
      }
    }
  }
  std::vector<KernelInstance> instances;
  for (std::int64_t param : params) {
    instances.push_back(kernel(fmt::format("{}<{}>", name, param), [&](Builder& builder) { body(builder, param); }));
  }
  return Family(std::move(name), std::move(params), std::move(instances));
}

}  // namespace pto::tl
