#include "frontend/cuda_target.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <optional>

#include "core/error.hpp"
#include "core/kernel_abi.hpp"
#include "frontend/compiled_tasks.hpp"
#include "frontend/device_enumeration.hpp"
#include "frontend/program.hpp"
#include "frontend/task_recipes.hpp"
#include "runtime/arg_slot.hpp"
#include "runtime/cuda/cuda_kernel.hpp"
#include "runtime/cuda/device.hpp"
#include "runtime/cuda/nvrtc_compiler.hpp"

namespace pto {

namespace {

// Every schedule option the GPU cannot honour is an error naming it (docs/workloads.md).
void check_schedule(const Workload& workload) {
  const Schedule& s = workload.schedule();
  const auto reject = [&](const std::string& option, const std::string& why) {
    throw Error(
        fmt::format("workload '{}': {} cannot be honoured by Target::cuda(): {}", workload.name(), option, why));
  };
  if (s.dispatch.kind == Dispatch::Kind::affinity || s.dispatch.kind == Dispatch::Kind::hash) {
    reject(fmt::format("{}(...)", sched::name(s.dispatch.kind)),
           "CTAs cannot be placed on chosen multiprocessors; use Dispatch::work_steal() (a persistent kernel) or "
           "Dispatch::round_robin() (one grid per kernel instance)");
  }
  if (s.ready.kind == Ready::Kind::priority) {
    reject("Ready::priority()",
           "workload tasks carry no priorities; use Ready::work_steal() (longest task first) or Ready::fifo() "
           "(enumeration order)");
  }
  if (s.window.unit != Window::Unit::unbounded) {
    reject("a bounded Window",
           "the launches of one execution are queued at once; bound the tasks per launch with Timing::batched(n)");
  }
  if (s.start_given && s.start.kind == Start::Kind::threshold) {
    reject(fmt::format("Start::threshold({})", s.start.threshold_tasks),
           "launches are queued once the workload is enumerated; use Start::after_orchestration() or leave Start out");
  }
  if (s.pools.threads != 0) {
    reject(fmt::format("Pools::workers({})", s.pools.threads), "worker threads belong to the CPU targets");
  }
  if (s.trace.enabled) {
    reject("Trace::on()", "per-task times are not recorded on the GPU; stats() has the launches and device time");
  }
}

// Per node of the execution's TaskList: its launch level and unit.
struct Placement {
  int level = 0;  // tasks: the launch level; joins: the level their followers start at
  int unit = -1;  // tasks: the launch
};

// One launch: tasks of one level (and one kernel, for grid launches), in claim order.
struct Unit {
  int level = 0;
  int kernel = -1;  // -1: the persistent kernel
  std::vector<TaskId> tasks;
  int stream = 0;
  std::size_t slot_offset = 0;       // in ArgSlots, into the slot buffer
  std::size_t kernel_of_offset = 0;  // in ints, into the kernel_of buffer (persistent)
  // Device enumeration: a statement's task slots, filled on the device (`tasks` stays empty).
  bool on_device = false;
  int statement = -1;  // its top-level statement
  std::int64_t device_slots = 0;
  std::int64_t device_tile_bytes = 0;
  std::int64_t task_count() const { return on_device ? device_slots : static_cast<std::int64_t>(tasks.size()); }
};

// A host tensor's copy on the device, kept across executions (by host address).
struct Mirror {
  Tensor tensor;  // the tensor of the last execution that used it
  cuda::DeviceBuffer buffer;
  bool used = false;     // by this execution
  bool written = false;  // by this execution
};

template <typename T>
void grow(std::optional<cuda::DeviceBuffer>& buffer, const std::shared_ptr<cuda::Device>& device, std::size_t count) {
  const std::size_t bytes = std::max<std::size_t>(count * sizeof(T), 1);
  if (!buffer || buffer->bytes() < bytes) buffer.emplace(device, bytes);
}

}  // namespace

struct CudaTarget::State {
  Workload workload;
  CompiledTasks compiled;
  std::shared_ptr<cuda::Device> device;
  std::vector<std::unique_ptr<cuda::CudaKernel>> kernels;  // by CompiledTasks::instances() index
  std::unique_ptr<cuda::PersistentCudaKernel> persistent;
  std::vector<cuda::Stream> streams;
  std::vector<cuda::Event> unit_done;  // one per unit, grown as needed
  std::optional<cuda::Event> inputs_ready, all_done;
  std::map<const void*, Mirror> mirrors;                              // by host address
  std::optional<cuda::DeviceBuffer> argument_buffer, control_buffer;  // argument_buffer: slots, then kernel_of
  std::optional<cuda::PinnedBuffer> staging;                          // argument_buffer's host side
  std::size_t kernel_of_base = 0;                                     // bytes into argument_buffer
  std::size_t argument_bytes = 0;                                     // this execution's
  std::optional<cuda::PinnedBuffer> fault_staging;                    // the fault records, read back
  std::optional<cuda::Event> fork;                                    // the other streams start after the argument copy
  // Graphs::on(): the captured execution and the shape it was captured with.
  std::optional<cuda::Graph> graph;
  std::vector<std::int64_t> graph_key, graph_topology_key;
  std::vector<std::int64_t> shape_now;  // this execution's shape (execute()'s scratch)
  // Device enumeration (frontend/device_enumeration.hpp), when the workload allows it.
  std::optional<DeviceEnumeration> on_device;
  std::unique_ptr<cuda::Module> enumeration_module;
  CUfunction enumerate_function = nullptr, order_function = nullptr;
  std::vector<std::int64_t> kernel_tile_bytes;  // per instance
  DeviceEnumeration::Execution device_execution;
  bool device_enumerated = false;  // this execution
  SizeBindings device_sizes;       // this execution's, for the reference enumerator's error
  std::optional<cuda::DeviceBuffer> task_bytes_buffer, order_buffer;
  // The enumeration's input block (header and tables), in page-locked memory that the
  // enumeration kernels read through its device mapping: no copy to queue (or capture)
  // before them.
  std::optional<cuda::PinnedBuffer> enumeration_inputs;
  // The enumeration's counters sit in the control block after the units' fault records and
  // claim counters: one reset and one read-back for both.
  std::size_t counters_offset = 0;
  std::size_t control_bytes = 0;  // of the control block, this execution's layout
  CUdeviceptr counters_address() const { return control_buffer->address() + counters_offset; }
  // Whether the control block is all zeros on the device (the last execution's publishing
  // CTA zeroed it, PersistentPublish), and whether this execution's own work resets it (it
  // has no publishing CTA): otherwise a block not known to be zero is reset before the
  // work, outside any captured graph, so that a graph's shape does not depend on it.
  bool control_zeroed = false;
  bool reset_control = true;
  std::vector<std::optional<cuda::DeviceBuffer>> scratch;  // per stream

