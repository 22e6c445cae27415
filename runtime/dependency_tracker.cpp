#include "runtime/dependency_tracker.hpp"

#include <algorithm>

namespace pto {

void DependencyTracker::split_at(std::uintptr_t point) {
  auto it = segments_.upper_bound(point);
  if (it == segments_.begin()) return;
  --it;
  if (it->first < point && point < it->second.end) {
    Segment right = it->second;  // same writer and readers on both sides
    it->second.end = point;
    segments_.emplace(point, std::move(right));
  }
}

template <typename Fn>
void DependencyTracker::for_each_covering(std::uintptr_t begin, std::uintptr_t end, Fn&& fn) {
  if (begin >= end) return;
  split_at(begin);
  split_at(end);
  std::uintptr_t cursor = begin;
  auto it = segments_.lower_bound(begin);
  while (cursor < end) {
    if (it == segments_.end() || it->first > cursor) {  // a gap: nothing touched these bytes yet
      const std::uintptr_t gap_end = it == segments_.end() ? end : std::min(end, it->first);
      it = segments_.emplace_hint(it, cursor, Segment{gap_end, -1, {}});
    }
    fn(it->second);
    cursor = it->second.end;
    ++it;
  }
}

void DependencyTracker::access(TaskId task, std::span<const ByteRange> reads, std::span<const ByteRange> writes,
                               std::vector<TaskId>& predecessors) {
  const std::size_t first_new = predecessors.size();
  auto bounds = [](const ByteRange& range) {
    const auto begin = reinterpret_cast<std::uintptr_t>(range.begin);
    return std::pair{begin, begin + range.size};
  };
  // Phase 1: whom to follow, against the state before this task.
  for (const ByteRange& range : reads) {
    const auto [begin, end] = bounds(range);
    for_each_covering(begin, end, [&](Segment& segment) {
      if (segment.last_writer >= 0) predecessors.push_back(segment.last_writer);
    });
  }
  for (const ByteRange& range : writes) {
    const auto [begin, end] = bounds(range);
    for_each_covering(begin, end, [&](Segment& segment) {
      if (segment.last_writer >= 0) predecessors.push_back(segment.last_writer);
      predecessors.insert(predecessors.end(), segment.readers.begin(), segment.readers.end());
    });
  }
  // Phase 2: record this task's accesses (writes after reads: a read-write range ends with
  // this task as its writer and no readers).
  for (const ByteRange& range : reads) {
    const auto [begin, end] = bounds(range);
    for_each_covering(begin, end, [&](Segment& segment) {
      if (segment.readers.empty() || segment.readers.back() != task) segment.readers.push_back(task);
    });
  }
  for (const ByteRange& range : writes) {
    const auto [begin, end] = bounds(range);
    for_each_covering(begin, end, [&](Segment& segment) {
      segment.last_writer = task;
      segment.readers.clear();
    });
  }
  auto fresh = predecessors.begin() + static_cast<std::ptrdiff_t>(first_new);
  std::sort(fresh, predecessors.end());
  predecessors.erase(std::unique(fresh, predecessors.end()), predecessors.end());
  predecessors.erase(std::remove(fresh, predecessors.end(), task), predecessors.end());
}

}  // namespace pto
