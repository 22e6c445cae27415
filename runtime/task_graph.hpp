// A task graph running on an Executor: tasks with explicit dependencies and dependencies
// inferred from the byte ranges they read and write, counted down as predecessors finish.
// Tasks may be added while the graph runs (streaming submission).
//
//   sched::Executor executor({.workers = 2});
//   TaskGraph graph(executor, {.window = sched::Window::tasks(1024)});
//   auto a = graph.add([&] { produce(x); }, {.writes = {bytes_of(x, n)}});
//   graph.add([&] { consume(x); }, {.reads = {bytes_of(x, n)}});   // follows a (RAW)
//   graph.wait();   // runs what is left, rethrows the first exception a task threw
//
// Submission-side policies (GraphOptions, schedulers/policies.hpp) apply here: Start holds
// ready tasks until the threshold or the seal; Window bounds unfinished tasks (or declared
// bytes) and stalls or aborts the submitter; streams(n) chains the tasks of each lane in
// submission order; Timing::batched(n) hands the submitter's ready tasks to the workers n
// at a time. A task that becomes ready because a predecessor finished goes to the workers
// at once (by then the graph has started, and batching would only delay it).
//
// Exceptions: the first exception a task throws is kept; the tasks not yet started are
// then skipped (they complete without running, so successors and wait() are released),
// and wait() rethrows it. The executor stays usable for other graphs.
//
// Thread safety: add/seal/wait/reset may be called from any one thread at a time (the
// orchestrator); tasks run on the executor's workers.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/dependency_tracker.hpp"
#include "schedulers/executor.hpp"

namespace pto {

using sched::TaskId;

struct TaskOptions {
  std::string name;
  std::vector<TaskId> after;     // explicit dependencies (earlier tasks of this graph)
  std::vector<ByteRange> reads;  // inferred dependencies
  std::vector<ByteRange> writes;
  int priority = 0;         // Ready::priority: higher first
  int stream = -1;          // lane in [0, streams), or -1
  std::uint64_t key = 0;    // for Dispatch::affinity / Dispatch::hash
  std::int64_t bytes = -1;  // footprint for byte windows; -1: the sum of reads and writes
};

struct GraphStats {
  std::int64_t tasks = 0;
  std::int64_t explicit_edges = 0;
  std::int64_t inferred_edges = 0;
  std::int64_t stream_edges = 0;
  std::int64_t max_in_flight_tasks = 0;  // unfinished tasks at once (window bound holds)
  std::int64_t max_in_flight_bytes = 0;
  std::int64_t stalls = 0;   // submissions that waited for the window
  std::int64_t skipped = 0;  // tasks not run after an exception
  std::vector<std::int64_t> tasks_per_stream;
  std::vector<std::int64_t> tasks_per_worker;  // executed by this graph
};

enum class TraceTracks { workers, streams };

class TaskGraph final : public sched::TaskRunner {
 public:
  TaskGraph(sched::Executor& executor, sched::GraphOptions options = {});
  ~TaskGraph();  // waits for the graph's tasks (without rethrowing)
  TaskGraph(const TaskGraph&) = delete;
  TaskGraph& operator=(const TaskGraph&) = delete;

  // Adds a task; it runs once its dependencies have finished and the start policy allows.
  TaskId add(std::function<void()> work, const TaskOptions& options = {});

  // No more tasks will be added: releases tasks held by the start policy and any batch.
  void seal();
  // seal(), then waits for every task; rethrows the first exception a task threw.
  void wait();
  // Empties a graph after wait() for another run with the same options, keeping its memory
  // (task storage, successor lists, names): re-executing a Program costs no allocation per
  // task. An error before wait() (tasks may still run).
  void reset();

  std::int64_t size() const noexcept { return submitted_; }
  GraphStats stats() const;

  // Chrome/Perfetto trace of the run ("traceEvents", one track per worker or per stream).
  // Needs GraphOptions::trace; throws pto::Error otherwise.
  nlohmann::json trace(TraceTracks tracks = TraceTracks::workers) const;
  void write_trace(const std::string& path, TraceTracks tracks = TraceTracks::workers) const;

  bool run_task(sched::Task& task, int worker) override;
  void publish_completions(int worker) override;

 private:
  struct TraceEvent {
    TaskId task;
    int stream;
    std::int64_t start_ns;
    std::int64_t end_ns;
  };

  void add_edge(sched::Task& before, sched::Task& after);
  void make_ready_from_submitter(sched::Task* task);
  void start_now();
  void flush_batch();
  void admit(std::int64_t bytes, const std::string& name);
  sched::Task& task_at(TaskId id) {
    return chunks_[static_cast<std::size_t>(id >> chunk_bits)][static_cast<std::size_t>(id & (chunk_size - 1))];
  }
  const sched::Task& task_at(TaskId id) const {
    return chunks_[static_cast<std::size_t>(id >> chunk_bits)][static_cast<std::size_t>(id & (chunk_size - 1))];
  }
  // Re-reads the workers' completion counters into the submitter's snapshot.
  void refresh_completed();
  bool all_completed() const;
  // Blocks the submitter until `ready()` holds, woken by task completions.
  template <typename Predicate>
  void block_until(Predicate ready);

  sched::Executor& executor_;
  sched::GraphOptions options_;
  // Tasks in chunks of 4096: stable addresses, one allocation per chunk.
  static constexpr int chunk_bits = 12;
  static constexpr std::int64_t chunk_size = std::int64_t{1} << chunk_bits;
  std::vector<std::unique_ptr<sched::Task[]>> chunks_;
  std::int64_t submitted_ = 0;  // tasks added (submitter only)
  std::int64_t submitted_bytes_ = 0;
  std::int64_t known_completed_ = 0;  // the submitter's snapshot of the workers' counters
  std::int64_t known_completed_bytes_ = 0;
  DependencyTracker tracker_;
  std::vector<sched::Task*> lane_last_;
  std::vector<sched::Task*> held_;   // ready, waiting for the start policy
  std::vector<sched::Task*> batch_;  // ready, waiting for a full batch
  bool started_ = false;
  std::atomic<bool> sealed_{false};  // read by workers: no edges are added once it is set
  bool waited_ = false;
  std::vector<TaskId> scratch_predecessors_;

  // Completion side: one counter block per worker, written only by that worker (no shared
  // atomic on the per-task path); the submitter sums them.
  struct alignas(64) WorkerCounters {
    std::atomic<std::int64_t> completed{0};  // published
    std::atomic<std::int64_t> completed_bytes{0};
    std::int64_t local_completed = 0;  // this worker's running totals
    std::int64_t local_bytes = 0;
    std::int64_t unpublished = 0;
  };
  // Completions are published every `publish_every` tasks, and whenever the worker idles or
  // switches graphs: one release store and one wake-up check per batch, not per task.
  static constexpr std::int64_t publish_every = 64;
  std::unique_ptr<WorkerCounters[]> counters_;
  std::atomic<bool> failed_{false};
  std::exception_ptr first_error_;
  std::mutex error_mutex_;
  std::atomic<std::int64_t> skipped_{0};
  std::vector<std::vector<TraceEvent>> trace_;  // per worker, written only by that worker
  std::int64_t trace_origin_ns_ = 0;

  GraphStats stats_;  // submission-side counters
};

}  // namespace pto