  // The execution in flight.
  TaskList list;
  std::vector<Placement> placement;  // per node
  struct GroupedTask {
    int group;  // level * kernel slots + kernel
    std::int64_t bytes;
    TaskId id;
  };
  std::vector<GroupedTask> grouped;  // plan_units' scratch
  std::vector<Unit> units;
  std::vector<KernelFault> faults;
  bool running = false;

  explicit State(const Workload& w) : workload(w), compiled(workload) {}

  bool persistent_dispatch() const { return workload.schedule().dispatch.kind == Dispatch::Kind::work_steal; }

  std::size_t params_of(const TaskList::Node& node) const {
    return compiled.instances()[static_cast<std::size_t>(node.kernel)]->ir().params.size();
  }
  std::span<const ArgSlot> slots_of(const TaskList::Node& node) const {
    return {list.slots.data() + node.first_slot, params_of(node)};
  }

  // ---- after enumeration ------------------------------------------------------------------

  // Host tensors the tasks view get their device copies, and the tasks' slots point there.
  void place_host_tensors() {
    const std::vector<Tensor>& tensors = compiled.tensors();
    std::vector<Mirror*> mirror_of_tensor(tensors.size(), nullptr);
    for (std::size_t t = 0; t < tensors.size(); ++t) {
      if (list.used[t] == 0 || tensors[t].on_device()) continue;
      Mirror& mirror = mirror_of(tensors[t]);
      if (list.written[t] != 0) mirror.written = true;
      mirror_of_tensor[t] = &mirror;
    }
    check_mirrors_disjoint();
    if (std::all_of(mirror_of_tensor.begin(), mirror_of_tensor.end(), [](const Mirror* m) { return m == nullptr; }))
      return;  // device tensors only: the slots already hold device addresses
    for (const TaskList::Node& node : list.nodes) {
      if (node.kernel < 0) continue;
      const std::vector<int>& tensor_of_arg = compiled.site_tensors(node.site);
      ArgSlot* slots = list.slots.data() + node.first_slot;
      for (std::size_t i = 0; i < tensor_of_arg.size(); ++i) {
        if (tensor_of_arg[i] < 0) continue;
        const Mirror* mirror = mirror_of_tensor[static_cast<std::size_t>(tensor_of_arg[i])];
        if (mirror == nullptr) continue;
        const auto offset =
            static_cast<const std::byte*>(slots[i].data) - static_cast<const std::byte*>(mirror->tensor.data());
        slots[i].data = static_cast<std::byte*>(mirror->buffer.pointer()) + offset;
      }
    }
  }

  // A task's level is the length of the longest dependency chain before it.
  void place_levels() {
    placement.assign(list.nodes.size(), Placement{});
    for (std::size_t i = 0; i < list.nodes.size(); ++i) {
      const TaskList::Node& node = list.nodes[i];
      int level = 0;
      for (std::int64_t a = node.first_after; a < node.end_after; ++a) {
        const auto dep = static_cast<std::size_t>(list.after[static_cast<std::size_t>(a)]);
        level = std::max(level, placement[dep].level + (list.nodes[dep].kernel >= 0 ? 1 : 0));
      }
      placement[i].level = level;
    }
  }

  Mirror& mirror_of(const Tensor& tensor) {
    const auto bytes = static_cast<std::size_t>(tensor.footprint_bytes());
    auto found = mirrors.find(tensor.data());
    if (found != mirrors.end() && found->second.used) {
      if (found->second.tensor.footprint_bytes() != tensor.footprint_bytes())
        throw_overlap(found->second.tensor, tensor);
      return found->second;
    }
    if (found == mirrors.end() || found->second.buffer.bytes() < bytes) {
      found = mirrors.insert_or_assign(tensor.data(), Mirror{tensor, cuda::DeviceBuffer(device, bytes)}).first;
    }
    found->second.tensor = tensor;
    found->second.used = true;
    return found->second;
  }

  [[noreturn]] static void throw_overlap(const Tensor& a, const Tensor& b) {
    throw Error(fmt::format(
        "host tensors '{}' and '{}' overlap in memory; the CUDA target gives each host tensor its own device copy, "
        "so writes through one would not be seen through the other: use one tensor and views of it",
        a.name(), b.name()));
  }

