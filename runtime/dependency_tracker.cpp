#include "runtime/dependency_tracker.hpp"

#include <algorithm>

namespace pto {

namespace {

std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// floor(n / d) for d > 0 and any n (signed: the first row of one set can lie before the other's).
std::int64_t floor_div(std::int64_t n, std::int64_t d) { return n / d - ((n % d != 0) && ((n < 0) != (d < 0))); }

}  // namespace

ByteRange strided_bytes(const void* begin, std::size_t rows, std::size_t row_bytes, std::size_t row_stride) {
  ByteRange range{begin, rows == 0 || row_bytes == 0 ? 0 : (rows - 1) * row_stride + row_bytes, rows, row_bytes,
                  row_stride};
  if (!range.strided()) range.rows = range.row_bytes = range.row_stride = 0;  // one run
  return range;
}

bool overlaps(const ByteRange& a, const ByteRange& b) {
  if (a.size == 0 || b.size == 0) return false;
  const std::uintptr_t a0 = address(a.begin), b0 = address(b.begin);
  if (a0 >= b0 + b.size || b0 >= a0 + a.size) return false;  // spans apart
  if (!a.strided() && !b.strided()) return true;              // two runs whose spans meet
  // Walk the rows of the set with fewer rows; for each, ask whether a row of the other meets
  // it: rows k of `other` with begin + k * stride < end and begin + k * stride + width > start.
  const bool a_fewer = (a.strided() ? a.rows : 1) <= (b.strided() ? b.rows : 1);
  const ByteRange& walk = a_fewer ? a : b;
  const ByteRange& other = a_fewer ? b : a;
  const std::size_t walk_rows = walk.strided() ? walk.rows : 1;
  const std::size_t walk_width = walk.strided() ? walk.row_bytes : walk.size;
  const auto other_begin = static_cast<std::int64_t>(address(other.begin));
  if (!other.strided()) {
    for (std::size_t k = 0; k < walk_rows; ++k) {
      const std::uintptr_t start = address(walk.begin) + k * walk.row_stride;
      if (start < address(other.begin) + other.size && start + walk_width > address(other.begin)) return true;
    }
    return false;
  }
  const auto stride = static_cast<std::int64_t>(other.row_stride);
  const auto width = static_cast<std::int64_t>(other.row_bytes);
  const auto last = static_cast<std::int64_t>(other.rows) - 1;
  for (std::size_t k = 0; k < walk_rows; ++k) {
    const auto start = static_cast<std::int64_t>(address(walk.begin) + k * walk.row_stride);
    const auto end = start + static_cast<std::int64_t>(walk_width);
    // other's row j meets [start, end) iff other_begin + j*stride < end and
    // other_begin + j*stride + width > start.
    const std::int64_t j_high = std::min(last, floor_div(end - 1 - other_begin, stride));
    const std::int64_t j_low = std::max<std::int64_t>(0, floor_div(start - width - other_begin, stride) + 1);
    if (j_low <= j_high) return true;
  }
  return false;
}

namespace {

// Row and column of address `a` in a plane of period > 0.
std::uintptr_t shifted(std::uintptr_t a, std::uintptr_t period, std::uintptr_t phase) { return a + period - phase; }

}  // namespace

std::ptrdiff_t DependencyTracker::own_plane(const ByteRange& range, bool create) {
  const std::uintptr_t begin = address(range.begin);
  const std::uintptr_t period = range.strided() ? range.row_stride : 0;
  for (std::size_t i = 0; i < planes_.size(); ++i) {
    const Plane& plane = planes_[i];
    if (plane.period != period) continue;
    if (period == 0 || shifted(begin, period, plane.phase) % period + range.row_bytes <= period)
      return static_cast<std::ptrdiff_t>(i);
  }
  if (!create) return -1;
  planes_.push_back(Plane{period, period == 0 ? 0 : begin % period, {}});
  return static_cast<std::ptrdiff_t>(planes_.size() - 1);
}

DependencyTracker::Rect DependencyTracker::own_rect(const ByteRange& range, const Plane& plane) {
  const std::uintptr_t begin = address(range.begin);
  if (plane.period == 0) return Rect{0, 1, begin, begin + range.size};
  const std::uintptr_t at = shifted(begin, plane.period, plane.phase);
  return Rect{at / plane.period, at / plane.period + range.rows, at % plane.period, at % plane.period + range.row_bytes};
}

std::vector<DependencyTracker::Rect> DependencyTracker::span_rects(std::uintptr_t begin, std::uintptr_t end,
                                                                   const Plane& plane) {
  if (begin >= end) return {};
  const std::uintptr_t period = plane.period;
  if (period == 0) return {Rect{0, 1, begin, end}};
  const std::uintptr_t first = shifted(begin, period, plane.phase), last = shifted(end - 1, period, plane.phase);
  const std::uintptr_t first_row = first / period, last_row = last / period;
  const std::uintptr_t first_column = first % period, last_column_end = last % period + 1;
  if (first_row == last_row) return {Rect{first_row, first_row + 1, first_column, last_column_end}};
  std::vector<Rect> out = {Rect{first_row, first_row + 1, first_column, period}};
  if (last_row > first_row + 1) out.push_back(Rect{first_row + 1, last_row, 0, period});
  out.push_back(Rect{last_row, last_row + 1, 0, last_column_end});
  return out;
}

ByteRange DependencyTracker::bytes_of_cell(const Plane& plane, const Rect& cell) {
  const std::uintptr_t width = cell.column_end - cell.column_begin;
  if (plane.period == 0) return ByteRange{reinterpret_cast<const void*>(cell.column_begin), width};
  const std::uintptr_t first = cell.row_begin * plane.period + cell.column_begin + plane.phase - plane.period;
  return strided_bytes(reinterpret_cast<const void*>(first), cell.row_end - cell.row_begin, width, plane.period);
}

template <typename Fn>
void DependencyTracker::visit(Plane& plane, const Rect& rect, Fn&& fn) {
  auto band = plane.bands.upper_bound(rect.row_begin);
  if (band != plane.bands.begin()) --band;
  for (; band != plane.bands.end() && band->first < rect.row_end; ++band) {
    if (band->second.end <= rect.row_begin) continue;
    Columns& columns = band->second.columns;
    auto segment = columns.upper_bound(rect.column_begin);
    if (segment != columns.begin()) --segment;
    for (; segment != columns.end() && segment->first < rect.column_end; ++segment) {
      if (segment->second.end <= rect.column_begin) continue;
      const Rect cell{std::max(band->first, rect.row_begin), std::min(band->second.end, rect.row_end),
                      std::max(segment->first, rect.column_begin), std::min(segment->second.end, rect.column_end)};
      fn(segment->second, cell);
    }
  }
}

namespace {

// Splits the entry of `map` (keyed by first position, value.end its end) that straddles
// `point` in two, the right half a copy of the left.
template <typename Map>
void split_at(Map& map, std::uintptr_t point) {
  auto it = map.upper_bound(point);
  if (it == map.begin()) return;
  --it;
  if (it->first < point && point < it->second.end) {
    auto right = it->second;
    it->second.end = point;
    map.emplace(point, std::move(right));
  }
}

// Makes [begin, end) of `map` exactly covered by entries (creating `empty` ones in gaps) and
// calls fn(value) for each.
template <typename Map, typename Fn>
void cover(Map& map, std::uintptr_t begin, std::uintptr_t end, const typename Map::mapped_type& empty, Fn&& fn) {
  if (begin >= end) return;
  split_at(map, begin);
  split_at(map, end);
  std::uintptr_t cursor = begin;
  auto it = map.lower_bound(begin);
  while (cursor < end) {
    if (it == map.end() || it->first > cursor) {  // a gap: nothing recorded there yet
      auto fresh = empty;
      fresh.end = it == map.end() ? end : std::min(end, it->first);
      it = map.emplace_hint(it, cursor, std::move(fresh));
    }
    fn(it->second);
    cursor = it->second.end;
    ++it;
  }
}

}  // namespace

template <typename Fn>
void DependencyTracker::record(Plane& plane, const Rect& rect, Fn&& fn) {
  const ByteRange bytes = bytes_of_cell(plane, rect);
  plane.lowest = std::min(plane.lowest, address(bytes.begin));
  plane.highest = std::max(plane.highest, address(bytes.begin) + bytes.size);
  cover(plane.bands, rect.row_begin, rect.row_end, Band{}, [&](Band& band) {
    cover(band.columns, rect.column_begin, rect.column_end, Segment{}, fn);
  });
}

template <typename Fn>
void DependencyTracker::for_each_met(const ByteRange& range, Fn&& fn) {
  if (range.size == 0) return;
  const std::ptrdiff_t own = own_plane(range, false);
  const std::uintptr_t begin = address(range.begin), end = begin + range.size;
  for (std::size_t i = 0; i < planes_.size(); ++i) {
    Plane& plane = planes_[i];
    if (plane.lowest >= end || plane.highest <= begin) continue;
    if (static_cast<std::ptrdiff_t>(i) == own) {
      visit(plane, own_rect(range, plane), [&](Segment& segment, const Rect&) { fn(segment); });
      continue;
    }
    for (const Rect& rect : span_rects(begin, end, plane)) {
      visit(plane, rect, [&](Segment& segment, const Rect& cell) {
        if (overlaps(range, bytes_of_cell(plane, cell))) fn(segment);
      });
    }
  }
}

void DependencyTracker::access(TaskId task, std::span<const ByteRange> reads, std::span<const ByteRange> writes,
                               std::vector<TaskId>& predecessors) {
  const std::size_t first_new = predecessors.size();
  // Phase 1: whom to follow, against the state before this task.
  for (const ByteRange& range : reads) {
    for_each_met(range, [&](Segment& segment) {
      if (segment.last_writer >= 0) predecessors.push_back(segment.last_writer);
    });
  }
  for (const ByteRange& range : writes) {
    for_each_met(range, [&](Segment& segment) {
      if (segment.last_writer >= 0) predecessors.push_back(segment.last_writer);
      predecessors.insert(predecessors.end(), segment.readers.begin(), segment.readers.end());
    });
  }
  // Phase 2: record this task's accesses in their own planes (writes after reads: a
  // read-write range ends with this task as its writer and no readers).
  for (const ByteRange& range : reads) {
    if (range.size == 0) continue;
    Plane& plane = planes_[static_cast<std::size_t>(own_plane(range, true))];
    record(plane, own_rect(range, plane), [&](Segment& segment) {
      if (segment.readers.empty() || segment.readers.back() != task) segment.readers.push_back(task);
    });
  }
  for (const ByteRange& range : writes) {
    if (range.size == 0) continue;
    Plane& plane = planes_[static_cast<std::size_t>(own_plane(range, true))];
    record(plane, own_rect(range, plane), [&](Segment& segment) {
      segment.last_writer = task;
      segment.readers.clear();
    });
  }
  auto fresh = predecessors.begin() + static_cast<std::ptrdiff_t>(first_new);
  std::sort(fresh, predecessors.end());
  predecessors.erase(std::unique(fresh, predecessors.end()), predecessors.end());
  predecessors.erase(std::remove(fresh, predecessors.end(), task), predecessors.end());
}

std::size_t DependencyTracker::segments() const noexcept {
  std::size_t count = 0;
  for (const Plane& plane : planes_)
    for (const auto& band : plane.bands) count += band.second.columns.size();
  return count;
}

}  // namespace pto
