// The compiled task list (frontend/compiled_tasks.hpp) against the reference enumerator
// (frontend/task_enumerator.hpp): the same tasks, kernels, argument slots, bytes, keys and
// predecessors on random workloads and tables, under every Deps mode; re-execution with new
// lengths, growing and shrinking descriptor counts and new tables gives a fresh Program's
// results; a failed check reports the reference's error and leaves the Program usable.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "dsl/builder.hpp"
#include "frontend/compiled_tasks.hpp"
#include "frontend/expr_code.hpp"
#include "frontend/program.hpp"
#include "runtime/arg_slot.hpp"
#include "tests/frontend/workload_test_util.hpp"

using namespace pto;
using tl::f32;
using tl::i32;

namespace {

constexpr std::int64_t width = 4;

struct Item {
  std::int32_t tier, row, head, start, len, flag;
};

// What the reference enumerator gives, with Deps::infer's predecessors computed over every
// view (read-only tensors included) by one DependencyTracker, as a target would.
struct ReferenceNode {
  bool join = false;
  std::uint64_t hash = 0;
  std::vector<ArgSlot> slots;
  std::int64_t bytes = 0;
  std::uint64_t key = 0;
  std::vector<TaskId> after;
};

class RecordingSink final : public TaskSink {
 public:
  explicit RecordingSink(bool infer) : infer_(infer) {}
  TaskId add(CallTask task, std::vector<TaskId> after) override {
    const auto id = static_cast<TaskId>(nodes.size());
    if (infer_) tracker_.access(id, task.reads, task.writes, after);
    ReferenceNode node;
    node.hash = task.instance->hash();
    for (const Binding& binding : task.args) node.slots.push_back(slot_for(binding));
    node.bytes = task.bytes;
    node.key = task.key;
    node.after = std::move(after);
    nodes.push_back(std::move(node));
    return id;
  }
  TaskId join(std::vector<TaskId> after) override {
    ReferenceNode node;
    node.join = true;
    node.after = std::move(after);
    nodes.push_back(std::move(node));
    return static_cast<TaskId>(nodes.size() - 1);
  }
  std::vector<ReferenceNode> nodes;