  // Host tensors whose memory overlaps cannot be mirrored separately.
  void check_mirrors_disjoint() const {
    const Mirror* previous = nullptr;
    for (const auto& [address, mirror] : mirrors) {  // ordered by address
      if (!mirror.used) continue;
      if (previous != nullptr &&
          static_cast<const std::byte*>(previous->tensor.data()) + previous->tensor.footprint_bytes() >
              static_cast<const std::byte*>(address)) {
        throw_overlap(previous->tensor, mirror.tensor);
      }
      previous = &mirror;
    }
  }

  // ---- planning ---------------------------------------------------------------------------

  void plan_units() {
    const Schedule& schedule = workload.schedule();
    // Groups of (level, kernel), kernel -1 under work_steal, in (level, kernel) order; each
    // group's tasks in enumeration order, then longest first under Ready::work_steal.
    const int kernel_slots = persistent_dispatch() ? 1 : static_cast<int>(kernels.size());
    grouped.clear();
    for (std::size_t i = 0; i < list.nodes.size(); ++i) {
      const TaskList::Node& node = list.nodes[i];
      if (node.kernel < 0) continue;
      const int group = placement[i].level * kernel_slots + (persistent_dispatch() ? 0 : node.kernel);
      grouped.push_back({group, node.bytes, static_cast<TaskId>(i)});
    }
    const bool longest_first = schedule.ready.kind == Ready::Kind::work_steal;
    // Unique keys (the id breaks ties), so an unstable sort gives a stable order.
    std::sort(grouped.begin(), grouped.end(), [&](const GroupedTask& a, const GroupedTask& b) {
      if (a.group != b.group) return a.group < b.group;
      if (longest_first && a.bytes != b.bytes) return a.bytes > b.bytes;
      return a.id < b.id;
    });
    const std::size_t batch = schedule.timing.kind == Timing::Kind::batched
                                  ? static_cast<std::size_t>(std::max<std::int64_t>(schedule.timing.batch, 1))
                                  : std::numeric_limits<std::size_t>::max();
    const std::size_t lanes = streams.size();
    for (std::size_t begin = 0; begin < grouped.size();) {
      std::size_t end = begin;
      while (end < grouped.size() && grouped[end].group == grouped[begin].group && end - begin < batch) ++end;
      Unit unit;
      unit.level = grouped[begin].group / kernel_slots;
      unit.kernel = persistent_dispatch() ? -1 : grouped[begin].group % kernel_slots;
      unit.stream = static_cast<int>(units.size() % lanes);
      for (std::size_t t = begin; t < end; ++t) {
        unit.tasks.push_back(grouped[t].id);
        placement[static_cast<std::size_t>(grouped[t].id)].unit = static_cast<int>(units.size());
      }
      units.push_back(std::move(unit));
      begin = end;
    }
  }

  // For every unit, the units on other streams it must wait for.
  std::vector<std::vector<int>> unit_dependencies() const {
    // The units a join completes through: those of what it joins (a task: its own unit).
    std::vector<std::vector<int>> through_join(list.nodes.size());
    std::vector<std::vector<int>> waits(units.size());
    std::vector<int> before;
    for (std::size_t i = 0; i < list.nodes.size(); ++i) {
      const TaskList::Node& node = list.nodes[i];
      before.clear();
      for (std::int64_t a = node.first_after; a < node.end_after; ++a) {
        const auto dep = static_cast<std::size_t>(list.after[static_cast<std::size_t>(a)]);
        if (list.nodes[dep].kernel >= 0) {
          before.push_back(placement[dep].unit);
        } else {
          before.insert(before.end(), through_join[dep].begin(), through_join[dep].end());
        }
      }
      std::sort(before.begin(), before.end());
      before.erase(std::unique(before.begin(), before.end()), before.end());
      if (node.kernel < 0) {
        through_join[i] = before;
        continue;
      }
      const int unit = placement[i].unit;
      auto& unit_waits = waits[static_cast<std::size_t>(unit)];
      for (const int dep_unit : before) {
        if (units[static_cast<std::size_t>(dep_unit)].stream != units[static_cast<std::size_t>(unit)].stream)
          unit_waits.push_back(dep_unit);
      }
    }
    for (auto& unit_waits : waits) {
      std::sort(unit_waits.begin(), unit_waits.end());
      unit_waits.erase(std::unique(unit_waits.begin(), unit_waits.end()), unit_waits.end());
    }
    return waits;
  }

  // ---- launching --------------------------------------------------------------------------

  // Every launch's task arguments, staged for one copy from page-locked memory: the units'
  // ArgSlots (padded to the persistent kernel's stride), then the persistent units' kernel
  // indices. Device buffers grow here, before anything is queued (or captured).
  void stage_arguments() {
    const std::size_t stride = persistent ? static_cast<std::size_t>(persistent->generated().slots_per_task) : 0;
    std::size_t slot_count = 0, kernel_count = 0;
    for (Unit& unit : units) {
      unit.slot_offset = slot_count;
      unit.kernel_of_offset = kernel_count;
      if (unit.kernel < 0) {
        slot_count += unit.tasks.size() * stride;
        kernel_count += unit.tasks.size();
      } else {
        slot_count += unit.tasks.size() * params_of(list.nodes[static_cast<std::size_t>(unit.tasks.front())]);
      }
    }
    kernel_of_base = slot_count * sizeof(ArgSlot);
    const std::size_t bytes = kernel_of_base + kernel_count * sizeof(int);
    if (!staging || staging->bytes() < bytes) staging.emplace(device, std::max<std::size_t>(bytes, 1) * 2);
    auto* slots = static_cast<ArgSlot*>(staging->data());
    auto* kernel_of = reinterpret_cast<int*>(static_cast<std::byte*>(staging->data()) + kernel_of_base);
    for (const Unit& unit : units) {
      ArgSlot* out = slots + unit.slot_offset;
      for (std::size_t t = 0; t < unit.tasks.size(); ++t) {
        const TaskList::Node& node = list.nodes[static_cast<std::size_t>(unit.tasks[t])];
        const std::span<const ArgSlot> task_slots = slots_of(node);
        std::copy(task_slots.begin(), task_slots.end(), out);
        if (unit.kernel < 0) {
          std::fill(out + task_slots.size(), out + stride, ArgSlot{});  // pad to the persistent kernel's stride
          out += stride;
          kernel_of[unit.kernel_of_offset + t] = node.kernel;
        } else {
          out += task_slots.size();
        }
      }
    }
    argument_bytes = bytes;
    grow<std::byte>(argument_buffer, device, bytes);
    grow_control(0);
  }

