// A mutex-protected ready queue in FIFO or priority order (highest priority first, FIFO
// among equals). Used where tasks must keep a global order (Ready::fifo/priority) or stay
// with one worker (mailboxes of round-robin/affinity/hash dispatch).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <queue>
#include <vector>

#include "schedulers/task.hpp"

namespace pto::sched {

class LockedQueue {
 public:
  explicit LockedQueue(bool by_priority) : by_priority_(by_priority) {}

  // Returns the queue's size after the push (for high-water marks).
  std::int64_t push(Task* task) {
    std::lock_guard<std::mutex> guard(mutex_);
    if (by_priority_) {
      heap_.push(task);
      return static_cast<std::int64_t>(heap_.size());
    }
    fifo_.push_back(task);
    return static_cast<std::int64_t>(fifo_.size());
  }

  Task* pop() {
    std::lock_guard<std::mutex> guard(mutex_);
    if (by_priority_) {
      if (heap_.empty()) return nullptr;
      Task* task = heap_.top();
      heap_.pop();
      return task;
    }
    if (fifo_.empty()) return nullptr;
    Task* task = fifo_.front();
    fifo_.pop_front();
    return task;
  }

 private:
  struct Lower {
    bool operator()(const Task* a, const Task* b) const noexcept {
      if (a->info.priority != b->info.priority) return a->info.priority < b->info.priority;
      return a->ready_order > b->ready_order;  // earlier first among equals
    }
  };

  bool by_priority_;
  std::mutex mutex_;
  std::deque<Task*> fifo_;
  std::priority_queue<Task*, std::vector<Task*>, Lower> heap_;
};

}  // namespace pto::sched
