// for_range: carried values, the loads it fetches ahead, the yield's copies.
#include "runtime/cuda/codegen/generator.hpp"

namespace pto::cuda::codegen {

void Generator::copy_into(ir::ValueId target, ir::ValueId from) {
  const ir::Type& type = kernel_.type_of(target);
  for_each_element(type, [&] {
    line("{}[r * {} + c] = {};", tile_pointer(target), slot(target).stride,
         narrow(type.dtype, element(from, "r", "c")));
  });
}

void Generator::visit_for_range(const ir::Node& node) {
  comment(node);
  const ir::Block& body = *node.body;
  const std::size_t carried = node.results.size();
  const ir::ValueId index = body.arguments[0];
  const char* index_type = compute_type(kernel_.type_of(index).dtype);
  // Carried values start as the inits: scalars in variables, tiles in the arguments' slots.
  bool copied_tiles = false;
  for (std::size_t i = 0; i < carried; ++i) {
    const ir::ValueId argument = body.arguments[i + 1];
    const ir::Type& type = kernel_.type_of(argument);
    if (type.is_scalar()) {
      line("{} {} = {};", compute_type(type.dtype), var(argument), var(node.operands[i + 2]));
    } else {
      copy_into(argument, node.operands[i + 2]);
      copied_tiles = true;
    }
  }
  const auto prefetch = plan_.prefetch.find(&node);
  const LoopPrefetch* fetching = prefetch != plan_.prefetch.end() ? &prefetch->second : nullptr;
  // Prefetching: the barrier also ends an enclosing loop's reads of the slots.
  if (copied_tiles || fetching != nullptr) {
    barrier();
  } else {
    end_pending_reads();  // the body rewrites its tiles every iteration
  }
  if (fetching != nullptr) {
    for (const PrefetchedLoad& load : fetching->loads) fetch_ahead(node, load, index_value(node.operands[0]));
  }
  line("for (long long j{0} = {1}; j{0} < {2}; j{0} = pto::next_index(j{0}, {2}, {3}LL)) {{", index,
       index_value(node.operands[0]), index_value(node.operands[1]), node.step);
  indent_ += 2;
  line("const {} {} = ({})j{};", index_type, var(index), index_type, index);
  const std::string next_index =
      fmt::format("pto::next_index(j{}, {}, {}LL)", index, index_value(node.operands[1]), node.step);
  for (std::size_t i = 0; i + 1 < body.nodes.size(); ++i) {  // the last node is the yield
    emit(body.nodes[i]);
    if (fetching == nullptr) continue;
    for (const PrefetchedLoad& load : fetching->loads) {
      if (load.issue_after != i) continue;
      if (elided_ || !ends_with_barrier(body.nodes[i])) barrier();
      fetch_ahead(node, load, next_index);
    }
  }
  const ir::Node& yield = body.nodes.back();
  // Next values: scalars through temporaries (a yield may permute them); tiles whose next
  // value is another carried tile go through a temporary copy first, for the same reason.
  std::vector<std::string> next_scalars(carried);
  for (std::size_t i = 0; i < carried; ++i) {
    const ir::ValueId argument = body.arguments[i + 1];
    if (kernel_.type_of(argument).is_scalar()) {
      line("const {} next{}_{} = {};", compute_type(kernel_.type_of(argument).dtype), index, i, var(yield.operands[i]));
    }
  }
  std::unordered_set<ir::ValueId> carried_arguments(body.arguments.begin() + 1, body.arguments.end());
  bool permuted = false;
  for (std::size_t i = 0; i < carried; ++i) {
    const ir::ValueId next = yield.operands[i];
    if (next != body.arguments[i + 1] && carried_arguments.contains(next)) permuted = true;
  }
  if (permuted) {
    throw Error(fmt::format(
        "CUDA codegen: kernel '{}' yields one carried tile as another's next value; copy it with an elementwise "
        "op (e.g. x + 0) first",
        kernel_.name));
  }
  end_pending_reads();  // the copies rewrite the carried tiles; the next iteration, every tile
  bool wrote = false;
  for (std::size_t i = 0; i < carried; ++i) {
    const ir::ValueId argument = body.arguments[i + 1];
    const ir::ValueId next = yield.operands[i];
    if (kernel_.type_of(argument).is_scalar()) {
      line("{} = next{}_{};", var(argument), index, i);
    } else if (next != argument) {
      copy_into(argument, next);
      wrote = true;
    }
  }
  if (wrote) barrier();
  if (fetching != nullptr) {
    for (const PrefetchedLoad& load : fetching->loads) {
      if (load.issue_after != body.nodes.size() - 1) continue;  // read by the yield's copies
      if (!wrote) barrier();
      fetch_ahead(node, load, next_index);
    }
  }
  indent_ -= 2;
  line("}}");
  for (std::size_t i = 0; i < carried; ++i) {
    const ir::ValueId argument = body.arguments[i + 1];
    if (kernel_.type_of(argument).is_scalar()) {
      line("const {} {} = {};", compute_type(kernel_.type_of(argument).dtype), var(node.results[i]), var(argument));
    }
  }
}

}  // namespace pto::cuda::codegen
