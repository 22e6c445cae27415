#include "runtime/cuda/device.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>

namespace pto::cuda {

namespace {

constexpr std::size_t default_shared_limit = 48 * 1024;

std::string mib(std::size_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

}  // namespace

std::shared_ptr<Device> Device::get(int ordinal) {
  if (ordinal < 0) {
    const char* configured = std::getenv("PTO_CUDA_DEVICE");
    ordinal = 0;
    if (configured != nullptr && *configured != '\0') {
      char* end = nullptr;
      const long parsed = std::strtol(configured, &end, 10);
      if (*end != '\0' || parsed < 0) {
        throw Error(fmt::format("PTO_CUDA_DEVICE={}: use a device number (0, 1, ...)", configured));
      }
      ordinal = static_cast<int>(parsed);
    }
  }
  static std::mutex mutex;
  static std::map<int, std::shared_ptr<Device>> devices;
  std::lock_guard<std::mutex> guard(mutex);
  auto& device = devices[ordinal];
  if (!device) device = std::make_shared<Device>(Driver::system(), ordinal);
  return device;
}

Device::Device(std::shared_ptr<const Driver> driver, int ordinal) : driver_(std::move(driver)), ordinal_(ordinal) {
  const DriverApi& api = driver_->api();
  driver_->check(api.cuInit(0), "cuInit");
  int count = 0;
  driver_->check(api.cuDeviceGetCount(&count), "cuDeviceGetCount");
  if (count == 0) throw Error("no CUDA device: the driver reports none; CUDA targets need an NVIDIA GPU");
  if (ordinal < 0 || ordinal >= count) {
    throw Error(fmt::format("CUDA device {} does not exist: the driver reports {} device(s), numbered 0..{}", ordinal,
                            count, count - 1));
  }
  driver_->check(api.cuDeviceGet(&device_, ordinal), "cuDeviceGet");
  char name[256] = {};
  driver_->check(api.cuDeviceGetName(name, sizeof(name) - 1, device_), "cuDeviceGetName");
  name_ = name;
  int major = 0, minor = 0, sms = 0, shared = 0;
  driver_->check(api.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device_),
                 "cuDeviceGetAttribute");
  driver_->check(api.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device_),
                 "cuDeviceGetAttribute");
  driver_->check(api.cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device_),
                 "cuDeviceGetAttribute");
  driver_->check(api.cuDeviceGetAttribute(&shared, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device_),
                 "cuDeviceGetAttribute");
  arch_ = major * 10 + minor;
  multiprocessors_ = sms;
  max_shared_per_block_ = static_cast<std::size_t>(shared);
  driver_->check(api.cuDevicePrimaryCtxRetain(&context_, device_), "cuDevicePrimaryCtxRetain");
  make_current();
}

void Device::make_current() const {
  check(driver_->api().cuCtxSetCurrent(context_), "cuCtxSetCurrent");
}

void Device::synchronize() const {
  make_current();
  check(driver_->api().cuCtxSynchronize(), "cuCtxSynchronize (a kernel failed, see the reason)");
}

std::size_t Device::free_memory() const {
  make_current();
  std::size_t free = 0, total = 0;
  check(driver_->api().cuMemGetInfo(&free, &total), "cuMemGetInfo");
  return free;
}

// ---- streams and events -------------------------------------------------------------------------

