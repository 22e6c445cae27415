// An event count: lets idle workers sleep instead of spinning, without a lock on the
// producers' fast path.
//
// Protocol (the "event count" of Vyukov and of Taskflow's Notifier, simplified):
//   waiter:   key = prepare_wait();       // waiters++ (seq_cst), then read the epoch
//             if (work is available)       // re-check every queue AFTER prepare_wait
//               cancel_wait();
//             else
//               commit_wait(key);         // sleeps until the epoch moves past key
//   producer: make work available (publish it), then notify_one() / notify_all():
//             a seq_cst fence, then if waiters > 0: epoch++ and wake a sleeper.
// Why no wakeup is lost: the waiter's waiters++ and the producer's publish are both
// followed by seq_cst operations, so either the producer sees waiters > 0 (and bumps the
// epoch, which the waiter's commit_wait sees, or wakes it from the condition variable,
// under whose mutex the epoch is re-checked), or the waiter's re-check sees the work.
// Producers pay one fence and one load when nobody sleeps.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace pto::sched {

class EventCount {
 public:
  std::uint64_t prepare_wait() noexcept;
  void cancel_wait() noexcept;
  void commit_wait(std::uint64_t key);
  void notify_one() noexcept { notify(false); }
  void notify_all() noexcept { notify(true); }
  std::uint32_t waiters() const noexcept { return waiters_.load(std::memory_order_relaxed); }

 private:
  void notify(bool all) noexcept;

  alignas(64) std::atomic<std::uint64_t> epoch_{0};
  alignas(64) std::atomic<std::uint32_t> waiters_{0};
  std::mutex mutex_;
  std::condition_variable sleep_;
};

}  // namespace pto::sched
