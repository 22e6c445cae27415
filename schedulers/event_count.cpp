#include "schedulers/event_count.hpp"

namespace pto::sched {

std::uint64_t EventCount::prepare_wait() noexcept {
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  return epoch_.load(std::memory_order_seq_cst);
}

void EventCount::cancel_wait() noexcept {
  waiters_.fetch_sub(1, std::memory_order_seq_cst);
}

void EventCount::commit_wait(std::uint64_t key) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    sleep_.wait(lock, [&] { return epoch_.load(std::memory_order_seq_cst) != key; });
  }
  waiters_.fetch_sub(1, std::memory_order_seq_cst);
}

void EventCount::notify(bool all) noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (waiters_.load(std::memory_order_seq_cst) == 0) return;
  {
    // Bump under the mutex: a waiter between its predicate check and its sleep holds the
    // mutex, so it cannot miss this change.
    std::lock_guard<std::mutex> lock(mutex_);
    epoch_.fetch_add(1, std::memory_order_seq_cst);
  }
  if (all) {
    sleep_.notify_all();
  } else {
    sleep_.notify_one();
  }
}

}  // namespace pto::sched
