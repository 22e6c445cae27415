#include "runtime/dependency_tracker.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.hpp"

namespace pto {

namespace {

std::uintptr_t address(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p);
}

// floor(n / d) for d > 0 and any n (signed: the first row of one set can lie before the other's).
std::int64_t floor_div(std::int64_t n, std::int64_t d) {
  return n / d - ((n % d != 0) && ((n < 0) != (d < 0)));
}

// A byte set as runs: `rows` runs of `width` bytes, `stride` apart (a contiguous range is one).
struct Runs {
  std::int64_t begin, rows, width, stride;
};
Runs runs_of(const ByteRange& r) {
  const auto begin = static_cast<std::int64_t>(address(r.begin));
  if (!r.strided()) return {begin, 1, static_cast<std::int64_t>(r.size), 0};
  return {begin, static_cast<std::int64_t>(r.rows), static_cast<std::int64_t>(r.row_bytes),
          static_cast<std::int64_t>(r.row_stride)};
}

// a + period - phase: its quotient and remainder by the period are a's row and column in a
// plane of that period and phase (never below zero: phase < period).
std::uintptr_t shifted(std::uintptr_t a, std::uintptr_t period, std::uintptr_t phase) {
  return a + period - phase;
}

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

ByteRange strided_bytes(const void* begin, std::size_t rows, std::size_t row_bytes, std::size_t row_stride) {
  std::size_t size = 0, end = 0;
  if (rows != 0 && row_bytes != 0 &&
      (__builtin_mul_overflow(rows - 1, row_stride, &size) || __builtin_add_overflow(size, row_bytes, &size) ||
       __builtin_add_overflow(address(begin), size, &end))) {
    throw Error(fmt::format("strided_bytes: {} rows of {} bytes, {} apart, from {} reach past the address space", rows,
                            row_bytes, row_stride, begin));
  }
  ByteRange range{begin, size, rows, row_bytes, row_stride};
  if (!range.strided()) range.rows = range.row_bytes = range.row_stride = 0;  // one run
  return range;
}

bool overlaps(const ByteRange& a, const ByteRange& b) {
  if (a.size == 0 || b.size == 0) return false;
  const std::uintptr_t a0 = address(a.begin), b0 = address(b.begin);
  if (a0 >= b0 + b.size || b0 >= a0 + a.size) return false;  // spans apart
  if (!a.strided() && !b.strided()) return true;             // two runs whose spans meet
  // Walk the runs of the set with fewer; for each run [start, end), the other's runs j with
  // begin + j * stride < end and begin + j * stride + width > start meet it.
  const Runs x = runs_of(a), y = runs_of(b);
  const Runs& walk = x.rows <= y.rows ? x : y;
  const Runs& other = x.rows <= y.rows ? y : x;  // strided: more than one run, stride > 0
  for (std::int64_t k = 0; k < walk.rows; ++k) {
    const std::int64_t start = walk.begin + k * walk.stride, end = start + walk.width;
    const std::int64_t j_high = std::min(other.rows - 1, floor_div(end - 1 - other.begin, other.stride));
    const std::int64_t j_low =
        std::max<std::int64_t>(0, floor_div(start - other.width - other.begin, other.stride) + 1);
    if (j_low <= j_high) return true;
  }
  return false;
}

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
  return Rect{at / plane.period, at / plane.period + range.rows, at % plane.period,
              at % plane.period + range.row_bytes};
}

template <typename Fn>
void DependencyTracker::for_each_span_rect(std::uintptr_t begin, std::uintptr_t end, const Plane& plane, Fn&& fn) {
  if (begin >= end) return;
  const std::uintptr_t period = plane.period;
  if (period == 0) return fn(Rect{0, 1, begin, end});
  const std::uintptr_t first = shifted(begin, period, plane.phase), last = shifted(end - 1, period, plane.phase);
  const std::uintptr_t first_row = first / period, last_row = last / period;
  const std::uintptr_t first_column = first % period, last_column_end = last % period + 1;
  if (first_row == last_row) return fn(Rect{first_row, first_row + 1, first_column, last_column_end});
  fn(Rect{first_row, first_row + 1, first_column, period});
  if (last_row > first_row + 1) fn(Rect{first_row + 1, last_row, 0, period});
  fn(Rect{last_row, last_row + 1, 0, last_column_end});
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

template <typename Fn>
void DependencyTracker::record(Plane& plane, const Rect& rect, Fn&& fn) {
  const ByteRange bytes = bytes_of_cell(plane, rect);
  plane.lowest = std::min(plane.lowest, address(bytes.begin));
  plane.highest = std::max(plane.highest, address(bytes.begin) + bytes.size);
  cover(plane.bands, rect.row_begin, rect.row_end, Band{},
        [&](Band& band) { cover(band.columns, rect.column_begin, rect.column_end, Segment{}, fn); });
}

template <typename Fn>
void DependencyTracker::record_own(const ByteRange& range, Fn&& fn) {
  if (range.size == 0) return;
  Plane& plane = planes_[static_cast<std::size_t>(own_plane(range, true))];
  record(plane, own_rect(range, plane), fn);
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
    for_each_span_rect(begin, end, plane, [&](const Rect& rect) {
      visit(plane, rect, [&](Segment& segment, const Rect& cell) {
        if (overlaps(range, bytes_of_cell(plane, cell))) fn(segment);
      });
    });
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
    record_own(range, [&](Segment& segment) {
      if (segment.readers.empty() || segment.readers.back() != task) segment.readers.push_back(task);
    });
  }
  for (const ByteRange& range : writes) {
    record_own(range, [&](Segment& segment) {
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