  // The control block (one fault record per unit, then one claim counter per unit, the
  // persistent CTAs' finished count, then `counter_bytes` of enumeration counters at
  // counters_offset) and the page-locked memory synchronize() reads it back into.
  void grow_control(std::size_t counter_bytes) {
    counters_offset = (finished_offset() + sizeof(unsigned) + 7) / 8 * 8;
    control_bytes = counters_offset + (counter_bytes + 7) / 8 * 8;
    const CUdeviceptr before = control_buffer ? control_buffer->address() : 0;
    grow<std::byte>(control_buffer, device, control_bytes);
    if (control_buffer->address() != before) control_zeroed = false;  // new memory
    reset_control = !kernels_publish();
    const std::size_t read_back = std::max<std::size_t>(std::max(read_back_bytes(), control_bytes), 1);
    if (!fault_staging || fault_staging->bytes() < read_back) fault_staging.emplace(device, read_back * 2);
  }

  // The argument copy and the control block's reset, queued (or captured) on `first`.
  void enqueue_arguments(const cuda::Stream& first) {
    argument_buffer->upload(staging->data(), argument_bytes, first);
    if (reset_control) control_buffer->fill_zero(first);
  }

  CUdeviceptr fault_address(std::size_t unit) const { return control_buffer->address() + unit * sizeof(KernelFault); }
  CUdeviceptr counter_address(std::size_t unit) const {
    return control_buffer->address() + units.size() * sizeof(KernelFault) + unit * sizeof(int);
  }
  std::size_t finished_offset() const { return units.size() * (sizeof(KernelFault) + sizeof(int)); }
  CUdeviceptr finished_address() const { return control_buffer->address() + finished_offset(); }
  // The CTAs of this execution's publishing launches (PersistentPublish::ctas).
  unsigned published_ctas = 0;

  // Whether the last CTA of the persistent launches copies the control block to the host
  // (PersistentPublish): when every unit is one, so that no copy follows them.
  bool kernels_publish() const {
    return !units.empty() && std::all_of(units.begin(), units.end(), [](const Unit& unit) { return unit.kernel < 0; });
  }
  // Whether a captured graph ends with its own end event and a copy of the control block
  // (some launch does not publish it).
  bool end_event_in_graph() const { return !units.empty() && !kernels_publish(); }

