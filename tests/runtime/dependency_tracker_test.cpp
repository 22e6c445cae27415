#include "runtime/dependency_tracker.hpp"

#include "core/error.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>
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

TEST_CASE("dependencies: disjoint ranges are independent, touching ranges do not overlap") {
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

TEST_CASE("dependencies: the heads of an NHD tensor are independent, a view meeting two heads follows both") {
  // [tokens 6, heads 4, dim 8] floats; head h of every token: 6 runs of 32 bytes, 128 apart.
  float nhd[6 * 4 * 8];
  const std::size_t row = 8 * sizeof(float), stride = 4 * 8 * sizeof(float);
  DependencyTracker tracker;
  for (int h = 0; h < 4; ++h) CHECK(access(tracker, h, {}, {pto::strided_bytes(nhd + h * 8, 6, row, stride)}) == Ids{});
  // Rows 2..3 of heads 1 and 2 (two adjacent heads: 64 bytes per token).
  CHECK(access(tracker, 4, {pto::strided_bytes(nhd + 2 * 32 + 8, 2, 2 * row, stride)}, {}) == Ids{1, 2});
  // One token, all heads: contiguous, it meets every head's writer.
  CHECK(access(tracker, 5, {{nhd + 5 * 32, 4 * row}}, {}) == Ids{0, 1, 2, 3});
  // Head 3 rewritten: after its writer and the readers of its bytes, not after heads 1 and 2.
  CHECK(access(tracker, 6, {}, {pto::strided_bytes(nhd + 3 * 8, 6, row, stride)}) == Ids{3, 5});
  // The strided view of another stride (every other token of head 0): only head 0's writer.
  CHECK(access(tracker, 7, {pto::strided_bytes(nhd, 3, row, 2 * stride)}, {}) == Ids{0});
}

TEST_CASE("dependencies: strided overlap is exact against a byte-by-byte check") {
  CHECK(pto::overlaps(pto::strided_bytes(nullptr, 4, 2, 8), pto::strided_bytes(reinterpret_cast<void*>(2), 4, 2, 8)) ==
        false);
  CHECK(pto::overlaps(pto::strided_bytes(nullptr, 4, 3, 8), pto::strided_bytes(reinterpret_cast<void*>(2), 4, 2, 8)));
  std::mt19937 rng(7);
  auto random_range = [&](std::uintptr_t base) {
    const std::size_t stride = 1 + rng() % 12, width = 1 + rng() % stride, rows = 1 + rng() % 6;
    return pto::strided_bytes(reinterpret_cast<void*>(base + rng() % 40), rows, width, stride);
  };
  auto bytes = [](const ByteRange& r) {
    std::vector<bool> out(256);
    const std::size_t rows = r.strided() ? r.rows : 1, width = r.strided() ? r.row_bytes : r.size;
    for (std::size_t k = 0; k < rows; ++k)
      for (std::size_t i = 0; i < width; ++i)
        out[reinterpret_cast<std::uintptr_t>(r.begin) - 64 + k * r.row_stride + i] = true;
    return out;
  };
  for (int trial = 0; trial < 20000; ++trial) {
    const ByteRange a = random_range(64), b = random_range(64);
    const std::vector<bool> x = bytes(a), y = bytes(b);
    bool expected = false;
    for (std::size_t i = 0; i < x.size(); ++i) expected = expected || (x[i] && y[i]);
    CAPTURE(trial);
    CHECK(pto::overlaps(a, b) == expected);
  }
}

TEST_CASE("dependencies: random strided accesses get every byte-level dependency and only true conflicts") {
  // Brute force: each byte's last writer and readers since. The tracker must return every
  // task that model returns (it may also return an older writer of the same bytes seen in
  // another stride's plane), and each task it returns must truly conflict with this one.
  std::mt19937 rng(11);
  alignas(64) static char buffer[512];
  const auto base = reinterpret_cast<std::uintptr_t>(buffer);
  for (int sequence = 0; sequence < 200; ++sequence) {
    DependencyTracker tracker;
    std::vector<DependencyTracker::TaskId> last_writer(sizeof buffer, -1);
    std::vector<std::vector<DependencyTracker::TaskId>> readers(sizeof buffer);
    std::vector<std::pair<std::vector<ByteRange>, std::vector<ByteRange>>> history;
    auto random_range = [&] {
      const std::size_t strides[] = {16, 32, 48, 64};
      const std::size_t stride = strides[rng() % 4], width = 1 + rng() % stride, rows = 1 + rng() % 5;
      const std::size_t start = rng() % (sizeof buffer - (rows - 1) * stride - width + 1);
      return pto::strided_bytes(buffer + start, rows, width, stride);
    };
    auto each_byte = [&](const ByteRange& r, auto&& fn) {
      const std::size_t rows = r.strided() ? r.rows : 1, width = r.strided() ? r.row_bytes : r.size;
      for (std::size_t k = 0; k < rows; ++k)
        for (std::size_t i = 0; i < width; ++i)
          fn(reinterpret_cast<std::uintptr_t>(r.begin) - base + k * (r.strided() ? r.row_stride : 0) + i);
    };
    for (DependencyTracker::TaskId task = 0; task < 24; ++task) {
      std::vector<ByteRange> reads, writes;
      for (int i = static_cast<int>(rng() % 3); i > 0; --i) reads.push_back(random_range());
      for (int i = static_cast<int>(rng() % 2 + (reads.empty() ? 1 : 0)); i > 0; --i) writes.push_back(random_range());
      std::set<DependencyTracker::TaskId> required;
      for (const ByteRange& r : reads)
        each_byte(r, [&](std::size_t b) {
          if (last_writer[b] >= 0) required.insert(last_writer[b]);
        });
      for (const ByteRange& r : writes)
        each_byte(r, [&](std::size_t b) {
          if (last_writer[b] >= 0) required.insert(last_writer[b]);
          required.insert(readers[b].begin(), readers[b].end());
        });
      required.erase(task);
      for (const ByteRange& r : reads) each_byte(r, [&](std::size_t b) { readers[b].push_back(task); });
      for (const ByteRange& r : writes)
        each_byte(r, [&](std::size_t b) {
          last_writer[b] = task;
          readers[b].clear();
        });
      const Ids found = access(tracker, task, reads, writes);
      CAPTURE(sequence);
      CAPTURE(task);
      for (const auto id : required) CHECK(std::find(found.begin(), found.end(), id) != found.end());
      for (const auto id : found) {
        const auto& [earlier_reads, earlier_writes] = history[static_cast<std::size_t>(id)];
        bool conflict = false;
        for (const ByteRange& w : earlier_writes) {
          for (const ByteRange& r : reads) conflict = conflict || pto::overlaps(w, r);
          for (const ByteRange& r : writes) conflict = conflict || pto::overlaps(w, r);
        }
        for (const ByteRange& r : earlier_reads)
          for (const ByteRange& w : writes) conflict = conflict || pto::overlaps(r, w);
        CHECK(conflict);
      }
      history.emplace_back(reads, writes);
    }
  }
}

TEST_CASE("dependencies: a strided byte set past the address space is an error, not a wrapped size") {
  char buffer[8];
  CHECK_THROWS_AS(pto::strided_bytes(buffer, SIZE_MAX / 2, 2, 4), pto::Error);
  CHECK_THROWS_AS(pto::strided_bytes(reinterpret_cast<void*>(UINTPTR_MAX - 8), 4, 2, 4), pto::Error);
  CHECK(pto::strided_bytes(buffer, 2, 2, 4).size == 6);
}
