// The executor and task graph under every policy, with stress tests: ≥1M independent tasks,
// random DAGs of 100k nodes, windows. Labelled "scheduler": CI runs them under TSan too.
#include "runtime/task_graph.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "core/error.hpp"

using namespace pto;
using sched::Dispatch;
using sched::Executor;
using sched::ExecutorOptions;
using sched::GraphOptions;
using sched::Ready;
using sched::Start;
using sched::Timing;
using sched::Window;

namespace {

// Tasks run exactly once: one counter per task.
struct RunCounts {
  explicit RunCounts(std::size_t n) : counts(n) {}
  std::vector<std::atomic<int>> counts;
  void run(std::size_t i) { counts[i].fetch_add(1, std::memory_order_relaxed); }
  int wrong() const {
    int bad = 0;
    for (const auto& c : counts) bad += c.load() != 1;
    return bad;
  }
};

std::vector<ExecutorOptions> every_policy_pair(int workers) {
  return {
      {workers, Dispatch::work_steal(), Ready::work_steal()},
      {workers, Dispatch::work_steal(), Ready::fifo()},
      {workers, Dispatch::work_steal(), Ready::priority()},
      {workers, Dispatch::round_robin(), Ready::fifo()},
      {workers, Dispatch::round_robin(), Ready::priority()},
      {workers, Dispatch::hash([](const sched::TaskInfo& t) { return t.key * 7; }), Ready::fifo()},
      {workers, Dispatch::affinity([workers](const sched::TaskInfo& t) { return static_cast<int>(t.key % workers); }),
       Ready::priority()}};
}

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace

TEST_CASE("1M independent tasks each run exactly once (work stealing, 2 workers)") {
  constexpr std::size_t n = 1000000;
  Executor executor({2, Dispatch::work_steal(), Ready::work_steal()});
  RunCounts runs(n);
  TaskGraph graph(executor, {.timing = Timing::batched(256)});
  for (std::size_t i = 0; i < n; ++i) graph.add([&runs, i] { runs.run(i); });
  graph.wait();
  CHECK(runs.wrong() == 0);
  const auto stats = executor.stats();
  CHECK(stats.executed() == static_cast<std::int64_t>(n));
  std::int64_t by_graph = 0;
  for (auto c : graph.stats().tasks_per_worker) by_graph += c;
  CHECK(by_graph == static_cast<std::int64_t>(n));
  CHECK(stats.workers.size() == 2);
  CHECK(stats.workers[0].queue_high_water > 0);
}

TEST_CASE("independent tasks under every dispatch/ready pair") {
  for (const auto& options : every_policy_pair(2)) {
    CAPTURE(sched::name(options.dispatch.kind));
    CAPTURE(sched::name(options.ready.kind));
    constexpr std::size_t n = 100000;
    Executor executor(options);
    RunCounts runs(n);
    TaskGraph graph(executor);
    for (std::size_t i = 0; i < n; ++i)
      graph.add([&runs, i] { runs.run(i); }, {.priority = static_cast<int>(i % 5), .key = i});
    graph.wait();
    CHECK(runs.wrong() == 0);
    CHECK(executor.stats().executed() == static_cast<std::int64_t>(n));
  }
}

TEST_CASE("random DAG of 100k nodes: every task once, every edge respected, under every policy pair") {
  constexpr int n = 100000;
  std::mt19937 rng(1234);
  std::vector<std::vector<TaskId>> preds(n);
  for (int i = 1; i < n; ++i) {
    const int k = static_cast<int>(rng() % 5);  // 0..4 predecessors
    for (int e = 0; e < k; ++e)
      preds[static_cast<std::size_t>(i)].push_back(static_cast<TaskId>(rng() % static_cast<unsigned>(i)));
  }
  for (const auto& options : every_policy_pair(2)) {
    CAPTURE(sched::name(options.dispatch.kind));
    CAPTURE(sched::name(options.ready.kind));
    Executor executor(options);
    std::vector<std::atomic<std::int64_t>> finished_at(n);
    std::atomic<std::int64_t> clock{0};
    RunCounts runs(n);
    std::atomic<int> violations{0};
    TaskGraph graph(executor);
    for (int i = 0; i < n; ++i) {
      graph.add(
          [&, i] {
            for (TaskId p : preds[static_cast<std::size_t>(i)])
              if (finished_at[static_cast<std::size_t>(p)].load(std::memory_order_acquire) == 0)
                violations.fetch_add(1);
            runs.run(static_cast<std::size_t>(i));
            finished_at[static_cast<std::size_t>(i)].store(clock.fetch_add(1) + 1, std::memory_order_release);
          },
          {.after = preds[static_cast<std::size_t>(i)], .key = static_cast<std::uint64_t>(i)});
    }
    graph.wait();
    CHECK(runs.wrong() == 0);
    CHECK(violations.load() == 0);
    int order_errors = 0;
    for (int i = 0; i < n; ++i)
      for (TaskId p : preds[static_cast<std::size_t>(i)])
        order_errors +=
            finished_at[static_cast<std::size_t>(p)].load() >= finished_at[static_cast<std::size_t>(i)].load();
    CHECK(order_errors == 0);
  }
}

TEST_CASE("inferred dependencies (byte ranges) give the sequential result") {
  // Each task computes slot[w] = slot[a] + slot[b] + 1 on random slots; with RAW/WAR/WAW
  // inferred from the ranges, any schedule must equal running them in order.
  constexpr int n = 20000, slots = 64;
  std::mt19937 rng(99);
  struct Op {
    int a, b, w;
  };
  std::vector<Op> ops;
  for (int i = 0; i < n; ++i) ops.push_back({int(rng() % slots), int(rng() % slots), int(rng() % slots)});
  std::vector<std::int64_t> expected(slots, 1);
  for (const Op& op : ops) expected[op.w] = (expected[op.a] + expected[op.b] + 1) % 1000003;

  Executor executor({2});
  std::vector<std::int64_t> data(slots, 1);
  TaskGraph graph(executor);
  for (const Op& op : ops) {
    std::int64_t* base = data.data();
    graph.add([base, op] { base[op.w] = (base[op.a] + base[op.b] + 1) % 1000003; },
              {.reads = {bytes_of(base + op.a, 1), bytes_of(base + op.b, 1)}, .writes = {bytes_of(base + op.w, 1)}});
  }
  graph.wait();
  CHECK(data == expected);
  CHECK(graph.stats().inferred_edges > 0);
}

TEST_CASE("streaming submission: tasks added while earlier ones run, depending on running tasks") {
  Executor executor({2});
  constexpr int n = 50000;
  std::vector<std::atomic<int>> done(n);
  std::atomic<int> violations{0};
  TaskGraph graph(executor);  // Start::threshold(1): runs as soon as tasks arrive
  for (int i = 0; i < n; ++i) {
    std::vector<TaskId> after;
    if (i > 0) after.push_back(i - 1 - (i % 7 == 0 ? 0 : (i % 3 == 0 && i > 2 ? 2 : 0)));
    graph.add(
        [&, i, after] {
          for (TaskId p : after) violations += done[static_cast<std::size_t>(p)].load() == 0;
          done[static_cast<std::size_t>(i)].store(1);
        },
        {.after = after});
    if (i % 5000 == 0) sleep_ms(1);  // let workers catch up and finish predecessors mid-build
  }
  graph.wait();
  CHECK(violations.load() == 0);
  for (auto& d : done) REQUIRE(d.load() == 1);
}

TEST_CASE("a task window never exceeds its bound (tasks and bytes, stalling)") {
  Executor executor({2});
  SUBCASE("tasks") {
    constexpr int limit = 64;
    std::atomic<int> active{0}, max_active{0};
    TaskGraph graph(executor, {.window = Window::tasks(limit)});
    for (int i = 0; i < 20000; ++i) {
      graph.add([&] {
        const int now = active.fetch_add(1) + 1;
        int seen = max_active.load();
        while (now > seen && !max_active.compare_exchange_weak(seen, now)) {
        }
        // Slower than adding a task, so the submitter outruns the workers and must stall.
        const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(5);
        while (std::chrono::steady_clock::now() < until) {
        }
        active.fetch_sub(1);
      });
    }
    graph.wait();
    const auto stats = graph.stats();
    CHECK(stats.max_in_flight_tasks <= limit);
    CHECK(stats.max_in_flight_tasks == limit);  // it was reached, so the bound did the work
    CHECK(stats.stalls > 0);
    CHECK(max_active.load() <= limit);
  }
  SUBCASE("bytes") {
    std::vector<char> buffer(1 << 16);
    TaskGraph graph(executor, {.window = Window::bytes(4096)});
    for (int i = 0; i < 20000; ++i) {
      graph.add([] {}, {.reads = {{buffer.data() + (i % 64) * 1024, 1000}}});  // reads only: independent
    }
    graph.wait();
    CHECK(graph.stats().max_in_flight_bytes <= 4096);
    CHECK(graph.stats().max_in_flight_bytes >= 3000);
  }
}

TEST_CASE("an aborting window rejects the task that does not fit, and the graph still completes") {
  Executor executor({1});
  std::atomic<bool> release{false};
  TaskGraph graph(executor, {.window = Window::tasks(2, Window::Mode::abort)});
  graph.add([&] {
    while (!release.load()) std::this_thread::yield();
  });
  graph.add([] {});
  CHECK_THROWS_WITH_AS(
      graph.add([] {}, {.name = "third"}),
      doctest::Contains("the window is full (2 of 2 tasks in flight) and its mode is abort; task 'third'"), pto::Error);
  release = true;
  graph.wait();
  CHECK(graph.size() == 2);
}

TEST_CASE("Start::after_orchestration runs nothing before the graph is sealed") {
  Executor executor({2});
  std::atomic<int> ran{0};
  TaskGraph graph(executor, {.start = Start::after_orchestration()});
  for (int i = 0; i < 100; ++i) graph.add([&] { ran++; });
  sleep_ms(20);
  CHECK(ran.load() == 0);
  graph.wait();
  CHECK(ran.load() == 100);
}

TEST_CASE("Start::threshold(n) starts once n tasks were submitted") {
  Executor executor({2});
  std::atomic<int> ran{0};
  TaskGraph graph(executor, {.start = Start::threshold(10)});
  for (int i = 0; i < 9; ++i) graph.add([&] { ran++; });
  sleep_ms(20);
  CHECK(ran.load() == 0);
  graph.add([&] { ran++; });
  for (int spin = 0; spin < 2000 && ran.load() < 10; ++spin) sleep_ms(1);
  CHECK(ran.load() == 10);  // before seal/wait
  graph.wait();
}

TEST_CASE("Timing::batched(n) hands tasks over n at a time, the rest at seal") {
  Executor executor({1});
  std::atomic<int> ran{0};
  TaskGraph graph(executor, {.timing = Timing::batched(4)});
  for (int i = 0; i < 3; ++i) graph.add([&] { ran++; });
  sleep_ms(20);
  CHECK(ran.load() == 0);
  graph.add([&] { ran++; });
  for (int spin = 0; spin < 2000 && ran.load() < 4; ++spin) sleep_ms(1);
  CHECK(ran.load() == 4);
  graph.add([&] { ran++; });
  sleep_ms(20);
  CHECK(ran.load() == 4);
  graph.wait();
  CHECK(ran.load() == 5);
}

TEST_CASE("streams(n): each lane runs in submission order, one task at a time") {
  Executor executor({2});
  constexpr int lanes = 4, per_lane = 5000;
  std::vector<std::atomic<int>> next(lanes), busy(lanes);
  std::atomic<int> errors{0};
  TaskGraph graph(executor, {.streams = lanes});
  for (int i = 0; i < per_lane; ++i) {
    for (int lane = 0; lane < lanes; ++lane) {
      graph.add(
          [&, lane, i] {
            if (busy[static_cast<std::size_t>(lane)].fetch_add(1) != 0) errors++;
            if (next[static_cast<std::size_t>(lane)].load() != i) errors++;
            next[static_cast<std::size_t>(lane)].store(i + 1);
            busy[static_cast<std::size_t>(lane)].fetch_sub(1);
          },
          {.stream = lane});
    }
  }
  graph.wait();
  CHECK(errors.load() == 0);
  const auto stats = graph.stats();
  CHECK(stats.tasks_per_stream == std::vector<std::int64_t>(lanes, per_lane));
  CHECK(stats.stream_edges == lanes * (per_lane - 1));
}

TEST_CASE("Dispatch::affinity runs each task on the worker its function names, hash and round robin spread") {
  SUBCASE("affinity") {
    Executor executor(
        {2, Dispatch::affinity([](const sched::TaskInfo& t) { return static_cast<int>(t.key); }), Ready::fifo()});
    std::atomic<int> misplaced{0};
    TaskGraph graph(executor);
    for (int i = 0; i < 2000; ++i) {
      const int want = i % 2;
      graph.add([&, want] { misplaced += executor.current_worker() != want; },
                {.key = static_cast<std::uint64_t>(want)});
    }
    graph.wait();
    CHECK(misplaced.load() == 0);
    CHECK(graph.stats().tasks_per_worker == std::vector<std::int64_t>{1000, 1000});
  }
  SUBCASE("hash") {
    Executor executor({2, Dispatch::hash([](const sched::TaskInfo& t) { return t.key; }), Ready::fifo()});
    std::atomic<int> misplaced{0};
    TaskGraph graph(executor);
    for (int i = 0; i < 2000; ++i) {
      graph.add([&, i] { misplaced += executor.current_worker() != i % 2; }, {.key = static_cast<std::uint64_t>(i)});
    }
    graph.wait();
    CHECK(misplaced.load() == 0);
  }
  SUBCASE("round robin") {
    Executor executor({2, Dispatch::round_robin(), Ready::fifo()});
    TaskGraph graph(executor);
    for (int i = 0; i < 2000; ++i) graph.add([] {});
    graph.wait();
    CHECK(graph.stats().tasks_per_worker == std::vector<std::int64_t>{1000, 1000});
  }
}

TEST_CASE("Ready::priority runs higher priorities first, FIFO among equals, Ready::fifo keeps submission order") {
  for (bool by_priority : {true, false}) {
    CAPTURE(by_priority);
    Executor executor({1, Dispatch::work_steal(), by_priority ? Ready::priority() : Ready::fifo()});
    std::vector<int> order;  // one worker: no concurrent writes
    TaskGraph graph(executor, {.start = Start::after_orchestration()});
    const int priorities[] = {1, 3, 2, 3, 1, 2};
    for (int i = 0; i < 6; ++i) graph.add([&order, i] { order.push_back(i); }, {.priority = priorities[i]});
    graph.wait();
    CHECK(order == (by_priority ? std::vector<int>{1, 3, 2, 5, 0, 4} : std::vector<int>{0, 1, 2, 3, 4, 5}));
  }
}

TEST_CASE("the first exception is rethrown from wait(), later tasks are skipped, the executor stays usable") {
  Executor executor({2});
  {
    std::atomic<int> ran{0};
    TaskGraph graph(executor);
    const TaskId bad = graph.add([] { throw std::runtime_error("task 0 failed"); });
    for (int i = 0; i < 100; ++i) graph.add([&] { ran++; }, {.after = {bad}});
    CHECK_THROWS_WITH_AS(graph.wait(), "task 0 failed", std::runtime_error);
    CHECK(ran.load() == 0);
    CHECK(graph.stats().skipped == 100);
    CHECK_THROWS_WITH_AS(graph.add([] {}), doctest::Contains("add after wait()"), pto::Error);
  }
  std::atomic<int> ran{0};
  TaskGraph again(executor);
  for (int i = 0; i < 1000; ++i) again.add([&] { ran++; });
  again.wait();
  CHECK(ran.load() == 1000);
}

TEST_CASE("a trace has one complete event per task on worker or stream tracks") {
  Executor executor({2});
  TaskGraph graph(executor, {.streams = 2, .trace = true});
  for (int i = 0; i < 50; ++i) graph.add([] {}, {.name = i == 0 ? "first" : "", .stream = i % 2});
  graph.wait();
  for (TraceTracks tracks : {TraceTracks::workers, TraceTracks::streams}) {
    const nlohmann::json trace = graph.trace(tracks);
    int complete = 0;
    bool named = false;
    for (const auto& event : trace.at("traceEvents")) {
      if (event.at("ph") != "X") continue;
      ++complete;
      const int tid = event.at("tid");
      CHECK(tid >= 0);
      CHECK(tid < 2);
      CHECK(event.at("dur").get<double>() >= 0);
      if (tracks == TraceTracks::streams) CHECK(tid == event.at("args").at("stream").get<int>());
      named |= event.at("name") == "first";
    }
    CHECK(complete == 50);
    CHECK(named);
  }
  TaskGraph untraced(executor);
  untraced.wait();
  CHECK_THROWS_WITH_AS(untraced.trace(), doctest::Contains("enable it with GraphOptions::trace"), pto::Error);
}

TEST_CASE("policy errors name the option and the fix") {
  CHECK_THROWS_WITH_AS(Executor({2, Dispatch::round_robin(), Ready::work_steal()}),
                       doctest::Contains("Ready::work_steal needs Dispatch::work_steal"), pto::Error);
  CHECK_THROWS_WITH_AS(Executor({-1}), doctest::Contains("workers = -1"), pto::Error);
  CHECK_THROWS_WITH_AS(Executor({2, Dispatch::affinity({}), Ready::fifo()}),
                       doctest::Contains("Dispatch::affinity needs a function"), pto::Error);
  Executor executor({2, Dispatch::affinity([](const sched::TaskInfo&) { return 5; }), Ready::fifo()});
  TaskGraph pinned(executor);
  CHECK_THROWS_WITH_AS(pinned.add([] {}, {.name = "t"}),
                       doctest::Contains("was given worker 5, but the executor has workers 0..1"), pto::Error);
  Executor plain({1});
  CHECK_THROWS_WITH_AS(TaskGraph(plain, {.start = Start::after_orchestration(), .window = Window::tasks(4)}),
                       doctest::Contains("would deadlock"), pto::Error);
  CHECK_THROWS_WITH_AS(TaskGraph(plain, {.start = Start::threshold(8), .window = Window::tasks(4)}),
                       doctest::Contains("threshold(8) with a stalling window of 4 tasks would deadlock"), pto::Error);
  CHECK_THROWS_WITH_AS(TaskGraph(plain, {.window = Window::tasks(0)}), doctest::Contains("admits nothing"), pto::Error);
  CHECK_THROWS_WITH_AS(TaskGraph(plain, {.timing = Timing::batched(0)}), doctest::Contains("batched(0)"), pto::Error);
  TaskGraph graph(plain, {.streams = 2});
  CHECK_THROWS_WITH_AS(graph.add([] {}, {.name = "x", .stream = 2}),
                       doctest::Contains("on stream 2, but the graph has 2 streams"), pto::Error);
  CHECK_THROWS_WITH_AS(graph.add([] {}, {.name = "y", .after = {3}}), doctest::Contains("depends on task 3"),
                       pto::Error);
  CHECK_THROWS_WITH_AS(graph.add({}, {.name = "z"}), doctest::Contains("has no work"), pto::Error);
  std::vector<char> big(100);
  TaskGraph bytes(plain, {.window = Window::bytes(10)});
  CHECK_THROWS_WITH_AS(bytes.add([] {}, {.name = "huge", .reads = {{big.data(), 100}}}),
                       doctest::Contains("declares 100 bytes, more than the window's limit of 10"), pto::Error);
}

TEST_CASE("reset() empties a waited graph for another run: order, errors and stats start over") {
  Executor executor(ExecutorOptions{.workers = 2});
  TaskGraph graph(executor, GraphOptions{.streams = 2});
  CHECK_THROWS_WITH_AS(
      [&] {
        graph.add([] { std::this_thread::sleep_for(std::chrono::milliseconds(5)); });
        graph.reset();
      }(),
      doctest::Contains("reset() before wait()"), Error);
  graph.wait();
  for (int run = 0; run < 50; ++run) {
    CAPTURE(run);
    graph.reset();
    // A chain through one value: each task must see its predecessor's write.
    std::vector<int> seen;
    const int length = 3 + run % 7;
    TaskId last = -1;
    for (int i = 0; i < length; ++i) {
      TaskOptions options;
      if (last >= 0) options.after = {last};
      options.stream = i % 2;
      last = graph.add([&seen, i] { seen.push_back(i); }, options);
    }
    if (run % 5 == 4) graph.add([] { throw Error("task failed"); });
    if (run % 5 == 4) {
      CHECK_THROWS_WITH_AS(graph.wait(), "task failed", Error);
    } else {
      graph.wait();
    }
    std::vector<int> want(static_cast<std::size_t>(length));
    for (int i = 0; i < length; ++i) want[static_cast<std::size_t>(i)] = i;
    if (run % 5 != 4) CHECK(seen == want);
    const GraphStats stats = graph.stats();
    CHECK(stats.tasks == length + (run % 5 == 4 ? 1 : 0));
    CHECK(stats.explicit_edges == length - 1);
    std::int64_t executed = 0;
    for (const std::int64_t n : stats.tasks_per_worker) executed += n;
    CHECK(executed == stats.tasks);
  }
}
