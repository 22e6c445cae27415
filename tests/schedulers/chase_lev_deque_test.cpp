#include "schedulers/chase_lev_deque.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

using pto::sched::ChaseLevDeque;

TEST_CASE("deque: the owner pops newest first, thieves steal oldest first") {
  ChaseLevDeque<int> deque(4);
  for (int i = 0; i < 5; ++i) deque.push(i);
  CHECK(deque.size() == 5);
  CHECK(deque.steal().value() == 0);
  CHECK(deque.pop().value() == 4);
  CHECK(deque.steal().value() == 1);
  CHECK(deque.pop().value() == 3);
  CHECK(deque.pop().value() == 2);
  CHECK_FALSE(deque.pop().has_value());
  CHECK_FALSE(deque.steal().has_value());
}

TEST_CASE("deque: grows past its initial capacity and keeps every item") {
  ChaseLevDeque<int> deque(2);
  for (int i = 0; i < 10000; ++i) deque.push(i);
  CHECK(deque.capacity() >= 10000);
  for (int i = 9999; i >= 0; --i) REQUIRE(deque.pop().value() == i);
}

TEST_CASE("deque: with thieves racing the owner, every item is taken exactly once") {
  constexpr int items = 200000;
  ChaseLevDeque<int> deque(64);  // small: growth happens while thieves read
  std::vector<std::atomic<int>> taken(items);
  std::atomic<bool> done{false};
  std::atomic<int> total{0};
  auto thief = [&] {
    while (!done.load(std::memory_order_acquire) || !deque.empty()) {
      if (auto item = deque.steal()) {
        taken[static_cast<std::size_t>(*item)].fetch_add(1, std::memory_order_relaxed);
        total.fetch_add(1, std::memory_order_relaxed);
      }
    }
  };
  std::thread a(thief), b(thief);
  for (int i = 0; i < items; ++i) {
    deque.push(i);
    if (i % 3 == 0) {
      if (auto item = deque.pop()) {
        taken[static_cast<std::size_t>(*item)].fetch_add(1, std::memory_order_relaxed);
        total.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  while (auto item = deque.pop()) {
    taken[static_cast<std::size_t>(*item)].fetch_add(1, std::memory_order_relaxed);
    total.fetch_add(1, std::memory_order_relaxed);
  }
  done.store(true, std::memory_order_release);
  a.join();
  b.join();
  CHECK(total.load() == items);
  int wrong = 0;
  for (auto& count : taken) wrong += count.load() != 1;
  CHECK(wrong == 0);
}
