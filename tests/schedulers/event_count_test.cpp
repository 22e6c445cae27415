#include "schedulers/event_count.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

using pto::sched::EventCount;

TEST_CASE("event count: a sleeper is never left asleep with work published (10k hand-offs)") {
  EventCount events;
  std::atomic<int> published{0};
  std::atomic<int> consumed{0};
  constexpr int rounds = 10000;
  std::thread consumer([&] {
    for (int expected = 1; expected <= rounds; ++expected) {
      while (published.load(std::memory_order_acquire) < expected) {
        const auto key = events.prepare_wait();
        if (published.load(std::memory_order_acquire) >= expected) {
          events.cancel_wait();
          break;
        }
        events.commit_wait(key);
      }
      consumed.store(expected, std::memory_order_release);
    }
  });
  for (int i = 1; i <= rounds; ++i) {
    published.store(i, std::memory_order_release);
    events.notify_one();
    while (consumed.load(std::memory_order_acquire) < i) std::this_thread::yield();
  }
  consumer.join();
  CHECK(consumed.load() == rounds);
  CHECK(events.waiters() == 0);
}
