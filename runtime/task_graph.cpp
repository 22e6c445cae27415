#include "runtime/task_graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include "core/error.hpp"

namespace pto {

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t footprint(const TaskOptions& options) {
  if (options.bytes >= 0) return options.bytes;
  std::int64_t total = 0;
  for (const ByteRange& range : options.reads) total += static_cast<std::int64_t>(range.size);
  for (const ByteRange& range : options.writes) total += static_cast<std::int64_t>(range.size);
  return total;
}

}  // namespace

TaskGraph::TaskGraph(sched::Executor& executor, sched::GraphOptions options)
    : executor_(executor), options_(std::move(options)) {
  sched::validate(options_);
  lane_last_.assign(static_cast<std::size_t>(options_.streams), nullptr);
  stats_.tasks_per_stream.assign(static_cast<std::size_t>(options_.streams), 0);
  counters_ = std::make_unique<WorkerCounters[]>(static_cast<std::size_t>(executor_.workers()));
  trace_.resize(static_cast<std::size_t>(executor_.workers()));
  trace_origin_ns_ = now_ns();
}

TaskGraph::~TaskGraph() {
  try {
    seal();
  } catch (...) {  // a destructor must not throw; the tasks still get released below
  }
  block_until([&] { return all_completed(); });
}

void TaskGraph::refresh_completed() {
  std::int64_t tasks = 0, bytes = 0;
  for (int w = 0; w < executor_.workers(); ++w) {
    tasks += counters_[static_cast<std::size_t>(w)].completed.load(std::memory_order_acquire);
    bytes += counters_[static_cast<std::size_t>(w)].completed_bytes.load(std::memory_order_acquire);
  }
  known_completed_ = tasks;
  known_completed_bytes_ = bytes;
}

bool TaskGraph::all_completed() const {
  std::int64_t tasks = 0;
  for (int w = 0; w < executor_.workers(); ++w) {
    tasks += counters_[static_cast<std::size_t>(w)].completed.load(std::memory_order_seq_cst);
  }
  return tasks == submitted_;
}

template <typename Predicate>
void TaskGraph::block_until(Predicate ready) {
  sched::EventCount& completions = executor_.completions();
  while (!ready()) {
    const std::uint64_t key = completions.prepare_wait();
    if (ready()) {
      completions.cancel_wait();
      return;
    }
    completions.commit_wait(key);
  }
}

void TaskGraph::admit(std::int64_t bytes, const std::string& name) {
  const sched::Window& window = options_.window;
  const bool by_tasks = window.unit != sched::Window::Unit::bytes;
  const std::int64_t need = by_tasks ? 1 : bytes;
  // In flight = submitted - completed, from the snapshot: an upper bound of the true value
  // (completions only lower it), so admitting by it never exceeds the window.
  auto in_flight = [&] { return by_tasks ? submitted_ - known_completed_ : submitted_bytes_ - known_completed_bytes_; };
  if (window.unit == sched::Window::Unit::unbounded) {
    if ((submitted_ & 1023) == 0) refresh_completed();  // keeps the in-flight statistic honest
    return;
  }
  if (!by_tasks && bytes > window.limit) {
    throw Error(
        fmt::format("task graph: task '{}' declares {} bytes, more than the window's limit of {} bytes; raise "
                    "the window or split the task",
                    name, bytes, window.limit));
  }
  if (in_flight() + need <= window.limit) return;
  refresh_completed();
  if (in_flight() + need <= window.limit) return;
  if (window.mode == sched::Window::Mode::abort) {
    throw Error(
        fmt::format("task graph: the window is full ({} of {} {} in flight) and its mode is abort; task '{}' "
                    "was not added. Wait for tasks to finish, or use Window::Mode::stall",
                    in_flight(), window.limit, by_tasks ? "tasks" : "bytes", name));
  }
  if (!started_) {
    throw Error(
        fmt::format("task graph: the window ({} {}) filled before the start threshold ({} tasks) was reached, "
                    "so nothing could drain it; raise the window or lower the threshold",
                    window.limit, by_tasks ? "tasks" : "bytes", options_.start.threshold_tasks));
  }
  flush_batch();  // tasks waiting in a batch must run for the window to drain
  ++stats_.stalls;
  block_until([&] {
    refresh_completed();
    return in_flight() + need <= window.limit;
  });
}

