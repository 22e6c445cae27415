#include "examples/flashinfer_decode/decode_program.hpp"

#include <fmt/format.h>

#include "frontend/tables.hpp"
#include "frontend/workload.hpp"

namespace flashinfer {

using namespace pto;

namespace {

template <typename T>
Tensor make_tensor(Device device, const std::string& name, DType dtype, std::vector<std::int64_t> shape,
                   const std::vector<T>& values) {
  Tensor tensor = device == Device::cuda ? Tensor::device(name, dtype, std::move(shape))
                                         : Tensor::host(name, dtype, std::move(shape));
  if (!values.empty()) tensor.copy_from(values);
  return tensor;
}

Tensor make_tensor(Device device, const std::string& name, DType dtype, std::vector<std::int64_t> shape) {
  return make_tensor(device, name, dtype, std::move(shape), std::vector<float>{});
}

std::vector<std::int32_t> narrow(const std::vector<std::int64_t>& values) {
  return {values.begin(), values.end()};  // fits: DecodeShape::validate bounds the token count
}

}  // namespace

DecodeAttention::DecodeAttention(const DecodeShape& shape, const Plan& plan, const DecodeInputs& inputs,
                                 const RunOptions& options) {
  const std::int64_t batch = shape.batch(), heads = shape.heads, d = shape.head_dim;
  const auto n = static_cast<std::int64_t>(plan.descriptors.size());
  const Device device = options.device;
  const bool paged = options.layout == KvLayout::paged;
  const std::int64_t page_size = options.page_size;

  inputs.check(shape);
  tables_ = std::make_unique<Tables>();
  tables_->descriptors = plan.descriptors;
  tables_->merges = merges_of(plan);
  tables_->token_offsets = narrow(shape.token_offsets());
  tables_->page_offsets = {0};
  const std::vector<MergeWork>& merge_list = tables_->merges;
  merges_ = static_cast<std::int64_t>(merge_list.size());
  kv_bytes_ = 2 * shape.total_tokens() * heads * d * 2;
  for (const WorkDescriptor& w : plan.descriptors) bytes_moved_ += (2 * w.kv_len + 1) * d * 2 + (d + 1) * 4;
  for (const MergeWork& m : merge_list) bytes_moved_ += (m.count + 1) * (d + 1) * 4;

  Tensor q = make_tensor(device, "q", DType::f16, {batch, heads, d}, inputs.q);
  o_ = make_tensor(device, "o", DType::f32, {batch, heads, d});
  lse_ = make_tensor(device, "lse", DType::f32, {batch, heads});
  // Partials: one row per descriptor (rows of whole (request, head)s stay unused).
  Tensor o_part = make_tensor(device, "o_part", DType::f32, {std::max<std::int64_t>(n, 1), d});
  Tensor lse_part = make_tensor(device, "lse_part", DType::f32, {std::max<std::int64_t>(n, 1), 1});
  Tensor k, v, block_table;
  if (paged) {
    PagedKv kv = make_paged(shape, inputs, page_size, options.seed);
    k = make_tensor(device, "k_pages", DType::f16, {kv.pages * page_size, heads, d}, kv.k_pool);
    v = make_tensor(device, "v_pages", DType::f16, {kv.pages * page_size, heads, d}, kv.v_pool);
    block_table = make_tensor(device, "block_table", DType::i32, {kv.pages, 1}, kv.block_table);
    tables_->page_offsets = narrow(kv.page_offsets);
  } else {
    k = make_tensor(device, "k", DType::f16, {shape.total_tokens(), heads, d}, inputs.k);
    v = make_tensor(device, "v", DType::f16, {shape.total_tokens(), heads, d}, inputs.v);
  }

  const tl::Family tiers = options.tiers ? *options.tiers
                                         : decode_tiers(options.layout, d, page_size,
                                                        device == Device::cuda ? TierTarget::gpu : TierTarget::cpu);
  const tl::KernelInstance merge = options.merge ? *options.merge : merge_partials(d);
  const IntArray first_token(tables_->token_offsets, "token_offsets");
  const IntArray first_page(tables_->page_offsets, "page_offsets");
  const DescriptorTable<WorkDescriptor> work(tables_->descriptors, "plan");
  const DescriptorTable<MergeWork> merges(merge_list, "merges");
  const Workload wl = workload("flashinfer_decode", [&](W& w) {
    w.parallel_for(DenseDyn(work), [&](Idx i) {
      auto desc = work[i];
      const Expr request = desc[&WorkDescriptor::request], head = desc[&WorkDescriptor::head];
      const Expr kv_len = desc[&WorkDescriptor::kv_len], kv_start = desc[&WorkDescriptor::kv_start];
      const auto call = [&](View out, View out_lse) {
        std::vector<CallArg> args{q[request][head]};
        if (paged) {
          const Expr pages = (kv_len + (page_size - 1)) / page_size;
          args.insert(args.end(), {k.at(1, head), v.at(1, head),
                                   block_table.rows(first_page[request] + kv_start / page_size, pages)});
        } else {
          const Expr first = first_token[request] + kv_start;
          args.insert(args.end(), {k.rows(first, kv_len).at(1, head), v.rows(first, kv_len).at(1, head)});
        }
        args.insert(args.end(), {kv_len, std::move(out), std::move(out_lse)});
        w.call(tiers, desc[&WorkDescriptor::tier], std::move(args));
      };
      const Expr whole = desc[&WorkDescriptor::flags] == (WorkDescriptor::first_chunk | WorkDescriptor::last_chunk);
      w.cond(
          whole, [&] { call(o_[request][head], lse_[request].slice(0, head, 1)); },
          [&] { call(o_part[i], lse_part[i]); });
    });
    if (!merge_list.empty()) {
      w.parallel_for(DenseDyn(merges), [&](Idx m) {
        auto merge_row = merges[m];
        const Expr request = merge_row[&MergeWork::request], head = merge_row[&MergeWork::head];
        const Expr first = merge_row[&MergeWork::first], count = merge_row[&MergeWork::count];
        w.call(merge, {o_part.rows(first, count), lse_part.rows(first, count), count, o_[request][head],
                       lse_[request].slice(0, head, 1)});
      });
    }
  });
  const Workload scheduled =
      wl.dispatch(Dispatch::work_steal())
          .streams(options.streams)
          .timing(Timing::immediate())
          .task_graph(Deps::stages(), Ready::work_steal(), options.cuda_graphs ? Graphs::on() : Graphs::off());
  program_.emplace(scheduled.compile(device == Device::cuda ? Target::cuda() : Target::cpu()));
}

void DecodeAttention::run() {
  program_->execute();
  program_->synchronize();
}

std::vector<float> DecodeAttention::o() const {
  return o_.to_vector<float>();
}

std::vector<float> DecodeAttention::lse() const {
  return lse_.to_vector<float>();
}

}  // namespace flashinfer
