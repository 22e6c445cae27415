#include "runtime/cuda/driver.hpp"

#include <doctest/doctest.h>

#include <string>

using pto::cuda::Driver;
using pto::cuda::DriverUnavailable;

TEST_CASE("a missing driver library is reported as 'no CUDA driver' with the loader's message") {
  try {
    Driver::open("/nonexistent/libcuda.so.1");
    FAIL("opening a nonexistent driver must throw");
  } catch (const DriverUnavailable& error) {
    const std::string message = error.what();
    CHECK(message.find("no CUDA driver") == 0);
    CHECK(message.find("/nonexistent/libcuda.so.1") != std::string::npos);
    CHECK(message.find("cannot open shared object file") != std::string::npos);
    CHECK(message.find("PTO_CUDA_DRIVER") != std::string::npos);
  }
}

TEST_CASE("a library that is not a CUDA driver names the first missing entry point") {
  try {
    Driver::open("libm.so.6");
    FAIL("libm is not a CUDA driver");
  } catch (const DriverUnavailable& error) {
    const std::string message = error.what();
    CHECK(message.find("libm.so.6 does not export cuGetErrorName") == 0);
    CHECK(message.find("not a CUDA driver") != std::string::npos);
  }
}

TEST_CASE("a driver library resolves every entry point and describes CUresults by name") {
  const auto driver = Driver::open(FAKE_CUDA_ONE_DEVICE);
  CHECK(driver->library() == FAKE_CUDA_ONE_DEVICE);
  CHECK((driver->api().cuInit != nullptr));
  CHECK((driver->api().cuDeviceTotalMem != nullptr));
  CHECK(driver->describe(CUDA_ERROR_NO_DEVICE) == "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)");
  // The fake names only a few results; a real CUresult it does not know falls back to the number.
  CHECK(driver->describe(CUDA_ERROR_LAUNCH_FAILED) == "CUresult 719 (unknown to this driver)");
  CHECK_NOTHROW(driver->check(CUDA_SUCCESS, "cuInit"));
  CHECK_THROWS_WITH(driver->check(CUDA_ERROR_INVALID_DEVICE, "cuDeviceGet"),
                    "cuDeviceGet failed: CUDA_ERROR_INVALID_DEVICE (fake driver error)");
}

TEST_CASE("PTO_CUDA_DRIVER overrides the default driver library") {
  const char* saved = std::getenv("PTO_CUDA_DRIVER");
  const std::string restore = saved != nullptr ? saved : "";
  setenv("PTO_CUDA_DRIVER", "/opt/custom/libcuda.so.1", 1);
  CHECK(Driver::default_library() == "/opt/custom/libcuda.so.1");
  setenv("PTO_CUDA_DRIVER", "", 1);
  CHECK(Driver::default_library() == "libcuda.so.1");
  if (saved != nullptr) {
    setenv("PTO_CUDA_DRIVER", restore.c_str(), 1);
  } else {
    unsetenv("PTO_CUDA_DRIVER");
  }
}