void TaskGraph::add_edge(sched::Task& before, sched::Task& after) {
  std::lock_guard<sched::SpinLock> guard(before.lock);
  if (before.finished) return;  // nothing to wait for
  before.successors.push_back(&after);
  after.pending.fetch_add(1, std::memory_order_relaxed);
}

TaskId TaskGraph::add(std::function<void()> work, const TaskOptions& options) {
  if (waited_) throw Error("task graph: add after wait(); a graph runs once: make a new TaskGraph");
  if (sealed_.load(std::memory_order_relaxed)) {
    throw Error("task graph: add after seal(); no tasks may join a sealed graph");
  }
  if (!work) throw Error(fmt::format("task graph: task '{}' has no work (an empty std::function)", options.name));
  const TaskId id = submitted_;
  if (options.stream >= options_.streams || options.stream < -1) {
    throw Error(
        fmt::format("task graph: task '{}' is on stream {}, but the graph has {} streams (0..{}); set "
                    "streams(n) in the schedule",
                    options.name, options.stream, options_.streams, options_.streams - 1));
  }
  for (TaskId before : options.after) {
    if (before < 0 || before >= id) {
      throw Error(
          fmt::format("task graph: task '{}' depends on task {}, which is not an earlier task of this graph "
                      "(tasks 0..{} exist)",
                      options.name, before, id - 1));
    }
  }
  const std::int64_t bytes = footprint(options);
  admit(bytes, options.name);

  if (static_cast<std::size_t>(id >> chunk_bits) == chunks_.size())  // chunks stay across reset()
    chunks_.push_back(std::make_unique<sched::Task[]>(static_cast<std::size_t>(chunk_size)));
  sched::Task& task = task_at(id);
  task.runner = this;
  task.work = std::move(work);
  task.name = options.name;
  task.info = sched::TaskInfo{id, task.name, options.priority, options.stream, options.key, bytes};
  task.target_worker = executor_.pinned_worker(task.info);
  ++submitted_;
  submitted_bytes_ += bytes;
  stats_.max_in_flight_tasks = std::max(stats_.max_in_flight_tasks, submitted_ - known_completed_);
  stats_.max_in_flight_bytes = std::max(stats_.max_in_flight_bytes, submitted_bytes_ - known_completed_bytes_);
  ++stats_.tasks;

  for (TaskId before : options.after) add_edge(task_at(before), task);
  stats_.explicit_edges += static_cast<std::int64_t>(options.after.size());
  if (options.stream >= 0) {
    sched::Task*& last = lane_last_[static_cast<std::size_t>(options.stream)];
    if (last != nullptr) {
      add_edge(*last, task);
      ++stats_.stream_edges;
    }
    last = &task;
    ++stats_.tasks_per_stream[static_cast<std::size_t>(options.stream)];
  }
  if (!options.reads.empty() || !options.writes.empty()) {
    scratch_predecessors_.clear();
    tracker_.access(id, options.reads, options.writes, scratch_predecessors_);
    for (TaskId before : scratch_predecessors_) add_edge(task_at(before), task);
    stats_.inferred_edges += static_cast<std::int64_t>(scratch_predecessors_.size());
  }

  if (!started_ && options_.start.kind == sched::Start::Kind::threshold &&
      stats_.tasks >= options_.start.threshold_tasks) {
    started_ = true;
  }
  // Drop the submission hold: every edge into the task is in place.
  if (task.pending.fetch_sub(1, std::memory_order_acq_rel) == 1) make_ready_from_submitter(&task);
  if (started_ && !held_.empty()) start_now();
  return id;
}

