// Dependency inference over cells: the DependencyTracker's rules (a task follows the last
// writer of what it reads and writes, and every reader since that writer of what it writes)
// for memory that every access covers in whole cells of one size, so that a cell index is
// the whole address arithmetic and the state is a flat array (no maps, no allocation per
// access). Exact when that holds: the compiled task list (frontend/compiled_tasks.hpp)
// proves it per tensor when the workload is compiled, from the power of two that every
// view's offset, row length and row stride is a multiple of, and keeps the interval tracker
// for the rest.
//
// Executions reuse the state: reset() starts a new one in O(1) (cells carry the epoch
// that last wrote them).
#pragma once

#include <cstdint>
#include <vector>

namespace pto {

class CellTracker {
 public:
  using TaskId = std::int64_t;

  // A region of `cells` cells (a tensor); returns its index.
  int add_region(std::int64_t cells);
  // Forgets every access (a new execution).
  void reset();

  // One access: `runs` runs of `count` cells, `stride` cells apart, from `first`.
  struct Access {
    int region = 0;
    std::int64_t first = 0, count = 0, runs = 1, stride = 0;
  };
  // Appends the tasks `task` must follow to `predecessors` (each at most once, never `task`),
  // then records the accesses. `seen[id] == task` marks a task already in `predecessors`
  // (indexed by task id, grown as needed; the caller fills it with -1 for each execution).
  void access(TaskId task, const std::vector<Access>& reads, const std::vector<Access>& writes,
              std::vector<TaskId>& predecessors, std::vector<TaskId>& seen);

 private:
  struct Cell {
    TaskId last_writer = -1;
    std::int32_t readers = -1;  // head of its readers since last_writer, in reader_pool_
    std::uint32_t epoch = 0;    // the execution that last touched it; older: empty
  };
  struct Reader {
    TaskId task;
    std::int32_t next;
  };
  template <typename Fn>
  void for_each_cell(const Access& access, Fn&& fn);
  Cell& live(Cell& cell);

  std::vector<std::vector<Cell>> regions_;
  std::vector<Reader> reader_pool_;
  std::uint32_t epoch_ = 1;
};

}  // namespace pto
