// A test-and-test-and-set spin lock for critical sections of a few instructions (a task's
// successor list): cheaper than a mutex when uncontended, and never held across a call
// that can block.
#pragma once

#include <atomic>
#include <thread>

namespace pto::sched {

class SpinLock {
 public:
  void lock() noexcept {
    for (int spins = 0;; ++spins) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins > 64) std::this_thread::yield();
      }
    }
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace pto::sched
