// A growable work-stealing deque: the owner pushes and pops at the bottom (LIFO), thieves
// steal from the top (FIFO).
//
// Algorithm: D. Chase and Y. Lev, "Dynamic Circular Work-Stealing Deque", SPAA 2005.
// Memory orders: N. M. Lê, A. Pop, A. Cohen and F. Zappa Nardelli, "Correct and Efficient
// Work-Stealing for Weak Memory Models", PPoPP 2013 (Fig. 1, the C11 version), which this
// follows line by line:
//   - push:  store the item (relaxed), then publish bottom = b + 1 with a release store
//            (the paper's release fence + relaxed store orders the same; the store form is
//            also visible to ThreadSanitizer, which does not model fences);
//   - pop:   bottom = b - 1 (relaxed), seq_cst fence, read top (relaxed); if the deque had
//            one element, race the thieves with a seq_cst CAS on top;
//   - steal: read top (acquire), seq_cst fence, read bottom (acquire); if non-empty, read
//            the item and claim it with a seq_cst CAS on top.
// Growing: only the owner grows, by copying into an array twice as large and publishing
// it with a release store. Thieves may still be reading the old array, so old arrays are
// kept until the deque is destroyed (the paper's approach without a reclaimer; memory
// stays bounded by twice the largest size reached).
//
// T must be trivially copyable (PTO-RT stores task pointers).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

namespace pto::sched {

template <typename T>
class ChaseLevDeque {
  static_assert(std::is_trivially_copyable_v<T>, "the deque copies items racily: T must be trivially copyable");

 public:
  explicit ChaseLevDeque(std::int64_t capacity = 1024) {
    std::int64_t size = 1;
    while (size < capacity) size <<= 1;
    arrays_.push_back(std::make_unique<Array>(size));
    array_.store(arrays_.back().get(), std::memory_order_relaxed);
  }
  ChaseLevDeque(const ChaseLevDeque&) = delete;
  ChaseLevDeque& operator=(const ChaseLevDeque&) = delete;

  // Owner only.
  void push(T item) {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed);
    const std::int64_t t = top_.load(std::memory_order_acquire);
    Array* a = array_.load(std::memory_order_relaxed);
    if (b - t > a->capacity - 1) a = grow(a, t, b);
    a->put(b, item);
    bottom_.store(b + 1, std::memory_order_release);
  }

  // Owner only.
  std::optional<T> pop() {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    Array* a = array_.load(std::memory_order_relaxed);
    bottom_.store(b, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_relaxed);
    if (t > b) {  // empty
      bottom_.store(b + 1, std::memory_order_relaxed);
      return std::nullopt;
    }
    T item = a->get(b);
    if (t == b) {  // the last item: thieves may be after it too
      const bool won = top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed);
      bottom_.store(b + 1, std::memory_order_relaxed);
      if (!won) return std::nullopt;
    }
    return item;
  }

  // Any thread.
  std::optional<T> steal() {
    std::int64_t t = top_.load(std::memory_order_acquire);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const std::int64_t b = bottom_.load(std::memory_order_acquire);
    if (t >= b) return std::nullopt;
    Array* a = array_.load(std::memory_order_acquire);
    T item = a->get(t);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) {
      return std::nullopt;  // lost the race to the owner or another thief
    }
    return item;
  }

  // A snapshot; exact only when no other thread is operating on the deque.
  std::int64_t size() const noexcept {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed);
    const std::int64_t t = top_.load(std::memory_order_relaxed);
    return b > t ? b - t : 0;
  }
  bool empty() const noexcept { return size() == 0; }
  std::int64_t capacity() const noexcept { return array_.load(std::memory_order_relaxed)->capacity; }

 private:
  struct Array {
    explicit Array(std::int64_t size)
        : capacity(size), mask(size - 1), items(new std::atomic<T>[static_cast<std::size_t>(size)]) {}
    // Items are atomics accessed relaxed: the fences above order them (Lê et al.).
    void put(std::int64_t i, T item) noexcept {
      items[static_cast<std::size_t>(i & mask)].store(item, std::memory_order_relaxed);
    }
    T get(std::int64_t i) const noexcept {
      return items[static_cast<std::size_t>(i & mask)].load(std::memory_order_relaxed);
    }
    std::int64_t capacity;
    std::int64_t mask;
    std::unique_ptr<std::atomic<T>[]> items;
  };

  Array* grow(Array* old, std::int64_t t, std::int64_t b) {
    arrays_.push_back(std::make_unique<Array>(old->capacity * 2));
    Array* bigger = arrays_.back().get();
    for (std::int64_t i = t; i < b; ++i) bigger->put(i, old->get(i));
    array_.store(bigger, std::memory_order_release);
    return bigger;
  }

  alignas(64) std::atomic<std::int64_t> top_{0};
  alignas(64) std::atomic<std::int64_t> bottom_{0};
  alignas(64) std::atomic<Array*> array_{nullptr};
  std::vector<std::unique_ptr<Array>> arrays_;  // owner only: every array ever used
};

}  // namespace pto::sched