  cuda::PersistentPublish publish() const {
    cuda::PersistentPublish out;
    if (!kernels_publish()) return out;
    for (const Unit& unit : units) {
      const unsigned ctas = persistent->ctas(device, static_cast<int>(unit.task_count()), tile_bytes_of(unit));
      if (__builtin_add_overflow(out.ctas, ctas, &out.ctas))
        throw Error(fmt::format("cuda target: {} launches need more than 2^32 - 1 CTAs in all", units.size()));
    }
    if (control_bytes / 8 > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      throw Error(fmt::format("cuda target: a control block of {} bytes for {} launches", control_bytes, units.size()));
    out.finished = finished_address();
    out.control = control_buffer->address();
    out.control_words = static_cast<int>(control_bytes / 8);
    out.to = fault_staging->device_address();
    return out;
  }

  // Global tile memory for kernels whose tiles exceed shared memory: one buffer per stream,
  // since launches on different streams may run at once.
  void prepare_scratch() {
    std::vector<std::size_t> need(streams.size(), 0);
    for (const Unit& unit : units) {
      const std::size_t bytes =
          unit.kernel < 0
              ? persistent->scratch_bytes(device)
              : kernels[static_cast<std::size_t>(unit.kernel)]->scratch_bytes(static_cast<int>(unit.task_count()));
      auto& stream_need = need[static_cast<std::size_t>(unit.stream)];
      stream_need = std::max(stream_need, bytes);
    }
    for (std::size_t s = 0; s < streams.size(); ++s) {
      if (need[s] > 0) grow<std::byte>(scratch[s], device, need[s]);
    }
  }

  // The bytes of the control block synchronize() reads: the fault records, and with device
  // enumeration everything up to the end of its counters.
  std::size_t read_back_bytes() const {
    return device_enumerated ? counters_offset + device_execution.counter_bytes : units.size() * sizeof(KernelFault);
  }

  // The arguments, then every launch: other streams fork from `first` and rejoin it at the
  // end, so that all of it can be one graph captured on `first`. A captured graph also
  // records the start event and reads the control block back itself (unless the kernels
  // publish it: then the end event follows the launch, see execute()), so that a replay is
  // one call on the host.
  void enqueue_launches(const std::vector<std::vector<int>>& waits, bool captured) {
    const cuda::Stream& first = streams[0];
    if (captured) inputs_ready->record_in_graph(first);
    if (device_enumerated) {
      enqueue_device_enumeration(first);
    } else {
      enqueue_arguments(first);
    }
    fork->record(first);
    for (std::size_t i = 1; i < streams.size(); ++i) streams[i].wait(*fork);
    const cuda::PersistentPublish published = publish();
    published_ctas = published.ctas;
    for (std::size_t u = 0; u < units.size(); ++u) {
      const Unit& unit = units[u];
      const cuda::Stream& stream = streams[static_cast<std::size_t>(unit.stream)];
      for (const int dep : waits[u]) stream.wait(unit_done[static_cast<std::size_t>(dep)]);
      const CUdeviceptr scratch_address = scratch[static_cast<std::size_t>(unit.stream)]
                                              ? scratch[static_cast<std::size_t>(unit.stream)]->address()
                                              : 0;
      const CUdeviceptr slots = argument_buffer->address() + unit.slot_offset * sizeof(ArgSlot);
      const int count = static_cast<int>(unit.task_count());
      if (unit.kernel < 0) {
        const CUdeviceptr order = unit.on_device ? order_buffer->address() + unit.kernel_of_offset * sizeof(int) : 0;
        const CUdeviceptr abort = unit.on_device ? counters_address() : 0;
        persistent->launch(device, slots,
                           argument_buffer->address() + kernel_of_base + unit.kernel_of_offset * sizeof(int), count,
                           tile_bytes_of(unit), counter_address(u), scratch_address, fault_address(u), stream, order,
                           abort, published);
      } else {
        kernels[static_cast<std::size_t>(unit.kernel)]->launch(device, slots, count, scratch_address, fault_address(u),
                                                               stream);
      }
      unit_done[u].record(stream);
    }
    for (std::size_t u = 0; u < units.size(); ++u) {
      if (units[u].stream != 0) first.wait(unit_done[u]);
    }
    if (captured && end_event_in_graph()) {
      all_done->record_in_graph(first);  // before the copy, as in eager mode, which copies in synchronize()
      control_buffer->download(fault_staging->data(), read_back_bytes(), first);
    }
  }

  // The graph's nodes and edges: units, their streams and kernels, the waits between them.
  std::vector<std::int64_t> graph_topology(const std::vector<std::vector<int>>& waits) const {
    std::vector<std::int64_t> topology = {static_cast<std::int64_t>(units.size()), device_enumerated ? 1 : 0};
    for (std::size_t u = 0; u < units.size(); ++u) {
      topology.insert(topology.end(), {units[u].stream, units[u].kernel, static_cast<std::int64_t>(waits[u].size())});
      topology.insert(topology.end(), waits[u].begin(), waits[u].end());
    }
    return topology;
  }

  // What a captured graph depends on besides the argument bytes: if equal, the graph
  // replays as it is.
  // Written into `shape`, whose capacity a replay reuses.
  void graph_shape(const std::vector<std::vector<int>>& waits, std::vector<std::int64_t>& shape) const {
    const auto address = [](const std::optional<cuda::DeviceBuffer>& buffer) {
      return buffer ? static_cast<std::int64_t>(buffer->address()) : 0;
    };
    shape.assign({static_cast<std::int64_t>(units.size()), address(argument_buffer),
                  static_cast<std::int64_t>(argument_bytes), static_cast<std::int64_t>(kernel_of_base),
                  staging ? static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(staging->data())) : 0,
                  address(control_buffer), static_cast<std::int64_t>(control_buffer->bytes()),
                  static_cast<std::int64_t>(control_bytes),
                  static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(fault_staging->data())),
                  static_cast<std::int64_t>(read_back_bytes())});
    for (const auto& buffer : scratch) shape.push_back(address(buffer));
    if (device_enumerated) {
      shape.insert(shape.end(),
                   {static_cast<std::int64_t>(enumeration_inputs->device_address()), address(task_bytes_buffer),
                    address(order_buffer), static_cast<std::int64_t>(counters_offset), device_execution.slots});
    }
    for (std::size_t u = 0; u < units.size(); ++u) {
      const Unit& unit = units[u];
      shape.insert(shape.end(),
                   {unit.stream, unit.kernel, unit.task_count(), static_cast<std::int64_t>(unit.slot_offset),
                    static_cast<std::int64_t>(unit.kernel_of_offset), tile_bytes_of(unit),
                    static_cast<std::int64_t>(waits[u].size())});
      shape.insert(shape.end(), waits[u].begin(), waits[u].end());
    }
  }

  // The tile space the unit's tasks need: the largest of their kernels'.
  std::int64_t tile_bytes_of(const Unit& unit) const {
    if (unit.on_device) return unit.device_tile_bytes;
    std::int64_t bytes = 0;
    for (const TaskId id : unit.tasks) {
      const int kernel = list.nodes[static_cast<std::size_t>(id)].kernel;
      bytes = std::max(bytes, kernels[static_cast<std::size_t>(kernel)]->generated().tile_bytes);
    }
    return bytes;
  }

  // ---- after the launches -----------------------------------------------------------------

  // Waits for everything queued, dropping errors (the destructor, and a failed execute()
  // whose own error is the one reported).
  void wait_quietly() const noexcept {
    for (const cuda::Stream& stream : streams) {
      try {
        stream.synchronize();
      } catch (...) {  // NOLINT(bugprone-empty-catch): see above
      }
    }
  }

  // ---- device enumeration ---------------------------------------------------------------

