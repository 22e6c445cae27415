// bench_dsl_build: how long building a large kernel takes in the DSL.
//
// Builds a kernel of N ops (default 10,000: a chain of elementwise ops, reductions and
// broadcasts over a [16,64] tile, carried through loops), and times each phase: recording
// the ops (tl calls), verifying, hashing and printing. Reports the median of repeated
// builds and its ratio to the limit ("well under a second" for 10k ops), plus the
// ratio to a floor measured in the same run: deep-copying the finished IR, i.e. touching
// every node once without checking anything.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <vector>

#include "bench/stats.hpp"
#include "dsl/builder.hpp"
#include "dsl/hash.hpp"
#include "dsl/printer.hpp"
#include "dsl/verifier.hpp"

using namespace pto;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

using bench::median;

std::size_t count_nodes(const ir::Block& block) {
  std::size_t n = block.nodes.size();
  for (const ir::Node& node : block.nodes)
    if (node.body) n += count_nodes(*node.body);
  return n;
}

// Records about `target_ops` nodes without verifying (the builder's own checks still run).
ir::Kernel record(int target_ops) {
  tl::Builder k("big");
  auto x = k.in(tl::tile(16, 64, tl::f16), "x");
  auto n = k.scalar(tl::i32, "n");
  auto y = k.out(tl::tile(16, 64, tl::f32), "y");
  tl::Value acc = tl::cast(x, tl::f32);
  std::size_t nodes_per_round = 0;  // measured on the first round
  std::size_t emitted = count_nodes(k.kernel().body);
  while (emitted < static_cast<std::size_t>(target_ops)) {
    // One round: 10 elementwise/reduce/broadcast ops + a loop of 6 ops with 1 carried tile.
    auto row_max = tl::rowmax(acc);
    auto shifted = acc - row_max;
    auto e = tl::exp(shifted * 0.5);
    auto s = tl::rowsum(e);
    acc = tl::maximum(e / s, acc * 0.25);
    auto [looped] = tl::for_range(
        0, n, 1, {acc}, [](tl::Scalar j, tl::Value a) { return tl::carry(tl::tanh(a) + tl::cast(j, tl::f32)); });
    acc = looped;
    if (nodes_per_round == 0) nodes_per_round = count_nodes(k.kernel().body) - emitted;
    emitted += nodes_per_round;
  }
  tl::store(y, acc);
  return k.finish_unverified();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time building a large kernel in the pto::tl DSL"};
  int ops = 10000;
  int repeats = 15;
  std::string json_path;
  app.add_option("--ops", ops, "Approximate number of ops in the kernel")->check(CLI::Range(10, 10000000));
  app.add_option("--repeats", repeats, "Builds to time (the median is reported)")->check(CLI::Range(1, 1000));
  app.add_option("--json", json_path, "Write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  std::vector<double> record_ms, verify_ms, hash_ms, print_ms, total_ms, copy_ms;
  std::size_t nodes = 0, values = 0;
  for (int i = 0; i < repeats; ++i) {
    auto start = Clock::now();
    ir::Kernel kernel = record(ops);
    record_ms.push_back(ms_since(start));
    auto phase = Clock::now();
    ir::verify(kernel);
    verify_ms.push_back(ms_since(phase));
    phase = Clock::now();
    const std::uint64_t hash = ir::structural_hash(kernel);
    hash_ms.push_back(ms_since(phase));
    total_ms.push_back(ms_since(start));
    phase = Clock::now();
    const std::string text = ir::print(kernel);
    print_ms.push_back(ms_since(phase));
    nodes = count_nodes(kernel.body);
    values = kernel.values.size();

    // The floor: copy every node and value once (what any pass over the IR costs at least).
    phase = Clock::now();
    ir::Kernel copy;
    copy.values = kernel.values;
    copy.params = kernel.params;
    std::vector<ir::Node> flat;
    flat.reserve(nodes);
    std::vector<const ir::Block*> pending{&kernel.body};
    while (!pending.empty()) {
      const ir::Block* block = pending.back();
      pending.pop_back();
      for (const ir::Node& node : block->nodes) {
        ir::Node shallow;
        shallow.op = node.op;
        shallow.operands = node.operands;
        shallow.results = node.results;
        flat.push_back(std::move(shallow));
        if (node.body) pending.push_back(node.body.get());
      }
    }
    copy_ms.push_back(ms_since(phase));
    if (text.empty() || hash == 0 || flat.size() != nodes) return 1;  // keep the work observable
  }

  const double limit_ms = 1000.0;  // the bound: "well under a second" for 10k ops
  const double total = median(total_ms);
  fmt::print("DSL build of a kernel with {} nodes ({} values), median of {} builds\n\n", nodes, values, repeats);
  fmt::print("  {:<34}{:>10}\n", "phase", "ms");
  fmt::print("  {:<34}{:>10.3f}\n", "record (tl ops + builder checks)", median(record_ms));
  fmt::print("  {:<34}{:>10.3f}\n", "verify", median(verify_ms));
  fmt::print("  {:<34}{:>10.3f}\n", "structural hash", median(hash_ms));
  fmt::print("  {:<34}{:>10.3f}\n", "build total (record+verify+hash)", total);
  fmt::print("  {:<34}{:>10.3f}\n", "print (not part of a build)", median(print_ms));
  fmt::print("  {:<34}{:>10.3f}\n", "floor: copy every node once", median(copy_ms));
  fmt::print("\n  build total / 1 s limit:      {:.4f}  ({:.0f}x under the limit)\n", total / limit_ms,
             limit_ms / total);
  fmt::print("  build total / copy floor:     {:.1f}x\n", total / median(copy_ms));
  fmt::print("  ns per node:                  {:.0f}\n", total * 1e6 / static_cast<double>(nodes));

  if (!json_path.empty()) {
    nlohmann::json out = {{"benchmark", "dsl_build"},
                          {"nodes", nodes},
                          {"values", values},
                          {"repeats", repeats},
                          {"median_ms",
                           {{"record", median(record_ms)},
                            {"verify", median(verify_ms)},
                            {"hash", median(hash_ms)},
                            {"build_total", total},
                            {"print", median(print_ms)},
                            {"copy_floor", median(copy_ms)}}},
                          {"limit_ms", limit_ms},
                          {"ratio_to_limit", total / limit_ms},
                          {"ratio_to_copy_floor", total / median(copy_ms)}};
    std::ofstream(json_path) << out.dump(2) << "\n";
    if (!std::ofstream(json_path, std::ios::app)) {
      fmt::print(stderr, "bench_dsl_build: could not write {}\n", json_path);
      return 1;
    }
  }
  return 0;
}
