// Infers task dependencies from the bytes tasks read and write: a task follows the last
// writer of every byte it reads (RAW), the last writer of every byte it writes (WAW), and
// every reader since that writer of a byte it writes (WAR).
//
// Accesses are exact, strided ones included: a view of a head of an NHD [tokens, heads, dim]
// tensor is `tokens` runs of `dim` elements, one row stride apart, and does not overlap the
// other heads' views although their byte spans interleave.
//
// State: planes, one per row stride in use (more when accesses of one stride start at
// columns that do not fit one plane), and plane 0 for contiguous accesses. A plane of
// period P sees an address as a (row, column) with column < P, where a strided access of
// that stride is a rectangle; each plane is a map of row bands, each band an interval map
// of column segments with their last writer and the readers since. An access is recorded in
// its own plane only, and checked exactly there; in the other planes its byte span is
// checked, and each segment found there counts only if the access's bytes truly meet it
// (an exact test of two strided byte sets). So no edge is added for bytes that do not
// overlap, and every edge for bytes that do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace pto {

// The bytes an access touches: `rows` runs of `row_bytes` bytes, `row_stride` bytes apart,
// from `begin`. `size` is the span (first byte to last byte + 1). A contiguous range is
// {begin, size} (rows 0: one run of `size` bytes).
struct ByteRange {
  const void* begin = nullptr;
  std::size_t size = 0;
  std::size_t rows = 0;
  std::size_t row_bytes = 0;
  std::size_t row_stride = 0;

  // Runs that are not one contiguous run: several rows with gaps between them.
  bool strided() const noexcept { return rows > 1 && row_bytes < row_stride; }
};

template <typename T>
ByteRange bytes_of(const T* data, std::size_t count) {
  return ByteRange{data, count * sizeof(T)};
}
// `rows` runs of `row_bytes`, `row_stride` apart (row_bytes <= row_stride); a set reaching past
// the address space is a pto::Error.
ByteRange strided_bytes(const void* begin, std::size_t rows, std::size_t row_bytes, std::size_t row_stride);

// Whether two byte sets share a byte, exactly (O(rows of the one with fewer rows)).
bool overlaps(const ByteRange& a, const ByteRange& b);

class DependencyTracker {
 public:
  using TaskId = std::int64_t;

  // Records `task`'s accesses and appends the tasks it must follow to `predecessors`
  // (deduplicated, never `task` itself).
  void access(TaskId task, std::span<const ByteRange> reads, std::span<const ByteRange> writes,
              std::vector<TaskId>& predecessors);

  // Column segments over all planes and bands (a measure of the state's size).
  std::size_t segments() const noexcept;

 private:
  struct Segment {
    std::uintptr_t end = 0;
    TaskId last_writer = -1;
    std::vector<TaskId> readers;  // since last_writer
  };
  using Columns = std::map<std::uintptr_t, Segment>;  // by first column
  struct Band {
    std::uintptr_t end = 0;  // rows [key, end)
    Columns columns;
  };
  // A plane of period P and phase φ places address a at row (a + P - φ) / P, column
  // (a + P - φ) % P: the rows of a strided access starting at a column c with c + width <= P
  // are a rectangle. Accesses of one stride share a plane when they fit it (the heads of one
  // tensor do), else get one of their own phase.
  struct Plane {
    std::uintptr_t period = 0;  // bytes per row; 0: one row holding every address
    std::uintptr_t phase = 0;
    std::map<std::uintptr_t, Band> bands;
    std::uintptr_t lowest = UINTPTR_MAX, highest = 0;  // addresses recorded here, for a quick miss
  };
  struct Rect {
    std::uintptr_t row_begin, row_end, column_begin, column_end;
  };

  // The plane an access is recorded in (an existing one it fits, else a new one when
  // `create`, else none: -1), and its rectangle there.
  std::ptrdiff_t own_plane(const ByteRange& range, bool create);
  static Rect own_rect(const ByteRange& range, const Plane& plane);
  // fn(rect) for the rectangles of the bytes [begin, end) in `plane` (at most three).
  template <typename Fn>
  static void for_each_span_rect(std::uintptr_t begin, std::uintptr_t end, const Plane& plane, Fn&& fn);
  static ByteRange bytes_of_cell(const Plane& plane, const Rect& cell);
  // fn(segment, the part of `rect` it holds) for every recorded segment meeting `rect`.
  template <typename Fn>
  static void visit(Plane& plane, const Rect& rect, Fn&& fn);
  // Makes `rect` of `plane` exactly covered by segments (splitting and creating bands and
  // segments) and calls fn(segment) for each.
  template <typename Fn>
  static void record(Plane& plane, const Rect& rect, Fn&& fn);
  // Records `range` in its own plane (created when none fits), calling fn on its segments.
  template <typename Fn>
  void record_own(const ByteRange& range, Fn&& fn);
  // fn(segment) for the recorded segments, in every plane, that truly meet `range`'s bytes.
  template <typename Fn>
  void for_each_met(const ByteRange& range, Fn&& fn);

  std::vector<Plane> planes_;
};

}  // namespace pto