  // One unit per statement with task slots: its level from Deps::stages, the streams round
  // robin; a unit waits for the units of the last non-empty level before its own.
  std::vector<std::vector<int>> plan_device_units() {
    const std::size_t stride = static_cast<std::size_t>(persistent->generated().slots_per_task);
    for (std::size_t index = 0; index < device_execution.statements.size(); ++index) {
      const DeviceEnumeration::Statement& statement = device_execution.statements[index];
      if (statement.slots == 0) continue;
      Unit unit;
      unit.level = statement.level;
      unit.on_device = true;
      unit.statement = static_cast<int>(index);
      unit.device_slots = statement.slots;
      unit.device_tile_bytes = statement.tile_bytes;
      unit.stream = static_cast<int>(units.size() % streams.size());
      unit.slot_offset = static_cast<std::size_t>(statement.first) * stride;
      unit.kernel_of_offset = static_cast<std::size_t>(statement.first);
      units.push_back(std::move(unit));
    }
    std::vector<std::vector<int>> waits(units.size());
    std::vector<int> previous, current;
    int level = units.empty() ? 0 : units.front().level;
    for (std::size_t u = 0; u < units.size(); ++u) {
      if (units[u].level != level) {
        previous = std::move(current);
        current.clear();
        level = units[u].level;
      }
      for (const int before : previous) {
        if (units[static_cast<std::size_t>(before)].stream != units[u].stream) waits[u].push_back(before);
      }
      current.push_back(static_cast<int>(u));
    }
    return waits;
  }

  // The input block written to page-locked memory (the previous execution, which read it,
  // has finished: execute() needs synchronize() first) and every device buffer grown,
  // before anything is queued (or captured).
  void stage_device_inputs(const SizeBindings& sizes) {
    const DeviceEnumeration::Execution& e = device_execution;
    if (!enumeration_inputs || enumeration_inputs->bytes() < e.input_bytes) {
      const std::size_t bytes = std::max<std::size_t>(e.input_bytes, 1);  // twice that, room to grow, where it fits
      enumeration_inputs.emplace(device, bytes <= std::numeric_limits<std::size_t>::max() / 2 ? bytes * 2 : bytes);
    }
    on_device->write_inputs(compiled, sizes, e, static_cast<std::byte*>(enumeration_inputs->data()),
                            enumeration_inputs->device_address());
    const auto total = static_cast<std::size_t>(e.slots);
    const std::size_t stride = static_cast<std::size_t>(persistent->generated().slots_per_task);
    kernel_of_base = total * stride * sizeof(ArgSlot);
    argument_bytes = kernel_of_base + total * sizeof(int);
    grow<std::byte>(argument_buffer, device, argument_bytes);
    grow<std::int64_t>(task_bytes_buffer, device, total);
    grow<int>(order_buffer, device, total);
    grow_control(e.counter_bytes);
  }

  // The counters' and control block's reset, the enumeration and the claim order, queued
  // (or captured) on `first`.
  void enqueue_device_enumeration(const cuda::Stream& first) {
    const DeviceEnumeration::Execution& e = device_execution;
    if (reset_control) control_buffer->fill_zero(first);
    if (e.slots == 0) return;
    CUdeviceptr in = enumeration_inputs->device_address(), slots = argument_buffer->address();
    CUdeviceptr kernel_of = slots + kernel_of_base, bytes = task_bytes_buffer->address();
    CUdeviceptr counters = counters_address(), order = order_buffer->address();
    void* enumerate_parameters[] = {&in, &slots, &kernel_of, &bytes, &counters};
    cuda::LaunchShape shape;
    shape.block = 256;
    shape.grid = static_cast<unsigned>(std::min<std::int64_t>((e.slots + 255) / 256, device->multiprocessors() * 8));
    cuda::launch(*device, enumerate_function, shape, first, enumerate_parameters, "the device enumeration");
    void* order_parameters[] = {&in, &bytes, &order};
    cuda::LaunchShape order_shape;
    order_shape.block = 1024;
    order_shape.grid = static_cast<unsigned>(e.statements.size());
    cuda::launch(*device, order_function, order_shape, first, order_parameters, "the device enumeration's order");
  }

  // A fault of a device-enumerated task: its slots and kernel are read back from the device.
  void raise_device_fault(const Unit& unit, const KernelFault& fault) const {
    const cuda::Stream& first = streams[0];
    const std::size_t stride = static_cast<std::size_t>(persistent->generated().slots_per_task);
    std::vector<ArgSlot> task_slots(stride);
    int kernel = -1;
    const auto task = static_cast<std::size_t>(fault.task);
    argument_buffer->download(task_slots.data(), stride * sizeof(ArgSlot), first,
                              (unit.slot_offset + task * stride) * sizeof(ArgSlot));
    argument_buffer->download(&kernel, sizeof(int), first,
                              kernel_of_base + (unit.kernel_of_offset + task) * sizeof(int));
    first.synchronize();
    if (kernel < 0 || static_cast<std::size_t>(kernel) >= kernels.size())
      throw InternalError(fmt::format("cuda target: a fault of task slot {} that holds no kernel", fault.task));
    const std::size_t params = compiled.instances()[static_cast<std::size_t>(kernel)]->ir().params.size();
    kernels[static_cast<std::size_t>(kernel)]->raise(fault, std::span<const ArgSlot>(task_slots.data(), params));
  }