void TaskGraph::make_ready_from_submitter(sched::Task* task) {
  if (!started_) {
    held_.push_back(task);
  } else if (options_.timing.kind == sched::Timing::Kind::batched) {
    batch_.push_back(task);
    if (static_cast<std::int64_t>(batch_.size()) >= options_.timing.batch) flush_batch();
  } else {
    executor_.schedule(task);
  }
}

void TaskGraph::start_now() {
  started_ = true;
  std::vector<sched::Task*> held;
  held.swap(held_);
  if (options_.timing.kind == sched::Timing::Kind::batched) {
    for (sched::Task* task : held) make_ready_from_submitter(task);
  } else {
    executor_.schedule_batch(held);  // all ready at once: one hand-over
  }
}

void TaskGraph::flush_batch() {
  if (batch_.empty()) return;
  std::vector<sched::Task*> batch;
  batch.swap(batch_);
  executor_.schedule_batch(batch);
}

void TaskGraph::seal() {
  if (sealed_.load(std::memory_order_relaxed)) return;
  sealed_.store(true, std::memory_order_release);
  start_now();
  flush_batch();
}

void TaskGraph::wait() {
  seal();
  block_until([&] { return all_completed(); });
  waited_ = true;
  if (failed_.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> guard(error_mutex_);
    std::rethrow_exception(first_error_);
  }
}

void TaskGraph::reset() {
  if (!waited_ && submitted_ > 0) throw Error("task graph: reset() before wait(); wait for its tasks first");
  // Every task finished and every worker published its completions (wait() saw them all),
  // so no worker touches this graph until new tasks are added.
  for (TaskId id = 0; id < submitted_; ++id) {
    sched::Task& task = task_at(id);
    task.pending.store(1, std::memory_order_relaxed);
    task.finished = false;
    task.successors.clear();
    task.work = nullptr;  // releases what the work captured
    task.target_worker = -1;
    task.ready_order = 0;
  }
  submitted_ = submitted_bytes_ = known_completed_ = known_completed_bytes_ = 0;
  tracker_ = DependencyTracker();
  std::fill(lane_last_.begin(), lane_last_.end(), nullptr);
  held_.clear();
  batch_.clear();
  started_ = false;
  sealed_.store(false, std::memory_order_relaxed);
  waited_ = false;
  for (int w = 0; w < executor_.workers(); ++w) {
    WorkerCounters& counters = counters_[static_cast<std::size_t>(w)];
    counters.completed.store(0, std::memory_order_relaxed);
    counters.completed_bytes.store(0, std::memory_order_relaxed);
    counters.local_completed = counters.local_bytes = counters.unpublished = 0;
  }
  failed_.store(false, std::memory_order_relaxed);
  first_error_ = nullptr;
  skipped_.store(0, std::memory_order_relaxed);
  for (auto& events : trace_) events.clear();
  trace_origin_ns_ = now_ns();
  stats_ = GraphStats{};
  stats_.tasks_per_stream.assign(static_cast<std::size_t>(options_.streams), 0);
}