Stream::Stream(std::shared_ptr<Device> device) : device_(std::move(device)) {
  device_->make_current();
  device_->check(device_->driver().api().cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
}

Stream::~Stream() {
  if (stream_ != nullptr) {
    device_->make_current();
    device_->driver().api().cuStreamDestroy(stream_);
  }
}

Stream::Stream(Stream&& other) noexcept
    : device_(std::move(other.device_)), stream_(std::exchange(other.stream_, nullptr)) {}

void Stream::synchronize() const {
  device_->make_current();
  device_->check(device_->driver().api().cuStreamSynchronize(stream_), "cuStreamSynchronize (a kernel failed?)");
}

void Stream::wait(const Event& event) const {
  device_->make_current();
  device_->check(device_->driver().api().cuStreamWaitEvent(stream_, event.handle(), 0), "cuStreamWaitEvent");
}

Event::Event(std::shared_ptr<Device> device) : device_(std::move(device)) {
  device_->make_current();
  device_->check(device_->driver().api().cuEventCreate(&event_, CU_EVENT_DEFAULT), "cuEventCreate");
}

Event::~Event() {
  if (event_ != nullptr) {
    device_->make_current();
    device_->driver().api().cuEventDestroy(event_);
  }
}

Event::Event(Event&& other) noexcept
    : device_(std::move(other.device_)), event_(std::exchange(other.event_, nullptr)) {}

void Event::record(const Stream& stream) {
  device_->make_current();
  device_->check(device_->driver().api().cuEventRecord(event_, stream.handle()), "cuEventRecord");
}

void Event::record_in_graph(const Stream& stream) {
  device_->make_current();
  device_->check(device_->driver().api().cuEventRecordWithFlags(event_, stream.handle(), CU_EVENT_RECORD_EXTERNAL),
                 "cuEventRecordWithFlags");
}

void Event::synchronize() const {
  device_->make_current();
  device_->check(device_->driver().api().cuEventSynchronize(event_), "cuEventSynchronize");
}

float Event::elapsed_since(const Event& start) const {
  float ms = 0.0f;
  device_->check(device_->driver().api().cuEventElapsedTime(&ms, start.event_, event_), "cuEventElapsedTime");
  return ms;
}

// ---- memory -------------------------------------------------------------------------------------

DeviceBuffer::DeviceBuffer(std::shared_ptr<Device> device, std::size_t bytes)
    : device_(std::move(device)), bytes_(bytes) {
  device_->make_current();
  const CUresult result = device_->driver().api().cuMemAlloc(&address_, bytes == 0 ? 1 : bytes);
  if (result == CUDA_ERROR_OUT_OF_MEMORY) {
    throw Error(fmt::format("out of device memory: cannot allocate {} on {} ({} free); use smaller inputs", mib(bytes),
                            device_->name(), mib(device_->free_memory())));
  }
  device_->check(result, "cuMemAlloc");
}

DeviceBuffer::~DeviceBuffer() {
  release();
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : device_(std::move(other.device_)),
      address_(std::exchange(other.address_, 0)),
      bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    device_ = std::move(other.device_);
    address_ = std::exchange(other.address_, 0);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::release() noexcept {
  if (address_ != 0 && device_) {
    device_->make_current();
    device_->driver().api().cuMemFree(address_);
  }
  address_ = 0;
}

void DeviceBuffer::upload(const void* host, std::size_t bytes, const Stream& stream, std::size_t offset) {
  if (offset + bytes > bytes_) {
    throw Error(fmt::format("upload of {} bytes at offset {} overruns a {}-byte device buffer", bytes, offset, bytes_));
  }
  if (bytes == 0) return;
  device_->make_current();
  device_->check(device_->driver().api().cuMemcpyHtoDAsync(address_ + offset, host, bytes, stream.handle()),
                 "cuMemcpyHtoDAsync");
}

void DeviceBuffer::download(void* host, std::size_t bytes, const Stream& stream, std::size_t offset) const {
  if (offset + bytes > bytes_) {
    throw Error(
        fmt::format("download of {} bytes at offset {} overruns a {}-byte device buffer", bytes, offset, bytes_));
  }
  if (bytes == 0) return;
  device_->make_current();
  device_->check(device_->driver().api().cuMemcpyDtoHAsync(host, address_ + offset, bytes, stream.handle()),
                 "cuMemcpyDtoHAsync");
}

void DeviceBuffer::fill_zero(const Stream& stream) {
  device_->make_current();
  device_->check(device_->driver().api().cuMemsetD8Async(address_, 0, bytes_, stream.handle()), "cuMemsetD8Async");
}

void copy_device(const DeviceBuffer& to, const DeviceBuffer& from, std::size_t bytes, const Stream& stream) {
  if (bytes > to.bytes() || bytes > from.bytes()) {
    throw Error(
        fmt::format("device copy of {} bytes overruns its buffers ({} and {} bytes)", bytes, from.bytes(), to.bytes()));
  }
  const Device& device = *Device::get();
  device.make_current();
  device.check(device.driver().api().cuMemcpyDtoDAsync(to.address(), from.address(), bytes, stream.handle()),
               "cuMemcpyDtoDAsync");
}

PinnedBuffer::PinnedBuffer(std::shared_ptr<Device> device, std::size_t bytes)
    : device_(std::move(device)), bytes_(bytes) {
  device_->make_current();
  const CUresult result = device_->driver().api().cuMemAllocHost(&data_, bytes == 0 ? 1 : bytes);
  if (result == CUDA_ERROR_OUT_OF_MEMORY) {
    throw Error(fmt::format("out of pinned host memory: cannot allocate {}", mib(bytes)));
  }
  device_->check(result, "cuMemAllocHost");
  const CUresult mapped = device_->driver().api().cuMemHostGetDevicePointer(&device_address_, data_, 0);
  if (mapped != CUDA_SUCCESS) {
    device_->driver().api().cuMemFreeHost(data_);
    data_ = nullptr;
    device_->check(mapped, "cuMemHostGetDevicePointer");
  }
}

PinnedBuffer::~PinnedBuffer() {
  if (data_ != nullptr) {
    device_->make_current();
    device_->driver().api().cuMemFreeHost(data_);
  }
}

// ---- modules and launches -------------------------------------------------------------------------

Module::Module(std::shared_ptr<Device> device, const std::vector<char>& cubin, const std::string& what)
    : device_(std::move(device)), what_(what) {
  device_->make_current();
  const CUresult result = device_->driver().api().cuModuleLoadData(&module_, cubin.data());
  if (result != CUDA_SUCCESS) {
    throw Error(fmt::format("cannot load the cubin of {} on {} (sm_{}): {}", what, device_->name(), device_->arch(),
                            device_->driver().describe(result)));
  }
}

Module::~Module() {
  if (module_ != nullptr) {
    device_->make_current();
    device_->driver().api().cuModuleUnload(module_);
  }
}

CUfunction Module::function(const std::string& symbol) const {
  CUfunction function = nullptr;
  const CUresult result = device_->driver().api().cuModuleGetFunction(&function, module_, symbol.c_str());
  if (result != CUDA_SUCCESS) {
    throw Error(
        fmt::format("the cubin of {} has no function {}: {}", what_, symbol, device_->driver().describe(result)));
  }
  return function;
}

namespace {

// Checks `bytes` of dynamic shared memory against the device and opts the function into
// more than the default 48 KiB (needed before a launch or an occupancy query).
void allow_shared(const Device& device, CUfunction function, std::size_t bytes, const std::string& what) {
  if (bytes > device.max_shared_per_block()) {
    throw Error(fmt::format("{} needs {} bytes of shared memory per CTA; {} allows {}", what, bytes, device.name(),
                            device.max_shared_per_block()));
  }
  if (bytes > default_shared_limit) {
    device.check(device.driver().api().cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                                          static_cast<int>(bytes)),
                 "cuFuncSetAttribute");
  }
}

}  // namespace

void launch(const Device& device, CUfunction function, const LaunchShape& shape, const Stream& stream,
            void** parameters, const std::string& what) {
  if (shape.grid == 0) return;
  device.make_current();
  allow_shared(device, function, shape.shared_bytes, what);
  const CUresult result = device.driver().api().cuLaunchKernel(function, shape.grid, 1, 1, shape.block, 1, 1,
                                                               static_cast<unsigned>(shape.shared_bytes),
                                                               stream.handle(), parameters, nullptr);
  if (result != CUDA_SUCCESS) {
    throw Error(fmt::format("launch of {} ({} CTAs x {} threads, {} bytes shared) failed: {}", what, shape.grid,
                            shape.block, shape.shared_bytes, device.driver().describe(result)));
  }
}

unsigned resident_ctas(const Device& device, CUfunction function, unsigned block, std::size_t shared_bytes,
                       const std::string& what) {
  device.make_current();
  allow_shared(device, function, shared_bytes, what);
  int per_multiprocessor = 0;
  device.check(device.driver().api().cuOccupancyMaxActiveBlocksPerMultiprocessor(&per_multiprocessor, function,
                                                                                 static_cast<int>(block), shared_bytes),
               "cuOccupancyMaxActiveBlocksPerMultiprocessor");
  if (per_multiprocessor < 1) {
    throw Error(
        fmt::format("{} cannot run on {}: not one CTA of {} threads with {} bytes of shared memory fits on a "
                    "multiprocessor",
                    what, device.name(), block, shared_bytes));
  }
  return static_cast<unsigned>(per_multiprocessor * device.multiprocessors());
}

Graph::Graph(std::shared_ptr<Device> device) : device_(std::move(device)) {}

Graph::~Graph() {
  if (exec_ == nullptr) return;
  device_->make_current();
  device_->driver().api().cuGraphExecDestroy(exec_);
}

void Graph::begin_capture(const Stream& origin) {
  device_->make_current();
  // Thread-local mode: a driver call of another thread that is unsafe during a capture (an
  // allocation) does not invalidate this one.
  device_->check(device_->driver().api().cuStreamBeginCapture(origin.handle(), CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                 "cuStreamBeginCapture");
}

Graph::Captured Graph::end_capture(const Stream& origin, bool update) {
  device_->make_current();
  const DriverApi& api = device_->driver().api();
  CUgraph graph = nullptr;
  device_->check(api.cuStreamEndCapture(origin.handle(), &graph), "cuStreamEndCapture");
  struct Owned {
    const DriverApi& api;
    CUgraph graph;
    ~Owned() { api.cuGraphDestroy(graph); }  // the executable graph does not need it
  } owned{api, graph};
  if (exec_ != nullptr) {
    CUgraphExecUpdateResultInfo info{};
    if (update && api.cuGraphExecUpdate(exec_, graph, &info) == CUDA_SUCCESS) return Captured::updated;
    // Another shape (more launches, other streams): instantiate the new graph instead.
    api.cuGraphExecDestroy(exec_);
    exec_ = nullptr;
  }
  device_->check(api.cuGraphInstantiateWithFlags(&exec_, graph, 0), "cuGraphInstantiateWithFlags");
  return Captured::instantiated;
}

void Graph::abandon_capture(const Stream& origin) noexcept {
  try {
    device_->make_current();
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to end without a context
    return;
  }
  const DriverApi& api = device_->driver().api();
  CUgraph graph = nullptr;
  if (api.cuStreamEndCapture(origin.handle(), &graph) == CUDA_SUCCESS && graph != nullptr) api.cuGraphDestroy(graph);
}

void Graph::launch(const Stream& stream) const {
  device_->make_current();
  device_->check(device_->driver().api().cuGraphLaunch(exec_, stream.handle()), "cuGraphLaunch");
}

}  // namespace pto::cuda
