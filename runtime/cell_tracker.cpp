#include "runtime/cell_tracker.hpp"

#include <cstdint>

#include "core/error.hpp"

namespace pto {

int CellTracker::add_region(std::int64_t cells) {
  regions_.emplace_back(static_cast<std::size_t>(cells));
  return static_cast<int>(regions_.size() - 1);
}

void CellTracker::reset() {
  reader_pool_.clear();
  if (++epoch_ == 0) {  // wrapped (after 2^32 executions): clear for real once
    for (auto& region : regions_)
      for (Cell& cell : region) cell = Cell{};
    epoch_ = 1;
  }
}

CellTracker::Cell& CellTracker::live(Cell& cell) {
  if (cell.epoch != epoch_) cell = Cell{-1, -1, epoch_};
  return cell;
}

template <typename Fn>
void CellTracker::for_each_cell(const Access& access, Fn&& fn) {
  std::vector<Cell>& region = regions_[static_cast<std::size_t>(access.region)];
  for (std::int64_t run = 0; run < access.runs; ++run) {
    const std::int64_t first = access.first + run * access.stride;
    if (first < 0 || access.count < 0 || first > static_cast<std::int64_t>(region.size()) - access.count) {
      throw InternalError("cell tracker: an access leaves its region (the compiled task list checks views first)");
    }
    for (std::int64_t c = first; c < first + access.count; ++c) fn(live(region[static_cast<std::size_t>(c)]));
  }
}

void CellTracker::access(TaskId task, const std::vector<Access>& reads, const std::vector<Access>& writes,
                         std::vector<TaskId>& predecessors, std::vector<TaskId>& seen) {
  if (seen.size() <= static_cast<std::size_t>(task)) seen.resize(static_cast<std::size_t>(task) * 2 + 1, -1);
  const auto follow = [&](TaskId before) {
    if (before < 0 || before == task || seen[static_cast<std::size_t>(before)] == task) return;
    seen[static_cast<std::size_t>(before)] = task;
    predecessors.push_back(before);
  };
  // Whom to follow, against the state before this task; then its own accesses (writes after
  // reads: a cell it reads and writes ends with it as the writer and no readers).
  for (const Access& read : reads) for_each_cell(read, [&](Cell& cell) { follow(cell.last_writer); });
  for (const Access& write : writes) {
    for_each_cell(write, [&](Cell& cell) {
      follow(cell.last_writer);
      for (std::int32_t r = cell.readers; r >= 0; r = reader_pool_[static_cast<std::size_t>(r)].next)
        follow(reader_pool_[static_cast<std::size_t>(r)].task);
    });
  }
  for (const Access& read : reads) {
    for_each_cell(read, [&](Cell& cell) {
      if (cell.readers >= 0 && reader_pool_[static_cast<std::size_t>(cell.readers)].task == task) return;
      if (reader_pool_.size() >= static_cast<std::size_t>(INT32_MAX)) {
        throw Error(
            "dependency inference: more than 2^31 - 1 reads of tracked cells in one execution; split the "
            "workload into several Programs");
      }
      reader_pool_.push_back({task, cell.readers});
      cell.readers = static_cast<std::int32_t>(reader_pool_.size() - 1);
    });
  }
  for (const Access& write : writes) {
    for_each_cell(write, [&](Cell& cell) {
      cell.last_writer = task;
      cell.readers = -1;
    });
  }
}

}  // namespace pto
