// The peer the scheduler benchmark measures against: the thread pool most code starts with,
// one std::queue behind a mutex and a condition variable, running the same dependency
// counting (atomic predecessor counts, successor lists) as PTO-RT's task graph.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace pto::bench {

class BaselinePool {
 public:
  struct Node {
    std::function<void()> work;
    std::atomic<int> pending{0};
    std::vector<Node*> successors;
  };

  explicit BaselinePool(int workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { loop(); });
  }
  ~BaselinePool() {
    {
      std::lock_guard<std::mutex> guard(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& thread : threads_) thread.join();
  }

  // Runs a graph given as nodes with their edges already in place; returns when all ran.
  void run(std::vector<std::unique_ptr<Node>>& nodes) {
    remaining_.store(static_cast<std::int64_t>(nodes.size()));
    // Find the roots before pushing any: once tasks run, later nodes' counts reach zero too.
    std::vector<Node*> roots;
    for (auto& node : nodes)
      if (node->pending.load() == 0) roots.push_back(node.get());
    for (Node* root : roots) push(root);
    std::unique_lock<std::mutex> lock(done_mutex_);
    done_.wait(lock, [&] { return remaining_.load() == 0; });
  }

 private:
  void push(Node* node) {
    {
      std::lock_guard<std::mutex> guard(mutex_);
      queue_.push(node);
    }
    ready_.notify_one();
  }

  void loop() {
    while (true) {
      Node* node = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        node = queue_.front();
        queue_.pop();
      }
      node->work();
      for (Node* next : node->successors)
        if (next->pending.fetch_sub(1) == 1) push(next);
      if (remaining_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> guard(done_mutex_);
        done_.notify_all();
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::queue<Node*> queue_;
  bool stopping_ = false;
  std::atomic<std::int64_t> remaining_{0};
  std::mutex done_mutex_;
  std::condition_variable done_;
  std::vector<std::thread> threads_;
};

}  // namespace pto::bench