  void raise_first_fault() const {
    for (std::size_t u = 0; u < units.size(); ++u) {
      const KernelFault& fault = faults[u];
      if (fault.code == 0) continue;
      const Unit& unit = units[u];
      if (fault.task < 0 || fault.task >= unit.task_count()) {
        throw InternalError(
            fmt::format("cuda target: a fault names task {} of a {}-task launch", fault.task, unit.task_count()));
      }
      if (unit.on_device) {
        raise_device_fault(unit, fault);
        continue;
      }
      const TaskList::Node& node =
          list.nodes[static_cast<std::size_t>(unit.tasks[static_cast<std::size_t>(fault.task)])];
      kernels[static_cast<std::size_t>(node.kernel)]->raise(fault, slots_of(node));
    }
  }
};

CudaTarget::CudaTarget(const Workload& workload, int device, ProgramStats& stats)
    : state_(std::make_unique<State>(workload)) {
  check_schedule(workload);
  State& s = *state_;
  s.device = cuda::Device::get(device);
  for_each_view(workload.statements(), [&](const View& view, const CallSite& site) {
    if (view.tensor().on_device() && view.tensor().device_ordinal() != s.device->ordinal()) {
      throw Error(
          fmt::format("call of '{}': tensor '{}' is in the memory of CUDA device {}, but the program runs on "
                      "device {}",
                      site.kernel_name, view.tensor().name(), view.tensor().device_ordinal(), s.device->ordinal()),
          site.where);
    }
  });
  std::vector<const cuda::CudaKernel*> bodies;
  for (const tl::KernelInstance* instance : s.compiled.instances()) {
    s.kernels.push_back(std::make_unique<cuda::CudaKernel>(*instance, s.device->arch()));
    bodies.push_back(s.kernels.back().get());
    ++stats.kernels_compiled;
  }
  stats.kernels = static_cast<std::int64_t>(s.kernels.size());
  if (s.persistent_dispatch() && !bodies.empty()) {
    s.persistent = std::make_unique<cuda::PersistentCudaKernel>(bodies, s.device->arch());
    ++stats.kernels_compiled;
    if (DeviceEnumeration::unsupported(workload, s.compiled).empty()) {
      s.on_device.emplace(workload, s.compiled, s.persistent->generated().slots_per_task);
      cuda::GeneratedKernel generated;
      generated.source = s.on_device->source();
      generated.symbol = s.on_device->enumerate_symbol();
      const cuda::Cubin cubin =
          cuda::NvrtcCompiler::instance().compile(generated, "device enumeration", s.device->arch());
      ++stats.kernels_compiled;
      s.enumeration_module = std::make_unique<cuda::Module>(s.device, cubin.image, "the device enumeration");
      s.enumerate_function = s.enumeration_module->function(s.on_device->enumerate_symbol());
      s.order_function = s.enumeration_module->function(s.on_device->order_symbol());
      for (const auto& kernel : s.kernels) s.kernel_tile_bytes.push_back(kernel->generated().tile_bytes);
    }
  }
  const int lanes = std::max(workload.schedule().streams, 1);
  for (int i = 0; i < lanes; ++i) s.streams.emplace_back(s.device);
  s.scratch.resize(s.streams.size());
  s.inputs_ready.emplace(s.device);
  s.all_done.emplace(s.device);
  s.fork.emplace(s.device);
}

CudaTarget::~CudaTarget() {
  if (state_ && state_->running) state_->wait_quietly();
}

