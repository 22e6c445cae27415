// The CPU executor: worker threads that run ready tasks, arranged by the dispatch and
// ready policies (schedulers/policies.hpp).
//
// Queue structure per policy pair:
//   Dispatch::work_steal + Ready::work_steal  one Chase-Lev deque per worker (a worker pushes
//       the tasks it makes ready to its own deque, pops newest first; idle workers steal the
//       oldest from a random victim) plus an injector queue for submissions from threads
//       that are not workers (workers take up to `injector_grab` tasks from it at once).
//   Dispatch::work_steal + Ready::fifo/priority  one shared queue in that order.
//   Dispatch::round_robin/affinity/hash + Ready::fifo/priority  one mailbox per worker; a
//       task runs on the worker it was dispatched to, nobody steals it.
// Idle workers search (spin over the queues) for a while, then sleep on an event count
// (schedulers/event_count.hpp): one shared by all workers, or one per worker for mailboxes
// (so the addressed worker is the one woken). A producer wakes a sleeper only when no
// worker is searching (the searcher will find the task), and a searcher that finds a task
// while it was the last one searching wakes another, so parallelism ramps up without a
// wake-up per task (the "thieves" rule of Taskflow's executor). Wake-ups are lossless:
// a worker stops counting as searching before prepare_wait, then re-checks every queue
// (under the injector's lock) before it sleeps.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "schedulers/chase_lev_deque.hpp"
#include "schedulers/event_count.hpp"
#include "schedulers/locked_queue.hpp"
#include "schedulers/policies.hpp"
#include "schedulers/task.hpp"

namespace pto::sched {

struct WorkerStats {
  std::int64_t executed = 0;
  std::int64_t steals = 0;          // tasks taken from another worker's deque
  std::int64_t failed_steals = 0;   // steal attempts that found nothing or lost a race
  std::int64_t injector_takes = 0;  // tasks taken from the injector (outside submissions)
  std::int64_t idle_ns = 0;         // time spent looking for work or asleep
  std::int64_t sleeps = 0;
  std::int64_t queue_high_water = 0;  // the most tasks its own queue held
};

struct ExecutorStats {
  std::vector<WorkerStats> workers;
  std::int64_t executed() const;
  std::int64_t steals() const;
};

class Executor {
 public:
  explicit Executor(ExecutorOptions options = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  int workers() const noexcept { return static_cast<int>(workers_.size()); }
  const ExecutorOptions& options() const noexcept { return options_; }

  // The worker a task is pinned to under affinity/hash dispatch, or -1 (any worker).
  // Throws pto::Error when an affinity function returns a worker that does not exist.
  int pinned_worker(const TaskInfo& info) const;

  // Hands a ready task to the workers (any thread).
  void schedule(Task* task);
  // The same for many tasks, with one lock and one wake-up round (outside submissions).
  void schedule_batch(std::span<Task* const> tasks);

  // The index of the calling thread among this executor's workers, or -1.
  int current_worker() const noexcept;

  // Completion signalling for task graphs. A finishing task's last access to its graph is
  // the decrement of the graph's unfinished count; the wake-up that follows touches only
  // the executor (which outlives its graphs), so a graph may be destroyed the moment its
  // waiter sees the count reach zero.
  EventCount& completions() noexcept { return completions_; }
  void notify_completion() noexcept { completions_.notify_all(); }

  ExecutorStats stats() const;

 private:
  struct Worker {
    explicit Worker(bool mailbox_by_priority) : mailbox(mailbox_by_priority) {}
    ChaseLevDeque<Task*> deque{4096};
    LockedQueue mailbox;
    EventCount sleep;  // used in mailbox mode
    std::thread thread;
    std::uint64_t rng = 0;
    // Stats: written by the worker (relaxed), read by stats().
    std::atomic<std::int64_t> executed{0}, steals{0}, failed_steals{0}, injector_takes{0}, idle_ns{0}, sleeps{0},
        high_water{0};
  };

  enum class Mode { steal, shared, mailbox };

  void worker_main(int index);
  // `thorough`: also look at the injector under its lock (the last look before sleeping).
  Task* find_task(int index, bool thorough = false);
  Task* search(int index);
  void wake_one_if_nobody_searches();
  Task* steal_from_others(int index);
  void note_size(Worker& worker, std::int64_t size);
  void wake_for(int target);

  ExecutorOptions options_;
  Mode mode_;
  std::vector<std::unique_ptr<Worker>> workers_;
  LockedQueue shared_;          // Mode::shared
  std::mutex injector_mutex_;   // Mode::steal: submissions from outside threads
  std::deque<Task*> injector_;  // front: oldest
  std::atomic<std::int64_t> injector_size_{0};
  EventCount sleep_;  // Mode::steal and Mode::shared
  EventCount completions_;
  std::atomic<std::uint64_t> round_robin_{0};
  std::atomic<std::uint64_t> ready_order_{0};
  std::atomic<bool> stopping_{false};
  alignas(64) std::atomic<int> searching_{0};  // workers spinning over the queues
};

}  // namespace pto::sched
