// The CUDA runtime PTO-RT drives through the dlopen'd driver API (driver.hpp): a device with
// its primary context, device and pinned host buffers, streams, events, modules (cubins)
// and launches. Every failure is a pto::Error naming the call and the driver's reason;
// running out of memory names the size asked for and what the device has free.
//
// Objects are move-only RAII handles; each keeps the Device alive. Calls make the device's
// primary context current on the calling thread first, so any thread may use them.
#pragma once

#include <cuda.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/cuda/driver.hpp"

namespace pto::cuda {

class Device : public std::enable_shared_from_this<Device> {
 public:
  // Device `ordinal` (default: $PTO_CUDA_DEVICE, else 0) with its primary context, shared
  // process-wide. Throws DriverUnavailable without a driver, pto::Error without a device.
  static std::shared_ptr<Device> get(int ordinal = -1);

  const Driver& driver() const noexcept { return *driver_; }
  int ordinal() const noexcept { return ordinal_; }
  const std::string& name() const noexcept { return name_; }
  int arch() const noexcept { return arch_; }  // 90 for sm_90
  int multiprocessors() const noexcept { return multiprocessors_; }
  std::size_t max_shared_per_block() const noexcept { return max_shared_per_block_; }

  void make_current() const;
  void synchronize() const;
  std::size_t free_memory() const;
  void check(CUresult result, const char* call) const { driver_->check(result, call); }

  Device(std::shared_ptr<const Driver> driver, int ordinal);

 private:
  std::shared_ptr<const Driver> driver_;
  int ordinal_ = 0;
  CUdevice device_ = 0;
  CUcontext context_ = nullptr;
  std::string name_;
  int arch_ = 0;
  int multiprocessors_ = 0;
  std::size_t max_shared_per_block_ = 0;
};

class Stream {
 public:
  explicit Stream(std::shared_ptr<Device> device);
  ~Stream();
  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&&) = delete;
  Stream(const Stream&) = delete;

  CUstream handle() const noexcept { return stream_; }
  void synchronize() const;
  // Work queued on this stream from now on waits for `event` (recorded on any stream).
  void wait(const class Event& event) const;

 private:
  std::shared_ptr<Device> device_;
  CUstream stream_ = nullptr;
};

class Event {
 public:
  explicit Event(std::shared_ptr<Device> device);
  ~Event();
  Event(Event&& other) noexcept;
  Event(const Event&) = delete;
  Event& operator=(Event&&) = delete;

  void record(const Stream& stream);
  // Recorded while `stream` is being captured: a node of the graph that records the event
  // when the graph runs (CU_EVENT_RECORD_EXTERNAL), so that graph replays can be timed.
  void record_in_graph(const Stream& stream);
  void synchronize() const;
  // Milliseconds from `start` to this event (both recorded and complete).
  float elapsed_since(const Event& start) const;
  CUevent handle() const noexcept { return event_; }

 private:
  std::shared_ptr<Device> device_;
  CUevent event_ = nullptr;
};

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(std::shared_ptr<Device> device, std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;

  CUdeviceptr address() const noexcept { return address_; }
  void* pointer() const noexcept { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(address_)); }
  std::size_t bytes() const noexcept { return bytes_; }

  void upload(const void* host, std::size_t bytes, const Stream& stream, std::size_t offset = 0);
  void download(void* host, std::size_t bytes, const Stream& stream, std::size_t offset = 0) const;
  void fill_zero(const Stream& stream);

 private:
  void release() noexcept;
  std::shared_ptr<Device> device_;
  CUdeviceptr address_ = 0;
  std::size_t bytes_ = 0;
};

// Page-locked host memory: what asynchronous copies need to overlap with kernels.
class PinnedBuffer {
 public:
  PinnedBuffer(std::shared_ptr<Device> device, std::size_t bytes);
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  void* data() const noexcept { return data_; }
  std::size_t bytes() const noexcept { return bytes_; }
  // The same memory as kernels address it (page-locked memory is mapped into the device's
  // address space): kernels may write results here for the host to read after a synchronize.
  CUdeviceptr device_address() const noexcept { return device_address_; }

 private:
  std::shared_ptr<Device> device_;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  CUdeviceptr device_address_ = 0;
};

// A CUDA graph: the work queued on streams between begin_capture() and end_capture() on
// the origin stream (other streams join by waiting on an event recorded there, and must
// rejoin it before the end), instantiated once and replayed with launch(). A later capture
// of the same shape updates the executable graph in place (cuGraphExecUpdate: new kernel
// parameters and copy sizes) instead of instantiating anew.
class Graph {
 public:
  explicit Graph(std::shared_ptr<Device> device);
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  enum class Captured { instantiated, updated };
  // Queued work is recorded, not run, until end_capture (the stream's thread only).
  void begin_capture(const Stream& origin);
  // `update`: try the executable graph's in-place update first (pass false when the
  // topology is known to have changed).
  Captured end_capture(const Stream& origin, bool update = true);
  // Ends a capture that failed half-way (the partial graph is dropped; errors are ignored).
  void abandon_capture(const Stream& origin) noexcept;
  void launch(const Stream& stream) const;
  bool instantiated() const noexcept { return exec_ != nullptr; }

 private:
  std::shared_ptr<Device> device_;
  CUgraphExec exec_ = nullptr;
};

// Device-to-device copy of `bytes` on `stream`.
void copy_device(const DeviceBuffer& to, const DeviceBuffer& from, std::size_t bytes, const Stream& stream);

class Module {
 public:
  Module(std::shared_ptr<Device> device, const std::vector<char>& cubin, const std::string& what);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CUfunction function(const std::string& symbol) const;

 private:
  std::shared_ptr<Device> device_;
  CUmodule module_ = nullptr;
  std::string what_;
};

struct LaunchShape {
  unsigned grid = 1;
  unsigned block = 128;
  std::size_t shared_bytes = 0;
};

// Launches `function` with `parameters` (pointers to each kernel argument, as cuLaunchKernel
// takes them). Shared memory above 48 KiB is opted into here; more than the device allows
// is an error naming both sizes.
void launch(const Device& device, CUfunction function, const LaunchShape& shape, const Stream& stream,
            void** parameters, const std::string& what);

// How many CTAs of `function` (`block` threads, `shared_bytes` of dynamic shared memory)
// the whole device holds at once: the grid of a persistent kernel. An error when none fits.
unsigned resident_ctas(const Device& device, CUfunction function, unsigned block, std::size_t shared_bytes,
                       const std::string& what);

}  // namespace pto::cuda