bool TaskGraph::run_task(sched::Task& task, int worker) {
  const std::int64_t start = options_.trace ? now_ns() : 0;
  if (!failed_.load(std::memory_order_relaxed)) {
    try {
      task.work();
    } catch (...) {
      std::lock_guard<std::mutex> guard(error_mutex_);
      if (!failed_.load(std::memory_order_relaxed)) {
        first_error_ = std::current_exception();
        failed_.store(true, std::memory_order_release);
      }
    }
  } else {
    skipped_.fetch_add(1, std::memory_order_relaxed);
  }
  if (options_.trace) {
    trace_[static_cast<std::size_t>(worker)].push_back({task.info.id, task.info.stream, start, now_ns()});
  }

  if (!sealed_.load(std::memory_order_acquire)) {  // once sealed, add_edge never runs again
    std::lock_guard<sched::SpinLock> guard(task.lock);
    task.finished = true;  // from here on add_edge leaves task.successors alone
  }
  thread_local std::vector<sched::Task*> ready;  // reused: no allocation per task
  ready.clear();
  for (sched::Task* next : task.successors) {
    if (next->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) ready.push_back(next);
  }
  executor_.schedule_batch(ready);
  WorkerCounters& mine = counters_[static_cast<std::size_t>(worker)];
  ++mine.local_completed;
  mine.local_bytes += task.info.bytes;
  // A window's submitter may be stalled on these bytes/tasks: publish at once then.
  const bool windowed = options_.window.unit != sched::Window::Unit::unbounded;
  if (++mine.unpublished < publish_every && !windowed) return true;
  publish_completions(worker);
  return false;
}

void TaskGraph::publish_completions(int worker) {
  // The last access to this graph is the completed count: once every task is published a
  // waiter may destroy the graph. The wake-up goes through the executor (see
  // Executor::completions). Only this worker writes its counters: stores, no RMW.
  sched::Executor& executor = executor_;
  WorkerCounters& mine = counters_[static_cast<std::size_t>(worker)];
  if (mine.unpublished == 0) return;
  mine.unpublished = 0;
  mine.completed_bytes.store(mine.local_bytes, std::memory_order_release);
  mine.completed.store(mine.local_completed, std::memory_order_release);
  executor.notify_completion();
}

GraphStats TaskGraph::stats() const {
  GraphStats out = stats_;
  out.skipped = skipped_.load(std::memory_order_relaxed);
  for (int w = 0; w < executor_.workers(); ++w) {
    out.tasks_per_worker.push_back(counters_[static_cast<std::size_t>(w)].completed.load(std::memory_order_acquire));
  }
  return out;
}

nlohmann::json TaskGraph::trace(TraceTracks tracks) const {
  if (!options_.trace) {
    throw Error("task graph: no trace was recorded; enable it with GraphOptions::trace (schedule .trace(true))");
  }
  nlohmann::json events = nlohmann::json::array();
  const bool by_stream = tracks == TraceTracks::streams;
  const int track_count = by_stream ? std::max(options_.streams, 1) : executor_.workers();
  for (int track = 0; track < track_count; ++track) {
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", 1},
                      {"tid", track},
                      {"args", {{"name", fmt::format("{} {}", by_stream ? "stream" : "worker", track)}}}});
  }
  if (by_stream) {
    events.push_back(
        {{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", track_count}, {"args", {{"name", "no stream"}}}});
  }
  for (std::size_t worker = 0; worker < trace_.size(); ++worker) {
    for (const TraceEvent& event : trace_[worker]) {
      const int tid = by_stream ? (event.stream >= 0 ? event.stream : track_count) : static_cast<int>(worker);
      const std::string& task_name = task_at(event.task).name;
      events.push_back({{"name", task_name.empty() ? fmt::format("task {}", event.task) : task_name},
                        {"ph", "X"},
                        {"pid", 1},
                        {"tid", tid},
                        {"ts", static_cast<double>(event.start_ns - trace_origin_ns_) / 1000.0},
                        {"dur", static_cast<double>(event.end_ns - event.start_ns) / 1000.0},
                        {"args", {{"task", event.task}, {"worker", worker}, {"stream", event.stream}}}});
    }
  }
  return nlohmann::json{{"traceEvents", events}, {"displayTimeUnit", "ns"}};
}

void TaskGraph::write_trace(const std::string& path, TraceTracks tracks) const {
  std::ofstream file(path);
  if (!file) throw Error(fmt::format("task graph: cannot open '{}' to write the trace", path));
  file << trace(tracks).dump() << "\n";
  if (!file) throw Error(fmt::format("task graph: writing the trace to '{}' failed", path));
}

}  // namespace pto