 private:
  bool infer_;
  DependencyTracker tracker_;
};

bool same_slot(const ArgSlot& a, const ArgSlot& b) {
  return std::memcmp(&a, &b, sizeof(ArgSlot)) == 0;
}

std::vector<TaskId> sorted(std::vector<TaskId> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

void check_same(const Workload& wl, const SizeBindings& sizes, CompiledTasks& compiled, TaskList& list) {
  RecordingSink sink(wl.schedule().deps.kind == Deps::Kind::infer);
  TaskEnumerator(wl, sizes, sink).run();
  REQUIRE(compiled.enumerate(sizes, list));
  REQUIRE(list.nodes.size() == sink.nodes.size());
  std::int64_t tasks = 0, bytes = 0;
  for (std::size_t i = 0; i < list.nodes.size(); ++i) {
    CAPTURE(i);
    const TaskList::Node& node = list.nodes[i];
    const ReferenceNode& want = sink.nodes[i];
    REQUIRE((node.kernel < 0) == want.join);
    const std::vector<TaskId> after(list.after.begin() + node.first_after, list.after.begin() + node.end_after);
    CHECK(after.size() == sorted(after).size());  // no predecessor twice
    CHECK(sorted(after) == sorted(want.after));
    if (want.join) continue;
    CHECK(compiled.instances()[static_cast<std::size_t>(node.kernel)]->hash() == want.hash);
    CHECK(node.bytes == want.bytes);
    CHECK(node.key == want.key);
    CHECK(node.ordinal == tasks);
    for (std::size_t s = 0; s < want.slots.size(); ++s) {
      CAPTURE(s);
      CHECK(same_slot(list.slots[static_cast<std::size_t>(node.first_slot) + s], want.slots[s]));
    }
    ++tasks;
    bytes += want.bytes;
  }
  CHECK(list.tasks == tasks);
  CHECK(list.bytes == bytes);
}

// Random items whose every view stays in bounds.
std::vector<Item> random_items(std::mt19937& rng, std::int64_t rows, std::int64_t heads, std::int64_t out_rows) {
  std::vector<Item> items(std::uniform_int_distribution<std::size_t>(0, 24)(rng));
  for (Item& item : items) {
    item.tier = std::uniform_int_distribution<std::int32_t>(0, 1)(rng);
    item.len = std::uniform_int_distribution<std::int32_t>(0, 6)(rng);
    item.start = std::uniform_int_distribution<std::int32_t>(0, static_cast<std::int32_t>(rows) - item.len)(rng);
    item.head = std::uniform_int_distribution<std::int32_t>(0, static_cast<std::int32_t>(heads) - 1)(rng);
    item.row = std::uniform_int_distribution<std::int32_t>(0, static_cast<std::int32_t>(out_rows) - 1)(rng);
    item.flag = std::uniform_int_distribution<std::int32_t>(0, 2)(rng);
  }
  return items;
}

tl::KernelInstance add_kernel() {
  return tl::kernel("accumulate", [](tl::Builder& k) {
    auto x = k.in(tl::tile(1, width, f32), "x");
    auto y = k.inout(tl::tile(1, width, f32), "y");
    tl::store(y, tl::read(y) + x);
  });
}

}  // namespace

TEST_CASE("#18 the compiled task list equals the reference enumeration: kernels, slots, bytes, keys, predecessors") {
  constexpr std::int64_t rows = 32, heads = 3, out_rows = 6;
  const tl::Family colsum = test::colsum_family(width);
  const tl::KernelInstance scale = test::scale_kernel(width), accumulate = add_kernel();
  std::vector<float> x(static_cast<std::size_t>(rows * heads * width), 1.0f);
  std::vector<float> shared(static_cast<std::size_t>(2 * out_rows * width), 0.0f);
  std::vector<std::int32_t> indptr = {0, 2, 2, 5}, indices = {1, 0, 2, 2, 1};
  std::mt19937 rng(18);
  std::vector<Item> items;
  for (const Deps deps : {Deps::infer(), Deps::stages(), Deps::none()}) {
    CAPTURE(name(deps.kind));
    // X is read only (never tracked); Y is written whole and per head (cells); A and B
    // wrap overlapping memory (the interval tracker); the loop count is a size.
    Tensor X = Tensor::wrap("x", x.data(), DType::f32, {rows, heads, width});
    Tensor Y = Tensor::host("y", DType::f32, {out_rows, heads, width});
    Tensor A = Tensor::wrap("a", shared.data(), DType::f32, {out_rows, width});
    Tensor B = Tensor::wrap("b", shared.data() + 3 * width, DType::f32, {out_rows, width});
    const DescriptorTable<Item> table(items, "items");
    const IntArray row_ptr(indptr, "indptr"), col(indices, "indices");
    Workload wl = workload("mixed", [&](W& w) {
      w.parallel_for(DenseDyn(table), [&](Idx i) {
        auto d = table[i];
        const Expr head = d[&Item::head], row = d[&Item::row];
        w.cond(
            d[&Item::flag] == 0,
            [&] {
              w.call(colsum, d[&Item::tier],
                     {X.rows(d[&Item::start], d[&Item::len]).at(1, head), d[&Item::len], Y[row][head]});
            },
            [&] {
              w.call(scale, {Y[row][head], A[row], 0.5});
            });
      });
      w.for_each(DenseDyn("passes"), [&](Idx p) {
        w.parallel_for(Dense(2), [&](Idx j) { w.call(accumulate, {A[(p + j) % out_rows], B[j]}); });
      });
      w.parallel_for(Dense(3), [&](Idx r) {
        w.select(Sparse(r, row_ptr, col), [&](Idx c) { w.call(scale, {B[r], Y[r][c], 2.0}); });
      });
    });
    const Workload scheduled = wl.task_graph(deps);
    CompiledTasks compiled(scheduled);
    TaskList list;
    for (int round = 0; round < 40; ++round) {
      CAPTURE(round);
      items = random_items(rng, rows, heads, out_rows);
      const SizeBindings sizes = {{"passes", round % 4}};
      check_same(scheduled, sizes, compiled, list);
    }
  }
}

TEST_CASE("#18 Deps::infer tracks only tensors a call writes, in cells where every view is made of whole cells") {
  const tl::KernelInstance scale = test::scale_kernel(width);
  std::vector<float> x(64 * width, 1.0f);
  Tensor X = Tensor::wrap("x", x.data(), DType::f32, {64, width});
  Tensor Y = Tensor::host("y", DType::f32, {64, width});
  Workload wl = workload("tracked", [&](W& w) {
    w.parallel_for(Dense(64), [&](Idx i) { w.call(scale, {X[i], Y[i], 2.0}); });
  });
  CompiledTasks compiled(wl);
  REQUIRE(compiled.tensors().size() == 2);
  CHECK_FALSE(compiled.tracked(0));  // x: read only
  CHECK(compiled.tracked(1));
  CHECK(power_of_two_exponent(Expr::var(0, "i") * 12 + 4) == 2);
  CHECK(power_of_two_exponent(Expr::var(0, "i") * 8 - Expr::var(1, "j") * 16) == 3);
  CHECK(power_of_two_exponent(min(Expr::var(0, "i") * 4, Expr(64))) == 2);
  CHECK(power_of_two_exponent(Expr::var(0, "i") / 2 * 4) == 2);
  CHECK(power_of_two_exponent(Expr(0)) == 62);
}

TEST_CASE(
    "#18 re-execution with new lengths, growing and shrinking descriptor counts and new tables equals a fresh "
    "Program") {
  constexpr std::int64_t rows = 48, heads = 2, out_rows = 16;
  const tl::Family colsum = test::colsum_family(width);
  std::vector<float> x = test::random_values(static_cast<std::size_t>(rows * heads * width), 7, 2.0f);
  std::mt19937 rng(7);
  for (const Target target : {Target::interpreter(), Target::cpu()}) {
    CAPTURE(name(target.kind));
    std::vector<Item> items;
    Tensor X = Tensor::wrap("x", x.data(), DType::f32, {rows, heads, width});
    Tensor Y = Tensor::host("y", DType::f32, {out_rows, heads, width});
    const DescriptorTable<Item> table(items, "items");
    const Workload wl = workload("reexecute", [&](W& w) {
      w.parallel_for(DenseDyn(table), [&](Idx i) {
        auto d = table[i];
        w.call(colsum, d[&Item::tier],
               {X.rows(d[&Item::start], d[&Item::len]).at(1, d[&Item::head]), d[&Item::len], Y[i][d[&Item::head]]});
      });
    });
    Program program = wl.task_graph(Pools::workers(2)).compile(target);
    for (const std::size_t count : {3u, 16u, 1u, 0u, 9u, 16u, 2u}) {
      CAPTURE(count);
      items.resize(count);
      for (Item& item : items) {
        item.tier = std::uniform_int_distribution<std::int32_t>(0, 1)(rng);
        item.len = std::uniform_int_distribution<std::int32_t>(0, 8)(rng);
        item.start = std::uniform_int_distribution<std::int32_t>(0, static_cast<std::int32_t>(rows) - item.len)(rng);
        item.head = std::uniform_int_distribution<std::int32_t>(0, heads - 1)(rng);
      }
      std::fill_n(Y.data_as<float>(), out_rows * heads * width, -1.0f);
      program.execute();
      program.synchronize();
      const std::vector<float> reused = Y.to_vector<float>();
      std::fill_n(Y.data_as<float>(), out_rows * heads * width, -1.0f);
      Program fresh = wl.task_graph(Pools::workers(2)).compile(target);
      fresh.execute();
      fresh.synchronize();
      CHECK(reused == Y.to_vector<float>());
      CHECK(program.stats().tasks == static_cast<std::int64_t>(count));
      CHECK(program.stats().tasks == fresh.stats().tasks);
      CHECK(program.stats().bytes == fresh.stats().bytes);
    }
  }
}

TEST_CASE("#18 a failed check reports the reference enumerator's error, and the Program runs again once fixed") {
  const tl::Family colsum = test::colsum_family(width);
  std::vector<float> x(16 * width, 1.0f);
  std::vector<Item> items = {{0, 0, 0, 2, 3, 0}};
  Tensor X = Tensor::wrap("x", x.data(), DType::f32, {16, 1, width});
  Tensor Y = Tensor::host("y", DType::f32, {4, 1, width});
  const DescriptorTable<Item> table(items, "items");
  const Workload wl = workload("checked", [&](W& w) {
    w.parallel_for(DenseDyn(table), [&](Idx i) {
      auto d = table[i];
      w.call(colsum, d[&Item::tier], {X.rows(d[&Item::start], d[&Item::len]).at(1, 0), d[&Item::len], Y[i][0]});
    });
  });
  Program program = wl.compile(Target::cpu());
  items[0].start = 14;  // rows [14, 17) of 16
  const std::string message = test::message_of([&] { program.execute(); });
  CHECK(message.find("call of 'colsum', argument 'x'") != std::string::npos);
  CHECK(message.find("rows [14, 17)") != std::string::npos);
  items[0].start = 1;
  items[0].tier = 7;
  CHECK(test::message_of([&] { program.execute(); }).find("tier 7") != std::string::npos);
  items[0].tier = 1;
  program.execute();
  program.synchronize();
  CHECK(Y.data_as<float>()[0] == 3.0f);
}
