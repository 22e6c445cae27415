// Infers task dependencies from the byte ranges tasks read and write: a task follows the
// last writer of every byte it reads (RAW), the last writer of every byte it writes (WAW),
// and every reader since that writer of a byte it writes (WAR).
//
// State is an interval map of disjoint address segments, each with its last writer and the
// readers since; an access splits segments at its bounds, so the cost of one access is
// O(log segments + segments it covers + readers it must follow).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace pto {

struct ByteRange {
  const void* begin = nullptr;
  std::size_t size = 0;
};

template <typename T>
ByteRange bytes_of(const T* data, std::size_t count) {
  return ByteRange{data, count * sizeof(T)};
}

class DependencyTracker {
 public:
  using TaskId = std::int64_t;

  // Records `task`'s accesses and appends the tasks it must follow to `predecessors`
  // (deduplicated, never `task` itself).
  void access(TaskId task, std::span<const ByteRange> reads, std::span<const ByteRange> writes,
              std::vector<TaskId>& predecessors);

  std::size_t segments() const noexcept { return segments_.size(); }

 private:
  struct Segment {
    std::uintptr_t end = 0;
    TaskId last_writer = -1;
    std::vector<TaskId> readers;  // since last_writer
  };
  using Map = std::map<std::uintptr_t, Segment>;

  // Splits segments so that none straddles `point`.
  void split_at(std::uintptr_t point);
  // Makes [begin, end) exactly covered by segments (creating empty ones in gaps) and calls
  // fn(segment) for each.
  template <typename Fn>
  void for_each_covering(std::uintptr_t begin, std::uintptr_t end, Fn&& fn);

  Map segments_;
};

}  // namespace pto