void CudaTarget::execute(const SizeBindings& sizes, ProgramStats& stats) {
  State& s = *state_;
  s.units.clear();
  for (auto& [address, mirror] : s.mirrors) mirror.used = mirror.written = false;
  const auto start = std::chrono::steady_clock::now();
  s.device_enumerated = false;
  if (s.on_device) {
    const auto planned = s.on_device->plan(s.compiled, sizes, s.kernel_tile_bytes, s.device_execution);
    if (planned == DeviceEnumeration::Planned::failed) throw_enumeration_error(s.workload, sizes);
    s.device_enumerated = planned == DeviceEnumeration::Planned::on_device;
  }
  std::vector<std::vector<int>> waits;
  if (s.device_enumerated) {
    s.device_sizes = sizes;
    waits = s.plan_device_units();
  } else {
    if (!s.compiled.enumerate(sizes, s.list)) throw_enumeration_error(s.workload, sizes);
  }
  const auto enumerated = std::chrono::steady_clock::now();
  stats.enumerate_ms = std::chrono::duration<double, std::milli>(enumerated - start).count();
  if (!s.device_enumerated) {
    s.place_host_tensors();
    stats.tasks = s.list.tasks;
    stats.bytes = s.list.bytes;
    s.place_levels();
    s.plan_units();
  }

  // From here on work is queued: a failure waits for what was queued before rethrowing.
  s.running = true;
  try {
    // Inputs: every host tensor the tasks touch goes over (outputs too: a task may write
    // part of one and the rest must keep the host's values), then the arguments.
    const cuda::Stream& first = s.streams[0];
    stats.transfer_bytes = 0;
    for (auto& [address, mirror] : s.mirrors) {
      if (!mirror.used) continue;
      const auto bytes = static_cast<std::size_t>(mirror.tensor.footprint_bytes());
      mirror.buffer.upload(mirror.tensor.data(), bytes, first);
      stats.transfer_bytes += static_cast<std::int64_t>(bytes);
    }
    if (s.device_enumerated) {
      s.stage_device_inputs(sizes);
    } else {
      s.stage_arguments();
    }
    s.prepare_scratch();
    if (s.kernels_publish()) {  // the publishing CTA writes it back: synchronize() checks it did
      const unsigned none = 0;
      std::memcpy(static_cast<std::byte*>(s.fault_staging->data()) + s.finished_offset(), &none, sizeof(none));
    }
    if (!s.reset_control && !s.control_zeroed) s.control_buffer->fill_zero(first);
    s.control_zeroed = false;  // until this execution has finished
    while (s.unit_done.size() < s.units.size()) s.unit_done.emplace_back(s.device);
    if (!s.device_enumerated) waits = s.unit_dependencies();
    if (!s.workload.schedule().graphs.enabled) {
      s.inputs_ready->record(first);
      s.enqueue_launches(waits, false);
    } else {
      // The same copies and launches as one CUDA graph: replayed as it is when the shape is
      // the one captured (only argument or table bytes changed), else captured again and
      // the executable graph updated in place (or instantiated, for a new topology).
      s.graph_shape(waits, s.shape_now);
      if (!s.graph || !s.graph->instantiated() || s.shape_now != s.graph_key) {
        if (!s.graph) s.graph.emplace(s.device);
        s.graph_key.clear();  // no graph matches until this capture has succeeded
        s.graph->begin_capture(first);
        try {
          s.enqueue_launches(waits, true);
        } catch (...) {
          s.graph->abandon_capture(first);
          throw;
        }
        // Another count of launches or other dependencies between them is another topology:
        // instantiate it rather than ask for an update the driver must refuse.
        std::vector<std::int64_t> topology = s.graph_topology(waits);
        const cuda::Graph::Captured captured = s.graph->end_capture(first, topology == s.graph_topology_key);
        s.graph_topology_key = std::move(topology);
        ++(captured == cuda::Graph::Captured::updated ? stats.graph_updates : stats.graph_captures);
        s.graph_key = s.shape_now;
      } else {
        ++stats.graph_replays;
      }
      s.graph->launch(first);  // which records the start event and reads the control block back
    }
    // The end event, queued while the device works (in a graph it would be a node the
    // launch call handles before the device starts) and here rather than in synchronize(),
    // so that the device time does not count the host's wait before it. A graph that
    // copies the control block back records it itself, before that copy.
    if (!s.workload.schedule().graphs.enabled || !s.end_event_in_graph()) s.all_done->record(first);
  } catch (...) {
    s.running = false;
    s.wait_quietly();
    throw;
  }

  stats.submit_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - enumerated).count();
  stats.device_enumerated = s.device_enumerated;
  stats.launches = static_cast<std::int64_t>(s.units.size());
  stats.edges = s.device_enumerated ? 0 : s.list.edges();  // device: counted in synchronize()
  stats.tasks_per_stream.assign(s.streams.size(), 0);
  if (!s.device_enumerated) {
    for (const Unit& unit : s.units) stats.tasks_per_stream[static_cast<std::size_t>(unit.stream)] += unit.task_count();
  }
  if (s.workload.schedule().streams == 0) stats.tasks_per_stream.clear();
  stats.tasks_per_worker.clear();
  stats.steals = 0;
}

void CudaTarget::synchronize(ProgramStats& stats) {
  State& s = *state_;
  if (!s.running) return;
  s.running = false;
  const cuda::Stream& first = s.streams[0];
  const bool graphs = s.workload.schedule().graphs.enabled;
  // The other streams rejoined the first at the end of the launches: copy results back.
  for (auto& [address, mirror] : s.mirrors) {
    if (!mirror.written) continue;
    const auto bytes = static_cast<std::size_t>(mirror.tensor.footprint_bytes());
    mirror.buffer.download(mirror.tensor.data(), bytes, first);
    stats.transfer_bytes += static_cast<std::int64_t>(bytes);
  }
  const std::size_t fault_bytes = s.units.size() * sizeof(KernelFault);
  // The persistent launches' last CTA wrote the control block to the staging memory itself;
  // with no launch it holds nothing of this execution.
  if (!graphs && !s.kernels_publish() && !s.units.empty())
    s.control_buffer->download(s.fault_staging->data(), s.read_back_bytes(), first);
  if (s.units.empty()) std::memset(s.fault_staging->data(), 0, s.read_back_bytes());
  first.synchronize();
  if (s.kernels_publish()) {
    // The publishing CTA copied the finished count it completed (execute() cleared it here).
    unsigned finished = 0;
    std::memcpy(&finished, static_cast<const std::byte*>(s.fault_staging->data()) + s.finished_offset(),
                sizeof(finished));
    if (finished != s.published_ctas) {
      throw InternalError(
          fmt::format("cuda target: no persistent CTA published the control block (it reads {} CTAs finished of {})",
                      finished, s.published_ctas));
    }
  }
  // Its publishing CTA zeroed the block, or nothing ran past the reset.
  s.control_zeroed = s.kernels_publish() || s.units.empty();
  s.faults.resize(s.units.size());
  std::memcpy(s.faults.data(), s.fault_staging->data(), fault_bytes);
  stats.device_ms = s.all_done->elapsed_since(*s.inputs_ready);
  if (s.device_enumerated) {
    const DeviceEnumeration::Counts counts =
        s.on_device->read_counts(static_cast<const std::byte*>(s.fault_staging->data()) + s.counters_offset);
    // A failed check ran nothing (the persistent launches read the flag first): the
    // reference enumerator names it, as the host path would have in execute().
    if (counts.failed) throw_enumeration_error(s.workload, s.device_sizes);
    stats.tasks = counts.tasks;
    stats.bytes = counts.bytes;
    stats.edges = stage_join_edges(s.workload.schedule().deps.kind, counts.per_statement);
    if (!stats.tasks_per_stream.empty()) {
      for (const Unit& unit : s.units)
        stats.tasks_per_stream[static_cast<std::size_t>(unit.stream)] +=
            counts.per_statement[static_cast<std::size_t>(unit.statement)];
    }
  }
  s.raise_first_fault();
}

}  // namespace pto
