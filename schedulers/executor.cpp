#include "schedulers/executor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/error.hpp"

namespace pto::sched {

namespace {

// Which executor and worker the calling thread is (workers set it once at start).
struct ThreadIdentity {
  const Executor* executor = nullptr;
  int index = -1;
};
thread_local ThreadIdentity this_thread_identity;

constexpr std::int64_t injector_grab = 32;  // tasks a worker moves from the injector at once
constexpr int search_rounds = 64;           // find_task attempts before sleeping
constexpr int max_backoff_pauses = 512;     // pause instructions between attempts, at most

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Stats counters are written only by their worker: a load and a store, not a locked RMW.
void bump(std::atomic<std::int64_t>& counter, std::int64_t by = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

std::uint64_t next_random(std::uint64_t& state) {  // xorshift64*
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

}  // namespace

std::int64_t ExecutorStats::executed() const {
  std::int64_t total = 0;
  for (const WorkerStats& w : workers) total += w.executed;
  return total;
}

std::int64_t ExecutorStats::steals() const {
  std::int64_t total = 0;
  for (const WorkerStats& w : workers) total += w.steals;
  return total;
}

Executor::Executor(ExecutorOptions options)
    : options_(std::move(options)), shared_(options_.ready.kind == Ready::Kind::priority) {
  validate(options_);
  if (options_.workers == 0) options_.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (options_.dispatch.kind != Dispatch::Kind::work_steal) {
    mode_ = Mode::mailbox;
  } else if (options_.ready.kind == Ready::Kind::work_steal) {
    mode_ = Mode::steal;
  } else {
    mode_ = Mode::shared;
  }
  for (int i = 0; i < options_.workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(options_.ready.kind == Ready::Kind::priority));
    workers_.back()->rng = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(i + 1);
  }
  for (int i = 0; i < options_.workers; ++i) {
    workers_[static_cast<std::size_t>(i)]->thread = std::thread([this, i] { worker_main(i); });
  }
}

Executor::~Executor() {
  stopping_.store(true, std::memory_order_seq_cst);
  sleep_.notify_all();
  for (auto& worker : workers_) worker->sleep.notify_all();
  for (auto& worker : workers_) worker->thread.join();
}

int Executor::current_worker() const noexcept {
  return this_thread_identity.executor == this ? this_thread_identity.index : -1;
}

int Executor::pinned_worker(const TaskInfo& info) const {
  const int n = workers();
  switch (options_.dispatch.kind) {
    case Dispatch::Kind::affinity: {
      const int worker = options_.dispatch.affinity_fn(info);
      if (worker < 0 || worker >= n) {
        throw Error(
            fmt::format("Dispatch::affinity: task {} ('{}') was given worker {}, but the executor has workers "
                        "0..{}",
                        info.id, info.name, worker, n - 1));
      }
      return worker;
    }
    case Dispatch::Kind::hash: return static_cast<int>(options_.dispatch.hash_fn(info) % static_cast<std::uint64_t>(n));
    case Dispatch::Kind::round_robin:
    case Dispatch::Kind::work_steal: return -1;
  }
  return -1;
}

void Executor::note_size(Worker& worker, std::int64_t size) {
  if (size > worker.high_water.load(std::memory_order_relaxed))
    worker.high_water.store(size, std::memory_order_relaxed);
}

void Executor::wake_for(int target) {
  if (mode_ == Mode::mailbox) {
    workers_[static_cast<std::size_t>(target)]->sleep.notify_one();
  } else {
    wake_one_if_nobody_searches();
  }
}

void Executor::wake_one_if_nobody_searches() {
  // The task was published before this fence; a searcher counted here has not yet passed
  // its last (thorough) look, so it will see the task.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (searching_.load(std::memory_order_seq_cst) == 0) sleep_.notify_one();
}

void Executor::schedule(Task* task) {
  switch (mode_) {
    case Mode::steal: {
      const int self = current_worker();
      if (self >= 0) {
        Worker& worker = *workers_[static_cast<std::size_t>(self)];
        worker.deque.push(task);
        const std::int64_t size = worker.deque.size();
        note_size(worker, size);
        // A lone task is taken by this worker itself right after the current one: waking
        // a thief for it costs a fence and buys no parallelism. With two or more queued,
        // another worker can help.
        if (size > 1) wake_one_if_nobody_searches();
      } else {
        {
          std::lock_guard<std::mutex> guard(injector_mutex_);
          injector_.push_back(task);
          injector_size_.store(static_cast<std::int64_t>(injector_.size()), std::memory_order_relaxed);
        }
        wake_one_if_nobody_searches();
      }
      return;
    }
    case Mode::shared: {
      task->ready_order = ready_order_.fetch_add(1, std::memory_order_relaxed);
      shared_.push(task);
      wake_one_if_nobody_searches();
      return;
    }
    case Mode::mailbox: {
      task->ready_order = ready_order_.fetch_add(1, std::memory_order_relaxed);
      const int target = task->target_worker >= 0
                             ? task->target_worker
                             : static_cast<int>(round_robin_.fetch_add(1, std::memory_order_relaxed) %
                                                static_cast<std::uint64_t>(workers()));
      Worker& worker = *workers_[static_cast<std::size_t>(target)];
      note_size(worker, worker.mailbox.push(task));
      wake_for(target);
      return;
    }
  }
}

void Executor::schedule_batch(std::span<Task* const> tasks) {
  if (tasks.empty()) return;
  if (mode_ != Mode::steal) {
    for (Task* task : tasks) schedule(task);
    return;
  }
  if (const int self = current_worker(); self >= 0) {
    Worker& worker = *workers_[static_cast<std::size_t>(self)];
    for (Task* task : tasks) worker.deque.push(task);
    const std::int64_t size = worker.deque.size();
    note_size(worker, size);
    if (size > 1) wake_one_if_nobody_searches();  // one wake-up round for the whole batch
    return;
  }
  {
    std::lock_guard<std::mutex> guard(injector_mutex_);
    injector_.insert(injector_.end(), tasks.begin(), tasks.end());
    injector_size_.store(static_cast<std::int64_t>(injector_.size()), std::memory_order_relaxed);
  }
  sleep_.notify_all();
}

Task* Executor::steal_from_others(int index) {
  Worker& self = *workers_[static_cast<std::size_t>(index)];
  const int n = workers();
  if (n == 1) return nullptr;
  for (int attempt = 0; attempt < 2 * n; ++attempt) {
    int victim = static_cast<int>(next_random(self.rng) % static_cast<std::uint64_t>(n - 1));
    if (victim >= index) ++victim;  // never ourselves
    if (auto task = workers_[static_cast<std::size_t>(victim)]->deque.steal()) {
      bump(self.steals, 1);
      return *task;
    }
    bump(self.failed_steals, 1);
  }
  return nullptr;
}

Task* Executor::find_task(int index, bool thorough) {
  Worker& worker = *workers_[static_cast<std::size_t>(index)];
  switch (mode_) {
    case Mode::shared: return shared_.pop();
    case Mode::mailbox: return worker.mailbox.pop();
    case Mode::steal: break;
  }
  if (auto task = worker.deque.pop()) return *task;
  if (thorough || injector_size_.load(std::memory_order_relaxed) > 0) {
    std::lock_guard<std::mutex> guard(injector_mutex_);
    if (!injector_.empty()) {
      // Take the oldest tasks (FIFO across outside submissions): run the first, queue the rest.
      // A share of what waits (at least injector_grab): a large release is split among the
      // workers in a few grabs instead of one lock round per 32 tasks.
      const auto waiting = static_cast<std::int64_t>(injector_.size());
      const std::int64_t take = std::min(
          waiting, std::max<std::int64_t>(injector_grab, std::min<std::int64_t>(waiting / (2 * workers()), 4096)));
      Task* first = injector_.front();
      for (std::int64_t i = take - 1; i >= 1; --i) worker.deque.push(injector_[static_cast<std::size_t>(i)]);
      injector_.erase(injector_.begin(), injector_.begin() + take);
      injector_size_.store(static_cast<std::int64_t>(injector_.size()), std::memory_order_relaxed);
      bump(worker.injector_takes, take);
      note_size(worker, worker.deque.size());
      if (take > 1) wake_one_if_nobody_searches();  // there is more to steal
      return first;
    }
  }
  return steal_from_others(index);
}

Task* Executor::search(int index) {
  searching_.fetch_add(1, std::memory_order_seq_cst);
  Task* found = nullptr;
  // Exponential backoff between looks: a searcher that polls the queues too eagerly takes
  // tasks one at a time from a submitter still producing them, and the cache lines (and the
  // injector's lock) bounce between cores for every task; backing off lets a batch build up.
  int backoff = 8;
  for (int round = 0; round < search_rounds && found == nullptr; ++round) {
    if (stopping_.load(std::memory_order_relaxed)) break;
    found = find_task(index);
    if (found == nullptr) {
      for (int i = 0; i < backoff; ++i) cpu_relax();
      backoff = std::min(backoff * 2, max_backoff_pauses);
      if (round % 16 == 15) std::this_thread::yield();  // let the submitter run on busy cores
    }
  }
  // The last searcher to find work wakes another, in case more is waiting.
  if (searching_.fetch_sub(1, std::memory_order_seq_cst) == 1 && found != nullptr && mode_ != Mode::mailbox) {
    sleep_.notify_one();
  }
  return found;
}

void Executor::worker_main(int index) {
  this_thread_identity = {this, index};
  Worker& worker = *workers_[static_cast<std::size_t>(index)];
  EventCount& sleep = mode_ == Mode::mailbox ? worker.sleep : sleep_;
  TaskRunner* unpublished = nullptr;  // the runner holding this worker's unpublished completions
  auto publish = [&] {
    if (unpublished != nullptr) unpublished->publish_completions(index);
    unpublished = nullptr;
  };
  while (true) {
    Task* task = find_task(index);
    if (task == nullptr) {
      publish();  // about to idle: whoever waits on those tasks must see them
      const std::int64_t idle_start = now_ns();
      task = search(index);
      if (task == nullptr && !stopping_.load(std::memory_order_seq_cst)) {
        const std::uint64_t key = sleep.prepare_wait();
        task = find_task(index, /*thorough=*/true);  // the re-check that makes the event count lossless
        if (task != nullptr || stopping_.load(std::memory_order_seq_cst)) {
          sleep.cancel_wait();
        } else {
          bump(worker.sleeps, 1);
          sleep.commit_wait(key);
        }
      }
      bump(worker.idle_ns, now_ns() - idle_start);
    }
    if (task != nullptr) {
      // Counted before running: a graph's waiter may read the stats as soon as the task
      // completes, which happens inside run_task.
      bump(worker.executed, 1);
      TaskRunner* runner = task->runner;
      if (unpublished != runner) publish();
      unpublished = runner->run_task(*task, index) ? runner : nullptr;
      continue;
    }
    if (stopping_.load(std::memory_order_seq_cst)) return;
  }
}

ExecutorStats Executor::stats() const {
  ExecutorStats out;
  for (const auto& worker : workers_) {
    out.workers.push_back(
        {worker->executed.load(std::memory_order_relaxed), worker->steals.load(std::memory_order_relaxed),
         worker->failed_steals.load(std::memory_order_relaxed), worker->injector_takes.load(std::memory_order_relaxed),
         worker->idle_ns.load(std::memory_order_relaxed), worker->sleeps.load(std::memory_order_relaxed),
         worker->high_water.load(std::memory_order_relaxed)});
  }
  return out;
}

}  // namespace pto::sched
