#include "runtime/dependency_tracker.hpp"

#include <doctest/doctest.h>

#include <vector>

using pto::ByteRange;
using pto::DependencyTracker;

namespace {
std::vector<DependencyTracker::TaskId> access(DependencyTracker& tracker, DependencyTracker::TaskId task,
                                              std::vector<ByteRange> reads, std::vector<ByteRange> writes) {
  std::vector<DependencyTracker::TaskId> predecessors;
  tracker.access(task, reads, writes, predecessors);
  return predecessors;
}
using Ids = std::vector<DependencyTracker::TaskId>;
}  // namespace

TEST_CASE("dependencies: read after write, write after read, write after write") {
  char buffer[100];
  DependencyTracker tracker;
  CHECK(access(tracker, 0, {}, {{buffer, 10}}) == Ids{});       // first writer
  CHECK(access(tracker, 1, {{buffer, 10}}, {}) == Ids{0});      // RAW
  CHECK(access(tracker, 2, {{buffer + 5, 10}}, {}) == Ids{0});  // RAW on the overlap only
  CHECK(access(tracker, 3, {}, {{buffer, 4}}) == Ids{0, 1});    // WAW + WAR (task 2 read [5,15))
  CHECK(access(tracker, 4, {}, {{buffer + 8, 4}}) == Ids{0, 1, 2});
  CHECK(access(tracker, 5, {{buffer, 12}}, {}) == Ids{0, 3, 4});  // the last writer of each byte
}

TEST_CASE("dependencies: disjoint ranges are independent; touching ranges do not overlap") {
  char buffer[64];
  DependencyTracker tracker;
  CHECK(access(tracker, 0, {}, {{buffer, 16}}) == Ids{});
  CHECK(access(tracker, 1, {}, {{buffer + 16, 16}}) == Ids{});
  CHECK(access(tracker, 2, {{buffer + 32, 32}}, {}) == Ids{});
  CHECK(access(tracker, 3, {{buffer + 15, 2}}, {}) == Ids{0, 1});
}

TEST_CASE("dependencies: a task that reads and writes a range follows its writer and readers once") {
  char buffer[8];
  DependencyTracker tracker;
  access(tracker, 0, {}, {{buffer, 8}});
  access(tracker, 1, {{buffer, 8}}, {});
  access(tracker, 2, {{buffer, 8}}, {});
  CHECK(access(tracker, 3, {{buffer, 8}}, {{buffer, 8}}) == Ids{0, 1, 2});
  CHECK(access(tracker, 4, {{buffer, 8}}, {}) == Ids{3});  // 3 is now the writer, readers cleared
  CHECK(access(tracker, 5, {}, {{buffer, 8}}) == Ids{3, 4});
}

TEST_CASE("dependencies: empty ranges depend on nothing") {
  char buffer[8];
  DependencyTracker tracker;
  access(tracker, 0, {}, {{buffer, 8}});
  CHECK(access(tracker, 1, {{buffer, 0}}, {{buffer + 4, 0}}) == Ids{});
}
